package files

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
)

// Root is a running target's files as its own processes see them:
// resolve.Process. OpenInRoot resolves a path under the target's root
// (openat2 RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS); Check proves the target
// is still the process that was validated.
type Root interface {
	OpenInRoot(path string, flags int) (*os.File, error)
	IDMaps() (uid, gid procfs.IDMap, err error)
	Check() error
}

// Options say what to copy, and which way.
type Options struct {
	Target Root
	// TargetPath is the path in the target; HostPath the host's, or
	// "-" for a tar stream on Stdin (into the target) or Stdout (out
	// of it).
	TargetPath, HostPath string
	// Into copies HostPath into the target at TargetPath; otherwise
	// TargetPath is copied out to HostPath.
	Into       bool
	Stdin      io.Reader
	Stdout     io.Writer
	Warn       func(error) // a file skipped (a FIFO, a device node)
	TargetName string      // how messages name the target
}

// Copy copies as o says, as docker cp does: a source that is a
// directory lands in a destination directory that exists under its own
// name, or becomes the destination if that does not exist yet; SRC/. copies
// what a directory holds. Owners are numeric, as in the target; modes and
// times are kept, except that files written on the host lose setuid and
// setgid.
func Copy(ctx context.Context, o Options) error {
	if o.Warn == nil {
		o.Warn = func(error) {}
	}
	uids, gids, err := o.Target.IDMaps()
	if err != nil {
		return err
	}
	label := o.TargetName + ":"
	targetName := label + o.TargetPath
	var (
		src      source
		srcName  string // what the copy is called where it lands, if it lands in a directory
		srcIsDir bool
	)
	if o.Into {
		if o.HostPath == "-" {
			src, srcIsDir = readTar(o.Stdin), true
		} else {
			top, err := openHost(o.HostPath, unix.O_PATH|unix.O_NOFOLLOW)
			if err != nil {
				return err
			}
			defer top.Close()
			srcIsDir = isDir(top)
			src, srcName = walk(ctx, top, "", o.HostPath, nil), topName(o.HostPath)
		}
		d, dname, top, err := destination(o.Target.OpenInRoot, o.TargetPath, srcName, srcIsDir, o.HostPath == "-")
		if err != nil {
			return fmt.Errorf("%s: %w", targetName, err)
		}
		defer d.Close()
		if err := o.Target.Check(); err != nil {
			return err
		}
		s := &dirSink{dir: d, label: label, name: dname, top: top, ids: &idMap{uid: uids, gid: gids}, warn: o.Warn}
		return run(src, s)
	}

	top, err := o.Target.OpenInRoot(o.TargetPath, unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("%s: %w", targetName, err)
	}
	defer top.Close()
	if err := o.Target.Check(); err != nil {
		return err
	}
	srcIsDir = isDir(top)
	src, srcName = walk(ctx, top, label, o.TargetPath, &idMap{uid: uids, gid: gids, toInside: true}), topName(o.TargetPath)
	if o.HostPath == "-" {
		// As docker cp: the archive holds the source under its own
		// name, or what it holds for SRC/.
		if err := run(src, &tarSink{tw: tar.NewWriter(o.Stdout), top: srcName}); err != nil {
			return err
		}
		return o.Target.Check()
	}
	d, dname, dtop, err := destination(openHost, o.HostPath, srcName, srcIsDir, false)
	if err != nil {
		return fmt.Errorf("%s: %w", o.HostPath, err)
	}
	defer d.Close()
	if err := run(src, &dirSink{dir: d, name: dname, top: dtop, onHost: true, warn: o.Warn}); err != nil {
		return err
	}
	return o.Target.Check()
}

// run streams src into s.
func run(src source, s sink) error {
	if err := src(s.put); err != nil {
		if f, ok := s.(*dirSink); ok && f.parent != nil {
			f.parent.Close()
		}
		return err
	}
	return s.finish()
}

// destination opens the directory a copy is written in, and says what it
// is called in messages and what the copy's top is called there ("": the top is that directory itself,
// and only what it holds is written).
//
// dest is an existing directory: the copy goes in it, named as the
// source (srcName), or, for SRC/. and tar streams (contents), into it.
// Otherwise dest is made or replaced, in its parent directory, which must
// exist; a directory is never written over a file.
func destination(open func(string, int) (*os.File, error), dest, srcName string, srcIsDir, contents bool) (d *os.File, name, top string, err error) {
	h, err := open(dest, unix.O_PATH)
	switch {
	case err == nil && isDir(h):
		if contents {
			return h, dest, "", nil
		}
		return h, dest, srcName, nil
	case err == nil:
		h.Close()
		if srcIsDir {
			return nil, "", "", fmt.Errorf("%w a directory onto a file", ErrUnsupported)
		}
	case !errors.Is(err, unix.ENOENT):
		return nil, "", "", err
	case contents:
		return nil, "", "", err // a tar stream goes into a directory that exists
	case strings.HasSuffix(dest, "/") && !srcIsDir:
		return nil, "", "", fmt.Errorf("%w a file to a directory that does not exist", ErrUnsupported)
	}
	parent, base := path.Split(strings.TrimRight(dest, "/"))
	if base == "" || base == "." || base == ".." {
		return nil, "", "", fmt.Errorf("%w to %s", ErrUnsupported, dest)
	}
	if parent == "" {
		parent = "."
	}
	if d, err = open(parent, unix.O_PATH|unix.O_DIRECTORY); err != nil {
		return nil, "", "", err
	}
	return d, parent, base, nil
}

// topName is what a copy of p is called in a destination directory: its
// last component, or "" for a directory's contents (p/. or /).
func topName(p string) string {
	if strings.HasSuffix(p, "/.") || p == "." {
		return ""
	}
	base := path.Base(p)
	if base == "/" {
		return ""
	}
	return base
}

// openHost opens one of the host's paths: the operator's own files, so
// resolved as any program on the host would.
func openHost(p string, flags int) (*os.File, error) {
	fd, err := unix.Open(p, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

func isDir(h *os.File) bool {
	var st unix.Stat_t
	return unix.Fstat(int(h.Fd()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}
