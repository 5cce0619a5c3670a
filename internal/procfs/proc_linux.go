package procfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Read limits of the files of a /proc/PID directory. The process controls
// how much some of them hold (its environment, its command line, the
// names of the cgroups it makes); what the kernel writes alone is far
// below these. A file that reaches its limit is refused (ErrTooLarge),
// except the command line, which is only ever shown and is cut.
const (
	statLimit   = 4 << 10  // one line, a 16-byte name and 50-odd numbers
	statusLimit = 64 << 10 // some 60 lines, the longest a CPU or NUMA node list
	cgroupLimit = 64 << 10 // a line per hierarchy, each path below PATH_MAX
	idMapLimit  = 64 << 10 // at most 340 lines of 33 bytes
	labelLimit  = 4 << 10  // an LSM label
	// environLimit is above what execve accepts for arguments and
	// environment together (6 MiB, fs/exec.c); only a process that
	// moved its environment (prctl PR_SET_MM) has more.
	environLimit = 8 << 20
	cmdlineLimit = 4 << 10 // for display: longer ones are cut
	// mountinfoLimit bounds the reader's own mountinfo: a line per
	// mount, a few hundred bytes each, for the largest hosts' thousands.
	mountinfoLimit = 16 << 20
)

// Proc is a process's /proc/PID directory, opened once. Every file is
// read through it (openat), never by a path with the PID in it: a PID
// number, looked up again for each file, may have come to name another
// process in between, while the directory stays the one process's (its
// files fail once that process is reaped). The files are read bounded,
// as regular files only, and without following a symbolic link as the
// last component.
type Proc struct {
	dir  *os.File
	path string // "/proc/PID", for errors
}

// OpenProc opens /proc/PID.
func OpenProc(pid int) (*Proc, error) {
	path := "/proc/" + strconv.Itoa(pid)
	if pid <= 0 {
		return nil, &os.PathError{Op: "open", Path: path, Err: unix.ENOENT}
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &Proc{dir: os.NewFile(uintptr(fd), path), path: path}, nil
}

func (p *Proc) Close() error { return p.dir.Close() }

// Fd is the directory's descriptor, valid until Close: to open files
// below it (root, ns/*), and as a pidfd for pidfd_send_signal, which
// takes a /proc/PID directory as one.
func (p *Proc) Fd() int { return int(p.dir.Fd()) }

// read reads the file name below the directory, whole and at most limit
// bytes of it.
func (p *Proc) read(name string, limit int) ([]byte, error) {
	return readFileAt(p.Fd(), name, p.path+"/"+name, limit)
}

// parsed reads the file name and parses it, naming the file in a parse
// error.
func parsed[T any](p *Proc, name string, limit int, parse func([]byte) (T, error)) (T, error) {
	var zero T
	b, err := p.read(name, limit)
	if err != nil {
		return zero, err
	}
	v, err := parse(b)
	if err != nil {
		return zero, fmt.Errorf("read %s/%s: %w", p.path, name, err)
	}
	return v, nil
}

// Stat reads /proc/PID/stat.
func (p *Proc) Stat() (*Stat, error) { return parsed(p, "stat", statLimit, ParseStat) }

// Status reads /proc/PID/status.
func (p *Proc) Status() (*Status, error) { return parsed(p, "status", statusLimit, ParseStatus) }

// Cgroup reads /proc/PID/cgroup.
func (p *Proc) Cgroup() ([]CgroupLine, error) {
	return parsed(p, "cgroup", cgroupLimit, ParseProcCgroup)
}

// IDMaps reads the uid_map and gid_map of the process's user namespace.
func (p *Proc) IDMaps() (uid, gid IDMap, err error) {
	if uid, err = parsed(p, "uid_map", idMapLimit, ParseIDMap); err != nil {
		return nil, nil, err
	}
	if gid, err = parsed(p, "gid_map", idMapLimit, ParseIDMap); err != nil {
		return nil, nil, err
	}
	return uid, gid, nil
}

// LSMLabel reads the process's AppArmor or SELinux label (attr/current):
// "" where no LSM labels processes, for which the kernel answers EINVAL,
// or where it has no LSM support at all (no attr directory).
func (p *Proc) LSMLabel() (string, error) {
	b, err := p.read("attr/current", labelLimit)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return ParseLSMLabel(b), nil
}

// Environ reads the process's initial environment.
func (p *Proc) Environ() ([]string, error) {
	b, err := p.read("environ", environLimit)
	if err != nil {
		return nil, err
	}
	return ParseEnviron(b), nil
}

// Cmdline reads the process's arguments, cut after their first 4 KiB:
// they are for display, and a process may make them as long as it likes.
func (p *Proc) Cmdline() ([]string, error) {
	path := p.path + "/cmdline"
	fd, err := openRegularAt(p.Fd(), "cmdline", path)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	b, _, err := readUpTo(fd, path, cmdlineLimit)
	if err != nil {
		return nil, err
	}
	return ParseCmdline(b), nil
}

// Membership reads the process's cgroups (/proc/PID/cgroup) and, to find
// their hierarchies, the caller's own mountinfo: the cgroups are reached
// through the caller's mounts, not the process's.
func (p *Proc) Membership() (*Membership, error) {
	lines, err := p.Cgroup()
	if err != nil {
		return nil, err
	}
	b, err := ReadFile("/proc/self/mountinfo", mountinfoLimit)
	if err != nil {
		return nil, err
	}
	mounts, err := ParseMountinfo(b)
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/mountinfo: %w", err)
	}
	return &Membership{Lines: lines, Mounts: mounts}, nil
}

// ReadStat reads /proc/PID/stat of a process known only by its PID: the
// answer is for whichever process has that PID at the time.
func ReadStat(pid int) (*Stat, error) { return readOne(pid, (*Proc).Stat) }

// ReadStatus reads /proc/PID/status of a process known only by its PID.
func ReadStatus(pid int) (*Status, error) { return readOne(pid, (*Proc).Status) }

func readOne[T any](pid int, read func(*Proc) (T, error)) (T, error) {
	p, err := OpenProc(pid)
	if err != nil {
		var zero T
		return zero, err
	}
	defer p.Close()
	return read(p)
}
