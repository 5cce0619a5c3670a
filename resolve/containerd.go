package resolve

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// CRI labels that name Kubernetes containers in the k8s.io namespace.
const (
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelPodName       = "io.kubernetes.pod.name"
	labelContainerName = "io.kubernetes.container.name"
	labelNerdctlName   = "nerdctl/name"
)

type containerdSource struct {
	address   string
	namespace string // "" for every namespace
	client    *client.Client
}

func newContainerd(address, namespace string) *containerdSource {
	return &containerdSource{address: address, namespace: namespace}
}

func (c *containerdSource) name() string { return Containerd }

func (c *containerdSource) close() error {
	if c.client == nil {
		return nil
	}
	return c.client.Close()
}

func (c *containerdSource) connect() error {
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

func (c *containerdSource) list(ctx context.Context) ([]*Target, error) {
	if err := c.connect(); err != nil {
		return nil, err
	}
	nss := []string{c.namespace}
	if c.namespace == "" {
		var err error
		if nss, err = c.client.NamespaceService().List(ctx); err != nil {
			return nil, unavailable(ctx, Containerd, c.address, err)
		}
	}
	var ts []*Target
	for _, ns := range nss {
		nsctx := namespaces.WithNamespace(ctx, ns)
		cs, err := c.client.ContainerService().List(nsctx)
		if err != nil {
			return nil, unavailable(ctx, Containerd, c.address, err)
		}
		resp, err := c.client.TaskService().List(nsctx, &tasks.ListTasksRequest{})
		if err != nil {
			return nil, unavailable(ctx, Containerd, c.address, err)
		}
		procs := map[string]*task.Process{}
		for _, p := range resp.Tasks {
			procs[p.ID] = p
		}
		for _, ctr := range cs {
			t := &Target{Runtime: Containerd, Namespace: ns, ID: ctr.ID, Name: ctr.ID, Image: ctr.Image, Labels: ctr.Labels}
			// A container without a task is not running.
			t.Status = "created"
			if p := procs[ctr.ID]; p != nil {
				t.PID = int(p.Pid)
				t.Status = strings.ToLower(p.Status.String())
				t.Running = p.Status == task.Status_RUNNING || p.Status == task.Status_PAUSED
			}
			if n := ctr.Labels[labelNerdctlName]; n != "" {
				t.names = append(t.names, n)
			}
			if pod, name := ctr.Labels[labelPodName], ctr.Labels[labelContainerName]; pod != "" && name != "" {
				// POD/CONTAINER and POD-NAMESPACE/POD/CONTAINER, as
				// kubectl users think of them.
				t.names = append(t.names, pod+"/"+name, ctr.Labels[labelPodNamespace]+"/"+pod+"/"+name)
			}
			if len(t.names) > 0 {
				t.Name = t.names[0]
			}
			ts = append(ts, t)
		}
	}
	return ts, nil
}

func (c *containerdSource) describe(ctx context.Context, t *Target) error {
	ctx = namespaces.WithNamespace(ctx, t.Namespace)
	ctr, err := c.client.ContainerService().Get(ctx, t.ID)
	if errdefs.IsNotFound(err) {
		return fmt.Errorf("%w: %s was removed", ErrVanished, t)
	}
	if err != nil {
		return unavailable(ctx, Containerd, c.address, err)
	}
	var spec specs.Spec
	if ctr.Spec != nil {
		if err := json.Unmarshal(ctr.Spec.GetValue(), &spec); err != nil {
			return fmt.Errorf("containerd: decode spec of %s: %w", t, err)
		}
	}
	if spec.Process != nil {
		t.Env, t.Cwd = spec.Process.Env, spec.Process.Cwd
	}
	if t.Env == nil {
		t.Env = []string{}
	}
	if t.Running {
		// The PID again, now: the start time Open compares with is read
		// right after describe, and should be that of the process the
		// runtime names then, not of the one the listing named.
		resp, err := c.client.TaskService().Get(ctx, &tasks.GetRequest{ContainerID: t.ID})
		switch {
		case errdefs.IsNotFound(err):
			t.Running, t.Status = false, "stopped"
			return nil
		case err != nil:
			return unavailable(ctx, Containerd, c.address, err)
		}
		p := resp.GetProcess()
		t.PID = int(p.GetPid())
		t.Status = strings.ToLower(p.GetStatus().String())
		t.Running = p.GetStatus() == task.Status_RUNNING || p.GetStatus() == task.Status_PAUSED
		if !t.Running {
			return nil
		}
		var cgroupsPath string
		if spec.Linux != nil {
			cgroupsPath = spec.Linux.CgroupsPath
		}
		cg, err := containerdCgroup(cgroupsPath)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrUnverifiable, t, err)
		}
		t.cgroups = []string{cg}
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
