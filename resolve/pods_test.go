package resolve

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctr-enter/ctr-enter/runtimes"
)

// pod makes the containers of a pod as the containerd backend lists
// them: the sandbox first, then each app container "NAME" or "NAME@N"
// (attempt N), running unless it ends in "!".
func pod(ns, name, uid string, annotations map[string]string, sandboxID string, ctrs ...string) []*runtimes.Container {
	p := &runtimes.Pod{Namespace: ns, Name: name, UID: uid, SandboxID: hexID(sandboxID), Annotations: annotations}
	out := []*runtimes.Container{{Runtime: runtimes.Containerd, Namespace: "k8s.io", ID: hexID(sandboxID), Name: p.String(),
		Running: true, Status: "running", Pod: p, PodRole: runtimes.PodRole{Sandbox: true}}}
	for i, c := range ctrs {
		c, dead := strings.CutSuffix(c, "!")
		c, attempt, _ := strings.Cut(c, "@")
		n := 0
		if attempt != "" {
			n = int(attempt[0] - '0')
		}
		status := "running"
		if dead {
			status = "exited"
		}
		full := p.String() + "/" + c
		out = append(out, &runtimes.Container{Runtime: runtimes.Containerd, Namespace: "k8s.io", ID: hexID(sandboxID + string(rune('a'+i))),
			Name: full, Names: []string{name + "/" + c, full}, Running: !dead, Status: status, Pod: p, PodRole: runtimes.PodRole{Container: c, Attempt: n}})
	}
	return out
}

func podTargets() []*Target {
	var cs []*runtimes.Container
	cs = append(cs, pod("shop", "web", "u1", map[string]string{runtimes.DefaultContainerAnnotation: "redis"}, "1", "redis", "sleeper")...)
	cs = append(cs, pod("default", "web", "u2", nil, "2", "redis")...)
	cs = append(cs, pod("shop", "cache", "u3", nil, "3", "redis@0!", "redis@1", "redis@2!")...)
	cs = append(cs, pod("shop", "multi", "u4", nil, "4", "a", "b")...)
	// A pod deleted and made again: the old one's exited container, and
	// the new one's running one, under one name.
	cs = append(cs, pod("shop", "again", "u5", nil, "5", "app@3!")...)
	cs = append(cs, pod("shop", "again", "u6", nil, "6", "app@0")...)
	cs = append(cs, &runtimes.Container{Runtime: runtimes.Docker, Namespace: "moby", ID: hexID("d0c"), Name: "cache", Names: []string{"cache"}, Running: true})
	ts := targetsOf(cs)
	podNames(ts)
	return ts
}

// TestPodNames pins issue 14's names: NAMESPACE/POD/CONTAINER and
// POD/CONTAINER mean the current attempt; NAMESPACE/POD and POD the
// default container, else the only one; ambiguity is listed by pod names.
func TestPodNames(t *testing.T) {
	ts := podTargets()
	byID := func(p string) string { return "containerd://k8s.io/" + hexID(p) }
	for _, tc := range []struct{ word, want string }{
		{"shop/web/redis", byID("1a")},
		{"web/redis", byID("1a") + " " + byID("2a")},
		{"default/web/redis", byID("2a")},
		{"shop/cache/redis", byID("3b")}, // the running attempt, not the later exited one
		{"cache/redis", byID("3b")},
		{"shop/web", byID("1a")},    // the annotation's
		{"default/web", byID("2a")}, // the only one
		{"web", byID("1a") + " " + byID("2a")},
		{"shop/multi", byID("4a") + " " + byID("4b")}, // no default: all, so ambiguous
		{"shop/again/app", byID("6a")},                // the running pod's
		{"cache", byID("3b") + " docker://cache"},
		{"shop/nothing", ""},
	} {
		got := match(ts, tc.word)
		var ids []string
		for _, g := range got {
			ids = append(ids, g.String())
		}
		if strings.Join(ids, " ") != tc.want {
			t.Errorf("match(%q) = %q, want %q", tc.word, strings.Join(ids, " "), tc.want)
		}
	}
	// Superseded attempts keep their IDs.
	if got := match(ts, hexID("3a")); len(got) != 1 || got[0].PodRole.Attempt != 0 {
		t.Errorf("attempt 0 by ID: %v", got)
	}
}

func TestPodAmbiguityNamesPods(t *testing.T) {
	ts := podTargets()
	err := &AmbiguousError{Ref: Ref{Name: "shop/multi"}, Candidates: match(ts, "shop/multi")}
	if want := "ambiguous target: shop/multi matches 2 targets: shop/multi/a, shop/multi/b"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestNewestAttemptWhenNoneRuns(t *testing.T) {
	ts := targetsOf(pod("shop", "crash", "u7", nil, "7", "app@0!", "app@2!", "app@1!"))
	podNames(ts)
	if got := match(ts, "shop/crash/app"); len(got) != 1 || got[0].PodRole.Attempt != 2 {
		t.Errorf("shop/crash/app: %v", got)
	}
}

func TestSandboxOf(t *testing.T) {
	ts := podTargets()
	s, err := sandboxOf(ts, match(ts, "shop/web/sleeper")[0])
	if err != nil || !s.PodRole.Sandbox || s.ID != hexID("1") {
		t.Errorf("sandbox of shop/web/sleeper: %v, %v", s, err)
	}
	docker := match(ts, "docker://cache"[len("docker://"):])
	if _, err := sandboxOf(ts, docker[len(docker)-1]); !errors.Is(err, ErrNotInPod) {
		t.Errorf("sandbox of a Docker container: %v", err)
	}
}
