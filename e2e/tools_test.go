//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

var noshells = []string{"docker://noshell", "containerd://e2e/noshell"}

// TestShellWithToolsInNoShellTarget: the targets are one static binary
// with a read-only root and nothing else. A shell comes from ctr-enter's
// own tools, sees the target's files, processes and interfaces, and the
// target's own mount table does not change.
func TestShellWithToolsInNoShellTarget(t *testing.T) {
	for _, ref := range noshells {
		t.Run(ref, func(t *testing.T) {
			pid := noshellPID(t, ref)
			mountinfo := func() string { return sh(t, "cat", fmt.Sprintf("/proc/%d/mountinfo", pid)) }
			before := mountinfo()
			// The target's interfaces, from the host.
			ifaces := regexp.MustCompile(`(?m)^\d+: ([^:@ ]+)`).FindAllStringSubmatch(sh(t, "nsenter", "-t", fmt.Sprint(pid), "-n", "ip", "-o", "link"), -1)
			if len(ifaces) == 0 {
				t.Fatal("no interfaces in the target")
			}

			o := startOperator(t, ref)
			m := o.expect(0, `[#$] $`)
			o.send("ls /; echo LS-DONE\n")
			m = o.expect(m, `(?s)pause.*LS-DONE`)
			o.send("ps -e -o pid,args\n")
			m = o.expect(m, `(?m)^\s*1\s+/pause`)
			o.send("ip -o link; echo IP-$((1+1))-DONE\n")
			end := o.expect(m, `IP-2-DONE\r\n`)
			for _, iface := range ifaces {
				if !strings.Contains(o.output()[m:end], ": "+iface[1]) {
					t.Errorf("interface %s not seen in the session: %q", iface[1], o.output()[m:end])
				}
			}
			m = end
			o.send("exit 7\n")
			if code := o.wait(); code != 7 {
				t.Errorf("exit status %d, want 7", code)
			}
			if after := mountinfo(); after != before {
				t.Errorf("the target's mount table changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			noToolMounts(t)
		})
	}
}

// TestToolsAreReadOnlyToTheTarget: a target with CAP_SYS_PTRACE reaches a
// session's files through /proc/PID/root and /proc/PID/exe. Opening a tool
// for writing from there must fail, the target's root being uid 0 on the
// host.
func TestToolsAreReadOnlyToTheTarget(t *testing.T) {
	sh(t, "docker", "run", "-d", "--name", "e2e-tools-ptrace", "--cap-add", "SYS_PTRACE", "--security-opt", "apparmor=unconfined",
		"ctr-enter-test/busybox", "sleep", "1000000")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", "e2e-tools-ptrace").Run() })
	tool, err := filepath.EvalSymlinks("/usr/bin/env")
	if err != nil {
		t.Fatal(err)
	}
	before := digest(t, tool)
	session := command("docker://e2e-tools-ptrace", "--tools", "--", ToolsDir+"/bin/sleep", "1000")
	spid := innerPID(t, startPayload(t, session))
	// ": >>" opens for appending and writes nothing: if it succeeds, the
	// host's file was writable, and is still unchanged.
	for _, path := range []string{
		fmt.Sprintf("/proc/%d/root%s/bin/env", spid, ToolsDir),
		fmt.Sprintf("/proc/%d/exe", spid),
	} {
		out, _ := exec.Command("docker", "exec", "e2e-tools-ptrace", "sh", "-c", fmt.Sprintf(": >> %s && echo WRITABLE", path)).CombinedOutput()
		if r := string(out); strings.Contains(r, "WRITABLE") || !strings.Contains(r, "Read-only file system") {
			t.Errorf("writing %s from the target: %s", path, r)
		}
	}
	if after := digest(t, tool); after != before {
		t.Errorf("%s changed", tool)
	}
	session.Process.Signal(syscall.SIGTERM)
	session.Wait()
	noToolMounts(t)
}

// TestToolsWithNonRootTarget: a target running as uid 1000 with a read-only
// root and no shell: the tools work as the target's user too.
func TestToolsWithNonRootTarget(t *testing.T) {
	sh(t, "docker", "run", "-d", "--name", "e2e-nonroot", "--user", "1000:1000", "--read-only", "ctr-enter-test/noshell")
	t.Cleanup(func() { sh(t, "docker", "rm", "-f", "e2e-nonroot") })
	if r := run(t, "docker://e2e-nonroot", "--as-target", "--tools", "--", "id", "-u"); r.code != 0 || strings.TrimSpace(r.stdout) != "1000" {
		t.Errorf("id -u as the target: %v", r)
	}
	if r := run(t, "docker://e2e-nonroot", "--tools", "--", "cat", "/proc/1/status"); r.code != 0 || !regexpMatch(`(?m)^Uid:\s+1000\s`, r.stdout) {
		t.Errorf("the target's status: %v", r)
	}
	noToolMounts(t)
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

func noshellPID(t *testing.T, ref string) int {
	if strings.HasPrefix(ref, "docker://") {
		return dockerPID(t, "noshell")
	}
	return containerdPID(t, "e2e", "noshell")
}

// innerPID is the PID a host process has in its innermost pid namespace.
func innerPID(t *testing.T, pid int) int {
	t.Helper()
	status := sh(t, "cat", fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(status, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "NSpid:" {
			n, err := strconv.Atoi(f[len(f)-1])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no NSpid in /proc/%d/status", pid)
	return 0
}
