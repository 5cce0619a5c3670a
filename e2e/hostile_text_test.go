//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHostileText: a container whose labels, environment, arguments,
// process name and cgroup path carry terminal escape sequences and newlines
// gets none of them to the operator's terminal through inspect or ls.
func TestHostileText(t *testing.T) {
	const name = "e2e-evil-text"
	// The container moves itself into a child cgroup named with escape
	// sequences (the kernel refuses a newline there), as any container
	// that can write its cgroupfs can, then renames its shell through
	// /proc/self/comm, newline included; its argument and environment
	// carry the same.
	script := `n=$(printf 'x\033]0;pwned\007\033[2J')
for c in memory pids; do
	p=$(sed -n "s/^[0-9]*:$c:\(.*\)/\1/p" /proc/self/cgroup)
	mkdir "/sys/fs/cgroup/$c$p/$n" && echo $$ > "/sys/fs/cgroup/$c$p/$n/cgroup.procs"
done
printf 'a\033[2Jb\nforged' > /proc/self/comm
while :; do sleep 1000; done`
	exec.Command("docker", "rm", "-f", name).Run()
	sh(t, "docker", "run", "-d", "--name", name, "-v", "/sys/fs/cgroup:/sys/fs/cgroup",
		"--label", "evil\x1b]0;pwned\x07=x\nforged-label",
		"-e", "EVIL=a\x1b[2J\nforged-env\r",
		"ctr-enter-test/busybox", "sh", "-c", script, "arg\x1b[2J\nforged-arg")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	pid := dockerPID(t, name)
	waitFor(t, "the container to rename itself", func() bool {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		return strings.Contains(string(comm), "forged") && strings.Contains(string(cg), "pwned")
	})

	for _, args := range [][]string{{"inspect", "docker://" + name}, {"ls"}} {
		r := run(t, args...)
		if r.code != 0 {
			t.Errorf("%v: %v", args, r)
			continue
		}
		if args[0] == "inspect" && !strings.Contains(r.stdout, "pwned") {
			t.Errorf("%v does not show the cgroup path at all:\n%s", args, r.stdout)
		}
		checkNoControl(t, strings.Join(args, " ")+" stdout", r.stdout)
		checkNoControl(t, strings.Join(args, " ")+" stderr", r.stderr)
	}
}

// checkNoControl fails if out holds an escape or any control character but
// the newlines that end lines, or a line a newline from a target forged.
func checkNoControl(t *testing.T, what, out string) {
	t.Helper()
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "forged") {
			t.Errorf("%s: line %d is forged: %q", what, i+1, line)
		}
		for _, r := range line {
			if (r < 0x20 && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Errorf("%s: line %d holds %U: %q", what, i+1, r, line)
				break
			}
		}
	}
}
