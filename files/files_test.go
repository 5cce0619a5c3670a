package files

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
)

// dirRoot is a directory that stands for a target's root, resolved as
// resolve.Process resolves a target's paths: openat2 RESOLVE_IN_ROOT.
type dirRoot struct{ dir string }

func (r dirRoot) OpenInRoot(p string, flags int) (*os.File, error) {
	root, err := unix.Open(r.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(root)
	fd, err := unix.Openat2(root, p, &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return nil, &os.PathError{Op: "open in target", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

func (dirRoot) IDMaps() (procfs.IDMap, procfs.IDMap, error) {
	all := procfs.IDMap{{Inside: 0, Outside: 0, Count: 1<<32 - 1}}
	return all, all, nil
}

func (dirRoot) Check() error { return nil }

var stamp = time.Date(2001, 2, 3, 4, 5, 6, 789, time.UTC)

// tree makes, under dir, a file, a script with mode 0750, a directory
// with mode 0711, a symlink out of the root and a FIFO.
func tree(t *testing.T, dir string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Join(dir, "d/sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "d/file"), []byte("hello"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "d/sub/run.sh"), []byte("#!/bin/sh\n"), 0o750))
	must(t, os.Symlink("/etc/passwd", filepath.Join(dir, "d/passwd")))
	must(t, unix.Mkfifo(filepath.Join(dir, "d/fifo"), 0o600))
	must(t, os.Chmod(filepath.Join(dir, "d/sub"), 0o711))
	for _, p := range []string{"d/file", "d/sub/run.sh", "d/sub", "d"} {
		must(t, os.Chtimes(filepath.Join(dir, p), stamp, stamp))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// checkTree checks the copy of tree at dir: contents, modes, times, the
// symlink as a link, no FIFO.
func checkTree(t *testing.T, dir string) {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join(dir, "file")); err != nil || string(b) != "hello" {
		t.Errorf("file: %q %v", b, err)
	}
	for p, want := range map[string]fs.FileMode{"file": 0o644, "sub/run.sh": 0o750, "sub": fs.ModeDir | 0o711} {
		fi, err := os.Lstat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
		if !fi.ModTime().Equal(stamp) {
			t.Errorf("%s: mtime %v, want %v", p, fi.ModTime(), stamp)
		}
	}
	if l, err := os.Readlink(filepath.Join(dir, "passwd")); err != nil || l != "/etc/passwd" {
		t.Errorf("passwd: a link to %q (%v), want the link to /etc/passwd", l, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "fifo")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("fifo was copied: %v", err)
	}
}

func TestCopyOutAndIn(t *testing.T) {
	target, host := t.TempDir(), t.TempDir()
	tree(t, target)
	var warned []string
	warn := func(err error) { warned = append(warned, err.Error()) }
	o := Options{Target: dirRoot{target}, TargetPath: "/d", HostPath: filepath.Join(host, "out"), TargetName: "t", Warn: warn}
	must(t, Copy(context.Background(), o))
	checkTree(t, filepath.Join(host, "out"))
	if len(warned) != 1 || !strings.Contains(warned[0], "fifo: FIFO") {
		t.Errorf("warnings %q, want one for the FIFO", warned)
	}

	// Into the target, through a symlink the target planted: it is
	// resolved in the target's root, not the host's.
	must(t, os.Symlink("/", filepath.Join(target, "escape")))
	o = Options{Target: dirRoot{target}, TargetPath: "/escape/back", HostPath: filepath.Join(host, "out"), Into: true, TargetName: "t", Warn: warn}
	must(t, Copy(context.Background(), o))
	checkTree(t, filepath.Join(target, "back"))
}

func TestCopyIntoExistingDirectory(t *testing.T) {
	target, host := t.TempDir(), t.TempDir()
	tree(t, target)
	must(t, os.Mkdir(filepath.Join(host, "in"), 0o755))
	o := Options{Target: dirRoot{target}, TargetPath: "/d", HostPath: filepath.Join(host, "in"), TargetName: "t"}
	must(t, Copy(context.Background(), o))
	checkTree(t, filepath.Join(host, "in", "d"))
	// SRC/. copies what the directory holds.
	must(t, os.Mkdir(filepath.Join(host, "contents"), 0o755))
	o.TargetPath, o.HostPath = "/d/.", filepath.Join(host, "contents")
	must(t, Copy(context.Background(), o))
	checkTree(t, filepath.Join(host, "contents"))
}

func TestCopyTarRoundTrip(t *testing.T) {
	target, other := t.TempDir(), t.TempDir()
	tree(t, target)
	var stream bytes.Buffer
	must(t, Copy(context.Background(), Options{Target: dirRoot{target}, TargetPath: "/d", HostPath: "-", Stdout: &stream, TargetName: "t"}))
	must(t, Copy(context.Background(), Options{Target: dirRoot{other}, TargetPath: "/", HostPath: "-", Stdin: &stream, Into: true, TargetName: "t"}))
	checkTree(t, filepath.Join(other, "d"))
}

func TestCopyRefuses(t *testing.T) {
	target, host := t.TempDir(), t.TempDir()
	tree(t, target)
	must(t, os.WriteFile(filepath.Join(host, "file"), nil, 0o644))
	err := Copy(context.Background(), Options{Target: dirRoot{target}, TargetPath: "/d", HostPath: filepath.Join(host, "file"), TargetName: "t"})
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("a directory onto a file: %v, want ErrUnsupported", err)
	}
	err = Copy(context.Background(), Options{Target: dirRoot{target}, TargetPath: "/nosuch", HostPath: filepath.Join(host, "x"), TargetName: "t"})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "t:/nosuch") {
		t.Errorf("a missing source: %v", err)
	}
	// A tar entry that climbs out lands beneath the destination.
	var stream bytes.Buffer
	tw := tar.NewWriter(&stream)
	must(t, tw.WriteHeader(&tar.Header{Name: "../../f", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1, Uid: os.Getuid(), Gid: os.Getgid()}))
	tw.Write([]byte("x"))
	must(t, tw.Close())
	dest := filepath.Join(host, "dest")
	must(t, os.Mkdir(dest, 0o755))
	must(t, Copy(context.Background(), Options{Target: dirRoot{host}, TargetPath: "/dest", HostPath: "-", Stdin: &stream, Into: true, TargetName: "t"}))
	if _, err := os.Stat(filepath.Join(dest, "f")); err != nil {
		t.Errorf("../../f not written beneath the destination: %v", err)
	}
}

// TestCopySetID: a set-id file keeps its bits in the target, and loses
// them on the host.
func TestCopySetID(t *testing.T) {
	target, host := t.TempDir(), t.TempDir()
	p := filepath.Join(host, "suid")
	must(t, os.WriteFile(p, []byte("x"), 0o755))
	must(t, os.Chmod(p, 0o755|fs.ModeSetuid|fs.ModeSetgid))
	must(t, Copy(context.Background(), Options{Target: dirRoot{target}, TargetPath: "/suid", HostPath: p, Into: true, TargetName: "t"}))
	if fi, err := os.Stat(filepath.Join(target, "suid")); err != nil || fi.Mode() != 0o755|fs.ModeSetuid|fs.ModeSetgid {
		t.Errorf("in the target: %v, %v; want -rwsr-sr-x", fi.Mode(), err)
	}
	must(t, Copy(context.Background(), Options{Target: dirRoot{target}, TargetPath: "/suid", HostPath: filepath.Join(host, "back"), TargetName: "t"}))
	if fi, err := os.Stat(filepath.Join(host, "back")); err != nil || fi.Mode() != 0o755 {
		t.Errorf("on the host: %v, %v; want -rwxr-xr-x", fi.Mode(), err)
	}
}
