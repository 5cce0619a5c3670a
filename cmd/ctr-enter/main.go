// Command ctr-enter gets an operator into a running container: it resolves
// the container through its runtime, joins its namespaces and runs a command
// there.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/alecthomas/kong"
	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/enter"
	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/resolve"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// version is set by the Makefile.
var version = "dev"

// Globals are the flags every command takes: where the runtimes are.
type Globals struct {
	ContainerdAddress   string        `name:"containerd-address" env:"CONTAINERD_ADDRESS" default:"${containerd_address}" placeholder:"PATH" help:"containerd socket."`
	ContainerdNamespace string        `name:"containerd-namespace" env:"CONTAINERD_NAMESPACE" placeholder:"NS" help:"Search only this containerd namespace (default: all)."`
	DockerHost          string        `name:"docker-host" env:"DOCKER_HOST" default:"${docker_host}" placeholder:"URL" help:"Docker Engine API socket."`
	Timeout             time.Duration `default:"5s" help:"Bound on every call to a container runtime."`
}

func (g *Globals) targetOptions() runtimes.Options {
	return runtimes.Options{
		ContainerdAddress:   g.ContainerdAddress,
		ContainerdNamespace: g.ContainerdNamespace,
		DockerHost:          g.DockerHost,
		Timeout:             g.Timeout,
	}
}

type cli struct {
	enterGrammar

	Attach      attachCmd      `cmd:"" help:"Start, list and remove sidecars: containers sharing a target's namespaces."`
	Inspect     inspectCmd     `cmd:"" help:"Show what makes a process a container: processes, env, namespaces, cgroups, security."`
	Ls          lsCmd          `cmd:"" help:"List containers across runtimes and namespaces, with PIDs and shared namespaces."`
	Update      updateCmd      `cmd:"" help:"Change a running container's memory limit through its runtime."`
	Cp          cpCmd          `cmd:"" name:"cp" help:"Copy files between a running container and the host, with no tool in the container."`
	PortForward portForwardCmd `cmd:"" name:"port-forward" help:"Forward host ports to ports inside a container's network namespace, its 127.0.0.1 included."`
	Images      imagesCmd      `cmd:"" help:"Pull, list, import and remove the images debug tools come from."`
	Gc          gcCmd          `cmd:"" name:"gc" help:"Remove ephemeral containers left by a killed ctr-enter."`
	Completion  completionCmd  `cmd:"" help:"Print a shell completion script (bash, zsh or fish)."`
	Version     versionCmd     `cmd:"" help:"Print the version."`
	Help        helpCmd        `cmd:"" help:"Show help for a command (ctr-enter help attach run)."`
}

// enterGrammar is the part of the grammar that `ctr-enter TARGET ...`
// needs: the flags of every command, and the default command. cli embeds
// it, and the hot path builds it alone (see hotPath).
type enterGrammar struct {
	Globals
	VersionFlag kong.VersionFlag `name:"version" help:"Print the version and exit."`

	Enter enterCmd `cmd:"" default:"withargs" help:"Run a command inside a container's namespaces (the default command)."`
}

// commandWords are the words that name a command of cli (its names and
// aliases, which a test checks against the grammar), other than the
// default: a first argument that is one of them is not a target.
var commandWords = []string{"attach", "inspect", "ls", "update", "cp", "port-forward", "images", "gc", "completion", "version", "help"}

// hotPath says whether args can be parsed with enterGrammar alone, as
// they would be with the whole grammar: a target first, and no help or
// version flag anywhere (the help of the whole grammar lists every
// command). kong's model of every command and its help text cost more
// than a third of an entry's CPU time before the payload starts
// (profiled: 10 ms of 28 ms, most of it reflection over the flags of
// commands that are not run); the hot path builds the enter command's
// alone.
func hotPath(args []string) bool {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") || slices.Contains(commandWords, args[0]) || os.Getenv("COMP_LINE") != "" {
		return false
	}
	for _, a := range args {
		if a == "--help" || a == "--version" || strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.Contains(a, "h") {
			return false
		}
	}
	return true
}

// parseArgs parses args with the grammar they need: enterGrammar on the
// hot path, cli otherwise, and cli again for an error, so that kong
// says it as it would of the whole grammar.
func parseArgs(args []string, options ...kong.Option) (*cli, *kong.Context, error) {
	c := new(cli)
	if hotPath(args) {
		parser, err := newParser(&c.enterGrammar, options...)
		if err != nil {
			return nil, nil, err
		}
		if kctx, err := parser.Parse(args); err == nil {
			return c, kctx, nil
		}
		c = new(cli)
	}
	parser, err := newParser(c, options...)
	if err != nil {
		return nil, nil, err
	}
	completeCommandLine(parser)
	kctx, err := parser.Parse(args)
	return c, kctx, err
}

const description = `Get into a running container: join its namespaces and run a command there.

A target is a container name, ID or unique prefix of a generated ID, looked
up in every containerd namespace and in Docker; docker://NAME,
containerd://NS/ID and pid:N pin the runtime.

After the target, the first word that is not a flag of ctr-enter's starts
the command, and every word from there on is the command's (as with docker
exec); -- may still separate the command.

Examples:
  ctr-enter taka --net --pid ps aux        taka's processes, from its namespaces
  ctr-enter taka --net -- ps aux           the same, with --
  ctr-enter taka                           a shell in taka
  ctr-enter taka --as-target id            as taka's processes run: uid, caps, seccomp
  ctr-enter inspect taka                   what makes taka a container
  ctr-enter ls                             containers across runtimes, with PIDs

Exit status: the command's own; 125 when ctr-enter fails (bad or unknown
target, runtime unreachable, not root, kernel feature missing); 126 when the
command cannot be executed; 127 when it is not found.`

func main() {
	// Whatever the operator's shell leaked into us (an fd without
	// close-on-exec) must reach no child: os/exec passes such fds on, and
	// a process of ours in a target's pid namespace can be robbed of any
	// fd it holds (CVE-2016-8649). Nothing of ours is open yet but the Go
	// runtime's own, which are close-on-exec already.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil && !errors.Is(err, unix.ENOSYS) {
		fail(os.NewSyscallError("close_range", err))
	}
	c, kctx, err := parseArgs(os.Args[1:])
	if err != nil {
		fail(fmt.Errorf("%w (see ctr-enter --help)", err))
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err = run(ctx, kctx, &c.Globals, os.Geteuid())
	var status exitStatus
	if errors.As(err, &status) {
		os.Exit(int(status))
	}
	if err != nil {
		fail(err)
	}
}

// newParser builds ctr-enter's grammar over c. The tests build theirs
// here too, with options of their own after these (kong.Exit,
// kong.Writers).
func newParser(c any, options ...kong.Option) (*kong.Kong, error) {
	return kong.New(c, append([]kong.Option{
		kong.Name("ctr-enter"),
		kong.Description(description),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{
			"version":            version,
			"containerd_address": runtimes.DefaultContainerdAddress,
			"docker_host":        runtimes.DefaultDockerHost,
		},
	}, options...)...)
}

// run runs the command kctx selected, once the checks it declares have
// passed (see prepare), with what its Run method may ask for: the
// context, the globals, and the image cache's options (made only when
// asked, as they may fail).
func run(ctx context.Context, kctx *kong.Context, g *Globals, euid int) error {
	if err := prepare(kctx, euid); err != nil {
		return err
	}
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.BindSingletonProvider(imageOptions); err != nil {
		return err
	}
	return kctx.Run(g)
}

// asRoot, embedded in a command's struct, declares that the command must
// run as root: it joins namespaces, or uses what only root may (the
// runtimes' sockets, the image cache).
type asRoot struct{}

func (asRoot) runsAsRoot() {}

// rootCommand is a command that embeds asRoot.
type rootCommand interface{ runsAsRoot() }

// argsChecker is a command whose arguments need a check that kong's tags
// cannot say.
type argsChecker interface{ checkArgs() error }

// prepare makes the checks the selected command declares, after parsing
// (so that --help and a bad command line need no root) and before its Run
// (so that a non-root caller is stopped before any runtime is asked):
// its arguments first, since a mistake there is the caller's to fix
// whoever runs it, then root.
func prepare(kctx *kong.Context, euid int) error {
	node := kctx.Selected()
	if node == nil {
		return nil // kctx.Run says that no command was selected
	}
	cmd := node.Target.Addr().Interface()
	if c, ok := cmd.(argsChecker); ok {
		if err := c.checkArgs(); err != nil {
			return err
		}
	}
	if _, ok := cmd.(rootCommand); ok && euid != 0 {
		return fmt.Errorf("must be run as root (effective uid is %d): joining namespaces needs CAP_SYS_ADMIN", euid)
	}
	return nil
}

// exitStatus carries the command's own exit status out of a Run method.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// fail prints err on one line and exits with its code.
func fail(err error) {
	fmt.Fprintf(os.Stderr, "ctr-enter: %s\n", oneLine(err))
	os.Exit(exitCode(err))
}

// exitCode is the status ctr-enter exits with for err: the one an
// *enter.Error carries, else ExitTool (125).
func exitCode(err error) int {
	var e *enter.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return enter.ExitTool
}

// oneLine is err's message as printed: on one line, and cleaned of control
// characters, since messages quote what runtimes, registries and targets
// said.
func oneLine(err error) string {
	return text.Clean(strings.ReplaceAll(err.Error(), "\n", "; "))
}

// resolveAndOpen finds the one target ref names and opens it as a pidfd.
func resolveAndOpen(ctx context.Context, g *Globals, ref string) (*resolve.Process, error) {
	r, err := resolve.ParseRef(ref)
	if err != nil {
		return nil, err
	}
	t, err := resolve.Resolve(ctx, r, g.targetOptions(), warn)
	if err != nil {
		return nil, err
	}
	testStop("before-open")
	return t.Open()
}

// warn prints a problem that does not stop the command, once: a command
// that resolves its target and then lists the runtimes hears of a hung
// runtime twice.
func warn(err error) {
	msg := oneLine(err)
	warnedMu.Lock()
	defer warnedMu.Unlock()
	if !warned[msg] {
		warned[msg] = true
		fmt.Fprintf(os.Stderr, "ctr-enter: warning: %s\n", msg)
	}
}

var (
	warnedMu sync.Mutex
	warned   = map[string]bool{}
)

// testStop lets the end-to-end tests recycle a target's PID between its
// resolution and its opening: with CTR_ENTER_TEST_STOP=before-open,
// ctr-enter stops itself there until it gets SIGCONT.
func testStop(point string) {
	if os.Getenv("CTR_ENTER_TEST_STOP") == point {
		// Directed at this thread, so that it stops on its way out of
		// the syscall: a process-directed SIGSTOP may be taken by
		// another thread while this one runs on for a while.
		unix.Tgkill(os.Getpid(), unix.Gettid(), unix.SIGSTOP)
	}
}

// helpCmd is "ctr-enter help [COMMAND...]": the same help as
// "ctr-enter COMMAND... --help", for those who type it git's way.
type helpCmd struct {
	Command []string `arg:"" optional:"" help:"The command to show help for."`
}

func (c *helpCmd) Run(kctx *kong.Context) error {
	// Parsing with --help prints the help and exits through kong.Exit;
	// an unknown command is kong's error, as it would be with --help.
	_, err := kctx.Kong.Parse(append(append([]string{}, c.Command...), "--help"))
	return err
}

type versionCmd struct{}

func (versionCmd) Run() error {
	fmt.Println("ctr-enter", version)
	return nil
}
