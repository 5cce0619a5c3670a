// Command kubectl-ctr_enter is the kubectl plugin `kubectl ctr-enter`: it
// runs ctr-enter on a pod's node, through the API server, and deletes what
// it made for that.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/ctr-enter/ctr-enter/kubectl/plugin"
)

// version is set by the Makefile.
var version = "dev"

const usage = `Usage:
  kubectl ctr-enter [-n NS] POD [-c CONTAINER] [FLAGS] [--] [COMMAND...]
  kubectl ctr-enter NS/POD[/CONTAINER] [FLAGS] [--] [COMMAND...]
  kubectl ctr-enter node/NODE [FLAGS] [--] [COMMAND...]
  kubectl ctr-enter gc [-n NS | -A]

Runs ctr-enter on the pod's node against its container (its current
attempt, or its last one when it is not running), through the API server:
in the node's ctr-enter DaemonSet pod when there is one, else in a
short-lived debugger pod that is deleted when the session ends. The target
pod's spec is never changed. POD may be pod/POD (kubectl's form), or
NS/POD and NS/POD/CONTAINER (ctr-enter's names of pods on a node); a pod
named like a subcommand: pod/gc; a namespace named like a type (pod, node):
-n NS POD.

ctr-enter's flags (--net, --pid, --as-target, --image, -i, -t, -u, -e, -w,
--tools, ...: see ctr-enter --help) go to ctr-enter; the first word after
the pod that is no flag starts the command, and -- may separate it.

Flags:
  -n, --namespace NS          the pod's namespace (default: the context's)
  -c, --container NAME        the pod's container (default: the
                              kubectl.kubernetes.io/default-container one,
                              or its only one)
      --kubeconfig FILE       kubeconfig (default: $KUBECONFIG, ~/.kube/config)
      --context NAME          the kubeconfig's context
      --cluster NAME          the kubeconfig's cluster
      --debugger-image REF    ctr-enter's image (default ctr-enter:dev, from
                              make image, imported into the node)
      --debugger-pull-policy P  Always, IfNotPresent or Never (default Never)
      --cri-socket PATH       the node's containerd socket
                              (default /run/containerd/containerd.sock)
      --containerd-root DIR   the node's containerd root, for stopped
                              containers' files (default /var/lib/containerd)
      --kubelet-root DIR      the kubelet's root, for stopped containers'
                              volumes (default /var/lib/kubelet)
      --daemonset-namespace NS  where ctr-enter's DaemonSet runs (default
                              ctr-enter; "" never uses one)
      --debugger-namespace NS where debugger pods are made (default: the
                              target's; one whose Pod Security level allows
                              privileged pods, e.g. ctr-enter, where the
                              target's refuses them)
      --pod-running-timeout D how long the debugger pod may take to start (1m)
      --debugger-ttl D        a debugger pod's expiry for gc, moved forward
                              while the session lasts (default 1h)
  -A, --all-namespaces        gc: in every namespace
  -h, --help                  this help

gc deletes the debugger pods whose owner (a kubectl ctr-enter process on
this host) is gone, and anyone's whose expiry has passed.

Exit status: the command's own; 125 when kubectl ctr-enter, the API
server, the debugger pod or ctr-enter fails (the cause on one line of
stderr); 126 and 127 as ctr-enter: the command cannot be executed, or is
not found.

Examples:
  kubectl ctr-enter -n shop web -c redis -- ps aux
  kubectl ctr-enter shop/web/redis ps aux     the same
  kubectl ctr-enter web --as-target id
  kubectl ctr-enter web                       a shell, with tools
  kubectl ctr-enter node/node1 -- ss -tlnp    the node itself
`

func main() {
	os.Exit(run())
}

func run() int {
	a, err := plugin.Parse(os.Args[1:])
	if err != nil {
		return fail(fmt.Errorf("%w (see kubectl ctr-enter --help)", err))
	}
	switch a.Mode {
	case plugin.ModeHelp:
		fmt.Print(usage)
		return 0
	case plugin.ModeVersion:
		fmt.Println("kubectl-ctr_enter", version)
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	// kubectl's own loading: $KUBECONFIG, --kubeconfig, --context,
	// --cluster, and the context's namespace unless -n.
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = a.Flags.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: a.Flags.Context}
	overrides.Context.Cluster = a.Flags.Cluster
	overrides.Context.Namespace = a.Flags.Namespace
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return fail(fmt.Errorf("kubeconfig: %w", err))
	}
	cfg.UserAgent = "kubectl-ctr_enter/" + version
	ns, _, err := cc.Namespace()
	if err != nil {
		return fail(fmt.Errorf("kubeconfig: %w", err))
	}
	api, err := plugin.NewAPI(cfg)
	if err != nil {
		return fail(err)
	}

	if a.Mode == plugin.ModeGC {
		if a.Flags.AllNamespaces {
			ns = ""
		}
		err := plugin.GC(ctx, api, ns, plugin.CurrentOwner(), func(g plugin.Garbage) {
			fmt.Printf("deleted debugger pod %s/%s: %s\n", g.Pod.Namespace, g.Pod.Name, g.Reason)
		})
		if err != nil {
			return fail(err)
		}
		return 0
	}

	s := &plugin.Session{
		Config: cfg, API: api, Namespace: ns, Owner: plugin.CurrentOwner(),
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Warn: func(msg string) { fmt.Fprintf(os.Stderr, "kubectl ctr-enter: warning: %s\n", oneLine(msg)) },
	}
	code, err := s.Enter(ctx, a)
	if err != nil {
		return fail(err)
	}
	return code
}

// fail prints err on one line of stderr, and is the tool's exit status.
func fail(err error) int {
	fmt.Fprintf(os.Stderr, "kubectl ctr-enter: %s\n", oneLine(err.Error()))
	return plugin.ExitTool
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")
}
