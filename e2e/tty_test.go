//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// operator is a terminal driven by the test: ctr-enter runs on the slave
// side of a real pty, as under an operator's terminal emulator.
type operator struct {
	t      *testing.T
	cmd    *exec.Cmd
	master *os.File
	slave  *os.File
	before *unix.Termios

	mu        sync.Mutex
	out       bytes.Buffer
	discard   bool  // count the output instead of keeping it
	discarded int64 // bytes counted
	eof       chan struct{}
}

func startOperator(t *testing.T, args ...string) *operator {
	t.Helper()
	return startOperatorCmd(t, command(args...), false)
}

func startOperatorCmd(t *testing.T, cmd *exec.Cmd, discard bool) *operator {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: 30, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	o := &operator{t: t, cmd: cmd, master: master, slave: slave, before: before, discard: discard, eof: make(chan struct{})}
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, err := master.Read(buf)
			o.mu.Lock()
			if o.discard {
				o.discarded += int64(n)
			} else {
				o.out.Write(buf[:n])
			}
			o.mu.Unlock()
			if err != nil {
				close(o.eof)
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		master.Close()
		slave.Close()
	})
	return o
}

func (o *operator) send(s string) {
	o.t.Helper()
	if _, err := o.master.Write([]byte(s)); err != nil {
		o.t.Fatal(err)
	}
}

// expect waits for re to match the output after the given mark, and
// returns the end of the match as the next mark.
func (o *operator) expect(mark int, re string) int {
	o.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		o.mu.Lock()
		out := o.out.String()
		o.mu.Unlock()
		if loc := rx.FindStringIndex(out[mark:]); loc != nil {
			return mark + loc[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.t.Fatalf("no %q in the output:\n%q", re, o.out.String()[mark:])
	return 0
}

func (o *operator) output() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.out.String()
}

// wait waits for ctr-enter to exit and checks the operator's terminal is as
// it was before.
func (o *operator) wait() int {
	o.t.Helper()
	done := make(chan struct{})
	go func() { o.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		o.t.Fatal("ctr-enter did not exit")
	}
	after, err := unix.IoctlGetTermios(int(o.slave.Fd()), unix.TCGETS)
	if err != nil {
		o.t.Fatal(err)
	}
	if !reflect.DeepEqual(after, o.before) {
		o.t.Errorf("the operator's terminal was not restored:\nbefore %+v\nafter  %+v", o.before, after)
	}
	return o.cmd.ProcessState.ExitCode()
}

func TestInteractiveShell(t *testing.T) {
	for _, ref := range takas {
		t.Run(ref, func(t *testing.T) {
			o := startOperator(t, ref)
			m := o.expect(0, `/ # `)
			o.send("echo $((6*7))\r")
			m = o.expect(m, `\r\n42\r\n`)

			o.send("stty size\r")
			m = o.expect(m, `\r\n30 100\r\n`)
			if err := pty.Setsize(o.master, &pty.Winsize{Rows: 40, Cols: 132}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond) // SIGWINCH is asynchronous
			o.send("stty size\r")
			m = o.expect(m, `\r\n40 132\r\n`)

			// tty names a device that exists in the target.
			o.send("tty && test -c $(tty) && echo tty-exists\r")
			m = o.expect(m, `\r\n/dev/pts/[0-9]+\r\ntty-exists\r\n`)

			// Ctrl-C reaches the program inside, not ctr-enter.
			o.send("sleep 100\r")
			time.Sleep(300 * time.Millisecond)
			o.send("\x03")
			o.send("echo survived\r")
			m = o.expect(m, `\r\nsurvived\r\n`)

			o.send("exit 3\r")
			if code := o.wait(); code != 3 {
				t.Errorf("exit 3 gave %d", code)
			}
		})
	}
}

func TestFullScreenProgram(t *testing.T) {
	// top redraws the whole screen with escape sequences and reads keys.
	o := startOperator(t, "docker://taka", "-it", "--", "top")
	o.expect(0, `redis-server`)
	o.send("q")
	if code := o.wait(); code != 0 {
		t.Errorf("top exited %d", code)
	}
}

// TestTerminalInOwnRoot: with --pid but not --mount the session has a root
// of its own; its terminal is still at its name there, the only one of the
// host's terminals it shows.
func TestTerminalInOwnRoot(t *testing.T) {
	o := startOperator(t, "docker://taka", "--net", "--pid", "-it", "--", "sh", "-c", "tty; ls /dev/pts; echo done")
	o.expect(0, `done`)
	if code := o.wait(); code != 0 || !regexpMatch(`^/dev/pts/(\d+)\r\n(\d+)\r\ndone`, o.output()) {
		t.Errorf("exit %d, output %q", code, o.output())
	}
}

func TestSessionEndsWhenTargetIsKilled(t *testing.T) {
	sh(t, "docker", "run", "-d", "--name", "e2e-doomed", "ctr-enter-test/busybox", "sleep", "1000000")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", "e2e-doomed").Run() })
	o := startOperator(t, "docker://e2e-doomed")
	m := o.expect(0, `/ # `)
	o.send("echo in\r")
	m = o.expect(m, `\r\nin\r\n`)
	sh(t, "docker", "kill", "e2e-doomed")
	code := o.wait()
	if code == 0 {
		t.Errorf("killing the target ended the session with status 0")
	}
	o.expect(m, `ctr-enter: session ended: .*exited`)
}

func TestSIGTERMEndsSession(t *testing.T) {
	o := startOperator(t, "docker://taka")
	m := o.expect(0, `/ # `)
	o.send("echo in\r")
	o.expect(m, `\r\nin\r\n`)
	o.cmd.Process.Signal(syscall.SIGTERM)
	if code := o.wait(); code == 0 {
		t.Errorf("SIGTERM ended the session with status 0")
	}
}

func TestStdinEOFWithoutTTY(t *testing.T) {
	cmd := command("docker://taka", "-i", "--", "sh", "-c", "cat; echo done")
	cmd.Stdin = strings.NewReader("hi\n")
	if r := runCmd(t, cmd); r.code != 0 || r.stdout != "hi\ndone\n" {
		t.Errorf("stdin EOF did not reach the command: %v", r)
	}
}

// maxRSS runs ctr-enter with stdout going to a reader that discards it and
// returns ctr-enter's peak RSS in KiB.
func maxRSS(t *testing.T, tty bool, bytes int64) int64 {
	t.Helper()
	args := []string{"docker://taka", "--", "head", "-c", fmt.Sprint(bytes), "/dev/zero"}
	if tty {
		args = append([]string{"-t"}, args...)
	}
	cmd := command(args...)
	var read int64
	if tty {
		o := startOperatorCmd(t, cmd, true)
		cmd.Wait()
		// The operator's pty keeps its slave open: take what is there.
		time.Sleep(100 * time.Millisecond)
		o.mu.Lock()
		read = int64(o.out.Len()) + o.discarded
		o.mu.Unlock()
	} else {
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1<<16)
		for {
			n, err := stdout.Read(buf)
			read += int64(n)
			if err != nil {
				break
			}
		}
		cmd.Wait()
	}
	if read < bytes {
		t.Fatalf("read %d bytes, want %d", read, bytes)
	}
	return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}

func TestLargeOutputKeepsMemoryFlat(t *testing.T) {
	for _, tty := range []bool{false, true} {
		t.Run(fmt.Sprintf("tty=%v", tty), func(t *testing.T) {
			small := maxRSS(t, tty, 1<<20)
			large := maxRSS(t, tty, 1<<30)
			// Flat: a GiB moves through a fixed buffer. Allow for the
			// noise of the Go runtime, nowhere near the data's size.
			if large > small+16<<10 {
				t.Errorf("peak RSS %d KiB for 1 GiB vs %d KiB for 1 MiB", large, small)
			}
			t.Logf("peak RSS: %d KiB for 1 MiB, %d KiB for 1 GiB", small, large)
		})
	}
}

func TestShellCompletion(t *testing.T) {
	complete := func(line string) []string {
		cmd := command()
		cmd.Env = append(cmd.Env, "COMP_LINE="+line, fmt.Sprintf("COMP_POINT=%d", len(line)))
		r := runCmd(t, cmd)
		if r.code != 0 {
			t.Fatalf("completing %q: %v", line, r)
		}
		return strings.Fields(r.stdout)
	}
	for line, want := range map[string][]string{
		"ctr-enter taka-s":           {"taka-sidecar"},
		"ctr-enter docker://taka-":   {"docker://taka-sidecar"},
		"ctr-enter containerd://e2e": {"containerd://e2e/noshell", "containerd://e2e/taka", "containerd://e2e/userns"},
		"ctr-enter taka --ne":        {"--net"},
		"ctr-enter compl":            {"completion"},
		"ctr-enter completion z":     {"zsh"},
	} {
		got := complete(line)
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("completions of %q = %q, want %q", line, got, want)
		}
	}
	// Cached images, by reference, where a flag or argument takes one.
	cache := t.TempDir()
	t.Setenv("CTR_ENTER_IMAGES", cache)
	archive := filepath.Join(t.TempDir(), "tools.tar")
	sh(t, "docker", "save", "-o", archive, "ctr-enter-test/busybox:latest")
	if r := imagesRun(t, cache, "import", archive, "--name", "example.com/tools:1"); r.code != 0 {
		t.Fatalf("import: %v", r)
	}
	for _, line := range []string{"ctr-enter images rm ", "ctr-enter taka --image exa"} {
		if got := complete(line); !reflect.DeepEqual(got, []string{"example.com/tools:1"}) {
			t.Errorf("completions of %q = %q", line, got)
		}
	}
	// Each shell's script hands the line to this binary.
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := run(t, "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, bin) {
			t.Errorf("completion %s: %v", shell, r)
		}
	}
	// And bash takes it.
	script := run(t, "completion", "bash").stdout
	if out := sh(t, "bash", "-c", script+"complete -p ctr-enter"); !strings.Contains(out, "-C") {
		t.Errorf("bash did not register the completion: %s", out)
	}
}
