package inspect

import (
	"maps"
	"slices"
	"strings"

	"github.com/ctr-enter/ctr-enter/runtimes"
)

// Pod is the Kubernetes pod a container belongs to, and its place there.
type Pod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	// Container is the container's name in the pod; "" for the sandbox.
	Container string `json:"container"`
	// Attempt counts the container's restarts; the kubelet keeps an
	// exited attempt beside its replacement.
	Attempt     int               `json:"attempt"`
	Sandbox     bool              `json:"sandbox"`
	QoSClass    string            `json:"qos_class"`
	Cgroup      string            `json:"cgroup"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// podOf is c's pod, nil for a container of none.
func podOf(c *runtimes.Container) *Pod {
	if c.Pod == nil {
		return nil
	}
	p := &Pod{
		Namespace: c.Pod.Namespace, Name: c.Pod.Name, UID: c.Pod.UID,
		Container: c.PodRole.Container, Attempt: c.PodRole.Attempt, Sandbox: c.PodRole.Sandbox,
		QoSClass: c.Pod.QoS, Cgroup: c.Pod.Cgroup,
		Labels: maps.Clone(c.Pod.Labels), Annotations: maps.Clone(c.Pod.Annotations),
	}
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	return p
}

// PodRow is one pod in `ctr-enter ls --pods`.
type PodRow struct {
	Namespace  string         `json:"namespace"`
	Name       string         `json:"name"`
	UID        string         `json:"uid"`
	QoSClass   string         `json:"qos_class"`
	Status     string         `json:"status"` // its sandbox's
	Containers []PodContainer `json:"containers"`
}

// PodContainer is a pod's container in a PodRow: its current attempt.
type PodContainer struct {
	Name     string `json:"name"`
	Status   string `json:"status"`
	Restarts int    `json:"restarts"`
	Ref      string `json:"ref"`
}

// Pods groups the rows of pod containers by pod (by UID: a pod deleted and
// made again is two pods), a row a pod, each container once with its
// current attempt: running, else the latest.
func Pods(rows []Row) []PodRow {
	var out []*PodRow
	byUID := map[string]*PodRow{}
	for _, r := range rows {
		if r.Pod == nil {
			continue
		}
		p := byUID[r.Pod.UID]
		if p == nil {
			p = &PodRow{Namespace: r.Pod.Namespace, Name: r.Pod.Name, UID: r.Pod.UID, QoSClass: r.Pod.QoSClass, Status: "unknown", Containers: []PodContainer{}}
			byUID[r.Pod.UID] = p
			out = append(out, p)
		}
		if r.Pod.Sandbox {
			p.Status = r.Status
			continue
		}
		c := PodContainer{Name: r.Pod.Container, Status: r.Status, Restarts: r.Pod.Attempt, Ref: r.Ref}
		i := slices.IndexFunc(p.Containers, func(o PodContainer) bool { return o.Name == c.Name })
		if i < 0 {
			p.Containers = append(p.Containers, c)
		} else if later(c, p.Containers[i]) {
			p.Containers[i] = c
		}
	}
	res := make([]PodRow, len(out))
	for i, p := range out {
		slices.SortFunc(p.Containers, func(a, b PodContainer) int { return strings.Compare(a.Name, b.Name) })
		res[i] = *p
	}
	slices.SortFunc(res, func(a, b PodRow) int {
		return strings.Compare(a.Namespace+"/"+a.Name+"/"+a.UID, b.Namespace+"/"+b.Name+"/"+b.UID)
	})
	return res
}

// later says whether a is the attempt to show rather than b: the running
// one, else the latest.
func later(a, b PodContainer) bool {
	if ar, br := a.Status == "running", b.Status == "running"; ar != br {
		return ar
	}
	return a.Restarts > b.Restarts
}
