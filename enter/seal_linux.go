package enter

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// openSealed opens the executable at path for execveat(2) through a view that
// a process of the target cannot write to, however it gets hold of it.
//
// CVE-2019-5736: a process that runs inside a target's pid namespace shows
// its executable as /proc/PID/exe to the target's processes, and one with
// CAP_SYS_PTRACE can reopen that for writing and replace the host's file
// (runc's binary then; nsenter, ps or sh as measured here). So nothing the
// host owns is executed there from a writable mount: not ctr-enter itself
// (it re-executes into the target) and not a host binary run as the payload.
//
// As runc does (libcontainer/exeseal), the view is a detached overlayfs whose
// only layers are the executable's directory and an empty one: an overlayfs
// without an upper layer cannot be remounted writable, unlike a read-only
// bind mount. It is never attached anywhere, so nothing is left mounted: it
// goes when its last user exits. Where overlayfs cannot be used, the
// executable is copied into a sealed memfd instead.
func openSealed(path string) (*os.File, error) {
	f, err := sealedOverlay(path)
	if err == nil {
		return f, nil
	}
	return sealedMemfd(path)
}

func sealedOverlay(path string) (*os.File, error) {
	// overlayfs needs the real directory; /proc/self/exe is a magic link.
	path, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	dir, name := filepath.Split(path)
	mnt, err := readOnlyView(dir)
	if err != nil {
		return nil, err
	}
	defer unix.Close(mnt)
	fd, err := unix.Openat(mnt, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path + " (sealed)", Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// readOnlyView returns a detached mount of dirs, overlaid (the first on
// top), that nothing can make writable: an overlayfs without an upper
// layer. It is never attached anywhere on the host; it goes when its last
// user does.
func readOnlyView(dirs ...string) (int, error) {
	if len(dirs) == 1 {
		// An overlayfs without an upper layer needs two lower ones.
		// The second is an empty tmpfs that is mounted nowhere (a
		// directory removed from under the overlay would break listing
		// its root), found through our fd.
		empty, err := emptyLayer()
		if err != nil {
			return -1, err
		}
		dirs = append(dirs, fmt.Sprintf("/proc/self/fd/%d", empty))
	}
	return overlay(unix.MOUNT_ATTR_RDONLY, func(ctx int) error {
		escape := strings.NewReplacer(`\`, `\\`, `:`, `\:`)
		var lower []string
		for _, d := range dirs {
			lower = append(lower, escape.Replace(filepath.Clean(d)))
		}
		if err := unix.FsconfigSetString(ctx, "lowerdir", strings.Join(lower, ":")); err != nil {
			return fmt.Errorf("fsconfig overlay lowerdir=%s: %w", strings.Join(lower, ":"), err)
		}
		return nil
	})
}

// emptyLayer is a detached, read-only, empty tmpfs, one for every view of
// the process. Closing a detached mount's last fd waits for an expedited
// RCU grace period (about 0.1 ms each on these machines, three times
// for an entry's three views); this one is closed once, at exit.
var emptyLayer = sync.OnceValues(func() (int, error) {
	return detachedTmpfs(unix.MOUNT_ATTR_RDONLY)
})

// overlay makes a detached overlayfs, its layers set by configure, with
// the mount attributes attr besides nodev and nosuid.
func overlay(attr int, configure func(ctx int) error) (int, error) {
	ctx, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, os.NewSyscallError("fsopen overlay", err)
	}
	defer unix.Close(ctx)
	if err := configure(ctx); err != nil {
		return -1, err
	}
	// xino only adds noise to dmesg when the layers are on different
	// filesystems; it does not matter here.
	_ = unix.FsconfigSetString(ctx, "xino", "off")
	if err := unix.FsconfigCreate(ctx); err != nil {
		return -1, os.NewSyscallError("fsconfig create overlay", err)
	}
	mnt, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC, attr|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return -1, os.NewSyscallError("fsmount overlay", err)
	}
	return mnt, nil
}

func sealedMemfd(path string) (*os.File, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return sealedCopy(path+" (memfd)", src)
}

// sealedCopy returns a memfd holding what r reads, sealed against any
// change, and positioned at its start for whoever reads it next.
func sealedCopy(name string, r io.Reader) (*os.File, error) {
	fd, err := unix.MemfdCreate("ctr-enter-sealed", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, os.NewSyscallError("memfd_create", err)
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return nil, fmt.Errorf("copy %s into memfd: %w", name, err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, os.NewSyscallError("fcntl F_ADD_SEALS", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
