//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// shellIn starts an interactive shell in ref and waits until it runs
// commands; it returns the operator and the mark after the first one's
// output.
func shellIn(t *testing.T, ref string) (*operator, int) {
	t.Helper()
	o := startOperator(t, ref)
	m := o.expect(0, `/ # `)
	o.send("echo in\r")
	return o, o.expect(m, `\r\nin\r\n`)
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

func TestInteractiveShell(t *testing.T) {
	forEachRef(t, takas, func(t *testing.T, ref string) {
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
	code := o.wait()
	// The name tty says, and the one entry of /dev/pts: the same.
	m := regexp.MustCompile(`^/dev/pts/(\d+)\r\n(\d+)\r\ndone`).FindStringSubmatch(o.output())
	if code != 0 || m == nil || m[1] != m[2] {
		t.Errorf("exit %d, output %q", code, o.output())
	}
}

func TestSessionEndsWhenTargetIsKilled(t *testing.T) {
	doomed := dockerRuntime.start(t, "e2e-doomed")
	o, m := shellIn(t, dockerRuntime.ref(doomed.name))
	dockerRuntime.kill(t, doomed.name)
	code := o.wait()
	if code == 0 {
		t.Errorf("killing the target ended the session with status 0")
	}
	o.expect(m, `ctr-enter: session ended: .*exited`)
}

func TestSIGTERMEndsSession(t *testing.T) {
	o, _ := shellIn(t, "docker://taka")
	o.cmd.Process.Signal(syscall.SIGTERM)
	if code := o.wait(); code == 0 {
		t.Errorf("SIGTERM ended the session with status 0")
	}
}

func TestStdinWithInteractive(t *testing.T) {
	cmd := command("docker://taka", "-i", "--", "cat")
	cmd.Stdin = strings.NewReader("hi\n")
	if r := runCmd(t, cmd); r.code != 0 || r.stdout != "hi\n" {
		t.Errorf("echo hi | ctr-enter -i -- cat: %v", r)
	}
}

func TestStdinEOFWithoutTTY(t *testing.T) {
	cmd := command("docker://taka", "-i", "--", "sh", "-c", "cat; echo done")
	cmd.Stdin = strings.NewReader("hi\n")
	if r := runCmd(t, cmd); r.code != 0 || r.stdout != "hi\ndone\n" {
		t.Errorf("stdin EOF did not reach the command: %v", r)
	}
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
		"ctr-enter containerd://e2e": {"containerd://e2e/distroless", "containerd://e2e/musl", "containerd://e2e/noshell", "containerd://e2e/taka", "containerd://e2e/userns"},
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
