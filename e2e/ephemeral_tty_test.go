//go:build e2e

package e2e

// The operator's terminal in an ephemeral session (attach --rm), on a real
// pty, on every runtime: the bytes it gets are the container's own (issue
// 14: containerd's sessions began with a NUL, and -t alone doubled the
// carriage returns), the exit status is the container's, the terminal is
// as it was, whichever way the session ends, and nothing is left.

import (
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// ashBanner is all that busybox's ash prints before its first prompt, as
// its pty writes it ("\n" as "\r\n").
var ashBanner = regexp.MustCompile(`^\r\n\r\nBusyBox v[^\r\n\x00]+ built-in shell \(ash\)\r\nEnter 'help' for a list of built-in commands\.\r\n\r\n$`)

// ephemeralTTYName names a session of the test: a name of its own for
// each, with a prefix that the census finds its cgroups by.
func ephemeralTTYName(rt containerRuntime, what string) string {
	return "e2e-etty-" + rt.name + "-" + what
}

func TestEphemeralTerminal(t *testing.T) {
	forEachRuntime(t, append(allRuntimes, podRuntime), func(t *testing.T, rt containerRuntime) {
		prefix := ephemeralTTYName(rt, "")
		before, census := snapshotLeftovers(t), takeCensus(t, rt, prefix)

		t.Run("-it", func(t *testing.T) {
			o := startOperator(t, rt.args("attach", rt.taka, "--rm", "-it", "--image", "busybox", "--name", ephemeralTTYName(rt, "it"))...)
			m := o.expect(0, `/ # `)
			first := o.output()[:strings.Index(o.output(), "/ # ")]
			if strings.HasPrefix(first, "\x00") {
				t.Errorf("the session began with a NUL byte: %q", first)
			}
			if !ashBanner.MatchString(first) {
				t.Errorf("before the prompt: %q, want only the shell's banner", first)
			}
			o.send("echo $((6*7))\r")
			o.expect(m, `\r\n42\r\n/ # `)
			o.send("exit 7\r")
			if code := o.wait(); code != 7 {
				t.Errorf("exit 7 gave %d", code)
			}
		})

		t.Run("-t", func(t *testing.T) {
			// Not interactive: the operator's terminal stays cooked for
			// input, but its output processing must not add a second
			// "\r" to the pty's "\r\n".
			o := startOperator(t, rt.args("attach", rt.taka, "--rm", "-t", "--image", "busybox", "--name", ephemeralTTYName(rt, "t"),
				"--", "sh", "-c", "echo one; printf 'two\\nthree\\n'; exit 7")...)
			o.expect(0, `three\r?\r\n`)
			code := o.wait()
			if out := o.output(); out != "one\r\ntwo\r\nthree\r\n" {
				t.Errorf("-t alone wrote %q, want %q", out, "one\r\ntwo\r\nthree\r\n")
			}
			if code != 7 {
				t.Errorf("exit 7 gave %d", code)
			}
		})

		if rt.ctr != nil {
			t.Run("size at start", func(t *testing.T) {
				// The command's terminal is the operator's size from the
				// start, not 0x0 until a resize. (Docker honours the
				// size it is created with from version 23 only.)
				o := startOperator(t, rt.args("attach", rt.taka, "--rm", "-t", "--image", "busybox", "--name", ephemeralTTYName(rt, "size"), "--", "stty", "size")...)
				o.expect(0, `\n`)
				if code := o.wait(); code != 0 || o.output() != "30 100\r\n" {
					t.Errorf("stty size as the command: exit %d, output %q, want %q", code, o.output(), "30 100\r\n")
				}
			})
		}

		t.Run("-t interrupted", func(t *testing.T) {
			// Ctrl-C on a cooked terminal is ctr-enter's SIGINT: the
			// session ends, as a shell reports it, and the terminal is
			// restored (o.wait checks it).
			o := startOperator(t, rt.args("attach", rt.taka, "--rm", "-t", "--image", "busybox", "--name", ephemeralTTYName(rt, "int"),
				"--", "sh", "-c", "echo ready; exec sleep 100")...)
			o.expect(0, `ready\r?\r\n`)
			o.send("\x03")
			if code := o.wait(); code != 128+int(syscall.SIGINT) {
				t.Errorf("Ctrl-C gave %d, want %d; output %q", code, 128+int(syscall.SIGINT), o.output())
			}
		})

		t.Run("-t failing", func(t *testing.T) {
			// An error after the terminal was set: restored before the
			// message, which the terminal then ends with "\r\n".
			o := startOperator(t, rt.args("attach", rt.taka, "--rm", "-t", "--image", "busybox:nonexistent", "--name", ephemeralTTYName(rt, "fail"), "--", "true")...)
			if code := o.wait(); code != 125 {
				t.Errorf("a missing image gave %d, want 125", code)
			}
			o.expect(0, `^ctr-enter: image [^\r\n]* not found[^\r\n]*\r\n$`)
		})

		sameCensus(t, rt, prefix, census, "the sessions")
		waitFor(t, "the ephemeral containers to be removed", func() bool { return snapshotLeftovers(t) == before })
		nothingLeft(t, before)
	})
}
