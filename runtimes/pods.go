package runtimes

import (
	"encoding/json"
	"strings"

	"github.com/containerd/typeurl/v2"
)

// Pod is the Kubernetes pod a container on a node belongs to, as the
// kubelet described it to CRI. Every container of a pod shares one Pod.
type Pod struct {
	Namespace, Name, UID string
	// SandboxID is the ID of the pod's sandbox (pause) container, which
	// holds the pod's network, IPC and UTS namespaces (and its PID
	// namespace when the pod shares one).
	SandboxID   string
	Labels      map[string]string
	Annotations map[string]string
	// Cgroup is the pod's cgroup (the kubelet's cgroup parent), in the
	// form the runtime's cgroup driver takes: /kubepods/burstable/podUID
	// or kubepods-burstable-podUID.slice.
	Cgroup string
	// QoS is the pod's QoS class, BestEffort, Burstable or Guaranteed, as
	// the kubelet's cgroup parent says ("" when it does not).
	QoS string
	// SharesPID: the pod's containers share one PID namespace, the
	// sandbox's (shareProcessNamespace).
	SharesPID bool
}

// PodRole is what a container is to its pod.
type PodRole struct {
	// Container is the container's name in the pod spec; "" for the
	// sandbox.
	Container string
	// Attempt counts restarts: the kubelet keeps the exited attempt
	// beside the one that replaced it.
	Attempt int
	Sandbox bool
}

// PodLabels are the labels that make a container of ctr-enter's (a
// sidecar, an ephemeral container) show as name, a container of pod p:
// the labels the kubelet gives its own containers. CRI ignores it all the
// same: it knows only the containers it created.
func PodLabels(p *Pod, name string) map[string]string {
	return map[string]string{labelPodNamespace: p.Namespace, labelPodName: p.Name, labelPodUID: p.UID, labelContainerName: name}
}

// String is NAMESPACE/POD.
func (p *Pod) String() string { return p.Namespace + "/" + p.Name }

// DefaultContainerAnnotation names the container that kubectl exec, logs
// and debug pick in a pod of several.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// The metadata that containerd's CRI plugin keeps with each container it
// creates, as containerd extensions (internal/cri/store/{container,sandbox}
// in containerd 1.6 to 2.x): the kubelet's config, as JSON.
const (
	criKindLabel         = "io.cri-containerd.kind"
	criContainerMetadata = "io.cri-containerd.container.metadata"
	criSandboxMetadata   = "io.cri-containerd.sandbox.metadata"
)

// The parts of CRI's metadata ctr-enter reads; json ignores the rest.
type criMetadata struct {
	Metadata struct {
		SandboxID string
		Config    struct {
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
				UID       string `json:"uid"`
				Attempt   int    `json:"attempt"`
			} `json:"metadata"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
			Linux       struct {
				CgroupParent    string `json:"cgroup_parent"`
				SecurityContext struct {
					NamespaceOptions struct {
						// POD 0 (also when absent, for CRI as for
						// this decoding), CONTAINER 1, NODE 2.
						PID int `json:"pid"`
					} `json:"namespace_options"`
				} `json:"security_context"`
			} `json:"linux"`
		}
	}
}

// criInfo reads what CRI says of a container: its pod (sandboxes) or its
// place in a pod (app containers). ok is false for a container that CRI
// did not create, or whose metadata ctr-enter cannot read.
func criInfo(labels map[string]string, exts map[string]typeurl.Any) (md criMetadata, sandbox, ok bool) {
	key := criContainerMetadata
	switch labels[criKindLabel] {
	case "sandbox":
		key, sandbox = criSandboxMetadata, true
	case "container":
	default:
		return md, false, false
	}
	ext := exts[key]
	if ext == nil || json.Unmarshal(ext.GetValue(), &md) != nil {
		return md, false, false
	}
	return md, sandbox, true
}

// podOf is the Pod a sandbox's metadata describes.
func podOf(id string, md *criMetadata) *Pod {
	cfg := &md.Metadata.Config
	return &Pod{
		Namespace: cfg.Metadata.Namespace, Name: cfg.Metadata.Name, UID: cfg.Metadata.UID,
		SandboxID: id, Labels: cfg.Labels, Annotations: cfg.Annotations,
		Cgroup: cfg.Linux.CgroupParent, QoS: qosOf(cfg.Linux.CgroupParent),
		SharesPID: cfg.Linux.SecurityContext.NamespaceOptions.PID == 0,
	}
}

// qosOf is the QoS class the kubelet put a pod in, as its cgroup parent
// says: kubepods/besteffort/pod..., kubepods/burstable/pod..., or
// kubepods/pod... for Guaranteed (cgroupfs; the systemd driver's slices
// name them alike: kubepods-besteffort-pod....slice).
func qosOf(cgroupParent string) string {
	p := strings.ToLower(cgroupParent)
	switch {
	case !strings.Contains(p, "kubepods"):
		return ""
	case strings.Contains(p, "besteffort"):
		return "BestEffort"
	case strings.Contains(p, "burstable"):
		return "Burstable"
	}
	return "Guaranteed"
}

// withPods gives the containers of one containerd namespace their pod,
// names and state. CRI's containers (md): NAMESPACE/POD/CONTAINER for app
// containers (POD/CONTAINER too), NAMESPACE/POD for sandboxes; attempts of
// one pod container all get its names, and resolve picks among them.
// Containers that only carry a pod's labels (ctr-enter's sidecars on a
// pod, which CRI does not know) join the pod of that UID.
func withPods(md map[*Container]*criMetadata, labelled []*Container) {
	bySandbox, byUID := map[string]*Pod{}, map[string]*Pod{}
	for c, m := range md {
		if c.PodRole.Sandbox {
			p := podOf(c.ID, m)
			bySandbox[c.ID], byUID[p.UID] = p, p
			c.Pod, c.Name = p, p.String()
		}
	}
	for c, m := range md {
		if c.PodRole.Sandbox {
			continue
		}
		c.PodRole.Container, c.PodRole.Attempt = m.Metadata.Config.Metadata.Name, m.Metadata.Config.Metadata.Attempt
		c.Pod = bySandbox[m.Metadata.SandboxID]
		if c.Pod == nil {
			// Its sandbox is gone (removed behind the kubelet's
			// back): the pod as the container's own labels name it.
			c.Pod = labelledPod(c)
		}
		if c.Status == "created" {
			// CRI deletes the task of a container that exited, and
			// the kubelet starts what it creates at once: a CRI
			// container without a task has run.
			c.Status = "exited"
		}
		podNames(c)
	}
	for _, c := range labelled {
		if c.Pod = byUID[c.Labels[labelPodUID]]; c.Pod == nil {
			c.Pod = labelledPod(c)
		}
		c.PodRole.Container = c.Labels[labelContainerName]
		podNames(c)
	}
}

func labelledPod(c *Container) *Pod {
	return &Pod{Namespace: c.Labels[labelPodNamespace], Name: c.Labels[labelPodName], UID: c.Labels[labelPodUID]}
}

// podNames names a pod's container as kubectl users think of it.
func podNames(c *Container) {
	if c.PodRole.Container == "" {
		return
	}
	c.Name = c.Pod.String() + "/" + c.PodRole.Container
	c.Names = append(c.Names, c.Pod.Name+"/"+c.PodRole.Container, c.Name)
}
