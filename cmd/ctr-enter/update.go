package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/ctr-enter/ctr-enter/runtimes"
)

type updateCmd struct {
	asRoot
	Target    string `arg:"" predictor:"target" help:"Container name, ID or prefix of a generated ID; or docker://NAME, containerd://[NS/]ID."`
	Memory    string `placeholder:"SIZE" help:"Memory limit: a number with an optional k, m, g or t suffix, or max (or -1) for none. Swap is limited to as much again, as docker run --memory does."`
	CPUs      string `name:"cpus" placeholder:"N" help:"CPU limit, in CPUs (0.5, 2): a CFS quota over a 100ms period, as docker run --cpus."`
	CPUShares uint64 `name:"cpu-shares" placeholder:"N" help:"CPU weight relative to other containers, 2 to 262144 (default of a new container: 1024)."`
	PidsLimit string `name:"pids-limit" placeholder:"N" help:"Most tasks (processes and threads) at once, or max (or -1) for none."`
}

func (c *updateCmd) Help() string {
	return `Changes a running container's limits through its own runtime (Docker's
container update, containerd's task update), as writing the cgroup files by
hand would, but so that the runtime's own view stays true; then prints what
the kernel now enforces, read back from the container's cgroups. A limit
the runtime accepted but the kernel does not enforce as asked is an error.

Docker cannot go back to "no limit" (its update API takes 0 for
"unchanged"): --memory max asks it for the largest limit, which the kernel
enforces as none and docker inspect shows as 9223372036854775807.

Examples:
  ctr-enter update taka --memory 256m
  ctr-enter update containerd://e2e/taka --memory max
  ctr-enter update taka --cpus 0.5 --pids-limit 100`
}

// checkArgs reads the limits before the root check: a bad value is the
// caller's to fix whoever runs the command.
func (c *updateCmd) checkArgs() error {
	_, err := c.resources()
	return err
}

// resources are the limits asked for.
func (c *updateCmd) resources() (runtimes.Resources, error) {
	var r runtimes.Resources
	if c.Memory != "" {
		limit, err := runtimes.ParseSize(c.Memory)
		if err != nil {
			return r, fmt.Errorf("--memory %s: %w", c.Memory, err)
		}
		r.Memory = &limit
	}
	if c.CPUs != "" {
		nano, err := parseCPUs(c.CPUs)
		if err != nil {
			return r, fmt.Errorf("--cpus %s: %w", c.CPUs, err)
		}
		r.NanoCPUs = &nano
	}
	if c.CPUShares != 0 {
		if c.CPUShares < 2 || c.CPUShares > 262144 {
			return r, fmt.Errorf("--cpu-shares %d: want 2 to 262144", c.CPUShares)
		}
		r.CPUShares = &c.CPUShares
	}
	if c.PidsLimit != "" {
		n, err := parseLimit(c.PidsLimit)
		if err != nil {
			return r, fmt.Errorf("--pids-limit %s: %w", c.PidsLimit, err)
		}
		r.Pids = &n
	}
	if r == (runtimes.Resources{}) {
		return r, errors.New("nothing to update: give --memory, --cpus, --cpu-shares or --pids-limit")
	}
	return r, nil
}

// parseCPUs reads a number of CPUs as docker does, to billionths; the
// kernel takes no quota under 1ms per 100ms period.
func parseCPUs(s string) (int64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("want a number of CPUs, as 0.5 or 2")
	}
	if f < 0.01 || f > 1e6 {
		return 0, errors.New("want 0.01 CPUs or more")
	}
	return int64(math.Round(f * 1e9)), nil
}

// parseLimit reads a positive count, or max or -1 for none.
func parseLimit(s string) (int64, error) {
	if s == "max" || s == "-1" {
		return -1, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("want a positive number, or max")
	}
	return n, nil
}

func (c *updateCmd) Run(ctx context.Context, g *Globals) error {
	r, err := c.resources()
	if err != nil {
		return err
	}
	p, err := resolveAndOpen(ctx, g, c.Target)
	if err != nil {
		return err
	}
	defer p.Close()
	if err := runtimes.Update(ctx, g.targetOptions(), p.Container, r); err != nil {
		return err
	}
	cgs, err := p.Cgroups()
	if err != nil {
		return err
	}
	if err := p.Check(); err != nil {
		return err
	}
	lines, err := r.Enforced(cgs)
	if err != nil {
		return fmt.Errorf("update %s: %w", p.Target, err)
	}
	for _, l := range lines {
		fmt.Printf("%s: %s\n", p.Target, l)
	}
	return nil
}
