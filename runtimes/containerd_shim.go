package runtimes

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	taskv2 "github.com/containerd/containerd/api/runtime/task/v2"
	taskv3 "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/ttrpc"
	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
)

// A shim that containerd does not know.
//
// containerd starts a task's shim, and only then registers the task. A
// client that goes away in between (ctr-enter killed during NewTask), or
// during the task's delete (after containerd dropped the task from its
// list, before it told the shim to shut down), leaves a shim that
// containerd never lists again, nor stops, nor cleans up on restart
// when its bundle is gone: containerd-shim-runc-v2 -id ID, holding its
// memory, its socket, perhaps a created container (runc init waiting,
// its cgroup, its rootfs mounted) and its bundle in the runtime's state
// directory. The process table names it: its arguments say the
// namespace, the ID and the containerd it answers to, its working
// directory is its bundle, and it listens on its ttrpc socket. Through
// that socket ctr-enter asks it what containerd would have: kill the
// container, delete it (runc delete, rootfs unmounted), shut down.

// shimProc is one running shim of a containerd task.
type shimProc struct {
	pid   int
	start uint64 // its start time, so that a recycled PID is not taken for it
}

// shimArgs are the flags a containerd shim daemon was started with; ok is
// false for a process that is not a shim daemon (the short-lived "start"
// and "delete" commands of the shim binary included: containerd waits on
// those itself).
func shimArgs(cmdline []byte) (namespace, id, address string, ok bool) {
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
		return "", "", "", false
	}
	flags := map[string]string{}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return "", "", "", false // an action: start, delete
		}
		name, value, eq := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "namespace", "id", "address", "publish-binary", "bundle", "socket":
			if !eq {
				if i+1 >= len(args) {
					return "", "", "", false
				}
				i++
				value = args[i]
			}
			flags[name] = value
		}
	}
	if flags["namespace"] == "" || flags["id"] == "" || flags["address"] == "" {
		return "", "", "", false
	}
	return flags["namespace"], flags["id"], flags["address"], true
}

// findShims returns the shims serving task namespace/id for the
// containerd listening on address, registered with it or not.
func findShims(address, namespace, id string) ([]shimProc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []shimProc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := shimOf(pid, address, namespace, id); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// shimOf reports whether pid is a shim of task namespace/id for the
// containerd at address, as it is now.
func shimOf(pid int, address, namespace, id string) (shimProc, bool) {
	st, err := procfs.ReadStat(pid)
	if err != nil {
		return shimProc{}, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return shimProc{}, false
	}
	ns, sid, addr, ok := shimArgs(cmdline)
	if !ok || ns != namespace || sid != id || !sameSocket(addr, address) {
		return shimProc{}, false
	}
	return shimProc{pid: pid, start: st.StartTime}, true
}

// sameSocket: the shim's -address and ctr-enter's may name one socket
// differently (a symlink, a relative path).
func sameSocket(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// listeningSocket is the path of the unix socket pid listens on: a shim
// has exactly one, its ttrpc server's. Read from the process's own view
// (its file descriptors, its network namespace's socket table), not
// computed as containerd computes it: that differs between versions and
// configurations (socket_dir).
func listeningSocket(pid int) (string, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("read shim %d's files: %w", pid, err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	table, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/unix", pid))
	if err != nil {
		return "", fmt.Errorf("read shim %d's sockets: %w", pid, err)
	}
	if path, ok := parseListening(table, inodes); ok {
		return path, nil
	}
	return "", fmt.Errorf("shim %d listens on no unix socket", pid)
}

// soAcceptCon is __SO_ACCEPTCON in /proc/net/unix's flags: a listening
// socket.
const soAcceptCon = 0x10000

// parseListening finds, in a /proc/net/unix table, the listening socket
// with a path among inodes.
func parseListening(table []byte, inodes map[string]bool) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // header
	for sc.Scan() {
		// Num RefCount Protocol Flags Type St Inode Path
		f := strings.Fields(sc.Text())
		if len(f) < 8 || !inodes[f[6]] {
			continue
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil || flags&soAcceptCon == 0 {
			continue
		}
		return f[7], true
	}
	return "", false
}

// stopShim asks a shim containerd does not know to do what containerd's
// task delete would have (kill, wait, delete the container, which
// unmounts its rootfs and removes its cgroup), removes its bundle, and
// shuts it down. A shim that does not answer is killed: it serves no
// task containerd knows, and no one else will.
func stopShim(ctx context.Context, p shimProc, address, namespace, id string) error {
	pidfd, err := unix.PidfdOpen(p.pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open shim %d: %w", p.pid, os.NewSyscallError("pidfd_open", err))
	}
	defer unix.Close(pidfd)
	// The pidfd pins the process: checked again now, it is the shim
	// that was found, not a process that took its PID since.
	if now, ok := shimOf(p.pid, address, namespace, id); !ok || now.start != p.start {
		return nil
	}
	bundle, bundleErr := shimBundle(p.pid, namespace, id)
	err = askShim(ctx, p.pid, id)
	var removed bool
	var berr error
	if err == nil && bundleErr == nil && bundle != "" {
		// Before the shutdown, so that a kill in between leaves a shim
		// that names it; after the delete, which unmounted the rootfs.
		berr, removed = removeBundle(bundle, namespace, id), true
	}
	if err == nil {
		err = shutdownShim(ctx, p.pid, id)
	}
	// Exited, as asked or on its own (a shim containerd is cleaning up
	// after at the same moment): what it left is the caller's to
	// remove (runc state, cgroups), and the bundle is ours.
	if !exited(pidfd, 5*time.Second) {
		// It did not answer, or refused: kill it.
		if kerr := unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0); kerr != nil && !errors.Is(kerr, unix.ESRCH) {
			return fmt.Errorf("kill shim %d: %w (it did not stop: %w)", p.pid, os.NewSyscallError("pidfd_send_signal", kerr), err)
		}
		if !exited(pidfd, 5*time.Second) {
			return fmt.Errorf("shim %d of %s/%s did not exit", p.pid, namespace, id)
		}
	}
	if !removed && bundleErr == nil && bundle != "" {
		berr = removeBundle(bundle, namespace, id)
	}
	return berr
}

// exited waits up to d for the process of pidfd to exit.
func exited(pidfd int, d time.Duration) bool {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left < 0 {
			left = 0
		}
		n, err := unix.Poll(fds, int(left.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && n > 0
	}
}

func dialShim(ctx context.Context, pid int) (*ttrpc.Client, error) {
	sock, err := listeningSocket(pid)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, fmt.Errorf("connect to shim %d: %w", pid, err)
	}
	return ttrpc.NewClient(conn), nil
}

// unimplemented is a shim's answer to a service it does not have.
func unimplemented(err error) bool {
	return err != nil && errdefs.IsNotImplemented(errgrpc.ToNative(err))
}

// askShim kills and deletes task id in the shim, through its v3 task
// service or, for a shim of containerd 1.x, its v2 one.
func askShim(ctx context.Context, pid int, id string) error {
	cl, err := dialShim(ctx, pid)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v3 := taskv3.NewTTRPCTaskClient(cl)
	_, err = v3.Kill(ctx, &taskv3.KillRequest{ID: id, Signal: uint32(syscall.SIGKILL), All: true})
	if unimplemented(err) {
		return askShimV2(ctx, taskv2.NewTTRPCTaskClient(cl), id)
	}
	if notFound(err) {
		return nil // an empty shim: nothing to delete
	}
	// A task that was never started cannot be waited for, only
	// deleted once the kill took; one that ran, once it exited.
	if _, err := v3.Wait(ctx, &taskv3.WaitRequest{ID: id}); err != nil && !notFound(err) {
		return fmt.Errorf("wait for %s in shim %d: %w", id, pid, errgrpc.ToNative(err))
	}
	if _, err := v3.Delete(ctx, &taskv3.DeleteRequest{ID: id}); err != nil && !notFound(err) {
		return fmt.Errorf("delete %s in shim %d: %w", id, pid, errgrpc.ToNative(err))
	}
	return nil
}

func askShimV2(ctx context.Context, v2 taskv2.TTRPCTaskService, id string) error {
	_, err := v2.Kill(ctx, &taskv2.KillRequest{ID: id, Signal: uint32(syscall.SIGKILL), All: true})
	if notFound(err) {
		return nil
	}
	if _, err := v2.Wait(ctx, &taskv2.WaitRequest{ID: id}); err != nil && !notFound(err) {
		return fmt.Errorf("wait for %s in shim: %w", id, errgrpc.ToNative(err))
	}
	if _, err := v2.Delete(ctx, &taskv2.DeleteRequest{ID: id}); err != nil && !notFound(err) {
		return fmt.Errorf("delete %s in shim: %w", id, errgrpc.ToNative(err))
	}
	return nil
}

// shutdownShim tells the shim to exit: it does once it serves no
// container. Its connection dropping is its way of saying yes.
func shutdownShim(ctx context.Context, pid int, id string) error {
	cl, err := dialShim(ctx, pid)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = taskv3.NewTTRPCTaskClient(cl).Shutdown(ctx, &taskv3.ShutdownRequest{ID: id, Now: true})
	if unimplemented(err) {
		_, err = taskv2.NewTTRPCTaskClient(cl).Shutdown(ctx, &taskv2.ShutdownRequest{ID: id, Now: true})
	}
	if err != nil && !errors.Is(err, ttrpc.ErrClosed) && !notFound(err) {
		return fmt.Errorf("shut down shim %d: %w", pid, errgrpc.ToNative(err))
	}
	return nil
}

func notFound(err error) bool {
	return err != nil && errdefs.IsNotFound(errgrpc.ToNative(err))
}

// shimBundle is the shim's bundle: its working directory, as containerd
// starts it, "" once containerd removed it. It must be named after the
// task (STATE/NAMESPACE/ID): it is removed whole.
func shimBundle(pid int, namespace, id string) (string, error) {
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return "", fmt.Errorf("read shim %d's bundle: %w", pid, err)
	}
	if strings.HasSuffix(cwd, " (deleted)") {
		return "", nil
	}
	if !bundleOf(cwd, namespace, id) {
		return "", fmt.Errorf("shim %d of %s/%s works in %s, not in a bundle of that task", pid, namespace, id, cwd)
	}
	return cwd, nil
}

// bundleOf reports whether dir is named as the bundle (or the work
// directory) of task namespace/id is.
func bundleOf(dir, namespace, id string) bool {
	return filepath.IsAbs(dir) && filepath.Base(dir) == id && filepath.Base(filepath.Dir(dir)) == namespace
}

// removeBundle removes a task's bundle as containerd's bundle delete
// does: the rootfs unmounted and removed empty first (never a recursive
// removal through a mount: that would empty the image's snapshot), then
// the bundle, then the work directory its "work" link names.
func removeBundle(bundle, namespace, id string) error {
	rootfs := filepath.Join(bundle, "rootfs")
	// Mounts may be stacked: until EINVAL (not a mount point any more)
	// or ENOENT (gone).
	for i := 0; i < 16 && unix.Unmount(rootfs, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW) == nil; i++ {
	}
	if err := os.Remove(rootfs); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove bundle of %s/%s: %w", namespace, id, err)
	}
	work, werr := os.Readlink(filepath.Join(bundle, "work"))
	if err := os.RemoveAll(bundle); err != nil {
		return fmt.Errorf("remove bundle of %s/%s: %w", namespace, id, err)
	}
	if werr == nil && bundleOf(work, namespace, id) {
		if err := os.RemoveAll(work); err != nil {
			return fmt.Errorf("remove work directory of %s/%s: %w", namespace, id, err)
		}
	}
	return nil
}
