//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileRuntime is one runtime the impostor tests run against: how to
// start, kill and remove a busybox container, and what ctr-enter calls it.
type hostileRuntime struct {
	name  string
	start func(t *testing.T, name string) (id string, pid int)
	kill  func(t *testing.T, name string)
	ref   func(name string) string
}

var hostileRuntimes = []hostileRuntime{
	{
		name: "docker",
		start: func(t *testing.T, name string) (string, int) {
			sh(t, "docker", "run", "-d", "--name", name, "ctr-enter-test/busybox", "sleep", "1000000")
			t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
			return sh(t, "docker", "inspect", "-f", "{{.Id}}", name), dockerPID(t, name)
		},
		kill: func(t *testing.T, name string) { sh(t, "docker", "kill", name) },
		ref:  func(name string) string { return "docker://" + name },
	},
	{
		name: "containerd",
		start: func(t *testing.T, name string) (string, int) {
			sh(t, "ctr", "-n", "e2e", "run", "-d", "docker.io/ctr-enter-test/busybox:latest", name, "sleep", "1000000")
			t.Cleanup(func() {
				exec.Command("ctr", "-n", "e2e", "task", "kill", "-s", "KILL", name).Run()
				for i := 0; i < 50 && exec.Command("ctr", "-n", "e2e", "task", "rm", name).Run() != nil; i++ {
					time.Sleep(100 * time.Millisecond)
				}
				exec.Command("ctr", "-n", "e2e", "containers", "rm", name).Run()
			})
			return name, containerdPID(t, "e2e", name)
		},
		kill: func(t *testing.T, name string) { sh(t, "ctr", "-n", "e2e", "task", "kill", "-s", "KILL", name) },
		ref:  func(name string) string { return "containerd://e2e/" + name },
	},
}

// TestImpostorInAChildCgroupIsRefused is finding 5 of issue 10: a container
// that may create child cgroups names one after another container's ID and
// puts a process there. When the victim exits while ctr-enter is between
// resolving it and opening its PID, and that process gets the victim's PID,
// ctr-enter must refuse: the impostor's cgroup path holds the victim's ID,
// but it is not the victim's cgroup.
func TestImpostorInAChildCgroupIsRefused(t *testing.T) {
	for _, rt := range hostileRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			victim, attacker := "e2e-evil-victim-"+rt.name, "e2e-evil-attacker-"+rt.name
			victimID, victimPID := rt.start(t, victim)
			_, attackerPID := rt.start(t, attacker)

			r, marker := raceImpostor(t, rt, victim, victimPID, func() []string {
				// /ATTACKER-CGROUP/VICTIM-ID in every hierarchy.
				var dirs []string
				for _, d := range cgroupDirs(t, attackerPID) {
					dirs = append(dirs, makeCgroup(t, filepath.Join(d, victimID)))
				}
				return dirs
			}, attackerPID)
			if r.code != 125 || !strings.Contains(r.stderr, "reused") || !strings.Contains(r.stderr, "cgroup") {
				t.Errorf("an impostor in a child cgroup named after the victim was not refused for its cgroup:\n%v", r)
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d/root%s", attackerPID, marker)); err == nil {
				t.Errorf("the command ran in the impostor")
			}
		})
	}
}

// TestImpostorInTheVictimsCgroupIsRefused puts the process that takes the
// victim's PID into a cgroup of the victim's exact path, made again after
// the runtime removed it: only the start time, recorded when the runtime
// named the PID, tells the two apart.
func TestImpostorInTheVictimsCgroupIsRefused(t *testing.T) {
	for _, rt := range hostileRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			victim, attacker := "e2e-evil-victim2-"+rt.name, "e2e-evil-attacker2-"+rt.name
			_, victimPID := rt.start(t, victim)
			_, attackerPID := rt.start(t, attacker)
			victimDirs := cgroupDirs(t, victimPID)

			r, marker := raceImpostor(t, rt, victim, victimPID, func() []string {
				// Docker has the runtime remove the cgroup at once; ctr
				// run -d leaves it until the task is deleted.
				for i := 0; i < 30; i++ {
					if _, err := os.Stat(victimDirs[0]); os.IsNotExist(err) {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				var dirs []string
				for _, d := range victimDirs {
					dirs = append(dirs, makeCgroup(t, d))
				}
				return dirs
			}, attackerPID)
			if r.code != 125 || !strings.Contains(r.stderr, "reused") || !strings.Contains(r.stderr, "started") {
				t.Errorf("an impostor in the victim's own cgroup was not refused for its start time:\n%v", r)
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d/root%s", attackerPID, marker)); err == nil {
				t.Errorf("the command ran in the impostor")
			}
		})
	}
}

// raceImpostor stops ctr-enter between resolving victim and opening its
// PID, kills the victim, gives its PID to a process in the cgroups that
// cgroups returns and in the namespaces (but the pid one) of nsPID, and
// lets ctr-enter go on. It returns ctr-enter's result and the file its
// command would have made.
func raceImpostor(t *testing.T, rt hostileRuntime, victim string, victimPID int, cgroups func() []string, nsPID int) (result, string) {
	t.Helper()
	marker := fmt.Sprintf("/tmp/e2e-evil-joined-%d", time.Now().UnixNano())
	cmd := command(rt.ref(victim), "--", "touch", marker)
	cmd.Env = append(cmd.Env, "CTR_ENTER_TEST_STOP=before-open")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "ctr-enter to stop itself", func() bool {
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
		i := strings.LastIndexByte(string(st), ')')
		return i > 0 && strings.HasPrefix(string(st[i+2:]), "T")
	})

	rt.kill(t, victim)
	waitFor(t, "the victim's PID to be free", func() bool {
		_, err := os.Stat(fmt.Sprintf("/proc/%d", victimPID))
		return os.IsNotExist(err)
	})
	dirs := cgroups()
	impostor := recyclePIDInto(t, victimPID, dirs, nsPID)
	defer func() { impostor.Process.Kill(); impostor.Wait() }()
	t.Logf("impostor %d: %s", victimPID, strings.ReplaceAll(sh(t, "cat", fmt.Sprintf("/proc/%d/cgroup", victimPID)), "\n", " "))

	cmd.Process.Signal(syscall.SIGCONT)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("ctr-enter did not finish in 60s")
	}
	r := result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
	t.Logf("ctr-enter: exit %d: %s", r.code, strings.TrimSpace(r.stderr))
	return r, marker
}

// recyclePIDInto starts a process that gets exactly pid (through
// ns_last_pid), moves itself into the cgroups dirs, and then executes sleep
// in the mount, UTS, IPC and network namespaces of nsPID: a process of that
// container as far as anything but its pid namespace can tell.
func recyclePIDInto(t *testing.T, pid int, dirs []string, nsPID int) *exec.Cmd {
	t.Helper()
	script := `for d in "$@"; do echo $$ > "$d/cgroup.procs" || exit 1; done; exec nsenter -t ` + strconv.Itoa(nsPID) + ` -m -u -i -n sleep 1000000`
	return recyclePIDWith(t, pid, func() *exec.Cmd {
		c := exec.Command("sh", append([]string{"-c", script, "sh"}, dirs...)...)
		c.Stderr = os.Stderr
		return c
	})
}

// cgroupDirs are the directories of pid's cgroups, one per hierarchy
// mounted on the host, from /proc/PID/cgroup and the host's mountinfo.
func cgroupDirs(t *testing.T, pid int) []string {
	t.Helper()
	mounts := map[string]string{} // "0" for v2, else the controllers as in /proc/PID/cgroup
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(mi), "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 || f[3] != "/" {
			continue
		}
		switch g[0] {
		case "cgroup2":
			mounts["0"] = f[4]
		case "cgroup":
			var ctrls []string
			for _, o := range strings.Split(g[2], ",") {
				switch {
				case strings.HasPrefix(o, "name="):
					ctrls = append(ctrls, o)
				case strings.Contains(o, "="), mountOptions[o]:
				default:
					ctrls = append(ctrls, o)
				}
			}
			mounts[strings.Join(ctrls, ",")] = f[4]
		}
	}
	var dirs []string
	for _, l := range strings.Split(sh(t, "cat", fmt.Sprintf("/proc/%d/cgroup", pid)), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		key := f[1]
		if f[0] == "0" {
			key = "0"
		}
		mnt, ok := mounts[key]
		if !ok {
			t.Fatalf("hierarchy %q of pid %d is not mounted here", l, pid)
		}
		dirs = append(dirs, filepath.Join(mnt, f[2]))
	}
	return dirs
}

// mountOptions are the cgroup v1 super options that are not controllers.
var mountOptions = map[string]bool{"rw": true, "ro": true, "xattr": true, "noprefix": true, "clone_children": true, "cpuset_v2_mode": true, "favordynmods": true}

// makeCgroup makes dir a cgroup the test can put a process in, and removes
// it after the test (after the impostor is gone), unless it was there.
func makeCgroup(t *testing.T, dir string) string {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); errors.Is(err, os.ErrExist) {
		return dir
	} else if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 50 && os.Remove(dir) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	// A v1 cpuset starts with no CPUs and no memory nodes, and takes no
	// process until given some.
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(dir), f)); err == nil {
			if err := os.WriteFile(filepath.Join(dir, f), b, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// TestNameShadowingAnIDPrefixIsAmbiguous is finding 6 of issue 10: a
// container named after another container's ID prefix (a Docker name, or a
// nerdctl/name label, which CRI copies from image labels) must not take the
// prefix over: the word is ambiguous, and the explicit full ID still works.
func TestNameShadowingAnIDPrefixIsAmbiguous(t *testing.T) {
	real := "e2e-evil-real"
	sh(t, "docker", "run", "-d", "--name", real, "ctr-enter-test/busybox", "sleep", "1000000")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", real).Run() })
	id := sh(t, "docker", "inspect", "-f", "{{.Id}}", real)
	prefix := id[:12]

	for _, tc := range []struct {
		name, shadow string
		start        func(t *testing.T)
	}{
		{"docker name", "docker://" + prefix, func(t *testing.T) {
			sh(t, "docker", "run", "-d", "--name", prefix, "ctr-enter-test/busybox", "sleep", "1000000")
			t.Cleanup(func() { exec.Command("docker", "rm", "-f", prefix).Run() })
		}},
		{"nerdctl/name label", "containerd://e2e/e2e-evil-shadow", func(t *testing.T) {
			sh(t, "ctr", "-n", "e2e", "run", "-d", "--label", "nerdctl/name="+prefix, "docker.io/ctr-enter-test/busybox:latest", "e2e-evil-shadow", "sleep", "1000000")
			t.Cleanup(func() {
				exec.Command("ctr", "-n", "e2e", "task", "kill", "-s", "KILL", "e2e-evil-shadow").Run()
				for i := 0; i < 50 && exec.Command("ctr", "-n", "e2e", "task", "rm", "e2e-evil-shadow").Run() != nil; i++ {
					time.Sleep(100 * time.Millisecond)
				}
				exec.Command("ctr", "-n", "e2e", "containers", "rm", "e2e-evil-shadow").Run()
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.start(t)
			r := run(t, prefix, "--", "true")
			t.Logf("ctr-enter %s: exit %d: %s", prefix, r.code, strings.TrimSpace(r.stderr))
			oneLineError(t, r, 125, "ambiguous target: "+prefix+" matches 2 targets")
			for _, c := range []string{"docker://" + real, tc.shadow} {
				if !strings.Contains(r.stderr, c) {
					t.Errorf("candidate %s not listed:\n%v", c, r)
				}
			}
			if r := run(t, "docker://"+id, "--uts", "--", "hostname"); r.code != 0 || r.stdout != id[:12]+"\n" {
				t.Errorf("docker://FULL-ID did not enter the real container:\n%v", r)
			}
		})
	}
}
