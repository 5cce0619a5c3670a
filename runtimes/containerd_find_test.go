package runtimes

import (
	"slices"
	"strings"
	"testing"
)

func TestExactly(t *testing.T) {
	shopWeb := &Pod{Namespace: "shop", Name: "web", UID: "u1"}
	defWeb := &Pod{Namespace: "default", Name: "web", UID: "u2"}
	cache := &Pod{Namespace: "shop", Name: "cache", UID: "u3"}
	cs := []*Container{
		{ID: "taka", Name: "taka"},
		{ID: "x1", Name: "app", Names: []string{"app"}}, // a nerdctl name
		{ID: "sb1", Pod: shopWeb, PodRole: PodRole{Sandbox: true}},
		{ID: "c1", Pod: shopWeb, PodRole: PodRole{Container: "redis"}, Names: []string{"web/redis", "shop/web/redis"}},
		{ID: "c1old", Pod: shopWeb, PodRole: PodRole{Container: "redis", Attempt: 0}, Names: []string{"web/redis", "shop/web/redis"}},
		{ID: "c2", Pod: defWeb, PodRole: PodRole{Container: "redis"}, Names: []string{"web/redis", "default/web/redis"}},
		{ID: "sb3", Pod: cache, PodRole: PodRole{Sandbox: true}},
		{ID: "c3", Pod: cache, PodRole: PodRole{Container: "redis"}, Names: []string{"cache/redis", "shop/cache/redis"}},
	}
	ids := func(cs []*Container) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.ID)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct{ word, want string }{
		{"taka", "taka"},
		{"app", "x1"},
		{"x1", "x1"},
		// A pod's name: every container of every pod so named, the
		// sandboxes and older attempts too (resolve picks among them).
		{"web", "sb1,c1,c1old,c2"},
		// A pod of that name in another namespace too: more than the
		// word names (resolve matches), never less.
		{"shop/web", "sb1,c1,c1old,c2"},
		{"web/redis", "sb1,c1,c1old,c2"},
		{"shop/web/redis", "sb1,c1,c1old,c2"},
		{"cache", "sb3,c3"},
		// Nothing is named so: none, so that the caller lists.
		{"nosuch", ""},
		{"shop/web/nosuch", ""},
		{"redis", ""},
		// A pod's container or sandbox by its ID: its whole pod.
		{"sb3", "sb3,c3"},
		{"c3", "sb3,c3"},
	} {
		if got := ids(exactly(cs, tc.word)); got != tc.want {
			t.Errorf("exactly(%q) = %s, want %s", tc.word, got, tc.want)
		}
	}
}

func TestPodsNamed(t *testing.T) {
	for word, want := range map[string][]string{
		"web": {"web"}, "shop/web": {"shop", "web"}, "shop/web/redis": {"web"}, "a/b/c/d": nil,
	} {
		if got := podsNamed(word); !slices.Equal(got, want) {
			t.Errorf("podsNamed(%q) = %q, want %q", word, got, want)
		}
	}
}

func TestFilterable(t *testing.T) {
	for word, want := range map[string]bool{
		"taka": true, "shop/web/redis": true, "my_app.v1-2": true,
		`a"b`: false, `a\b`: false, "a b": false, "a,b": false, "é": false, "a==b": false,
	} {
		if got := filterable(word); got != want {
			t.Errorf("filterable(%q) = %v, want %v", word, got, want)
		}
	}
}

func TestPodFilters(t *testing.T) {
	got := podFilters([]*Container{
		// CRI's come with their sandbox (byID): no listing.
		{Namespace: "k8s.io", ID: "a", Labels: map[string]string{criKindLabel: "container", labelPodUID: "u1"}},
		{Namespace: "k8s.io", ID: "b", Labels: map[string]string{criKindLabel: "sandbox", labelPodUID: "u2"}},
		{Namespace: "cri", ID: "c", Labels: map[string]string{criKindLabel: "container"}}, // crictl's: no kubelet labels
		{Namespace: "e2e", ID: "d", Labels: map[string]string{labelNerdctlName: "d"}},     // in no pod
		// ctr-enter's sidecar in a pod: only its labels name the pod.
		{Namespace: "k8s.io", ID: "e", Labels: map[string]string{labelPodUID: "u3", labelContainerName: "probe"}},
	})
	want := map[string][]string{"k8s.io": {`labels."io.kubernetes.pod.uid"=="u3"`}}
	if len(got) != len(want) {
		t.Fatalf("podFilters = %q, want %q", got, want)
	}
	for ns, w := range want {
		if !slices.Equal(got[ns], w) {
			t.Errorf("podFilters[%s] = %q, want %q", ns, got[ns], w)
		}
	}
}

func TestGeneratedID(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	for word, want := range map[string]bool{id: true, id[:63]: false, id + "0": false, strings.ToUpper(id): false, "taka": false} {
		if got := GeneratedID(word); got != want {
			t.Errorf("GeneratedID(%q) = %v, want %v", word, got, want)
		}
	}
}
