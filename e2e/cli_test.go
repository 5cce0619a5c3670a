//go:build e2e

package e2e

// The enter command line as docker exec users type it: the command starts
// at its first word, docker exec's environment (HOME, HOSTNAME, -e NAME,
// --env-file), -d, --privileged, and errors that say where they looked.

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCommandStartsAtItsFirstWord: after the target, the command's own
// flags reach it without --.
func TestCommandStartsAtItsFirstWord(t *testing.T) {
	forEachRuntime(t, defaultRuntimes, func(t *testing.T, rt containerRuntime) {
		// ps -ef: -e is ps's, not ctr-enter's -e; busybox ps ignores
		// -ef, so the proof is ps listing itself with its argv.
		r := run(t, rt.args(rt.taka, "ps", "-ef")...)
		if r.code != 0 || !strings.Contains(r.stdout, "ps -ef\n") || !strings.Contains(r.stdout, "redis-server") {
			t.Errorf("taka ps -ef: %v", r)
		}
		// env -i keeps its -i: only X=1 (busybox env adds nothing).
		r = run(t, rt.args(rt.taka, "env", "-i", "X=1", "env")...)
		if r.code != 0 || r.stdout != "X=1\n" || r.stderr != "" {
			t.Errorf("taka env -i X=1 env: %v", r)
		}
		// cat -u: -u is cat's, not ctr-enter's user.
		// (containerd's taka has no /etc/hostname: the kernel's file.)
		file := map[string]string{"docker": "/etc/hostname", "containerd": "/proc/sys/kernel/hostname"}[rt.name]
		want := strings.TrimSpace(run(t, rt.args(rt.taka, "hostname")...).stdout)
		r = run(t, rt.args(rt.taka, "cat", "-u", file)...)
		if r.code != 0 || want == "" || strings.TrimSpace(r.stdout) != want {
			t.Errorf("taka cat -u %s: %v (want %q)", file, r, want)
		}
		// Flags before the command word are ctr-enter's, wherever they
		// sit: here --net --pid alone, so ps shows taka's processes
		// from a root of the session's own.
		for _, args := range [][]string{{rt.taka, "--net", "--pid", "ps", "aux"}, {"--net", rt.taka, "--pid", "ps", "aux"}} {
			r = run(t, rt.args(args...)...)
			if r.code != 0 || !strings.Contains(r.stdout, "redis-server") {
				t.Errorf("%q: %v", args, r)
			}
		}
	})
}

// TestReadmeExamplesAreTheSameWithoutDashes runs the README's examples of
// enter, with -- and without, and compares the argv the command got.
func TestReadmeExamplesAreTheSameWithoutDashes(t *testing.T) {
	// Each example's command, replaced by a printer of its argv with the
	// same flags after it: what reaches the command is what counts.
	for _, ex := range [][]string{
		{"docker://taka", "--net", "--pid", "--", "ps", "aux"},
		{"docker://taka", "--", "cat", "/etc/hostname"},
		{"docker://taka", "--", "env"},
		{"containerd://e2e/taka", "--", "ip", "addr"},
		{"docker://taka", "-i", "--", "cat"},
		{"docker://taka", "--", "ps", "-ef"},
		{"docker://taka", "--", "env", "-i", "X=1", "env"},
		{"docker://taka", "--", "cat", "-u", "/etc/hostname"},
		{"docker://taka", "--image", "ctr-enter-test/busybox", "--", "ls", "/"},
		{"docker://taka", "--tools", "--", "ss", "-tlnp"},
	} {
		dash := slices.Index(ex, "--")
		// sh -c 'printf "<%s>" "$0" "$@"' ARGV...: prints the argv.
		printer := func(flags []string) []string {
			return append(append(slices.Clone(flags), "sh", "-c", `printf "<%s>" "$0" "$@"`), ex[dash+1:]...)
		}
		with := run(t, printer(append(slices.Clone(ex[:dash]), "--"))...)
		without := run(t, printer(ex[:dash])...)
		want := "<" + strings.Join(ex[dash+1:], "><") + ">"
		if with.code != 0 || without.code != 0 || with.stdout != want || without.stdout != want {
			t.Errorf("%q: with -- %v\nwithout %v\nwant stdout %q", ex, with, without, want)
		}
	}
}

// envOf is the sorted environment a command sees.
func envOf(t *testing.T, out string) []string {
	t.Helper()
	env := strings.Split(strings.TrimRight(out, "\n"), "\n")
	slices.Sort(env)
	return env
}

// TestEnvironmentMatchesDockerExec compares what env prints under docker
// exec and under ctr-enter, in the same target, with the same flags.
func TestEnvironmentMatchesDockerExec(t *testing.T) {
	startDocker(t, "e2e-envparity", "--hostname", "parity-host", "-e", "FROM_RUN=1", "ctr-enter-test/busybox", "sleep", "1000000")
	file := filepath.Join(t.TempDir(), "app.env")
	if err := os.WriteFile(file, []byte("# comment\n  FILE_A=from file\nFILE_TOKEN\nFILE_UNSET\nFROM_RUN=file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The variables a bare NAME takes, in ctr-enter's and docker's
	// environment alike.
	clientEnv := append(os.Environ(), "E2E_TOKEN=client-secret", "FILE_TOKEN=file-secret")
	for _, flags := range [][]string{
		nil,
		{"-u", "nobody"},
		{"-u", "65534:65534"},
		{"-u", "1234"}, // no passwd line: HOME=/
		{"-e", "E2E_TOKEN"},
		{"-e", "E2E_UNSET"},
		{"-e", "FROM_RUN"}, // ctr-enter has none: removed, as docker does
		{"-e", "HOME=/custom", "-e", "HOSTNAME=other"},
		{"--env-file", file},
		{"--env-file", file, "-e", "FILE_A=from -e"},
	} {
		docker := exec.Command("docker", append(append([]string{"exec"}, flags...), "e2e-envparity", "env")...)
		docker.Env = clientEnv
		d := runCmd(t, docker)
		cmd := command(append(append([]string{"docker://e2e-envparity"}, flags...), "env")...)
		cmd.Env = clientEnv
		r := runCmd(t, cmd)
		if d.code != 0 || r.code != 0 || !slices.Equal(envOf(t, r.stdout), envOf(t, d.stdout)) {
			t.Errorf("%q: ctr-enter %v\ndocker exec %v", flags, r, d)
		}
	}
	// HOSTNAME is the target's, as its uts namespace says, for a
	// containerd target too (whose config sets none).
	want := strings.TrimSpace(run(t, "containerd://e2e/taka", "--uts", "hostname").stdout)
	r := run(t, "containerd://e2e/taka", "env")
	if want == "" || !strings.Contains(r.stdout, "\nHOSTNAME="+want+"\n") || !strings.Contains(r.stdout, "\nHOME=/root\n") {
		t.Errorf("containerd taka (hostname %q): %v", want, r)
	}
}

// TestDetach: -d returns at once, and the command runs on after ctr-enter
// has exited, in the target.
func TestDetach(t *testing.T) {
	forEachRuntime(t, defaultRuntimes, func(t *testing.T, rt containerRuntime) {
		c := rt.start(t, "e2e-detach")
		ref := rt.ref(c.name)
		for i, ns := range [][]string{nil, {"--net", "--pid"}} {
			// It becomes "sleep 100000N" 2s after it started: long after
			// ctr-enter returned, if -d returns at once.
			later := "sleep " + strconv.Itoa(1000001+i)
			start := time.Now()
			r := run(t, append(append([]string{ref, "-d"}, ns...), "sh", "-c", "sleep 2; exec "+later)...)
			if took := time.Since(start); r.code != 0 || r.stdout != "" || r.stderr != "" || took > 1500*time.Millisecond {
				t.Fatalf("-d %q: took %v: %v", ns, took, r)
			}
			// ps's line of the exec'd sleep, not sh's that names it.
			execd := `(?m)^\s*\d+\s+root\s+` + later + `$`
			if ps := run(t, ref, "ps").stdout; regexpMatch(execd, ps) {
				t.Fatalf("-d %q: %q already runs: %s", ns, later, ps)
			}
			waitFor(t, later+" in the target", func() bool {
				return regexpMatch(execd, run(t, ref, "ps").stdout)
			})
		}
	})
	t.Run("refused", func(t *testing.T) {
		oneLineError(t, run(t, "docker://taka", "-d", "-t", "sh"), 125, "--detach excludes -i and -t")
		oneLineError(t, run(t, "docker://taka", "-d"), 125, "--detach needs a command")
	})
}

func TestPrivileged(t *testing.T) {
	// Accepted, and the default's privileges: every capability.
	r := run(t, "docker://taka", "--privileged", "grep", "CapEff", "/proc/self/status")
	own := procStatus(t, os.Getpid())["CapEff:"]
	if r.code != 0 || len(own) != 1 || !strings.Contains(r.stdout, own[0]) {
		t.Errorf("--privileged: %v (ctr-enter's CapEff %v)", r, own)
	}
	oneLineError(t, run(t, "docker://taka", "--privileged", "--as-target", "id"), 125, "--privileged and --as-target exclude each other")
}

// TestErrorsNameTheirCause: one line on stderr, the code, and the cause.
func TestErrorsNameTheirCause(t *testing.T) {
	before := snapshotLeftovers(t)
	bad := filepath.Join(t.TempDir(), "bad.env")
	if err := os.WriteFile(bad, []byte("GOOD=1\nBAD KEY=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"missing command in target", []string{"docker://taka", "no-such-command"}, 127,
			"command not found in the target: no-such-command (looked in the target's PATH and ctr-enter's tools; --image REF mounts an image's tools)"},
		{"missing command on host", []string{"docker://taka", "--net", "no-such-command"}, 127,
			"command not found on the host: no-such-command (without --mount the command comes from the host's PATH; add --mount to look in the target, and --tools or --image for tools it lacks)"},
		{"missing workdir", []string{"docker://taka", "-w", "/no/such/dir", "pwd"}, 125,
			"change to the working directory /no/such/dir: no such file or directory"},
		{"bad env file", []string{"docker://taka", "--env-file", bad, "env"}, 125,
			"--env-file " + bad + `: line 2: variable "BAD KEY" contains blanks`},
		{"missing env file", []string{"docker://taka", "--env-file", "/no/such.env", "env"}, 125,
			"--env-file: open /no/such.env: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oneLineError(t, run(t, tc.args...), tc.code, tc.contains)
		})
	}
	nothingLeft(t, before)
}

// TestTargetGoneInPipeMode: the same line as a terminal session gets
// (TestSessionEndsWhenTargetIsKilled).
func TestTargetGoneInPipeMode(t *testing.T) {
	doomed := dockerRuntime.start(t, "e2e-doomed-pipe")
	r := startRun(t, command(dockerRuntime.ref(doomed.name), "sleep", "1000"))
	waitFor(t, "the session's sleep", func() bool {
		for _, pid := range descendants(r.cmd.Process.Pid) {
			if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); string(comm) == "sleep\n" {
				return true
			}
		}
		return false
	})
	dockerRuntime.kill(t, doomed.name)
	res := r.wait(t)
	if res.code == 0 || !regexpMatch(`^ctr-enter: session ended: .*exited[^\n]*\n$`, res.stderr) {
		t.Errorf("target killed: %v", res)
	}
}

// TestNoRootForHelpVersionCompletion: what needs no privilege runs as
// nobody.
func TestNoRootForHelpVersionCompletion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"help", "attach"}, {"--version"}, {"version"}, {"completion", "bash"}, {"taka", "--help"}} {
		cmd := command(args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		r := runCmd(t, cmd)
		if r.code != 0 || r.stdout == "" || r.stderr != "" {
			t.Errorf("%q as nobody: %v", args, r)
		}
	}
	cmd := command("docker://taka", "true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	oneLineError(t, runCmd(t, cmd), 125, "must be run as root")
}
