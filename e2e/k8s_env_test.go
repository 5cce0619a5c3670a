//go:build e2e

package e2e

// Issue 18's test environment: a real single-node control plane (etcd,
// kube-apiserver, kubelet built from the Go module proxy) that e2e/env.sh
// brings up beside the CRI containerd of the crictl pods, on a containerd
// of its own. These tests check what the kubectl plugin's tests rely on.
//
// Anchors measured on it (2 cores, other tests running beside; kubectl v1.37.2):
//   kubectl exec -n shop web -c redis -- true
//       median 273 ms over 20 runs (min 238, max 294)
//   kubectl debug POD --image busybox --image-pull-policy Never --target C -c dbgN -- true
//       1.2 to 2.1 s (median 2.0 s over 5 runs) from its start until the ephemeral
//       container's status says terminated (on a throwaway pod: each run adds an
//       ephemeral container to the pod's spec for good)
// TestK8sExec logs the exec median on the machine at hand.

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestK8sNodeReady(t *testing.T) {
	if got := kubectl(t, "get", "node", k8sNode, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`); got != "True" {
		t.Fatalf("node %s Ready = %q, want True\n%s", k8sNode, got, kubectl(t, "describe", "node", k8sNode))
	}
	if got := kubectl(t, "get", "nodes", "-o", "name"); got != "node/"+k8sNode {
		t.Errorf("nodes = %q, want only node/%s", got, k8sNode)
	}
	if got := kubectl(t, "get", "node", k8sNode, "-o", `jsonpath={.metadata.annotations.kubeadm\.alpha\.kubernetes\.io/cri-socket}`); got != "unix://"+k8sSock {
		t.Errorf("node's cri-socket annotation = %q, want unix://%s", got, k8sSock)
	}
	if got := kubectl(t, "get", "node", k8sNode, "-o", "jsonpath={.status.nodeInfo.containerRuntimeVersion}"); !strings.HasPrefix(got, "containerd://2.") {
		t.Errorf("node's runtime = %q, want containerd 2.x", got)
	}
}

// k8sPodField reads one jsonpath of a pod.
func k8sPodField(t *testing.T, ns, pod, path string) string {
	t.Helper()
	return kubectl(t, "-n", ns, "get", "pod", pod, "-o", "jsonpath={"+path+"}")
}

func TestK8sPods(t *testing.T) {
	for _, p := range []struct{ ns, name, containers string }{
		{"shop", "web", "redis sleeper"},
		{"shop", "distroless", "serve"},
		{"default", "crashloop", "crash"},
	} {
		if got := k8sPodField(t, p.ns, p.name, ".status.phase"); got != "Running" {
			t.Errorf("%s/%s phase = %q, want Running", p.ns, p.name, got)
		}
		if got := k8sPodField(t, p.ns, p.name, ".spec.nodeName"); got != k8sNode {
			t.Errorf("%s/%s on node %q, want %s", p.ns, p.name, got, k8sNode)
		}
		if got := k8sPodField(t, p.ns, p.name, ".spec.containers[*].name"); got != p.containers {
			t.Errorf("%s/%s containers = %q, want %q", p.ns, p.name, got, p.containers)
		}
		if got := k8sPodField(t, p.ns, p.name, ".spec.ephemeralContainers"); got != "" {
			t.Errorf("%s/%s has ephemeral containers: %s", p.ns, p.name, got)
		}
	}
	for _, p := range []string{"web", "distroless"} {
		if got := k8sPodField(t, "shop", p, `.status.conditions[?(@.type=="Ready")].status`); got != "True" {
			t.Errorf("shop/%s Ready = %q, want True", p, got)
		}
	}
	// The crash-looper: restarted by the kubelet, its last attempt exited 1.
	n, err := strconv.Atoi(k8sPodField(t, "default", "crashloop", ".status.containerStatuses[0].restartCount"))
	if err != nil || n < 1 {
		t.Errorf("default/crashloop restartCount = %d (%v), want >= 1", n, err)
	}
	if got := k8sPodField(t, "default", "crashloop", ".status.containerStatuses[0].lastState.terminated.exitCode"); got != "1" {
		t.Errorf("default/crashloop last exit code = %q, want 1", got)
	}

	// The distroless pod runs as nobody on a read-only root; the web pod's
	// processes sit under the kubelet's cgroup root, not /kubepods.
	pid := k8sContainerPID(t, "shop", "distroless", "serve")
	if got := procStatus(t, pid)["Uid:"]; len(got) == 0 || got[0] != "65534" {
		t.Errorf("shop/distroless/serve (pid %d) uid = %v, want 65534", pid, got)
	}
	if !slices.ContainsFunc(mountinfo(t, pid), func(l string) bool {
		f := strings.Fields(l)
		return len(f) > 5 && f[4] == "/" && strings.HasPrefix(f[5], "ro")
	}) {
		t.Errorf("shop/distroless/serve (pid %d): root is not read-only", pid)
	}
	pid = k8sContainerPID(t, "shop", "web", "redis")
	cg, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(cg)), "\n") {
		if strings.Contains(l, ":memory:") && !strings.HasPrefix(strings.SplitN(l, ":", 3)[2], k8sCgroupRoot+"/kubepods/") {
			t.Errorf("shop/web/redis (pid %d) memory cgroup %q, want under %s/kubepods/", pid, l, k8sCgroupRoot)
		}
	}
}

// k8sContainerPID is the host PID of a pod's running container, through the
// node's CRI.
func k8sContainerPID(t *testing.T, ns, pod, container string) int {
	t.Helper()
	podID := crictlK8s(t, "pods", "-q", "--namespace", "^"+ns+"$", "--name", "^"+pod+"$", "--state", "ready")
	id := crictlK8s(t, "ps", "-q", "--pod", podID, "--name", "^"+container+"$", "--state", "running")
	pid, err := strconv.Atoi(crictlK8s(t, "inspect", "-o", "go-template", "--template", "{{.info.pid}}", id))
	if err != nil || pid <= 0 {
		t.Fatalf("%s/%s/%s: no PID (%v)", ns, pod, container, err)
	}
	return pid
}

func TestK8sExec(t *testing.T) {
	// The redis image has no redis-cli: busybox's nc speaks the protocol.
	if got := kubectl(t, "-n", "shop", "exec", "web", "-c", "redis", "--", "sh", "-c", `printf 'PING\r\n' | nc -w 5 127.0.0.1 6379`); got != "+PONG" {
		t.Errorf("kubectl exec shop/web -c redis -- PING to redis = %q, want +PONG", got)
	}
	// One pid namespace for the pod: the sleeper sees redis-server.
	if got := kubectl(t, "-n", "shop", "exec", "web", "-c", "sleeper", "--", "ps", "-o", "comm"); !strings.Contains(got, "redis-server") {
		t.Errorf("ps in shop/web's sleeper: %q, want redis-server among them", got)
	}
	// Exit codes pass through the apiserver and the kubelet.
	if r := kubectlAs(t, k8sKubeconfig(), "-n", "shop", "exec", "web", "-c", "sleeper", "--", "sh", "-c", "exit 3"); r.code != 3 {
		t.Errorf("kubectl exec ... exit 3: %v, want exit 3", r)
	}
	// The anchor the plugin's benchmark compares against.
	var times []time.Duration
	for range 7 {
		start := time.Now()
		kubectl(t, "-n", "shop", "exec", "web", "-c", "redis", "--", "true")
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	t.Logf("kubectl exec shop/web -c redis -- true: median %v (7 runs)", times[len(times)/2])
}

// The restricted user may read pods in shop and nothing more: what the
// plugin's "forbidden" errors are tested with.
func TestK8sRestricted(t *testing.T) {
	as := func(args ...string) result { return kubectlAs(t, k8sKubeconfigRestricted(), args...) }
	if r := as("-n", "shop", "get", "pod", "web", "-o", "name"); r.code != 0 || strings.TrimSpace(r.stdout) != "pod/web" {
		t.Errorf("restricted get shop/web: %v", r)
	}
	for _, args := range [][]string{
		{"-n", "shop", "exec", "web", "-c", "redis", "--", "true"},
		{"-n", "default", "get", "pod", "crashloop"},
		{"-n", "shop", "run", "x", "--image", "busybox", "--restart", "Never"},
	} {
		if r := as(args...); r.code == 0 || !strings.Contains(r.stderr, "forbidden") {
			t.Errorf("restricted kubectl %v: %v, want forbidden", args, r)
		}
	}
}

// The kubelet runs beside the crictl pods' CRI containerd and must leave it
// alone: its 3 pods are still ready, and each node lists only its own.
func TestK8sCRIPodsUntouched(t *testing.T) {
	pods := func(out string) []string {
		var l struct {
			Items []struct {
				Metadata struct{ Name, Namespace string }
				State    string
			}
		}
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("crictl pods -o json: %v\n%s", err, out)
		}
		var n []string
		for _, p := range l.Items {
			n = append(n, p.Metadata.Namespace+"/"+p.Metadata.Name+" "+p.State)
		}
		sort.Strings(n)
		return n
	}
	if got, want := pods(crictl(t, "pods", "-o", "json")), []string{"default/web SANDBOX_READY", "shop/cache SANDBOX_READY", "shop/web SANDBOX_READY"}; !slices.Equal(got, want) {
		t.Errorf("crictl pods on %s = %q, want %q", criSock, got, want)
	}
	// The node's: its 3 and whatever tests run there beside (debugger pods),
	// none of the crictl pods.
	got := pods(crictlK8s(t, "pods", "-o", "json"))
	for _, want := range []string{"default/crashloop SANDBOX_READY", "shop/distroless SANDBOX_READY", "shop/web SANDBOX_READY"} {
		if !slices.Contains(got, want) {
			t.Errorf("crictl pods on %s = %q, want %q among them", k8sSock, got, want)
		}
	}
	for _, p := range got {
		if strings.HasPrefix(p, "default/web ") || strings.HasPrefix(p, "shop/cache ") {
			t.Errorf("crictl pods on %s = %q: a crictl pod of %s among them", k8sSock, got, criSock)
		}
	}
	if got := crictl(t, "ps", "-q", "--state", "running"); len(strings.Fields(got)) != 4 {
		t.Errorf("running containers on %s: %q, want the crictl pods' 4", criSock, got)
	}
}
