package runtimes

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctr-enter/ctr-enter/internal/text"
)

// stopped reads a stopped containerd container's layers from its
// snapshotter: Mounts of the container's existing snapshot, which creates
// nothing (no view, no lease), and its spec's hostname and user. The same
// calls work on containerd 1.6 and 2.x.
func (c *containerd) stopped(ctx context.Context, t *Container) (*Stopped, error) {
	if err := c.connect(); err != nil {
		return nil, err
	}
	ctx = namespaces.WithNamespace(ctx, t.Namespace)
	ctr, err := c.client.ContainerService().Get(ctx, t.ID)
	if errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s was removed", ErrVanished, t.Ref())
	}
	if err != nil {
		return nil, unavailable(ctx, Containerd, c.address, err)
	}
	// Its task again: a created one is starting, a running one running.
	resp, err := c.client.TaskService().Get(ctx, &tasks.GetRequest{ContainerID: t.ID})
	err = errgrpc.ToNative(err)
	run := "" // no task: not started since ctr-enter looked
	switch {
	case errdefs.IsNotFound(err):
	case err != nil:
		return nil, unavailable(ctx, Containerd, c.address, err)
	default:
		st := resp.GetProcess().GetStatus()
		t.Status = strings.ToLower(st.String())
		t.Running = st != task.Status_STOPPED
		run = fmt.Sprintf("%d %v", resp.GetProcess().GetPid(), resp.GetProcess().GetExitedAt().AsTime())
	}
	s := &Stopped{Run: run}
	if ctr.Spec != nil {
		var spec specs.Spec
		if err := json.Unmarshal(ctr.Spec.GetValue(), &spec); err != nil {
			return nil, fmt.Errorf("containerd: decode spec of %s: %w", t.Ref(), err)
		}
		s.Config.Hostname = spec.Hostname
		if spec.Hostname == "" && joinsUTS(spec) {
			// A Kubernetes container shares its sandbox's uts
			// namespace, whose hostname CRI also puts in HOSTNAME.
			s.Config.Hostname = envValue(t.Env, "HOSTNAME")
		}
		if spec.Process != nil {
			u := spec.Process.User
			s.Config.User = strconv.Itoa(int(u.UID)) + ":" + strconv.Itoa(int(u.GID))
		}
		s.Mounts = specMounts(spec.Mounts)
	}
	if ctr.SnapshotKey == "" {
		return nil, fmt.Errorf("%w: %s has no snapshot", ErrNoRootFS, t.Ref())
	}
	mounts, err := c.client.SnapshotService(ctr.Snapshotter).Mounts(ctx, ctr.SnapshotKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: snapshot %s: %w", ErrNoRootFS, t.Ref(), text.Clean(ctr.SnapshotKey), err)
	}
	if len(mounts) != 1 {
		return nil, fmt.Errorf("%w: %s: snapshotter %s gives %d mounts", ErrNoRootFS, t.Ref(), text.Clean(ctr.Snapshotter), len(mounts))
	}
	switch m := mounts[0]; m.Type {
	case "overlay":
		if s.RootFS, err = overlayOptions(m.Options); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrNoRootFS, t.Ref(), err)
		}
	case "bind":
		// A snapshot without parents (the native snapshotter, or an
		// image of no layers): its directory is the whole root, and
		// the container's own writes land there.
		s.RootFS.Upper = m.Source
	default:
		return nil, fmt.Errorf("%w: %s: snapshotter %s mounts %s", ErrNoRootFS, t.Ref(), text.Clean(ctr.Snapshotter), text.Clean(m.Type))
	}
	return s, nil
}

// specMounts are the bind mounts and tmpfs of an OCI spec, as a start of
// its container mounts them (runc: a mount is a bind when its options say
// bind or rbind, whatever its type). Kernel file systems (proc, sysfs,
// devpts, mqueue, cgroup) are the session's own business.
func specMounts(ms []specs.Mount) []Mount {
	var out []Mount
	for _, m := range ms {
		bind := m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
		rw := !slices.Contains(m.Options, "ro")
		switch {
		case bind && m.Source != "":
			out = append(out, Mount{Source: m.Source, Destination: m.Destination, RW: rw})
		case m.Type == "tmpfs":
			out = append(out, Mount{Destination: m.Destination, RW: rw})
		}
	}
	return out
}

// joinsUTS says whether a spec's container joins a uts namespace that
// another holds (a pod's sandbox), rather than getting its own.
func joinsUTS(spec specs.Spec) bool {
	if spec.Linux == nil {
		return false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.UTSNamespace {
			return ns.Path != ""
		}
	}
	return false // none at all: the host's, which the session keeps
}

// envValue is NAME's value in a KEY=VALUE list ("" if absent).
func envValue(env []string, name string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}
