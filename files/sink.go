package files

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// dirSink writes entries into a directory: each at top/rel under dir.
//
// Every entry's parent is opened relative to dir with no symlink followed
// (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), and the entry itself made by its
// one name in that parent: a symlink that the copy itself made, or that
// the target planted under the destination, can never redirect a later
// entry. What is in the way is removed, not opened: a file is always
// created anew (O_EXCL|O_NOFOLLOW), so a FIFO or device node left where
// a file goes is never opened for writing.
type dirSink struct {
	dir         *os.File // O_PATH, a directory
	label, name string   // dir's path in messages: label+name
	// top is what the copied top entry is called in dir; "" writes only
	// what it holds, into dir itself.
	top string
	// ids maps the entries' ids (as in the target) to the ones written.
	ids *idMap
	// onHost drops setuid and setgid: a file that a hostile target
	// owns must not become a set-id program on the host.
	onHost bool
	warn   func(error)

	// dirs are the directories made, whose owner, mode and times are
	// set once what they hold is written (writing in a directory
	// changes its mtime; a read-only mode would stop the writes).
	dirs []*entry
	// The parent of the last entry, kept open for its siblings.
	parentRel string
	parent    *os.File
}

func (s *dirSink) put(e *entry, content io.Reader) error {
	rel := path.Join(s.top, e.rel)
	if rel == "." || rel == "" {
		return nil // dir itself: only what the source holds is written
	}
	parentRel, base := path.Split(rel)
	parent, err := s.openParent(path.Clean(parentRel))
	if err != nil {
		return err
	}
	name := s.label + path.Join(s.name, rel)
	pfd := int(parent.Fd())
	var st unix.Stat_t
	exists := true
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); errors.Is(err, unix.ENOENT) {
		exists = false
	} else if err != nil {
		return &os.PathError{Op: "stat", Path: name, Err: err}
	}
	isDir := exists && st.Mode&unix.S_IFMT == unix.S_IFDIR
	switch e.mode.Type() {
	case fs.ModeDir:
		if isDir {
			s.dirs = append(s.dirs, withRel(e, rel))
			return nil
		}
		if exists {
			if err := unix.Unlinkat(pfd, base, 0); err != nil {
				return &os.PathError{Op: "remove", Path: name, Err: err}
			}
		}
		if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
			return &os.PathError{Op: "create", Path: name, Err: err}
		}
		s.dirs = append(s.dirs, withRel(e, rel))
		return nil
	case 0, fs.ModeSymlink:
	default:
		s.warn(fmt.Errorf("skipped %s: %s (cp copies files, directories and symlinks)", name, kind(e.mode)))
		return nil
	}
	if isDir {
		return fmt.Errorf("%w a %s onto the directory %s", ErrUnsupported, kind(e.mode), name)
	}
	if exists {
		if err := unix.Unlinkat(pfd, base, 0); err != nil {
			return &os.PathError{Op: "remove", Path: name, Err: err}
		}
	}
	if e.mode.Type() == fs.ModeSymlink {
		if err := unix.Symlinkat(e.link, pfd, base); err != nil {
			return &os.PathError{Op: "create", Path: name, Err: err}
		}
		return s.setAttrs(pfd, base, unix.AT_SYMLINK_NOFOLLOW, e, name)
	}
	fd, err := openat2(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW, unix.RESOLVE_BENEATH|unix.RESOLVE_NO_SYMLINKS)
	if err != nil {
		return &os.PathError{Op: "create", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if _, err := io.Copy(f, content); err != nil {
		return fmt.Errorf("copy to %s: %w", name, err)
	}
	if err := s.setAttrs(fd, "", unix.AT_EMPTY_PATH, e, name); err != nil {
		return err
	}
	return f.Close()
}

// openParent opens the directory rel (relative to dir) that the next
// entry goes in, or returns the one open already.
func (s *dirSink) openParent(rel string) (*os.File, error) {
	if rel == "." {
		return s.dir, nil
	}
	if s.parent != nil && s.parentRel == rel {
		return s.parent, nil
	}
	if s.parent != nil {
		s.parent.Close()
		s.parent = nil
	}
	p, err := openBeneath(s.dir, rel, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: s.label + path.Join(s.name, rel), Err: err}
	}
	s.parent, s.parentRel = p, rel
	return p, nil
}

// setAttrs gives the entry at name (relative to dirfd, with flags as
// fchownat takes them) its owner, mode and times: the owner first, as
// chown clears setuid and setgid.
func (s *dirSink) setAttrs(dirfd int, base string, flags int, e *entry, name string) error {
	uid, gid, err := s.ids.mapIDs(e.uid, e.gid)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := unix.Fchownat(dirfd, base, uid, gid, flags); err != nil {
		return &os.PathError{Op: "chown", Path: name, Err: err}
	}
	if e.mode.Type() != fs.ModeSymlink { // a symlink's mode means nothing
		mode := unixMode(e.mode)
		if s.onHost {
			mode &^= unix.S_ISUID | unix.S_ISGID
		}
		if err := unix.Fchmod(dirfd, mode); err != nil {
			return &os.PathError{Op: "chmod", Path: name, Err: err}
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(e.atime.UnixNano()), unix.NsecToTimespec(e.mtime.UnixNano())}
	if err := unix.UtimesNanoAt(dirfd, base, ts, flags); err != nil {
		return &os.PathError{Op: "set times of", Path: name, Err: err}
	}
	return nil
}

// finish sets the directories' owners, modes and times, the deepest
// first.
func (s *dirSink) finish() error {
	if s.parent != nil {
		s.parent.Close()
		s.parent = nil
	}
	for i := len(s.dirs) - 1; i >= 0; i-- {
		e := s.dirs[i]
		name := s.label + path.Join(s.name, e.rel)
		d, err := openBeneath(s.dir, e.rel, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		if err != nil {
			return &os.PathError{Op: "open", Path: name, Err: err}
		}
		err = s.setAttrs(int(d.Fd()), "", unix.AT_EMPTY_PATH, e, name)
		d.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// withRel is a copy of e at rel.
func withRel(e *entry, rel string) *entry {
	c := *e
	c.rel = rel
	return &c
}

// kind names the type of a file mode in messages.
func kind(m fs.FileMode) string {
	switch m.Type() {
	case 0:
		return "file"
	case fs.ModeDir:
		return "directory"
	case fs.ModeSymlink:
		return "symlink"
	case fs.ModeNamedPipe:
		return "FIFO"
	case fs.ModeSocket:
		return "socket"
	case fs.ModeDevice | fs.ModeCharDevice, fs.ModeDevice:
		return "device node"
	default:
		return "hard link or other special file"
	}
}
