package runtimes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/typeurl/v2"
	"github.com/distribution/reference"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/nskind"
	"github.com/ctr-enter/ctr-enter/internal/procfs"
	"github.com/ctr-enter/ctr-enter/internal/term"
	"github.com/ctr-enter/ctr-enter/internal/text"
)

// CRI labels that name Kubernetes containers in the k8s.io namespace.
const (
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelPodName       = "io.kubernetes.pod.name"
	labelPodUID        = "io.kubernetes.pod.uid"
	labelContainerName = "io.kubernetes.container.name"
	labelNerdctlName   = "nerdctl/name"
)

// containerd is the containerd backend, on its Go client.
type containerd struct {
	address   string
	namespace string // "" for every namespace
	client    *client.Client
	// found holds the spec of each container FindExact returned, whose
	// task it has just asked for: Describe takes both instead of asking
	// again. As with Docker's inspect, they are as fresh as answers
	// asked in their place (the backend lives for one resolution, which
	// describes right after finding).
	found map[*Container]typeurl.Any
}

func newContainerd(address, namespace string) *containerd {
	return &containerd{address: address, namespace: namespace}
}

func (c *containerd) Runtime() string { return Containerd }

func (c *containerd) Close() error {
	if c.client == nil {
		return nil
	}
	return c.client.Close()
}

func (c *containerd) connect() error {
	if c.client != nil {
		return nil
	}
	if err := checkSocket(Containerd, c.address); err != nil {
		return err
	}
	cl, err := client.New(c.address)
	if err != nil {
		return fmt.Errorf("%w: containerd: %w", ErrUnavailable, err)
	}
	c.client = cl
	return nil
}

func (c *containerd) List(ctx context.Context) ([]*Container, error) {
	cs, _, err := c.list(ctx, true)
	return cs, err
}

// FindExact lists, in each namespace searched, only the containers that
// word may name exactly, as containerd's own filters find them: by ID, by
// nerdctl name, and every Kubernetes pod's container (CRI's, and the
// sidecars ctr-enter labels into a pod). A pod's container is named after
// its pod, and which of a pod's containers and attempts a name means is
// resolve's to work out from the whole pod (resolve/pods.go): so the
// whole of each pod word may name is returned, sandbox included. A
// listing carries every container's spec, tens of KiB each: filtered,
// the hot path reads what it needs, however many containers there are.
//
// Only then are the tasks of what was found asked for, each on its own: a
// listing of a namespace's tasks asks the shim of every running container
// there for its state (in Kubernetes' namespace, every pod's), where word
// names one container, or one pod's few.
//
// A generated ID (64 hex digits, what kubectl ctr-enter and crictl give)
// is got by its ID (byID), with its pod's sandbox: no listing at all, so
// that finding it costs the same however many pods the node runs (a
// listing of k8s.io reads every pod's spec, each with the seccomp profile
// the kubelet puts in it, on the daemon's side even when filtered).
func (c *containerd) FindExact(ctx context.Context, word string) ([]*Container, error) {
	listed, specs, err := c.findListed(ctx, word)
	if err != nil {
		return nil, err
	}
	cs := exactly(listed, word)
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, t := range cs {
		wg.Go(func() { errs[i] = c.taskState(namespaces.WithNamespace(ctx, t.Namespace), t) })
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return nil, err
	}
	if c.found == nil {
		c.found = map[*Container]typeurl.Any{}
	}
	for i, t := range listed {
		if slices.Contains(cs, t) {
			c.found[t] = specs[i]
		}
	}
	return cs, nil
}

// findListed lists what FindExact picks word's containers from.
func (c *containerd) findListed(ctx context.Context, word string) ([]*Container, []typeurl.Any, error) {
	if !filterable(word) {
		return c.list(ctx, false)
	}
	q := strconv.Quote(word)
	named := []string{"id==" + q, "labels." + strconv.Quote(labelNerdctlName) + "==" + q}
	if GeneratedID(word) {
		listed, specs, err := c.byID(ctx, word)
		if err != nil {
			return nil, nil, err
		}
		if len(listed) > 0 {
			return c.withOwnPods(ctx, named, listed, specs)
		}
		// Not an ID here: it may still be a pod's name.
	}
	return c.list(ctx, false, append(named, "labels."+strconv.Quote(criKindLabel), "labels."+strconv.Quote(labelPodUID))...)
}

// byID gets the container whose ID is id from each namespace searched,
// and the sandbox of a CRI container's pod by its ID too: a container
// store's Get reads one record, where a filtered listing reads every
// container of the namespace on the daemon's side (about 1 ms per 200),
// and a node's k8s.io holds every pod's. An ID is a container's own: a
// nerdctl name that happens to be another's whole ID does not make it
// ambiguous, as Docker prefers a whole ID to a name.
func (c *containerd) byID(ctx context.Context, id string) ([]*Container, []typeurl.Any, error) {
	if err := c.connect(); err != nil {
		return nil, nil, err
	}
	nss, err := c.namespaces(ctx)
	if err != nil {
		return nil, nil, err
	}
	found := make([][]containers.Container, len(nss))
	errs := make([]error, len(nss))
	var wg sync.WaitGroup
	for i, ns := range nss {
		wg.Go(func() { found[i], errs[i] = c.getWithSandbox(namespaces.WithNamespace(ctx, ns), id) })
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return nil, nil, unavailable(ctx, Containerd, c.address, err)
	}
	var out []*Container
	var specs []typeurl.Any
	for i, ns := range nss {
		cs, ss := fromRecords(ns, found[i], nil)
		out, specs = append(out, cs...), append(specs, ss...)
	}
	return out, specs, nil
}

// getWithSandbox is the container id of ctx's namespace, if there is one,
// with its pod's sandbox when CRI made it, if that is still there.
func (c *containerd) getWithSandbox(ctx context.Context, id string) ([]containers.Container, error) {
	get := func(id string) ([]containers.Container, error) {
		ctr, err := c.client.ContainerService().Get(ctx, id)
		if errdefs.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []containers.Container{ctr}, nil
	}
	found, err := get(id)
	if len(found) == 0 || err != nil {
		return nil, err
	}
	md, sandbox, ok := criInfo(found[0].Labels, found[0].Extensions)
	if !ok || sandbox || md.Metadata.SandboxID == "" {
		return found, nil
	}
	sb, err := get(md.Metadata.SandboxID)
	if err != nil {
		return nil, err
	}
	return append(found, sb...), nil
}

// withOwnPods completes what named found with the rest of their pods: in
// each namespace where one is a sidecar ctr-enter put in a pod, that
// namespace is listed again with its pod's containers, found by the pod
// UID label on each of them, the sandbox included. A CRI container found
// by ID comes with its sandbox (byID), which is all a pod's container
// needs of its pod: its own attempt and the pod's namespaces.
func (c *containerd) withOwnPods(ctx context.Context, named []string, listed []*Container, specs []typeurl.Any) ([]*Container, []typeurl.Any, error) {
	again := podFilters(listed)
	if len(again) == 0 {
		return listed, specs, nil
	}
	var outC []*Container
	var outS []typeurl.Any
	for i, t := range listed {
		if again[t.Namespace] == nil {
			outC, outS = append(outC, t), append(outS, specs[i])
		}
	}
	// In the namespaces' order, as list gives them, not the map's.
	for _, ns := range slices.Sorted(maps.Keys(again)) {
		cs, ss, err := c.listNamespace(ctx, ns, false, append(slices.Clone(named), again[ns]...))
		if err != nil {
			return nil, nil, err
		}
		outC, outS = append(outC, cs...), append(outS, ss...)
	}
	return outC, outS, nil
}

// podFilters are the filters that find the rest of the pods of the
// sidecars in listed, by namespace: their pod UID label.
func podFilters(listed []*Container) map[string][]string {
	again := map[string][]string{}
	for _, t := range listed {
		if uid := t.Labels[labelPodUID]; uid != "" && t.Labels[criKindLabel] == "" {
			again[t.Namespace] = append(again[t.Namespace], "labels."+strconv.Quote(labelPodUID)+"=="+strconv.Quote(uid))
		}
	}
	return again
}

// GeneratedID says whether id has the form runtimes generate: 64 lowercase
// hex digits (32 random bytes), as Docker, nerdctl and CRI make them.
func GeneratedID(id string) bool {
	return len(id) == 64 && strings.Trim(id, "0123456789abcdef") == ""
}

// firstError is the first of errs that is not nil: the one line a
// failure is reported in.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// taskState sets t's state from its task's. Without one, t is not
// running: stopped if it was running before, as created as listed if not.
func (c *containerd) taskState(ctx context.Context, t *Container) error {
	resp, err := c.client.TaskService().Get(ctx, &tasks.GetRequest{ContainerID: t.ID})
	switch err = errgrpc.ToNative(err); {
	case errdefs.IsNotFound(err):
		if t.Running {
			t.Status = "stopped"
		}
		t.Running, t.PID = false, 0
		return nil
	case err != nil:
		return unavailable(ctx, Containerd, c.address, err)
	}
	setState(t, resp.GetProcess())
	return nil
}

// setState sets t's state as its task p says.
func setState(t *Container, p *task.Process) {
	t.PID = int(p.GetPid())
	t.Status = strings.ToLower(p.GetStatus().String())
	t.Running = p.GetStatus() == task.Status_RUNNING || p.GetStatus() == task.Status_PAUSED
}

// filterable says whether word can be given to containerd's filters as
// a quoted value, plainly: the words names are made of, which containerd
// IDs, nerdctl names and pod names all are. Any other is found by a
// listing.
func filterable(word string) bool {
	return strings.Trim(word, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/") == ""
}

// exactly is what FindExact returns of cs: the containers word names by
// ID or by one of their names, and every container of their pods and of
// the pods word may name (see podsNamed), sandbox included (--sandbox
// looks for it there); none if none of them is named word.
func exactly(cs []*Container, word string) []*Container {
	names := podsNamed(word)
	pods := map[podID]bool{} // one pod may be several *Pod
	found := false
	for _, t := range cs {
		named := t.ID == word || slices.Contains(t.Names, word)
		// A pod's name means its app containers (resolve's podNames).
		named = named || t.Pod != nil && !t.PodRole.Sandbox && (t.Pod.Name == word || t.Pod.String() == word)
		found = found || named
		if t.Pod != nil && (named || slices.Contains(names, t.Pod.Name)) {
			pods[podKey(t.Pod)] = true
		}
	}
	if !found {
		return nil
	}
	var out []*Container
	for _, t := range cs {
		if t.ID == word || slices.Contains(t.Names, word) || t.Pod != nil && pods[podKey(t.Pod)] {
			out = append(out, t)
		}
	}
	return out
}

// podID is what tells one pod from another.
type podID struct{ namespace, name, uid string }

func podKey(p *Pod) podID { return podID{p.Namespace, p.Name, p.UID} }

// podsNamed are the names of the pods word may name a container of:
// POD, NAMESPACE/POD, POD/CONTAINER or NAMESPACE/POD/CONTAINER.
func podsNamed(word string) []string {
	parts := strings.Split(word, "/")
	switch len(parts) {
	case 1, 2:
		return parts
	case 3:
		return parts[1:2]
	}
	return nil
}

// list lists the containers of the namespaces searched that match any of
// filters (containerd's syntax), or all of them, with each one's spec;
// with states, with their tasks' state.
func (c *containerd) list(ctx context.Context, states bool, filters ...string) ([]*Container, []typeurl.Any, error) {
	if err := c.connect(); err != nil {
		return nil, nil, err
	}
	nss, err := c.namespaces(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Every namespace at once: the round trips, not the daemon, are
	// most of a listing's time.
	lists := make([][]*Container, len(nss))
	specs := make([][]typeurl.Any, len(nss))
	errs := make([]error, len(nss))
	var wg sync.WaitGroup
	for i, ns := range nss {
		wg.Go(func() { lists[i], specs[i], errs[i] = c.listNamespace(ctx, ns, states, filters) })
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return nil, nil, err
	}
	return slices.Concat(lists...), slices.Concat(specs...), nil
}

// listNamespace lists one namespace's containers that match any of
// filters (all, with none), and their specs; with states, with their
// tasks' state.
func (c *containerd) listNamespace(ctx context.Context, ns string, states bool, filters []string) ([]*Container, []typeurl.Any, error) {
	nsctx := namespaces.WithNamespace(ctx, ns)
	// Containers and tasks at once. A container made between the two
	// answers shows without its task, as if listed in turn.
	var cs []containers.Container
	var cerr error
	listed := make(chan struct{})
	go func() {
		defer close(listed)
		cs, cerr = c.client.ContainerService().List(nsctx, filters...)
	}()
	procs := map[string]*task.Process{}
	var err error
	if states {
		var resp *tasks.ListTasksResponse
		if resp, err = c.client.TaskService().List(nsctx, &tasks.ListTasksRequest{}); err == nil {
			for _, p := range resp.Tasks {
				procs[p.ID] = p
			}
		}
	}
	<-listed
	if err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, unavailable(ctx, Containerd, c.address, err)
	}
	out, specs := fromRecords(ns, cs, procs)
	return out, specs, nil
}

// fromRecords are ns's containers cs as ctr-enter knows them, in their
// pods, with their tasks' states from procs (none: not running, as far
// as procs says), and their specs.
func fromRecords(ns string, cs []containers.Container, procs map[string]*task.Process) ([]*Container, []typeurl.Any) {
	out := make([]*Container, 0, len(cs))
	specs := make([]typeurl.Any, 0, len(cs))
	crimd := map[*Container]*criMetadata{}
	var podded []*Container
	for _, ctr := range cs {
		t := &Container{Runtime: Containerd, Namespace: ns, ID: ctr.ID, Name: ctr.ID, Image: ctr.Image, Labels: ctr.Labels}
		// A container without a task is not running.
		t.Status = "created"
		if p := procs[ctr.ID]; p != nil {
			setState(t, p)
		}
		if n := ctr.Labels[labelNerdctlName]; n != "" {
			t.Names = append(t.Names, n)
			t.Name = n
		}
		if md, sandbox, ok := criInfo(ctr.Labels, ctr.Extensions); ok {
			t.PodRole.Sandbox = sandbox
			crimd[t] = &md
		} else if ctr.Labels[labelPodUID] != "" {
			podded = append(podded, t)
		}
		out = append(out, t)
		specs = append(specs, ctr.Spec)
	}
	withPods(crimd, podded)
	return out, specs
}

// namespaces are the namespaces searched: the one of c, or every one.
func (c *containerd) namespaces(ctx context.Context) ([]string, error) {
	if c.namespace != "" {
		return []string{c.namespace}, nil
	}
	nss, err := c.client.NamespaceService().List(ctx)
	if err != nil {
		return nil, unavailable(ctx, Containerd, c.address, err)
	}
	return nss, nil
}

func (c *containerd) Describe(ctx context.Context, t *Container) error {
	if err := c.connect(); err != nil {
		return err
	}
	ctx = namespaces.WithNamespace(ctx, t.Namespace)
	raw, found := c.found[t]
	delete(c.found, t) // once: a later Describe asks again
	if !found {
		ctr, err := c.client.ContainerService().Get(ctx, t.ID)
		if errdefs.IsNotFound(err) {
			return fmt.Errorf("%w: %s was removed", ErrVanished, t.Ref())
		}
		if err != nil {
			return unavailable(ctx, Containerd, c.address, err)
		}
		raw = ctr.Spec
	}
	// What is read of the spec, alone: decoding into the whole
	// specs.Spec had encoding/json work out the fields of every type it
	// holds, about 4 ms of an entry's CPU time (profiled).
	var spec struct {
		Process *struct {
			Env []string `json:"env"`
			Cwd string   `json:"cwd"`
		} `json:"process"`
		Linux *struct {
			CgroupsPath string `json:"cgroupsPath"`
		} `json:"linux"`
	}
	if raw != nil {
		if err := json.Unmarshal(raw.GetValue(), &spec); err != nil {
			return fmt.Errorf("containerd: decode spec of %s: %w", t.Ref(), err)
		}
	}
	if spec.Process != nil {
		t.Env, t.Cwd = spec.Process.Env, spec.Process.Cwd
	}
	if t.Env == nil {
		t.Env = []string{}
	}
	if t.Running && !found {
		// The PID again, now: the start time Open compares with is read
		// right after describe, and should be that of the process the
		// runtime names then, not of the one the listing named.
		if err := c.taskState(ctx, t); err != nil {
			return err
		}
	}
	if t.Running {
		var cgroupsPath string
		if spec.Linux != nil {
			cgroupsPath = spec.Linux.CgroupsPath
		}
		cg, err := containerdCgroup(cgroupsPath)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrUnverifiable, t.Ref(), err)
		}
		t.ConfiguredCgroups = []string{cg}
	}
	return nil
}

// NewContainerdClient connects to opts.ContainerdAddress, after checking
// that its socket exists (a missing one would cost a whole timeout).
func NewContainerdClient(opts Options) (*client.Client, error) {
	c := newContainerd(opts.ContainerdAddress, "")
	if err := c.connect(); err != nil {
		return nil, err
	}
	return c.client, nil
}

// Update changes the limits through containerd's task update rather than by
// writing the cgroup files, so that what containerd reports stays true.
// Only the limits asked for are sent: runc update leaves the others as
// they are. (Merging with the container's spec would send the limits it
// was created with, undoing any update made since.)
func (c *containerd) Update(ctx context.Context, t *Container, r Resources) error {
	ctx = namespaces.WithNamespace(ctx, t.Namespace)
	task, err := c.task(ctx, t)
	if err != nil {
		return err
	}
	if err := task.Update(ctx, client.WithResources(linuxResources(r))); err != nil {
		return fmt.Errorf("containerd: update %s: %w", t.Ref(), err)
	}
	return nil
}

// linuxResources are r as the OCI spec has them.
func linuxResources(r Resources) *specs.LinuxResources {
	var res specs.LinuxResources
	if r.Memory != nil {
		// The swap limit goes with it, as for Docker: the kernel
		// refuses a memory limit above the memory+swap one.
		swap := memorySwap(*r.Memory)
		res.Memory = &specs.LinuxMemory{Limit: r.Memory, Swap: &swap}
	}
	if r.NanoCPUs != nil || r.CPUShares != nil {
		res.CPU = &specs.LinuxCPU{Shares: r.CPUShares}
		if r.NanoCPUs != nil {
			period, quota := uint64(CPUPeriod), cpuQuota(*r.NanoCPUs)
			res.CPU.Period, res.CPU.Quota = &period, &quota
		}
	}
	if r.Pids != nil {
		res.Pids = &specs.LinuxPids{Limit: r.Pids}
	}
	return &res
}

// task loads t's task; ctx names t's namespace.
func (c *containerd) task(ctx context.Context, t *Container) (client.Task, error) {
	if err := c.connect(); err != nil {
		return nil, err
	}
	ctr, err := c.client.LoadContainer(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("containerd: load %s: %w", t.Ref(), err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("containerd: task of %s: %w", t.Ref(), err)
	}
	return task, nil
}

// LogDir holds the output of detached containerd sidecars, one file per
// sidecar: LogDir/NAMESPACE/NAME.log (containerd keeps no logs of its own;
// Docker's sidecars have `docker logs`).
const LogDir = "/var/log/ctr-enter"

// LabelLog marks a containerd sidecar with the file its output goes to.
const LabelLog = "ctr-enter.log"

func (c *containerd) CreateSidecar(ctx context.Context, t *Container, s Sidecar) (_ *Container, err error) {
	if err := c.connect(); err != nil {
		return nil, err
	}
	ctx = namespaces.WithNamespace(ctx, t.Namespace)
	// Detached: its output goes to a file that the shim writes (containerd
	// keeps none).
	logPath := sidecarLog(t.Namespace, s.Name)
	labels := maps.Clone(s.Labels)
	labels[LabelLog] = logPath
	// The lease first, so that a kill at any later point leaves pieces
	// that gc finds (containerd_remove.go); it goes once the sidecar
	// runs, which then holds its snapshot itself.
	lctx, err := c.createLease(ctx, s.Name, labels)
	if err != nil {
		return nil, err
	}
	made := &Container{Runtime: Containerd, Namespace: t.Namespace, ID: s.Name, Labels: labels}
	// The log is made before the container so that no one else's is
	// taken over: if it exists, only the lease is this creation's.
	if err := createLog(logPath); err != nil {
		c.removeLeases(context.WithoutCancel(ctx), s.Name, labels[LabelCreatedBy])
		return nil, err
	}
	defer func() {
		if err != nil {
			c.removeAfter(ctx, made)
			os.Remove(logPath) // made here: ours, whoever has the name
		}
	}()
	ctr, err := c.newContainer(lctx, t, s, labels)
	if err != nil {
		return nil, err
	}
	testKillAt("container")
	task, err := ctr.NewTask(lctx, cio.LogFile(logPath))
	if err != nil {
		return nil, fmt.Errorf("create sidecar %s's task: %w", text.Clean(s.Name), err)
	}
	testKillAt("task")
	if err := task.Start(ctx); err != nil {
		return nil, fmt.Errorf("start sidecar %s: %w", text.Clean(s.Name), err)
	}
	testKillAt("start")
	if err := c.removeLeases(ctx, s.Name, labels[LabelCreatedBy]); err != nil {
		return nil, err
	}
	return &Container{Runtime: Containerd, Namespace: t.Namespace, ID: s.Name, Name: s.Name, Image: s.Image, Labels: labels, Status: "running", Running: true, PID: int(task.Pid())}, nil
}

// RunEphemeral runs the session's container. Every piece of it is made
// under a lease labelled with its owner, and every piece goes at the
// end by Remove, whichever step failed: the same removal that gc does
// for a session that was killed.
func (c *containerd) RunEphemeral(ctx context.Context, t *Container, s Sidecar, sess Session) (_ int, err error) {
	if err := c.connect(); err != nil {
		return 0, err
	}
	ctx = namespaces.WithNamespace(ctx, t.Namespace)
	lctx, err := c.createLease(ctx, s.Name, s.Labels)
	if err != nil {
		return 0, err
	}
	defer func() {
		if rerr := c.removeAfter(ctx, &Container{Runtime: Containerd, Namespace: t.Namespace, ID: s.Name, Labels: s.Labels}); rerr != nil && err == nil {
			err = fmt.Errorf("remove %s: %w", text.Clean(s.Name), rerr)
		}
	}()
	var extra []oci.SpecOpts
	if sess.TTY {
		extra = append(extra, oci.WithTTY)
		// runc makes the terminal this size: the command starts with
		// the operator's, rather than 0x0 and a resize (a SIGWINCH)
		// while it starts up.
		if ws := term.Size(sess.Stdin, sess.Stdout); ws != nil {
			extra = append(extra, oci.WithTTYSize(int(ws.Col), int(ws.Row)))
		}
	}
	ctr, err := c.newContainer(lctx, t, s, s.Labels, extra...)
	if err != nil {
		return 0, err
	}
	testKillAt("container")

	var stdin io.Reader = bytes.NewReader(nil)
	if sess.Interactive {
		stdin = sess.Stdin
	}
	// FIFOs in a directory named after the container, that Remove finds.
	streams := []cio.Opt{cio.WithStreams(stdin, sess.Stdout, sess.Stderr), cio.WithFIFODir(fifoDir(t.Namespace, s.Name))}
	if sess.TTY {
		streams = append(streams, cio.WithTerminal)
	}
	task, err := ctr.NewTask(lctx, cio.NewCreator(streams...))
	if err != nil {
		return 0, fmt.Errorf("create %s's task: %w", text.Clean(s.Name), err)
	}
	testKillAt("task")
	// Deleted through the client first: that waits for the output to be
	// copied, and closes the FIFOs. Remove does the rest.
	defer task.Delete(context.WithoutCancel(ctx), client.WithProcessKill)
	// Wait before Start, so that the exit is never missed.
	exited, err := task.Wait(ctx)
	if err != nil {
		return 0, err
	}
	if err := task.Start(ctx); err != nil {
		return 0, fmt.Errorf("start %s: %w", text.Clean(s.Name), err)
	}
	testKillAt("start")
	if sess.TTY {
		stop := term.FollowSize(func(ws *unix.Winsize) { task.Resize(ctx, uint32(ws.Col), uint32(ws.Row)) }, sess.Stdin)
		defer stop()
	}
	status := <-exited
	testKillAt("exited")
	if ctx.Err() != nil {
		// The session ended first (a hang-up): the container goes.
		return 0, ctx.Err()
	}
	code, _, err := status.Result()
	return int(code), err
}

// sidecarLog is where a containerd sidecar's output goes. containerd
// allows only letters, digits, '.', '_' and '-' in namespaces and IDs: the
// path stays under LogDir.
func sidecarLog(namespace, id string) string {
	return filepath.Join(LogDir, namespace, id+".log")
}

// createLog creates a sidecar's log file, readable by root only (a
// sidecar's output may hold secrets); it refuses one that exists.
func createLog(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_NOFOLLOW, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create log: %w (a sidecar of that name runs, or was removed without attach rm: remove the file)", err)
	}
	if err != nil {
		return fmt.Errorf("create log: %w", err)
	}
	return f.Close()
}

// sharedKinds are the spec's names of the kinds a sidecar may share.
var sharedKinds = map[nskind.Set]specs.LinuxNamespaceType{
	nskind.Net: specs.NetworkNamespace, nskind.PID: specs.PIDNamespace, nskind.IPC: specs.IPCNamespace, nskind.UTS: specs.UTSNamespace,
}

// newContainer creates (without a task) a container of image s.Image, in
// the target's namespace, whose spec points the shared namespaces at the
// target's. It runs under the target's runtime and runtime options (runc
// binary, root, cgroup driver): a sibling made the way its target was,
// which the runtime's own tools then see alike.
func (c *containerd) newContainer(ctx context.Context, t *Container, s Sidecar, labels map[string]string, extra ...oci.SpecOpts) (client.Container, error) {
	tc, err := c.client.LoadContainer(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", t.Ref(), err)
	}
	info, err := tc.Info(ctx, client.WithoutRefreshedMetadata)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", t.Ref(), err)
	}
	ref, err := reference.ParseDockerRef(s.Image)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", text.Clean(s.Image), err)
	}
	img, err := c.client.GetImage(ctx, ref.String())
	if errdefs.IsNotFound(err) {
		return nil, &noImageError{image: ref.String(), where: "containerd namespace " + t.Namespace,
			pull: fmt.Sprintf("ctr -n %s images pull %s, or nerdctl -n %s pull %s", t.Namespace, ref, t.Namespace, ref)}
	}
	if err != nil {
		return nil, fmt.Errorf("image %s in containerd namespace %s: %w (pull or import it there first)", ref, t.Namespace, err)
	}
	var tspec oci.Spec
	if info.Spec != nil {
		if err := json.Unmarshal(info.Spec.GetValue(), &tspec); err != nil {
			return nil, fmt.Errorf("read the spec of %s: %w", t.Ref(), err)
		}
	}
	specOpts := append([]oci.SpecOpts{oci.WithImageConfig(img)}, extra...)
	switch {
	case s.Privileged:
		specOpts = append(specOpts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices)
	case s.Confinement != nil:
		specOpts = append(specOpts, withConfinement(s.Confinement, &tspec))
	}
	if t.Pod != nil && tspec.Linux != nil && tspec.Linux.CgroupsPath != "" {
		// In the pod's cgroup, beside the target, as the kubelet puts
		// the pod's own containers: the pod's limits and accounting
		// hold for it too.
		specOpts = append(specOpts, oci.WithCgroup(siblingCgroup(tspec.Linux.CgroupsPath, s.Name)))
	}
	if len(s.Args) > 0 {
		specOpts = append(specOpts, oci.WithProcessArgs(s.Args...))
	}
	// As docker run's -e, -u, -w, --cap-add, --cap-drop, after the
	// image's config that they override. WithUser reads names in the
	// new container's snapshot, made before the spec.
	if len(s.Env) > 0 {
		specOpts = append(specOpts, oci.WithEnv(s.Env))
	}
	if s.User != "" {
		specOpts = append(specOpts, oci.WithUser(s.User))
	}
	if s.Workdir != "" {
		specOpts = append(specOpts, oci.WithProcessCwd(s.Workdir))
	}
	if len(s.CapAdd) > 0 || len(s.CapDrop) > 0 {
		specOpts = append(specOpts, withCaps(s.CapAdd, s.CapDrop))
	}
	for _, k := range s.Share.Kinds() {
		typ, ok := sharedKinds[k.Set]
		if !ok {
			return nil, fmt.Errorf("a sidecar cannot share a %s namespace", k.Name)
		}
		// runc opens this path when it creates the container.
		specOpts = append(specOpts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: typ, Path: fmt.Sprintf("/proc/%d/ns/%s", t.PID, k.Name)}))
	}
	ctr, err := c.client.NewContainer(ctx, s.Name,
		client.WithRuntime(info.Runtime.Name, info.Runtime.Options),
		client.WithImage(img),
		client.WithNewSnapshot(s.Name, img),
		client.WithNewSpec(specOpts...),
		client.WithContainerLabels(labels))
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", text.Clean(s.Name), err)
	}
	return ctr, nil
}

// siblingCgroup is the cgroup beside a container's for another named
// name, in either form runc takes: a path (/kubepods/besteffort/podUID/ID,
// the cgroupfs driver's) or SLICE:PREFIX:NAME (the systemd driver's).
func siblingCgroup(path, name string) string {
	if slice, rest, ok := strings.Cut(path, ":"); ok && !strings.HasPrefix(path, "/") {
		prefix, _, _ := strings.Cut(rest, ":")
		return slice + ":" + prefix + ":" + name
	}
	return filepath.Join(filepath.Dir(path), name)
}

// withConfinement gives a spec the target's confinement c, and the
// seccomp section of the target's own spec (or none, as it has none).
func withConfinement(c *Confinement, targetSpec *oci.Spec) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding:  procfs.CapNames(c.Bounding),
			Effective: procfs.CapNames(c.Effective),
			Permitted: procfs.CapNames(c.Permitted),
		}
		gids := make([]uint32, 0, len(c.Groups))
		for _, g := range c.Groups {
			gids = append(gids, uint32(g))
		}
		s.Process.User = specs.User{UID: uint32(c.UID), GID: uint32(c.GID), AdditionalGids: gids}
		s.Process.NoNewPrivileges = c.NoNewPrivs
		s.Process.ApparmorProfile = c.AppArmor
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		// The target's filter, or none as it has none (runc installs it
		// from the spec; the kernel shows only that there is one).
		s.Linux.Seccomp = nil
		if targetSpec != nil && targetSpec.Linux != nil {
			s.Linux.Seccomp = targetSpec.Linux.Seccomp
		}
		return nil
	}
}

// withCaps adds and drops capabilities as Docker does with --cap-add and
// --cap-drop: ALL dropped leaves only those added, ALL added gives every
// capability this kernel knows but those dropped. Bounding, effective and
// permitted alike, as containerd's own options set them.
func withCaps(add, drop []string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		if s.Process.Capabilities == nil {
			s.Process.Capabilities = &specs.LinuxCapabilities{}
		}
		caps := slices.Clone(s.Process.Capabilities.Bounding)
		switch {
		case slices.Contains(add, "ALL"):
			caps = procfs.CapNames(1<<(unix.CAP_LAST_CAP+1) - 1)
		case slices.Contains(drop, "ALL"):
			caps = nil
		}
		caps = slices.DeleteFunc(caps, func(c string) bool { return slices.Contains(drop, c) })
		for _, c := range add {
			if c != "ALL" && !slices.Contains(caps, c) {
				caps = append(caps, c)
			}
		}
		c := s.Process.Capabilities
		c.Bounding, c.Effective, c.Permitted = caps, slices.Clone(caps), slices.Clone(caps)
		c.Inheritable = slices.DeleteFunc(c.Inheritable, func(i string) bool { return !slices.Contains(caps, i) })
		return nil
	}
}
