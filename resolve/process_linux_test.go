package resolve

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/ctr-enter/ctr-enter/runtimes"
)

// openChild starts a process of our own and opens it as a bare-PID target,
// as Resolve and Open would: no root needed.
func openChild(t *testing.T) (*Process, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	tg := &Target{Container: &runtimes.Container{Runtime: PID, ID: strconv.Itoa(cmd.Process.Pid), PID: cmd.Process.Pid, Running: true}}
	var err error
	if tg.startTime, err = readStartTime(tg); err != nil {
		t.Fatal(err)
	}
	tg.started = true
	p, err := tg.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, cmd
}

func TestProcessFacts(t *testing.T) {
	p, _ := openChild(t)
	st, err := p.Stat()
	if err != nil || st.PPID != os.Getpid() || st.StartTime != p.startTime {
		t.Errorf("Stat = %+v, %v; want our child, started at %d", st, err, p.startTime)
	}
	creds, err := p.Credentials()
	if err != nil || creds.Uids[0] != os.Getuid() || creds.Gids[0] != os.Getgid() {
		t.Errorf("Credentials = %+v, %v; want uid %d gid %d", creds, err, os.Getuid(), os.Getgid())
	}
	uidMap, gidMap, err := p.IDMaps()
	if err != nil || len(uidMap) == 0 || len(gidMap) == 0 {
		t.Errorf("IDMaps = %v, %v, %v", uidMap, gidMap, err)
	}
	if m, err := p.Membership(); err != nil || len(m.Lines) == 0 {
		t.Errorf("Membership = %+v, %v", m, err)
	}
	if env, err := p.Environ(); err != nil || (len(os.Environ()) > 0 && len(env) == 0) {
		t.Errorf("Environ = %q, %v", env, err)
	}
}

// TestProcessFactsOfAGoneTarget checks that once the target is reaped no
// fact is returned: what would be read could be another process's.
func TestProcessFactsOfAGoneTarget(t *testing.T) {
	p, cmd := openChild(t)
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := p.Stat(); !errors.Is(err, ErrVanished) {
		t.Errorf("Stat: %v, want ErrVanished", err)
	}
	if _, err := p.Credentials(); !errors.Is(err, ErrVanished) {
		t.Errorf("Credentials: %v, want ErrVanished", err)
	}
	if _, _, err := p.IDMaps(); !errors.Is(err, ErrVanished) {
		t.Errorf("IDMaps: %v, want ErrVanished", err)
	}
	if _, err := p.Membership(); !errors.Is(err, ErrVanished) {
		t.Errorf("Membership: %v, want ErrVanished", err)
	}
	if _, err := p.Environ(); !errors.Is(err, ErrVanished) {
		t.Errorf("Environ: %v, want ErrVanished", err)
	}
}

// TestOpenRefusesAnotherStartTime: a process that started at another time
// than the one the runtime named is not the target.
func TestOpenRefusesAnotherStartTime(t *testing.T) {
	p, _ := openChild(t)
	tg := *p.Target
	tg.startTime++
	if q, err := tg.Open(); !errors.Is(err, ErrVanished) {
		if q != nil {
			q.Close()
		}
		t.Errorf("Open with a wrong start time: %v, want ErrVanished", err)
	}
}
