package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/ctr-enter/ctr-enter/enter"
)

func TestGlobals(t *testing.T) {
	defaults := Globals{
		ContainerdAddress: "/run/containerd/containerd.sock",
		DockerHost:        "unix:///var/run/docker.sock",
		Timeout:           5 * time.Second,
	}
	custom := Globals{
		ContainerdAddress:   "/x/containerd.sock",
		ContainerdNamespace: "e2e",
		DockerHost:          "unix:///x/docker.sock",
		Timeout:             time.Second,
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want Globals
	}{
		{"defaults", nil, []string{"ls"}, defaults},
		{"flags before the command", nil, []string{
			"--containerd-address", "/x/containerd.sock", "--containerd-namespace", "e2e",
			"--docker-host", "unix:///x/docker.sock", "--timeout", "1s", "ls",
		}, custom},
		{"flags after the command", nil, []string{
			"ls", "--containerd-address=/x/containerd.sock", "--containerd-namespace=e2e",
			"--docker-host=unix:///x/docker.sock", "--timeout=1s",
		}, custom},
		{"flags between target and command", nil, []string{
			"taka", "--containerd-address", "/x/containerd.sock", "--containerd-namespace", "e2e",
			"--docker-host", "unix:///x/docker.sock", "--timeout", "1s", "--", "true",
		}, custom},
		{"environment", map[string]string{
			"CONTAINERD_ADDRESS": "/x/containerd.sock", "CONTAINERD_NAMESPACE": "e2e", "DOCKER_HOST": "unix:///x/docker.sock",
		}, []string{"--timeout", "1s", "ls"}, custom},
		{"flags beat the environment", map[string]string{
			"CONTAINERD_ADDRESS": "/env/containerd.sock", "CONTAINERD_NAMESPACE": "env", "DOCKER_HOST": "unix:///env/docker.sock",
		}, []string{
			"--containerd-address", "/x/containerd.sock", "--containerd-namespace", "e2e",
			"--docker-host", "unix:///x/docker.sock", "--timeout", "1s", "ls",
		}, custom},
		{"globals of a subcommand", nil, []string{"attach", "ls", "--timeout", "2m"}, Globals{
			ContainerdAddress: defaults.ContainerdAddress, DockerHost: defaults.DockerHost, Timeout: 2 * time.Minute,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := parseEnv(t, tc.env, tc.args...)
			if p.err != nil || p.exit != nil {
				t.Fatalf("%q: err %v, exit %v", tc.args, p.err, p.exit)
			}
			if p.cli.Globals != tc.want {
				t.Errorf("%q: globals %+v; want %+v", tc.args, p.cli.Globals, tc.want)
			}
		})
	}
	parseError(t, `--timeout: expected duration but got "bogus"`, "--timeout", "bogus", "ls")
	parseError(t, `--docker-host: expected string value but got "EOL"`, "ls", "--docker-host")
}

func TestVersion(t *testing.T) {
	checkGrammar(t, []grammarCase{{[]string{"version"}, "version", versionCmd{}}})
	checkErrors(t, []errorCase{
		{[]string{"version", "x"}, "unexpected argument x"},
	})
	// --version prints as the command does, and exits 0 before any
	// command runs (so without root).
	for _, args := range [][]string{{"--version"}, {"taka", "--version"}, {"ls", "--version"}} {
		if got := help(t, args...); got != "dev\n" {
			t.Errorf("%q prints %q; want %q", args, got, "dev\n")
		}
	}
	// After the command word, --version is the command's.
	if p := mustParse(t, "taka", "bash", "--version"); !reflect.DeepEqual(p.cli.Enter.Command, []string{"bash", "--version"}) {
		t.Errorf("taka bash --version: command %q", p.cli.Enter.Command)
	}
}

// TestHelpCommand checks that "help CMD..." prints what "CMD... --help"
// does.
func TestHelpCommand(t *testing.T) {
	for _, args := range [][]string{{}, {"enter"}, {"attach", "run"}, {"images", "pull"}, {"ls"}} {
		p := mustParse(t, append([]string{"help"}, args...)...)
		if p.command() != "help" && p.command() != "help <command>" {
			t.Fatalf("help %q selects %q", args, p.command())
		}
		var out bytes.Buffer
		var code *int
		parser, err := newParser(new(cli), kong.Writers(&out, &out), kong.Exit(func(c int) { code = &c; panic(exited(c)) }))
		if err != nil {
			t.Fatal(err)
		}
		p.kctx.Kong = parser
		func() {
			defer func() {
				if r := recover(); r != nil {
					if _, ok := r.(exited); !ok {
						panic(r)
					}
				}
			}()
			p.cli.Help.Run(p.kctx)
		}()
		want := help(t, append(args, "--help")...)
		if code == nil || *code != 0 || out.String() != want {
			t.Errorf("help %q: exit %v, printed\n%s\nwant\n%s", args, code, out.String(), want)
		}
	}
}

func TestTopLevelHelp(t *testing.T) {
	out := help(t, "--help")
	if short := help(t, "-h"); short != out {
		t.Errorf("-h differs from --help:\n%s", short)
	}
	hasAll(t, "--help", out,
		"Usage: ctr-enter <command> [flags]\n",
		"Get into a running container: join its namespaces and run a command there.\n",
		"Exit status: the command's own; 125 when ctr-enter fails",
		"  enter            Run a command inside a container's namespaces (the default command).\n",
		"  attach run       Start a sidecar sharing the target's namespaces (the default).\n",
		"  images prune     ",
		"  completion       Print a shell completion script (bash, zsh or fish).\n",
		"  version          Print the version.\n",
		"      --timeout=5s                 Bound on every call to a container runtime.\n",
		"      --containerd-address=PATH    containerd socket ($CONTAINERD_ADDRESS).\n",
	)
	hasExamples(t, out, description)
}

func TestNoArguments(t *testing.T) {
	// With no command word, enter is chosen, and wants its target.
	parseError(t, `expected "<target>"`)
}

// commands are every command a user can run, by path, and whether it
// declares that it must run as root.
var commands = map[string]bool{
	"enter":         true,
	"attach run":    true,
	"attach ls":     true,
	"attach rm":     true,
	"gc":            true,
	"inspect":       true,
	"ls":            true,
	"update":        true,
	"cp":            true,
	"port-forward":  true,
	"images pull":   true,
	"images ls":     true,
	"images rm":     true,
	"images import": true,
	"images prune":  true,
	"completion":    false,
	"version":       false,
	"help":          false,
}

// TestRootIsDeclared walks the grammar: a new command must be added to
// commands, which makes its author decide whether it needs root.
func TestRootIsDeclared(t *testing.T) {
	parser, err := newParser(new(cli))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	var walk func(*kong.Node)
	walk = func(n *kong.Node) {
		for _, c := range n.Children {
			if len(c.Children) > 0 {
				walk(c)
				continue
			}
			_, root := c.Target.Addr().Interface().(rootCommand)
			got[c.Path()] = root
		}
	}
	walk(parser.Model.Node)
	if !maps.Equal(got, commands) {
		t.Errorf("commands and their root declarations: %v; want %v", got, commands)
	}
}

const notRoot = "must be run as root (effective uid is 65534): joining namespaces needs CAP_SYS_ADMIN"

func TestPrepare(t *testing.T) {
	// One command line per command, each valid.
	lines := map[string][]string{
		"enter":         {"taka", "--", "true"},
		"attach run":    {"attach", "taka", "--image", "busybox"},
		"attach ls":     {"attach", "ls"},
		"attach rm":     {"attach", "rm", "web"},
		"gc":            {"gc"},
		"inspect":       {"inspect", "taka"},
		"ls":            {"ls"},
		"update":        {"update", "taka", "--memory", "256m"},
		"cp":            {"cp", "taka:/etc/hosts", "."},
		"port-forward":  {"port-forward", "taka", "6379"},
		"images pull":   {"images", "pull", "busybox"},
		"images ls":     {"images", "ls"},
		"images rm":     {"images", "rm", "busybox"},
		"images import": {"images", "import", "tools.tar"},
		"images prune":  {"images", "prune"},
		"completion":    {"completion", "bash"},
		"version":       {"version"},
		"help":          {"help", "ls"},
	}
	for name := range commands {
		if _, ok := lines[name]; !ok {
			t.Errorf("no command line for %s", name)
		}
	}
	for name, args := range lines {
		p := mustParse(t, args...)
		if err := prepare(p.kctx, 0); err != nil {
			t.Errorf("%s as root: %v", name, err)
		}
		err := prepare(p.kctx, 65534)
		switch {
		case !commands[name] && err != nil:
			t.Errorf("%s as uid 65534: %v; want no error, it needs no root", name, err)
		case commands[name] && (err == nil || err.Error() != notRoot):
			t.Errorf("%s as uid 65534: %v; want %q", name, err, notRoot)
		case commands[name] && exitCode(err) != 125:
			t.Errorf("%s as uid 65534: exit code %d; want 125", name, exitCode(err))
		}
	}
}

// TestPrepareChecksArgumentsFirst pins the order of the checks: a mistake
// on the command line is reported as such even to a caller who is not
// root.
func TestPrepareChecksArgumentsFirst(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"update", "taka", "--memory", "bogus"}, "--memory bogus: invalid size: want a positive number with an optional k, m, g or t suffix, or max"},
		{[]string{"taka", "--image", "busybox", "--tools", "--", "true"}, "--image and --tools exclude each other: --tools brings ctr-enter's own programs, --image an image's instead"},
		{[]string{"cp", "a", "b"}, "neither SRC nor DEST names a target: one must be TARGET:PATH"},
		{[]string{"port-forward", "taka", "x"}, `invalid port forward "x": remote port "x": want a number from 1 to 65535`},
	} {
		p := mustParse(t, tc.args...)
		for _, euid := range []int{0, 65534} {
			if err := prepare(p.kctx, euid); err == nil || err.Error() != tc.want {
				t.Errorf("%q as uid %d: %v; want %q", tc.args, euid, err, tc.want)
			}
		}
	}
}

// TestRunStopsBeforeRun checks that run makes the declared checks before
// Run: the sockets are nowhere, so that a Run that went ahead would fail
// otherwise, asking no daemon.
func TestRunStopsBeforeRun(t *testing.T) {
	p := mustParse(t, "--containerd-address", "/nonexistent.sock", "--docker-host", "unix:///nonexistent.sock", "ls")
	if err := run(context.Background(), p.kctx, &p.cli.Globals, 65534); err == nil || err.Error() != notRoot {
		t.Errorf("ls as uid 65534: %v; want %q", err, notRoot)
	}
}

// TestRunBindsImageOptions checks that the images commands get their
// options from run, with their errors.
func TestRunBindsImageOptions(t *testing.T) {
	t.Setenv("CTR_ENTER_IMAGES", t.TempDir())
	t.Setenv("CTR_ENTER_MAX_UNPACK", "bogus")
	p := mustParse(t, "images", "ls")
	want := "CTR_ENTER_MAX_UNPACK=bogus: invalid size"
	if err := run(context.Background(), p.kctx, &p.cli.Globals, 0); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("images ls with a bad CTR_ENTER_MAX_UNPACK: %v; want %q...", err, want)
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{errors.New("no such container"), 125},
		{fmt.Errorf("open: %w", &enter.Error{Code: enter.ExitNotFound, Err: errors.New("no-such-command")}), 127},
		{&enter.Error{Code: enter.ExitCannotExec, Err: errors.New("/etc/passwd")}, 126},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d; want %d", tc.err, got, tc.want)
		}
	}
}

func TestOneLine(t *testing.T) {
	if got, want := oneLine(errors.New("a\nb\x1b[31m")), "a; b?[31m"; got != want {
		t.Errorf("oneLine = %q; want %q", got, want)
	}
}

// TestCommandWords checks hotPath's list against the grammar: a command
// added, renamed or aliased must be there, or its name would be taken
// for a target.
func TestCommandWords(t *testing.T) {
	parser, err := newParser(new(cli))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range parser.Model.Children {
		if c.Name != "enter" {
			got = append(got, c.Name)
			got = append(got, c.Aliases...)
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(commandWords))
	if !slices.Equal(got, want) {
		t.Errorf("the grammar's command words are %q; commandWords has %q", got, want)
	}
}

// TestHotPath checks that a command line parsed with the enter command's
// grammar alone comes out as with the whole grammar, and that those that
// need the whole grammar are given it.
func TestHotPath(t *testing.T) {
	for _, line := range []string{
		"taka",
		"taka --net --pid -- ps aux",
		"taka --net --pid ps aux",
		"docker://taka -it --image busybox sh",
		"taka --timeout 2s --docker-host unix:///x.sock -e A=1 --env-file f env",
		"pid:42 --net ss -tlnp",
		"taka -d sleep 600",
		"taka --as-target id",
		"shop/web --sandbox --net ip addr",
		"taka -- sh -c 'exit 3'",
	} {
		args := strings.Fields(line)
		if !hotPath(args) {
			t.Errorf("%q: not on the hot path", line)
			continue
		}
		var whole cli
		parser, err := newParser(&whole)
		if err != nil {
			t.Fatal(err)
		}
		wkctx, werr := parser.Parse(args)
		hot, hkctx, herr := parseArgs(args)
		if werr != nil || herr != nil {
			t.Errorf("%q: errors %v (whole), %v (hot)", line, werr, herr)
			continue
		}
		if wkctx.Command() != hkctx.Command() || !reflect.DeepEqual(whole.Enter, hot.Enter) || whole.Globals != hot.Globals {
			t.Errorf("%q: whole grammar %s %+v %+v; hot path %s %+v %+v", line, wkctx.Command(), whole.Globals, whole.Enter, hkctx.Command(), hot.Globals, hot.Enter)
		}
	}
	for _, line := range []string{"", "--timeout 1s taka", "ls", "attach taka", "help", "taka --help", "taka -h", "taka -th", "taka bash --version", "port-forward taka 80"} {
		if hotPath(strings.Fields(line)) {
			t.Errorf("%q: on the hot path", line)
		}
	}
	// An error is said as the whole grammar says it.
	_, _, err := parseArgs([]string{"taka", "--no-such-flag"})
	if err == nil || !strings.Contains(err.Error(), "unknown flag --no-such-flag") {
		t.Errorf("taka --no-such-flag: %v", err)
	}
}
