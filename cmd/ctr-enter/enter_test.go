package main

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ctr-enter/ctr-enter/internal/nskind"
)

func TestEnterGrammar(t *testing.T) {
	checkGrammar(t, []grammarCase{
		{[]string{"taka"}, "enter <target>", enterCmd{Target: "taka"}},
		{[]string{"enter", "taka"}, "enter <target>", enterCmd{Target: "taka"}},
		{[]string{"taka", "--", "ps", "aux"}, "enter <target> <command>", enterCmd{Target: "taka", Command: []string{"ps", "aux"}}},
		{[]string{"enter", "docker://taka", "--", "env"}, "enter <target> <command>", enterCmd{Target: "docker://taka", Command: []string{"env"}}},
		// Command words need no --, as long as none looks like a flag.
		{[]string{"taka", "cat", "/etc/hostname"}, "enter <target> <command>", enterCmd{Target: "taka", Command: []string{"cat", "/etc/hostname"}}},
		// After --, every word is the command's, a second -- included.
		{[]string{"taka", "--net", "--", "sh", "-c", "--", "--pid", "-h"}, "enter <target> <command>", enterCmd{
			Target: "taka", Command: []string{"sh", "-c", "--", "--pid", "-h"}, nsFlags: nsFlags{Net: true},
		}},
		{[]string{"--", "taka", "ls"}, "enter <target> <command>", enterCmd{Target: "taka", Command: []string{"ls"}}},
		{[]string{"taka", "-", "x"}, "enter <target> <command>", enterCmd{Target: "taka", Command: []string{"-", "x"}}},
		// Flags go before the target, between it and --, or both.
		{[]string{"--net", "--pid", "taka"}, "enter <target>", enterCmd{Target: "taka", nsFlags: nsFlags{Net: true, PID: true}}},
		{[]string{"--net", "taka", "--pid", "--", "ps"}, "enter <target> <command>", enterCmd{
			Target: "taka", Command: []string{"ps"}, nsFlags: nsFlags{Net: true, PID: true},
		}},
		{[]string{"pid:4242", "--mount", "--uts", "--ipc", "--net", "--pid", "--userns", "--cgroup", "--time"}, "enter <target>", enterCmd{
			Target:  "pid:4242",
			nsFlags: nsFlags{Mount: true, UTS: true, IPC: true, Net: true, PID: true, UserNS: true, Cgroup: true, Time: true},
		}},
		{[]string{"taka", "-a"}, "enter <target>", enterCmd{Target: "taka", nsFlags: nsFlags{All: true}}},
		{[]string{"taka", "--all", "--net"}, "enter <target>", enterCmd{Target: "taka", nsFlags: nsFlags{All: true, Net: true}}},
		{[]string{"taka", "--net=true", "--pid=false"}, "enter <target>", enterCmd{Target: "taka", nsFlags: nsFlags{Net: true}}},
		{[]string{"taka", "--tools"}, "enter <target>", enterCmd{Target: "taka", Tools: true}},
		{[]string{"taka", "--image", "busybox", "--", "ls", "/"}, "enter <target> <command>", enterCmd{
			Target: "taka", Image: "busybox", Command: []string{"ls", "/"},
		}},
		{[]string{"taka", "--image=127.0.0.1:5000/tools:1"}, "enter <target>", enterCmd{Target: "taka", Image: "127.0.0.1:5000/tools:1"}},
		{[]string{"taka", "--as-target", "--trust-target", "--", "id"}, "enter <target> <command>", enterCmd{
			Target: "taka", AsTarget: true, TrustTarget: true, Command: []string{"id"},
		}},
		// docker exec's short flags; -e keeps commas, and repeats.
		{[]string{"taka", "-it", "-u", "1000:1000", "-e", "A=1,2", "-eB=", "-w", "/tmp", "--", "top"}, "enter <target> <command>", enterCmd{
			Target: "taka", Interactive: true, TTY: true, User: "1000:1000", Env: []string{"A=1,2", "B="}, Workdir: "/tmp", Command: []string{"top"},
		}},
		{[]string{"taka", "--interactive", "--tty", "--user", "nobody", "--env", "X=1", "--workdir=/"}, "enter <target>", enterCmd{
			Target: "taka", Interactive: true, TTY: true, User: "nobody", Env: []string{"X=1"}, Workdir: "/",
		}},
		// A target named like a command needs the explicit enter.
		{[]string{"enter", "ls"}, "enter <target>", enterCmd{Target: "ls"}},
		{[]string{"enter", "images", "--", "true"}, "enter <target> <command>", enterCmd{Target: "images", Command: []string{"true"}}},
		// A word that is no command is a target.
		{[]string{"bogus"}, "enter <target>", enterCmd{Target: "bogus"}},
		// The first word that is no flag of ctr-enter's starts the
		// command; every word after it is the command's (docker exec's
		// rule), its flags included.
		{[]string{"taka", "ps", "-ef"}, "enter <target> <command>", enterCmd{Target: "taka", Command: []string{"ps", "-ef"}}},
		{[]string{"taka", "env", "-i", "X=1", "env"}, "enter <target> <command>", enterCmd{Target: "taka", Command: []string{"env", "-i", "X=1", "env"}}},
		{[]string{"taka", "cat", "-u", "/etc/hostname"}, "enter <target> <command>", enterCmd{Target: "taka", Command: []string{"cat", "-u", "/etc/hostname"}}},
		{[]string{"taka", "ip", "addr", "--net"}, "enter <target> <command>", enterCmd{Target: "taka", Command: []string{"ip", "addr", "--net"}}},
		{[]string{"taka", "ls", "-l", "--bogus"}, "enter <target> <command>", enterCmd{Target: "taka", Command: []string{"ls", "-l", "--bogus"}}},
		{[]string{"taka", "sh", "-c", "--", "echo"}, "enter <target> <command>", enterCmd{Target: "taka", Command: []string{"sh", "-c", "--", "echo"}}},
		// Flags before the command word are ctr-enter's, wherever they
		// sit around the target.
		{[]string{"taka", "--net", "--pid", "ps", "aux"}, "enter <target> <command>", enterCmd{
			Target: "taka", Command: []string{"ps", "aux"}, nsFlags: nsFlags{Net: true, PID: true},
		}},
		{[]string{"--net", "taka", "ps"}, "enter <target> <command>", enterCmd{Target: "taka", Command: []string{"ps"}, nsFlags: nsFlags{Net: true}}},
		{[]string{"taka", "-e", "A=1", "-u", "nobody", "id", "-u"}, "enter <target> <command>", enterCmd{
			Target: "taka", Env: []string{"A=1"}, User: "nobody", Command: []string{"id", "-u"},
		}},
		// docker exec's -e NAME, --env-file, -d and --privileged.
		{[]string{"taka", "-e", "NAME", "--env-file", "a.env", "--env-file=b.env", "-d", "--privileged", "sleep", "9"}, "enter <target> <command>", enterCmd{
			Target: "taka", Env: []string{"NAME"}, EnvFile: []string{"a.env", "b.env"}, Detach: true, Privileged: true, Command: []string{"sleep", "9"},
		}},
		{[]string{"taka", "--detach", "--", "sleep", "9"}, "enter <target> <command>", enterCmd{Target: "taka", Detach: true, Command: []string{"sleep", "9"}}},
	})
}

func TestEnterGrammarErrors(t *testing.T) {
	checkErrors(t, []errorCase{
		{[]string{"enter"}, `expected "<target>"`},
		{[]string{"--net"}, `expected "<target>"`},
		{[]string{"taka", "--bogus"}, "unknown flag --bogus"},
		{[]string{"taka", "--image"}, `--image: expected string value but got "EOL"`},
		{[]string{"taka", "-u"}, `--user: expected string value but got "EOL"`},
		{[]string{"taka", "-e"}, `--env: missing value, expecting "<arg>"`},
		{[]string{"taka", "--net=maybe"}, `--net: bool value must be true, 1, yes, false, 0 or no but got "maybe"`},
		// Namespace flags are not negatable.
		{[]string{"taka", "--no-net"}, "unknown flag --no-net"},
		// Other commands' flags.
		{[]string{"taka", "--rm"}, "unknown flag --rm"},
		{[]string{"taka", "--memory", "1g"}, "unknown flag --memory"},
		{[]string{"taka", "--json"}, "unknown flag --json"},
		// nsenter's -i and -u mean ipc and uts; here they are docker
		// exec's, and nsenter's other short flags do not exist.
		{[]string{"taka", "-n"}, "unknown flag -n"},
		{[]string{"taka", "-p"}, "unknown flag -p"},
		// Before the command word, a flag ctr-enter does not know is an
		// error, not the command's.
		{[]string{"taka", "-l", "ls"}, "unknown flag -l"},
		{[]string{"taka", "--net", "-x", "ps"}, "unknown flag -x"},
	})
}

func TestNamespaceFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want nskind.Set
	}{
		// None: 0, which enter reads as every namespace in which the
		// target differs.
		{[]string{"taka"}, 0},
		{[]string{"taka", "--mount"}, nskind.Mount},
		{[]string{"taka", "--uts"}, nskind.UTS},
		{[]string{"taka", "--ipc"}, nskind.IPC},
		{[]string{"taka", "--net"}, nskind.Net},
		{[]string{"taka", "--pid"}, nskind.PID},
		{[]string{"taka", "--userns"}, nskind.User},
		{[]string{"taka", "--cgroup"}, nskind.Cgroup},
		{[]string{"taka", "--time"}, nskind.Time},
		{[]string{"taka", "--net", "--pid"}, nskind.Net | nskind.PID},
		{[]string{"taka", "--mount", "--uts", "--ipc", "--net", "--pid", "--userns", "--cgroup", "--time"}, nskind.All},
		{[]string{"taka", "--all"}, nskind.All},
		{[]string{"taka", "-a", "--net"}, nskind.All},
	} {
		if got := mustParse(t, tc.args...).cli.Enter.namespaces(); got != tc.want {
			t.Errorf("%q: namespaces %v; want %v", tc.args, got, tc.want)
		}
	}
}

func TestEnterCheckArgs(t *testing.T) {
	const exclusive = "--image and --tools exclude each other: --tools brings ctr-enter's own programs, --image an image's instead"
	for _, tc := range []struct {
		args []string
		want string // "" for no error
	}{
		{[]string{"taka", "--image", "busybox", "--tools"}, exclusive},
		{[]string{"taka", "--tools", "--net", "--image", "x"}, exclusive},
		// Without the mount namespace: a root of the session's own.
		{[]string{"taka", "--image", "busybox", "--net"}, ""},
		{[]string{"taka", "--tools", "--pid", "--uts"}, ""},
		{[]string{"taka", "--tools", "--mount", "--net"}, ""},
		{[]string{"taka", "--image", "busybox", "--mount"}, ""},
		// No namespace flag: the mount namespace is joined if it differs.
		{[]string{"taka", "--image", "busybox"}, ""},
		{[]string{"taka", "--tools", "-a"}, ""},
		{[]string{"taka", "--net"}, ""},
	} {
		err := mustParse(t, tc.args...).cli.Enter.checkArgs()
		if got := errString(err); got != tc.want {
			t.Errorf("%q: %q; want %q", tc.args, got, tc.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestEnterHelp(t *testing.T) {
	out := help(t, "enter", "--help")
	if !strings.HasPrefix(out, "Usage: ctr-enter enter <target> [<command> ...] [flags]\n") {
		t.Errorf("enter --help:\n%s", out)
	}
	hasExamples(t, out, new(enterCmd).Help())
	// The namespace flags under their group, in nsenter's order.
	group := strings.Index(out, "\nNamespaces (default: all in which the target differs)\n")
	if group < 0 {
		t.Fatalf("no namespace group in:\n%s", out)
	}
	at := group
	for _, flag := range []string{"--mount", "--uts", "--ipc", "--net", "--pid", "--userns", "--cgroup", "--time", "-a, --all"} {
		i := strings.Index(out[at:], flag+" ")
		if i < 0 {
			t.Fatalf("%s is not under the namespace group, after the flags before it:\n%s", flag, out[group:])
		}
		at += i
	}
	// The default command's help comes with a target too, and with -h.
	for _, args := range [][]string{{"taka", "--help"}, {"taka", "-h"}, {"--net", "taka", "--help"}} {
		if got := help(t, args...); got != out {
			t.Errorf("%q differs from enter --help:\n%s", args, got)
		}
	}
	// After the command word, or after --, --help is the command's.
	for _, args := range [][]string{{"taka", "sh", "--help"}, {"taka", "--", "sh", "--help"}, {"taka", "-t", "sh", "-h"}} {
		p := mustParse(t, args...)
		if cmd := p.cli.Enter.Command; len(cmd) != 2 || cmd[0] != "sh" || cmd[1] != args[len(args)-1] {
			t.Errorf("%q: command %q", args, cmd)
		}
	}
}

// TestReadmeExamplesWithoutDashes checks that every enter example of the
// README and of the help texts means the same with its -- and without:
// the command starts at its first word either way.
func TestReadmeExamplesWithoutDashes(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The performance section's table names what it timed, in the
	// bench's short words: results, not examples.
	doc, perf, _ := strings.Cut(string(readme), "\n## Performance\n")
	if _, after, ok := strings.Cut(perf, "\n## "); ok {
		doc += after
	}
	var lines []string
	for _, text := range []string{doc, description, new(enterCmd).Help()} {
		for _, line := range strings.Split(text, "\n") {
			_, rest, ok := strings.Cut(line, "ctr-enter ")
			if trimmed := strings.TrimSpace(line); !ok || !strings.HasPrefix(trimmed, "ctr-enter ") && !strings.Contains(trimmed, "| ctr-enter ") {
				continue
			}
			// Up to the comment, or the pipe, that follows the example.
			rest, _, _ = strings.Cut(rest, "#")
			rest, _, _ = strings.Cut(rest, "|")
			rest, _, _ = strings.Cut(rest, "  ")
			lines = append(lines, rest)
		}
	}
	n := 0
	for _, line := range lines {
		words := strings.Fields(line)
		dash := slices.Index(words, "--")
		if dash < 0 {
			continue
		}
		with := mustParse(t, words...)
		if !strings.HasPrefix(with.command(), "enter ") {
			continue // attach's examples are attach's grammar
		}
		n++
		without := mustParse(t, slices.Delete(slices.Clone(words), dash, dash+1)...)
		if !reflect.DeepEqual(emptyListsNil(with.cli.Enter), emptyListsNil(without.cli.Enter)) {
			t.Errorf("%q: with -- %+v; without %+v", line, with.cli.Enter, without.cli.Enter)
		}
	}
	if n < 5 {
		t.Errorf("only %d examples with -- found in %q", n, lines)
	}
}
