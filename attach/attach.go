// Package attach creates real containers through a target's own runtime
// that share the target's namespaces: long-lived sidecars, as
// `docker run -d --net=container:taka` makes them, for Docker and containerd
// alike. Each carries a label naming its target, so that it can be listed
// and removed.
package attach

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
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
	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/resolve"
)

// LabelSidecarOf marks a sidecar with its target's explicit form.
const LabelSidecarOf = "ctr-enter.sidecar-of"

// LabelLog marks a containerd sidecar with the file its output goes to.
const LabelLog = "ctr-enter.log"

// LogDir holds the output of detached containerd sidecars, one file per
// sidecar: LogDir/NAMESPACE/NAME.log (containerd keeps no logs of its own;
// Docker's sidecars have `docker logs`).
const LogDir = "/var/log/ctr-enter"

// Options describe the sidecar.
type Options struct {
	Image string
	Name  string
	Args  []string // the command; none: the image's
	// Share are the namespace kinds shared with the target: net, pid, ipc
	// (and uts on containerd). Docker shares uts with net.
	Share []string
	// Security is the sidecar's security context ("": SecurityDefault).
	Security Security
	// Confinement is the target's, for SecurityTarget (ReadConfinement).
	Confinement *Confinement
}

// Sidecar is a container attached to a target.
type Sidecar struct {
	Ref    string `json:"ref"` // its own explicit form
	Name   string `json:"name"`
	ID     string `json:"id"`
	Image  string `json:"image"`
	Status string `json:"status"`
	Of     string `json:"of"`            // the target's explicit form
	Log    string `json:"log,omitempty"` // where a containerd sidecar's output goes
}

// Run creates and starts a sidecar of t through t's runtime, and returns
// once it runs: it outlives ctr-enter.
func Run(ctx context.Context, t *resolve.Target, topts resolve.Options, o Options) (*Sidecar, error) {
	if err := checkSecurity(o); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, topts.Timeout)
	defer cancel()
	switch t.Runtime {
	case resolve.Docker:
		return runDocker(ctx, t, topts, o)
	case resolve.Containerd:
		return runContainerd(ctx, t, topts, o)
	}
	return nil, fmt.Errorf("%s has no runtime to create a sidecar through", t)
}

func runDocker(ctx context.Context, t *resolve.Target, topts resolve.Options, o Options) (*Sidecar, error) {
	d, err := resolve.NewDockerClient(topts)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	spec, _, err := dockerSpec(ctx, d, t, o, map[string]string{LabelSidecarOf: t.String()})
	if err != nil {
		return nil, err
	}
	var created struct{ ID string }
	if err := d.Do(ctx, http.MethodPost, "/containers/create?name="+url.QueryEscape(o.Name), spec, &created); err != nil {
		return nil, fmt.Errorf("create sidecar %s: %w", text.Clean(o.Name), err)
	}
	if err := d.Do(ctx, http.MethodPost, "/containers/"+created.ID+"/start", nil, nil); err != nil {
		d.Do(ctx, http.MethodDelete, "/containers/"+created.ID+"?force=1", nil, nil)
		return nil, fmt.Errorf("start sidecar %s: %w", text.Clean(o.Name), err)
	}
	return &Sidecar{Ref: "docker://" + o.Name, Name: o.Name, ID: created.ID, Image: o.Image, Status: "running", Of: t.String()}, nil
}

// dockerSpec is the create body of a container attached to t, and its
// HostConfig within.
func dockerSpec(ctx context.Context, d *resolve.DockerClient, t *resolve.Target, o Options, labels map[string]string) (spec, host map[string]any, err error) {
	if host, err = dockerHostConfig(t, o.Share); err != nil {
		return nil, nil, err
	}
	spec = map[string]any{"Image": o.Image, "Labels": labels, "HostConfig": host}
	if len(o.Args) > 0 {
		spec["Cmd"] = o.Args
	}
	if err := dockerSecurity(ctx, d, t, o, spec, host); err != nil {
		return nil, nil, err
	}
	return spec, host, nil
}

// dockerHostConfig shares the kinds of namespaces asked for through
// Docker's container: modes.
func dockerHostConfig(t *resolve.Target, share []string) (map[string]any, error) {
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

func runContainerd(ctx context.Context, t *resolve.Target, topts resolve.Options, o Options) (_ *Sidecar, err error) {
	c, err := resolve.NewContainerdClient(topts)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx = namespaces.WithNamespace(ctx, t.Namespace)
	// Detached: its output goes to a file that the shim writes (containerd
	// keeps none), made before the container so that no one else's is
	// taken over.
	logPath := sidecarLog(t.Namespace, o.Name)
	if err := createLog(logPath); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.Remove(logPath)
		}
	}()
	ctr, err := newContainerdContainer(ctx, c, t, o, map[string]string{LabelSidecarOf: t.String(), LabelLog: logPath})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ctr.Delete(context.WithoutCancel(ctx), client.WithSnapshotCleanup)
		}
	}()
	task, err := ctr.NewTask(ctx, cio.LogFile(logPath))
	if err != nil {
		return nil, fmt.Errorf("create sidecar %s's task: %w", text.Clean(o.Name), err)
	}
	if err := task.Start(ctx); err != nil {
		task.Delete(context.WithoutCancel(ctx), client.WithProcessKill)
		return nil, fmt.Errorf("start sidecar %s: %w", text.Clean(o.Name), err)
	}
	return &Sidecar{Ref: "containerd://" + t.Namespace + "/" + o.Name, Name: o.Name, ID: o.Name, Image: o.Image, Status: "running", Of: t.String(), Log: logPath}, nil
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

// newContainerdContainer creates (without a task) a container of image
// o.Image, from the target's namespace, whose spec points the shared
// namespaces at the target's. It runs under the target's runtime and
// runtime options (runc binary, root, cgroup driver): a sibling made the
// way its target was, which the runtime's own tools then see alike.
func newContainerdContainer(ctx context.Context, c *client.Client, t *resolve.Target, o Options, labels map[string]string, extra ...oci.SpecOpts) (client.Container, error) {
	tc, err := c.LoadContainer(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", t, err)
	}
	info, err := tc.Info(ctx, client.WithoutRefreshedMetadata)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", t, err)
	}
	var tspec *oci.Spec
	if o.Security == SecurityTarget {
		if tspec, err = tc.Spec(ctx); err != nil {
			return nil, fmt.Errorf("read the spec of %s: %w", t, err)
		}
	}
	ref, err := reference.ParseDockerRef(o.Image)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", text.Clean(o.Image), err)
	}
	img, err := c.GetImage(ctx, ref.String())
	if err != nil {
		return nil, fmt.Errorf("image %s in containerd namespace %s: %w (pull or import it there first)", ref, t.Namespace, err)
	}
	specOpts := append([]oci.SpecOpts{oci.WithImageConfig(img)}, extra...)
	specOpts = append(specOpts, containerdSecurity(o, tspec)...)
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
		client.WithRuntime(info.Runtime.Name, info.Runtime.Options),
		client.WithImage(img),
		client.WithNewSnapshot(o.Name, img),
		client.WithNewSpec(specOpts...),
		client.WithContainerLabels(labels))
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", text.Clean(o.Name), err)
	}
	return ctr, nil
}

// List returns the sidecars of every reachable runtime, of one target or
// (of nil) of all.
func List(ctx context.Context, topts resolve.Options, of *resolve.Target) ([]Sidecar, []error) {
	ts, errs := resolve.List(ctx, topts)
	var out []Sidecar
	for _, t := range ts {
		if t.Labels[LabelSidecarOf] == "" || (of != nil && t.Labels[LabelSidecarOf] != of.String()) {
			continue
		}
		out = append(out, Sidecar{Ref: t.String(), Name: t.Name, ID: t.ID, Image: t.Image, Status: t.Status, Of: t.Labels[LabelSidecarOf], Log: t.Labels[LabelLog]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out, errs
}

// Remove stops and deletes a sidecar, and what its runtime kept for it (the
// task, the snapshot). It refuses a container that is not a sidecar.
func Remove(ctx context.Context, topts resolve.Options, s *resolve.Target) error {
	if s.Labels[LabelSidecarOf] == "" {
		return fmt.Errorf("%s is not a sidecar of ctr-enter's", s)
	}
	ctx, cancel := context.WithTimeout(ctx, topts.Timeout)
	defer cancel()
	switch s.Runtime {
	case resolve.Docker:
		d, err := resolve.NewDockerClient(topts)
		if err != nil {
			return err
		}
		defer d.Close()
		return d.Do(ctx, http.MethodDelete, "/containers/"+s.ID+"?force=1", nil, nil)
	case resolve.Containerd:
		c, err := resolve.NewContainerdClient(topts)
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
		if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
			return err
		}
		// Its log, where it had one: the path follows from its name (the
		// label is not trusted with a path to remove).
		if s.Labels[LabelLog] != "" {
			if err := os.Remove(sidecarLog(s.Namespace, s.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove log: %w", err)
			}
		}
		return nil
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
