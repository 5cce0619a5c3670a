package images

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ctr-enter/ctr-enter/internal/term"
)

// progress reports a pull: plain lines (what is pulled from where, one
// line per blob), or, on a terminal, the same lines but one bar redrawn in
// place for the blobs. A nil *progress is silent.
type progress struct {
	w   io.Writer
	tty bool

	mu          sync.Mutex
	sent, total int64 // bytes of the blobs being transferred
	drawn       time.Time
	bar         bool // a bar is on screen, to clear before a line
}

func newProgress(w io.Writer) *progress {
	if w == nil {
		return nil
	}
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		p.tty = term.IsTerminal(f)
	}
	return p
}

// printf prints one line, below the bar if one is on screen.
func (p *progress) printf(format string, args ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endBar()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// reader counts what r gives towards the bar; total -1 is unknown.
func (p *progress) reader(total int64, r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	p.mu.Lock()
	if total > 0 {
		p.total += total
	}
	p.mu.Unlock()
	return &countingReader{r: r, p: p}
}

// done reports one blob, transferred or found in the cache: a line, or
// on a terminal the bar brought up to date.
func (p *progress) done(label string, size int64, what string) {
	if p == nil {
		return
	}
	if !p.tty {
		p.printf("%s %s %s", label, HumanSize(size), what)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw()
}

// finish leaves the terminal on a fresh line.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endBar()
}

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent += int64(n)
	if p.tty && time.Since(p.drawn) > 100*time.Millisecond {
		p.draw()
	}
}

// draw redraws the bar in place: \r, then the line cleared to its end.
func (p *progress) draw() {
	const width = 30
	line := HumanSize(p.sent)
	if p.total > 0 {
		n := min(int(p.sent*width/p.total), width)
		line = "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] " + HumanSize(p.sent) + " / " + HumanSize(p.total)
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.drawn = time.Now()
	p.bar = true
}

// endBar draws the bar one last time and moves below it: it stays on
// screen with its final count.
func (p *progress) endBar() {
	if p.bar {
		p.draw()
		fmt.Fprintln(p.w)
		p.bar = false
	}
}

type countingReader struct {
	r io.Reader
	p *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(n)
	return n, err
}

// HumanSize prints a size in binary units: 1.9 MiB.
func HumanSize(n int64) string {
	if n < 0 {
		return "?"
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}
