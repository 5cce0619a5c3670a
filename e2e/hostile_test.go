//go:build e2e

package e2e

// Hostile targets: each test runs e2e/testdata/hostile (or a shell) inside
// a container, doing what a compromised container would do to a session
// that enters it, and checks that it gets nowhere. Each defends one finding
// of the adversarial run of issue 10.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// hostileBin builds the hostile helper, static, for this test.
func hostileBin(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "hostile")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/hostile")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the hostile helper: %v\n%s", err, b)
	}
	return out
}

// hostileContainer starts a Docker busybox container with the helper at
// /hostile and returns its name.
func hostileContainer(t *testing.T, name, helper string, opts ...string) string {
	t.Helper()
	args := append([]string{"-v", helper + ":/hostile:ro"}, opts...)
	startDocker(t, name, append(args, "ctr-enter-test/busybox", "sleep", "1000000")...)
	return name
}

// TestNoControllingTerminal: a command of the target must not get the
// operator's terminal as its controlling terminal, or it can type into the
// operator's shell with TIOCSTI (and read what is typed). In every mode.
func TestNoControllingTerminal(t *testing.T) {
	helper := hostileBin(t)
	name := hostileContainer(t, "e2e-evil-tty", helper)
	ref := "docker://" + name
	for _, args := range [][]string{
		{ref, "--", "/hostile", "tiocsti"},
		{ref, "--as-target", "--", "/hostile", "tiocsti"},
		{ref, "-u", "1000:1000", "--", "/hostile", "tiocsti"},
		{ref, "-u", "0", "--", "/hostile", "tiocsti"},
		{ref, "--net", "--pid", "--", helper, "tiocsti"},
		{ref, "--net", "--", helper, "tiocsti"},
	} {
		t.Run(strings.Join(args[1:len(args)-2], " "), func(t *testing.T) {
			master, slave, err := pty.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer master.Close()
			defer slave.Close()
			cmd := command(args...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
			var out bytes.Buffer
			done := make(chan struct{})
			go func() {
				// The operator's screen: what the session printed, and
				// the echo of anything typed into the terminal.
				buf := make([]byte, 4096)
				for {
					n, err := master.Read(buf)
					out.Write(buf[:n])
					if err != nil {
						close(done)
						return
					}
				}
			}()
			r := runCmd(t, cmd)
			// Whatever was pushed into the terminal's input is still
			// there for the operator's shell to read.
			pending, err := unix.IoctlGetInt(int(slave.Fd()), unix.TIOCINQ)
			if err != nil {
				t.Fatal(err)
			}
			slave.Close()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
			}
			if r.code != 0 || !strings.Contains(r.stdout, "no controlling terminal") || !strings.Contains(r.stdout, "tty_nr 0") {
				t.Errorf("the command had a controlling terminal: %v\nscreen: %q", r, out.String())
			}
			if pending > 0 {
				t.Errorf("the target typed %d bytes into the operator's terminal: %q", pending, out.String())
			}
		})
	}
}

// TestNoHostRootInThePidNamespace: a command that runs in the target's pid
// namespace without its mount namespace must not show the host's root and
// working directory to the target, through /proc/PID/root and /proc/PID/cwd.
// The target passes the ptrace access check when the command runs with its
// own credentials (--as-target, -u), or always with CAP_SYS_PTRACE.
func TestNoHostRootInThePidNamespace(t *testing.T) {
	helper := hostileBin(t)
	name := hostileContainer(t, "e2e-evil-root", helper)
	ref := "docker://" + name
	secret := filepath.Join("/var/tmp", fmt.Sprintf("e2e-host-secret-%d", time.Now().UnixNano()))
	if err := os.WriteFile(secret, []byte("host-secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(secret)
	cwdFile := filepath.Join(t.TempDir(), "cwd-secret")
	if err := os.WriteFile(cwdFile, []byte("cwd-secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(cwdFile), 0o755)
	for i, tc := range []struct {
		flags    []string
		attacker string // docker exec -u
	}{
		{[]string{"-u", "1000:1000"}, "1000:1000"},
		{[]string{"--as-target"}, "0"},
	} {
		t.Run(strings.Join(tc.flags, " "), func(t *testing.T) {
			mark := strconv.Itoa(900000 + i)
			session := command(append(append([]string{ref, "--net", "--pid"}, tc.flags...), "--", "sleep", mark)...)
			session.Dir = filepath.Dir(cwdFile)
			startPayload(t, session)
			r := runCmd(t, exec.Command("docker", "exec", "-u", tc.attacker, name, "/hostile", "procroot", mark,
				strings.TrimPrefix(secret, "/"), filepath.Base(cwdFile), "etc/hostname"))
			if !strings.Contains(r.stdout, "found pid") {
				t.Fatalf("the session's command is not visible to the target (the test proves nothing): %v", r)
			}
			if strings.Contains(r.stdout, "READ") {
				t.Errorf("the target read the host's files through the session:\n%s", r.stdout)
			}
			if left, _ := filepath.Glob("/tmp/hostile-wrote-*"); len(left) > 0 {
				os.Remove(left[0])
				t.Errorf("the target wrote into the host's /tmp: %v", left)
			}
		})
	}
	// What the command does see: the target's processes, the host's
	// programs, a /tmp of its own.
	r := run(t, ref, "--net", "--pid", "--", "sh", "-c", "ps -eo args | grep -cx 'sleep 1000000'; ls /tmp | wc -l; cat "+secret+" 2>&1; pwd")
	if r.code != 0 || !regexpMatch(`^1\n0\n.*No such file.*\n/\n$`, r.stdout) {
		t.Errorf("session root: %v", r)
	}
}

// TestPtracerTargetIsRefused: PR_SET_DUMPABLE 0 does not stop a target that
// holds CAP_SYS_PTRACE; joining its pid namespace exposes ctr-enter's
// privileged process to it, so it takes --trust-target.
func TestPtracerTargetIsRefused(t *testing.T) {
	name := hostileContainer(t, "e2e-evil-ptrace", hostileBin(t), "--cap-add", "SYS_PTRACE")
	ref := "docker://" + name
	before := snapshotLeftovers(t)
	oneLineError(t, run(t, ref, "--", "true"), 125, "CAP_SYS_PTRACE")
	oneLineError(t, run(t, ref, "--pid", "--", "true"), 125, "--trust-target")
	nothingLeft(t, before)
	for _, args := range [][]string{{ref, "--net", "--", "true"}, {ref, "--trust-target", "--", "true"}} {
		if r := run(t, args...); r.code != 0 {
			t.Errorf("%v: %v", args, r)
		}
	}
	// A default container cannot get CAP_SYS_PTRACE: entered as before.
	if r := run(t, "docker://taka", "--", "true"); r.code != 0 {
		t.Errorf("taka: %v", r)
	}
}

// TestVisibleProcessHoldsOnlyItsFds: the process of ours that is visible in
// the target's pid namespace, stopped where it is most exposed (at the
// payload's exec), holds stdio, the error pipe and at most the payload's
// executable: none of the fds that ctr-enter inherited from the operator's
// shell, nor the pidfd, the tools, the confinement or cgroup handles.
func TestVisibleProcessHoldsOnlyItsFds(t *testing.T) {
	secret, err := os.Open("/etc/shadow")
	if err != nil {
		t.Fatal(err)
	}
	defer secret.Close()
	for _, args := range [][]string{
		{"docker://taka", "--", "/bin/true"},
		{"docker://taka", "--as-target", "--", "/bin/true"},
		{"docker://taka", "--tools", "--", "/bin/true"},
		{"docker://taka", "--net", "--pid", "--", "true"},
	} {
		t.Run(strings.Join(args[1:], " "), func(t *testing.T) {
			cmd := command(args...)
			cmd.Env = append(cmd.Env, "CTR_ENTER_TEST_STOP=at-exec")
			// What the operator's shell leaked: an fd without
			// close-on-exec.
			cmd.ExtraFiles = []*os.File{secret}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			stopped := waitDescendant(t, "the stopped child", cmd.Process.Pid, func(p int) bool {
				st, _ := readStat(p)
				return st.state == 'T'
			})
			if nsInode(t, stopped, "pid") != nsInode(t, dockerPID(t, "taka"), "pid") {
				t.Fatalf("the stopped process is not in the target's pid namespace")
			}
			entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", stopped))
			if err != nil {
				t.Fatal(err)
			}
			var fds []string
			for _, e := range entries {
				link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", stopped, e.Name()))
				fds = append(fds, e.Name()+" "+link)
				if n, _ := strconv.Atoi(e.Name()); n > 2 && n != 4 && n != 6 {
					t.Errorf("fd %s -> %s is open in the visible process", e.Name(), link)
				}
				if strings.Contains(link, "shadow") {
					t.Errorf("the operator's leaked fd reached the target's pid namespace: %s -> %s", e.Name(), link)
				}
			}
			t.Logf("fds: %s", strings.Join(fds, ", "))
		})
	}
}

// inotifyOpens watches path (in a target's root, through /proc) and returns
// a function that says how many times it was opened since: O_PATH handles
// do not count, real opens do.
func inotifyOpens(t *testing.T, path string) func() int {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_OPEN|unix.IN_DONT_FOLLOW); err != nil {
		t.Fatalf("inotify %s: %v", path, err)
	}
	return func() int {
		buf := make([]byte, 4096)
		opens := 0
		for {
			n, err := unix.Read(fd, buf)
			if n <= 0 || err != nil {
				return opens
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				if ev.Mask&unix.IN_OPEN != 0 {
					opens++
				}
				off += unix.SizeofInotifyEvent + int(ev.Len)
			}
		}
	}
}

// TestPlantedNodesAreNotOpened: the target's /etc/passwd, /etc/group and
// /dev/pts/ptmx are opened only once they are known to be what they should
// be: a device node planted there (any default container can mknod) was
// opened from the host, once read-write.
func TestPlantedNodesAreNotOpened(t *testing.T) {
	name := hostileContainer(t, "e2e-evil-nodes", hostileBin(t))
	ref := "docker://" + name
	pid := dockerPID(t, name)
	// A harmless device (1:3 is /dev/null) where the files are.
	sh(t, "docker", "exec", name, "sh", "-c", "rm /etc/passwd /etc/group && mknod /etc/passwd c 1 3 && mknod /etc/group c 1 3")
	// A ptmx of the container's own making: another devpts is not
	// needed, a tmpfs over /dev/pts with a node in it will do.
	sh(t, "nsenter", "-t", strconv.Itoa(pid), "-m", "sh", "-c", "mount -t tmpfs tmpfs /dev/pts && mknod /dev/pts/ptmx c 1 3")
	root := fmt.Sprintf("/proc/%d/root", pid)
	passwd := inotifyOpens(t, root+"/etc/passwd")
	group := inotifyOpens(t, root+"/etc/group")
	ptmx := inotifyOpens(t, root+"/dev/pts/ptmx")

	oneLineError(t, run(t, ref, "-u", "nobody", "--", "true"), 125, "not a regular file")
	oneLineError(t, run(t, ref, "-u", "0:nogroup", "--", "true"), 125, "not a regular file")
	if r := run(t, ref, "-i"); r.code != 0 { // the login shell: looked up in passwd
		t.Errorf("shell: %v", r)
	}
	oneLineError(t, run(t, ref, "-t", "--", "true"), 125, "not a ptmx")
	if n := passwd(); n != 0 {
		t.Errorf("the planted /etc/passwd was opened %d times", n)
	}
	if n := group(); n != 0 {
		t.Errorf("the planted /etc/group was opened %d times", n)
	}
	if n := ptmx(); n != 0 {
		t.Errorf("the planted /dev/pts/ptmx was opened %d times", n)
	}
	// The watches do see an open (the nodes are /dev/null): the zeros
	// above are not for want of one.
	for path, opens := range map[string]func() int{"/etc/passwd": passwd, "/etc/group": group, "/dev/pts/ptmx": ptmx} {
		f, err := os.Open(root + path)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if n := opens(); n != 1 {
			t.Errorf("the watch on the planted %s saw %d opens of the test's one", path, n)
		}
	}
}

// TestUserNameMappedToRoot: -u gives no more than docker exec -u would in
// that container, whatever the target's passwd says a name means.
func TestUserNameMappedToRoot(t *testing.T) {
	name := hostileContainer(t, "e2e-evil-passwd", hostileBin(t))
	ref := "docker://" + name
	sh(t, "docker", "exec", name, "sh", "-c", "sed -i 's/^nobody:x:65534:65534:/nobody:x:0:0:/' /etc/passwd")
	target := privileges(t, dockerPID(t, name))
	for _, user := range []string{"nobody", "0", "root"} {
		r := run(t, ref, "-u", user, "--", "grep", "-E", "^Cap(Eff|Prm|Bnd)", "/proc/self/status")
		for _, k := range []string{"CapEff", "CapPrm", "CapBnd"} {
			if want := k + ":\t" + target["CapBnd:"]; r.code != 0 || !slices.Contains(strings.Split(r.stdout, "\n"), want) {
				t.Errorf("-u %s: want %q (the container's bounding set, as docker exec -u gives), got %v", user, want, r)
			}
		}
	}
}

// TestTargetCannotRewriteHostBinaries is CVE-2019-5736 as measured with
// nsenter: a target with CAP_SYS_PTRACE reopens /proc/PID/exe of whatever
// the host runs in its pid namespace, for writing. Both a host payload and
// ctr-enter itself (re-executed inside through /proc/self/exe) must be
// executed from views it cannot write.
func TestTargetCannotRewriteHostBinaries(t *testing.T) {
	startDocker(t, "e2e-ptrace", "--cap-add", "SYS_PTRACE", "--security-opt", "apparmor=unconfined",
		"ctr-enter-test/busybox", "sleep", "1000000")

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
	waitDescendant(t, "the inner ctr-enter's payload", inner.Process.Pid, func(p int) bool {
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		return strings.Contains(string(cl), "999") && strings.HasPrefix(string(cl), "/bin/sleep")
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
