// Package ports forwards ports of the host to ports inside a running
// target's network namespace (ctr-enter port-forward): a listener on the
// host, and for each connection it accepts, a connection made from inside
// the target's namespace to the target's loopback, so that a server bound
// to the container's 127.0.0.1 is reachable. Nothing runs inside the
// target, and nothing listens there: the forwarder only ever accepts on
// the host's side, so the target cannot reach the host through it.
package ports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Forward is one [ADDRESS:]LOCAL:REMOTE of the command line.
type Forward struct {
	Address string // where the host listens, an IP address
	Local   int    // the host's port; 0 for any free one
	Remote  int    // the target's port
}

func (f Forward) String() string {
	return fmt.Sprintf("%s -> %d", net.JoinHostPort(f.Address, strconv.Itoa(f.Local)), f.Remote)
}

// ParseForward reads kubectl's forms: REMOTE (the same port on both
// sides), LOCAL:REMOTE, :REMOTE (any free local port), and any of those
// after an address to listen on (127.0.0.1:8080:80, [::1]:8080:80);
// the address is 127.0.0.1 by default.
func ParseForward(s string) (Forward, error) {
	f := Forward{Address: "127.0.0.1"}
	rest, remote := "", s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		rest, remote = s[:i], s[i+1:]
	}
	var err error
	if f.Remote, err = port(remote, false); err != nil {
		return f, fmt.Errorf("%q: remote port %w", s, err)
	}
	local := rest
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		addr := strings.TrimSuffix(strings.TrimPrefix(rest[:i], "["), "]")
		local = rest[i+1:]
		switch ip := net.ParseIP(addr); {
		case addr == "localhost":
		case ip == nil:
			return f, fmt.Errorf("%q: %q is not an IP address to listen on", s, addr)
		default:
			f.Address = ip.String()
		}
	}
	switch {
	case !strings.Contains(s, ":"):
		f.Local = f.Remote
	case local == "":
		f.Local = 0
	default:
		if f.Local, err = port(local, true); err != nil {
			return f, fmt.Errorf("%q: local port %w", s, err)
		}
	}
	return f, nil
}

func port(s string, zero bool) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !zero) || strconv.Itoa(n) != s {
		return 0, fmt.Errorf("%q: want a number from 1 to 65535", s)
	}
	return n, nil
}

// Options say what to forward, into which target.
type Options struct {
	// Pidfd is the validated target: its network namespace is joined
	// through it, and its exit ends the forwarding.
	Pidfd *os.File
	// Exited is the error to return when the target exits.
	Exited   error
	Forwards []Forward
	// Listening is told each forward's address once it listens.
	Listening func(f Forward, addr net.Addr)
	// Warn is told of a connection that failed (the target refused it).
	Warn func(error)

	// dial connects to a port of the target; tests replace it.
	dial func(ctx context.Context, port int) (net.Conn, error)
}

// Run listens on every forward and forwards each connection until ctx
// ends (nil) or the target exits (o.Exited); then it closes every
// listener and connection, and returns once all are closed.
func Run(ctx context.Context, o Options) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if o.Warn == nil {
		o.Warn = func(error) {}
	}
	if o.dial == nil {
		ns, err := joinNetns(o.Pidfd)
		if err != nil {
			return err
		}
		defer ns.close()
		o.dial = ns.dial
	}
	exited, err := watchExit(o.Pidfd)
	if err != nil {
		return err
	}
	defer exited.Close()
	go func() {
		if exited.wait() {
			cancel(o.Exited)
		}
	}()

	f := &forwarder{conns: map[io.Closer]bool{}}
	defer func() {
		cancel(nil) // first: a dial under way gives up rather than hold closeAll
		f.closeAll()
	}()
	for _, fw := range o.Forwards {
		l, err := net.Listen("tcp", net.JoinHostPort(fw.Address, strconv.Itoa(fw.Local)))
		if err != nil {
			return fmt.Errorf("listen on %s: %w", net.JoinHostPort(fw.Address, strconv.Itoa(fw.Local)), err)
		}
		f.track(l)
		if o.Listening != nil {
			o.Listening(fw, l.Addr())
		}
		f.wg.Add(1)
		go f.accept(ctx, l, fw, o)
	}
	<-ctx.Done()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// forwarder holds every listener and connection, to close them all at
// the end.
type forwarder struct {
	mu     sync.Mutex
	conns  map[io.Closer]bool
	closed bool
	wg     sync.WaitGroup
}

// track adds c to what is closed at the end; false (and c closed) when
// the end has come.
func (f *forwarder) track(c io.Closer) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		c.Close()
		return false
	}
	f.conns[c] = true
	return true
}

func (f *forwarder) untrack(c io.Closer) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	c.Close()
}

func (f *forwarder) closeAll() {
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *forwarder) accept(ctx context.Context, l net.Listener, fw Forward, o Options) {
	defer f.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				// Out of fds, most likely: said, and tried again
				// once connections have had time to end.
				o.Warn(fmt.Errorf("accept on %s: %w", l.Addr(), err))
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return
		}
		if !f.track(c) {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer f.untrack(c)
			r, err := o.dial(ctx, fw.Remote)
			if err != nil {
				o.Warn(fmt.Errorf("forward %s: %w", fw, err))
				return
			}
			if !f.track(r) {
				return
			}
			defer f.untrack(r)
			pipe(c, r)
		}()
	}
}

// pipe copies both ways until both sides have ended, passing on each
// half-close (a client that shuts its writing side still gets the answer).
// A side that fails (a reset) ends both.
func pipe(a, b net.Conn) {
	done := make(chan struct{})
	go func() {
		copyHalf(b, a)
		close(done)
	}()
	copyHalf(a, b)
	<-done
}

func copyHalf(dst, src net.Conn) {
	buf := buffers.Get().(*[]byte)
	// Through a buffer, not io.Copy's splice(2): splicing from one TCP
	// socket to another hands the received skbs' page fragments to the
	// sending socket as they are, and the target's side then carries
	// skbs of many small fragments whose per-fragment work (profiled:
	// skb_splice_from_iter, __splice_segment, skb_append_pagefrags,
	// skb_shift, page references taken and dropped) costs more than
	// one copy into large fresh skbs. Measured on the bench's 2-CPU
	// host, 256 MiB, medians of 7, interleaved with a straight
	// connection: splice 0.72x, a 32 KiB buffer 0.87x, 64 KiB 0.99x,
	// 256 KiB and 1 MiB 0.84x. The struct wrappers hide ReadFrom and
	// WriteTo, which would splice.
	_, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *buf)
	buffers.Put(buf)
	cw, ok := dst.(interface{ CloseWrite() error })
	if err != nil || !ok {
		dst.Close()
		src.Close()
		return
	}
	cw.CloseWrite()
}

// buffers hold copyBuffer bytes each, reused: a buffer allocated (and
// zeroed) per connection would cost its first answer that time.
var buffers = sync.Pool{New: func() any {
	b := make([]byte, copyBuffer)
	return &b
}}

const copyBuffer = 64 << 10
