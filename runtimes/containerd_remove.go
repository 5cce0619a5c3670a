package runtimes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"
)

// What ctr-enter creates on containerd, and how every piece of it goes
// again, whenever ctr-enter is killed.
//
// A container on containerd is many pieces made one after the other: a
// snapshot (under a lease), the container record, a shim with a bundle
// in the runtime's state directory, a runc container (a cgroup, a
// mounted rootfs), the task containerd registers, the FIFOs of its
// stdio. A ctr-enter killed between any two of them, or during one (a
// request containerd abandons half-way when its client goes), leaves the
// ones made so far. So before anything else, ctr-enter creates a lease
// labelled with the container's ID and with itself (LabelCreatedBy,
// PID:STARTTIME): it holds the snapshot, and says what to remove once
// its creator is gone, even when no container record was made yet. The
// lease goes last, after the rest, in the order containerd needs: the
// task killed and deleted (which stops its shim), the shims containerd
// does not know (containerd_shim.go), the container with its snapshot,
// the FIFOs. Each step finds what is left, whichever step a kill
// interrupted, so that removing again finishes the work.

// LabelOwner marks an ephemeral container with the ctr-enter process
// that owns it ("PID:STARTTIME"): once that process is gone, the
// container is garbage, whatever killed its owner.
const LabelOwner = "ctr-enter.ephemeral-owner"

// LabelCreatedBy marks a container, and the lease that holds its pieces
// while it is made, with the ctr-enter process that made them
// ("PID:STARTTIME"). A lease left by a creator that is gone is an
// unfinished creation (Unfinished).
const LabelCreatedBy = "ctr-enter.created-by"

// labelLeaseOf names, on a lease of ctr-enter's, the container it is
// the creation of.
const labelLeaseOf = "ctr-enter.lease-of"

// fifoRoot holds the stdio FIFOs of ephemeral containers, one directory
// per container, named after it, so that a killed session's are found
// (containerd's default makes a directory of a random name).
const fifoRoot = "/run/ctr-enter/fifo"

func fifoDir(namespace, id string) string { return filepath.Join(fifoRoot, namespace, id) }

// RemoveTimeout bounds one container's removal: many requests, and
// waits (for a task to exit, a shim to stop) that one runtime call's
// --timeout is too short for.
const RemoveTimeout = 60 * time.Second

// testKillAt lets the end-to-end tests kill ctr-enter at a named step of
// creating or removing a container: with CTR_ENTER_TEST_KILL_AT=STEP,
// ctr-enter sends itself SIGKILL there. Only ever the process itself.
func testKillAt(step string) {
	if os.Getenv("CTR_ENTER_TEST_KILL_AT") == step {
		unix.Kill(os.Getpid(), unix.SIGKILL)
		select {} // SIGKILL is not handled: nothing runs after it
	}
}

// createLease creates the lease that holds what is made for container
// id, labelled as labels (LabelCreatedBy among them), and returns ctx
// with it, for the snapshot and the container to be made under it.
func (c *containerd) createLease(ctx context.Context, id string, labels map[string]string) (context.Context, error) {
	ll := maps.Clone(labels)
	ll[labelLeaseOf] = id
	l, err := c.client.LeasesService().Create(ctx, leases.WithRandomID(), leases.WithLabels(ll))
	if err != nil {
		return nil, fmt.Errorf("create a lease for %s: %w", id, err)
	}
	testKillAt("lease")
	return leases.WithLease(ctx, l.ID), nil
}

// Unfinished returns the creations of ctr-enter's that did not finish,
// each as the container it was to make, with its lease's labels
// (LabelCreatedBy says who made it).
func (c *containerd) Unfinished(ctx context.Context) ([]*Container, error) {
	if err := c.connect(); err != nil {
		return nil, err
	}
	nss, err := c.namespaces(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, ns := range nss {
		ls, err := c.client.LeasesService().List(namespaces.WithNamespace(ctx, ns), "labels."+strconv.Quote(labelLeaseOf))
		if err != nil {
			return nil, unavailable(ctx, Containerd, c.address, err)
		}
		for _, l := range ls {
			id := l.Labels[labelLeaseOf]
			out = append(out, &Container{Runtime: Containerd, Namespace: ns, ID: id, Name: id, Labels: l.Labels})
		}
	}
	return out, nil
}

// Remove removes every piece of t ctr-enter made, in containerd's order,
// and what a kill left of an earlier removal. When t's labels say who
// created it (LabelCreatedBy), a container of that ID that someone else
// created is left alone: a creation may have failed on the name being
// taken, leaving only its lease.
func (c *containerd) Remove(ctx context.Context, t *Container) error {
	if err := c.connect(); err != nil {
		return err
	}
	ctx = namespaces.WithNamespace(ctx, t.Namespace)
	createdBy := t.Labels[LabelCreatedBy]
	ctr, err := c.client.ContainerService().Get(ctx, t.ID)
	switch {
	case errdefs.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("load %s: %w", t.ID, err)
	case createdBy != "" && ctr.Labels[LabelCreatedBy] != createdBy:
		// Not ours: only the lease is.
		return c.removeLeases(ctx, t.ID, createdBy)
	}
	if err := c.removeTask(ctx, t.ID); err != nil {
		return err
	}
	testKillAt("remove-task")
	shims, err := findShims(c.address, t.Namespace, t.ID)
	if err != nil {
		return err
	}
	for _, p := range shims {
		if err := stopShim(ctx, p, c.address, t.Namespace, t.ID); err != nil {
			return err
		}
	}
	if ctr.ID != "" {
		if err := removeRuncState(ctx, ctr, t.Namespace, t.ID); err != nil {
			return err
		}
		if err := removeEmptyCgroups(ctr, t.ID); err != nil {
			return err
		}
	}
	// Its log, where it had one: the path follows from its name (the
	// label is not trusted with a path to remove).
	if t.Labels[LabelLog] != "" {
		if err := os.Remove(sidecarLog(t.Namespace, t.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove log: %w", err)
		}
	}
	if err := c.removeContainer(ctx, t.ID); err != nil {
		return err
	}
	testKillAt("remove-container")
	if err := os.RemoveAll(fifoDir(t.Namespace, t.ID)); err != nil {
		return fmt.Errorf("remove the FIFOs of %s: %w", t.ID, err)
	}
	return c.removeLeases(ctx, t.ID, createdBy)
}

// removeTask kills task id, waits for it and deletes it: containerd
// then stops its shim and removes its bundle. Through the task service,
// so that a task whose container record is gone goes too.
func (c *containerd) removeTask(ctx context.Context, id string) error {
	// The raw service's errors are gRPC's: made native once, here.
	ts := c.client.TaskService()
	_, err := ts.Get(ctx, &tasks.GetRequest{ContainerID: id})
	if err = errgrpc.ToNative(err); errdefs.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("load the task of %s: %w", id, err)
	}
	// A task that has exited cannot be killed: FailedPrecondition or
	// NotFound, and then Wait returns at once.
	_, err = ts.Kill(ctx, &tasks.KillRequest{ContainerID: id, Signal: uint32(syscall.SIGKILL), All: true})
	if err = errgrpc.ToNative(err); err != nil && !errdefs.IsNotFound(err) && !errdefs.IsFailedPrecondition(err) {
		return fmt.Errorf("kill the task of %s: %w", id, err)
	}
	_, err = ts.Wait(ctx, &tasks.WaitRequest{ContainerID: id})
	if err = errgrpc.ToNative(err); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("wait for the task of %s: %w", id, err)
	}
	_, err = ts.Delete(ctx, &tasks.DeleteTaskRequest{ContainerID: id})
	if err = errgrpc.ToNative(err); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete the task of %s: %w", id, err)
	}
	return nil
}

// removeRuncState deletes a runc container that no shim serves any more,
// as containerd does after a shim died (the shim binary's delete: runc
// delete --force): one that containerd's abandoned task create left,
// created (runc init waiting in its cgroups) or stopped, after the shim
// that was making it exited. Its runc root and binary are those of the
// container's runtime options, as the shim's were.
func removeRuncState(ctx context.Context, info containers.Container, namespace, id string) error {
	if !strings.HasPrefix(info.Runtime.Name, "io.containerd.runc.") {
		return nil
	}
	root, binary := "/run/containerd/runc", "runc" // the shim's defaults
	if o := info.Runtime.Options; o != nil && strings.HasSuffix(o.GetTypeUrl(), "containerd.runc.v1.Options") {
		var opts options.Options
		if err := proto.Unmarshal(o.GetValue(), &opts); err != nil {
			return fmt.Errorf("read the runtime options of %s: %w", id, err)
		}
		if opts.Root != "" {
			root = opts.Root
		}
		if opts.BinaryName != "" {
			binary = opts.BinaryName
		}
	}
	root = filepath.Join(root, namespace)
	if _, err := os.Stat(filepath.Join(root, id, "state.json")); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if out, err := exec.CommandContext(ctx, binary, "--root", root, "delete", "--force", id).CombinedOutput(); err != nil {
		return fmt.Errorf("runc delete %s: %w: %s", id, err, bytes.TrimSpace(out))
	}
	return nil
}

// removeEmptyCgroups removes the cgroups of container id that runc made
// and left: a runc create that containerd's abandoned request cut short
// makes them before its state, so that no runc delete knows them. Only
// empty ones go (rmdir: a cgroup with a process in it stays, and is an
// error), and only those its spec names, after its ID.
func removeEmptyCgroups(info containers.Container, id string) error {
	if info.Spec == nil {
		return nil
	}
	var spec specs.Spec
	if err := json.Unmarshal(info.Spec.GetValue(), &spec); err != nil || spec.Linux == nil {
		return nil
	}
	cg, err := containerdCgroup(spec.Linux.CgroupsPath)
	if err != nil || !strings.Contains(path.Base(cg), id) {
		return nil
	}
	// Every hierarchy of cgroup v1 (/sys/fs/cgroup/CONTROLLERS), or v2's.
	dirs, _ := filepath.Glob(filepath.Join(cgroupRoot, "*", cg))
	dirs = append(dirs, filepath.Join(cgroupRoot, cg))
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove cgroup %s of %s: %w", d, id, err)
		}
	}
	return nil
}

// cgroupRoot is where the cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// removeContainer deletes container id's snapshot, then its record.
func (c *containerd) removeContainer(ctx context.Context, id string) error {
	ctr, err := c.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", id, err)
	}
	if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	return nil
}

// removeLeases deletes the leases of container id (of createdBy's, when
// set), and waits for containerd's garbage collection to remove what
// only they held: a snapshot made before the container record.
func (c *containerd) removeLeases(ctx context.Context, id, createdBy string) error {
	filter := "labels." + strconv.Quote(labelLeaseOf) + "==" + strconv.Quote(id)
	if createdBy != "" {
		filter += ",labels." + strconv.Quote(LabelCreatedBy) + "==" + strconv.Quote(createdBy)
	}
	lm := c.client.LeasesService()
	ls, err := lm.List(ctx, filter)
	if err != nil {
		return fmt.Errorf("list the leases of %s: %w", id, err)
	}
	for _, l := range ls {
		if err := lm.Delete(ctx, l, leases.SynchronousDelete); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete the lease of %s: %w", id, err)
		}
	}
	return nil
}

// removeAfter runs Remove for t once ctx is done with, bounded on its
// own: the end of a session, or of a failed creation.
func (c *containerd) removeAfter(ctx context.Context, t *Container) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RemoveTimeout)
	defer cancel()
	return c.Remove(ctx, t)
}
