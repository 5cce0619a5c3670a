//go:build e2e

package e2e

// kubectl ctr-enter (issue 18) against the real control plane of
// e2e/env.sh (k8s_helpers_test.go): run through kubectl itself, which finds
// the plugin on PATH, as a user runs it. After every case no debugger pod
// is left and the target pods' specs have no ephemeral container.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// debuggerSelector selects the plugin's debugger pods.
const debuggerSelector = "app.kubernetes.io/managed-by=kubectl-ctr-enter"

// k8sContainerdRoot is the node containerd's root (env.sh: $K8S_DIR/cri/root).
func k8sContainerdRoot() string { return k8sDir() + "/cri/root" }

// k8sKubeletRoot is the kubelet's root (env.sh: --root-dir).
func k8sKubeletRoot() string { return k8sDir() + "/kubelet" }

var (
	pluginOnce sync.Once
	pluginPath string // the directory with kubectl-ctr_enter, for PATH
	pluginErr  error
)

// pluginDir is the directory of the plugin under test:
// KUBECTL_CTR_ENTER_BIN's, else ../bin's (make build).
func pluginDir(t *testing.T) string {
	t.Helper()
	pluginOnce.Do(func() {
		p := os.Getenv("KUBECTL_CTR_ENTER_BIN")
		if p == "" {
			p = "../bin/kubectl-ctr_enter"
		}
		if p, pluginErr = filepath.Abs(p); pluginErr != nil {
			return
		}
		if filepath.Base(p) != "kubectl-ctr_enter" {
			// kubectl finds a plugin by its name only.
			dir, err := os.MkdirTemp("", "kubectl-plugin-")
			if err != nil {
				pluginErr = err
				return
			}
			pluginErr = os.Symlink(p, filepath.Join(dir, "kubectl-ctr_enter"))
			p = filepath.Join(dir, "kubectl-ctr_enter")
		}
		if _, pluginErr = os.Stat(p); pluginErr == nil {
			pluginPath = filepath.Dir(p)
		}
	})
	if pluginErr != nil {
		t.Fatalf("no kubectl-ctr_enter (make build, or KUBECTL_CTR_ENTER_BIN): %v", pluginErr)
	}
	return pluginPath
}

// pluginCmd is `kubectl ctr-enter ARGS` as the admin, with the test node's
// containerd paths (a stock node's are the defaults).
func pluginCmd(t *testing.T, kubeconfig string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(kubectlBin(), append([]string{"ctr-enter", "--kubeconfig", kubeconfig,
		"--cri-socket", k8sSock, "--containerd-root", k8sContainerdRoot(), "--kubelet-root", k8sKubeletRoot()}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+pluginDir(t)+":"+os.Getenv("PATH"))
	return cmd
}

// plugin runs kubectl ctr-enter ARGS as the admin and waits.
func plugin(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, pluginCmd(t, k8sKubeconfig(), args...))
}

// pluginError checks a failure of the plugin's own: status 125, one line
// on stderr naming the cause.
func pluginError(t *testing.T, r result, contains string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if r.code != 125 || len(lines) != 1 || !strings.HasPrefix(lines[0], "kubectl ctr-enter: ") || !strings.Contains(lines[0], contains) {
		t.Errorf("want exit 125 and one line with %q:\n%v", contains, r)
	}
}

// debuggerPods lists the plugin's debugger pods, in every namespace.
func debuggerPods(t *testing.T) []string {
	t.Helper()
	out := kubectl(t, "get", "pods", "-A", "-l", debuggerSelector, "-o", `jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}`)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// nothingLeftInCluster checks that no debugger pod remains (a pod deleted
// with grace 0 is gone from the API at once) and that the target pods'
// specs have no ephemeral container.
func nothingLeftInCluster(t *testing.T) {
	t.Helper()
	if pods := debuggerPods(t); len(pods) > 0 {
		t.Errorf("debugger pods left: %v", pods)
	}
	for _, p := range [][2]string{{"shop", "web"}, {"shop", "distroless"}, {"default", "crashloop"}} {
		if got := k8sPodField(t, p[0], p[1], ".spec.ephemeralContainers"); got != "" {
			t.Errorf("%s/%s has ephemeral containers: %s", p[0], p[1], got)
		}
	}
}

func TestKubectlPluginRunsInPod(t *testing.T) {
	r := plugin(t, "-n", "shop", "web", "-c", "redis", "--", "ps", "aux")
	if r.code != 0 || !strings.Contains(r.stdout, "redis-server") {
		t.Errorf("ps aux in shop/web redis: no redis-server:\n%v", r)
	}
	// The default container (the pod's annotation names redis) and its
	// environment.
	if r := plugin(t, "-n", "shop", "web", "--", "sh", "-c", "echo $WEB_VAR"); r.code != 0 || strings.TrimSpace(r.stdout) != "k8s-web" {
		t.Errorf("default container's env: %v", r)
	}
	// ctr-enter's flags pass through: the pid namespace alone shows the
	// pod's processes (one pid namespace: redis-server and sleep).
	if r := plugin(t, "-n", "shop", "web", "-c", "sleeper", "--pid", "ps", "-o", "comm"); r.code != 0 || !strings.Contains(r.stdout, "redis-server") || !strings.Contains(r.stdout, "sleep") {
		t.Errorf("--pid ps: %v", r)
	}
	nothingLeftInCluster(t)
}

func TestKubectlPluginExitStatus(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-n", "shop", "web", "-c", "sleeper", "--", "sh", "-c", "exit 3"}, 3},
		{[]string{"-n", "shop", "web", "-c", "sleeper", "--", "false"}, 1},
		{[]string{"-n", "shop", "web", "-c", "sleeper", "--", "no-such-command"}, 127},
	} {
		if r := plugin(t, tc.args...); r.code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%v", tc.args, r.code, tc.code, r)
		}
	}
	// stdin reaches the command.
	cmd := pluginCmd(t, k8sKubeconfig(), "-n", "shop", "web", "-c", "sleeper", "-i", "--", "cat")
	cmd.Stdin = strings.NewReader("through-stdin\n")
	if r := runCmd(t, cmd); r.code != 0 || r.stdout != "through-stdin\n" {
		t.Errorf("-i cat: %v", r)
	}
	nothingLeftInCluster(t)
}

func TestKubectlPluginInteractive(t *testing.T) {
	o := startOperatorCmd(t, pluginCmd(t, k8sKubeconfig(), "-n", "shop", "web", "-c", "sleeper"), false)
	m := o.expect(0, `[#$] `)
	o.send("echo $((6*7))\r")
	m = o.expect(m, `\r\n42\r\n`)
	o.send("stty size\r")
	m = o.expect(m, `\r\n30 100\r\n`)
	if err := pty.Setsize(o.master, &pty.Winsize{Rows: 40, Cols: 132}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // SIGWINCH, then the API server's stream
	o.send("stty size\r")
	m = o.expect(m, `\r\n40 132\r\n`)
	// Ctrl-C reaches the program inside, not the plugin.
	o.send("sleep 100\r")
	time.Sleep(500 * time.Millisecond)
	o.send("\x03")
	o.send("echo survived\r")
	o.expect(m, `\r\nsurvived\r\n`)
	o.send("exit 3\r")
	if code := o.wait(); code != 3 { // wait checks the terminal is restored
		t.Errorf("exit 3 gave %d", code)
	}
	nothingLeftInCluster(t)
}

func TestKubectlPluginDistrolessAndAsTarget(t *testing.T) {
	// No shell in the image, a read-only root: ctr-enter's tools.
	r := plugin(t, "-n", "shop", "distroless", "--", "sh", "-c", "echo shell-ok; ls /")
	if r.code != 0 || !strings.Contains(r.stdout, "shell-ok") {
		t.Errorf("a shell in shop/distroless: %v", r)
	}
	if r := plugin(t, "-n", "shop", "distroless", "--as-target", "--", "id", "-u"); r.code != 0 || strings.TrimSpace(r.stdout) != "65534" {
		t.Errorf("--as-target id -u: %v, want 65534", r)
	}
	nothingLeftInCluster(t)
}

func TestKubectlPluginCrashLooping(t *testing.T) {
	// Its last attempt, stopped: its own files, through ctr-enter's
	// stopped-container session.
	r := plugin(t, "-n", "default", "crashloop", "--", "sh", "-c", "echo opened; test -x /bin/busybox && echo has-busybox")
	if r.code != 0 || !strings.Contains(r.stdout, "opened") || !strings.Contains(r.stdout, "has-busybox") {
		t.Errorf("crash-looping default/crashloop: %v", r)
	}
	crashLoopVolumes(t)
	nothingLeftInCluster(t)
}

// crashLoopVolumes checks that default/crashloop's volumes are there as on
// its node: its ConfigMap's file (a subPath mount of the kubelet's) and
// the /etc/hosts the kubelet writes, both under the kubelet's root.
func crashLoopVolumes(t *testing.T) {
	t.Helper()
	r := plugin(t, "-n", "default", "crashloop", "--", "cat", "/etc/app.conf", "/etc/hosts")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "listen = 127.0.0.1:8080\n") || !strings.Contains(r.stdout, "\tcrashloop\n") || r.stderr != "" {
		t.Errorf("default/crashloop's volumes: %v", r)
	}
}

func TestKubectlPluginNode(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	r := plugin(t, "node/"+k8sNode, "--", "hostname")
	if _, err := os.Stat("/proc/1/ns/mnt"); err != nil {
		// Some machines' PID 1 (a microVM's init) refuses its namespaces
		// even to root: the node session is made as on any node, and
		// ctr-enter's refusal comes back through the API server.
		t.Logf("this host's PID 1 refuses /proc/1/ns (%v): checking that the refusal passes through", err)
		if r.code != 125 || !strings.Contains(r.stderr, "ctr-enter: ") || !strings.Contains(r.stderr, "/proc/1/ns/") {
			t.Errorf("node/%s hostname: %v, want ctr-enter's refusal of /proc/1/ns", k8sNode, r)
		}
	} else if r.code != 0 || strings.TrimSpace(r.stdout) != host {
		t.Errorf("node/%s hostname: %v, want %s", k8sNode, r, host)
	}
	nothingLeftInCluster(t)
}

func TestKubectlPluginErrors(t *testing.T) {
	pluginError(t, plugin(t, "-n", "shop", "nope", "--", "true"), `pods "nope" not found in namespace shop`)
	pluginError(t, plugin(t, "-n", "shop", "web", "-c", "nope", "--", "true"), "container nope is not in pod shop/web: choose one of redis, sleeper")
	pluginError(t, runCmd(t, pluginCmd(t, k8sKubeconfigRestricted(), "-n", "shop", "web", "--", "true")), "forbidden: cannot create pods in namespace shop")
	pluginError(t, runCmd(t, pluginCmd(t, k8sKubeconfigRestricted(), "-n", "default", "crashloop", "--", "true")), "forbidden: cannot get pods in namespace default")
	pluginError(t, plugin(t, "--debugger-image", "docker.io/ctr-enter-test/missing:1", "-n", "shop", "web", "--", "true"), "image docker.io/ctr-enter-test/missing:1 is missing on node "+k8sNode)
	nothingLeftInCluster(t)

	// A pod no scheduler places (the test cluster has none, and this one
	// names no node).
	kubectl(t, "-n", "shop", "run", "unscheduled", "--image", "docker.io/ctr-enter-test/busybox:latest", "--image-pull-policy", "Never", "--overrides", `{"spec":{"automountServiceAccountToken":false}}`, "--", "sleep", "1")
	t.Cleanup(func() {
		kubectl(t, "-n", "shop", "delete", "pod", "unscheduled", "--grace-period", "0", "--force", "--wait=false")
	})
	pluginError(t, plugin(t, "-n", "shop", "unscheduled", "--", "true"), "pod shop/unscheduled is not scheduled yet")

	// A node with no kubelet: never Ready.
	ghost := filepath.Join(t.TempDir(), "ghost.json")
	if err := os.WriteFile(ghost, []byte(`{"apiVersion":"v1","kind":"Node","metadata":{"name":"ctr-enter-e2e-ghost"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "create", "-f", ghost)
	t.Cleanup(func() { kubectl(t, "delete", "node", "ctr-enter-e2e-ghost", "--wait=false") })
	pluginError(t, plugin(t, "node/ctr-enter-e2e-ghost", "--", "true"), "node ctr-enter-e2e-ghost is not Ready")
	nothingLeftInCluster(t)
}

// TestKubectlPluginSignals: SIGTERM to the plugin deletes its debugger
// pod; ten runs killed with SIGKILL leave theirs, which gc removes.
func TestKubectlPluginSignals(t *testing.T) {
	start := func() *running {
		r := startRun(t, pluginCmd(t, k8sKubeconfig(), "-n", "shop", "web", "-c", "sleeper", "--", "sleep", "300"))
		return r
	}
	// The session runs once the debugger pod's ctr-enter has started sleep
	// in the target: the sleeper container's pid namespace has two sleeps.
	debuggersRunning := func(n int) func() bool {
		return func() bool {
			out := kubectl(t, "get", "pods", "-A", "-l", debuggerSelector, "-o", `jsonpath={range .items[*]}{.status.phase}{"\n"}{end}`)
			return strings.Count(out, "Running") == n
		}
	}
	r := start()
	waitForLong(t, "a debugger pod running", debuggersRunning(1))
	time.Sleep(time.Second) // the exec under way
	r.cmd.Process.Signal(syscall.SIGTERM)
	if res := r.wait(t); res.code == 0 {
		t.Errorf("SIGTERM: exit 0\n%v", res)
	}
	nothingLeftInCluster(t)

	var runs []*running
	for range 10 {
		runs = append(runs, start())
	}
	waitForLong(t, "10 debugger pods running", debuggersRunning(10))
	for _, r := range runs {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
	if pods := debuggerPods(t); len(pods) != 10 {
		t.Errorf("after 10 SIGKILLs: %d debugger pods, want 10: %v", len(pods), pods)
	}
	gc := plugin(t, "gc", "-A")
	if gc.code != 0 || strings.Count(gc.stdout, "deleted debugger pod ") != 10 || strings.Count(gc.stdout, "is gone") != 10 {
		t.Errorf("gc: %v", gc)
	}
	nothingLeftInCluster(t)
}

// waitForLong polls cond for up to a minute: pods start in seconds.
func waitForLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestKubectlPluginDaemonSet deploys deploy/daemonset.yaml and checks that
// the plugin executes in its pod and creates none. The test cluster has no
// controller-manager: its pod is made here from the DaemonSet's template,
// with the test node's containerd paths.
func TestKubectlPluginDaemonSet(t *testing.T) {
	kubectl(t, "apply", "-f", "../deploy/daemonset.yaml")
	startDaemonSetPod(t, "ctr-enter-e2e-ds")
	t.Cleanup(func() {
		kubectl(t, "-n", "ctr-enter", "delete", "pod", "ctr-enter-e2e-ds", "--grace-period", "0", "--force", "--wait=false")
	})

	// Every pod the plugin would create, seen as it happens.
	watch := exec.Command(kubectlBin(), "--kubeconfig", k8sKubeconfig(), "get", "pods", "-A", "-l", debuggerSelector, "--watch-only", "-o", "name")
	var seen strings.Builder
	watch.Stdout = &seen
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	r := plugin(t, "-n", "shop", "web", "-c", "redis", "--", "ps", "aux")
	if r.code != 0 || !strings.Contains(r.stdout, "redis-server") {
		t.Errorf("through the DaemonSet: %v", r)
	}
	if r := plugin(t, "-n", "shop", "web", "-c", "sleeper", "--", "sh", "-c", "exit 4"); r.code != 4 {
		t.Errorf("through the DaemonSet, exit 4: %v", r)
	}
	crashLoopVolumes(t)
	time.Sleep(500 * time.Millisecond)
	watch.Process.Kill()
	watch.Wait()
	if seen.Len() != 0 {
		t.Errorf("the plugin created pods with the DaemonSet deployed: %s", seen.String())
	}
	nothingLeftInCluster(t)
}

// startDaemonSetPod makes the pod the DaemonSet controller would make on
// the test node, as name, and waits until it runs.
func startDaemonSetPod(t *testing.T, name string) {
	t.Helper()
	var tmpl struct {
		Metadata map[string]any `json:"metadata"`
		Spec     map[string]any `json:"spec"`
	}
	if err := json.Unmarshal([]byte(kubectl(t, "-n", "ctr-enter", "get", "daemonset", "ctr-enter", "-o", "jsonpath={.spec.template}")), &tmpl); err != nil {
		t.Fatal(err)
	}
	tmpl.Spec["nodeName"] = k8sNode
	for _, v := range tmpl.Spec["volumes"].([]any) {
		hp, _ := v.(map[string]any)["hostPath"].(map[string]any)
		switch hp["path"] {
		case "/run/containerd/containerd.sock":
			hp["path"] = k8sSock
		case "/var/lib/containerd":
			hp["path"] = k8sContainerdRoot()
		case "/var/lib/kubelet":
			hp["path"] = k8sKubeletRoot()
		}
	}
	// At the node's paths: where the node's containerd says its
	// snapshots are, and the containers' specs their volumes.
	for _, c := range tmpl.Spec["containers"].([]any) {
		for _, m := range c.(map[string]any)["volumeMounts"].([]any) {
			switch m := m.(map[string]any); m["name"] {
			case "containerd-root":
				m["mountPath"] = k8sContainerdRoot()
			case "kubelet-root":
				m["mountPath"] = k8sKubeletRoot()
			}
		}
	}
	tmpl.Metadata["name"] = name
	tmpl.Metadata["namespace"] = "ctr-enter"
	pod, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": tmpl.Metadata, "spec": tmpl.Spec})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "pod.json")
	if err := os.WriteFile(file, pod, 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "create", "-f", file)
	waitForLong(t, "the DaemonSet's pod running", func() bool {
		return k8sPodField(t, "ctr-enter", name, ".status.containerStatuses[0].state.running.startedAt") != ""
	})
}

// The node mounts of a debugger pod (CTR_ENTER_NODE_MOUNTS), taken here
// from the host's own mount namespace (our process is ctr-enter's parent,
// as the runtime is in the pod): a root given as PATH? is shown where the
// node has it and left out where not, so that a session into a running
// container works on a node that keeps containerd's or the kubelet's root
// elsewhere; NODE=PATH must exist.
func TestNodeMountsOptional(t *testing.T) {
	dir := t.TempDir()
	node, missing := filepath.Join(dir, "node"), filepath.Join(dir, "missing")
	if err := os.MkdirAll(node, 0o755); err != nil {
		t.Fatal(err)
	}
	withMounts := func(mounts string, args ...string) result {
		cmd := command(args...)
		cmd.Env = append(cmd.Env, "CTR_ENTER_NODE_MOUNTS="+mounts)
		return runCmd(t, cmd)
	}
	// Without --mount or --pid the command has ctr-enter's mounts.
	r := withMounts(node+"?,"+missing+"?", "docker://taka", "--net", "--", "cat", "/proc/self/mountinfo")
	if r.code != 0 || !strings.Contains(r.stdout, " "+node+" ") {
		t.Errorf("an optional root the node has is not mounted: %v", r)
	}
	for _, p := range []string{missing, missing + "?"} {
		if strings.Contains(r.stdout, " "+p+" ") {
			t.Errorf("%s is mounted", p)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("an optional root the node lacks was made there (%s): %v", p, err)
		}
	}
	oneLineError(t, withMounts(missing+"=/mnt", "version"), 125, "node mounts")
}
