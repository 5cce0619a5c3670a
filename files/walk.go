package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/resolve"
)

// walk is the source of the tree under top, an O_PATH handle (opened
// without following a final symlink): top itself, then what it holds.
// label and name are top's in messages (label+name: "docker://taka:" and
// "/etc").
//
// Below top every entry is opened by its one name, relative to the handle
// of the directory that listed it, with no symlink followed
// (RESOLVE_NO_SYMLINKS with O_NOFOLLOW opens a symlink itself): a target
// that swaps a directory for a symlink mid-walk gets the link copied, never
// followed. Each is first opened O_PATH, which opens nothing, and only a
// regular file or a directory, as fstat on that handle shows, is reopened
// for reading: that very inode, whatever the name now points to.
func walk(ctx context.Context, top *os.File, label, name string, ids *idMap) source {
	return func(put func(*entry, io.Reader) error) error {
		w := &walker{ctx: ctx, label: label, ids: ids, put: put}
		return w.walk(top, name, "")
	}
}

type walker struct {
	ctx   context.Context
	label string
	ids   *idMap
	put   func(*entry, io.Reader) error
}

func (w *walker) walk(h *os.File, p, rel string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	name := w.label + p
	var st unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &st); err != nil {
		return &os.PathError{Op: "stat", Path: name, Err: err}
	}
	e := &entry{
		rel:   rel,
		mode:  fileMode(st.Mode),
		mtime: time.Unix(st.Mtim.Unix()),
		atime: time.Unix(st.Atim.Unix()),
	}
	var err error
	if e.uid, e.gid, err = w.ids.mapIDs(int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	switch e.mode.Type() {
	case 0:
		e.size = st.Size
		f, err := resolve.Reopen(h, unix.O_RDONLY)
		if err != nil {
			return err
		}
		defer f.Close()
		// The size read now is the one the header gives: a file that
		// grows meanwhile is cut there, one that shrinks fails the copy
		// (the sink sees a short read).
		return w.put(e, &exactReader{r: io.LimitReader(f, e.size), left: e.size, name: name})
	case fs.ModeSymlink:
		if e.link, err = readlink(h); err != nil {
			return &os.PathError{Op: "readlink", Path: name, Err: err}
		}
		return w.put(e, nil)
	case fs.ModeDir:
		if err := w.put(e, nil); err != nil {
			return err
		}
		return w.walkDir(h, p, rel)
	default:
		// A FIFO, device node or socket: its header only, never opened.
		e.devMajor, e.devMinor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		return w.put(e, nil)
	}
}

// walkDir walks what the directory h holds, a batch of names at a time:
// a directory of a million entries costs no more memory than one of ten.
//
// The kernel's own trees (/proc, /sys) are not walked: they describe the
// host's kernel more than the target, hold files that never end
// (/proc/kcore), and reading them from the host is reading them with the
// host's privileges.
func (w *walker) walkDir(h *os.File, p, rel string) error {
	name := w.label + p
	var fst unix.Statfs_t
	if err := unix.Fstatfs(int(h.Fd()), &fst); err != nil {
		return &os.PathError{Op: "statfs", Path: name, Err: err}
	}
	switch fst.Type {
	case unix.PROC_SUPER_MAGIC, unix.SYSFS_MAGIC:
		return nil
	}
	d, err := resolve.Reopen(h, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(256)
		for _, n := range names {
			child, err := openBeneath(d, n, unix.O_PATH|unix.O_NOFOLLOW)
			if errors.Is(err, unix.ENOENT) {
				continue // removed since it was listed
			}
			if err != nil {
				return &os.PathError{Op: "open", Path: w.label + path.Join(p, n), Err: err}
			}
			err = w.walk(child, path.Join(p, n), path.Join(rel, n))
			child.Close()
			if err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &os.PathError{Op: "read directory", Path: name, Err: err}
		}
	}
}

// openBeneath opens name, relative to dir, without leaving dir and
// without following any symlink or magic link. name may have several
// components.
func openBeneath(dir *os.File, name string, flags int) (*os.File, error) {
	fd, err := openat2(int(dir.Fd()), name, flags, unix.RESOLVE_BENEATH|unix.RESOLVE_NO_SYMLINKS)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// openat2 is openat2(2) with O_CLOEXEC, retried on EINTR and EAGAIN (the
// kernel's answer when a rename raced a RESOLVE_BENEATH lookup).
func openat2(dirfd int, name string, flags int, resolve uint64) (int, error) {
	flags |= unix.O_CLOEXEC
	if flags&unix.O_PATH == 0 {
		flags |= unix.O_NOCTTY
	}
	how := &unix.OpenHow{Flags: uint64(flags), Mode: 0, Resolve: resolve | unix.RESOLVE_NO_MAGICLINKS}
	if flags&unix.O_CREAT != 0 {
		how.Mode = 0o600 // the file's own mode is set once its owner is
	}
	for i := 0; ; i++ {
		fd, err := unix.Openat2(dirfd, name, how)
		if (err == unix.EINTR || err == unix.EAGAIN) && i < 16 {
			continue
		}
		return fd, err
	}
}

// readlink reads the target of the symlink that the O_PATH|O_NOFOLLOW
// handle h names.
func readlink(h *os.File) (string, error) {
	for size := 256; size <= 1<<16; size *= 4 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(int(h.Fd()), "", buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
	return "", unix.ENAMETOOLONG
}

// fileMode turns st_mode into an fs.FileMode.
func fileMode(m uint32) fs.FileMode {
	mode := permissions(m)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	}
	return mode
}

// specialBits are the mode bits beyond the permissions, as chmod (and
// tar) and as fs.FileMode spell them.
var specialBits = [...]struct {
	unix uint32
	mode fs.FileMode
}{{unix.S_ISUID, fs.ModeSetuid}, {unix.S_ISGID, fs.ModeSetgid}, {unix.S_ISVTX, fs.ModeSticky}}

// permissions are the permission and special bits of a chmod (or tar)
// mode.
func permissions(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	for _, b := range specialBits {
		if m&b.unix != 0 {
			mode |= b.mode
		}
	}
	return mode
}

// unixMode is the permission bits of m, with setuid, setgid and sticky,
// as chmod takes them.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	for _, b := range specialBits {
		if m&b.mode != 0 {
			u |= b.unix
		}
	}
	return u
}

// exactReader reads exactly left bytes from r, or fails: a file that
// shrank while it was copied would otherwise end a copy silently short.
type exactReader struct {
	r    io.Reader
	left int64
	name string
}

func (x *exactReader) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	x.left -= int64(n)
	if err == io.EOF && x.left > 0 {
		return n, fmt.Errorf("%s: %w: the file shrank while it was copied", x.name, io.ErrUnexpectedEOF)
	}
	return n, err
}

// WriteTo lets io.Copy into an *os.File pass the file's descriptor down
// to copy_file_range or splice, as it does for an io.LimitedReader.
func (x *exactReader) WriteTo(w io.Writer) (int64, error) {
	var n int64
	var err error
	if rf, ok := w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(x.r)
	} else {
		n, err = io.Copy(w, struct{ io.Reader }{x.r})
	}
	x.left -= n
	if err == nil && x.left > 0 {
		err = fmt.Errorf("%s: %w: the file shrank while it was copied", x.name, io.ErrUnexpectedEOF)
	}
	return n, err
}
