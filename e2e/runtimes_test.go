//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

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

// attachRuntime is one runtime that the attach tests run against: its
// taka, the global flags that pick its daemon, and its ctr.
type attachRuntime struct {
	name  string
	taka  string
	flags []string
	ctr   []string // nil for Docker
}

var attachRuntimes = []attachRuntime{
	{name: "docker", taka: "docker://taka"},
	{name: "containerd", taka: "containerd://e2e/taka", ctr: []string{"ctr"}},
	{name: "containerd2", taka: "containerd://e2e/taka", flags: []string{"--containerd-address", containerd2Sock}, ctr: ctr2()},
}

// args are ctr-enter's arguments for this runtime.
func (r attachRuntime) args(a ...string) []string {
	return append(append([]string{}, r.flags...), a...)
}

// ref is the explicit form of a container of this runtime named name.
func (r attachRuntime) ref(name string) string {
	if r.ctr == nil {
		return "docker://" + name
	}
	return "containerd://e2e/" + name
}

// pid is the host PID of the container name.
func (r attachRuntime) pid(t *testing.T, name string) int {
	t.Helper()
	if r.ctr == nil {
		return dockerPID(t, name)
	}
	return taskPID(t, r.ctr, "e2e", name)
}

// run runs ctr with args on this runtime's containerd, or docker.
func (r attachRuntime) run(t *testing.T, args ...string) string {
	t.Helper()
	if r.ctr == nil {
		return sh(t, "docker", args...)
	}
	return sh(t, r.ctr[0], append(append([]string{}, r.ctr[1:]...), args...)...)
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

// containerd2Up says whether containerd 2.x answers, for TestMain.
func containerd2Up() error {
	c := ctr2()
	return exec.Command(c[0], append(c[1:], "-n", "e2e", "task", "ls")...).Run()
}
