package resolve

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
)

// OpenInRoot opens path as the target's own processes would see it, from the
// host, without following anything out of the target's root.
//
// A plain open of /proc/PID/root/etc/passwd follows a symlink that the
// target planted to the host's files (CVE-2018-15664, CVE-2021-30465):
// openat2 with RESOLVE_IN_ROOT resolves every component, symlinks
// included, as if the target's root were "/", and RESOLVE_NO_MAGICLINKS
// refuses /proc/self/... style jumps. The caller must not use what it read
// before Check, since the root is found by PID.
func (p *Process) OpenInRoot(path string, flags int) (*os.File, error) {
	root, err := unix.Openat(p.proc.Fd(), "root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, p.procError(&os.PathError{Op: "open", Path: fmt.Sprintf("/proc/%d/root", p.PID), Err: err})
	}
	defer unix.Close(root)
	return openInRoot(root, path, flags)
}

// openInRoot opens path under the directory root as if root were "/".
func openInRoot(root int, path string, flags int) (*os.File, error) {
	flags |= unix.O_CLOEXEC
	if flags&unix.O_PATH == 0 {
		// openat2 refuses any other flag with O_PATH.
		flags |= unix.O_NOCTTY
	}
	fd, err := unix.Openat2(root, path, &unix.OpenHow{
		Flags:   uint64(flags),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, &os.PathError{Op: "open in target", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// Reopen opens the inode an O_PATH handle names with flags, through
// /proc/self/fd: the very file that was checked, whatever the target has
// since done to the path.
func Reopen(f *os.File, flags int) (*os.File, error) {
	fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), flags|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &os.PathError{Op: "reopen in target", Path: f.Name(), Err: err}
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// ReadFileInRoot reads one of the target's regular files (see OpenInRoot),
// of at most limit bytes, and checks the target is still the same process.
//
// The file is opened for reading only once it is known to be a regular
// file: the target may have planted a device node where a file is expected
// (any default container can mknod), and opening one from the host can act
// on the host (a disk, a watchdog that reboots on close); a FIFO would
// block. It is opened with O_PATH, which touches nothing, its type checked,
// and then reopened (Reopen).
func (p *Process) ReadFileInRoot(path string, limit int64) ([]byte, error) {
	b, err := readFileInRoot(p.OpenInRoot, path, limit)
	if err != nil {
		return nil, err
	}
	return b, p.Check()
}

func readFileInRoot(open func(string, int) (*os.File, error), path string, limit int64) ([]byte, error) {
	h, err := open(path, unix.O_PATH)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if fi, err := h.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s in target: not a regular file", path)
	}
	f, err := Reopen(h, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// One byte past the limit tells a file that fits from one that was
	// cut: a cut file is refused, as its last line would read as another
	// (a uid of 1000 as 10).
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s in target: larger than %d bytes", path, limit)
	}
	return b, nil
}

// Root is a root filesystem opened from the host as a directory handle (a
// stopped container's layers or an image's tree, mounted detached): its
// files are read as safely as a running target's, never following a link
// out of it.
type Root struct {
	Dir  *os.File
	Name string // for messages: the target's explicit form, cleaned
}

func (r *Root) String() string { return r.Name }

// OpenInRoot opens path as the root's own processes would see it (see
// Process.OpenInRoot).
func (r *Root) OpenInRoot(path string, flags int) (*os.File, error) {
	return openInRoot(int(r.Dir.Fd()), path, flags)
}

// IDMaps are the identity: the root's files are read and written with
// their owners as the host stores them (no process has a user namespace
// to map them through).
func (r *Root) IDMaps() (uid, gid procfs.IDMap, err error) {
	id := procfs.IDMap{{Inside: 0, Outside: 0, Count: 1<<32 - 1}}
	return id, id, nil
}

// Check never fails: no process is there to vanish; the mount stays
// while the handle is open.
func (r *Root) Check() error { return nil }

// ReadFileInRoot reads one regular file of at most limit bytes (see
// Process.ReadFileInRoot).
func (r *Root) ReadFileInRoot(path string, limit int64) ([]byte, error) {
	return readFileInRoot(r.OpenInRoot, path, limit)
}
