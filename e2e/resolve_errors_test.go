//go:build e2e

package e2e

// Issue 12, the resolution side: which words match (prefixes only of
// generated IDs), what an operator is told when a word matches nothing,
// several things, or a stopped container, and how a runtime that cannot
// be asked is named. Each failure is one line on stderr, exit 125, and
// leaves nothing behind.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNamePrefixIsRefusedWithDidYouMean: a containerd ID made with ctr is
// a chosen word, matched whole; a prefix of it is refused, and the name
// is suggested.
func TestNamePrefixIsRefusedWithDidYouMean(t *testing.T) {
	containerdRuntime.start(t, "e2e-ux-ctr-side")
	before := snapshotLeftovers(t)
	oneLineError(t, run(t, "e2e-ux-ctr", "--", "true"), 125,
		"no such container or process: e2e-ux-ctr (did you mean e2e-ux-ctr-side?)")
	// A typing mistake is suggested too.
	oneLineError(t, run(t, "e2e-xu-ctr-side", "--", "true"), 125,
		"no such container or process: e2e-xu-ctr-side (did you mean e2e-ux-ctr-side?)")
	// The whole word still enters it.
	if r := run(t, "e2e-ux-ctr-side", "--uts", "--", "hostname"); r.code != 0 || r.stderr != "" {
		t.Errorf("the full name:\n%v", r)
	}
	nothingLeft(t, before)
}

// TestDockerIDPrefixWorks: Docker's IDs are generated, and a unique
// prefix of one names its container, as in docker exec.
func TestDockerIDPrefixWorks(t *testing.T) {
	id := startDocker(t, "e2e-id-prefix", "ctr-enter-test/busybox", "sleep", "1000000")
	before := snapshotLeftovers(t)
	// Docker sets the hostname to the 12-digit short ID.
	for _, prefix := range []string{id[:12], id[:20]} {
		r := run(t, prefix, "--uts", "--", "hostname")
		if r.code != 0 || r.stdout != id[:12]+"\n" || r.stderr != "" {
			t.Errorf("ID prefix %s:\n%v", prefix, r)
		}
	}
	nothingLeft(t, before)
}

// TestPIDThatIsAlsoAContainerIsAmbiguous: a number that is a live PID and
// a container's name or ID prefix is refused, naming both explicit forms.
func TestPIDThatIsAlsoAContainerIsAmbiguous(t *testing.T) {
	t.Run("name", func(t *testing.T) {
		sleep := exec.Command("sleep", "1000000")
		if err := sleep.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
		pid := strconv.Itoa(sleep.Process.Pid)
		createStoppedDocker(t, pid)
		before := snapshotLeftovers(t)
		ambiguous(t, run(t, pid, "--", "true"), "ambiguous target: "+pid+" matches 2 targets", "pid:"+pid, "docker://"+pid)
		nothingLeft(t, before)
	})
	t.Run("ID prefix", func(t *testing.T) {
		// Docker's IDs are random: create containers until one's ID
		// begins with the digits of a live PID (most of 1-9 are, on a
		// host: init and kernel threads).
		for try := 0; try < 40; try++ {
			name := fmt.Sprintf("e2e-pid-prefix-%d", try)
			id := createStoppedDocker(t, name)
			pid := pidPrefixOf(id)
			if pid == "" {
				dockerRuntime.remove(t, id)
				continue
			}
			t.Logf("%s's ID %s begins with the live PID %s", name, id, pid)
			before := snapshotLeftovers(t)
			ambiguous(t, run(t, pid, "--", "true"), "ambiguous target: "+pid+" matches", "pid:"+pid, "docker://"+name)
			nothingLeft(t, before)
			return
		}
		t.Fatal("no Docker ID in 40 began with a live PID")
	})
}

// createStoppedDocker creates (does not start) a busybox container named name,
// removed when the test ends, and returns its ID.
func createStoppedDocker(t *testing.T, name string) string {
	t.Helper()
	// docker create's output may carry warnings: the ID is asked for.
	sh(t, "docker", "create", "--name", name, "ctr-enter-test/busybox", "sleep", "1")
	id := sh(t, "docker", "inspect", "-f", "{{.Id}}", name)
	t.Cleanup(func() { dockerRuntime.remove(t, id) })
	return id
}

// pidPrefixOf is the longest run of digits that id begins with and that
// is the PID of a live process, or "".
func pidPrefixOf(id string) string {
	n := 0
	for n < len(id) && id[n] >= '0' && id[n] <= '9' {
		n++
	}
	if n == 0 || id[0] == '0' {
		return "" // no PID is written with a leading zero
	}
	for ; n > 0; n-- {
		if _, err := os.Stat("/proc/" + id[:n]); err == nil {
			return id[:n]
		}
	}
	return ""
}

// TestSkippedRuntimeIsNamed: a target not found while a runtime could not
// be asked says which, and why, once.
func TestSkippedRuntimeIsNamed(t *testing.T) {
	before := snapshotLeftovers(t)
	withEnv := func(env string, args ...string) result {
		cmd := command(args...)
		cmd.Env = append(cmd.Env, env)
		return runCmd(t, cmd)
	}
	// taka-sidecar is Docker's; containerd knows it only by its ID.
	r := withEnv("DOCKER_HOST=unix:///nonexistent", "taka-sidecar", "--", "true")
	oneLineError(t, r, 125, "no such container or process: taka-sidecar (docker: /nonexistent does not exist; searched containerd only)")
	if n := strings.Count(r.stderr, "/nonexistent"); n != 1 {
		t.Errorf("the cause is printed %d times:\n%v", n, r)
	}

	// A runtime that hangs while the target is found elsewhere: one
	// warning, though inspect asks the runtimes twice (to resolve, then
	// for the containers sharing its namespaces), and the hang does not
	// use up the time left to describe the target.
	hung := hungSocket(t)
	r = run(t, "--timeout", "1s", "--docker-host", "unix://"+hung, "inspect", "taka")
	if want := "ctr-enter: warning: runtime unavailable: docker: no answer on " + hung + " within --timeout\n"; r.code != 0 || r.stderr != want {
		t.Errorf("inspect with docker hung: want exit 0 and stderr %q\n%v", want, r)
	}

	// A DOCKER_HOST that is a bare absolute path is the socket.
	if r := withEnv("DOCKER_HOST=/var/run/docker.sock", "docker://taka", "--", "true"); r.code != 0 || r.stderr != "" {
		t.Errorf("DOCKER_HOST=/var/run/docker.sock:\n%v", r)
	}
	// Any other form is refused with the form that works.
	oneLineError(t, withEnv("DOCKER_HOST=tcp://127.0.0.1:2375", "docker://taka", "--", "true"), 125,
		`runtime unavailable: docker: --docker-host/DOCKER_HOST "tcp://127.0.0.1:2375": only a unix socket on this host can be used (the form is unix:///PATH, e.g. unix:///var/run/docker.sock)`)
	nothingLeft(t, before)
}

// TestLsWithNoRuntimeFails: ls with no runtime answering is an error, not
// an empty table; a runtime that is not installed, when another answers,
// stays silent.
func TestLsWithNoRuntimeFails(t *testing.T) {
	hung := hungSocket(t)
	before := snapshotLeftovers(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"both sockets missing", []string{"--docker-host", "unix:///nonexistent-d.sock", "--containerd-address", "/nonexistent-c.sock", "ls"},
			"no container runtime answered (containerd: /nonexistent-c.sock does not exist; docker: /nonexistent-d.sock does not exist)"},
		{"both hung", []string{"--timeout", "1s", "--docker-host", "unix://" + hung, "--containerd-address", hung, "ls", "--json"},
			"no container runtime answered (containerd: no answer on " + hung + " within --timeout; docker: no answer on " + hung + " within --timeout)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oneLineError(t, run(t, tc.args...), 125, tc.want)
		})
	}
	t.Run("docker not installed", func(t *testing.T) {
		r := run(t, "--docker-host", "unix:///nonexistent-d.sock", "ls")
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "containerd") {
			t.Errorf("ls with containerd alone:\n%v", r)
		}
	})
	nothingLeft(t, before)
}

// TestUnknownSchemeNamesTheKnownOnes: k8s://x is not a name.
func TestUnknownSchemeNamesTheKnownOnes(t *testing.T) {
	before := snapshotLeftovers(t)
	for _, ref := range []string{"k8s://default/web", "foo://x"} {
		scheme, _, _ := strings.Cut(ref, "://")
		oneLineError(t, run(t, ref, "--", "true"), 125,
			fmt.Sprintf("invalid target: %q: unknown scheme %s:// (known: docker://, containerd://, pid:)", ref, scheme))
	}
	nothingLeft(t, before)
}

// TestStoppedContainerSaysSo: a command that needs a running container
// (update: enter opens a session over a stopped one's files, see
// stopped_test.go) says in one line that it is not running, in what state,
// and what to do.
func TestStoppedContainerSaysSo(t *testing.T) {
	createStoppedDocker(t, "e2e-resolve-stopped")
	containerdRuntime.run(t, "-n", "e2e", "containers", "create", "docker.io/ctr-enter-test/busybox:latest", "e2e-resolve-stopped")
	t.Cleanup(func() { containerdRuntime.remove(t, "e2e-resolve-stopped") })
	before := snapshotLeftovers(t)
	for _, ref := range []string{"docker://e2e-resolve-stopped", "containerd://e2e/e2e-resolve-stopped"} {
		oneLineError(t, run(t, "update", ref, "--pids-limit", "100"), 125,
			"container is not running: "+ref+" is created (start it, then retry; `ctr-enter ls` shows every container's state)")
	}
	nothingLeft(t, before)
}

// hungSocket is the path of a unix socket that accepts connections and
// never answers, until the test ends.
func hungSocket(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hung.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return path
}
