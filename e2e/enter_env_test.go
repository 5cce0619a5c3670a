//go:build e2e

package e2e

// What the command starts with: the target's environment and working
// directory, the user it runs as, and no more than stdio of the host's.

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestEnvironmentIsTheTargetsNotTheHosts(t *testing.T) {
	forEachRef(t, takas, func(t *testing.T, ref string) {
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

func TestEnvFlag(t *testing.T) {
	r := run(t, "docker://taka", "-e", "LIST=a,b", "-e", "TAKA_VAR=overridden", "--", "sh", "-c", `echo "$LIST $TAKA_VAR"`)
	if r.code != 0 || r.stdout != "a,b overridden\n" {
		t.Errorf("-e: %v", r)
	}
}

func TestWorkingDirectory(t *testing.T) {
	startDocker(t, "e2e-workdir", "-w", "/usr/share", "ctr-enter-test/busybox", "sleep", "1000000")
	r := run(t, "docker://e2e-workdir", "--", "pwd")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "/usr/share" {
		t.Errorf("pwd = %q, want the target's WorkingDir /usr/share\n%v", r.stdout, r)
	}
	r = run(t, "docker://e2e-workdir", "-w", "/etc", "--", "pwd")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "/etc" {
		t.Errorf("pwd with -w /etc = %q\n%v", r.stdout, r)
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
