package main

import (
	"os"
	"reflect"
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

		// issue 12: after TARGET, the first word that is not one of
		// attach's flags starts the command; nothing after it is parsed.
		{[]string{"attach", "taka", "--image", "busybox", "ps", "-ef"}, "attach run <target> <command>", attachRunCmd{
			Target: "taka", Image: "busybox", Security: "default", Command: []string{"ps", "-ef"},
		}},
		{[]string{"attach", "taka", "--image", "busybox", "sleep", "--image", "x", "-e", "A=1", "--"}, "attach run <target> <command>", attachRunCmd{
			Target: "taka", Image: "busybox", Security: "default", Command: []string{"sleep", "--image", "x", "-e", "A=1", "--"},
		}},
		// A second "--" is the command's.
		{[]string{"attach", "taka", "--image", "busybox", "--", "--", "x"}, "attach run <target> <command>", attachRunCmd{
			Target: "taka", Image: "busybox", Security: "default", Command: []string{"--", "x"},
		}},
		{[]string{"attach", "taka", "--image", "busybox", "--"}, "attach run <target> <command>", attachRunCmd{Target: "taka", Image: "busybox", Security: "default"}},
		{[]string{"attach", "--image", "busybox", "--", "taka", "id"}, "attach run <target> <command>", attachRunCmd{
			Target: "taka", Image: "busybox", Security: "default", Command: []string{"id"},
		}},
		// docker run's -e, -u, -w, --cap-add and --cap-drop.
		{[]string{"attach", "taka", "-e", "A=1", "-e", "B", "-e", "C=x,y", "-u", "nobody:nogroup", "-w", "/tmp", "--cap-add", "NET_ADMIN,sys_ptrace", "--cap-drop=NET_RAW", "--image", "busybox", "id"}, "attach run <target> <command>", attachRunCmd{
			Target: "taka", Image: "busybox", Security: "default", Env: []string{"A=1", "B", "C=x,y"}, User: "nobody:nogroup", Workdir: "/tmp",
			CapAdd: []string{"NET_ADMIN", "sys_ptrace"}, CapDrop: []string{"NET_RAW"}, Command: []string{"id"},
		}},

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
		// A mistyped flag before the command is an error, not a command.
		{[]string{"attach", "taka", "--image", "busybox", "--bogus", "sleep"}, "unknown flag --bogus"},
		{[]string{"attach", "taka", "--image", "busybox", "-x"}, "unknown flag -x"},
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
		{Ref: "docker://taka-debug-1a2b", Name: "taka-debug-1a2b", ID: "0123", Image: "busybox", Status: "running", Of: "docker://taka", OfName: "docker://taka"},
		{Ref: "containerd://e2e/web\x1b[2J", Name: "web", Image: "docker.io/library/nginx:latest", Status: "stopped", Of: "containerd://e2e/taka", OfName: "containerd://e2e/taka", Log: "/var/log/ctr-enter/e2e/web.log"},
		// A pod's, by pod names; its pod is gone.
		{Ref: "containerd://k8s.io/side", Name: "shop/web/side", Image: "busybox", Status: "running", Of: "containerd://k8s.io/0123", OfName: "shop/web/redis", Pod: "shop/web", TargetGone: true},
	}
	want := "" +
		"SIDECAR                   IMAGE                           STATUS                 OF\n" +
		"docker://taka-debug-1a2b  busybox                         running                docker://taka\n" +
		"containerd://e2e/web?[2J  docker.io/library/nginx:latest  stopped                containerd://e2e/taka\n" +
		"shop/web/side             busybox                         running (target gone)  shop/web/redis\n"
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
    "of_name": "containerd://e2e/taka",
    "log": "/var/log/ctr-enter/e2e/web.log",
    "target_gone": false
  }
]
`
	printsList(t, "attach ls --json", true, sidecars[1:2], sidecarHeader, sidecarCells, want)
}

// TestAttachSameCommand: with "--" and without, the same command, for every
// example of the README and the help.
func TestAttachSameCommand(t *testing.T) {
	for _, cmd := range [][]string{
		{"httpd", "-f", "-p", "8080"}, {"sleep", "3600"}, {"ps", "-ef"}, {"env", "-i", "X=1", "env"}, {"cat", "-u", "/etc/hostname"}, {"sh", "-c", "echo $HOME"},
	} {
		with := mustParse(t, append([]string{"attach", "taka", "--image", "busybox", "--"}, cmd...)...).cli.Attach.Run.Command
		without := mustParse(t, append([]string{"attach", "taka", "--image", "busybox"}, cmd...)...).cli.Attach.Run.Command
		if !reflect.DeepEqual(with, cmd) || !reflect.DeepEqual(without, cmd) {
			t.Errorf("%q: with -- %q, without %q", cmd, with, without)
		}
	}
}

func TestAttachCheckArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"attach", "taka", "--image", "busybox", "-it"}, "-i and -t need --rm: a sidecar without --rm runs detached; for a shell in it, use attach --rm -it, or enter it (ctr-enter SIDECAR)"},
		{[]string{"attach", "taka", "--image", "busybox", "-t"}, "-i and -t need --rm"},
		{[]string{"attach", "taka", "--image", "busybox", "--rm", "-it"}, ""},
		{[]string{"attach", "taka", "--image", "busybox", "--security", "target", "-u", "nobody"}, attach.ErrTargetAndOwn.Error()},
		{[]string{"attach", "taka", "--image", "busybox", "--security", "target", "--cap-drop", "ALL"}, attach.ErrTargetAndOwn.Error()},
		{[]string{"attach", "taka", "--image", "busybox", "--security", "privileged", "--cap-drop", "ALL"}, ""},
		{[]string{"attach", "taka", "--image", "busybox", "--cap-add", "NET_FLY"}, `--cap-add: unknown capability "NET_FLY"`},
		{[]string{"attach", "taka", "--image", "busybox", "--cap-drop", "cap_net_raw,bogus"}, `--cap-drop: unknown capability "bogus"`},
		{[]string{"attach", "taka", "--image", "busybox", "-e", "=1"}, `-e "=1": want KEY=VALUE or KEY`},
		// The command's own flags are not attach's.
		{[]string{"attach", "taka", "--image", "busybox", "sh", "-it"}, ""},
	} {
		c := mustParse(t, tc.args...).cli.Attach.Run
		if err := c.checkArgs(); errString(err) != tc.err && !(tc.err != "" && strings.HasPrefix(errString(err), tc.err)) {
			t.Errorf("%q: %v; want %q", tc.args, err, tc.err)
		}
	}
}

func TestAttachEnv(t *testing.T) {
	t.Setenv("CTR_ENTER_TEST_SET", "from ctr-enter")
	os.Unsetenv("CTR_ENTER_TEST_UNSET")
	c := attachRunCmd{Env: []string{"A=1", "CTR_ENTER_TEST_SET", "CTR_ENTER_TEST_UNSET", "B="}}
	if got, want := c.env(), []string{"A=1", "CTR_ENTER_TEST_SET=from ctr-enter", "B="}; !reflect.DeepEqual(got, want) {
		t.Errorf("env %q, want %q", got, want)
	}
}

func TestCapNames(t *testing.T) {
	got, err := attach.CapNames([]string{"net_admin", "CAP_SYS_PTRACE", "all", "Mknod"})
	if want := []string{"CAP_NET_ADMIN", "CAP_SYS_PTRACE", "ALL", "CAP_MKNOD"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("CapNames: %q, %v; want %q", got, err, want)
	}
}
