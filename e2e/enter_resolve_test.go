//go:build e2e

package e2e

// Which target a word names, through which runtime, and when ctr-enter
// dials the runtimes at all.

import (
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBareNameInTwoRuntimesIsAmbiguous(t *testing.T) {
	before := snapshotLeftovers(t)
	ambiguous(t, run(t, "taka", "--", "true"), "ambiguous", takas...)
	nothingLeft(t, before)
}

func TestDockerNameSeenThroughBothAPIsIsOneTarget(t *testing.T) {
	// taka-sidecar exists in Docker and, under its ID, in containerd's
	// moby namespace: one target, not an ambiguity.
	id := sh(t, "docker", "inspect", "-f", "{{.Id}}", "taka-sidecar")
	if !slices.Contains(strings.Fields(sh(t, "ctr", "-n", "moby", "containers", "ls", "-q")), id) {
		t.Fatalf("taka-sidecar is not in containerd's moby namespace: the test proves nothing")
	}
	r := run(t, "taka-sidecar", "--uts", "--", "hostname")
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	r = run(t, id[:12], "--uts", "--", "hostname")
	if r.code != 0 {
		t.Fatalf("by ID prefix: %v", r)
	}
}

func TestEnvironmentVariablesPickTheRuntimes(t *testing.T) {
	for env, wantTarget := range map[string]string{
		// Without Docker, taka is only containerd's, and the reverse.
		"DOCKER_HOST=unix:///nonexistent.sock":   "TAKA_VAR=containerd-taka",
		"CONTAINERD_ADDRESS=/nonexistent.sock":   "TAKA_VAR=docker-taka",
		"CONTAINERD_NAMESPACE=no-such-namespace": "TAKA_VAR=docker-taka",
	} {
		cmd := command("taka", "--", "env")
		cmd.Env = append(cmd.Env, env)
		if r := runCmd(t, cmd); r.code != 0 || !strings.Contains(r.stdout, wantTarget) {
			t.Errorf("%s: %v", env, r)
		}
	}
}

func TestHelpNeverDials(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "daemon.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, args := range [][]string{{"--help"}, {"taka", "--help"}, {"inspect", "--help"}, {"version"}} {
		cmd := command(args...)
		cmd.Env = append(cmd.Env, "CONTAINERD_ADDRESS="+sock, "DOCKER_HOST=unix://"+sock)
		if r := runCmd(t, cmd); r.code != 0 || r.stdout == "" {
			t.Errorf("%v: %v", args, r)
		}
	}
	// Nothing connected meanwhile.
	l.(*net.UnixListener).SetDeadline(time.Now().Add(200 * time.Millisecond))
	if c, err := l.Accept(); err == nil {
		c.Close()
		t.Errorf("--help or version connected to a runtime socket")
	}
	// Whereas a command that needs the runtimes does connect: the check
	// above can tell.
	cmd := command("--timeout", "1s", "ls")
	cmd.Env = append(cmd.Env, "CONTAINERD_ADDRESS="+sock, "DOCKER_HOST=unix://"+sock)
	runCmd(t, cmd)
	l.(*net.UnixListener).SetDeadline(time.Now().Add(200 * time.Millisecond))
	if c, err := l.Accept(); err != nil {
		t.Errorf("ls did not connect either: the listener sees nothing (%v)", err)
	} else {
		c.Close()
	}
}
