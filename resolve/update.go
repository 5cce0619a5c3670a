package resolve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Resources are the limits Update can change; nil fields stay as they are.
type Resources struct {
	Memory *int64 // bytes; -1 for no limit
}

// Update changes a running container's limits through its own runtime
// (containerd's task update, Docker's container update) rather than by
// writing its cgroup files, so that what the runtime reports stays true.
func Update(ctx context.Context, t *Target, opts Options, r Resources) error {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	switch t.Runtime {
	case Docker:
		d, err := newDocker(opts.DockerHost)
		if err != nil {
			return err
		}
		defer d.close()
		return d.update(ctx, t, r)
	case Containerd:
		c := newContainerd(opts.ContainerdAddress, t.Namespace)
		defer c.close()
		return c.update(ctx, t, r)
	default:
		return fmt.Errorf("%s has no runtime to update it through", t)
	}
}

func (d *docker) update(ctx context.Context, t *Target, r Resources) error {
	body := map[string]int64{}
	if r.Memory != nil {
		// Docker refuses a memory limit above an earlier swap limit:
		// the swap goes unlimited with it, as with a fresh --memory.
		body["Memory"], body["MemorySwap"] = *r.Memory, -1
		if *r.Memory < 0 {
			body["Memory"] = 0 // Docker's "no limit"
		}
	}
	return d.do(ctx, http.MethodPost, "/containers/"+url.PathEscape(t.ID)+"/update", body, nil)
}

func (c *containerdSource) update(ctx context.Context, t *Target, r Resources) error {
	if err := c.connect(); err != nil {
		return err
	}
	ctx = namespaces.WithNamespace(ctx, t.Namespace)
	ctr, err := c.client.LoadContainer(ctx, t.ID)
	if err != nil {
		return fmt.Errorf("containerd: load %s: %w", t, err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return fmt.Errorf("containerd: task of %s: %w", t, err)
	}
	var res specs.LinuxResources
	if r.Memory != nil {
		res.Memory = &specs.LinuxMemory{Limit: r.Memory}
	}
	if err := task.Update(ctx, client.WithResources(&res)); err != nil {
		return fmt.Errorf("containerd: update %s: %w", t, err)
	}
	return nil
}

// ParseSize reads a size as docker does: a number with an optional b, k, m,
// g or t suffix (powers of 1024); "max" or -1 is no limit.
func ParseSize(s string) (int64, error) {
	if s == "max" || s == "-1" {
		return -1, nil
	}
	units := map[byte]int64{'b': 1, 'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30, 't': 1 << 40}
	mult := int64(1)
	if n := len(s); n > 0 {
		if u, ok := units[strings.ToLower(s[n-1:])[0]]; ok {
			mult, s = u, s[:n-1]
		}
	}
	var v int64
	if _, err := fmt.Sscan(s, &v); err != nil || v <= 0 || fmt.Sprint(v) != s {
		return 0, errors.New("invalid size: want a positive number with an optional k, m, g or t suffix, or max")
	}
	if v > (1<<62)/mult {
		return 0, errors.New("invalid size: too large")
	}
	return v * mult, nil
}
