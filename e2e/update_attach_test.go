//go:build e2e

package e2e

// update's limits, and attach as docker run users expect it (issue 12):
// each limit read back from the kernel and from the runtime's own view,
// docker run's -e, -u, -w, --cap-add and --cap-drop seen from inside the
// sidecar, and the refusals, each one line, exit 125, nothing left behind.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// limitFile reads a cgroup file of pid's, from whichever of its
// hierarchies holds it.
func limitFile(t *testing.T, pid int, file string) string {
	t.Helper()
	for _, dir := range cgroupDirs(t, pid) {
		if b, err := os.ReadFile(filepath.Join(dir, file)); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	t.Fatalf("no %s in the cgroups of pid %d", file, pid)
	return ""
}

// kernelUnlimited is how cgroup v1 shows a memory limit removed: the
// largest count of pages, in bytes.
var kernelUnlimited = strconv.FormatInt((1<<63-1)/int64(os.Getpagesize())*int64(os.Getpagesize()), 10)

// TestUpdateLimits sets each limit and then removes the memory and pids
// limits, on containers of the test's own, and reads each back from the
// kernel and from the runtime.
func TestUpdateLimits(t *testing.T) {
	forEachRuntime(t, allRuntimes, func(t *testing.T, rt containerRuntime) {
		name := "e2e-update-" + rt.name
		var c container
		if rt.ctr == nil {
			// Made with a memory limit (and its swap limit of twice as
			// much) and --cpus: raising the limit above the old swap
			// limit, and --cpus over NanoCpus, are what Docker refuses
			// unless asked right.
			id := startDocker(t, name, "--memory", "64m", "--cpus", "1", "ctr-enter-test/busybox", "sleep", "1000000")
			c = container{name, id, dockerPID(t, id)}
		} else {
			c = rt.start(t, name)
		}
		ref := rt.ref(name)

		r := run(t, rt.args("update", ref, "--memory", "256m", "--cpus", "0.5", "--cpu-shares", "512", "--pids-limit", "42")...)
		want := ref + ": memory limit: 268435456 bytes\n" +
			ref + ": cpu quota: 50000us per 100000us (0.50 CPUs)\n" +
			ref + ": cpu shares: 512\n" +
			ref + ": pids limit: 42\n"
		if r.code != 0 || r.stdout != want || r.stderr != "" {
			t.Errorf("update:\n%v\nwant stdout:\n%s", r, want)
		}
		for file, want := range map[string]string{
			"memory.limit_in_bytes": "268435456", "cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000",
			"cpu.shares": "512", "pids.max": "42",
		} {
			if got := limitFile(t, c.pid, file); got != want {
				t.Errorf("kernel %s: %s, want %s", file, got, want)
			}
		}
		if rt.ctr == nil {
			if got := rt.run(t, "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}}", name); got != "268435456 500000000 512 42" {
				t.Errorf("docker's view: %s", got)
			}
		} else {
			metrics := rt.run(t, "-n", "e2e", "task", "metrics", name)
			if !regexpMatch(`memory\.limit_in_bytes\s+268435456\b`, metrics) || !regexpMatch(`pids\.limit\s+42\b`, metrics) {
				t.Errorf("containerd's view:\n%s", metrics)
			}
		}

		// No limit: the kernel's own "none", and the runtime's.
		r = run(t, rt.args("update", ref, "--memory", "max", "--pids-limit", "max")...)
		if want := ref + ": memory limit: none\n" + ref + ": pids limit: none\n"; r.code != 0 || r.stdout != want || r.stderr != "" {
			t.Errorf("update to max:\n%v\nwant stdout:\n%s", r, want)
		}
		if got := limitFile(t, c.pid, "memory.limit_in_bytes"); got != kernelUnlimited {
			t.Errorf("kernel memory.limit_in_bytes %s, want %s", got, kernelUnlimited)
		}
		if got := limitFile(t, c.pid, "pids.max"); got != "max" {
			t.Errorf("kernel pids.max %s, want max", got)
		}
		if rt.ctr == nil {
			// Docker cannot store 0 (no limit) through its update API:
			// the largest limit is what it keeps.
			if got := rt.run(t, "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}", name); got != "9223372036854775807 0" {
				t.Errorf("docker's view: %s", got)
			}
			if stats := rt.run(t, "stats", "--no-stream", "--format", "{{.MemUsage}}", name); strings.Contains(stats, "256MiB") {
				t.Errorf("docker stats still shows the old limit: %s", stats)
			}
		} else {
			metrics := rt.run(t, "-n", "e2e", "task", "metrics", name)
			if !regexpMatch(`memory\.limit_in_bytes\s+`+kernelUnlimited+`\b`, metrics) || !regexpMatch(`pids\.limit\s+0\b`, metrics) {
				t.Errorf("containerd's view:\n%s", metrics)
			}
		}
		// And back to a limit below the one it was made with.
		if r := run(t, rt.args("update", ref, "--memory", "32m")...); r.code != 0 || r.stdout != ref+": memory limit: 33554432 bytes\n" {
			t.Errorf("update back:\n%v", r)
		}
		if got := limitFile(t, c.pid, "memory.limit_in_bytes"); got != "33554432" {
			t.Errorf("kernel memory.limit_in_bytes %s, want 33554432", got)
		}
	})
}

// TestUpdateRefused: a value ctr-enter or the runtime refuses is one line,
// exit 125, and the kernel's limit as it was.
func TestUpdateRefused(t *testing.T) {
	id := startDocker(t, "e2e-update-refused", "--memory", "64m", "ctr-enter-test/busybox", "sleep", "1000000")
	pid := dockerPID(t, id)
	ref := "docker://e2e-update-refused"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"update", ref}, "nothing to update: give --memory, --cpus, --cpu-shares or --pids-limit"},
		{[]string{"update", ref, "--cpus", "0.001"}, "--cpus 0.001: want 0.01 CPUs or more"},
		{[]string{"update", ref, "--pids-limit", "0"}, "--pids-limit 0: want a positive number, or max"},
		{[]string{"update", ref, "--cpu-shares", "1"}, "--cpu-shares 1: want 2 to 262144"},
		// Docker's own refusal, named.
		{[]string{"update", ref, "--memory", "1m"}, "update docker://e2e-update-refused: docker: POST /containers/" + id + "/update: 400 Bad Request: Minimum memory limit allowed is 6MB"},
	} {
		oneLineError(t, run(t, tc.args...), 125, tc.want)
		if got := limitFile(t, pid, "memory.limit_in_bytes"); got != strconv.Itoa(64<<20) {
			t.Errorf("%q: memory limit now %s", tc.args, got)
		}
	}
}

// sidecarLogs are the containerd sidecars' log files.
func sidecarLogs(t *testing.T) string {
	t.Helper()
	logs, _ := filepath.Glob("/var/log/ctr-enter/*/*")
	return strings.Join(logs, "\n")
}

// TestAttachMissingImage: the image is named, with where it was looked for
// and how to get it there; nothing is created.
func TestAttachMissingImage(t *testing.T) {
	forEachRuntime(t, allRuntimes, func(t *testing.T, rt containerRuntime) {
		want := "image docker.io/library/busybox:nonexistent not found in containerd namespace e2e: ctr -n e2e images pull docker.io/library/busybox:nonexistent, or nerdctl -n e2e pull docker.io/library/busybox:nonexistent (ctr-enter images pull fills only ctr-enter's own cache, for enter --image)"
		if rt.ctr == nil {
			want = "image busybox:nonexistent not found in Docker: docker pull busybox:nonexistent (ctr-enter images pull fills only ctr-enter's own cache, for enter --image)"
		}
		before, logs := snapshotLeftovers(t), sidecarLogs(t)
		oneLineError(t, run(t, rt.args("attach", rt.taka, "--image", "busybox:nonexistent", "--name", "e2e-noimage", "--", "true")...), 125, "ctr-enter: "+want)
		oneLineError(t, run(t, rt.args("attach", rt.taka, "--rm", "--image", "busybox:nonexistent", "true")...), 125, "ctr-enter: "+want)
		nothingLeft(t, before)
		if after := sidecarLogs(t); after != logs {
			t.Errorf("log files left:\nbefore: %s\nafter: %s", logs, after)
		}
	})
}

// TestAttachRunOptions: docker run's -e, -u, -w, --cap-add and --cap-drop,
// seen from inside the sidecar; and the command starts at the first word
// that is not one of attach's flags.
func TestAttachRunOptions(t *testing.T) {
	// NET_ADMIN (bit 12) added to the runtime's 14, CHOWN (bit 0) dropped.
	const capBnd = "00000000a80435fa"
	forEachRuntime(t, allRuntimes, func(t *testing.T, rt containerRuntime) {
		before := snapshotLeftovers(t)
		cmd := command(rt.args("attach", rt.taka, "--rm", "--image", "busybox",
			"-e", "A=1", "-e", "E2E_FROM_CTR_ENTER", "-e", "E2E_UNSET", "-u", "nobody", "-w", "/tmp", "--cap-add", "net_admin", "--cap-drop", "CHOWN",
			"sh", "-c", `echo "A=$A FROM=$E2E_FROM_CTR_ENTER UNSET=${E2E_UNSET-unset}"; id; pwd; grep CapBnd /proc/self/status`)...)
		cmd.Env = append(cmd.Env, "E2E_FROM_CTR_ENTER=yes")
		r := runCmd(t, cmd)
		want := "A=1 FROM=yes UNSET=unset\nuid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n/tmp\nCapBnd:\t" + capBnd + "\n"
		if r.code != 0 || r.stdout != want {
			t.Errorf("attach -e -u -w --cap-add --cap-drop:\n%v\nwant stdout:\n%s", r, want)
		}
		// The command's own flags are its own, with -- or without.
		for _, args := range [][]string{{"env", "-i", "X=1", "env"}, {"--", "env", "-i", "X=1", "env"}} {
			if r := run(t, rt.args(append([]string{"attach", rt.taka, "--rm", "--image", "busybox"}, args...)...)...); r.code != 0 || r.stdout != "X=1\n" {
				t.Errorf("attach %q:\n%v", args, r)
			}
		}
		for i := 0; i < 100 && snapshotLeftovers(t) != before; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		nothingLeft(t, before)
	})
}

// TestAttachDetachedOptions: the same flags on a detached sidecar, read
// from its process on the host.
func TestAttachDetachedOptions(t *testing.T) {
	forEachRuntime(t, defaultRuntimes, func(t *testing.T, rt containerRuntime) {
		name := "e2e-attach-opts-" + rt.name
		r := run(t, "attach", rt.taka, "--image", "busybox", "--name", name, "-e", "A=1", "-u", "65534:65534", "-w", "/tmp", "--cap-drop", "ALL", "--cap-add", "SYS_PTRACE", "sleep", "1000000")
		if r.code != 0 {
			t.Fatalf("attach:\n%v", r)
		}
		t.Cleanup(func() { run(t, "attach", "rm", rt.ref(name)) })
		pid := rt.pid(t, name)
		st := readStatus(t, pid)
		if st.uid != "65534 65534 65534 65534" || st.capBnd != "0000000000080000" {
			t.Errorf("sidecar uid %q, bounding set %q", st.uid, st.capBnd)
		}
		if cwd, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd"); !strings.HasSuffix(cwd, "/tmp") {
			t.Errorf("sidecar cwd %s", cwd)
		}
		if env, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ"); !strings.Contains("\x00"+string(env), "\x00A=1\x00") {
			t.Errorf("sidecar environ %q", env)
		}
	})
}

// TestAttachRefused: what attach refuses before it asks any runtime.
func TestAttachRefused(t *testing.T) {
	before := snapshotLeftovers(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"attach", "docker://taka", "--image", "busybox", "-it"}, "ctr-enter: -i and -t need --rm: a sidecar without --rm runs detached; for a shell in it, use attach --rm -it, or enter it (ctr-enter SIDECAR)"},
		{[]string{"attach", "containerd://e2e/taka", "--image", "busybox", "-i", "sh"}, "ctr-enter: -i and -t need --rm"},
		{[]string{"attach", "docker://taka", "--image", "busybox", "--security", "target", "-u", "nobody"}, "ctr-enter: --security target copies the target's user and capabilities: it does not take -u, --cap-add or --cap-drop"},
		{[]string{"attach", "docker://taka", "--image", "busybox", "--cap-add", "NET_FLY"}, `ctr-enter: --cap-add: unknown capability "NET_FLY"`},
		{[]string{"attach", "docker://taka", "--image", "busybox", "--bogus", "sleep", "1"}, "unknown flag --bogus"},
	} {
		oneLineError(t, run(t, tc.args...), 125, tc.want)
	}
	nothingLeft(t, before)
}
