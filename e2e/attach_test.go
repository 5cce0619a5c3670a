//go:build e2e

package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestSidecar: attach TARGET --image busybox --name N -- httpd, through each
// taka's own runtime.
func TestSidecar(t *testing.T) {
	for _, tc := range []struct {
		ref, sidecar string
		pid          func(t *testing.T) int // the sidecar's
	}{
		{"docker://taka", "docker://e2e-medium", func(t *testing.T) int { return dockerPID(t, "e2e-medium") }},
		{"containerd://e2e/taka", "containerd://e2e/e2e-medium", func(t *testing.T) int { return containerdPID(t, "e2e", "e2e-medium") }},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			before := snapshotLeftovers(t)
			t.Cleanup(func() { exec.Command(bin, "attach", "rm", tc.sidecar).Run() })

			r := run(t, "attach", tc.ref, "--image", "ctr-enter-test/busybox", "--name", "e2e-medium", "--", "httpd", "-f", "-p", "8080")
			if r.code != 0 || strings.TrimSpace(r.stdout) != tc.sidecar {
				t.Fatalf("attach: %v", r)
			}
			// It runs after ctr-enter has exited, in taka's network
			// namespace.
			tpid := map[string]func() int{
				"docker://taka":         func() int { return dockerPID(t, "taka") },
				"containerd://e2e/taka": func() int { return containerdPID(t, "e2e", "taka") },
			}[tc.ref]()
			spid := tc.pid(t)
			if nsInode(t, spid, "net") != nsInode(t, tpid, "net") {
				t.Errorf("the sidecar's net namespace is not taka's")
			}
			if nsInode(t, spid, "mnt") == nsInode(t, tpid, "mnt") {
				t.Errorf("the sidecar shares taka's mount namespace: it should be a container of its own")
			}
			// From inside taka, the sidecar answers on 127.0.0.1:8080.
			var answer result
			waitFor(t, "the sidecar to answer", func() bool {
				answer = run(t, tc.ref, "--", "wget", "-S", "-O", "/dev/null", "http://127.0.0.1:8080/")
				return strings.Contains(answer.stderr, "HTTP/1.")
			})

			// Listed as taka's sidecar, in both forms.
			r = run(t, "attach", "ls", tc.ref, "--json")
			var listed []map[string]string
			if err := json.Unmarshal([]byte(r.stdout), &listed); r.code != 0 || err != nil || len(listed) != 1 ||
				listed[0]["ref"] != tc.sidecar || listed[0]["of"] != tc.ref || listed[0]["status"] != "running" {
				t.Errorf("attach ls %s: %v", tc.ref, r)
			}
			if r := run(t, "attach", "ls"); r.code != 0 || !strings.Contains(r.stdout, tc.sidecar) {
				t.Errorf("attach ls: %v", r)
			}

			// Removing it leaves nothing in the runtime.
			if r := run(t, "attach", "rm", tc.sidecar); r.code != 0 {
				t.Fatalf("attach rm: %v", r)
			}
			nothingLeft(t, before)
		})
	}
	// Only sidecars can be removed this way.
	oneLineError(t, run(t, "attach", "rm", "docker://taka"), 125, "not a sidecar")
}

// TestEphemeral: attach --rm -it, a shell in a container of its own that
// sees the target's processes, gone when it exits.
func TestEphemeral(t *testing.T) {
	for _, ref := range takas {
		t.Run(ref, func(t *testing.T) {
			before := snapshotLeftovers(t)
			o := startOperator(t, "attach", ref, "--rm", "-it", "--image", "ctr-enter-test/busybox", "--name", "e2e-ephemeral")
			m := o.expect(0, `/ # `)
			o.send("ps -o pid,args\r")
			m = o.expect(m, `\r\n\s*1\s+redis-server`)
			o.send("exit 3\r")
			if code := o.wait(); code != 3 {
				t.Errorf("exit 3 gave %d", code)
			}
			waitFor(t, "the ephemeral container to be removed", func() bool { return snapshotLeftovers(t) == before })
			nothingLeft(t, before)
		})
	}
}

// TestEphemeralCollectedAfterSIGKILL kills ctr-enter mid-session, again
// and again: gc then leaves the runtimes as they were.
func TestEphemeralCollectedAfterSIGKILL(t *testing.T) {
	before := snapshotLeftovers(t)
	for _, ref := range takas {
		for i := 0; i < 20; i++ {
			o := startOperator(t, "attach", ref, "--rm", "-it", "--image", "ctr-enter-test/busybox")
			o.expect(0, `/ # `)
			o.cmd.Process.Kill()
			o.cmd.Wait()
		}
	}
	r := run(t, "gc")
	if r.code != 0 {
		t.Errorf("gc: %v", r)
	}
	// Docker may still be auto-removing some of its own.
	waitFor(t, "the runtimes to be as before", func() bool { return snapshotLeftovers(t) == before })
	nothingLeft(t, before)
}
