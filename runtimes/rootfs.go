package runtimes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/typeurl/v2"
	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
	"github.com/ctr-enter/ctr-enter/internal/text"
)

// RootFS is a container's root filesystem as its runtime keeps it on the
// host: the overlayfs layers that a start of the container mounts. Paths
// are the runtime's (its daemon says them, not the container), and are
// only ever handed to overlayfs as layers: nothing resolves a path inside
// them from the host.
type RootFS struct {
	// Lower are the read-only layers, top first.
	Lower []string
	// Upper is the container's own writable layer, and Work the
	// overlayfs work directory that goes with it.
	Upper, Work string
}

// Mount is a file system that a start of the container mounts over its
// root filesystem, where its runtime can name it: a host directory or file
// (Docker's volumes and binds, a containerd spec's bind mounts), or an
// empty tmpfs (Source "").
type Mount struct {
	Source      string
	Destination string
	RW          bool // mounted writable by the runtime
}

// Config is what a stopped container's runtime config says its processes
// start with: Container's Env and Cwd, and these.
type Config struct {
	Hostname string
	User     string // as the config gives it: NAME, UID, UID:GID...
}

// ErrNoRootFS is a container whose files ctr-enter cannot reach: a storage
// driver or snapshotter that does not keep them as overlayfs layers.
var ErrNoRootFS = errors.New("cannot open the container's files")

// Stopped is a container that is not running, with what a session over its
// files needs.
type Stopped struct {
	RootFS RootFS
	Config Config
	// Mounts are the container's volumes that its runtime names, in the
	// runtime's order. Others (a volume plugin's, not mounted while the
	// container is stopped; a Docker image mount) are absent.
	Mounts []Mount
	// Run tells one run of the container from the next: a start since
	// changes it, even if the container has exited again.
	Run string
}

// OpenStopped asks c's runtime for the root filesystem and config of c,
// which is not running (Describe has filled in Env and Cwd).
func OpenStopped(ctx context.Context, opts Options, c *Container) (*Stopped, error) {
	b, err := Open(opts, c.Runtime, c.Namespace)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	switch b := b.(type) {
	case *docker:
		return b.stopped(ctx, c)
	case *containerd:
		return b.stopped(ctx, c)
	}
	return nil, fmt.Errorf("%w: %s: its runtime cannot say where they are", ErrNoRootFS, c.Ref())
}

// overlayOptions reads the layers of an overlay mount's options
// (lowerdir=A:B,upperdir=U,workdir=W), as containerd's snapshotters give
// them. Escaped colons (\:) in a lower path are kept.
func overlayOptions(options []string) (RootFS, error) {
	var r RootFS
	for _, o := range options {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "lowerdir":
			r.Lower = splitLower(v)
		case "upperdir":
			r.Upper = v
		case "workdir":
			r.Work = v
		}
	}
	if len(r.Lower) == 0 && r.Upper == "" {
		return r, fmt.Errorf("overlay mount without layers: %q", options)
	}
	return r, nil
}

// splitLower splits an overlayfs lowerdir list at its unescaped colons.
func splitLower(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case s[i] == ':':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// WatchStart closes the channel it returns once c, which was seen stopped,
// is run by its runtime (or is starting, or ran and exited since): it
// watches containerd's task events, and polls either runtime's state every
// 200ms (Docker's StartedAt tells a run that ended between two polls).
// It stops when ctx is done.
func WatchStart(ctx context.Context, opts Options, c *Container) <-chan struct{} {
	started := make(chan struct{})
	var once sync.Once
	done := func() { once.Do(func() { close(started) }) }
	if c.Runtime == Containerd {
		// Before the first look: a task that is created and deleted
		// between two polls leaves no trace but its events.
		cd := newContainerd(opts.ContainerdAddress, c.Namespace)
		if cd.connect() == nil {
			events, errs := cd.client.Subscribe(namespaces.WithNamespace(ctx, c.Namespace), `topic=="/tasks/create"`, `topic=="/tasks/start"`)
			go func() {
				defer cd.Close()
				for {
					select {
					case e := <-events:
						if taskOf(e) == c.ID {
							done()
						}
					case <-errs:
						return
					case <-ctx.Done():
						return
					}
				}
			}()
		}
	}
	go func() {
		first, err := OpenStopped(ctx, opts, &Container{Runtime: c.Runtime, Namespace: c.Namespace, ID: c.ID, Name: c.Name})
		if err != nil {
			return
		}
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			probe := *c
			if now, err := OpenStopped(ctx, opts, &probe); err == nil && (probe.Running || now.Run != first.Run) {
				done()
				return
			}
		}
	}()
	return started
}

// taskOf is the container a task event is about ("" if none).
func taskOf(e *events.Envelope) string {
	if e == nil || e.Event == nil {
		return ""
	}
	v, err := typeurl.UnmarshalAny(e.Event)
	if err != nil {
		return ""
	}
	switch ev := v.(type) {
	case *eventstypes.TaskCreate:
		return ev.ContainerID
	case *eventstypes.TaskStart:
		return ev.ContainerID
	}
	return ""
}

// A --write session holds the container's writable layer: it renames the
// layer's directory beside itself, to Upper+heldSuffix+OWNER, and mounts
// it from there. A start of the container mounts the layer by its path
// (Docker's overlay2 its UpperDir, containerd's shim the snapshot's
// upperdir), so that start fails with the runtime's own error (ENOENT:
// Docker's "error creating overlay mount to .../merged: no such file or
// directory", containerd's "failed to mount rootfs component") and the
// container is left as it was. Nothing else would do: overlayfs only
// warns of a second mount on an upper layer in use (Docker mounts with
// index=off), and neither runtime has a lock to take.
//
// The rename stays in the runtime's own directory (a container's or a
// snapshot's, which removing it removes whole) and never replaces a file
// (RENAME_NOREPLACE); the container's processes, which are not running,
// cannot reach either name. OWNER is the session's PID and start time, so
// that a layer whose session was killed is told from one in use:
// ReleaseOrphans renames it back (ctr-enter gc, and any session over
// that container). Until then, the runtime cannot start the container.
const heldSuffix = ".ctr-enter-held-"

// ErrHeld is a container whose writable layer another ctr-enter's --write
// session holds.
var ErrHeld = errors.New("held by a --write session")

// Hold renames st's writable layer away for a --write session over c (see
// heldSuffix), checks that c did not start meanwhile, and returns the
// path to mount it from and the function that gives it back.
func Hold(ctx context.Context, opts Options, c *Container, st *Stopped) (string, func() error, error) {
	upper := st.RootFS.Upper
	// Only the layouts whose start is known to fail without the layer.
	if base := filepath.Base(upper); !filepath.IsAbs(upper) || (base != "diff" && base != "fs") || st.RootFS.Work == "" {
		return "", nil, fmt.Errorf("%w: %s: its writable layer %s is not one ctr-enter can hold", ErrNoRootFS, c.Ref(), text.Clean(upper))
	}
	start, err := procfs.ReadStat(os.Getpid())
	if err != nil {
		return "", nil, err
	}
	held := fmt.Sprintf("%s%s%d-%d", upper, heldSuffix, os.Getpid(), start.StartTime)
	if err := unix.Renameat2(unix.AT_FDCWD, upper, unix.AT_FDCWD, held, unix.RENAME_NOREPLACE); err != nil {
		if errors.Is(err, unix.ENOENT) {
			if owners := HeldBy(upper); len(owners) > 0 {
				return "", nil, fmt.Errorf("%w: %s: ctr-enter %s", ErrHeld, c.Ref(), strings.Join(owners, ", "))
			}
		}
		return "", nil, &os.LinkError{Op: "rename", Old: upper, New: held, Err: err}
	}
	release := func() error {
		if err := unix.Renameat2(unix.AT_FDCWD, held, unix.AT_FDCWD, upper, unix.RENAME_NOREPLACE); err != nil && !errors.Is(err, unix.ENOENT) {
			// ENOENT: the container was removed, layer and all.
			return &os.LinkError{Op: "rename", Old: held, New: upper, Err: err}
		}
		return nil
	}
	// A start between the caller's look and the rename mounted the
	// layer already: look again, now that no start can.
	probe := *c
	now, err := OpenStopped(ctx, opts, &probe)
	if err == nil && (probe.Running || now.Run != st.Run) {
		err = fmt.Errorf("%w: %s was started meanwhile", ErrStarted, c.Ref())
	}
	if err != nil {
		return "", nil, errors.Join(err, release())
	}
	return held, release, nil
}

// ErrStarted is a container that its runtime started while ctr-enter
// looked at it.
var ErrStarted = errors.New("container started")

// HeldBy lists the owners (PID-STARTTIME) of holds on the layer upper.
func HeldBy(upper string) []string {
	matches, _ := filepath.Glob(upper + heldSuffix + "*")
	var owners []string
	for _, m := range matches {
		owners = append(owners, strings.TrimPrefix(m, upper+heldSuffix))
	}
	return owners
}

// ReleaseOrphans gives back the layer upper where a --write session that
// is gone (killed before it could) holds it, and returns what it gave
// back; one that runs keeps it.
func ReleaseOrphans(upper string) ([]string, error) {
	var released []string
	var errs []error
	for _, owner := range HeldBy(upper) {
		if !ownerGone(owner) {
			continue
		}
		held := upper + heldSuffix + owner
		if err := unix.Renameat2(unix.AT_FDCWD, held, unix.AT_FDCWD, upper, unix.RENAME_NOREPLACE); err != nil {
			errs = append(errs, &os.LinkError{Op: "rename", Old: held, New: upper, Err: err})
			continue
		}
		released = append(released, upper)
	}
	return released, errors.Join(errs...)
}

// ownerGone says whether the process PID-STARTTIME has exited (its PID
// free, or another process's since).
func ownerGone(owner string) bool {
	pid, start, ok := strings.Cut(owner, "-")
	n, err := strconv.Atoi(pid)
	if !ok || err != nil {
		return false // not ours to judge: left alone
	}
	st, err := procfs.ReadStat(n)
	return err != nil || strconv.FormatUint(st.StartTime, 10) != start
}
