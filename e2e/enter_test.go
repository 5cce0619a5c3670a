//go:build e2e

package e2e

import (
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var kinds = []string{"mnt", "uts", "ipc", "net", "pid", "user", "cgroup", "time"}

// The two takas: the same name in containerd and in Docker.
var takas = []string{"containerd://e2e/taka", "docker://taka"}

func TestPsShowsTargetProcesses(t *testing.T) {
	for _, ref := range takas {
		t.Run(ref, func(t *testing.T) {
			r := run(t, ref, "--net", "--pid", "--", "ps", "aux")
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			var pid1 string
			for _, line := range strings.Split(r.stdout, "\n")[1:] {
				if f := strings.Fields(line); len(f) > 10 && f[1] == "1" {
					pid1 = strings.Join(f[10:], " ")
				}
			}
			if !strings.HasPrefix(pid1, "redis-server") {
				t.Errorf("PID 1 is %q, want redis-server\n%v", pid1, r)
			}
		})
	}
}

func TestBareNameInTwoRuntimesIsAmbiguous(t *testing.T) {
	before := snapshotLeftovers(t)
	r := run(t, "taka", "--", "true")
	oneLineError(t, r, 125, "ambiguous")
	for _, c := range takas {
		if !strings.Contains(r.stderr, c) {
			t.Errorf("candidate %s not listed: %v", c, r)
		}
	}
	nothingLeft(t, before)
}

func TestDockerNameSeenThroughBothAPIsIsOneTarget(t *testing.T) {
	// taka-sidecar exists in Docker and, under its ID, in containerd's
	// moby namespace: one target, not an ambiguity.
	r := run(t, "taka-sidecar", "--uts", "--", "hostname")
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	id := sh(t, "docker", "inspect", "-f", "{{.Id}}", "taka-sidecar")
	r = run(t, id[:12], "--uts", "--", "hostname")
	if r.code != 0 {
		t.Fatalf("by ID prefix: %v", r)
	}
}

// allNamespaces starts a process with all eight namespaces of its own, as a
// bare-PID target: no runtime here makes a time namespace.
func allNamespaces(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--mount", "--uts", "--ipc", "--net",
		"--pid", "--cgroup", "--time", "--fork", "--kill-child", "--mount-proc", "sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var pid int
	waitFor(t, "the unshared sleep", func() bool {
		d := descendants(cmd.Process.Pid)
		if len(d) == 0 {
			return false
		}
		pid = d[0]
		return nsInode(t, pid, "time") != nsInode(t, "self", "time")
	})
	return pid
}

func TestEachNamespaceKindAlone(t *testing.T) {
	targets := map[string]int{
		"docker://taka":           dockerPID(t, "taka"),
		"containerd://e2e/userns": containerdPID(t, "e2e", "userns"),
	}
	pid := allNamespaces(t)
	targets["pid:"+strconv.Itoa(pid)] = pid
	covered := map[string]bool{}
	for ref, tpid := range targets {
		for _, kind := range kinds {
			if nsInode(t, tpid, kind) == nsInode(t, "self", kind) {
				continue // shares it with the host: nothing to tell apart
			}
			covered[kind] = true
			t.Run(ref+"/"+kind, func(t *testing.T) {
				payload := startPayload(t, sleepIn(ref, flagFor(kind)))
				for _, k := range kinds {
					got, want := nsInode(t, payload, k), nsInode(t, "self", k)
					if k == kind {
						want = nsInode(t, tpid, k)
					}
					if kind == "pid" && k == "mnt" {
						// The pid namespace alone comes with a private
						// mount namespace holding the target's procfs.
						if got == want || got == nsInode(t, tpid, k) {
							t.Errorf("pid alone: the payload's mount namespace %d is not a private one", got)
						}
						continue
					}
					if got != want {
						t.Errorf("%s namespace of the payload is %d, want %d (the %s's)", k, got, want,
							map[bool]string{true: "target", false: "host"}[k == kind])
					}
				}
			})
		}
	}
	for _, kind := range kinds {
		if !covered[kind] {
			t.Errorf("no target has its own %s namespace: the test environment is incomplete", kind)
		}
	}
}

// sleepIn is ctr-enter running `sleep` in the target with the given flags.
func sleepIn(ref string, flags ...string) *exec.Cmd {
	return command(append(append([]string{ref}, flags...), "--", "sleep", "1000")...)
}

// startPayload starts cmd, a sleepIn, and returns the payload's host PID;
// the session is ended when the test ends.
func startPayload(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	var payload int
	waitFor(t, "the payload", func() bool {
		for _, p := range descendants(cmd.Process.Pid) {
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); strings.TrimSpace(string(comm)) == "sleep" {
				payload = p
				return true
			}
		}
		return false
	})
	return payload
}

// flagFor is the flag that joins a kind: nsenter's names, but --userns for
// user (--user is docker exec's user).
func flagFor(kind string) string {
	switch kind {
	case "mnt":
		return "--mount"
	case "user":
		return "--userns"
	}
	return "--" + kind
}

func TestAllEightShowTheTargetsUIDMap(t *testing.T) {
	var all []string
	for _, k := range kinds {
		all = append(all, flagFor(k))
	}
	r := run(t, append(append([]string{"containerd://e2e/userns"}, all...), "--", "cat", "/proc/self/uid_map")...)
	if got := strings.Fields(r.stdout); r.code != 0 || strings.Join(got, " ") != "0 100000 65536" {
		t.Errorf("uid_map in the userns container: %v", r)
	}
	pid := allNamespaces(t)
	r = run(t, append(append([]string{"pid:" + strconv.Itoa(pid)}, all...), "--", "cat", "/proc/self/uid_map")...)
	if got := strings.Fields(r.stdout); r.code != 0 || strings.Join(got, " ") != "0 0 1" {
		t.Errorf("uid_map in the unshared target: %v", r)
	}
	// The default (no kind named) joins every kind that differs.
	r = run(t, "containerd://e2e/userns", "--", "cat", "/proc/self/uid_map")
	if got := strings.Fields(r.stdout); r.code != 0 || strings.Join(got, " ") != "0 100000 65536" {
		t.Errorf("uid_map with the default namespaces: %v", r)
	}
}

func TestEnvironmentIsTheTargetsNotTheHosts(t *testing.T) {
	for _, ref := range takas {
		t.Run(ref, func(t *testing.T) {
			cmd := command(ref, "--", "env")
			cmd.Env = append(cmd.Env, "CTR_ENTER_CANARY=host-secret")
			r := runCmd(t, cmd)
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			if strings.Contains(r.stdout, "CTR_ENTER_CANARY") {
				t.Errorf("host variable leaked into the target: %v", r)
			}
			if strings.Contains(r.stdout, "_CTR_ENTER_NSEXEC") {
				t.Errorf("ctr-enter's own plan leaked into the target: %v", r)
			}
			want := "TAKA_VAR=" + map[string]string{"containerd://e2e/taka": "containerd-taka", "docker://taka": "docker-taka"}[ref]
			for _, v := range []string{want, "REDIS_TEST_VAR=from-image"} {
				if !strings.Contains(r.stdout, v+"\n") {
					t.Errorf("target variable %s missing: %v", v, r)
				}
			}
		})
	}
}

func TestOnlyStdioIsInherited(t *testing.T) {
	// Extra fds ctr-enter itself inherits, deliberately not close-on-exec.
	f, err := os.Open("/etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir, err := os.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	for _, ref := range takas {
		// Inside the mount namespace, and with the payload from the host.
		for _, flags := range [][]string{nil, {"--net", "--pid"}} {
			t.Run(ref+strings.Join(flags, ""), func(t *testing.T) {
				cmd := sleepIn(ref, flags...)
				cmd.ExtraFiles = []*os.File{f, dir}
				payload := startPayload(t, cmd)
				fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", payload))
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, fd := range fds {
					got = append(got, fd.Name())
				}
				if strings.Join(got, " ") != "0 1 2" {
					t.Errorf("the payload's fds are %v, want 0 1 2", got)
				}
			})
		}
	}
}

func TestWorkingDirectory(t *testing.T) {
	sh(t, "docker", "run", "-d", "--name", "e2e-workdir", "-w", "/usr/share", "ctr-enter-test/busybox", "sleep", "1000000")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", "e2e-workdir").Run() })
	r := run(t, "docker://e2e-workdir", "--", "pwd")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "/usr/share" {
		t.Errorf("pwd = %q, want the target's WorkingDir /usr/share\n%v", r.stdout, r)
	}
	r = run(t, "docker://e2e-workdir", "-w", "/etc", "--", "pwd")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "/etc" {
		t.Errorf("pwd with -w /etc = %q\n%v", r.stdout, r)
	}
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

func TestStdinWithInteractive(t *testing.T) {
	cmd := command("docker://taka", "-i", "--", "cat")
	cmd.Stdin = strings.NewReader("hi\n")
	if r := runCmd(t, cmd); r.code != 0 || r.stdout != "hi\n" {
		t.Errorf("echo hi | ctr-enter -i -- cat: %v", r)
	}
}

// oneLineError checks a failure of ctr-enter's own: the code, and one line
// on stderr that says what went wrong.
func oneLineError(t *testing.T, r result, code int, contains string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\n%v", r.code, code, r)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "ctr-enter: ") || !strings.Contains(lines[0], contains) {
		t.Errorf("stderr is not one line with %q:\n%v", contains, r)
	}
	if r.stdout != "" {
		t.Errorf("stdout not empty:\n%v", r)
	}
}

func TestBadInput(t *testing.T) {
	sh(t, "docker", "create", "--name", "e2e-stopped", "ctr-enter-test/busybox", "sleep", "1")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", "e2e-stopped").Run() })
	for _, id := range []string{"e2e-amb-1", "e2e-amb-2"} {
		sh(t, "ctr", "-n", "e2e", "containers", "create", "docker.io/ctr-enter-test/busybox:latest", id)
		t.Cleanup(func() { exec.Command("ctr", "-n", "e2e", "containers", "rm", id).Run() })
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
		{"ambiguous prefix", []string{"e2e-amb", "--", "true"}, 125, "ambiguous target: e2e-amb matches 2 targets"},
		{"stopped containerd", []string{"containerd://e2e/e2e-amb-1", "--", "true"}, 125, "not running"},
		{"stopped", []string{"e2e-stopped", "--", "true"}, 125, "not running"},
		{"missing docker socket", []string{"--docker-host", "unix:///nonexistent.sock", "docker://taka", "--", "true"}, 125, "docker is not running here"},
		{"missing containerd socket", []string{"--containerd-address", "/nonexistent.sock", "containerd://e2e/taka", "--", "true"}, 125, "containerd is not running here"},
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

// TestRecycledPIDIsRefused kills a container while ctr-enter is stopped
// between resolving it and opening its PID, gives that PID to an unrelated
// process, and lets ctr-enter go on: it must refuse, not join the impostor.
func TestRecycledPIDIsRefused(t *testing.T) {
	sh(t, "docker", "run", "-d", "--name", "e2e-recycled", "ctr-enter-test/busybox", "sleep", "1000000")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", "e2e-recycled").Run() })
	victim := dockerPID(t, "e2e-recycled")

	marker := fmt.Sprintf("/tmp/e2e-joined-%d", time.Now().UnixNano())
	cmd := command("docker://e2e-recycled", "--", "touch", marker)
	cmd.Env = append(cmd.Env, "CTR_ENTER_TEST_STOP=before-open")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ctr-enter to stop itself", func() bool {
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
		i := strings.LastIndexByte(string(st), ')')
		return i > 0 && strings.HasPrefix(string(st[i+2:]), "T")
	})

	sh(t, "docker", "kill", "e2e-recycled")
	waitFor(t, "the victim's PID to be free", func() bool {
		_, err := os.Stat(fmt.Sprintf("/proc/%d", victim))
		return os.IsNotExist(err)
	})
	impostor := recyclePID(t, victim)
	defer func() { impostor.Process.Kill(); impostor.Wait() }()

	cmd.Process.Signal(syscall.SIGCONT)
	err := cmd.Wait()
	r := result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
	if err == nil || r.code != 125 || !strings.Contains(r.stderr, "reused") {
		t.Errorf("joining a recycled PID was not refused:\n%v", r)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/root%s", victim, marker)); err == nil {
		t.Errorf("the command ran in the impostor")
	}
}

// recyclePID starts a process that gets exactly pid, through ns_last_pid.
func recyclePID(t *testing.T, pid int) *exec.Cmd {
	t.Helper()
	return recyclePIDWith(t, pid, func() *exec.Cmd { return exec.Command("sleep", "1000") })
}

// recyclePIDWith starts the commands that command makes until one gets
// exactly pid, and waits until it is a sleeping sleep.
func recyclePIDWith(t *testing.T, pid int, command func() *exec.Cmd) *exec.Cmd {
	t.Helper()
	for i := 0; i < 100; i++ {
		if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pid-1)), 0); err != nil {
			t.Fatal(err)
		}
		c := command()
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		if c.Process.Pid == pid {
			// Let it finish executing sleep: a process in the middle of
			// execve is a moving target of its own.
			waitFor(t, "the impostor to sleep", func() bool {
				st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
				i := strings.LastIndexByte(string(st), ')')
				return strings.Contains(string(st), "(sleep)") && i > 0 && strings.HasPrefix(string(st[i+2:]), "S")
			})
			return c
		}
		c.Process.Kill()
		c.Wait()
	}
	t.Fatalf("could not recycle PID %d", pid)
	return nil
}

// TestTargetCannotRewriteHostBinaries is CVE-2019-5736 as measured with
// nsenter: a target with CAP_SYS_PTRACE reopens /proc/PID/exe of whatever
// the host runs in its pid namespace, for writing. Both a host payload and
// ctr-enter itself (re-executed inside through /proc/self/exe) must be
// executed from views it cannot write.
func TestTargetCannotRewriteHostBinaries(t *testing.T) {
	sh(t, "docker", "run", "-d", "--name", "e2e-ptrace", "--cap-add", "SYS_PTRACE", "--security-opt", "apparmor=unconfined",
		"ctr-enter-test/busybox", "sleep", "1000000")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", "e2e-ptrace").Run() })

	// A host binary of the test's own, so that no other process on the
	// host keeps it busy (ETXTBSY would hide a writable handle).
	sleepBin := filepath.Join(t.TempDir(), "sleep")
	hostSleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	sh(t, "cp", hostSleep, sleepBin)
	digests := func() string { return digest(t, sleepBin) + " " + digest(t, bin) }
	before := digests()

	// A host payload: pid namespace joined, mount namespace not.
	sessions := command("docker://e2e-ptrace", "--trust-target", "--pid", "--net", "--", sleepBin, "1000")
	startPayload(t, sessions)
	// ctr-enter itself: re-executed inside the target through
	// /proc/self/exe, and running there while its own payload runs.
	inner := command("docker://e2e-ptrace", "--trust-target", "--", "/proc/self/exe", "pid:1", "--net", "--", "/bin/sleep", "999")
	if err := inner.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Process.Signal(syscall.SIGTERM); inner.Wait() })
	waitFor(t, "the inner ctr-enter's payload", func() bool {
		for _, p := range descendants(inner.Process.Pid) {
			if cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p)); strings.Contains(string(cl), "999") && strings.HasPrefix(string(cl), "/bin/sleep") {
				return true
			}
		}
		return false
	})

	// From inside, as CVE-2019-5736 did: hold a handle on the executable
	// of every process that is not the target's own busybox, wait for
	// those processes to exit, then reopen each handle for writing.
	attack := `n=3
	for p in /proc/[0-9]*; do
		exe=$(readlink $p/exe) || continue
		case "$exe" in /bin/busybox) continue;; esac
		eval "exec $n< $p/exe" && echo "$n $exe" >> /tmp/held
		n=$((n+1))
	done
	touch /tmp/ready
	while [ ! -e /tmp/go ]; do sleep 0.1; done
	while read fd exe; do
		if ( echo pwned >> /proc/self/fd/$fd ) 2>/dev/null; then echo "WRITABLE $exe"; else echo "denied $exe"; fi
	done < /tmp/held`
	attacker := exec.Command("docker", "exec", "e2e-ptrace", "sh", "-c", attack)
	var out strings.Builder
	attacker.Stdout, attacker.Stderr = &out, &out
	if err := attacker.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the attacker to hold its handles", func() bool {
		return exec.Command("docker", "exec", "e2e-ptrace", "test", "-e", "/tmp/ready").Run() == nil
	})
	sessions.Process.Signal(syscall.SIGTERM)
	sessions.Wait()
	inner.Process.Signal(syscall.SIGTERM)
	inner.Wait()
	sh(t, "docker", "exec", "e2e-ptrace", "touch", "/tmp/go")
	if err := attacker.Wait(); err != nil {
		t.Fatalf("attacker: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "WRITABLE") {
		t.Errorf("the target can write a host executable:\n%s", out.String())
	}
	if n := strings.Count(out.String(), "denied"); n < 2 {
		t.Errorf("expected the host payload and the inner ctr-enter to be visible and denied, saw %d:\n%s", n, out.String())
	}
	if after := digests(); after != before {
		t.Errorf("host binaries changed: %s -> %s", before, after)
	}
}

func digest(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

func TestStaticBinary(t *testing.T) {
	if out := sh(t, "file", bin); !strings.Contains(out, "statically linked") {
		t.Errorf("not static: %s", out)
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

func TestEnvFlag(t *testing.T) {
	r := run(t, "docker://taka", "-e", "LIST=a,b", "-e", "TAKA_VAR=overridden", "--", "sh", "-c", `echo "$LIST $TAKA_VAR"`)
	if r.code != 0 || r.stdout != "a,b overridden\n" {
		t.Errorf("-e: %v", r)
	}
}
