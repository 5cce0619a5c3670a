package procfs

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestProcSelf(t *testing.T) {
	p, err := OpenProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	st, err := p.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.PPID != os.Getppid() || st.StartTime == 0 {
		t.Errorf("Stat = %+v, want PPID %d and a start time", st, os.Getppid())
	}
	status, err := p.Status()
	if err != nil {
		t.Fatal(err)
	}
	if status.Uids[0] != os.Getuid() || status.Gids[0] != os.Getgid() || status.PPid != os.Getppid() {
		t.Errorf("Status = %+v, want uid %d gid %d ppid %d", status, os.Getuid(), os.Getgid(), os.Getppid())
	}
	if lines, err := p.Cgroup(); err != nil || len(lines) == 0 {
		t.Errorf("Cgroup = %v, %v", lines, err)
	}
	if uid, gid, err := p.IDMaps(); err != nil || len(uid) == 0 || len(gid) == 0 {
		t.Errorf("IDMaps = %v, %v, %v", uid, gid, err)
	}
	if _, err := p.LSMLabel(); err != nil {
		t.Errorf("LSMLabel: %v", err)
	}
	if env, err := p.Environ(); err != nil || (len(os.Environ()) > 0 && len(env) == 0) {
		t.Errorf("Environ = %q, %v", env, err)
	}
	if args, err := p.Cmdline(); err != nil || len(args) == 0 || args[0] != os.Args[0] {
		t.Errorf("Cmdline = %q, %v; want %q first", args, err, os.Args[0])
	}
	m, err := p.Membership()
	if err != nil || len(m.Lines) == 0 || len(m.Mounts) == 0 {
		t.Fatalf("Membership = %+v, %v", m, err)
	}
	// The state may have changed since (R, S): not the start time.
	if s, err := ReadStat(os.Getpid()); err != nil || s.StartTime != st.StartTime || s.PPID != st.PPID {
		t.Errorf("ReadStat = %+v, %v; want %+v", s, err, st)
	}
}

// TestProcOutlivesNoProcess checks the reason Proc exists: once its
// process is reaped, its files fail to read, rather than being read from
// whatever process has the PID by then.
func TestProcOutlivesNoProcess(t *testing.T) {
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	p, err := OpenProc(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Stat(); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if st, err := p.Stat(); err == nil {
		t.Errorf("Stat of a reaped process = %+v", st)
	}
	if _, err := ReadStat(cmd.Process.Pid); !errors.Is(err, os.ErrNotExist) {
		// The PID may have been given to another process already,
		// but hardly within these microseconds.
		t.Logf("ReadStat of a reaped PID: %v", err)
	}
}

// TestProcCmdlineCut checks that a long command line is cut, not refused.
func TestProcCmdlineCut(t *testing.T) {
	long := strings.Repeat("x", 2*cmdlineLimit)
	cmd := exec.Command("sh", "-c", "sleep 100", long)
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	p, err := OpenProc(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Until the exec, the command line is the test binary's.
	var args []string
	for range 100 {
		if args, err = p.Cmdline(); err != nil || (len(args) > 0 && args[0] == "sh") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(args) != 4 || args[2] != "sleep 100" || !strings.HasPrefix(long, args[3]) || len(strings.Join(args, "\x00")) != cmdlineLimit {
		t.Errorf("Cmdline = %d args, %d bytes: %.40q", len(args), len(strings.Join(args, "\x00")), args)
	}
}

func TestOpenProcMissing(t *testing.T) {
	for _, pid := range []int{0, -1, 1 << 30} {
		if _, err := OpenProc(pid); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("OpenProc(%d): %v, want not found", pid, err)
		}
	}
}
