package enter

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/enter/nsexec"
)

// Tools is a choice of debug tools for a session (Options.Tools): none (the
// zero value), OwnTools, or ImageTools.
type Tools struct {
	own   bool
	image string
}

// OwnTools brings ctr-enter's own programs: those of the root filesystem it
// runs from (a node's, or its own image's).
var OwnTools = Tools{own: true}

// ImageTools brings the programs of an image unpacked at root.
func ImageTools(root string) Tools { return Tools{image: root} }

// none says that no tools were chosen.
func (t Tools) none() bool { return t == Tools{} }

// root is the directory whose tree the session gets at ToolsDir.
func (t Tools) root() string { return t.tree().root }

// tree is where the host holds the tools.
func (t Tools) tree() toolsTree {
	if t.own {
		return toolsTree{root: ownToolsRoot(), host: "/"}
	}
	return toolsTree{root: t.image, host: t.image}
}

// ToolsDir is where the tools appear in a session.
const ToolsDir = "/" + nsexec.ToolsDir

// programDirs are what OwnTools brings of ctr-enter's root filesystem:
// programs and their libraries. Never /etc, /root or /var: they hold the
// host's secrets, and every process of the target can read the session's
// files through /proc/PID/root.
var programDirs = []string{"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr"}

// toolPath holds a launcher per program of the tools: it runs the program
// with the tools' own loader and libraries, whatever the target's are
// (launchers_linux.go).
const toolPath = ToolsDir + "/" + nsexec.ToolsBin

// withToolPath puts the tools' launchers on env's PATH, after the target's
// own directories: the target's programs keep their names (its scripts and
// the operator's habits expect them), and the tools fill in what it lacks;
// /.ctr-enter/bin/NAME is the tools' NAME.
func withToolPath(env []string) {
	for i, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			env[i] += ":" + toolPath
		}
	}
}

// inTarget says whether the target has the command, as execvp would find
// it there with env's PATH.
func inTarget(p targetFiles, command string, env []string) bool {
	var dirs []string
	if strings.Contains(command, "/") {
		dirs = []string{""}
	} else {
		for _, kv := range env {
			if path, ok := strings.CutPrefix(kv, "PATH="); ok {
				dirs = filepath.SplitList(path)
			}
		}
	}
	for _, dir := range dirs {
		if f, err := p.OpenInRoot(filepath.Join(dir, command), unix.O_PATH); err == nil {
			f.Close()
			return true
		}
	}
	return false
}

// ownToolsRoot is the directory that holds ctr-enter's own programs: /usr
// where /bin, /sbin and /lib* are links into it (merged /usr: Debian 12,
// Fedora, Ubuntu...), else / (see ownTools).
func ownToolsRoot() string {
	for _, name := range programDirs {
		if name == "usr" {
			continue
		}
		link, err := os.Readlink("/" + name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil || strings.TrimPrefix(link, "/") != "usr/"+name {
			return "/"
		}
	}
	return "/usr"
}

// toolsView returns a detached, read-only mount of the tools in root, for
// the constructor to mount into the session. Read-only because every
// process of the target can reach the session's executables through
// /proc/PID/exe and /proc/PID/root (CVE-2019-5736): a write there must
// fail with EROFS, and an overlayfs without an upper layer cannot be
// remounted writable.
func toolsView(root string) (*os.File, error) {
	if root != "/" {
		mnt, err := readOnlyView(root)
		if err != nil {
			return nil, fmt.Errorf("mount tools %s: %w", root, err)
		}
		return os.NewFile(uintptr(mnt), root), nil
	}
	mnt, err := ownTools()
	if err != nil {
		return nil, fmt.Errorf("mount ctr-enter's own tools: %w", err)
	}
	return os.NewFile(uintptr(mnt), "tools"), nil
}

// ownTools builds a detached tmpfs holding a read-only view of each of
// ctr-enter's program directories, and its links to them. Only for a root
// without merged /usr (ctr-enter's own image, older distributions):
// mounting onto a detached mount needs Linux 6.15.
func ownTools() (_ int, err error) {
	mnt, err := detachedTmpfs(0)
	if err != nil {
		return -1, err
	}
	defer func() {
		if err != nil {
			unix.Close(mnt)
		}
	}()
	for _, name := range programDirs {
		fi, err := os.Lstat("/" + name)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue
		case err != nil:
			return -1, err
		case fi.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink("/" + name)
			if err != nil {
				return -1, err
			}
			if err := unix.Symlinkat(link, mnt, name); err != nil {
				return -1, os.NewSyscallError("symlinkat", err)
			}
		case fi.IsDir():
			if err := mountView(mnt, name); err != nil {
				return -1, err
			}
		}
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(mnt, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return -1, os.NewSyscallError("mount_setattr", err)
	}
	return mnt, nil
}

func detachedTmpfs(attr int) (int, error) {
	ctx, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, os.NewSyscallError("fsopen tmpfs", err)
	}
	defer unix.Close(ctx)
	if err := unix.FsconfigSetString(ctx, "mode", "0755"); err != nil {
		return -1, os.NewSyscallError("fsconfig tmpfs", err)
	}
	if err := unix.FsconfigCreate(ctx); err != nil {
		return -1, os.NewSyscallError("fsconfig create tmpfs", err)
	}
	mnt, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID|attr)
	if err != nil {
		return -1, os.NewSyscallError("fsmount tmpfs", err)
	}
	return mnt, nil
}

// mountView mounts a read-only view of /name at name in mnt.
func mountView(mnt int, name string) error {
	view, err := readOnlyView("/" + name)
	if err != nil {
		return err
	}
	defer unix.Close(view)
	if err := unix.Mkdirat(mnt, name, 0o755); err != nil {
		return os.NewSyscallError("mkdirat", err)
	}
	if err := unix.MoveMount(view, "", mnt, name, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount /%s into the tools: %w", name, os.NewSyscallError("move_mount", err))
	}
	return nil
}

// toolShell is the launcher of the tools' /bin/sh, if that resolves inside
// the tools.
func toolShell(root string) (string, error) {
	dir, err := os.Open(root)
	if err != nil {
		return "", err
	}
	defer dir.Close()
	fd, err := unix.Openat2(int(dir.Fd()), "bin/sh", &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return "", fmt.Errorf("%w, nor do the tools (/bin/sh in %s: %w)", ErrNoShell, root, err)
	}
	unix.Close(fd)
	return toolPath + "/sh", nil
}
