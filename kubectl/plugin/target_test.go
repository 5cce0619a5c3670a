package plugin

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pod(containers ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: corev1.PodSpec{NodeName: "n1"}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
	}
	return p
}

func TestChooseContainer(t *testing.T) {
	two := pod("redis", "sleeper")
	annotated := pod("redis", "sleeper")
	annotated.Annotations = map[string]string{DefaultContainerAnnotation: "sleeper"}
	stale := pod("redis", "sleeper")
	stale.Annotations = map[string]string{DefaultContainerAnnotation: "gone"}
	withInit := pod("redis")
	withInit.Spec.InitContainers = []corev1.Container{{Name: "setup"}}
	for _, tc := range []struct {
		pod        *corev1.Pod
		name, want string
		err        string
	}{
		{pod: pod("redis"), want: "redis"},
		{pod: two, name: "sleeper", want: "sleeper"},
		{pod: annotated, want: "sleeper"},
		{pod: annotated, name: "redis", want: "redis"},
		{pod: withInit, name: "setup", want: "setup"},
		{pod: two, err: "pod shop/web has 2 containers: choose one with -c: redis, sleeper"},
		{pod: stale, err: "pod shop/web has 2 containers: choose one with -c: redis, sleeper"},
		{pod: withInit, name: "nope", err: "container nope is not in pod shop/web: choose one of redis, setup (init)"},
	} {
		got, err := ChooseContainer(tc.pod, tc.name)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%v -c %q: error %v, want %q", tc.pod.Annotations, tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v -c %q: %q, %v; want %q", tc.pod.Annotations, tc.name, got, err, tc.want)
		}
	}
}

func TestPodTarget(t *testing.T) {
	running := pod("redis")
	running.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "redis", ContainerID: "containerd://abc",
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	crashing := pod("redis")
	crashing.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "redis",
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: "containerd://old", ExitCode: 1}}}}
	done := pod("job")
	done.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "job", ContainerID: "docker://d0",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: "docker://d0"}}}}
	for p, want := range map[*corev1.Pod]Target{
		running:  {Node: "n1", Ref: "containerd://k8s.io/abc", Desc: "pod shop/web, container redis"},
		crashing: {Node: "n1", Ref: "containerd://k8s.io/old", Desc: "pod shop/web, container redis"},
		done:     {Node: "n1", Ref: "docker://d0", Desc: "pod shop/web, container job"},
	} {
		got, err := PodTarget(p, "")
		if err != nil || got != want {
			t.Errorf("%+v: %+v, %v; want %+v", p.Status.ContainerStatuses, got, err, want)
		}
	}

	pending := pod("redis")
	pending.Spec.NodeName = ""
	pending.Status.Phase = corev1.PodPending
	creating := pod("redis")
	creating.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "redis",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}
	crio := pod("redis")
	crio.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "redis", ContainerID: "cri-o://abc",
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	for p, want := range map[*corev1.Pod]string{
		pending:      "pod shop/web is not scheduled yet: it has no node (phase Pending)",
		creating:     "pod shop/web, container redis has not been created yet: ContainerCreating",
		pod("redis"): "pod shop/web, container redis has no status yet: not created on node n1",
		crio:         `pod shop/web, container redis: its runtime "cri-o" is not one ctr-enter enters (containerd, docker)`,
	} {
		if _, err := PodTarget(p, ""); err == nil || err.Error() != want {
			t.Errorf("error %v, want %q", err, want)
		}
	}
}

func TestNodeNotReady(t *testing.T) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	if got := NodeNotReady(n); !strings.Contains(got, "no Ready condition") {
		t.Errorf("no conditions: %q", got)
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status."}}
	if got, want := NodeNotReady(n), "node n1 is not Ready (Unknown: NodeStatusUnknown: Kubelet stopped posting node status.)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	n.Status.Conditions[0].Status = corev1.ConditionTrue
	if got := NodeNotReady(n); got != "" {
		t.Errorf("ready: %q", got)
	}
}
