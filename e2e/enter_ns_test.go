//go:build e2e

package e2e

// Joining namespaces: each kind alone, all eight, and what the command
// then sees of the target.

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

var kinds = []string{"mnt", "uts", "ipc", "net", "pid", "user", "cgroup", "time"}

func TestPsShowsTargetProcesses(t *testing.T) {
	forEachRef(t, takas, func(t *testing.T, ref string) {
		r := run(t, ref, "--net", "--pid", "--", "ps", "aux")
		if r.code != 0 {
			t.Fatalf("%v", r)
		}
		var pid1 string
		for _, line := range strings.Split(r.stdout, "\n")[1:] {
			if f := strings.Fields(line); len(f) > 10 && f[1] == "1" {
				pid1 = strings.Join(f[10:], " ")
			}
		}
		if !strings.HasPrefix(pid1, "redis-server") {
			t.Errorf("PID 1 is %q, want redis-server\n%v", pid1, r)
		}
	})
}

func TestEachNamespaceKindAlone(t *testing.T) {
	targets := map[string]int{
		"docker://taka":           dockerPID(t, "taka"),
		"containerd://e2e/userns": containerdPID(t, "e2e", "userns"),
	}
	pid := allNamespaces(t)
	targets["pid:"+strconv.Itoa(pid)] = pid
	covered := map[string]bool{}
	for ref, tpid := range targets {
		for _, kind := range kinds {
			if nsInode(t, tpid, kind) == nsInode(t, "self", kind) {
				continue // shares it with the host: nothing to tell apart
			}
			covered[kind] = true
			t.Run(ref+"/"+kind, func(t *testing.T) {
				payload := startPayload(t, sleepIn(ref, flagFor(kind)))
				for _, k := range kinds {
					got, want := nsInode(t, payload, k), nsInode(t, "self", k)
					if k == kind {
						want = nsInode(t, tpid, k)
					}
					if kind == "pid" && k == "mnt" {
						// The pid namespace alone comes with a private
						// mount namespace holding the target's procfs.
						if got == want || got == nsInode(t, tpid, k) {
							t.Errorf("pid alone: the payload's mount namespace %d is not a private one", got)
						}
						continue
					}
					if got != want {
						t.Errorf("%s namespace of the payload is %d, want %d (the %s's)", k, got, want,
							map[bool]string{true: "target", false: "host"}[k == kind])
					}
				}
			})
		}
	}
	for _, kind := range kinds {
		if !covered[kind] {
			t.Errorf("no target has its own %s namespace: the test environment is incomplete", kind)
		}
	}
}

// allNamespaces starts a process with all eight namespaces of its own, as a
// bare-PID target: no runtime here makes a time namespace.
func allNamespaces(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--mount", "--uts", "--ipc", "--net",
		"--pid", "--cgroup", "--time", "--fork", "--kill-child", "--mount-proc", "sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return waitDescendant(t, "the unshared sleep", cmd.Process.Pid, func(p int) bool {
		return nsInode(t, p, "time") != nsInode(t, "self", "time")
	})
}

// flagFor is the flag that joins a kind: nsenter's names, but --userns for
// user (--user is docker exec's user).
func flagFor(kind string) string {
	switch kind {
	case "mnt":
		return "--mount"
	case "user":
		return "--userns"
	}
	return "--" + kind
}

func TestAllEightShowTheTargetsUIDMap(t *testing.T) {
	var all []string
	for _, k := range kinds {
		all = append(all, flagFor(k))
	}
	r := run(t, append(append([]string{"containerd://e2e/userns"}, all...), "--", "cat", "/proc/self/uid_map")...)
	if got := strings.Fields(r.stdout); r.code != 0 || strings.Join(got, " ") != "0 100000 65536" {
		t.Errorf("uid_map in the userns container: %v", r)
	}
	pid := allNamespaces(t)
	r = run(t, append(append([]string{"pid:" + strconv.Itoa(pid)}, all...), "--", "cat", "/proc/self/uid_map")...)
	if got := strings.Fields(r.stdout); r.code != 0 || strings.Join(got, " ") != "0 0 1" {
		t.Errorf("uid_map in the unshared target: %v", r)
	}
	// The default (no kind named) joins every kind that differs.
	r = run(t, "containerd://e2e/userns", "--", "cat", "/proc/self/uid_map")
	if got := strings.Fields(r.stdout); r.code != 0 || strings.Join(got, " ") != "0 100000 65536" {
		t.Errorf("uid_map with the default namespaces: %v", r)
	}
}
