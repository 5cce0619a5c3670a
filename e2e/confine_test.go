//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// statusLines are the lines of /proc/PID/status that say what a process may
// do.
var statusLines = []string{"Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:", "Seccomp_filters:"}

func privileges(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		for _, k := range statusLines {
			if len(f) > 0 && f[0] == k {
				m[k] = strings.Join(f[1:], " ")
			}
		}
	}
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	m["cgroup"] = string(cg)
	return m
}

func TestAsTargetTakesOnTheTargetsConfinement(t *testing.T) {
	// A confined target: another user, groups, few capabilities,
	// no_new_privs, and a seccomp profile that forbids mkdir.
	profile := filepath.Join(t.TempDir(), "no-mkdir.json")
	if err := os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	sh(t, "docker", "run", "-d", "--name", "e2e-confined", "--user", "1000:1000", "--group-add", "2000",
		"--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "--security-opt", "no-new-privileges",
		"--security-opt", "seccomp="+profile, "--pids-limit", "50", "ctr-enter-test/busybox", "sleep", "1000000")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", "e2e-confined").Run() })

	targets := map[string]int{
		"docker://e2e-confined":   dockerPID(t, "e2e-confined"),
		"docker://taka":           dockerPID(t, "taka"),
		"containerd://e2e/userns": containerdPID(t, "e2e", "userns"),
	}
	for ref, tpid := range targets {
		t.Run(ref, func(t *testing.T) {
			want := privileges(t, tpid)
			got := privileges(t, startPayload(t, sleepIn(ref, "--as-target")))
			for _, k := range append(statusLines, "cgroup") {
				if got[k] != want[k] {
					t.Errorf("%s of the payload is %q, want the target's %q", k, got[k], want[k])
				}
			}
		})
	}

	// Without --as-target the command keeps ctr-enter's privileges: the
	// comparison above is not vacuous.
	ours := privileges(t, startPayload(t, sleepIn("docker://e2e-confined")))
	theirs := privileges(t, targets["docker://e2e-confined"])
	for _, k := range []string{"Uid:", "CapBnd:", "NoNewPrivs:", "Seccomp_filters:", "cgroup"} {
		if ours[k] == theirs[k] {
			t.Errorf("without --as-target, %s is the target's (%q)", k, ours[k])
		}
	}

	// And the seccomp filter bites.
	if r := run(t, "docker://e2e-confined", "--as-target", "--", "mkdir", "/tmp/e2e-denied"); r.code == 0 {
		t.Errorf("mkdir was allowed under the target's seccomp filter: %v", r)
	}
	if r := run(t, "docker://e2e-confined", "--", "mkdir", "/tmp/e2e-allowed"); r.code != 0 {
		t.Errorf("mkdir failed with ctr-enter's own privileges: %v", r)
	}
}

func TestUserFlag(t *testing.T) {
	for _, ref := range takas {
		r := run(t, ref, "-u", "nobody", "--", "sh", "-c", "id; grep CapEff /proc/self/status")
		if r.code != 0 || !strings.Contains(r.stdout, "uid=65534(nobody) gid=65534(nogroup)") || !strings.Contains(r.stdout, "CapEff:\t0000000000000000") {
			t.Errorf("%s -u nobody: %v", ref, r)
		}
		r = run(t, ref, "-u", "1234:5678", "--", "id")
		if r.code != 0 || strings.TrimSpace(r.stdout) != "uid=1234 gid=5678 groups=5678" {
			t.Errorf("%s -u 1234:5678: %v", ref, r)
		}
	}
	oneLineError(t, run(t, "docker://taka", "-u", "nosuch", "--", "id"), 125, `no user "nosuch"`)
	oneLineError(t, run(t, "docker://taka", "-u", "nobody:nosuch", "--", "id"), 125, `no group "nosuch"`)
	oneLineError(t, run(t, "docker://taka", "-u", "nobody", "--as-target", "--", "id"), 125, "exclude each other")
}
