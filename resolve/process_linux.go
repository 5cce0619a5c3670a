package resolve

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

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
//
// What it tells of the target (Stat, Credentials, IDMaps, Membership,
// Cgroups, Environ) is parsed by internal/procfs and returned only once
// Check has passed.
type Process struct {
	*Target
	Pidfd *os.File
	proc  *procfs.Proc // /proc/PID
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
	if p.proc, err = procfs.OpenProc(t.PID); err != nil {
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
	p.proc.Close()
	return p.Pidfd.Close()
}

func (p *Process) validate() error {
	if !p.started {
		return fmt.Errorf("open %s: its process was not seen at resolution", p.Target)
	}
	st, err := p.Stat()
	if err != nil {
		return err
	}
	if st.State == 'Z' || st.State == 'X' {
		return fmt.Errorf("%w: %s (pid %d) exited", ErrVanished, p.Target, p.PID)
	}
	if p.Runtime != PID {
		lines, err := p.proc.Cgroup()
		if err != nil {
			return p.procError(err)
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
	st, err := procfs.ReadStat(t.PID)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return 0, fmt.Errorf("%w: %s (pid %d) exited", ErrVanished, t, t.PID)
	}
	if err != nil {
		return 0, err
	}
	return st.StartTime, nil
}

// Check proves that the process behind the pidfd and the one behind the
// /proc directory are one and still there (not reaped), so that what was
// read from /proc before the call was read from the target. Both handles
// were made from the same PID number, which a second process can only get
// once the first is reaped; pidfd_send_signal takes either kind of handle.
func (p *Process) Check() error {
	for _, fd := range []int{int(p.Pidfd.Fd()), p.proc.Fd()} {
		if err := unix.PidfdSendSignal(fd, 0, nil, 0); err != nil {
			return fmt.Errorf("%w: %s (pid %d) exited, or its PID was reused", ErrVanished, p.Target, p.PID)
		}
	}
	return nil
}

// Exited says whether the target is gone, as Check, but waits up to
// timeout for a target whose exit has begun (PF_EXITING) to end it (its
// pidfd turns readable then). One that is not on its way out is not
// waited for.
func (p *Process) Exited(timeout time.Duration) error {
	if st, err := p.Stat(); err == nil && st.Flags&procfs.PFExiting == 0 {
		return nil
	}
	fds := []unix.PollFd{{Fd: int32(p.Pidfd.Fd()), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		n, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds()))
		if err == unix.EINTR && time.Now().Before(deadline) {
			continue
		}
		if err == nil && n > 0 {
			return fmt.Errorf("%w: %s (pid %d) exited", ErrVanished, p.Target, p.PID)
		}
		return p.Check()
	}
}

// procError says a read of /proc failed because the process went away,
// where that is why.
func (p *Process) procError(err error) error {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("%w: %s (pid %d) exited, or its PID was reused", ErrVanished, p.Target, p.PID)
	}
	return err
}

// checked returns what read read of the target once Check has proved it
// was the target's.
func checked[T any](p *Process, read func() (T, error)) (T, error) {
	v, err := read()
	if err == nil {
		err = p.Check()
	}
	if err != nil {
		var zero T
		return zero, p.procError(err)
	}
	return v, nil
}

// Stat is the target's /proc/PID/stat.
func (p *Process) Stat() (*procfs.Stat, error) { return checked(p, p.proc.Stat) }

// Credentials are who the target runs as and what confines it, as the
// kernel reports them (the runtime's config may say less, or lie).
type Credentials struct {
	procfs.Credentials
	// LSMLabel is the target's AppArmor or SELinux label, cleaned for
	// printing; "" where no LSM labels processes.
	LSMLabel string
}

// Credentials reads the target's credentials, capabilities, no_new_privs,
// seccomp mode and LSM label: what --as-target and attach --security
// target take on.
func (p *Process) Credentials() (*Credentials, error) {
	return checked(p, func() (*Credentials, error) {
		st, err := p.proc.Status()
		if err != nil {
			return nil, err
		}
		label, err := p.proc.LSMLabel()
		if err != nil {
			return nil, err
		}
		return &Credentials{Credentials: st.Credentials, LSMLabel: text.Clean(label)}, nil
	})
}

// IDMaps are the uid_map and gid_map of the target's user namespace, as
// ctr-enter's user namespace sees them.
func (p *Process) IDMaps() (uid, gid procfs.IDMap, err error) {
	maps, err := checked(p, func() ([2]procfs.IDMap, error) {
		uid, gid, err := p.proc.IDMaps()
		return [2]procfs.IDMap{uid, gid}, err
	})
	return maps[0], maps[1], err
}

// Membership is where the target is in the cgroup hierarchies, and where
// ctr-enter finds those mounted.
func (p *Process) Membership() (*procfs.Membership, error) { return checked(p, p.proc.Membership) }

// Cgroups reads the target's cgroups, their limits and their usage,
// through this process's view of the cgroup mounts.
func (p *Process) Cgroups() (*procfs.Cgroups, error) {
	m, err := p.Membership()
	if err != nil {
		return nil, err
	}
	return m.ReadCgroups("/")
}

// Environ is the environment the target's processes should see: the
// runtime's config, or for bare PIDs the process's initial environment.
func (p *Process) Environ() ([]string, error) {
	if p.Env != nil {
		return p.Env, nil
	}
	return checked(p, p.proc.Environ)
}

// NamespaceInode returns the inode of the target's namespace of the given
// kind (a /proc/PID/ns name), or os.ErrNotExist if the kernel lacks it. The
// caller must Check afterwards.
func (p *Process) NamespaceInode(kind string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(p.proc.Fd(), "ns/"+kind, &st, 0); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return 0, os.ErrNotExist
		}
		return 0, p.procError(&os.PathError{Op: "fstatat", Path: fmt.Sprintf("/proc/%d/ns/%s", p.PID, kind), Err: err})
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
