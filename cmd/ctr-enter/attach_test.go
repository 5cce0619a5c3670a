package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/ctr-enter/ctr-enter/attach"
)

func TestAttachRunGrammar(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		command string
		want    attachRunCmd
	}{
		// run is attach's default command.
		{[]string{"attach", "taka", "--image", "nginx"}, "attach run <target>", attachRunCmd{Target: "taka", Image: "nginx", Security: "default"}},
		{[]string{"attach", "run", "taka", "--image", "nginx"}, "attach run <target>", attachRunCmd{Target: "taka", Image: "nginx", Security: "default"}},
		{[]string{"attach", "--image", "nginx", "taka"}, "attach run <target>", attachRunCmd{Target: "taka", Image: "nginx", Security: "default"}},
		{[]string{"attach", "taka", "--image", "nginx", "--name", "medium-test"}, "attach run <target>", attachRunCmd{
			Target: "taka", Image: "nginx", Name: "medium-test", Security: "default",
		}},
		{[]string{"attach", "taka", "--image=busybox", "--name=web", "--", "httpd", "-f", "-p", "8080"}, "attach run <target> <command>", attachRunCmd{
			Target: "taka", Image: "busybox", Name: "web", Security: "default", Command: []string{"httpd", "-f", "-p", "8080"},
		}},
		{[]string{"attach", "taka", "--image", "busybox", "sleep", "3600"}, "attach run <target> <command>", attachRunCmd{
			Target: "taka", Image: "busybox", Security: "default", Command: []string{"sleep", "3600"},
		}},
		// --share is passed on as written; attach.ParseShare reads it.
		{[]string{"attach", "containerd://e2e/taka", "--image", "busybox", "--share", "net,pid", "--", "sleep", "3600"}, "attach run <target> <command>", attachRunCmd{
			Target: "containerd://e2e/taka", Image: "busybox", Share: "net,pid", Security: "default", Command: []string{"sleep", "3600"},
		}},
		{[]string{"attach", "taka", "--rm", "-it", "--image", "busybox", "--security", "target"}, "attach run <target>", attachRunCmd{
			Target: "taka", Image: "busybox", Rm: true, Interactive: true, TTY: true, Security: "target",
		}},
		{[]string{"attach", "taka", "--image", "busybox", "--security=privileged", "--interactive", "--tty"}, "attach run <target>", attachRunCmd{
			Target: "taka", Image: "busybox", Security: "privileged", Interactive: true, TTY: true,
		}},
		// issue 12: a target named like a subcommand (ls, rm, run) needs
		// the explicit run: "attach ls" lists sidecars.
		{[]string{"attach", "run", "ls", "--image", "busybox"}, "attach run <target>", attachRunCmd{Target: "ls", Image: "busybox", Security: "default"}},
	} {
		p := mustParse(t, tc.args...)
		if p.command() != tc.command {
			t.Errorf("%q selects %q; want %q", tc.args, p.command(), tc.command)
		}
		got := p.cli.Attach.Run
		if len(got.Command) == 0 {
			got.Command = nil
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.args, got, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"attach", "taka"}, "missing flags: --image=REF"},
		// issue 12: attach alone asks for --image, not for a target or a
		// subcommand.
		{[]string{"attach"}, "missing flags: --image=REF"},
		{[]string{"attach", "--image", "busybox"}, `expected "<target>"`},
		{[]string{"attach", "taka", "--image", "busybox", "--security", "bogus"}, `--security must be one of "default","target","privileged" but got "bogus"`},
		// Namespaces are shared with --share, not enter's flags.
		{[]string{"attach", "taka", "--image", "busybox", "--net"}, "unknown flag --net"},
		{[]string{"attach", "taka", "--image", "busybox", "-e", "A=1"}, "unknown flag -e"},
		{[]string{"attach", "taka", "--image"}, `--image: expected string value but got "EOL"`},
	} {
		parseError(t, tc.want, tc.args...)
	}
}

func TestAttachLsRmGcGrammar(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		command string
		check   func(*cli) bool
	}{
		{[]string{"attach", "ls"}, "attach ls", func(c *cli) bool { return c.Attach.Ls.Target == "" && !c.Attach.Ls.JSON }},
		{[]string{"attach", "ls", "taka"}, "attach ls <target>", func(c *cli) bool { return c.Attach.Ls.Target == "taka" && !c.Attach.Ls.JSON }},
		{[]string{"attach", "ls", "--json", "docker://taka"}, "attach ls <target>", func(c *cli) bool {
			return c.Attach.Ls.Target == "docker://taka" && c.Attach.Ls.JSON
		}},
		{[]string{"attach", "rm", "medium-test"}, "attach rm <sidecars>", func(c *cli) bool {
			return reflect.DeepEqual(c.Attach.Rm.Sidecars, []string{"medium-test"})
		}},
		{[]string{"attach", "rm", "web", "containerd://e2e/db-debug-1a2b"}, "attach rm <sidecars>", func(c *cli) bool {
			return reflect.DeepEqual(c.Attach.Rm.Sidecars, []string{"web", "containerd://e2e/db-debug-1a2b"})
		}},
		{[]string{"gc"}, "gc", func(c *cli) bool { return true }},
		{[]string{"gc", "--timeout", "1s"}, "gc", func(c *cli) bool { return c.Timeout.String() == "1s" }},
	} {
		p := mustParse(t, tc.args...)
		if p.command() != tc.command || !tc.check(p.cli) {
			t.Errorf("%q selects %q (want %q) with ls %+v, rm %+v", tc.args, p.command(), tc.command, p.cli.Attach.Ls, p.cli.Attach.Rm)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"attach", "ls", "a", "b"}, "unexpected argument b"},
		{[]string{"attach", "ls", "--image", "busybox"}, "unknown flag --image"},
		{[]string{"attach", "rm"}, `expected "<sidecars> ..."`},
		{[]string{"attach", "rm", "web", "--json"}, "unknown flag --json"},
		{[]string{"gc", "x"}, "unexpected argument x"},
		{[]string{"gc", "--json"}, "unknown flag --json"},
	} {
		parseError(t, tc.want, tc.args...)
	}
}

func TestAttachHelp(t *testing.T) {
	out := help(t, "attach", "--help")
	for _, want := range []string{
		"Usage: ctr-enter attach <command> [flags]\n",
		"Start, list and remove sidecars: containers sharing a target's namespaces.\n",
		"  attach run    Start a sidecar sharing the target's namespaces (the default).\n",
		"  attach ls     List sidecars, of one target or of all.\n",
		"  attach rm     Stop and remove sidecars.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("attach --help lacks %q:\n%s", want, out)
		}
	}
	run := help(t, "attach", "run", "--help")
	if !strings.HasPrefix(run, "Usage: ctr-enter attach run --image=REF <target> [<command> ...] [flags]\n") {
		t.Errorf("attach run --help:\n%s", run)
	}
	hasExamples(t, run, new(attachRunCmd).Help())
	for _, want := range []string{"Security (--security): by default", attach.LogDir + "/NAMESPACE/NAME.log"} {
		if !strings.Contains(run, want) {
			t.Errorf("attach run --help lacks %q:\n%s", want, run)
		}
	}
	// With a target, attach's help is run's.
	if got := help(t, "attach", "taka", "--help"); got != run {
		t.Errorf("attach taka --help differs from attach run --help:\n%s", got)
	}
	if ls := help(t, "attach", "ls", "--help"); !strings.HasPrefix(ls, "Usage: ctr-enter attach ls [<target>] [flags]\n") || !strings.Contains(ls, "--json") {
		t.Errorf("attach ls --help:\n%s", ls)
	}
	if rm := help(t, "attach", "rm", "--help"); !strings.HasPrefix(rm, "Usage: ctr-enter attach rm <sidecars> ...\n") {
		t.Errorf("attach rm --help:\n%s", rm)
	}
	if gc := help(t, "gc", "--help"); !strings.HasPrefix(gc, "Usage: ctr-enter gc [flags]\n") || !strings.Contains(gc, "Removes the ephemeral containers (attach --rm)") {
		t.Errorf("gc --help:\n%s", gc)
	}
}

func TestAttachLsOutput(t *testing.T) {
	sidecars := []attach.Sidecar{
		{Ref: "docker://taka-debug-1a2b", Name: "taka-debug-1a2b", ID: "0123", Image: "busybox", Status: "running", Of: "docker://taka"},
		{Ref: "containerd://e2e/web\x1b[2J", Name: "web", Image: "docker.io/library/nginx:latest", Status: "stopped", Of: "containerd://e2e/taka", Log: "/var/log/ctr-enter/e2e/web.log"},
	}
	var b bytes.Buffer
	if err := writeList(&b, false, sidecars, sidecarHeader, sidecarCells); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"SIDECAR                   IMAGE                           STATUS   OF\n" +
		"docker://taka-debug-1a2b  busybox                         running  docker://taka\n" +
		"containerd://e2e/web?[2J  docker.io/library/nginx:latest  stopped  containerd://e2e/taka\n"
	if b.String() != want {
		t.Errorf("attach ls:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := writeList(&b, true, []attach.Sidecar(nil), sidecarHeader, sidecarCells); err != nil || b.String() != "[]\n" {
		t.Errorf("attach ls --json of none: %q, %v; want []", b.String(), err)
	}
	b.Reset()
	if err := writeList(&b, true, sidecars[1:], sidecarHeader, sidecarCells); err != nil {
		t.Fatal(err)
	}
	want = `[
  {
    "ref": "containerd://e2e/web\u001b[2J",
    "name": "web",
    "id": "",
    "image": "docker.io/library/nginx:latest",
    "status": "stopped",
    "of": "containerd://e2e/taka",
    "log": "/var/log/ctr-enter/e2e/web.log"
  }
]
`
	if b.String() != want {
		t.Errorf("attach ls --json:\n%s\nwant:\n%s", b.String(), want)
	}
}
