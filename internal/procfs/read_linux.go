package procfs

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// ReadFile reads the regular file at path, at most limit bytes of it. A
// symbolic link as the last component is refused, not followed, and so is
// a file that reaches the limit (ErrTooLarge). It suits /proc/PID files,
// whose stat size is 0 and which os.ReadFile would read without bound.
func ReadFile(path string, limit int) ([]byte, error) {
	return readFileAt(unix.AT_FDCWD, path, path, limit)
}

// fileFlags open a file to read: O_NONBLOCK so that a FIFO planted where a
// file was expected cannot hang the open; openRegularAt then refuses it.
const fileFlags = unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK

// dirFlags open a directory only to walk through it: O_PATH needs no read
// permission, and with O_NOFOLLOW|O_DIRECTORY a symbolic link fails to
// open instead of being followed.
const dirFlags = unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC

// openRegularAt opens name below dirfd to read, and only if it is a
// regular file: reading a FIFO or device could block or never end. path
// names it in errors.
func openRegularAt(dirfd int, name, path string) (int, error) {
	fd, err := unix.Openat(dirfd, name, fileFlags, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: linkError(dirfd, name, err)}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return -1, fmt.Errorf("read %s: not a regular file: %w", path, ErrUnsafePath)
	}
	return fd, nil
}

// readLimited reads fd to its end, never asking for more than limit bytes
// in all. Reaching limit is an error: whether the file ended there cannot
// be known without reading on.
func readLimited(fd int, name string, limit int) ([]byte, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("read %s: limit %d: %w", name, limit, ErrTooLarge)
	}
	b, full, err := readUpTo(fd, name, limit)
	if err != nil {
		return nil, err
	}
	if full {
		return nil, fmt.Errorf("read %s: %d bytes or more: %w", name, limit, ErrTooLarge)
	}
	return b, nil
}

// readUpTo reads fd to its end or to limit bytes, whichever comes first;
// full says it stopped at the limit.
func readUpTo(fd int, name string, limit int) (b []byte, full bool, err error) {
	buf := make([]byte, 0, min(limit, 4096))
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), limit-len(buf)))
		}
		// Grow may round the capacity up: the limit, not the
		// capacity, bounds the read.
		n, err := unix.Read(fd, buf[len(buf):min(cap(buf), limit)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, false, &os.PathError{Op: "read", Path: name, Err: err}
		}
		if n == 0 {
			return buf, false, nil
		}
		buf = buf[:len(buf)+n]
	}
	return buf, true, nil
}

// openDirBeneath opens the directory rel below dirfd a component at a
// time, so that no symbolic link anywhere in rel is followed: rel is
// partly the process's cgroup path, whose names the container may choose.
// rel must already be free of ".." (safePath).
func openDirBeneath(dirfd int, rel string) (int, error) {
	fd, err := unix.Openat(dirfd, ".", dirFlags, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: ".", Err: err}
	}
	for _, c := range strings.Split(rel, "/") {
		if c == "" || c == "." {
			continue
		}
		next, err := unix.Openat(fd, c, dirFlags, 0)
		if err != nil {
			err = linkError(fd, c, err)
		}
		unix.Close(fd)
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: rel, Err: err}
		}
		fd = next
	}
	return fd, nil
}

// readFileAt reads the regular file name below dirfd (see readLimited);
// path names it in errors.
func readFileAt(dirfd int, name, path string, limit int) ([]byte, error) {
	fd, err := openRegularAt(dirfd, name, path)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return readLimited(fd, path, limit)
}

// errSymlink says why a symbolic link was not followed.
var errSymlink = fmt.Errorf("%w: symbolic link", ErrUnsafePath)

// linkError turns the error of an O_NOFOLLOW open of name in dirfd into
// errSymlink if a symbolic link was the cause: the kernel answers ELOOP
// for a file, but ENOTDIR when O_DIRECTORY was asked for, which alone
// would not tell a link from a file.
func linkError(dirfd int, name string, err error) error {
	if errors.Is(err, unix.ELOOP) {
		return errSymlink
	}
	var st unix.Stat_t
	if errors.Is(err, unix.ENOTDIR) && unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return errSymlink
	}
	return err
}

// isGone reports whether err means the file or cgroup is not there: never
// created (controller not enabled, older kernel) or removed as the
// process exited (kernfs answers ENODEV for an open file whose cgroup is
// gone).
func isGone(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV)
}
