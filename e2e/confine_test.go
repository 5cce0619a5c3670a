//go:build e2e

package e2e

import (
	"testing"
)

func TestAsTargetTakesOnTheTargetsConfinement(t *testing.T) {
	// A confined target: another user, groups, few capabilities,
	// no_new_privs, and a seccomp profile that forbids mkdir.
	profile := noMkdirProfile(t)
	startDocker(t, "e2e-confined", "--user", "1000:1000", "--group-add", "2000",
		"--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "--security-opt", "no-new-privileges",
		"--security-opt", "seccomp="+profile, "--pids-limit", "50", "ctr-enter-test/busybox", "sleep", "1000000")

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
