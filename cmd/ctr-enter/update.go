package main

import (
	"context"
	"fmt"

	"github.com/ctr-enter/ctr-enter/runtimes"
)

type updateCmd struct {
	asRoot
	Target string `arg:"" predictor:"target" help:"Container name, ID, unique ID prefix; or docker://NAME, containerd://[NS/]ID."`
	Memory string `required:"" placeholder:"SIZE" help:"Memory limit: a number with an optional k, m, g or t suffix, or max."`
}

func (c *updateCmd) Help() string {
	return `Changes a running container's limits through its own runtime (Docker's
container update, containerd's task update), as writing the cgroup file by
hand would, but so that the runtime's own view stays true; then prints the
value the kernel now enforces.

Examples:
  ctr-enter update taka --memory 256m
  ctr-enter update containerd://e2e/taka --memory max`
}

// checkArgs reads --memory before the root check: a bad size is the
// caller's to fix whoever runs the command.
func (c *updateCmd) checkArgs() error {
	_, err := c.memoryLimit()
	return err
}

func (c *updateCmd) memoryLimit() (int64, error) {
	limit, err := runtimes.ParseSize(c.Memory)
	if err != nil {
		return 0, fmt.Errorf("--memory %s: %w", c.Memory, err)
	}
	return limit, nil
}

func (c *updateCmd) Run(ctx context.Context, g *Globals) error {
	limit, err := c.memoryLimit()
	if err != nil {
		return err
	}
	p, err := resolveAndOpen(ctx, g, c.Target)
	if err != nil {
		return err
	}
	defer p.Close()
	if err := runtimes.Update(ctx, g.targetOptions(), p.Container, runtimes.Resources{Memory: &limit}); err != nil {
		return err
	}
	cgs, err := p.Cgroups()
	if err != nil {
		return err
	}
	if err := p.Check(); err != nil {
		return err
	}
	switch l := cgs.Memory.Limit; {
	case l == nil:
		fmt.Printf("%s: memory limit set; this host does not show it (no memory controller mounted)\n", p.Target)
	case *l < 0:
		fmt.Printf("%s: memory limit: none\n", p.Target)
	default:
		fmt.Printf("%s: memory limit: %d bytes\n", p.Target, *l)
	}
	return nil
}
