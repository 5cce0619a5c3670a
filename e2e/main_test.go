//go:build e2e

// Package e2e runs the built ctr-enter binary against the real containerd,
// runc and dockerd that e2e/env.sh installs and starts. Run it through
// `make test`; it needs root and refuses to run (it does not skip) without
// the environment.
package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var bin string

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "e2e: must run as root (make test)")
		os.Exit(1)
	}
	bin = os.Getenv("CTR_ENTER_BIN")
	if bin == "" {
		bin = "../bin/ctr-enter"
	}
	var err error
	if bin, err = filepath.Abs(bin); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	if _, err := os.Stat(bin); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: no binary at %s (make build): %v\n", bin, err)
		os.Exit(1)
	}
	// containerd 2.x's ctr repeats the daemon's cgroup v1 deprecation
	// warning on every call, into the output the tests read.
	os.Setenv("CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS", "1")
	for _, check := range [][]string{
		{"ctr", "-n", "e2e", "task", "ls"},
		{"docker", "inspect", "taka"},
		append(ctr2(), "-n", "e2e", "task", "ls"),
	} {
		if out, err := exec.Command(check[0], check[1:]...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: the test environment is not up (run e2e/env.sh up): %v: %v\n%s", check, err, out)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs ctr-enter with args and waits, bounded.
func run(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, command(args...))
}

func command(args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	return cmd
}

func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not finish in 60s", cmd.Args)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// sh runs a host command and returns its trimmed output, failing the test on
// error.
func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func dockerPID(t *testing.T, name string) int {
	t.Helper()
	pid, err := strconv.Atoi(sh(t, "docker", "inspect", "-f", "{{.State.Pid}}", name))
	if err != nil || pid <= 0 {
		t.Fatalf("docker pid of %s: %v %d", name, err, pid)
	}
	return pid
}

func containerdPID(t *testing.T, ns, id string) int {
	t.Helper()
	return taskPID(t, []string{"ctr"}, ns, id)
}

// nsInode is the inode of /proc/PID/ns/KIND.
func nsInode(t *testing.T, pid any, kind string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%v/ns/%s", pid, kind), &st); err != nil {
		t.Fatalf("stat ns: %v", err)
	}
	return st.Ino
}

// descendants returns the PIDs of every live descendant of pid.
func descendants(pid int) []int {
	children := map[int][]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		self, _ := strconv.Atoi(strings.Fields(s)[0])
		children[ppid] = append(children[ppid], self)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	sort.Ints(out)
	return out
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// leftovers is what ctr-enter could leave behind on the host.
type leftovers struct {
	mounts, tempDirs, dockerContainers, containerdContainers, snapshots, leases string
	// containerd 2.x's, beside 1.6's
	containerd2Containers, snapshots2, leases2 string
}

func snapshotLeftovers(t *testing.T) leftovers {
	t.Helper()
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var mounts []string
	for _, l := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(l); len(f) > 4 {
			mounts = append(mounts, f[4]) // mount point
		}
	}
	sort.Strings(mounts)
	temps, _ := filepath.Glob("/run/.ctr-enter-*")
	c2 := strings.Join(ctr2(), " ")
	temps2, _ := filepath.Glob(os.TempDir() + "/.ctr-enter-*")
	return leftovers{
		mounts:                strings.Join(mounts, "\n"),
		tempDirs:              strings.Join(append(temps, temps2...), "\n"),
		dockerContainers:      sh(t, "docker", "ps", "-aq", "--no-trunc"),
		containerdContainers:  sh(t, "sh", "-c", "for ns in $(ctr ns ls -q); do ctr -n $ns containers ls -q; done | sort"),
		snapshots:             sh(t, "sh", "-c", "for ns in $(ctr ns ls -q); do ctr -n $ns snapshots ls; done | sort"),
		leases:                sh(t, "sh", "-c", "for ns in $(ctr ns ls -q); do ctr -n $ns leases ls -q; done | sort"),
		containerd2Containers: sh(t, "sh", "-c", strings.ReplaceAll("for ns in $(CTR2 ns ls -q); do CTR2 -n $ns containers ls -q; done | sort", "CTR2", c2)),
		snapshots2:            sh(t, "sh", "-c", strings.ReplaceAll("for ns in $(CTR2 ns ls -q); do CTR2 -n $ns snapshots ls; done | sort", "CTR2", c2)),
		leases2:               sh(t, "sh", "-c", strings.ReplaceAll("for ns in $(CTR2 ns ls -q); do CTR2 -n $ns leases ls -q; done | sort", "CTR2", c2)),
	}
}

// nothingLeft fails the test if anything changed since before.
func nothingLeft(t *testing.T, before leftovers) {
	t.Helper()
	if after := snapshotLeftovers(t); after != before {
		t.Errorf("ctr-enter left something behind:\nbefore: %+v\nafter:  %+v", before, after)
	}
}
