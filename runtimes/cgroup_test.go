package runtimes

import (
	"strings"
	"testing"
)

func TestContainerdCgroup(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/e2e/taka", "/e2e/taka"},
		{"/e2e/../e2e/./taka/", "/e2e/taka"},
		{"/k8s.io/abc", "/k8s.io/abc"},
		{"kubepods-besteffort-pod12.slice:cri-containerd:abc", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-abc.scope"},
		{"system.slice:docker:abc", "/system.slice/docker-abc.scope"},
		{":runc:abc", "/system.slice/runc-abc.scope"},
		{"-.slice:x:abc", "/x-abc.scope"},
		{"user.slice:x:my-app.slice", "/user.slice/my-app.slice"},
		{"e2e/taka", ""},           // relative: under the runtime's own cgroup
		{"", ""},                   // none: the same
		{"a/b.slice:x:abc", ""},    // a slice is a name, not a path
		{"a--b.slice:x:abc", ""},   // empty level
		{"nosuffix:x:abc", ""},     // not a slice
		{"system.slice:x:", ""},    // no unit name
		{"system.slice:x:a/b", ""}, // a unit is a name, not a path
	} {
		got, err := containerdCgroup(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("containerdCgroup(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("containerdCgroup(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestDockerCgroups(t *testing.T) {
	const id = "0123abcd"
	for _, tc := range []struct{ parent, want string }{
		{"", "/docker/" + id + " /system.slice/docker-" + id + ".scope"},
		{"/custom", "/custom/" + id},
		{"/custom/../x/", "/x/" + id},
		{"my-parent.slice", "/my.slice/my-parent.slice/docker-" + id + ".scope"},
		{"/abs.slice", "/abs.slice/" + id},
		{"relative", ""},
	} {
		got, err := dockerCgroups(id, tc.parent)
		if tc.want == "" {
			if err == nil {
				t.Errorf("dockerCgroups(%q) = %q, want an error", tc.parent, got)
			}
			continue
		}
		if s := strings.Join(got, " "); err != nil || s != tc.want {
			t.Errorf("dockerCgroups(%q) = %q, %v; want %q", tc.parent, s, err, tc.want)
		}
	}
}
