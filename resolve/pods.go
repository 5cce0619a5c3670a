package resolve

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// ErrNotInPod is --sandbox for a target that belongs to no pod.
var ErrNotInPod = fmt.Errorf("not in a Kubernetes pod")

// podNames gives Kubernetes names their meaning, as kubectl users expect,
// before names are matched:
//
//   - a pod container's name (NAMESPACE/POD/CONTAINER, POD/CONTAINER)
//     means its current attempt: the running one, else the latest. The
//     kubelet keeps the exited attempt of a restarted container beside
//     its replacement, and a deleted pod's containers may outlive it
//     beside a new pod of the same name; the others keep their IDs.
//   - NAMESPACE/POD and POD mean the pod's default container: the one its
//     kubectl.kubernetes.io/default-container annotation names, else its
//     only app container; otherwise every app container, so that the word
//     is ambiguous and the error lists them.
//
// ts is changed in place (the names of superseded attempts go).
func podNames(ts []*Target) {
	current := map[string]*Target{} // NAMESPACE/POD/CONTAINER -> current attempt
	for _, t := range ts {
		if t.Pod == nil || t.PodRole.Container == "" {
			continue
		}
		if c := current[t.Name]; c == nil || newerAttempt(t, c) {
			current[t.Name] = t
		}
	}
	pods := map[string][]*Target{} // NAMESPACE/POD -> its current app containers
	for _, t := range ts {
		if t.Pod == nil || t.PodRole.Container == "" {
			continue
		}
		if current[t.Name] != t {
			t.Names = nil
			continue
		}
		pods[t.Pod.String()] = append(pods[t.Pod.String()], t)
	}
	for _, cs := range pods {
		for _, t := range defaultContainers(cs) {
			t.Names = append(t.Names, t.Pod.Name, t.Pod.String())
		}
	}
}

// newerAttempt says whether a is a later choice than b for one pod
// container's name: running first, then the later attempt of the newer
// pod.
func newerAttempt(a, b *Target) bool {
	if a.Running != b.Running {
		return a.Running
	}
	if a.Pod.UID == b.Pod.UID {
		return a.PodRole.Attempt > b.PodRole.Attempt
	}
	// Two pods of one name: the running pod's, or (neither running) the
	// one with an attempt after the other's. Rarely both exited and
	// equal: then the ID decides, so that the answer does not depend on
	// the order of the listing.
	return cmp.Or(cmp.Compare(a.PodRole.Attempt, b.PodRole.Attempt), strings.Compare(a.ID, b.ID)) > 0
}

// defaultContainers are the containers a pod's name means (see podNames):
// one, or all of them when none is the default. cs are the pod's current
// app containers; ctr-enter's own sidecars are never the default.
func defaultContainers(cs []*Target) []*Target {
	var app []*Target
	for _, t := range cs {
		if t.Labels[runtimes.LabelCreatedBy] == "" {
			app = append(app, t)
		}
	}
	if len(app) == 0 {
		return nil
	}
	if name := app[0].Pod.Annotations[runtimes.DefaultContainerAnnotation]; name != "" {
		for _, t := range app {
			if t.PodRole.Container == name {
				return []*Target{t}
			}
		}
	}
	return app
}

// sandboxOf is the sandbox of t's pod, for --sandbox: the pod's own
// namespaces, which its containers join.
func sandboxOf(all []*Target, t *Target) (*Target, error) {
	if t.Pod == nil {
		return nil, fmt.Errorf("--sandbox: %s is %w", t, ErrNotInPod)
	}
	if t.PodRole.Sandbox {
		return t, nil
	}
	i := slices.IndexFunc(all, func(s *Target) bool {
		return s.PodRole.Sandbox && s.Runtime == t.Runtime && s.Namespace == t.Namespace && s.ID == t.Pod.SandboxID
	})
	if i < 0 {
		return nil, fmt.Errorf("--sandbox: %w: the sandbox of pod %s (%s)", ErrNotFound, text.Clean(t.Pod.String()), text.Clean(t.Pod.SandboxID))
	}
	return all[i], nil
}
