// Package attach creates real containers through a target's own runtime
// that share the target's namespaces: long-lived sidecars, as
// `docker run -d --net=container:taka` makes them, and ephemeral debug
// containers removed when they exit, for every runtime alike. Each carries
// a label naming its target, so that it can be listed and removed.
package attach

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/ctr-enter/ctr-enter/internal/nskind"
	"github.com/ctr-enter/ctr-enter/resolve"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// LabelSidecarOf marks a sidecar with its target's explicit form, and
// LabelSidecarOfName with the name people know the target by (a pod's
// container's NAMESPACE/POD/CONTAINER).
const (
	LabelSidecarOf     = "ctr-enter.sidecar-of"
	LabelSidecarOfName = "ctr-enter.sidecar-of-name"
)

// Options describe the sidecar.
type Options struct {
	Image string
	Name  string
	Args  []string // the command; none: the image's
	// Share are the namespace kinds shared with the target: net, pid, ipc
	// (and uts on containerd). Docker shares uts with net.
	Share nskind.Set
	// Security is the sidecar's security context ("": SecurityDefault).
	Security Security
	// Confinement is the target's, for SecurityTarget (ReadConfinement).
	Confinement *runtimes.Confinement
	// As docker run's -e (NAME=VALUE), -u, -w, --cap-add and --cap-drop
	// (capabilities as CapNames gives them); empty: the image's.
	Env             []string
	User, Workdir   string
	CapAdd, CapDrop []string
}

// Sidecar is a container attached to a target.
type Sidecar struct {
	Ref    string `json:"ref"` // its own explicit form
	Name   string `json:"name"`
	ID     string `json:"id"`
	Image  string `json:"image"`
	Status string `json:"status"`
	Of     string `json:"of"`            // the target's explicit form
	OfName string `json:"of_name"`       // the target as people know it (Of, or its pod names)
	Log    string `json:"log,omitempty"` // where a containerd sidecar's output goes
	// Pod is the Kubernetes pod (NAMESPACE/POD) the sidecar was attached
	// to, if any.
	Pod string `json:"pod,omitempty"`
	// TargetGone: its target is no longer listed (for a pod's sidecar,
	// the pod is gone: gc removes it).
	TargetGone bool `json:"target_gone"`
}

func sidecarOf(c *runtimes.Container) Sidecar {
	s := Sidecar{Ref: c.Ref(), Name: c.Name, ID: c.ID, Image: c.Image, Status: c.Status,
		Of: c.Labels[LabelSidecarOf], OfName: c.Labels[LabelSidecarOfName], Log: c.Labels[runtimes.LabelLog]}
	if s.OfName == "" {
		s.OfName = s.Of
	}
	if c.Pod != nil {
		s.Pod = c.Pod.String()
	}
	return s
}

// Run creates and starts a sidecar of t through t's runtime, and returns
// once it runs: it outlives ctr-enter.
func Run(ctx context.Context, t *resolve.Target, ropts runtimes.Options, o Options) (*Sidecar, error) {
	creator, err := selfOwner()
	if err != nil {
		return nil, err
	}
	// LabelCreatedBy: what a kill during the creation leaves is gc's once
	// this process is gone.
	spec, err := sidecarSpec(t, o, map[string]string{runtimes.LabelCreatedBy: creator})
	if err != nil {
		return nil, err
	}
	b, err := runtimes.Open(ropts, t.Runtime, t.Namespace)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(ctx, ropts.Timeout)
	defer cancel()
	c, err := b.CreateSidecar(ctx, t.Container, spec)
	if err != nil {
		return nil, err
	}
	s := sidecarOf(c)
	return &s, nil
}

// DefaultShare is what a sidecar shares with t unless told: the network
// (docker run --net=container:T); an ephemeral debug container its PID
// namespace too, to see the target's processes. On a Kubernetes pod, what
// the pod's own containers share, as kubectl debug's do: network, IPC and
// UTS (its hostname), and the PID namespace when the pod shares one.
func DefaultShare(t *resolve.Target, ephemeral bool) nskind.Set {
	share := nskind.Net
	if t.Pod != nil {
		share |= nskind.IPC | nskind.UTS
		if t.Pod.SharesPID {
			share |= nskind.PID
		}
	}
	if ephemeral {
		share |= nskind.PID
	}
	return share
}

// sidecarSpec is what the runtime is asked to create for o.
func sidecarSpec(t *resolve.Target, o Options, labels map[string]string) (runtimes.Sidecar, error) {
	if t.Runtime == resolve.PID {
		return runtimes.Sidecar{}, fmt.Errorf("%s has no runtime to create a container through", t)
	}
	if err := checkSecurity(o); err != nil {
		return runtimes.Sidecar{}, err
	}
	labels[LabelSidecarOf], labels[LabelSidecarOfName] = t.String(), t.Display()
	if t.Pod != nil {
		// Shown as the pod's, as the kubelet labels the pod's own
		// containers (see gc for what happens when the pod goes).
		for k, v := range runtimes.PodLabels(t.Pod, o.Name) {
			labels[k] = v
		}
	}
	s := runtimes.Sidecar{
		Name: o.Name, Image: o.Image, Args: o.Args, Share: o.Share, Labels: labels, Privileged: o.Security == SecurityPrivileged,
		Env: o.Env, User: o.User, Workdir: o.Workdir, CapAdd: o.CapAdd, CapDrop: o.CapDrop,
	}
	if o.Security == SecurityTarget {
		s.Confinement = o.Confinement
	}
	return s, nil
}

// List returns the sidecars of every reachable runtime, of one target or
// (of nil) of all.
func List(ctx context.Context, ropts runtimes.Options, of *resolve.Target) ([]Sidecar, []error) {
	ts, errs := resolve.List(ctx, ropts)
	return SidecarsOf(ts, of), errs
}

// SidecarsOf returns the sidecars among ts (resolve.List's), of one
// target or (of nil) of all.
func SidecarsOf(ts []*resolve.Target, of *resolve.Target) []Sidecar {
	var out []Sidecar
	for _, t := range ts {
		if t.Labels[LabelSidecarOf] == "" || (of != nil && t.Labels[LabelSidecarOf] != of.String()) {
			continue
		}
		s := sidecarOf(t.Container)
		s.TargetGone = targetGone(ts, t)
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out
}

// targetGone says whether sidecar s's target is gone from ts: for a
// sidecar on a Kubernetes pod, the pod (its sandbox is no longer listed:
// a restarted container is still the pod's); for others, the container
// its label names.
func targetGone(ts []*resolve.Target, s *resolve.Target) bool {
	if s.Pod != nil {
		return !slices.ContainsFunc(ts, func(t *resolve.Target) bool {
			return t.PodRole.Sandbox && t.Pod.UID == s.Pod.UID && t.Runtime == s.Runtime && t.Namespace == s.Namespace
		})
	}
	return !slices.ContainsFunc(ts, func(t *resolve.Target) bool { return t.String() == s.Labels[LabelSidecarOf] })
}

// Remove stops and deletes a sidecar, and what its runtime kept for it (the
// task, the snapshot, the log). It refuses a container that is not a
// sidecar.
func Remove(ctx context.Context, ropts runtimes.Options, s *resolve.Target) error {
	if s.Labels[LabelSidecarOf] == "" {
		return fmt.Errorf("%s is not a sidecar of ctr-enter's", s)
	}
	b, err := runtimes.Open(ropts, s.Runtime, s.Namespace)
	if err != nil {
		return err
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(ctx, max(ropts.Timeout, runtimes.RemoveTimeout))
	defer cancel()
	return b.Remove(ctx, s.Container)
}
