//go:build e2e

package e2e

// The Kubernetes node e2e/env.sh brings up (its K8S section): etcd,
// kube-apiserver and a kubelet on a CRI containerd of its own, with the pods
// of e2e/testdata/k8s made by kubectl. What tests of it share: where its
// kubeconfigs, kubectl and sockets are, and kubectl itself.

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const (
	// k8sNode is the node's name (127.0.0.1 in /etc/hosts while it is up).
	k8sNode = "ctr-enter-e2e-node"
	// k8sSock is the node's CRI containerd (the kubelet's
	// containerRuntimeEndpoint; also the node's annotation
	// kubeadm.alpha.kubernetes.io/cri-socket). A pod on the node reaches it
	// through this path (the debugger pods: node mounts; the DaemonSet: a hostPath volume).
	k8sSock = "/run/ctr-enter-e2e/k8s/containerd.sock"
	// k8sImage is ctr-enter's own image (the Dockerfile's, with the binary
	// that `e2e/env.sh k8s-image BINARY` or `up` last imported) in the node's
	// containerd, namespace k8s.io: pods use it with imagePullPolicy Never.
	k8sImage = "ctr-enter:dev"
	// k8sCgroupRoot is the kubelet's cgroupRoot: its pods are under
	// /k8s-e2e/kubepods, never under /kubepods (the crictl pods').
	k8sCgroupRoot = "/k8s-e2e"
)

// k8sDir is the node's state dir: kubeconfig (user e2e-admin, group
// system:masters), kubeconfig-restricted (user e2e-restricted: get, list,
// watch pods in namespace shop, nothing else), bin/kubectl.
func k8sDir() string { return e2eState() + "/k8s" }

func k8sKubeconfig() string           { return k8sDir() + "/kubeconfig" }
func k8sKubeconfigRestricted() string { return k8sDir() + "/kubeconfig-restricted" }
func kubectlBin() string              { return k8sDir() + "/bin/kubectl" }

// kubectlAs runs kubectl with kubeconfig and waits, bounded.
func kubectlAs(t *testing.T, kubeconfig string, args ...string) result {
	t.Helper()
	// Its caches in the state dir (removed by down), not in ~/.kube/cache.
	cmd := exec.Command(kubectlBin(), append([]string{"--kubeconfig", kubeconfig, "--cache-dir", k8sDir() + "/kubectl-cache"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v: still running after 60s\nstdout:\n%s\nstderr:\n%s", cmd.Args, stdout.String(), stderr.String())
	}
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return r
}

// kubectl runs kubectl as the cluster's admin and returns its trimmed
// output, failing the test unless it exits 0.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	r := kubectlAs(t, k8sKubeconfig(), args...)
	if r.code != 0 {
		t.Fatalf("kubectl %v: %v", args, r)
	}
	return strings.TrimSpace(r.stdout)
}

// crictlK8s runs crictl against the node's CRI containerd.
func crictlK8s(t *testing.T, args ...string) string {
	t.Helper()
	dir := k8sDir() + "/cri"
	return sh(t, dir+"/bin/crictl", append([]string{"--config", dir + "/crictl.yaml"}, args...)...)
}
