package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/posener/complete"
)

func TestCompletionGrammar(t *testing.T) {
	checkGrammar(t, []grammarCase{
		{[]string{"completion", "bash"}, "completion <shell>", completionCmd{Shell: "bash"}},
		{[]string{"completion", "zsh"}, "completion <shell>", completionCmd{Shell: "zsh"}},
		{[]string{"completion", "fish"}, "completion <shell>", completionCmd{Shell: "fish"}},
	})
	checkErrors(t, []errorCase{
		{[]string{"completion", "bogus"}, `<shell> must be one of "bash","zsh","fish" but got "bogus"`},
		{[]string{"completion"}, `expected "<shell>"`},
		{[]string{"completion", "bash", "zsh"}, "unexpected argument zsh"},
	})
	hasExamples(t, help(t, "completion", "--help"), new(completionCmd).Help())
}

func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "complete -C \"/usr/local/bin/ctr-enter\" ctr-enter\n",
		"zsh":  "autoload -U +X bashcompinit && bashcompinit\ncomplete -C \"/usr/local/bin/ctr-enter\" ctr-enter\n",
		"fish": `function __complete_ctr-enter
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    "/usr/local/bin/ctr-enter"
end
complete -f -c ctr-enter -a "(__complete_ctr-enter)"
`,
	} {
		var b bytes.Buffer
		if err := (&completionCmd{Shell: shell}).write(&b, "/usr/local/bin/ctr-enter", "ctr-enter"); err != nil || b.String() != want {
			t.Errorf("completion %s: %v\n%s\nwant:\n%s", shell, err, b.String(), want)
		}
	}
}

// completions is what ctr-enter answers a shell that asks for the
// completions of line, with targets and cached images of its own.
func completions(t *testing.T, line string) []string {
	t.Helper()
	t.Setenv("COMP_LINE", line)
	t.Setenv("COMP_POINT", "")
	parser, err := newParser(new(cli))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	targets := complete.PredictSet("taka", "docker://taka", "igor")
	imgs := complete.PredictSet("busybox", "docker.io/library/alpine:latest")
	sidecars := complete.PredictSet("taka-debug-1a2b", "docker://taka-debug-1a2b")
	if err := completeLine(parser, &b, targets, imgs, sidecars); err != nil {
		t.Fatal(err)
	}
	if b.Len() == 0 {
		return nil
	}
	got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	slices.Sort(got)
	return got
}

func TestCompleteLine(t *testing.T) {
	enterFlags := []string{
		"--all", "--as-target", "--cgroup", "--detach", "--env", "--env-file", "--image", "--interactive", "--ipc", "--mount", "--net",
		"--pid", "--privileged", "--sandbox", "--time", "--tools", "--trust-target", "--tty", "--user", "--userns", "--uts", "--workdir", "--write",
	}
	globalFlags := []string{"--containerd-address", "--containerd-namespace", "--docker-host", "--help", "--timeout", "--version"}
	for _, tc := range []struct {
		line string
		want []string
	}{
		// Commands, and targets: enter is the default command.
		{"ctr-enter ", []string{"attach", "completion", "cp", "docker://taka", "enter", "gc", "help", "igor", "images", "inspect", "ls", "port-forward", "taka", "update", "version"}},
		// cp's words are a target's path or a host path.
		{"ctr-enter cp ta", []string{"taka:"}},
		{"ctr-enter port-forward ", []string{"docker://taka", "igor", "taka"}},
		{"ctr-enter i", []string{"igor", "images", "inspect"}},
		{"ctr-enter --ne", []string{"--net"}},
		{"ctr-enter taka --p", []string{"--pid", "--privileged"}},
		{"ctr-enter taka --image ", []string{"busybox", "docker.io/library/alpine:latest"}},
		{"ctr-enter taka --image b", []string{"busybox"}},
		{"ctr-enter inspect ", []string{"docker://taka", "igor", "taka"}},
		{"ctr-enter inspect d", []string{"docker://taka"}},
		// enter's flags are not update's.
		{"ctr-enter update taka --m", []string{"--memory"}},
		{"ctr-enter attach ", []string{"docker://taka", "igor", "ls", "rm", "run", "taka"}},
		{"ctr-enter attach ls ", []string{"docker://taka", "igor", "taka"}},
		{"ctr-enter attach run taka --security ", []string{"default", "privileged", "target"}},
		{"ctr-enter images ", []string{"import", "ls", "prune", "pull", "rm"}},
		{"ctr-enter images rm ", []string{"busybox", "docker.io/library/alpine:latest"}},
		// The empty choice of --from (every source) is offered too, as an
		// empty line.
		{"ctr-enter images pull --from ", []string{"", "containerd", "docker", "registry"}},
		{"ctr-enter images pull --from r", []string{"registry"}},
		{"ctr-enter images pull busybox --bogus", nil},
		{"ctr-enter completion ", []string{"bash", "fish", "zsh"}},
		// Once the command has started, every word is the command's:
		// nothing of ctr-enter's is offered.
		{"ctr-enter taka ps -", nil},
		{"ctr-enter taka ps a", nil},
		{"ctr-enter taka --net ps ", nil},
		{"ctr-enter --net taka -- ps --p", nil},
		{"ctr-enter taka -e X=1 env -", nil},
		// Before it, ctr-enter's flags still are: -e's value is no
		// command.
		{"ctr-enter taka -e X=1 --p", []string{"--pid", "--privileged"}},
		{"ctr-enter taka --net --p", []string{"--pid", "--privileged"}},
		// attach run is attach's default command: its flags complete
		// without the word run, and enter's do not.
		{"ctr-enter attach taka --security ", []string{"default", "privileged", "target"}},
		{"ctr-enter attach taka --sh", []string{"--share"}},
		{"ctr-enter attach taka --ne", nil},
		{"ctr-enter attach rm ", []string{"docker://taka-debug-1a2b", "taka-debug-1a2b"}},
		// enter's flags are the top level's own, not global ones.
		{"ctr-enter taka --", sorted(append(slices.Clone(enterFlags), globalFlags...))},
		{"ctr-enter ls --", sorted(append([]string{"--all", "--json", "--pods"}, globalFlags...))},
	} {
		if got := completions(t, tc.line); !slices.Equal(got, tc.want) {
			t.Errorf("%q completes to %q; want %q", tc.line, got, tc.want)
		}
	}
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}
