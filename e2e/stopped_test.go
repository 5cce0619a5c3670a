//go:build e2e

package e2e

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// brokenScript is a container that breaks its own config on its first
// start and exits 1 (a crash), and on any later start prints the config
// and exits 0: what a start after a fix shows.
const brokenScript = `if [ -f /etc/app.conf ]; then cat /etc/app.conf; exit 0; fi; echo broken > /etc/app.conf; exit 1`

// createCrashed runs a busybox container named name on rt that exits 1
// after breaking /etc/app.conf, with a variable, a working directory and
// (on Docker, whose ctr has the flag) a hostname of its config; removed
// when the test ends.
func createCrashed(t *testing.T, rt containerRuntime, name string) {
	t.Helper()
	var cmd *exec.Cmd
	if rt.ctr == nil {
		exec.Command("docker", "rm", "-f", name).Run()
		cmd = exec.Command("docker", "run", "--name", name, "--hostname", "brokenhost", "-e", "APP_VAR=stopped-"+rt.name,
			"-w", "/etc", "ctr-enter-test/busybox", "sh", "-c", brokenScript)
	} else {
		cmd = exec.Command(rt.ctr[0], append(append([]string{}, rt.ctr[1:]...), "-n", "e2e", "run", "--env", "APP_VAR=stopped-"+rt.name,
			"--cwd", "/etc", "docker.io/ctr-enter-test/busybox:latest", name, "sh", "-c", brokenScript)...)
	}
	t.Cleanup(func() { rt.remove(t, name) })
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("%v: %v, want exit 1\n%s", cmd.Args, err, out)
	}
}

// startAgain is the runtime's own start of the stopped container name,
// attached: what it prints.
func startAgain(t *testing.T, rt containerRuntime, name string) string {
	t.Helper()
	if rt.ctr == nil {
		return sh(t, "docker", "start", "-a", name)
	}
	// ctr run deletes the task it waited for; a start has left one.
	exec.Command(rt.ctr[0], append(append([]string{}, rt.ctr[1:]...), "-n", "e2e", "task", "rm", name)...).Run()
	return rt.run(t, "-n", "e2e", "task", "start", name)
}

// TestStoppedContainer: a container that crashed is entered over its own
// files, with its config's environment, working directory and hostname,
// in a pid namespace of the session's own, with the tools; read-only, so
// that its runtime can start it meanwhile; --write reaches its next start,
// and is refused on a running container.
func TestStoppedContainer(t *testing.T) {
	hostname, _ := os.Hostname()
	forEachRuntime(t, allRuntimes, func(t *testing.T, rt containerRuntime) {
		name := "e2e-crashed-" + rt.name
		createCrashed(t, rt, name)
		ref := rt.ref(name)
		before := snapshotLeftovers(t)
		in := func(args ...string) result { return run(t, rt.args(append([]string{ref, "--"}, args...)...)...) }
		want := func(r result, stdout string) {
			t.Helper()
			if r.code != 0 || strings.TrimSpace(r.stdout) != stdout {
				t.Errorf("want %q:\n%v", stdout, r)
			}
		}
		want(in("cat", "/etc/app.conf"), "broken")
		want(in("pwd"), "/etc")
		if r := in("env"); r.code != 0 || !strings.Contains(r.stdout, "APP_VAR=stopped-"+rt.name+"\n") || strings.Contains(r.stdout, "CTR_ENTER") {
			t.Errorf("env is not the config's:\n%v", r)
		}
		wantHost := hostname // a spec without one: runc leaves the host's
		if rt.ctr == nil {
			wantHost = "brokenhost"
		}
		want(in("hostname"), wantHost)
		// Only the session's processes: its init (1) and ps (2).
		if r := in("ps", "-o", "pid"); r.code != 0 || strings.Join(strings.Fields(r.stdout), " ") != "PID 1 2" {
			t.Errorf("ps shows more than the session:\n%v", r)
		}
		// Loopback only, up.
		if r := in("cat", "/proc/net/dev"); r.code != 0 || strings.Count(r.stdout, ":") != 1 || !strings.Contains(r.stdout, "lo:") {
			t.Errorf("interfaces other than lo:\n%v", r)
		}
		// The tools: ls and sh are the host's (dynamic, glibc, in a
		// busybox target).
		if interp := elfInterp(t, "/usr/bin/ls"); interp == "" {
			t.Fatalf("/usr/bin/ls is static here: no dynamic tool to test")
		}
		if r := in("/.ctr-enter/bin/ls", "/etc/app.conf"); r.code != 0 || strings.TrimSpace(r.stdout) != "/etc/app.conf" {
			t.Errorf("the tools' ls:\n%v", r)
		}
		want(in("/.ctr-enter/bin/sh", "-c", "echo $HOSTNAME"), wantHost)

		// -u and --as-target: the user's ids and a default container's
		// capabilities (Docker's 14), not ctr-enter's.
		want(run(t, rt.args(ref, "-u", "nobody", "--", "id", "-u")...), "65534")
		if r := run(t, rt.args(ref, "-u", "nobody", "--", "grep", "CapEff", "/proc/self/status")...); r.code != 0 || !strings.Contains(r.stdout, "0000000000000000") {
			t.Errorf("-u nobody keeps capabilities:\n%v", r)
		}
		if r := run(t, rt.args(ref, "--as-target", "--", "grep", "CapEff", "/proc/self/status")...); r.code != 0 || !strings.Contains(r.stdout, "00000000a80425fb") {
			t.Errorf("--as-target does not have a default container's capabilities:\n%v", r)
		}

		// A shell on a terminal: the session's own pty.
		o := startOperator(t, rt.args(ref)...)
		m := o.expect(0, `# `)
		o.send("tty; echo $((6*7))\r")
		o.expect(m, `/dev/pts/\d+\r\n42\r\n`)
		o.send("exit 3\r")
		if code := o.wait(); code != 3 {
			t.Errorf("exit 3 gave %d", code)
		}

		// Read-only: the write fails and nothing changed.
		if r := in("sh", "-c", "echo x > /etc/app.conf"); r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
			t.Errorf("a write without --write:\n%v", r)
		}
		want(in("cat", "/etc/app.conf"), "broken")

		// The runtime starts it while a read-only session is open.
		session := startRun(t, command(rt.args(ref, "--", "sleep", "3")...))
		waitSleeping(t, session)
		if out := startAgain(t, rt, name); out != "broken" {
			t.Errorf("the start while a session was open printed %q", out)
		}
		if r := session.wait(t); r.code != 0 {
			t.Errorf("the session while the runtime started it:\n%v", r)
		}

		// --write reaches the next start.
		if r := run(t, rt.args(ref, "--write", "--", "sh", "-c", "echo fixed > /etc/app.conf")...); r.code != 0 {
			t.Errorf("--write:\n%v", r)
		}
		if out := startAgain(t, rt, name); out != "fixed" {
			t.Errorf("the start after --write printed %q, want fixed", out)
		}
		// The runtime cannot start it under a --write session:
		// TestStoppedWriteHold (stopped_more_test.go).
		nothingLeft(t, before)

		// ls shows it with its state; inspect shows its config and
		// files, and says the live fields are absent.
		if r := run(t, rt.args("ls", "--json")...); r.code != 0 || !regexpMatch(`"id": "`+name+`"[^}]*"status": "(exited|stopped|created)"`, r.stdout) &&
			!regexpMatch(`"name": "`+name+`"[^}]*"status": "(exited|stopped|created)"`, r.stdout) {
			t.Errorf("ls --json does not show %s stopped:\n%v", name, r)
		}
		r := run(t, rt.args("inspect", "--json", ref)...)
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(r.stdout))
		if r.code != 0 || err != nil {
			t.Fatalf("inspect --json: %v\n%v", err, r)
		}
		if err := schema(t, "").Validate(doc); err != nil {
			t.Errorf("inspect --json of a stopped container does not follow the schema: %v\n%s", err, r.stdout)
		}
		if err := schema(t, "#/$defs/stopped").Validate(doc); err != nil {
			t.Errorf("not a stopped report: %v", err)
		}
		if !strings.Contains(r.stdout, `"APP_VAR=stopped-`+rt.name+`"`) || !strings.Contains(r.stdout, `"cwd": "/etc"`) {
			t.Errorf("inspect does not show the config:\n%s", r.stdout)
		}
		if r := run(t, rt.args("inspect", ref)...); r.code != 0 || !strings.Contains(r.stdout, "no process, so no pid") {
			t.Errorf("inspect:\n%v", r)
		}

		// --write on a running container: one line, 125.
		oneLineError(t, run(t, rt.args(rt.taka, "--write", "--", "true")...), 125, "--write: "+rt.taka+" is running")
	})
}

// waitSleeping waits until the session r runs its command, sleep.
func waitSleeping(t *testing.T, r *running) {
	t.Helper()
	waitFor(t, "the session's sleep", func() bool {
		for _, d := range descendants(r.cmd.Process.Pid) {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", d)); strings.TrimSpace(string(b)) == "sleep" {
				return true
			}
		}
		return false
	})
}

// elfInterp is the program interpreter of the ELF file at path ("" if
// static).
func elfInterp(t *testing.T, path string) string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			p.ReadAt(b, 0)
			return strings.TrimRight(string(b), "\x00")
		}
	}
	return ""
}

// TestStoppedSessionsKilled: sessions over a stopped container killed
// with SIGKILL leave nothing: their mounts are detached ones, in mount
// namespaces that go with their last process, and the payload dies with
// the session's init, which dies with ctr-enter.
func TestStoppedSessionsKilled(t *testing.T) {
	name := "e2e-crashed-killed"
	createCrashed(t, dockerRuntime, name)
	before := snapshotLeftovers(t)
	for i := 0; i < 20; i++ {
		r := startRun(t, command("docker://"+name, "--", "sleep", "1000"))
		waitSleeping(t, r)
		all := descendants(r.cmd.Process.Pid)
		r.cmd.Process.Signal(syscall.SIGKILL)
		r.cmd.Wait()
		waitFor(t, "the session's processes to go", func() bool {
			for _, d := range all {
				if st, ok := readStat(d); ok && st.state != 'Z' {
					return false
				}
			}
			return true
		})
	}
	if r := run(t, "gc"); r.code != 0 {
		t.Errorf("gc:\n%v", r)
	}
	nothingLeft(t, before)
	noToolMounts(t)
}

// TestImageTarget: image://REF opens a session over an image's files,
// from the cache (filled from Docker, containerd or the registry), with
// the registry stopped too; an image of one static binary gets the
// tools' shell. Nothing is created in any runtime.
func TestImageTarget(t *testing.T) {
	before := snapshotLeftovers(t)
	for _, from := range []string{"docker", "containerd", "registry"} {
		t.Run(from, func(t *testing.T) {
			root := t.TempDir()
			ref := "ctr-enter-test/busybox"
			if from == "registry" {
				ref = "127.0.0.1:5000/busybox"
			}
			if r := imagesRun(t, root, "pull", "--from", from, ref); r.code != 0 {
				t.Fatalf("pull:\n%v", r)
			}
			cmd := command("image://"+ref, "--", "ls", "/bin")
			cmd.Env = append(cmd.Env, "CTR_ENTER_IMAGES="+root)
			if r := runCmd(t, cmd); r.code != 0 || !strings.Contains(r.stdout, "busybox\n") {
				t.Errorf("ls /bin:\n%v", r)
			}
		})
	}
	t.Run("cache without registry", func(t *testing.T) {
		root := t.TempDir()
		if r := imagesRun(t, root, "pull", "--from", "registry", "127.0.0.1:5000/busybox"); r.code != 0 {
			t.Fatalf("pull:\n%v", r)
		}
		stopRegistry(t)
		cmd := command("image://127.0.0.1:5000/busybox", "--", "cat", "/etc/passwd")
		cmd.Env = append(cmd.Env, "CTR_ENTER_IMAGES="+root)
		if r := runCmd(t, cmd); r.code != 0 || !strings.Contains(r.stdout, "root:") {
			t.Errorf("from the cache:\n%v", r)
		}
	})
	t.Run("scratch", func(t *testing.T) {
		root := t.TempDir()
		cmd := command("image://ctr-enter-test/noshell")
		cmd.Env = append(cmd.Env, "CTR_ENTER_IMAGES="+root)
		cmd.Stdin = strings.NewReader("ls /; echo $0\n")
		r := runCmd(t, cmd)
		if r.code != 0 || !strings.Contains(r.stdout, "pause\n") || !strings.Contains(r.stdout, "/.ctr-enter/bin/sh\n") {
			t.Errorf("the tools' shell in a scratch image:\n%v", r)
		}
	})
	oneLineError(t, run(t, "image://busybox", "--write", "--", "true"), 125, "--write")
	nothingLeft(t, before)
}
