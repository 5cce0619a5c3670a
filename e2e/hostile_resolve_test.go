//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The race of issue 10's findings 5 and 6 and of TestRecycledPIDIsRefused:
// ctr-enter is stopped between resolving a container and opening its PID;
// the container is killed, its PID is given to another process, and
// ctr-enter goes on. It must refuse, not join the impostor.

// pidRace is one run of that race.
type pidRace struct {
	ref       string           // the victim, as ctr-enter is told
	victimPID int              // its PID, which the impostor gets
	kill      func()           // kills the victim
	impostor  func() *exec.Cmd // starts a process that gets victimPID
	// root is the PID whose /proc/PID/root the command would have made
	// its file in, had it run in the impostor.
	root int
}

// refused runs the race and checks that ctr-enter refused the impostor:
// exit 125 and an error that says the PID was reused, and holds each of
// why; and that the command did not run. failure says what it means if
// not.
func (race pidRace) refused(t *testing.T, failure string, why ...string) {
	t.Helper()
	marker := fmt.Sprintf("/tmp/e2e-joined-%d", time.Now().UnixNano())
	cmd := command(race.ref, "--", "touch", marker)
	cmd.Env = append(cmd.Env, "CTR_ENTER_TEST_STOP=before-open")
	session := startRun(t, cmd)
	defer cmd.Process.Kill()
	waitStopped(t, cmd.Process.Pid)

	race.kill()
	waitFor(t, "the victim's PID to be free", func() bool {
		_, err := os.Stat(fmt.Sprintf("/proc/%d", race.victimPID))
		return os.IsNotExist(err)
	})
	impostor := race.impostor()
	defer func() { impostor.Process.Kill(); impostor.Wait() }()
	t.Logf("impostor %d: %s", race.victimPID, strings.ReplaceAll(sh(t, "cat", fmt.Sprintf("/proc/%d/cgroup", race.victimPID)), "\n", " "))

	cmd.Process.Signal(syscall.SIGCONT)
	r := session.wait(t)
	t.Logf("ctr-enter: exit %d: %s", r.code, strings.TrimSpace(r.stderr))
	refused := r.code == 125 && strings.Contains(r.stderr, "reused")
	for _, w := range why {
		refused = refused && strings.Contains(r.stderr, w)
	}
	if !refused {
		t.Errorf("%s:\n%v", failure, r)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/root%s", race.root, marker)); err == nil {
		t.Errorf("the command ran in the impostor")
	}
}

// TestRecycledPIDIsRefused: the impostor is an unrelated process of the
// host's.
func TestRecycledPIDIsRefused(t *testing.T) {
	victim := dockerRuntime.start(t, "e2e-recycled")
	pidRace{
		ref:       dockerRuntime.ref(victim.name),
		victimPID: victim.pid,
		kill:      func() { dockerRuntime.kill(t, victim.name) },
		impostor:  func() *exec.Cmd { return recyclePID(t, victim.pid) },
		root:      victim.pid,
	}.refused(t, "joining a recycled PID was not refused")
}

// impostorRaces plays the race against each default runtime, with an
// impostor that is a process of another container, the attacker: in its
// namespaces but the pid one, and in the cgroups that cgroups makes (it is
// called while the victim runs, what it returns once the victim is dead).
// The containers' names end in suffix; failure and why are refused's.
func impostorRaces(t *testing.T, suffix string, cgroups func(t *testing.T, victim, attacker container) func() []string, failure string, why ...string) {
	forEachRuntime(t, defaultRuntimes, func(t *testing.T, rt containerRuntime) {
		victim := rt.start(t, "e2e-evil-victim"+suffix+"-"+rt.name)
		attacker := rt.start(t, "e2e-evil-attacker"+suffix+"-"+rt.name)
		dirs := cgroups(t, victim, attacker)
		pidRace{
			ref:       rt.ref(victim.name),
			victimPID: victim.pid,
			kill:      func() { rt.kill(t, victim.name) },
			impostor:  func() *exec.Cmd { return recyclePIDInto(t, victim.pid, dirs(), attacker.pid) },
			root:      attacker.pid,
		}.refused(t, failure, why...)
	})
}

// TestImpostorInAChildCgroupIsRefused is finding 5 of issue 10: a container
// that may create child cgroups names one after another container's ID and
// puts a process there. When the victim exits while ctr-enter is between
// resolving it and opening its PID, and that process gets the victim's PID,
// ctr-enter must refuse: the impostor's cgroup path holds the victim's ID,
// but it is not the victim's cgroup.
func TestImpostorInAChildCgroupIsRefused(t *testing.T) {
	impostorRaces(t, "", func(t *testing.T, victim, attacker container) func() []string {
		return func() []string {
			// /ATTACKER-CGROUP/VICTIM-ID in every hierarchy.
			var dirs []string
			for _, d := range cgroupDirs(t, attacker.pid) {
				dirs = append(dirs, makeCgroup(t, filepath.Join(d, victim.id)))
			}
			return dirs
		}
	}, "an impostor in a child cgroup named after the victim was not refused for its cgroup", "cgroup")
}

// TestImpostorInTheVictimsCgroupIsRefused puts the process that takes the
// victim's PID into a cgroup of the victim's exact path, made again after
// the runtime removed it: only the start time, recorded when the runtime
// named the PID, tells the two apart.
func TestImpostorInTheVictimsCgroupIsRefused(t *testing.T) {
	impostorRaces(t, "2", func(t *testing.T, victim, _ container) func() []string {
		victimDirs := cgroupDirs(t, victim.pid)
		return func() []string {
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
		}
	}, "an impostor in the victim's own cgroup was not refused for its start time", "started")
}

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
	id := dockerRuntime.start(t, real).id
	prefix := id[:12]

	for _, tc := range []struct {
		name, shadow string
		start        func(t *testing.T)
	}{
		{"docker name", "docker://" + prefix, func(t *testing.T) {
			startDocker(t, prefix, "ctr-enter-test/busybox", "sleep", "1000000")
		}},
		{"nerdctl/name label", "containerd://e2e/e2e-evil-shadow", func(t *testing.T) {
			containerdRuntime.run(t, "-n", "e2e", "run", "-d", "--label", "nerdctl/name="+prefix, "docker.io/ctr-enter-test/busybox:latest", "e2e-evil-shadow", "sleep", "1000000")
			t.Cleanup(func() { containerdRuntime.remove(t, "e2e-evil-shadow") })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.start(t)
			r := run(t, prefix, "--", "true")
			t.Logf("ctr-enter %s: exit %d: %s", prefix, r.code, strings.TrimSpace(r.stderr))
			ambiguous(t, r, "ambiguous target: "+prefix+" matches 2 targets", "docker://"+real, tc.shadow)
			if r := run(t, "docker://"+id, "--uts", "--", "hostname"); r.code != 0 || r.stdout != id[:12]+"\n" {
				t.Errorf("docker://FULL-ID did not enter the real container:\n%v", r)
			}
		})
	}
}
