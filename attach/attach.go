// Package attach creates real containers through a target's own runtime
// that share the target's namespaces: long-lived sidecars, as
// `docker run -d --net=container:taka` makes them, for Docker and containerd
// alike. Each carries a label naming its target, so that it can be listed
// and removed.
package attach

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"syscall"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctr-enter/ctr-enter/target"
)

// LabelSidecarOf marks a sidecar with its target's explicit form.
const LabelSidecarOf = "ctr-enter.sidecar-of"

// Options describe the sidecar.
type Options struct {
	Image string
	Name  string
	Args  []string // the command; none: the image's
	// Share are the namespace kinds shared with the target: net, pid, ipc
	// (and uts on containerd). Docker shares uts with net.
	Share []string
}

// Sidecar is a container attached to a target.
type Sidecar struct {
	Ref    string `json:"ref"` // its own explicit form
	Name   string `json:"name"`
	ID     string `json:"id"`
	Image  string `json:"image"`
	Status string `json:"status"`
	Of     string `json:"of"` // the target's explicit form
}

// Run creates and starts a sidecar of t through t's runtime, and returns
// once it runs: it outlives ctr-enter.
func Run(ctx context.Context, t *target.Target, topts target.Options, o Options) (*Sidecar, error) {
	ctx, cancel := context.WithTimeout(ctx, topts.Timeout)
	defer cancel()
	switch t.Runtime {
	case target.Docker:
		return runDocker(ctx, t, topts, o)
	case target.Containerd:
		return runContainerd(ctx, t, topts, o)
	}
	return nil, fmt.Errorf("%s has no runtime to create a sidecar through", t)
}

func runDocker(ctx context.Context, t *target.Target, topts target.Options, o Options) (*Sidecar, error) {
	d, err := target.NewDockerClient(topts)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	host, err := dockerHostConfig(t, o.Share)
	if err != nil {
		return nil, err
	}
	spec := map[string]any{"Image": o.Image, "Labels": map[string]string{LabelSidecarOf: t.String()}, "HostConfig": host}
	if len(o.Args) > 0 {
		spec["Cmd"] = o.Args
	}
	var created struct{ ID string }
	if err := d.Do(ctx, http.MethodPost, "/containers/create?name="+url.QueryEscape(o.Name), spec, &created); err != nil {
		return nil, fmt.Errorf("create sidecar %s: %w", target.Clean(o.Name), err)
	}
	if err := d.Do(ctx, http.MethodPost, "/containers/"+created.ID+"/start", nil, nil); err != nil {
		d.Do(ctx, http.MethodDelete, "/containers/"+created.ID+"?force=1", nil, nil)
		return nil, fmt.Errorf("start sidecar %s: %w", target.Clean(o.Name), err)
	}
	return &Sidecar{Ref: "docker://" + o.Name, Name: o.Name, ID: created.ID, Image: o.Image, Status: "running", Of: t.String()}, nil
}

// dockerHostConfig shares the kinds of namespaces asked for through
// Docker's container: modes.
func dockerHostConfig(t *target.Target, share []string) (map[string]any, error) {
	host := map[string]any{}
	for _, kind := range share {
		switch kind {
		case "net":
			host["NetworkMode"] = "container:" + t.ID
		case "pid":
			host["PidMode"] = "container:" + t.ID
		case "ipc":
			host["IpcMode"] = "container:" + t.ID
		default:
			return nil, fmt.Errorf("docker cannot share a %s namespace with another container", kind)
		}
	}
	return host, nil
}

// containerdKinds are the spec's names of the kinds a sidecar may share.
var containerdKinds = map[string]specs.LinuxNamespaceType{
	"net": specs.NetworkNamespace, "pid": specs.PIDNamespace, "ipc": specs.IPCNamespace, "uts": specs.UTSNamespace,
}

func runContainerd(ctx context.Context, t *target.Target, topts target.Options, o Options) (_ *Sidecar, err error) {
	c, err := target.NewContainerdClient(topts)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx = namespaces.WithNamespace(ctx, t.Namespace)
	ctr, err := newContainerdContainer(ctx, c, t, o, map[string]string{LabelSidecarOf: t.String()})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ctr.Delete(context.WithoutCancel(ctx), client.WithSnapshotCleanup)
		}
	}()
	// Detached: nobody reads its output (a log file is for later).
	task, err := ctr.NewTask(ctx, cio.NullIO)
	if err != nil {
		return nil, fmt.Errorf("create sidecar %s's task: %w", target.Clean(o.Name), err)
	}
	if err := task.Start(ctx); err != nil {
		task.Delete(context.WithoutCancel(ctx), client.WithProcessKill)
		return nil, fmt.Errorf("start sidecar %s: %w", target.Clean(o.Name), err)
	}
	return &Sidecar{Ref: "containerd://" + t.Namespace + "/" + o.Name, Name: o.Name, ID: o.Name, Image: o.Image, Status: "running", Of: t.String()}, nil
}

// newContainerdContainer creates (without a task) a container of image
// o.Image, from the target's namespace, whose spec points the shared
// namespaces at the target's.
func newContainerdContainer(ctx context.Context, c *client.Client, t *target.Target, o Options, labels map[string]string, extra ...oci.SpecOpts) (client.Container, error) {
	ref, err := reference.ParseDockerRef(o.Image)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", target.Clean(o.Image), err)
	}
	img, err := c.GetImage(ctx, ref.String())
	if err != nil {
		return nil, fmt.Errorf("image %s in containerd namespace %s: %w (pull or import it there first)", ref, t.Namespace, err)
	}
	specOpts := append([]oci.SpecOpts{oci.WithImageConfig(img)}, extra...)
	if len(o.Args) > 0 {
		specOpts = append(specOpts, oci.WithProcessArgs(o.Args...))
	}
	for _, kind := range o.Share {
		typ, ok := containerdKinds[kind]
		if !ok {
			return nil, fmt.Errorf("a sidecar cannot share a %s namespace", kind)
		}
		// runc opens this path when it creates the container.
		specOpts = append(specOpts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: typ, Path: fmt.Sprintf("/proc/%d/ns/%s", t.PID, kind)}))
	}
	ctr, err := c.NewContainer(ctx, o.Name,
		client.WithImage(img),
		client.WithNewSnapshot(o.Name, img),
		client.WithNewSpec(specOpts...),
		client.WithContainerLabels(labels))
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", target.Clean(o.Name), err)
	}
	return ctr, nil
}

// List returns the sidecars of every reachable runtime, of one target or
// (of nil) of all.
func List(ctx context.Context, topts target.Options, of *target.Target) ([]Sidecar, []error) {
	ts, errs := target.List(ctx, topts)
	var out []Sidecar
	for _, t := range ts {
		if t.Labels[LabelSidecarOf] == "" || (of != nil && t.Labels[LabelSidecarOf] != of.String()) {
			continue
		}
		out = append(out, Sidecar{Ref: t.String(), Name: t.Name, ID: t.ID, Image: t.Image, Status: t.Status, Of: t.Labels[LabelSidecarOf]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out, errs
}

// Remove stops and deletes a sidecar, and what its runtime kept for it (the
// task, the snapshot). It refuses a container that is not a sidecar.
func Remove(ctx context.Context, topts target.Options, s *target.Target) error {
	if s.Labels[LabelSidecarOf] == "" {
		return fmt.Errorf("%s is not a sidecar of ctr-enter's", s)
	}
	ctx, cancel := context.WithTimeout(ctx, topts.Timeout)
	defer cancel()
	switch s.Runtime {
	case target.Docker:
		d, err := target.NewDockerClient(topts)
		if err != nil {
			return err
		}
		defer d.Close()
		return d.Do(ctx, http.MethodDelete, "/containers/"+s.ID+"?force=1", nil, nil)
	case target.Containerd:
		c, err := target.NewContainerdClient(topts)
		if err != nil {
			return err
		}
		defer c.Close()
		ctx = namespaces.WithNamespace(ctx, s.Namespace)
		ctr, err := c.LoadContainer(ctx, s.ID)
		if err != nil {
			return err
		}
		if task, err := ctr.Task(ctx, nil); err == nil {
			exited, err := task.Wait(ctx)
			if err != nil {
				return err
			}
			if err := task.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
			<-exited
			if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
		} else if !errdefs.IsNotFound(err) {
			return err
		}
		return ctr.Delete(ctx, client.WithSnapshotCleanup)
	}
	return fmt.Errorf("%s: unknown runtime", s)
}

// ParseShare reads a comma-separated list of namespace kinds.
func ParseShare(s string) []string {
	var kinds []string
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			kinds = append(kinds, k)
		}
	}
	return kinds
}
