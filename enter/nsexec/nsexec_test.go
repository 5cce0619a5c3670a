package nsexec

// The constructor on its own, as runc's libcontainer/nsenter tests it: this
// test binary links the constructor (it is package nsexec), so starting it
// again through a Plan runs the constructor in it, which executes the
// payload. The payload is this binary once more, as a helper (TestMain)
// that reports what it was given: argv, environment, working directory,
// open fds, credentials, namespaces. Everything that needs no privilege
// runs as any user; joining namespaces and changing ids run as root and say
// they skip otherwise.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/nskind"
)

// helperEnv selects what this binary does when it is not running tests:
// "report" (the payload) or "hold" (a process whose namespaces are joined).
const helperEnv = "NSEXEC_TEST_HELPER"

// helperExit is the payload's exit status: the constructor must hand it on.
const helperExit = 7

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "report":
		report()
	case "hold":
		hold()
	}
	os.Exit(m.Run())
}

// payloadReport is what the payload found itself running with.
type payloadReport struct {
	Args       []string
	Env        []string
	Cwd        string
	Fds        map[int]string // open fds, and what they are
	PID        int
	UID, GID   int
	Groups     []int
	NoNewPrivs int
	Seccomp    int
	CTTY       bool // a controlling terminal
	Hostname   string
	NS         map[string]string // /proc/self/ns links
	Files      map[string]string // reportFiles: content, or the error
	WriteRoot  string            // with writeRoot: the error creating a file at /, or ""
}

// reportFiles are files a test wants read in the payload's view.
const reportFiles = "NSEXEC_TEST_FILES"

// writeRoot asks the payload to try to create a file at its root.
const writeRoot = "NSEXEC_TEST_WRITE_ROOT=1"

func report() {
	r := payloadReport{Args: os.Args, Env: os.Environ(), PID: os.Getpid(), UID: os.Getuid(), GID: os.Getgid(),
		Fds: openFds(), NS: map[string]string{}, Files: map[string]string{}}
	r.Cwd, _ = os.Getwd()
	r.Groups, _ = os.Getgroups()
	r.NoNewPrivs, _ = unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	r.Seccomp, _ = unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	if fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0); err == nil {
		r.CTTY = true
		unix.Close(fd)
	}
	r.Hostname, _ = os.Hostname()
	for _, k := range nskind.Kinds {
		r.NS[k.Name], _ = os.Readlink("/proc/self/ns/" + k.Name)
	}
	for _, name := range filepath.SplitList(os.Getenv(reportFiles)) {
		b, err := os.ReadFile(name)
		if err != nil {
			r.Files[name] = "error: " + err.Error()
		} else {
			r.Files[name] = string(b)
		}
	}
	if slices.Contains(os.Environ(), writeRoot) {
		if f, err := os.Create("/nsexec-test-write"); err != nil {
			r.WriteRoot = err.Error()
		} else {
			f.Close()
			os.Remove(f.Name())
		}
	}
	json.NewEncoder(os.Stdout).Encode(r)
	os.Exit(helperExit)
}

// openFds lists the fds above stdio, with raw syscalls: Go's poller would
// add fds of its own.
func openFds() map[int]string {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return map[int]string{-1: err.Error()}
	}
	defer unix.Close(dir)
	fds := map[int]string{}
	buf := make([]byte, 4096)
	for {
		n, err := unix.ReadDirent(dir, buf)
		if err != nil {
			return map[int]string{-1: err.Error()}
		}
		if n == 0 {
			return fds
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			fd, _ := strconv.Atoi(name)
			if fd > 2 && fd != dir {
				fds[fd], _ = os.Readlink("/proc/self/fd/" + name)
			}
		}
	}
}

// hold is a process in namespaces of its own (the test starts it with
// them): it names its UTS namespace, says so, and waits for stdin to close.
func hold() {
	if err := unix.Sethostname([]byte("nsexec-holder")); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// run is one start of the constructor.
type run struct {
	status int    // 128+N for a signal
	report string // what the constructor wrote to the error pipe
	stdout string
	stderr string
	got    *payloadReport // the payload's report, if it ran
}

// how are the details of a start beyond the plan.
type how struct {
	raw     *string           // if set, replaces the plan in the environment
	stdin   *os.File          // the payload's stdin; nil: /dev/null
	started func(*os.Process) // called once the child runs
}

// start runs the constructor with pl and the payload's args and env. Self
// and ErrPipe are filled in here.
func start(t *testing.T, pl *Plan, args, env []string, h how) run {
	t.Helper()
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer errR.Close()
	pl.Self, pl.ErrPipe = self, errW
	cmd := pl.Command(args, env)
	if h.raw != nil {
		cmd.Env[len(cmd.Env)-1] = EnvVar + "=" + *h.raw
	}
	// As enter does: a session of its own.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if h.stdin != nil {
		cmd.Stdin = h.stdin
	}
	err = cmd.Start()
	errW.Close()
	if err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	if h.started != nil {
		h.started(cmd.Process)
	}
	rep, _ := io.ReadAll(errR)
	cmd.Wait()
	r := run{status: -1, report: string(rep), stdout: stdout.String(), stderr: stderr.String()}
	if cmd.ProcessState != nil { // nil: reaped by h.started
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if r.status = ws.ExitStatus(); ws.Signaled() {
			r.status = 128 + int(ws.Signal())
		}
	}
	if stdout.Len() > 0 {
		r.got = new(payloadReport)
		if err := json.Unmarshal(stdout.Bytes(), r.got); err != nil {
			t.Fatalf("payload's report %q: %v", stdout.String(), err)
		}
	}
	return r
}

// ran checks that the payload ran and exited on its own, and returns its
// report.
func (r run) ran(t *testing.T) *payloadReport {
	t.Helper()
	if r.report != "" || r.status != helperExit || r.got == nil {
		t.Fatalf("payload did not run: status %d, report %q, stdout %q, stderr %q", r.status, r.report, r.stdout, r.stderr)
	}
	return r.got
}

// refused checks that the constructor failed with code, errno and what
// before running anything.
func (r run) refused(t *testing.T, code int, errno syscall.Errno, what string) {
	t.Helper()
	if want := fmt.Sprintf("%d %d %s", code, int(errno), what); r.report != want || r.status != code || r.stdout != "" {
		t.Errorf("got status %d, report %q, stdout %q; want status %d, report %q, no output", r.status, r.report, r.stdout, code, want)
	}
}

// payloadFile is this binary, for execveat: what Plan.Payload holds.
func payloadFile(t *testing.T) *os.File {
	t.Helper()
	fd, err := unix.Open("/proc/self/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "payload")
	t.Cleanup(func() { f.Close() })
	return f
}

// ownPidfd is a pidfd of this process: something to put in the pidfd slot
// when no namespace is joined.
func ownPidfd(t *testing.T) *os.File {
	t.Helper()
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		t.Skipf("pidfd_open: %v", err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	t.Cleanup(func() { f.Close() })
	return f
}

// helperEnviron is the payload's environment. Without cgroup-aware
// GOMAXPROCS: the payload's own Go runtime would otherwise keep cgroupfs
// files open, among the fds it reports.
func helperEnviron(extra ...string) []string {
	return append([]string{helperEnv + "=report", "PATH=/nonexistent", goDebug}, extra...)
}

const goDebug = "GODEBUG=containermaxprocs=0"

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (joins namespaces, changes ids or mounts); run as root to test this part")
	}
}

// The Go side writes the fields nsexec.h lists, in its order: the
// constructor refuses a plan that differs (TestConstructorRefusesBadPlans).
func TestPlanKeys(t *testing.T) {
	var keys []string
	for _, f := range (&Plan{}).fields() {
		keys = append(keys, f.key)
	}
	keys = append(keys, "host", "cwd")
	if want := strings.Fields(planKeys); !slices.Equal(keys, want) {
		t.Errorf("plan.go writes %q, nsexec.h lists %q", keys, want)
	}
}

func TestPlanString(t *testing.T) {
	p := &Plan{Namespaces: nskind.Net | nskind.PID, IDs: &IDs{UID: 0, GID: 5}, OwnRoot: true, Stop: true, Cwd: "/a dir/x",
		Payload: os.Stdin, Tools: os.Stdin}
	want := fmt.Sprintf("ns=%d exec=1 own=1 tty=0 uid=0 gid=5 ppid=%d confine=0 tools=1 stop=1 root=0 host= cwd=/a dir/x", unix.CLONE_NEWNET|unix.CLONE_NEWPID, os.Getpid())
	if got := p.String(); got != want {
		t.Errorf("plan = %q, want %q", got, want)
	}
	p = &Plan{TTY: true, Confinement: os.Stdin}
	want = fmt.Sprintf("ns=0 exec=0 own=0 tty=1 uid=-1 gid=-1 ppid=%d confine=1 tools=0 stop=0 root=0 host= cwd=", os.Getpid())
	if got := p.String(); got != want {
		t.Errorf("plan = %q, want %q", got, want)
	}
	// Detached: no parent to die with.
	p = &Plan{Detach: true}
	want = "ns=0 exec=0 own=0 tty=0 uid=-1 gid=-1 ppid=0 confine=0 tools=0 stop=0 root=0 host= cwd="
	if got := p.String(); got != want {
		t.Errorf("plan = %q, want %q", got, want)
	}
}

// Each fd lands in its slot, the cgroup files after the last, and the child
// executes the one in the self slot.
func TestPlanSlots(t *testing.T) {
	files := make([]*os.File, 10)
	for i := range files {
		files[i] = os.NewFile(uintptr(100+i), fmt.Sprint(i))
	}
	p := &Plan{Pidfd: files[0], ErrPipe: files[1], Self: files[2], Payload: files[3], Confinement: files[4], Tools: files[5],
		Launchers: files[6], Root: files[7], Cgroups: files[8:]}
	cmd := p.Command([]string{"x"}, []string{"A=1"})
	want := map[int]*os.File{fdPidfd: files[0], fdErr: files[1], fdSelf: files[2], fdPayload: files[3], fdConfine: files[4],
		fdTools: files[5], fdLaunchers: files[6], fdRoot: files[7], fdCgroups: files[8], fdCgroups + 1: files[9]}
	if len(cmd.ExtraFiles) != len(want) {
		t.Fatalf("%d extra files, want %d", len(cmd.ExtraFiles), len(want))
	}
	for fd, f := range want {
		if got := cmd.ExtraFiles[fd-3]; got != f {
			t.Errorf("fd %d holds %v, want %v", fd, got, f)
		}
	}
	if cmd.Path != fmt.Sprintf("/proc/self/fd/%d", fdSelf) {
		t.Errorf("executes %s", cmd.Path)
	}
	if !slices.Equal(cmd.Args, []string{"x"}) || len(cmd.Env) != 2 || cmd.Env[0] != "A=1" || cmd.Env[1] != EnvVar+"="+p.String() {
		t.Errorf("args %q, env %q", cmd.Args, cmd.Env)
	}
	// Empty slots are nil: the child has them closed.
	cmd = (&Plan{}).Command(nil, nil)
	if len(cmd.ExtraFiles) != fdCgroups-3 || slices.ContainsFunc(cmd.ExtraFiles, func(f *os.File) bool { return f != nil }) {
		t.Errorf("an empty plan passes %v", cmd.ExtraFiles)
	}
}

// The payload gets its argv, the environment minus the plan, the working
// directory, its exit status through, and no fd but stdio.
func TestConstructorExecutesPayload(t *testing.T) {
	dir := t.TempDir()
	// Files in the cgroup slots; without a confinement they are not
	// planned, and must be closed.
	stray, err := os.Create(filepath.Join(dir, "stray"))
	if err != nil {
		t.Fatal(err)
	}
	defer stray.Close()
	pl := &Plan{Pidfd: ownPidfd(t), Payload: payloadFile(t), Cwd: dir, Cgroups: []*os.File{stray}}
	r := start(t, pl, []string{"payload", "an arg"}, helperEnviron("A=with space"), how{})
	got := r.ran(t)
	if !slices.Equal(got.Args, []string{"payload", "an arg"}) {
		t.Errorf("argv %q", got.Args)
	}
	if want := helperEnviron("A=with space"); !slices.Equal(got.Env, want) {
		t.Errorf("environment %q, want %q (the plan removed)", got.Env, want)
	}
	if got.Cwd != dir {
		t.Errorf("cwd %q, want %q", got.Cwd, dir)
	}
	if len(got.Fds) != 0 {
		t.Errorf("the payload holds fds beyond stdio: %v", got.Fds)
	}
	if got.CTTY {
		t.Error("the payload has a controlling terminal without TTY")
	}

	// Without a cwd, the current one stays.
	here, _ := os.Getwd()
	pl = &Plan{Payload: payloadFile(t)}
	if got := start(t, pl, []string{"payload"}, helperEnviron(), how{}).ran(t); got.Cwd != here {
		t.Errorf("cwd %q, want %q", got.Cwd, here)
	}
}

// Without a payload fd, the command is looked up on the payload's PATH,
// and the constructor reports what execvp said.
func TestConstructorLooksUpCommand(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(dir, "nsexec-payload")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "not-executable"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{helperEnv + "=report", "PATH=/nonexistent:" + dir, goDebug}
	got := start(t, &Plan{}, []string{"nsexec-payload", "x"}, env, how{}).ran(t)
	if !slices.Equal(got.Args, []string{"nsexec-payload", "x"}) {
		t.Errorf("argv %q", got.Args)
	}
	start(t, &Plan{}, []string{"ctr-enter-no-such-command"}, env, how{}).refused(t, ExitNotFound, unix.ENOENT, "execute")
	start(t, &Plan{}, []string{"not-executable"}, env, how{}).refused(t, ExitCannotExec, unix.EACCES, "execute")
}

func TestConstructorRefusesBadCwd(t *testing.T) {
	pl := &Plan{Payload: payloadFile(t), Cwd: filepath.Join(t.TempDir(), "nonexistent")}
	start(t, pl, []string{"payload"}, helperEnviron(), how{}).refused(t, ExitTool, unix.ENOENT, "change to the working directory")
}

// A plan that lacks a field, has one more, or has them out of order is
// refused with a report, whichever side dropped it: nothing runs on a plan
// half understood.
func TestConstructorRefusesBadPlans(t *testing.T) {
	pl := &Plan{Payload: payloadFile(t), Cwd: "/"}
	good := pl.String()
	// The control: the plan as written runs.
	start(t, pl, []string{"payload"}, helperEnviron(), how{raw: &good}).ran(t)

	words := strings.Split(good, " ")
	bad := map[string]string{
		"empty":           "",
		"no cwd":          strings.Join(words[:len(words)-1], " "),
		"a field more":    strings.Join(slices.Insert(slices.Clone(words), len(words)-1, "extra=1"), " "),
		"not a number":    strings.Replace(good, "ns=0", "ns=x", 1),
		"a number more":   strings.Replace(good, "ns=0", "ns=0 1", 1),
		"out of range":    strings.Replace(good, "ns=0", "ns=99999999999", 1),
		"two spaces":      strings.Replace(good, "ns=0 ", "ns=0  ", 1),
		"fields swapped":  strings.Join(append([]string{words[1], words[0]}, words[2:]...), " "),
		"no value":        strings.Replace(good, "ns=0", "ns=", 1),
		"another version": "pidfd=3 ns=0 err=4 exec=6 own=0 tty=0 uid=-1 gid=-1 ppid=1 confine=-1 cgfd=9 tools=-1 stop=0 cwd=/",
	}
	for i, w := range words[:len(words)-1] {
		key, _, _ := strings.Cut(w, "=")
		bad["without "+key] = strings.Join(slices.Delete(slices.Clone(words), i, i+1), " ")
	}
	for name, raw := range bad {
		t.Run(name, func(t *testing.T) {
			start(t, pl, []string{"payload"}, helperEnviron(), how{raw: &raw}).refused(t, ExitTool, unix.EINVAL, "read the plan")
		})
	}
}

// The constructor dies with its parent, and refuses to run for another.
func TestConstructorChecksParent(t *testing.T) {
	pl := &Plan{Payload: payloadFile(t)}
	raw := strings.Replace(pl.String(), fmt.Sprintf("ppid=%d ", os.Getpid()), "ppid=1 ", 1)
	r := start(t, pl, []string{"payload"}, helperEnviron(), how{raw: &raw})
	if r.status != ExitTool || r.stdout != "" {
		t.Errorf("for another parent: status %d, stdout %q", r.status, r.stdout)
	}
}

// A detached constructor (ppid 0) runs the payload although 0 is not its
// parent: it neither dies with its parent nor checks it.
func TestConstructorDetached(t *testing.T) {
	pl := &Plan{Payload: payloadFile(t), Detach: true}
	start(t, pl, []string{"payload"}, helperEnviron(), how{}).ran(t)
}

// With TTY, stdin (a pty) becomes the payload's controlling terminal.
func TestConstructorTakesTerminal(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.IoctlRetInt(int(ptmx.Fd()), unix.TIOCGPTPEER)
	if err != nil {
		t.Skipf("TIOCGPTPEER: %v", err)
	}
	pts := os.NewFile(uintptr(fd), "pts")
	defer pts.Close()
	pl := &Plan{Payload: payloadFile(t), TTY: true}
	got := start(t, pl, []string{"payload"}, helperEnviron(), how{stdin: pts}).ran(t)
	if !got.CTTY {
		t.Error("the payload has no controlling terminal with TTY")
	}
}

// Stop stops the child just before it executes the payload.
func TestConstructorStops(t *testing.T) {
	pl := &Plan{Payload: payloadFile(t), Stop: true}
	var ws unix.WaitStatus
	var waitErr error
	r := start(t, pl, []string{"payload"}, helperEnviron(), how{started: func(p *os.Process) {
		// A stop is reported without reaping: exec.Cmd still waits.
		// (An exit is reaped here: the test fails either way.)
		_, waitErr = unix.Wait4(p.Pid, &ws, unix.WUNTRACED, nil)
		p.Kill()
	}})
	if waitErr != nil || !ws.Stopped() || ws.StopSignal() != unix.SIGSTOP {
		t.Errorf("wait: %v, status %#x: not stopped by SIGSTOP", waitErr, ws)
	}
	if r.stdout != "" || r.status != 128+int(unix.SIGKILL) {
		t.Errorf("the payload ran (%q) or the child did not die of SIGKILL (%d)", r.stdout, r.status)
	}
}

// confinementFor lays a confinement out as nsexec.h says (enter's
// confinement.encode writes it for real): ids, no_new_privs, filters,
// cgroups, capabilities.
func confinementFor(t *testing.T, uid, gid int, groups []int, filters [][]unix.SockFilter, ncgroups int, caps [NCaps]uint64) *os.File {
	t.Helper()
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.NativeEndian, v) }
	words := [ConfineWords]int32{int32(uid), int32(gid), int32(len(groups)), 1, int32(len(filters)), int32(ncgroups)}
	w(words)
	w(caps)
	for _, g := range groups {
		w(int32(g))
	}
	for _, f := range filters {
		w(int32(len(f)))
		w(f)
	}
	fd, err := unix.MemfdCreate("confine", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "confine")
	t.Cleanup(func() { f.Close() })
	if _, err := f.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	return f
}

// ownCaps are this process's capability sets, in the confinement's order:
// a confinement that keeps them needs no privilege to take on.
func ownCaps(t *testing.T) [NCaps]uint64 {
	t.Helper()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		t.Fatal(err)
	}
	var caps [NCaps]uint64
	for i, d := range data {
		caps[CapInheritable] |= uint64(d.Inheritable) << (32 * i)
		caps[CapPermitted] |= uint64(d.Permitted) << (32 * i)
		caps[CapEffective] |= uint64(d.Effective) << (32 * i)
	}
	caps[CapBounding] = ^uint64(0) // nothing to drop
	return caps
}

// The confinement is read from its slot, its cgroup files written from
// theirs, and taken on: no_new_privs and a seccomp filter need no
// privilege.
func TestConstructorConfines(t *testing.T) {
	dir := t.TempDir()
	var cgroups []*os.File
	for i := range 2 {
		f, err := os.Create(filepath.Join(dir, fmt.Sprint("cgroup.procs", i)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cgroups = append(cgroups, f)
	}
	allow := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
	groups, _ := os.Getgroups()
	if os.Geteuid() != 0 {
		groups = nil // setgroups needs privilege; none is tolerated
	}
	conf := confinementFor(t, os.Getuid(), os.Getgid(), groups, [][]unix.SockFilter{allow}, len(cgroups), ownCaps(t))
	pl := &Plan{Payload: payloadFile(t), Confinement: conf, Cgroups: cgroups}
	got := start(t, pl, []string{"payload"}, helperEnviron(), how{}).ran(t)
	if got.NoNewPrivs != 1 || got.Seccomp != 2 {
		t.Errorf("no_new_privs %d, seccomp mode %d; want 1 and 2 (filter)", got.NoNewPrivs, got.Seccomp)
	}
	if len(got.Fds) != 0 {
		t.Errorf("the payload holds fds beyond stdio: %v", got.Fds)
	}
	for i := range cgroups {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprint("cgroup.procs", i)))
		if err != nil || string(b) != "0" {
			t.Errorf("cgroup file %d holds %q (%v), want the constructor's 0", i, b, err)
		}
	}

	t.Run("ids", func(t *testing.T) {
		requireRoot(t)
		conf := confinementFor(t, 65534, 65533, []int{65533, 100}, nil, 0, [NCaps]uint64{CapBounding: ^uint64(0)})
		pl := &Plan{Payload: payloadFile(t), Confinement: conf}
		got := start(t, pl, []string{"payload"}, helperEnviron(), how{}).ran(t)
		slices.Sort(got.Groups)
		if got.UID != 65534 || got.GID != 65533 || !slices.Equal(got.Groups, []int{100, 65533}) {
			t.Errorf("uid %d gid %d groups %v; want 65534 65533 [100 65533]", got.UID, got.GID, got.Groups)
		}
	})
}

// IDs are taken on after joining.
func TestConstructorTakesIDs(t *testing.T) {
	requireRoot(t)
	pl := &Plan{Payload: payloadFile(t), IDs: &IDs{UID: 65534, GID: 65533}}
	got := start(t, pl, []string{"payload"}, helperEnviron(), how{}).ran(t)
	if got.UID != 65534 || got.GID != 65533 || len(got.Groups) != 0 {
		t.Errorf("uid %d gid %d groups %v; want 65534 65533 none", got.UID, got.GID, got.Groups)
	}
}

// holder starts a process in new namespaces of the given kinds and returns
// a pidfd of it and its /proc/PID/ns links.
func holder(t *testing.T, attr *syscall.SysProcAttr) (*os.File, map[string]string) {
	t.Helper()
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = []string{helperEnv + "=hold"}
	cmd.SysProcAttr = attr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("start a process in new namespaces: %v", err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("holder: %q %v", line, err)
	}
	fd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	pidfd := os.NewFile(uintptr(fd), "pidfd")
	t.Cleanup(func() { pidfd.Close() })
	ns := map[string]string{}
	for _, k := range nskind.Kinds {
		ns[k.Name], _ = os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", cmd.Process.Pid, k.Name))
	}
	return pidfd, ns
}

// The namespaces are joined through the pidfd; a pid namespace by a fork,
// whose status comes back through the process left outside.
func TestConstructorJoins(t *testing.T) {
	requireRoot(t)
	pidfd, ns := holder(t, &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC})
	pl := &Plan{Pidfd: pidfd, Payload: payloadFile(t), Namespaces: nskind.UTS | nskind.PID | nskind.IPC}
	got := start(t, pl, []string{"payload"}, helperEnviron(), how{}).ran(t)
	if got.Hostname != "nsexec-holder" {
		t.Errorf("hostname %q: not the holder's UTS namespace", got.Hostname)
	}
	for _, kind := range []string{"uts", "pid", "ipc"} {
		if got.NS[kind] != ns[kind] {
			t.Errorf("%s namespace %s, the holder's %s", kind, got.NS[kind], ns[kind])
		}
	}
	// The holder is 1 there; the payload is one of the first after it.
	if got.PID <= 1 || got.PID > 10 {
		t.Errorf("pid %d: not in the holder's pid namespace", got.PID)
	}
	if len(got.Fds) != 0 {
		t.Errorf("the payload holds fds beyond stdio: %v", got.Fds)
	}
}

// A user namespace needs a single-threaded process to join: the reason the
// constructor exists. Its root is what holds the capabilities there.
func TestConstructorJoinsUserNamespace(t *testing.T) {
	requireRoot(t)
	ids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	// The holder becomes the namespace's root (host uid 100000), as a
	// container's processes are.
	pidfd, ns := holder(t, &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWUTS, UidMappings: ids, GidMappings: ids,
		Credential: &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}})
	pl := &Plan{Pidfd: pidfd, Payload: payloadFile(t), Namespaces: nskind.User | nskind.UTS, IDs: &IDs{UID: 0, GID: 0}}
	got := start(t, pl, []string{"payload"}, helperEnviron(), how{}).ran(t)
	if got.NS["user"] != ns["user"] || got.Hostname != "nsexec-holder" {
		t.Errorf("user namespace %s (holder's %s), hostname %q", got.NS["user"], ns["user"], got.Hostname)
	}
	if got.UID != 0 || got.GID != 0 {
		t.Errorf("uid %d gid %d in the user namespace, want its root", got.UID, got.GID)
	}
}

// detachedTmpfs is a detached tmpfs holding a file "marker" (as the tools
// a session gets) and the directories names.
func detachedTmpfs(t *testing.T, names ...string) *os.File {
	t.Helper()
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		t.Skipf("fsopen: %v", err)
	}
	defer unix.Close(fs)
	if err := unix.FsconfigCreate(fs); err != nil {
		t.Fatal(err)
	}
	mnt, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(mnt), "tools")
	t.Cleanup(func() { f.Close() })
	marker, err := unix.Openat(mnt, "marker", unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(marker, []byte("tools"))
	unix.Close(marker)
	for _, name := range names {
		if err := unix.Mkdirat(mnt, name, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// The tools appear at ToolsDir/ToolsRoot, under their launchers' view at
// ToolsDir, in a read-only root of the session's own that shows the (here:
// the host's) root's entries.
func TestConstructorMountsTools(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	hosts := filepath.Join(dir, "host's")
	if err := os.WriteFile(hosts, []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	pl := &Plan{Payload: payloadFile(t), Tools: detachedTmpfs(t), Launchers: detachedTmpfs(t, ToolsRoot), Cwd: dir}
	marker := "/" + ToolsDir + "/" + ToolsRoot + "/marker"
	launchers := "/" + ToolsDir + "/marker"
	env := helperEnviron(reportFiles+"="+marker+":"+launchers+":"+hosts, writeRoot)
	got := start(t, pl, []string{"payload"}, env, how{}).ran(t)
	if m, l := got.Files[marker], got.Files[launchers]; m != "tools" || l != "tools" {
		t.Errorf("tools' marker: %q, launchers' %q", m, l)
	}
	if got.Cwd != dir || got.Files[hosts] != "host" {
		t.Errorf("cwd %q, a file of the root's %q: the root's entries should be there", got.Cwd, got.Files[hosts])
	}
	if !strings.Contains(got.WriteRoot, "read-only file system") {
		t.Errorf("creating a file at the session's root: %q, want EROFS", got.WriteRoot)
	}
	if _, err := os.Stat("/" + ToolsDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the session's mounts reached the host: %v", err)
	}
}

// A hostname goes in the plan as a word: nothing that could end it early
// or name another field.
func TestValidHostname(t *testing.T) {
	for name, want := range map[string]bool{
		"brokenhost": true, "a.b-c_d": true, "": false, "a b": false, "a\nb": false, "cwd=/": false,
		"x234567890123456789012345678901234567890123456789012345678901234":  true,
		"x2345678901234567890123456789012345678901234567890123456789012345": false,
	} {
		if got := ValidHostname(name); got != want {
			t.Errorf("ValidHostname(%q) = %v, want %v", name, got, want)
		}
	}
}
