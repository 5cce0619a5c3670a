package main

import (
	"context"
	"fmt"
	"os"

	"github.com/ctr-enter/ctr-enter/enter"
	"github.com/ctr-enter/ctr-enter/images"
	"github.com/ctr-enter/ctr-enter/internal/nskind"
	"github.com/ctr-enter/ctr-enter/internal/term"
)

// enterCmd is the default command: ctr-enter TARGET [flags] [-- COMMAND...].
// Namespace flags take nsenter's long names; -i, -t, -e and -w are docker
// exec's (nsenter's -i and -u mean ipc and uts: use --ipc and --uts).
type enterCmd struct {
	asRoot
	Target  string   `arg:"" predictor:"target" help:"Container name, ID, unique ID prefix or PID; or docker://NAME, containerd://[NS/]ID, pid:N."`
	Command []string `arg:"" optional:"" help:"Command and arguments, after --. Default: the target user's shell."`

	nsFlags `group:"Namespaces (default: all in which the target differs)"`

	Tools bool   `help:"Mount ctr-enter's own programs read-only at /.ctr-enter, on PATH after the target's (implied when the target lacks the shell or the command)."`
	Image string `placeholder:"REF" predictor:"image" help:"Mount this image's tools instead: taken from containerd, Docker or its registry once, then cached (see ctr-enter images)."`

	AsTarget    bool `name:"as-target" help:"Run as the target's processes run: its uid and gids, capabilities, no_new_privs, seccomp filters and cgroups (default: ctr-enter's own privileges, as nsenter)."`
	TrustTarget bool `name:"trust-target" help:"Join the pid namespace of a target whose processes may hold CAP_SYS_PTRACE, with which they can take over ctr-enter's process there (refused otherwise)."`

	User        string   `short:"u" placeholder:"USER[:GROUP]" help:"Run as this user (name or uid) and group, as docker exec -u; names from the target's /etc/passwd and /etc/group."`
	Interactive bool     `short:"i" help:"Keep stdin open and stream it to the command (default with no command, on a terminal)."`
	TTY         bool     `short:"t" name:"tty" help:"Give the command a terminal (default with no command, on a terminal)."`
	Env         []string `short:"e" sep:"none" placeholder:"KEY=VALUE" help:"Set an environment variable (on top of the target's)."`
	Workdir     string   `short:"w" placeholder:"DIR" help:"Working directory (default: the target's, when its mount namespace is joined)."`
}

func (c *enterCmd) Help() string {
	return `Examples:
  ctr-enter taka --net --pid -- ps aux       taka's processes, as seen from its namespaces
  ctr-enter taka -- cat /etc/hostname        a file of taka's, in every namespace taka has
  ctr-enter docker://taka -- env             pin the runtime when a name exists in several
  ctr-enter containerd://k8s.io/3f2a -- ip addr
  ctr-enter pid:4242 --net -- ss -tlnp       any process, by PID
  echo hi | ctr-enter taka -i -- cat         stream stdin
  ctr-enter taka                             a shell, with a terminal when run from one
  ctr-enter taka -it -- top                  a full-screen program
  ctr-enter noshell                          a shell from ctr-enter's tools, in a target with none
  ctr-enter taka --image busybox -- ls /     tools from an image, cached after the first use

The command runs with the target's environment (never the host's), in the
target's working directory, with no open files but stdin, stdout and stderr.
Without --mount it comes from the host's filesystem, executed from a
read-only view so the target cannot rewrite it.`
}

// checkArgs refuses what the flags cannot do together, before the root
// check and before any runtime or registry is asked.
func (c *enterCmd) checkArgs() error {
	if ns := c.namespaces(); (c.Image != "" || c.Tools) && ns != 0 && !ns.Has(nskind.Mount) {
		// The tools are mounted in the target's view.
		return fmt.Errorf("--image and --tools need the mount namespace: add --mount")
	}
	return nil
}

func (c *enterCmd) Run(ctx context.Context, g *Globals) error {
	p, err := resolveAndOpen(ctx, g, c.Target)
	if err != nil {
		return err
	}
	defer p.Close()

	// As docker exec -it, implied for a shell on a terminal.
	interactive, tty := c.Interactive, c.TTY
	if len(c.Command) == 0 {
		interactive = true
		tty = tty || term.IsTerminal(os.Stdin)
	}
	var tools enter.Tools
	switch {
	case c.Image != "":
		o, err := imageOptions(g)
		if err != nil {
			return err
		}
		img, err := images.Get(ctx, o, c.Image)
		if err != nil {
			return err
		}
		tools = enter.ImageTools(img.RootFS)
	case c.Tools:
		tools = enter.OwnTools
	}
	status, err := enter.Run(ctx, p, enter.Options{
		Namespaces:  c.namespaces(),
		Args:        c.Command,
		Env:         c.Env,
		Workdir:     c.Workdir,
		Interactive: interactive,
		TTY:         tty,
		AsTarget:    c.AsTarget,
		TrustTarget: c.TrustTarget,
		User:        c.User,
		Tools:       tools,
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
	})
	if err != nil {
		return err
	}
	if status != 0 {
		// The command may have died with its container: say so, since
		// its status alone (SIGKILL's 137) does not.
		if err := p.Check(); err != nil {
			fmt.Fprintf(os.Stderr, "ctr-enter: session ended: %s\n", err)
		}
	}
	return exitStatus(status)
}
