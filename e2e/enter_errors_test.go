//go:build e2e

package e2e

// Bad input and exit codes: ctr-enter's own failures in one line with
// their code, and the command's status passed on.

import (
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestBadInput(t *testing.T) {
	sh(t, "docker", "create", "--name", "e2e-stopped", "ctr-enter-test/busybox", "sleep", "1")
	t.Cleanup(func() { dockerRuntime.remove(t, "e2e-stopped") })
	for _, id := range []string{"e2e-amb-1", "e2e-amb-2"} {
		containerdRuntime.run(t, "-n", "e2e", "containers", "create", "docker.io/ctr-enter-test/busybox:latest", id)
		t.Cleanup(func() { containerdRuntime.remove(t, id) })
	}

	// A socket that accepts connections and never answers.
	hung := filepath.Join(t.TempDir(), "hung.sock")
	l, err := net.Listen("unix", hung)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	before := snapshotLeftovers(t)
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"unknown", []string{"no-such-container", "--", "true"}, 125, "no such container"},
		{"unknown pinned", []string{"docker://no-such-container", "--", "true"}, 125, "no such container"},
		{"empty name", []string{"containerd://e2e/", "--", "true"}, 125, "invalid target"},
		{"name prefix", []string{"e2e-amb", "--", "true"}, 125, "no such container or process: e2e-amb (did you mean e2e-amb-1 or e2e-amb-2?)"},
		// A stopped container is entered over its files (stopped_test.go),
		// but has no namespaces to join and nothing to detach from.
		{"stopped containerd, detached", []string{"containerd://e2e/e2e-amb-1", "-d", "--", "true"}, 125, "runs nothing"},
		{"stopped, namespace flag", []string{"e2e-stopped", "--net", "--", "true"}, 125, "runs nothing"},
		{"missing docker socket", []string{"--docker-host", "unix:///nonexistent.sock", "docker://taka", "--", "true"}, 125, "runtime unavailable: docker: /nonexistent.sock does not exist"},
		{"missing containerd socket", []string{"--containerd-address", "/nonexistent.sock", "containerd://e2e/taka", "--", "true"}, 125, "runtime unavailable: containerd: /nonexistent.sock does not exist"},
		{"hung containerd", []string{"--timeout", "1s", "--containerd-address", hung, "containerd://e2e/taka", "--", "true"}, 125, "no answer"},
		{"hung docker", []string{"--timeout", "1s", "--docker-host", "unix://" + hung, "docker://taka", "--", "true"}, 125, "no answer"},
		{"missing command in target", []string{"docker://taka", "--", "no-such-command"}, 127, "no-such-command"},
		{"missing command on host", []string{"docker://taka", "--net", "--", "no-such-command"}, 127, "no-such-command"},
		{"not executable", []string{"docker://taka", "--", "/etc/passwd"}, 126, "/etc/passwd"},
		{"bad pid", []string{"pid:999999999", "--", "true"}, 125, "no such container or process"},
		{"unknown flag", []string{"docker://taka", "--bogus"}, 125, "bogus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oneLineError(t, run(t, tc.args...), tc.code, tc.contains)
		})
	}
	t.Run("not root", func(t *testing.T) {
		cmd := command("docker://taka", "--", "true")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		oneLineError(t, runCmd(t, cmd), 125, "must be run as root")
	})
	nothingLeft(t, before)
}

func TestExitStatus(t *testing.T) {
	for _, ref := range takas {
		if r := run(t, ref, "--", "sh", "-c", "exit 7"); r.code != 7 {
			t.Errorf("%s: exit 7 gave %v", ref, r)
		}
		if r := run(t, ref, "--", "sh", "-c", "kill -TERM $$"); r.code != 128+15 {
			t.Errorf("%s: killed by SIGTERM gave %v", ref, r)
		}
	}
}

func TestSignalsAreForwarded(t *testing.T) {
	cmd := command("docker://taka", "--", "sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.1; done")
	var out strings.Builder
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 42 {
		t.Errorf("SIGTERM to ctr-enter: exit %d, want 42 (the trap's)\n%s", code, out.String())
	}
}
