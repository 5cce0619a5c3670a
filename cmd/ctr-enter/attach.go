package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/ctr-enter/ctr-enter/attach"
	"github.com/ctr-enter/ctr-enter/internal/nskind"
	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/resolve"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

type attachCmd struct {
	Run attachRunCmd `cmd:"" default:"withargs" help:"Start a sidecar sharing the target's namespaces (the default)."`
	Ls  attachLsCmd  `cmd:"" help:"List sidecars, of one target or of all."`
	Rm  attachRmCmd  `cmd:"" help:"Stop and remove sidecars."`
}

type attachRunCmd struct {
	asRoot
	Target string `arg:"" predictor:"target" help:"Container name, ID or prefix of a generated ID; or docker://NAME, containerd://[NS/]ID."`
	// passthrough: the first word after TARGET that is not one of
	// attach's flags starts the command, and nothing after it is parsed
	// (docker run's rule); "partial", so that a mistyped flag before it
	// is an error rather than a command. kong keeps a "--" that comes
	// before the command in it: AfterApply drops it.
	Command []string `arg:"" optional:"" passthrough:"partial" help:"Command and arguments (after --, or from the first word that is not an attach flag). Default: the image's."`
	Image   string   `required:"" placeholder:"REF" help:"Image of the sidecar, in the target's runtime (containerd: in the target's namespace)."`
	Name    string   `placeholder:"NAME" help:"Name of the sidecar (default: TARGET-debug-XXXX)."`
	Share   string   `placeholder:"KINDS" help:"Namespaces to share with the target: net, pid, ipc (and uts on containerd), comma-separated (default: net; with --rm, net,pid; on a Kubernetes pod, net,ipc,uts as the pod's containers share them, and pid with --rm or when the pod shares one)."`
	// Named after what it sets, not after kubectl debug's --profile, whose
	// profiles (general, netadmin, sysadmin...) are presets of its own.
	Security string `enum:"default,target,privileged" default:"default" placeholder:"MODE" help:"Security context: default (the runtime's for a new container, as docker run), target (the target's user, capabilities, no_new_privs, seccomp and AppArmor profiles) or privileged (as docker run --privileged)."`

	Env     []string `short:"e" sep:"none" placeholder:"KEY=VALUE" help:"Set an environment variable (on top of the image's), as docker run -e; -e KEY alone passes ctr-enter's own KEY."`
	User    string   `short:"u" placeholder:"USER[:GROUP]" help:"Run as this user and group (names from the image's /etc/passwd and /etc/group), as docker run -u."`
	Workdir string   `short:"w" placeholder:"DIR" help:"Working directory in the sidecar, as docker run -w."`
	CapAdd  []string `name:"cap-add" sep:"," placeholder:"CAP" help:"Add capabilities (NET_ADMIN, SYS_PTRACE, ALL), as docker run --cap-add."`
	CapDrop []string `name:"cap-drop" sep:"," placeholder:"CAP" help:"Drop capabilities (NET_RAW, ALL), as docker run --cap-drop."`

	Rm          bool `help:"An ephemeral debug container: attached to this terminal, removed when it exits (and by the next run or ctr-enter gc if ctr-enter is killed)."`
	Interactive bool `short:"i" help:"With --rm: keep stdin open."`
	TTY         bool `short:"t" name:"tty" help:"With --rm: give it a terminal."`
}

// errDetachedTerminal refuses -i or -t for a detached sidecar: it outlives
// ctr-enter, so there is no session to give its stdin or terminal to.
var errDetachedTerminal = errors.New("-i and -t need --rm: a sidecar without --rm runs detached; for a shell in it, use attach --rm -it, or enter it (ctr-enter SIDECAR)")

// checkArgs refuses what the flags cannot do together, before the root
// check: the caller's to fix whoever runs the command.
func (c *attachRunCmd) checkArgs() error {
	if (c.Interactive || c.TTY) && !c.Rm {
		return errDetachedTerminal
	}
	if c.Security == string(attach.SecurityTarget) && (c.User != "" || len(c.CapAdd) > 0 || len(c.CapDrop) > 0) {
		return attach.ErrTargetAndOwn
	}
	if _, err := attach.CapNames(c.CapAdd); err != nil {
		return fmt.Errorf("--cap-add: %w", err)
	}
	if _, err := attach.CapNames(c.CapDrop); err != nil {
		return fmt.Errorf("--cap-drop: %w", err)
	}
	for _, e := range c.Env {
		if strings.HasPrefix(e, "=") || e == "" {
			return fmt.Errorf("-e %q: want KEY=VALUE or KEY", e)
		}
	}
	return nil
}

// AfterApply drops the "--" that kong keeps before a passthrough
// command, so that "attach T --image I -- CMD" and "attach T --image I
// CMD" give the same command; a second "--" is the command's own.
func (c *attachRunCmd) AfterApply() error {
	if len(c.Command) > 0 && c.Command[0] == "--" {
		c.Command = c.Command[1:]
	}
	return nil
}

// env is -e's list as docker run makes it: KEY alone takes ctr-enter's
// own value, and is left out if ctr-enter has none.
func (c *attachRunCmd) env() []string {
	var out []string
	for _, e := range c.Env {
		if strings.Contains(e, "=") {
			out = append(out, e)
		} else if v, ok := os.LookupEnv(e); ok {
			out = append(out, e+"="+v)
		}
	}
	return out
}

func (c *attachRunCmd) Help() string {
	return `Creates a real container through the target's own runtime, sharing the
target's namespaces, as docker run -d --net=container:TARGET does, for
Docker and containerd alike. It runs on after ctr-enter exits; it is
labelled as the target's sidecar, listed by 'attach ls' and removed by
'attach rm'.

Examples:
  ctr-enter attach taka --image nginx --name medium-test
  ctr-enter attach taka --image busybox --name web -- httpd -f -p 8080
  ctr-enter attach taka --image busybox --share net,pid sleep 3600
  ctr-enter attach taka --image busybox -e MODE=debug -u nobody -w /tmp --cap-add NET_ADMIN -- sleep 3600
  ctr-enter attach taka --rm -it --image busybox     an ephemeral debug shell
  ctr-enter attach taka --rm -it --image busybox --security target
  ctr-enter attach ls taka
  ctr-enter attach rm medium-test

Command: as with docker run, the first word after TARGET that is not one of
attach's flags starts the sidecar's command, and nothing after it is read as
a flag of attach ('attach taka --image busybox ps -ef'); '--' before it does
the same. -i and -t are for --rm only: a sidecar without --rm runs detached.

Security (--security): by default the sidecar gets what its runtime gives
any new container (docker run, ctr run): it is a new container that the
runtime vouches for, and no more privileged than one, whatever the target
was given. 'target' copies the target's user and groups, capabilities
(bounding, effective, permitted), no_new_privs, seccomp profile (Docker:
the target's seccomp security option; containerd: the seccomp section of
its spec) and AppArmor profile, so that the sidecar can do what the
target can and no more. 'privileged' is docker run --privileged; on
containerd, every capability ctr-enter holds and every host device, no
seccomp filter and no LSM profile.

Output: a containerd sidecar's stdout and stderr go to
` + runtimes.LogDir + `/NAMESPACE/NAME.log ('attach ls --json' says where;
'attach rm' removes it); a Docker sidecar's to 'docker logs NAME'.`
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

func (c *attachRunCmd) Run(ctx context.Context, g *Globals) error {
	p, err := resolveAndOpen(ctx, g, c.Target)
	if err != nil {
		return err
	}
	defer p.Close()
	name := c.Name
	if name == "" {
		b := make([]byte, 2)
		rand.Read(b)
		name = unsafeName.ReplaceAllString(p.Name, "-") + "-debug-" + hex.EncodeToString(b)
	}
	// Leftovers of killed sessions go first.
	_, errs := attach.Collect(ctx, g.targetOptions(), false)
	for _, err := range errs {
		warn(err)
	}
	kinds := attach.DefaultShare(p.Target, c.Rm)
	if c.Share != "" {
		if kinds, err = nskind.Parse(c.Share); err != nil {
			return fmt.Errorf("--share: %w", err)
		}
	}
	capAdd, err := attach.CapNames(c.CapAdd)
	if err != nil {
		return fmt.Errorf("--cap-add: %w", err)
	}
	capDrop, err := attach.CapNames(c.CapDrop)
	if err != nil {
		return fmt.Errorf("--cap-drop: %w", err)
	}
	o := attach.Options{
		Image: c.Image, Name: name, Args: c.Command, Share: kinds, Security: attach.Security(c.Security),
		Env: c.env(), User: c.User, Workdir: c.Workdir, CapAdd: capAdd, CapDrop: capDrop,
	}
	if o.Security == attach.SecurityTarget {
		if o.Confinement, err = attach.ReadConfinement(p); err != nil {
			return err
		}
	}
	if c.Rm {
		status, err := attach.RunEphemeral(ctx, p.Target, g.targetOptions(), o, runtimes.Session{
			Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Interactive: c.Interactive, TTY: c.TTY,
		})
		if err != nil {
			return err
		}
		return exitStatus(status)
	}
	s, err := attach.Run(ctx, p.Target, g.targetOptions(), o)
	if err != nil {
		return err
	}
	fmt.Println(text.Clean(s.Ref))
	return nil
}

type gcCmd struct{ asRoot }

func (gcCmd) Help() string {
	return `Removes the ephemeral containers (attach --rm) whose ctr-enter was killed
before it could remove them, and what is left of the containers a killed
attach began to create, with what their runtime kept for them (task, shim,
bundle, snapshot, lease, FIFOs), and the sidecars of Kubernetes pods that
are gone (the kubelet neither knows nor removes them). Containers whose
ctr-enter still runs are left to it. Every attach does this first too.

It also gives back the writable layers that killed --write sessions held
(a held container cannot start until then): pass it the runtime flags
(--containerd-address) of the container's runtime.`
}

func (gcCmd) Run(ctx context.Context, g *Globals) error {
	removed, errs := attach.Collect(ctx, g.targetOptions(), true)
	for _, r := range removed {
		fmt.Println(text.Clean(r))
	}
	for _, err := range errs {
		warn(err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("gc: %d containers could not be removed or listed", len(errs))
	}
	return nil
}

type attachLsCmd struct {
	asRoot
	Target string `arg:"" optional:"" predictor:"target" help:"Only this target's sidecars."`
	JSON   bool   `name:"json" help:"Print JSON."`
}

func (c *attachLsCmd) Run(ctx context.Context, g *Globals) error {
	var sidecars []attach.Sidecar
	var errs []error
	if c.Target == "" {
		sidecars, errs = attach.List(ctx, g.targetOptions(), nil)
	} else {
		ref, err := resolve.ParseRef(c.Target)
		if err != nil {
			return err
		}
		// The sidecars come from the listing that found the target:
		// one listing, not two.
		of, ts, lerrs, err := resolve.FindListing(ctx, ref, g.targetOptions(), warn)
		if err != nil {
			return err
		}
		sidecars, errs = attach.SidecarsOf(ts, of), lerrs
	}
	for _, err := range errs {
		warn(err)
	}
	return writeList(os.Stdout, c.JSON, sidecars, sidecarHeader, sidecarCells)
}

var sidecarHeader = []string{"SIDECAR", "IMAGE", "STATUS", "OF"}

// sidecarCells names a pod's sidecar and its target by their pod names;
// a sidecar whose target is gone says so.
func sidecarCells(s attach.Sidecar) []string {
	name, status := s.Ref, s.Status
	if s.Pod != "" {
		name = s.Name
	}
	if s.TargetGone {
		status += " (target gone)"
	}
	return []string{text.Clean(name), text.Clean(s.Image), text.Clean(status), text.Clean(s.OfName)}
}

type attachRmCmd struct {
	asRoot
	Sidecars []string `arg:"" predictor:"sidecar" help:"Sidecars, by name or explicit form."`
}

func (c *attachRmCmd) Run(ctx context.Context, g *Globals) error {
	for _, name := range c.Sidecars {
		ref, err := resolve.ParseRef(name)
		if err != nil {
			return err
		}
		s, err := resolve.Find(ctx, ref, g.targetOptions(), warn)
		if err != nil {
			return err
		}
		if err := attach.Remove(ctx, g.targetOptions(), s); err != nil {
			return fmt.Errorf("remove %s: %w", s, err)
		}
		fmt.Println(s)
	}
	return nil
}
