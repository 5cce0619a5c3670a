package main

import (
	"strings"
	"testing"

	"github.com/ctr-enter/ctr-enter/attach"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

func TestAttachGrammar(t *testing.T) {
	checkGrammar(t, []grammarCase{
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
		// --share is passed on as written; nskind.Parse reads it in Run.
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

		{[]string{"attach", "ls"}, "attach ls", attachLsCmd{}},
		{[]string{"attach", "ls", "taka"}, "attach ls <target>", attachLsCmd{Target: "taka"}},
		{[]string{"attach", "ls", "--json", "docker://taka"}, "attach ls <target>", attachLsCmd{Target: "docker://taka", JSON: true}},
		{[]string{"attach", "rm", "medium-test"}, "attach rm <sidecars>", attachRmCmd{Sidecars: []string{"medium-test"}}},
		{[]string{"attach", "rm", "web", "containerd://e2e/db-debug-1a2b"}, "attach rm <sidecars>", attachRmCmd{
			Sidecars: []string{"web", "containerd://e2e/db-debug-1a2b"},
		}},
		{[]string{"gc"}, "gc", gcCmd{}},
	})
	checkErrors(t, []errorCase{
		{[]string{"attach", "taka"}, "missing flags: --image=REF"},
		// issue 12: attach alone asks for --image, not for a target or a
		// subcommand.
		{[]string{"attach"}, "missing flags: --image=REF"},
		{[]string{"attach", "--image", "busybox"}, `expected "<target>"`},
		{[]string{"attach", "taka", "--image", "busybox", "--security", "bogus"}, `--security must be one of "default","target","privileged" but got "bogus"`},
		// Namespaces are shared with --share, not with enter's flags.
		{[]string{"attach", "taka", "--image", "busybox", "--net"}, "unknown flag --net"},
		{[]string{"attach", "taka", "--image", "busybox", "-e", "A=1"}, "unknown flag -e"},
		{[]string{"attach", "taka", "--image"}, `--image: expected string value but got "EOL"`},
		{[]string{"attach", "ls", "a", "b"}, "unexpected argument b"},
		{[]string{"attach", "ls", "--image", "busybox"}, "unknown flag --image"},
		{[]string{"attach", "rm"}, `expected "<sidecars> ..."`},
		{[]string{"attach", "rm", "web", "--json"}, "unknown flag --json"},
		{[]string{"gc", "x"}, "unexpected argument x"},
		{[]string{"gc", "--json"}, "unknown flag --json"},
	})
}

func TestAttachHelp(t *testing.T) {
	out := help(t, "attach", "--help")
	hasAll(t, "attach --help", out,
		"Usage: ctr-enter attach <command> [flags]\n",
		"Start, list and remove sidecars: containers sharing a target's namespaces.\n",
		"  attach run    Start a sidecar sharing the target's namespaces (the default).\n",
		"  attach ls     List sidecars, of one target or of all.\n",
		"  attach rm     Stop and remove sidecars.\n",
	)
	run := help(t, "attach", "run", "--help")
	if !strings.HasPrefix(run, "Usage: ctr-enter attach run --image=REF <target> [<command> ...] [flags]\n") {
		t.Errorf("attach run --help:\n%s", run)
	}
	hasExamples(t, run, new(attachRunCmd).Help())
	hasAll(t, "attach run --help", run, "Security (--security): by default", runtimes.LogDir+"/NAMESPACE/NAME.log")
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
	want := "" +
		"SIDECAR                   IMAGE                           STATUS   OF\n" +
		"docker://taka-debug-1a2b  busybox                         running  docker://taka\n" +
		"containerd://e2e/web?[2J  docker.io/library/nginx:latest  stopped  containerd://e2e/taka\n"
	printsList(t, "attach ls", false, sidecars, sidecarHeader, sidecarCells, want)
	printsList(t, "attach ls --json of none", true, []attach.Sidecar(nil), sidecarHeader, sidecarCells, "[]\n")
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
	printsList(t, "attach ls --json", true, sidecars[1:], sidecarHeader, sidecarCells, want)
}
