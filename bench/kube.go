package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/ctr-enter/ctr-enter/runtimes"
)

// kubeEnv is the single-node cluster of e2e/env.sh (up-k8s), and the
// plugin under test.
type kubeEnv struct {
	plugin, kubectl, kubeconfig string
	criSocket, containerdRoot   string
	kubeletRoot                 string
	node                        string
}

func (k kubeEnv) cmd(args ...string) *exec.Cmd {
	return exec.Command(k.kubectl, append([]string{"--kubeconfig", k.kubeconfig}, args...)...)
}

func (k kubeEnv) run(args ...string) string {
	out, err := k.cmd(args...).CombinedOutput()
	if err != nil {
		fail("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// benchKube times `kubectl ctr-enter POD -- true` against kubectl exec and
// kubectl debug (until its ephemeral container has terminated), without
// and with ctr-enter's DaemonSet, on a pod of its own (kubectl debug adds
// an ephemeral container to its target for good). Skipped when the
// cluster is not up.
func benchKube(plugin, state string, runs int) {
	k := kubeEnv{
		kubectl: state + "/k8s/bin/kubectl", kubeconfig: state + "/k8s/kubeconfig",
		criSocket: "/run/ctr-enter-e2e/k8s/containerd.sock", containerdRoot: state + "/k8s/cri/root", kubeletRoot: state + "/k8s/kubelet",
	}
	var err error
	if k.plugin, err = filepath.Abs(plugin); err != nil || filepath.Base(k.plugin) != "kubectl-ctr_enter" {
		fail("-plugin %s: the binary must be named kubectl-ctr_enter (%v)", plugin, err)
	}
	// kubectl finds the plugin on PATH, in every command measured.
	os.Setenv("PATH", filepath.Dir(k.plugin)+":"+os.Getenv("PATH"))
	nodes, err := k.cmd("get", "nodes", "-o", "name").Output()
	if err != nil || !strings.HasPrefix(string(nodes), "node/") {
		fmt.Printf("kubectl ctr-enter: skipped, no cluster at %s (e2e/env.sh up-k8s): %v\n", k.kubeconfig, err)
		return
	}
	k.node = strings.TrimPrefix(strings.Fields(string(nodes))[0], "node/")

	const pod = "ctr-enter-bench"
	// One left by an interrupted run (fail exits without deferred calls).
	k.run("delete", "pod", pod, "--ignore-not-found", "--grace-period", "0", "--force")
	k.create(map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": pod, "namespace": "default"},
		"spec": map[string]any{"nodeName": k.node, "automountServiceAccountToken": false, "terminationGracePeriodSeconds": 0,
			"containers": []any{map[string]any{"name": "main", "image": "docker.io/ctr-enter-test/busybox:latest",
				"imagePullPolicy": "Never", "command": []string{"sleep", "1000000"}}}}})
	defer k.run("delete", "pod", pod, "--grace-period", "0", "--force", "--wait=false")
	k.run("wait", "--for=condition=Ready", "--timeout=60s", "pod/"+pod)

	plug := []string{k.kubectl, "ctr-enter", "--kubeconfig", k.kubeconfig, "--cri-socket", k.criSocket, "--containerd-root", k.containerdRoot, "--kubelet-root", k.kubeletRoot}
	kexec := contender{"kubectl exec POD -- true", []string{k.kubectl, "--kubeconfig", k.kubeconfig, "exec", pod, "--", "true"}}
	debug := contender{"kubectl debug POD --image busybox -- true (until terminated)", []string{"sh", "-c", `n=dbg$(date +%s%N)
"$0" --kubeconfig "$1" debug "$2" -q --image docker.io/ctr-enter-test/busybox:latest --image-pull-policy Never --target main -c $n -- true >/dev/null &&
"$0" --kubeconfig "$1" wait --for=jsonpath="{.status.ephemeralContainerStatuses[?(@.name==\"$n\")].state.terminated.reason}"=Completed --timeout=60s pod/"$2" >/dev/null`,
		k.kubectl, k.kubeconfig, pod}}
	without := contender{"kubectl ctr-enter POD -- true (a debugger pod)", append(append([]string{}, plug...), "--daemonset-namespace=", pod, "--", "true")}

	cs := []contender{kexec, debug, without}
	med := measure(cs, runs)
	t := newTable("kubectl ctr-enter without a DaemonSet: median of %d runs each, interleaved", runs)
	t.times(cs, med, 0, "kubectl exec")
	r := float64(med[2]) / float64(med[1])
	t.goal("<= 0.5x kubectl debug", ratio(r, 1), r <= 0.5)
	t.print()
	fmt.Println()

	// The kubelet tears the debugger pods down after they are deleted:
	// work on the node's CPUs that is the first part's, not this one's.
	k.settle()
	if k.daemonSetPod() {
		defer k.run("-n", "ctr-enter", "delete", "pod", "ctr-enter-bench-ds", "--grace-period", "0", "--force", "--wait=false")
	}
	with := contender{"kubectl ctr-enter POD -- true (the DaemonSet's pod)", append(append([]string{}, plug...), pod, "--", "true")}
	// kubectl's own start (a 60 MB binary) before it executes the plugin
	// is part of every `kubectl ctr-enter`: the plugin alone shows it.
	direct := contender{"kubectl-ctr_enter POD -- true (no kubectl before it)", append([]string{k.plugin, "--kubeconfig", k.kubeconfig,
		"--cri-socket", k.criSocket, "--containerd-root", k.containerdRoot, "--kubelet-root", k.kubeletRoot}, pod, "--", "true")}
	cs = []contender{kexec, with, direct}
	med = measure(cs, runs)
	t = newTable("kubectl ctr-enter with ctr-enter's DaemonSet (deploy/daemonset.yaml): median of %d runs each, interleaved", runs)
	t.times(cs, med, 0, "kubectl exec")
	r = float64(med[1]) / float64(med[0])
	t.goal("<= 1.2x kubectl exec", ratio(r, 1), r <= 1.2)
	t.print()
}

// settle waits until no container of a debugger pod runs on the node (a
// minute at most); the kubelet removes the stopped ones later.
func (k kubeEnv) settle() {
	c, err := runtimes.NewContainerdClient(runtimes.Options{ContainerdAddress: k.criSocket})
	if err != nil {
		fail("kubectl ctr-enter: the node's containerd: %v", err)
	}
	defer c.Close()
	ctx := namespaces.WithNamespace(context.Background(), "k8s.io")
	filter := fmt.Sprintf("labels.%q==%q", "app.kubernetes.io/managed-by", "kubectl-ctr-enter")
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		left, err := c.ContainerService().List(ctx, filter)
		if err != nil {
			fail("kubectl ctr-enter: the node's containers: %v", err)
		}
		running := false
		for _, ctr := range left {
			t, err := c.TaskService().Get(ctx, &tasks.GetRequest{ContainerID: ctr.ID})
			running = running || err == nil && t.GetProcess().GetStatus() == task.Status_RUNNING
		}
		if !running {
			return
		}
	}
	warnf("kubectl ctr-enter: debugger pods' containers still on the node after a minute")
}

func (k kubeEnv) create(obj map[string]any) {
	b, err := json.Marshal(obj)
	if err != nil {
		fail("%v", err)
	}
	cmd := k.cmd("create", "-f", "-")
	cmd.Stdin = strings.NewReader(string(b))
	if out, err := cmd.CombinedOutput(); err != nil {
		fail("kubectl create: %v\n%s", err, out)
	}
}

// daemonSetPod deploys deploy/daemonset.yaml and, the test cluster having
// no controller-manager, makes the pod its controller would make on the
// node, with the node's containerd paths; it says whether it made one
// (not when one runs already).
func (k kubeEnv) daemonSetPod() bool {
	k.run("apply", "-f", "deploy/daemonset.yaml")
	if k.run("-n", "ctr-enter", "get", "pods", "-l", "app.kubernetes.io/name=ctr-enter",
		"--field-selector", "spec.nodeName="+k.node+",status.phase=Running", "-o", "name") != "" {
		return false
	}
	var spec map[string]any
	raw := k.run("-n", "ctr-enter", "get", "daemonset", "ctr-enter", "-o", "jsonpath={.spec.template.spec}")
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fail("the DaemonSet's template: %v", err)
	}
	// The node's roots are mounted at their own paths, which the
	// containers' specs name.
	roots := map[string]string{"/var/lib/containerd": k.containerdRoot, "/var/lib/kubelet": k.kubeletRoot}
	paths := map[string]string{"/run/containerd/containerd.sock": k.criSocket}
	maps.Copy(paths, roots)
	for _, v := range spec["volumes"].([]any) {
		if hp, ok := v.(map[string]any)["hostPath"].(map[string]any); ok && paths[hp["path"].(string)] != "" {
			hp["path"] = paths[hp["path"].(string)]
		}
	}
	for _, c := range spec["containers"].([]any) {
		for _, m := range c.(map[string]any)["volumeMounts"].([]any) {
			if m := m.(map[string]any); roots[m["mountPath"].(string)] != "" {
				m["mountPath"] = roots[m["mountPath"].(string)]
			}
		}
	}
	spec["nodeName"] = k.node
	k.create(map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "ctr-enter-bench-ds", "namespace": "ctr-enter", "labels": map[string]any{"app.kubernetes.io/name": "ctr-enter"}},
		"spec":     spec})
	k.run("-n", "ctr-enter", "wait", "--for=condition=Ready", "--timeout=60s", "pod/ctr-enter-bench-ds")
	return true
}
