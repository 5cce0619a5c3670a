package main

import (
	"context"
	"os"

	"github.com/ctr-enter/ctr-enter/inspect"
	"github.com/ctr-enter/ctr-enter/resolve"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

type inspectCmd struct {
	asRoot
	Target      string `arg:"" predictor:"target" help:"Container name, ID, prefix of a generated ID, or PID; or docker://NAME, containerd://[NS/]ID, pid:N."`
	JSON        bool   `name:"json" help:"Print JSON, as documented in inspect/schema.json."`
	ShowSecrets bool   `name:"show-secrets" help:"Show the values of environment variables that look like secrets (masked by default)."`
}

func (c *inspectCmd) Help() string {
	return `Shows what makes a process a container, read from the host's /proc and
cgroupfs (nothing runs inside the target): its runtime and image, its
process tree under the runtime's shim, its environment, each namespace with
whether the host shares it and which containers do, its cgroups with their
limits and usage, and its seccomp mode, no_new_privs, LSM label and
capabilities by name.

A container that is not running has none of that: inspect shows what its
config says (environment, working directory, hostname, user) and where its
files are, and says which fields are absent.

Examples:
  ctr-enter inspect taka
  ctr-enter inspect docker://taka --json | jq .cgroups.memory`
}

func (c *inspectCmd) Run(ctx context.Context, g *Globals) error {
	ref, err := resolve.ParseRef(c.Target)
	if err != nil {
		return err
	}
	// The peers (containers sharing the target's namespaces) come from
	// the listing that found the target: one listing, not two.
	t, peers, errs, err := resolve.ResolveAnyListing(ctx, ref, g.targetOptions(), warn)
	if err != nil {
		return err
	}
	if !t.Running {
		return c.stopped(ctx, g, t)
	}
	p, err := openTarget(t)
	if err != nil {
		return err
	}
	defer p.Close()
	for _, err := range errs {
		warn(err)
	}
	r, err := inspect.Inspect(ctx, p, peers, inspect.Options{ShowSecrets: c.ShowSecrets})
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(os.Stdout, r)
	}
	return inspect.WriteText(os.Stdout, r, colorOn(os.Stdout))
}

// stopped reports on t, which is not running: its config and its files.
func (c *inspectCmd) stopped(ctx context.Context, g *Globals, t *resolve.Target) error {
	st, err := runtimes.OpenStopped(ctx, g.targetOptions(), t.Container)
	if err != nil {
		return err
	}
	r := inspect.InspectStopped(t, st, inspect.Options{ShowSecrets: c.ShowSecrets})
	if c.JSON {
		return writeJSON(os.Stdout, r)
	}
	return inspect.WriteStoppedText(os.Stdout, r, colorOn(os.Stdout))
}
