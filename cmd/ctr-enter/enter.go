package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/enter"
	"github.com/ctr-enter/ctr-enter/images"
	"github.com/ctr-enter/ctr-enter/internal/term"
	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/resolve"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// enterCmd is the default command: ctr-enter TARGET [flags] [--] [COMMAND...].
// Namespace flags take nsenter's long names; -i, -t, -e, -u, -w, -d are
// docker exec's (nsenter's -i and -u mean ipc and uts: use --ipc and --uts).
type enterCmd struct {
	asRoot
	Target string `arg:"" predictor:"target" help:"Container name, ID, prefix of a generated ID, or PID; or docker://NAME, containerd://[NS/]ID, pid:N; or image://REF, an image's files. A stopped container's files are entered as they are."`
	// Partial passthrough is docker exec's rule: flags are ctr-enter's
	// until the first word that is none of them, and every word from
	// there on is the command's, flags included ("taka ps -ef").
	Command []string `arg:"" optional:"" passthrough:"partial" help:"Command and arguments: everything after the first word that is not a flag of ctr-enter's (or after --). Default: the target user's shell."`

	nsFlags `group:"Namespaces (default: all in which the target differs)"`

	Tools bool   `help:"Mount ctr-enter's own programs read-only at /.ctr-enter, on PATH after the target's (implied when the target lacks the shell or the command)."`
	Image string `placeholder:"REF" predictor:"image" help:"Mount this image's tools instead: taken from containerd, Docker or its registry once, then cached (see ctr-enter images). Without --mount, the image is the command's root, the target's at /target."`

	AsTarget    bool `name:"as-target" help:"Run as the target's processes run: its uid and gids, capabilities, no_new_privs, seccomp filters and cgroups (default: ctr-enter's own privileges, as nsenter)."`
	TrustTarget bool `name:"trust-target" help:"Join the pid namespace of a target whose processes may hold CAP_SYS_PTRACE, with which they can take over ctr-enter's process there (refused otherwise)."`

	User        string   `short:"u" placeholder:"USER[:GROUP]" help:"Run as this user (name or uid) and group, as docker exec -u; names from the target's /etc/passwd and /etc/group."`
	Interactive bool     `short:"i" help:"Keep stdin open and stream it to the command (default with no command, on a terminal)."`
	TTY         bool     `short:"t" name:"tty" help:"Give the command a terminal (default with no command, on a terminal)."`
	Env         []string `short:"e" sep:"none" placeholder:"KEY=VALUE" help:"Set an environment variable (on top of the target's); a bare NAME takes ctr-enter's own value, and removes the target's if ctr-enter has none."`
	EnvFile     []string `name:"env-file" sep:"none" placeholder:"FILE" help:"Read environment variables from FILE, docker's format: KEY=VALUE lines, # comments, a bare NAME takes ctr-enter's value (-e is applied after)."`
	Workdir     string   `short:"w" placeholder:"DIR" help:"Working directory (default: the target's, when its mount namespace is joined)."`
	Detach      bool     `short:"d" help:"Start the command and return at once, its stdio on /dev/null; it runs on after ctr-enter exits and its exit is not observed (docker exec -d)."`
	Privileged  bool     `help:"Accepted for docker exec's sake: the command keeps ctr-enter's full privileges already, unless --as-target (which it contradicts)."`
	Sandbox     bool     `help:"Kubernetes: enter the pod's sandbox (its pause container) instead: the pod's own network, IPC and UTS namespaces, and its PID namespace when the pod shares one."`
	Write       bool     `help:"A stopped container only: mount its own writable layer writable, so that changes reach its next start (default: read-only). Refused while it runs or starts."`
}

func (c *enterCmd) Help() string {
	return `After TARGET, ctr-enter's flags come first; the first word that is not
one of them starts the command, and every word from there on is the
command's, flags included (docker exec's rule). -- may separate them too:
"ctr-enter taka ps -ef" and "ctr-enter taka -- ps -ef" are the same.

Examples:
  ctr-enter taka --net --pid ps aux          taka's processes, as seen from its namespaces
  ctr-enter taka --net --pid -- ps aux       the same, with --
  ctr-enter taka cat /etc/hostname           a file of taka's, in every namespace taka has
  ctr-enter docker://taka env                pin the runtime when a name exists in several
  ctr-enter containerd://k8s.io/3f2a ip addr
  ctr-enter shop/web/redis --net --pid ps aux   a pod's container: NAMESPACE/POD/CONTAINER
  ctr-enter shop/web hostname                the pod's default container (or its only one)
  ctr-enter shop/web --sandbox --net ip addr the pod's own namespaces, as its pause container holds them
  ctr-enter pid:4242 --net ss -tlnp          any process, by PID
  echo hi | ctr-enter taka -i cat            stream stdin
  ctr-enter taka                             a shell, with a terminal when run from one
  ctr-enter taka -it top                     a full-screen program
  ctr-enter taka -e TOKEN --env-file app.env env    variables: a bare NAME takes ctr-enter's value
  ctr-enter taka -d sleep 600                start it and return at once
  ctr-enter noshell                          a shell from ctr-enter's tools, in a target with none
  ctr-enter taka --image busybox ls /        tools from an image, cached after the first use
  ctr-enter taka --net --image busybox netstat -tln   the image's root (taka's at /target), taka's network
  ctr-enter crashed cat /etc/app.conf        a stopped container's files, its env and hostname
  ctr-enter crashed --write vi /etc/app.conf fix them for its next start
  ctr-enter image://busybox ls /bin          an image's files (cached, pulled if needed)

A stopped container, or an image (image://REF), runs nothing to join: the
command runs in new namespaces (mount, pid, uts, ipc, and a network of
loopback only) over its files, read-only unless --write, with its config's
environment, working directory and hostname, a /proc of its own, and the
tools. Nothing is created in any runtime, and nothing is left behind.

The command runs with the target's environment (never the host's), in the
target's working directory, with no open files but stdin, stdout and stderr.
Without --mount it comes from the host's filesystem, executed from a
read-only view so the target cannot rewrite it, or from --image's.`
}

// checkArgs refuses what the flags cannot do together, before the root
// check and before any runtime or registry is asked.
func (c *enterCmd) checkArgs() error {
	if c.Image != "" && c.Tools {
		// Either answer would silently drop the other's tools.
		return fmt.Errorf("--image and --tools exclude each other: --tools brings ctr-enter's own programs, --image an image's instead")
	}
	if c.Privileged && c.AsTarget {
		// --privileged asks for everything, --as-target for the target's
		// confinement: either answer would betray one of the flags.
		return fmt.Errorf("--privileged and --as-target exclude each other: --as-target confines the command as the target is, --privileged keeps ctr-enter's privileges (the default)")
	}
	if c.Detach && (c.Interactive || c.TTY) {
		return fmt.Errorf("--detach excludes -i and -t: a detached command's stdio is /dev/null")
	}
	if c.Detach && len(c.Command) == 0 {
		return fmt.Errorf("--detach needs a command: a detached shell would exit at once")
	}
	if _, ok := resolve.ImageRef(c.Target); ok && c.Write {
		return fmt.Errorf("--write is for a stopped container's own layer: an image's files are read-only")
	}
	return nil
}

func (c *enterCmd) Run(ctx context.Context, g *Globals) error {
	if ref, ok := resolve.ImageRef(c.Target); ok {
		return c.runImage(ctx, g, ref)
	}
	t, err := resolveAny(ctx, g, c.Target, c.Sandbox)
	if err != nil {
		return err
	}
	if !t.Running {
		return c.runStopped(ctx, g, t)
	}
	if c.Write {
		// Its runtime has its writable layer mounted: two writers of
		// one overlayfs upper layer corrupt it.
		return fmt.Errorf("--write: %s is %s: its files are written by its own processes now (stop it, or enter it without --write)", t, text.Clean(t.Status))
	}
	p, err := openTarget(t)
	if err != nil {
		return err
	}
	defer p.Close()

	opts, err := c.options(ctx, g)
	if err != nil {
		return err
	}
	status, err := enter.Run(ctx, p, opts)
	if err != nil {
		return err
	}
	// The command may have died with its container: say so, since its
	// status alone (SIGKILL's 137) does not, and a shell on a terminal
	// that hung up may even exit 0.
	if !c.Detach {
		err := p.Check()
		if err == nil && status == 128+int(unix.SIGKILL) {
			// When a pid namespace's init dies, the kernel kills the
			// namespace's other processes (the command, SIGKILL)
			// before that init is a zombie: the command's end can
			// come a moment before the target's. Exited waits for
			// a target on its way out only, so that a command killed
			// by anything else returns at once.
			err = p.Exited(time.Second)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "ctr-enter: session ended: %s\n", err)
		}
	}
	return exitStatus(status)
}

// resolveAny finds the one target ref names, running or not (see
// resolve.ResolveAny).
func resolveAny(ctx context.Context, g *Globals, ref string, sandbox bool) (*resolve.Target, error) {
	r, err := resolve.ParseRef(ref)
	if err != nil {
		return nil, err
	}
	r.Sandbox = sandbox
	return resolve.ResolveAny(ctx, r, g.targetOptions(), warn)
}

// openTarget opens a running target as a pidfd.
func openTarget(t *resolve.Target) (*resolve.Process, error) {
	testStop("before-open")
	return t.Open()
}

// runStopped opens a session over the files of t, which is not running.
func (c *enterCmd) runStopped(ctx context.Context, g *Globals, t *resolve.Target) error {
	st, err := runtimes.OpenStopped(ctx, g.targetOptions(), t.Container)
	if err != nil {
		return err
	}
	if c.Write && t.Running {
		// It started since it was resolved.
		return fmt.Errorf("--write: %s is %s: its files are written by its own processes now (stop it, or enter it without --write)", t, text.Clean(t.Status))
	}
	// A --write session killed before it gave the layer back: its
	// container could not start since. Given back now.
	if _, err := runtimes.ReleaseOrphans(st.RootFS.Upper); err != nil {
		return err
	}
	if owners := runtimes.HeldBy(st.RootFS.Upper); len(owners) > 0 {
		return fmt.Errorf("%w: %s: ctr-enter %s (enter it again once that session has ended)", runtimes.ErrHeld, t, strings.Join(owners, ", "))
	}
	o := stoppedFiles(t, st)
	o.Write = c.Write
	if !c.Write {
		return c.runOffline(ctx, g, o)
	}
	if o.Work == "" {
		return c.runOffline(ctx, g, o) // refused there (enter.ErrNoWorkdir)
	}
	// The runtime cannot start the container while the session holds
	// its writable layer (runtimes.Hold: renamed away, so that a start
	// fails with the runtime's own error), given back on every way out
	// but SIGKILL, after which gc or the next session gives it back.
	upper, release, err := runtimes.Hold(ctx, g.targetOptions(), t.Container, st)
	if err != nil {
		return fmt.Errorf("--write: %w", err)
	}
	defer func() {
		if err := release(); err != nil {
			warn(fmt.Errorf("give %s's writable layer back: %w (ctr-enter gc retries)", t, err))
		}
	}()
	o.Upper = upper
	// Belt and braces: should a start get past the hold (a runtime that
	// mounts the layer some other way), the session ends at once.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	started := runtimes.WatchStart(ctx, g.targetOptions(), t.Container)
	go func() {
		select {
		case <-started:
			cancel(fmt.Errorf("%w: %s was started by its runtime, which then writes its files too (enter it again once it has stopped)", errStartedMeanwhile, t))
		case <-ctx.Done():
		}
	}()
	err = c.runOffline(ctx, g, o)
	if cause := context.Cause(ctx); errors.Is(cause, errStartedMeanwhile) {
		return cause
	}
	return err
}

var errStartedMeanwhile = errors.New("--write session ended")

// stoppedFiles are t's files as its runtime keeps them (st) and its
// config, for a session or a copy over them; read-only.
func stoppedFiles(t *resolve.Target, st *runtimes.Stopped) enter.Offline {
	o := enter.Offline{Name: t.String(), Layers: st.RootFS.Lower, Upper: st.RootFS.Upper, Work: st.RootFS.Work,
		Env: t.Env, Cwd: t.Cwd, Hostname: st.Config.Hostname, User: st.Config.User, Warn: warn}
	for _, m := range st.Mounts {
		o.Volumes = append(o.Volumes, enter.Volume{Source: m.Source, Destination: m.Destination, RW: m.RW})
	}
	return o
}

// runImage opens a session over an image's files, from ctr-enter's image
// cache (filled from containerd, Docker or the registry if need be):
// nothing is created in any runtime.
func (c *enterCmd) runImage(ctx context.Context, g *Globals, ref string) error {
	o, err := imageFiles(ctx, g, ref)
	if err != nil {
		return err
	}
	return c.runOffline(ctx, g, o)
}

// imageFiles are an image's files, from ctr-enter's image cache (filled
// from containerd, Docker or the registry if need be), with its config: a
// container of the image would start with its environment, working
// directory and (with --as-target) user.
func imageFiles(ctx context.Context, g *Globals, ref string) (enter.Offline, error) {
	o, err := imageOptions(g)
	if err != nil {
		return enter.Offline{}, err
	}
	img, err := images.Get(ctx, o, ref)
	if err != nil {
		return enter.Offline{}, err
	}
	cfg, err := images.Config(ctx, o, img)
	if err != nil {
		return enter.Offline{}, err
	}
	return enter.Offline{Name: resolve.ImageScheme + text.Clean(img.Ref), Layers: []string{img.RootFS},
		Hostname: imageHostname(img.Ref), Env: cfg.Env, Cwd: cfg.WorkingDir, User: cfg.User}, nil
}

// imageHostname is a hostname for a session over an image: its name's
// last path component (busybox for docker.io/library/busybox:latest).
func imageHostname(ref string) string {
	name := ref
	if i := strings.LastIndexAny(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name, _, _ = strings.Cut(name, "@")
	name, _, _ = strings.Cut(name, ":")
	return name
}

func (c *enterCmd) runOffline(ctx context.Context, g *Globals, o enter.Offline) error {
	opts, err := c.options(ctx, g)
	if err != nil {
		return err
	}
	status, err := enter.RunOffline(ctx, o, opts)
	if err != nil {
		return err
	}
	return exitStatus(status)
}

// options are the flags as enter takes them, with --image's tools fetched.
func (c *enterCmd) options(ctx context.Context, g *Globals) (enter.Options, error) {
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
			return enter.Options{}, err
		}
		img, err := images.Get(ctx, o, c.Image)
		if err != nil {
			return enter.Options{}, err
		}
		tools = enter.ImageTools(img.RootFS)
	case c.Tools:
		tools = enter.OwnTools
	}
	return enter.Options{
		Namespaces:  c.namespaces(),
		Args:        c.Command,
		Env:         c.Env,
		EnvFiles:    c.EnvFile,
		Workdir:     c.Workdir,
		Detach:      c.Detach,
		Interactive: interactive,
		TTY:         tty,
		AsTarget:    c.AsTarget,
		TrustTarget: c.TrustTarget,
		User:        c.User,
		Tools:       tools,
		Cache:       imagesRoot(),
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
	}, nil
}

// AfterApply drops the -- that separated the command: kong keeps it in a
// passthrough argument, where only the words after it belong.
func (c *enterCmd) AfterApply() error {
	if len(c.Command) > 0 && c.Command[0] == "--" {
		c.Command = c.Command[1:]
	}
	return nil
}
