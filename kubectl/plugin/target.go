package plugin

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// DefaultContainerAnnotation names a pod's default container, as kubectl
// reads it.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// Target is what ctr-enter is run against, and where.
type Target struct {
	Node string
	// Ref is ctr-enter's reference: containerd://k8s.io/ID for a pod's
	// container, pid:1 for the node itself.
	Ref string
	// Desc names it in messages: pod shop/web, container redis.
	Desc string
}

// NodeTarget is the node itself: its init process, which the debugger
// sees in the host's PID namespace.
func NodeTarget(node string) Target {
	return Target{Node: node, Ref: "pid:1", Desc: "node " + node}
}

// PodTarget resolves a pod's container (name, or the default one) to its
// node and the runtime's ID of its current attempt, or of its last one
// when it is not running: ctr-enter enters a stopped container's files.
func PodTarget(pod *corev1.Pod, name string) (Target, error) {
	desc := "pod " + pod.Namespace + "/" + pod.Name
	if pod.Spec.NodeName == "" {
		return Target{}, fmt.Errorf("%s is not scheduled yet: it has no node (phase %s)", desc, pod.Status.Phase)
	}
	name, err := ChooseContainer(pod, name)
	if err != nil {
		return Target{}, err
	}
	desc += ", container " + name
	st, ok := containerStatus(pod, name)
	if !ok {
		return Target{}, fmt.Errorf("%s has no status yet: not created on node %s", desc, pod.Spec.NodeName)
	}
	id := ""
	switch {
	case st.State.Running != nil:
		id = st.ContainerID
	case st.State.Terminated != nil:
		id = st.State.Terminated.ContainerID
	case st.LastTerminationState.Terminated != nil:
		// Waiting to restart (CrashLoopBackOff): its last attempt's files.
		id = st.LastTerminationState.Terminated.ContainerID
	}
	if id == "" {
		id = st.ContainerID
	}
	if id == "" {
		why := ""
		if w := st.State.Waiting; w != nil {
			why = ": " + w.Reason
			if w.Message != "" {
				why += ": " + w.Message
			}
		}
		return Target{}, fmt.Errorf("%s has not been created yet%s", desc, why)
	}
	ref, err := runtimeRef(id)
	if err != nil {
		return Target{}, fmt.Errorf("%s: %w", desc, err)
	}
	return Target{Node: pod.Spec.NodeName, Ref: ref, Desc: desc}, nil
}

// runtimeRef turns a CRI container ID (runtime://ID) into ctr-enter's
// reference, pinned to the runtime: the kubelet's containerd keeps its
// containers in the k8s.io namespace.
func runtimeRef(id string) (string, error) {
	scheme, bare, ok := strings.Cut(id, "://")
	if !ok || bare == "" {
		return "", fmt.Errorf("container ID %q is not RUNTIME://ID", id)
	}
	switch scheme {
	case "containerd":
		return "containerd://k8s.io/" + bare, nil
	case "docker": // cri-dockerd
		return "docker://" + bare, nil
	}
	return "", fmt.Errorf("its runtime %q is not one ctr-enter enters (containerd, docker)", scheme)
}

// ChooseContainer is kubectl's choice of a container: the one named, else
// the pod's default-container annotation, else its only container.
func ChooseContainer(pod *corev1.Pod, name string) (string, error) {
	names := containerNames(pod)
	if name != "" {
		if hasContainer(pod, name) {
			return name, nil
		}
		return "", fmt.Errorf("container %s is not in pod %s/%s: choose one of %s", name, pod.Namespace, pod.Name, strings.Join(names, ", "))
	}
	if d := pod.Annotations[DefaultContainerAnnotation]; d != "" {
		if hasContainer(pod, d) {
			return d, nil
		}
	}
	if len(pod.Spec.Containers) == 1 {
		return pod.Spec.Containers[0].Name, nil
	}
	return "", fmt.Errorf("pod %s/%s has %d containers: choose one with -c: %s", pod.Namespace, pod.Name, len(pod.Spec.Containers), strings.Join(names, ", "))
}

func containerNames(pod *corev1.Pod) []string {
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name+" (init)")
	}
	for _, c := range pod.Spec.EphemeralContainers {
		names = append(names, c.Name+" (ephemeral)")
	}
	return names
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

func containerStatus(pod *corev1.Pod, name string) (corev1.ContainerStatus, bool) {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for _, st := range list {
			if st.Name == name {
				return st, true
			}
		}
	}
	return corev1.ContainerStatus{}, false
}

// NodeNotReady says why node is not Ready, or "" when it is.
func NodeNotReady(node *corev1.Node) string {
	for _, c := range node.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			return ""
		}
		why := fmt.Sprintf("node %s is not Ready (%s", node.Name, c.Status)
		if c.Reason != "" {
			why += ": " + c.Reason
		}
		if c.Message != "" {
			why += ": " + c.Message
		}
		return why + ")"
	}
	return fmt.Sprintf("node %s is not Ready (no Ready condition: its kubelet has not reported)", node.Name)
}
