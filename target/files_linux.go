package target

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
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
	root, err := unix.Openat(int(p.procDir.Fd()), "root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, p.procError("root", err)
	}
	defer unix.Close(root)
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

// ReadFileInRoot reads at most limit bytes of one of the target's files
// (see OpenInRoot), and checks the target is still the same process.
func (p *Process) ReadFileInRoot(path string, limit int64) ([]byte, error) {
	f, err := p.OpenInRoot(path, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// A FIFO or a device would block or never end: regular files only.
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s in target: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return nil, err
	}
	return b, p.Check()
}
