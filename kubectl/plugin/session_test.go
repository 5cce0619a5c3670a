package plugin

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestDebuggerLifecycle makes a debugger pod through a fake API server,
// sees waitRunning report the kubelet's ErrImageNeverPull as the image's
// absence, and deleteDebugger remove the pod.
func TestDebuggerLifecycle(t *testing.T) {
	cs := fake.NewClientset()
	// The fake does not generate names, as the API server does.
	cs.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		p := action.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if p.Name == "" {
			p.Name = p.GenerateName + "test"
		}
		return false, nil, nil
	})
	var warned []string
	s := &Session{API: fakeAPI{cs}, Namespace: "shop", Owner: Owner{Host: "me", PID: 1}, Warn: func(m string) { warned = append(warned, m) }}
	a := &Args{Flags: DefaultFlags()}
	a.Flags.DebuggerNamespace = "dbg"
	ctx := context.Background()
	pod, err := s.createDebugger(ctx, a, Target{Node: "n1", Ref: "containerd://k8s.io/x", Desc: "pod shop/web"})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Namespace != "dbg" || pod.Name != "ctr-enter-test" || pod.Spec.NodeName != "n1" {
		t.Fatalf("debugger pod %s/%s on %q", pod.Namespace, pod.Name, pod.Spec.NodeName)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		p := pod.DeepCopy()
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: DebuggerContainer,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull"}}}}
		cs.CoreV1().Pods("dbg").UpdateStatus(ctx, p, metav1.UpdateOptions{})
	}()
	err = s.waitRunning(ctx, pod, "ctr-enter:dev", 10*time.Second)
	if err == nil || !strings.HasPrefix(err.Error(), "image ctr-enter:dev is missing on node n1") {
		t.Errorf("waitRunning: %v", err)
	}
	s.deleteDebugger("dbg", pod.Name)
	if list, _ := cs.CoreV1().Pods("dbg").List(ctx, metav1.ListOptions{}); len(list.Items) != 0 || len(warned) != 0 {
		t.Errorf("left %d pods, warned %v", len(list.Items), warned)
	}

	// A timeout names what the pod waits for.
	if _, err := cs.CoreV1().Pods("dbg").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = s.waitRunning(ctx, pod, "ctr-enter:dev", 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not start on node n1 within 200ms (--pod-running-timeout)") {
		t.Errorf("timeout: %v", err)
	}
}

// fakeAPI is client-go's fake clientset as the plugin's API.
type fakeAPI struct{ cs *fake.Clientset }

func (f fakeAPI) Pods(ns string) Pods { return f.cs.CoreV1().Pods(ns) }
func (f fakeAPI) Nodes() Nodes        { return f.cs.CoreV1().Nodes() }

func (f fakeAPI) ExecURL(ns, pod string, o *corev1.PodExecOptions) *url.URL {
	return &url.URL{Path: "/api/v1/namespaces/" + ns + "/pods/" + pod + "/exec"}
}

// TestNotReadyOr: a failed exec into the DaemonSet's pod is told as its
// node's state when that is not Ready, and as itself otherwise.
func TestNotReadyOr(t *testing.T) {
	node := func(name string, ready corev1.ConditionStatus) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, Reason: "KubeletNotReady"}}}}
	}
	s := &Session{API: fakeAPI{fake.NewClientset(node("up", corev1.ConditionTrue), node("down", corev1.ConditionUnknown))}}
	execErr := errors.New("error dialing backend")
	for name, want := range map[string]string{
		"up":     "error dialing backend",
		"down":   "node down is not Ready (Unknown: KubeletNotReady)",
		"absent": "error dialing backend", // the node cannot be read: the exec's own error
	} {
		if got := s.notReadyOr(context.Background(), name, execErr); got.Error() != want {
			t.Errorf("notReadyOr(%s) = %q, want %q", name, got, want)
		}
	}
}
