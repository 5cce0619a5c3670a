package plugin

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestDebuggerPod(t *testing.T) {
	exp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := DebuggerPod(DebuggerOptions{
		Namespace: "shop", Node: "n1", Image: "ctr-enter:dev", PullPolicy: corev1.PullNever,
		CRISocket: "/run/k/containerd.sock", ContainerdRoot: "/var/lib/k", KubeletRoot: "/var/lib/kl",
		Owner:   Owner{User: "ann", Host: "laptop.example", PID: 42, Start: "777", Boot: "b-1"},
		Expires: exp, Target: "pod shop/web, container redis",
	})
	s := p.Spec
	if p.Namespace != "shop" || s.NodeName != "n1" || !s.HostPID || !s.HostNetwork || s.RestartPolicy != corev1.RestartPolicyNever ||
		*s.TerminationGracePeriodSeconds != 0 || *s.AutomountServiceAccountToken {
		t.Errorf("spec: %+v", s)
	}
	if len(s.Tolerations) != 1 || s.Tolerations[0].Operator != corev1.TolerationOpExists || s.Tolerations[0].Key != "" || s.Tolerations[0].Effect != "" {
		t.Errorf("tolerations %+v: want one that tolerates every taint", s.Tolerations)
	}
	c := s.Containers[0]
	if c.Name != DebuggerContainer || c.Image != "ctr-enter:dev" || c.ImagePullPolicy != corev1.PullNever || !*c.SecurityContext.Privileged {
		t.Errorf("container %+v", c)
	}
	// No volume (their wait slows the pod's start): the node's paths are
	// for ctr-enter's constructor to mount, node=pod.
	if len(s.Volumes) != 0 || len(c.VolumeMounts) != 0 {
		t.Errorf("volumes %v, mounts %v: want none", s.Volumes, c.VolumeMounts)
	}
	want := "/run/k/containerd.sock=/run/containerd/containerd.sock,/run/ctr-enter,/var/lib/ctr-enter/images,/sys/fs/cgroup=/sys/fs/cgroup,/var/lib/k?,/var/lib/kl?"
	if len(c.Env) != 1 || c.Env[0].Name != NodeMountsEnv || c.Env[0].Value != want {
		t.Errorf("env %v, want %s=%s", c.Env, NodeMountsEnv, want)
	}
	if p.Labels[ManagedByLabel] != "kubectl-ctr-enter" || p.Labels[OwnerLabel] != "ann-laptop.example" {
		t.Errorf("labels %v", p.Labels)
	}
	a := p.Annotations
	if a[OwnerHostAnnotation] != "laptop.example" || a[OwnerPIDAnnotation] != "42" || a[OwnerStartAnnotation] != "777" ||
		a[OwnerBootAnnotation] != "b-1" || a[ExpiresAnnotation] != "2026-01-02T03:04:05Z" {
		t.Errorf("annotations %v", a)
	}
}

func TestLabelValue(t *testing.T) {
	for in, want := range map[string]string{
		"ann-laptop":            "ann-laptop",
		`DOMAIN\ann-host`:       "DOMAIN_ann-host",
		"-x-":                   "x",
		strings.Repeat("a", 70): strings.Repeat("a", 63),
		"ann@host.example.com.": "ann_host.example.com",
	} {
		if got := labelValue(in); got != want {
			t.Errorf("labelValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOwnerIsThisProcess(t *testing.T) {
	o := CurrentOwner()
	if o.Start == "" || o.Boot == "" {
		t.Skip("no /proc here")
	}
	if !ProcessAlive(o.PID, o.Start) {
		t.Errorf("this process is not alive by its own owner record %+v", o)
	}
	if ProcessAlive(o.PID, o.Start+"0") {
		t.Errorf("a PID with another start time is taken for this process")
	}
}

func status(reason, msg string) *corev1.Pod {
	p := pod(DebuggerContainer)
	p.Name = "ctr-enter-x1"
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: DebuggerContainer,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}
	return p
}

func TestDebuggerReady(t *testing.T) {
	running := pod(DebuggerContainer)
	running.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: DebuggerContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	if done, err := DebuggerReady(running, "img"); !done || err != nil {
		t.Errorf("running: %v, %v", done, err)
	}
	for _, p := range []*corev1.Pod{pod(DebuggerContainer), status("ContainerCreating", "")} {
		if done, err := DebuggerReady(p, "img"); done || err != nil {
			t.Errorf("on its way: %v, %v", done, err)
		}
	}
	for p, want := range map[*corev1.Pod]string{
		status("ErrImageNeverPull", `Container image "ctr-enter:dev" is not present with pull policy of Never`): "image ctr-enter:dev is missing on node n1 (pull policy Never): import it",
		status("ImagePullBackOff", "Back-off pulling image"):                                                    "image ctr-enter:dev is missing on node n1 and could not be pulled (ImagePullBackOff): Back-off pulling image",
		status("CreateContainerError", "no such device"):                                                        "debugger pod shop/ctr-enter-x1 on node n1 cannot start (CreateContainerError): no such device",
	} {
		if _, err := DebuggerReady(p, "ctr-enter:dev"); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %v, want %q...", err, want)
		}
	}
	if got := Waiting(status("ContainerCreating", "")); got != "ContainerCreating" {
		t.Errorf("Waiting: %q", got)
	}
}

func TestAPIError(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New(`User "ann" cannot create resource "pods" in API group "" in the namespace "shop"`))
	err := apiError("create", "pods", "shop", "", forbidden)
	if !errors.Is(err, ErrForbidden) || !strings.HasPrefix(err.Error(), `forbidden: cannot create pods in namespace shop: pods is forbidden: User "ann" cannot create resource "pods"`) {
		t.Errorf("forbidden: %v", err)
	}
	notFound := apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "web")
	if err := apiError("get", "pods", "shop", "web", notFound); err.Error() != `pods "web" not found in namespace shop` {
		t.Errorf("not found: %v", err)
	}
	exec := apierrors.NewForbidden(schema.GroupResource{Resource: "pods", Group: ""}, "web", errors.New(`User "ann" cannot create resource "pods/exec"`))
	if err := apiError("create", "pods/exec", "shop", "web", exec); !strings.HasPrefix(err.Error(), "forbidden: cannot create pods/exec in namespace shop:") {
		t.Errorf("exec: %v", err)
	}
	if err := apiError("get", "nodes", "", "n1", errors.New("dial tcp: refused")); err.Error() != `get nodes "n1": dial tcp: refused` {
		t.Errorf("other: %v", err)
	}
}
