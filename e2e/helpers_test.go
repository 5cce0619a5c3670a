//go:build e2e

package e2e

// The helpers that tests of every theme use: running the binary (plainly
// and under a terminal), the runtimes the same cases run against, the
// PIDs of containers and sessions, what the tests read of /proc, and the
// checks that nothing was left behind. What one theme alone needs (the
// inspect document, the hostile helper binary, the cgroups an impostor
// makes) stays beside its tests.

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ---- Running the binary

// bin is the binary under test, set by TestMain.
var bin string

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

// runCmd runs cmd, a command, and waits, bounded.
func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	return startRun(t, cmd).wait(t)
}

// running is a run of the binary under way, its output captured.
type running struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
}

// startRun starts cmd with its output captured; wait ends the run.
func startRun(t *testing.T, cmd *exec.Cmd) *running {
	t.Helper()
	r := &running{cmd: cmd}
	cmd.Stdout, cmd.Stderr = &r.stdout, &r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	return r
}

// wait waits for the run to end, for 60s at the most.
func (r *running) wait(t *testing.T) result {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		r.cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not finish in 60s", r.cmd.Args)
	}
	return result{r.stdout.String(), r.stderr.String(), r.cmd.ProcessState.ExitCode()}
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

// ambiguous checks a refusal of an ambiguous target: one line with
// contains, that lists each candidate.
func ambiguous(t *testing.T, r result, contains string, candidates ...string) {
	t.Helper()
	oneLineError(t, r, 125, contains)
	for _, c := range candidates {
		if !strings.Contains(r.stderr, c) {
			t.Errorf("candidate %s not listed:\n%v", c, r)
		}
	}
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

func digest(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// ---- Under a terminal

// operator is a terminal driven by the test: ctr-enter runs on the slave
// side of a real pty, as under an operator's terminal emulator.
type operator struct {
	t      *testing.T
	cmd    *exec.Cmd
	master *os.File
	slave  *os.File
	before *unix.Termios

	mu        sync.Mutex
	out       bytes.Buffer
	discard   bool  // count the output instead of keeping it
	discarded int64 // bytes counted
	eof       chan struct{}
}

func startOperator(t *testing.T, args ...string) *operator {
	t.Helper()
	return startOperatorCmd(t, command(args...), false)
}

func startOperatorCmd(t *testing.T, cmd *exec.Cmd, discard bool) *operator {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: 30, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	o := &operator{t: t, cmd: cmd, master: master, slave: slave, before: before, discard: discard, eof: make(chan struct{})}
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, err := master.Read(buf)
			o.mu.Lock()
			if o.discard {
				o.discarded += int64(n)
			} else {
				o.out.Write(buf[:n])
			}
			o.mu.Unlock()
			if err != nil {
				close(o.eof)
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		master.Close()
		slave.Close()
	})
	return o
}

func (o *operator) send(s string) {
	o.t.Helper()
	if _, err := o.master.Write([]byte(s)); err != nil {
		o.t.Fatal(err)
	}
}

// expect waits for re to match the output after the given mark, and
// returns the end of the match as the next mark.
func (o *operator) expect(mark int, re string) int {
	o.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		o.mu.Lock()
		out := o.out.String()
		o.mu.Unlock()
		if loc := rx.FindStringIndex(out[mark:]); loc != nil {
			return mark + loc[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.t.Fatalf("no %q in the output:\n%q", re, o.out.String()[mark:])
	return 0
}

func (o *operator) output() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.out.String()
}

// wait waits for ctr-enter to exit and checks the operator's terminal is as
// it was before.
func (o *operator) wait() int {
	o.t.Helper()
	done := make(chan struct{})
	go func() { o.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		o.t.Fatal("ctr-enter did not exit")
	}
	after, err := unix.IoctlGetTermios(int(o.slave.Fd()), unix.TCGETS)
	if err != nil {
		o.t.Fatal(err)
	}
	if !reflect.DeepEqual(after, o.before) {
		o.t.Errorf("the operator's terminal was not restored:\nbefore %+v\nafter  %+v", o.before, after)
	}
	return o.cmd.ProcessState.ExitCode()
}

// ---- Runtimes: the same cases against containerd and Docker

// containerd2Sock is where e2e/env.sh runs containerd 2.x, beside 1.6.
const containerd2Sock = "/run/ctr-enter-e2e/containerd2.sock"

// ctr2 is containerd 2.x's own ctr, as e2e/env.sh builds it.
func ctr2() []string {
	state := os.Getenv("CTR_ENTER_E2E_STATE")
	if state == "" {
		state = "/var/tmp/ctr-enter-e2e"
	}
	return []string{state + "/containerd2/bin/ctr", "--address", containerd2Sock}
}

// containerRuntime is one runtime that tests run the same cases against:
// its taka, the global flags that pick its daemon, and its ctr.
type containerRuntime struct {
	name  string
	taka  string
	flags []string
	ctr   []string // nil for Docker
}

var (
	dockerRuntime      = containerRuntime{name: "docker", taka: "docker://taka"}
	containerdRuntime  = containerRuntime{name: "containerd", taka: "containerd://e2e/taka", ctr: []string{"ctr"}}
	containerd2Runtime = containerRuntime{name: "containerd2", taka: "containerd://e2e/taka", flags: []string{"--containerd-address", containerd2Sock}, ctr: ctr2()}

	// defaultRuntimes are the ones ctr-enter finds without flags.
	defaultRuntimes = []containerRuntime{dockerRuntime, containerdRuntime}
	// allRuntimes add containerd 2.x, picked by flag.
	allRuntimes = []containerRuntime{dockerRuntime, containerdRuntime, containerd2Runtime}

	// The two takas: the same name in containerd and in Docker.
	takas = []string{containerdRuntime.taka, dockerRuntime.taka}
	// The two noshells: one static binary, a read-only root, nothing else.
	noshells = []string{"docker://noshell", "containerd://e2e/noshell"}
)

// forEachRuntime runs f, one case, as a subtest per runtime of rts,
// named after it.
func forEachRuntime(t *testing.T, rts []containerRuntime, f func(t *testing.T, rt containerRuntime)) {
	t.Helper()
	for _, rt := range rts {
		t.Run(rt.name, func(t *testing.T) { f(t, rt) })
	}
}

// forEachRef runs f, one case, as a subtest per ref, named after it.
func forEachRef(t *testing.T, refs []string, f func(t *testing.T, ref string)) {
	t.Helper()
	for _, ref := range refs {
		t.Run(ref, func(t *testing.T) { f(t, ref) })
	}
}

// args are ctr-enter's arguments for this runtime.
func (r containerRuntime) args(a ...string) []string {
	return append(append([]string{}, r.flags...), a...)
}

// ref is the explicit form of a container of this runtime named name.
func (r containerRuntime) ref(name string) string {
	if r.ctr == nil {
		return "docker://" + name
	}
	return "containerd://e2e/" + name
}

// pid is the host PID of the container name.
func (r containerRuntime) pid(t *testing.T, name string) int {
	t.Helper()
	if r.ctr == nil {
		return dockerPID(t, name)
	}
	return taskPID(t, r.ctr, "e2e", name)
}

// run runs ctr with args on this runtime's containerd, or docker.
func (r containerRuntime) run(t *testing.T, args ...string) string {
	t.Helper()
	if r.ctr == nil {
		return sh(t, "docker", args...)
	}
	return sh(t, r.ctr[0], append(append([]string{}, r.ctr[1:]...), args...)...)
}

// container is one that a test started.
type container struct {
	name, id string
	pid      int // on the host
}

// start runs a busybox container named name (in containerd's namespace
// e2e) that sleeps, removed when the test ends.
func (r containerRuntime) start(t *testing.T, name string) container {
	t.Helper()
	if r.ctr == nil {
		id := startDocker(t, name, "ctr-enter-test/busybox", "sleep", "1000000")
		return container{name, id, dockerPID(t, id)}
	}
	r.run(t, "-n", "e2e", "run", "-d", "docker.io/ctr-enter-test/busybox:latest", name, "sleep", "1000000")
	t.Cleanup(func() { r.remove(t, name) })
	return container{name, name, r.pid(t, name)}
}

// kill kills the container's process, and leaves the container.
func (r containerRuntime) kill(t *testing.T, name string) {
	t.Helper()
	if r.ctr == nil {
		r.run(t, "kill", name)
		return
	}
	r.run(t, "-n", "e2e", "task", "kill", "-s", "KILL", name)
}

// remove removes the container (by name, or a Docker ID), running or
// not, and its task.
func (r containerRuntime) remove(t *testing.T, name string) {
	t.Helper()
	if r.ctr == nil {
		// docker rm -f of a container that is gone succeeds: a failure
		// is one that is left.
		if out, err := exec.Command("docker", "rm", "-f", name).CombinedOutput(); err != nil {
			t.Errorf("docker rm -f %s: %v\n%s", name, err, out)
		}
		return
	}
	ctr := func(args ...string) *exec.Cmd {
		return exec.Command(r.ctr[0], append(append(append([]string{}, r.ctr[1:]...), "-n", "e2e"), args...)...)
	}
	ctr("task", "kill", "-s", "SIGKILL", name).Run()
	// The task can be deleted only once the shim has seen it exit.
	waitFor(t, name+" to stop", func() bool {
		out, err := ctr("task", "rm", name).CombinedOutput()
		return err == nil || strings.Contains(string(out), "not found")
	})
	ctr("container", "rm", name).Run()
}

// startDocker runs docker run -d --name NAME ARGS (the image and its
// command last), removes the container when the test ends, and returns
// its ID. One of that name that an interrupted run left is removed first.
// Both by exact name or ID: Docker takes a word that names no container
// for an ID prefix, and a test may name a container after another's.
func startDocker(t *testing.T, name string, args ...string) string {
	t.Helper()
	if left := sh(t, "docker", "ps", "-aq", "--no-trunc", "--filter", "name=^/"+regexp.QuoteMeta(name)+"$"); left != "" {
		sh(t, "docker", append([]string{"rm", "-f"}, strings.Fields(left)...)...)
	}
	sh(t, "docker", append([]string{"run", "-d", "--name", name}, args...)...)
	id := sh(t, "docker", "inspect", "-f", "{{.Id}}", name)
	t.Cleanup(func() { dockerRuntime.remove(t, id) })
	return id
}

// noMkdirProfile writes a seccomp profile for docker run that allows
// every system call but mkdir, and returns its path.
func noMkdirProfile(t *testing.T) string {
	t.Helper()
	profile := filepath.Join(t.TempDir(), "no-mkdir.json")
	if err := os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return profile
}

// ---- PIDs

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

// taskPID is the PID of a running containerd task, through the ctr given.
func taskPID(t *testing.T, ctr []string, ns, id string) int {
	t.Helper()
	out := sh(t, ctr[0], append(append([]string{}, ctr[1:]...), "-n", ns, "task", "ls")...)
	for _, line := range strings.Split(out, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == id && f[2] == "RUNNING" {
			pid, _ := strconv.Atoi(f[1])
			return pid
		}
	}
	t.Fatalf("containerd task %s/%s is not running (%v)", ns, id, ctr)
	return 0
}

// targetPID is the host PID of a container of containerd 1.6 or Docker,
// named in its explicit form.
func targetPID(t *testing.T, ref string) int {
	t.Helper()
	if name, ok := strings.CutPrefix(ref, "docker://"); ok {
		return dockerPID(t, name)
	}
	if nsID, ok := strings.CutPrefix(ref, "containerd://"); ok {
		if ns, id, ok := strings.Cut(nsID, "/"); ok {
			return containerdPID(t, ns, id)
		}
	}
	t.Fatalf("%s is not an explicit reference", ref)
	return 0
}

// descendants returns the PIDs of every live descendant of pid.
func descendants(pid int) []int {
	children := map[int][]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		self, _ := strconv.Atoi(filepath.Base(d))
		if st, ok := readStat(self); ok && st.state != 'Z' {
			children[st.ppid] = append(children[st.ppid], self)
		}
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
	return waitDescendant(t, "the payload", cmd.Process.Pid, func(p int) bool {
		st, _ := readStat(p)
		return st.comm == "sleep"
	})
}

// waitDescendant waits for a descendant of pid that is what is looked
// for, and returns its PID.
func waitDescendant(t *testing.T, what string, pid int, is func(p int) bool) int {
	t.Helper()
	var found int
	waitFor(t, what, func() bool {
		for _, p := range descendants(pid) {
			if is(p) {
				found = p
				return true
			}
		}
		return false
	})
	return found
}

// waitStopped waits for ctr-enter, started with CTR_ENTER_TEST_STOP, to
// stop itself.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	waitFor(t, "ctr-enter to stop itself", func() bool {
		st, ok := readStat(pid)
		return ok && st.state == 'T'
	})
}

// recyclePID starts a process that gets exactly pid, through ns_last_pid.
func recyclePID(t *testing.T, pid int) *exec.Cmd {
	t.Helper()
	return recyclePIDWith(t, pid, func() *exec.Cmd { return exec.Command("sleep", "1000") })
}

// recyclePIDInto starts a process that gets exactly pid (through
// ns_last_pid), moves itself into the cgroups dirs, and then executes sleep
// in the mount, UTS, IPC and network namespaces of nsPID: a process of that
// container as far as anything but its pid namespace can tell.
func recyclePIDInto(t *testing.T, pid int, dirs []string, nsPID int) *exec.Cmd {
	t.Helper()
	script := `for d in "$@"; do echo $$ > "$d/cgroup.procs" || exit 1; done; exec nsenter -t ` + strconv.Itoa(nsPID) + ` -m -u -i -n sleep 1000000`
	return recyclePIDWith(t, pid, func() *exec.Cmd {
		c := exec.Command("sh", append([]string{"-c", script, "sh"}, dirs...)...)
		c.Stderr = os.Stderr
		return c
	})
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
				st, _ := readStat(pid)
				return st.comm == "sleep" && st.state == 'S'
			})
			return c
		}
		c.Process.Kill()
		c.Wait()
	}
	t.Fatalf("could not recycle PID %d", pid)
	return nil
}

// ---- What the tests read of /proc

// procStat is what the tests read of /proc/PID/stat.
type procStat struct {
	comm  string
	state byte
	ppid  int
}

// readStat reads /proc/PID/stat; false if there is no such process. The
// command name may hold spaces and parentheses: the fields are those after
// its last ')'.
func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, false
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return procStat{}, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procStat{}, false
	}
	return procStat{comm: s[open+1 : end], state: f[0][0], ppid: ppid}, true
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

// procStatus is /proc/PID/status, each line's fields by its key ("Uid:").
func procStatus(t *testing.T, pid int) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	return m
}

// statusLines are the lines of /proc/PID/status that say what a process may
// do.
var statusLines = []string{"Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:", "Seccomp_filters:"}

// privileges are the statusLines of pid, and its cgroups as "cgroup".
func privileges(t *testing.T, pid int) map[string]string {
	t.Helper()
	m := map[string]string{}
	status := procStatus(t, pid)
	for _, k := range statusLines {
		if f, ok := status[k]; ok {
			m[k] = strings.Join(f, " ")
		}
	}
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	m["cgroup"] = string(cg)
	return m
}

// innerPID is the PID a host process has in its innermost pid namespace.
func innerPID(t *testing.T, pid int) int {
	t.Helper()
	f := procStatus(t, pid)["NSpid:"]
	if len(f) == 0 {
		t.Fatalf("no NSpid in /proc/%d/status", pid)
	}
	n, err := strconv.Atoi(f[len(f)-1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// mountinfo is /proc/PID/mountinfo ("self" for the test), one line a mount.
func mountinfo(t *testing.T, pid any) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%v/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// cgroupDirs are the directories of pid's cgroups, one per hierarchy
// mounted on the host, from /proc/PID/cgroup and the host's mountinfo.
func cgroupDirs(t *testing.T, pid int) []string {
	t.Helper()
	mounts := map[string]string{} // "0" for v2, else the controllers as in /proc/PID/cgroup
	for _, l := range mountinfo(t, "self") {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 || f[3] != "/" {
			continue
		}
		switch g[0] {
		case "cgroup2":
			mounts["0"] = f[4]
		case "cgroup":
			var ctrls []string
			for _, o := range strings.Split(g[2], ",") {
				switch {
				case strings.HasPrefix(o, "name="):
					ctrls = append(ctrls, o)
				case strings.Contains(o, "="), mountOptions[o]:
				default:
					ctrls = append(ctrls, o)
				}
			}
			mounts[strings.Join(ctrls, ",")] = f[4]
		}
	}
	var dirs []string
	for _, l := range strings.Split(sh(t, "cat", fmt.Sprintf("/proc/%d/cgroup", pid)), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		key := f[1]
		if f[0] == "0" {
			key = "0"
		}
		mnt, ok := mounts[key]
		if !ok {
			t.Fatalf("hierarchy %q of pid %d is not mounted here", l, pid)
		}
		dirs = append(dirs, filepath.Join(mnt, f[2]))
	}
	return dirs
}

// mountOptions are the cgroup v1 super options that are not controllers.
var mountOptions = map[string]bool{"rw": true, "ro": true, "xattr": true, "noprefix": true, "clone_children": true, "cpuset_v2_mode": true, "favordynmods": true}

// ---- Leftovers

// leftovers is what ctr-enter could leave behind on the host.
type leftovers struct {
	mounts, tempDirs, dockerContainers, containerdContainers, snapshots, leases string
	// containerd 2.x's, beside 1.6's
	containerd2Containers, snapshots2, leases2 string
}

func snapshotLeftovers(t *testing.T) leftovers {
	t.Helper()
	var mounts []string
	for _, l := range mountinfo(t, "self") {
		// The Kubernetes node's own mounts come and go with its
		// crash-looping pod, which the kubelet restarts on its own
		// schedule: never ctr-enter's.
		if f := strings.Fields(l); len(f) > 4 && !strings.HasPrefix(f[4], "/run/ctr-enter-e2e/k8s/") {
			mounts = append(mounts, f[4]) // mount point
		}
	}
	sort.Strings(mounts)
	temps, _ := filepath.Glob("/run/.ctr-enter-*")
	temps2, _ := filepath.Glob(os.TempDir() + "/.ctr-enter-*")
	// everywhere is what a ctr lists in each namespace of its containerd.
	everywhere := func(ctr []string, list string) string {
		c := strings.Join(ctr, " ")
		return sh(t, "sh", "-c", fmt.Sprintf("for ns in $(%[1]s ns ls -q); do %[1]s -n $ns %[2]s; done | sort", c, list))
	}
	return leftovers{
		mounts:                strings.Join(mounts, "\n"),
		tempDirs:              strings.Join(append(temps, temps2...), "\n"),
		dockerContainers:      sh(t, "docker", "ps", "-aq", "--no-trunc"),
		containerdContainers:  everywhere([]string{"ctr"}, "containers ls -q"),
		snapshots:             everywhere([]string{"ctr"}, "snapshots ls"),
		leases:                everywhere([]string{"ctr"}, "leases ls -q"),
		containerd2Containers: everywhere(ctr2(), "containers ls -q"),
		snapshots2:            everywhere(ctr2(), "snapshots ls"),
		leases2:               everywhere(ctr2(), "leases ls -q"),
	}
}

// nothingLeft fails the test if anything changed since before.
func nothingLeft(t *testing.T, before leftovers) {
	t.Helper()
	if after := snapshotLeftovers(t); after != before {
		t.Errorf("ctr-enter left something behind:\nbefore: %+v\nafter:  %+v", before, after)
	}
}

// ToolsDir is where ctr-enter mounts tools in a session.
const ToolsDir = "/.ctr-enter"

// noToolMounts fails the test if any mount namespace on the host still
// holds a mount of ctr-enter's: the session root's tools directory or a
// read-only view (whose overlay layers are named .ctr-enter-*).
func noToolMounts(t *testing.T) {
	t.Helper()
	paths, _ := filepath.Glob("/proc/[0-9]*/mountinfo")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the process is gone
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, ToolsDir) {
				t.Errorf("%s still has a mount of ctr-enter's: %s", p, l)
				return
			}
		}
	}
}

// cacheLeftovers lists the blobs, trees, partial downloads and temporary
// files in the image cache at root.
func cacheLeftovers(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, d := range []string{"content/blobs/sha256", "content/ingest", "trees/sha256", "tmp"} {
		entries, _ := os.ReadDir(filepath.Join(root, d))
		for _, e := range entries {
			out = append(out, d+"/"+e.Name())
		}
	}
	return out
}

// ---- The image cache and the registry

const registryImage = "127.0.0.1:5000/busybox"

// cachedImage is one entry of images ls --json.
type cachedImage struct {
	Ref, Digest, RootFS, Source string
	Size                        int64
}

// imagesRun runs ctr-enter images ARGS with the cache in root.
func imagesRun(t *testing.T, root string, args ...string) result {
	t.Helper()
	cmd := command(append([]string{"images"}, args...)...)
	cmd.Env = append(cmd.Env, "CTR_ENTER_IMAGES="+root)
	return runCmd(t, cmd)
}

// imagesLs is the cache's content as images ls --json says.
func imagesLs(t *testing.T, root string) []cachedImage {
	t.Helper()
	r := imagesRun(t, root, "ls", "--json")
	var imgs []cachedImage
	if err := json.Unmarshal([]byte(r.stdout), &imgs); r.code != 0 || err != nil {
		t.Fatalf("images ls --json: %v: %v", err, r)
	}
	return imgs
}

// registryDigest asks the registry for the manifest digest of repo:tag.
func registryDigest(t *testing.T, repo, tag string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, "http://127.0.0.1:5000/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json",
		"application/vnd.oci.image.index.v1+json",
	}, ", "))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	resp.Body.Close()
	d := resp.Header.Get("Docker-Content-Digest")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(d, "sha256:") {
		t.Fatalf("registry: HEAD %s:%s: %s, digest %q", repo, tag, resp.Status, d)
	}
	return d
}
