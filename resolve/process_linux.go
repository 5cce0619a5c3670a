package resolve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// Process is a target opened for joining. Pidfd names exactly the process
// that was validated, and can never come to mean another. Its /proc
// directory is opened once too, and read only through that handle: Check
// proves that both still name one live process, so that what was read was
// the target's (a PID number cannot belong to two live processes at once).
type Process struct {
	*Target
	Pidfd   *os.File
	procDir *os.File // /proc/PID
}

// Open turns the PID the runtime reported into a pidfd and checks that it
// is still the container's process: between the runtime's answer and
// pidfd_open the container may have exited and its PID been given to an
// unrelated process. Two checks: the process must be in the cgroup the
// runtime made for the container (the whole path: a cgroup merely named
// after the container may be another container's), and have the start time
// seen when the runtime named the PID.
func (t *Target) Open() (*Process, error) {
	fd, err := unix.PidfdOpen(t.PID, 0)
	switch {
	case errors.Is(err, unix.ESRCH):
		return nil, fmt.Errorf("%w: %s (pid %d) exited", ErrVanished, t, t.PID)
	case errors.Is(err, unix.ENOSYS):
		return nil, fmt.Errorf("pidfd_open: the kernel is too old (ctr-enter needs Linux 5.8 or later): %w", err)
	case err != nil:
		return nil, fmt.Errorf("pidfd_open %d: %w", t.PID, err)
	}
	p := &Process{Target: t, Pidfd: os.NewFile(uintptr(fd), "pidfd:"+strconv.Itoa(t.PID))}
	if p.procDir, err = os.Open(fmt.Sprintf("/proc/%d", t.PID)); err != nil {
		p.Pidfd.Close()
		return nil, fmt.Errorf("%w: %s (pid %d) exited", ErrVanished, t, t.PID)
	}
	if err := p.validate(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Process) Close() error {
	p.procDir.Close()
	return p.Pidfd.Close()
}

func (p *Process) validate() error {
	if !p.started {
		return fmt.Errorf("open %s: its process was not seen at resolution", p.Target)
	}
	stat, err := p.ReadProc("stat", 4096)
	if err != nil {
		return err
	}
	st, err := procfs.ParseStat(stat)
	if err != nil {
		return fmt.Errorf("read /proc/%d/stat: %w", p.PID, err)
	}
	if st.State == 'Z' || st.State == 'X' {
		return fmt.Errorf("%w: %s (pid %d) exited", ErrVanished, p.Target, p.PID)
	}
	if p.Runtime != PID {
		b, err := p.ReadProc("cgroup", 64<<10)
		if err != nil {
			return err
		}
		lines, err := procfs.ParseProcCgroup(b)
		if err != nil {
			return fmt.Errorf("read cgroup of pid %d: %w", p.PID, err)
		}
		if ok, got := inCgroup(lines, p.ConfiguredCgroups); !ok {
			return fmt.Errorf("%w: pid %d is no longer %s (its cgroup %s is not the container's %s; the PID was reused?)",
				ErrVanished, p.PID, p.Target, text.Clean(got), text.Clean(strings.Join(p.ConfiguredCgroups, " or ")))
		}
	}
	// The cgroup check alone would pass a process that took the PID and
	// was put in the container's cgroup made again (by the runtime, or
	// by root); the start time alone misses reuse within one clock tick.
	if st.StartTime != p.startTime {
		return fmt.Errorf("%w: pid %d is no longer %s (it started %d clock ticks after boot, the container's process %d; the PID was reused)",
			ErrVanished, p.PID, p.Target, st.StartTime, p.startTime)
	}
	return p.Check()
}

// readStartTime is the start time of t's process, when the runtime has
// just named it.
func readStartTime(t *Target) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", t.PID))
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return 0, fmt.Errorf("%w: %s (pid %d) exited", ErrVanished, t, t.PID)
	}
	if err != nil {
		return 0, err
	}
	st, err := procfs.ParseStat(b)
	if err != nil {
		return 0, fmt.Errorf("read /proc/%d/stat: %w", t.PID, err)
	}
	return st.StartTime, nil
}

// Check proves that the process behind the pidfd and the one behind the
// /proc directory are one and still there (not reaped), so that what was
// read from /proc before the call was read from the target. Both handles
// were made from the same PID number, which a second process can only get
// once the first is reaped; pidfd_send_signal takes either kind of handle.
func (p *Process) Check() error {
	for _, f := range []*os.File{p.Pidfd, p.procDir} {
		if err := unix.PidfdSendSignal(int(f.Fd()), 0, nil, 0); err != nil {
			return fmt.Errorf("%w: %s (pid %d) exited, or its PID was reused", ErrVanished, p.Target, p.PID)
		}
	}
	return nil
}

// ReadProc reads /proc/PID/name, bounded: the target controls how much some
// of these files hold. The caller must Check afterwards.
func (p *Process) ReadProc(name string, limit int64) ([]byte, error) {
	fd, err := unix.Openat(int(p.procDir.Fd()), name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, p.procError(name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return nil, p.procError(name, err)
	}
	return b, nil
}

// procError says a read of /proc failed because the process went away,
// where that is why.
func (p *Process) procError(name string, err error) error {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("%w: %s (pid %d) exited, or its PID was reused", ErrVanished, p.Target, p.PID)
	}
	return fmt.Errorf("read /proc/%d/%s: %w", p.PID, name, err)
}

// Environ is the environment the target's processes should see: the
// runtime's config, or for bare PIDs the process's initial environment.
func (p *Process) Environ() ([]string, error) {
	if p.Env != nil {
		return p.Env, nil
	}
	b, err := p.ReadProc("environ", 1<<20)
	if err != nil {
		return nil, err
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	var env []string
	for _, kv := range bytes.Split(b, []byte{0}) {
		if bytes.IndexByte(kv, '=') > 0 {
			env = append(env, string(kv))
		}
	}
	return env, nil
}

// NamespaceInode returns the inode of the target's namespace of the given
// kind (a /proc/PID/ns name), or os.ErrNotExist if the kernel lacks it. The
// caller must Check afterwards.
func (p *Process) NamespaceInode(kind string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(int(p.procDir.Fd()), "ns/"+kind, &st, 0); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return 0, os.ErrNotExist
		}
		return 0, p.procError("ns/"+kind, err)
	}
	return st.Ino, nil
}

// SharesNamespace says whether the target's namespace of the given kind is
// ctr-enter's own; os.ErrNotExist if the kernel lacks the kind. The caller
// must Check afterwards.
func (p *Process) SharesNamespace(kind string) (bool, error) {
	theirs, err := p.NamespaceInode(kind)
	if err != nil {
		return false, err
	}
	var ours unix.Stat_t
	if err := unix.Stat("/proc/self/ns/"+kind, &ours); err != nil {
		return false, fmt.Errorf("stat own %s namespace: %w", kind, err)
	}
	return theirs == ours.Ino, nil
}

// pidCandidate is the bare-process reading of a reference: a positive
// number that names a live process.
func pidCandidate(s string) *Target {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || strconv.Itoa(n) != s {
		return nil
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", n)); err != nil {
		return nil
	}
	return &Target{Container: &runtimes.Container{Runtime: PID, ID: s, Name: s, PID: n, Running: true}}
}

// Status parses the target's /proc/PID/status. The caller must Check
// afterwards.
func (p *Process) Status() (*procfs.Status, error) {
	b, err := p.ReadProc("status", 64<<10)
	if err != nil {
		return nil, err
	}
	return procfs.ParseStatus(b)
}

// Cgroups reads the target's cgroups, their limits and their usage,
// through this process's view of the cgroup mounts. The caller must Check
// afterwards.
func (p *Process) Cgroups() (*procfs.Cgroups, error) {
	cg, mi, err := p.cgroupFiles()
	if err != nil {
		return nil, err
	}
	return procfs.ReadCgroups(cg, mi, "/")
}

// CgroupDirs are the directories of the target's cgroup in every hierarchy
// mounted here. The caller must Check afterwards.
func (p *Process) CgroupDirs() ([]string, error) {
	cg, mi, err := p.cgroupFiles()
	if err != nil {
		return nil, err
	}
	return procfs.CgroupDirs(cg, mi)
}

// cgroupFiles are the target's /proc/PID/cgroup and this process's
// mountinfo, which says where the hierarchies are mounted.
func (p *Process) cgroupFiles() (cgroup, mountinfo []byte, err error) {
	if cgroup, err = p.ReadProc("cgroup", 64<<10); err != nil {
		return nil, nil, err
	}
	if mountinfo, err = os.ReadFile("/proc/self/mountinfo"); err != nil {
		return nil, nil, err
	}
	return cgroup, mountinfo, nil
}

// LSMLabel is the target's AppArmor or SELinux label, cleaned for printing;
// "" where no LSM labels processes (attr/current then fails with EINVAL).
func (p *Process) LSMLabel() string {
	b, err := p.ReadProc("attr/current", 4096)
	if err != nil {
		return ""
	}
	return text.Clean(strings.TrimSpace(strings.TrimRight(string(b), "\x00")))
}
