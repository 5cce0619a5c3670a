package resolve

import (
	"strings"
	"testing"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
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

func TestInCgroup(t *testing.T) {
	const (
		victim   = "0123456789abcdef"
		attacker = "fedcba9876543210"
	)
	dockerWant, _ := dockerCgroups(victim, "")
	for _, tc := range []struct {
		name   string
		cgroup string
		want   []string
		ok     bool
	}{
		{"v1 cgroupfs", "9:name=systemd:/docker/" + victim + "\n4:memory:/docker/" + victim + "\n0::/docker/" + victim + "\n", dockerWant, true},
		{"v2", "0::/docker/" + victim + "\n", dockerWant, true},
		{"v2 systemd", "0::/system.slice/docker-" + victim + ".scope\n", dockerWant, true},
		{"undelegated hierarchies at the root", "12:rdma:/\n4:memory:/docker/" + victim + "\n0::/\n", dockerWant, true},
		{"systemd init in the container", "0::/docker/" + victim + "/init.scope\n", dockerWant, true},
		{"containerd", "4:memory:/e2e/taka\n0::/e2e/taka\n", []string{"/e2e/taka"}, true},

		// Finding 5 of issue 10: another container's child cgroup named
		// after the victim.
		{"child of another container", "0::/docker/" + attacker + "/" + victim + "\n", dockerWant, false},
		{"scope child of another container", "0::/system.slice/docker-" + attacker + ".scope/docker-" + victim + ".scope\n", dockerWant, false},
		{"containerd child of another container", "0::/e2e/evil/taka\n", []string{"/e2e/taka"}, false},
		{"one hierarchy elsewhere", "4:memory:/docker/" + victim + "\n3:cpu:/docker/" + attacker + "\n", dockerWant, false},
		{"two drivers mixed", "4:memory:/docker/" + victim + "\n0::/system.slice/docker-" + victim + ".scope\n", dockerWant, false},
		{"a longer ID", "0::/docker/" + victim + "0\n", dockerWant, false},
		{"only the root", "4:memory:/\n0::/\n", dockerWant, false},
		{"host process", "0::/user.slice/session-1.scope\n", dockerWant, false},
		{"nothing expected", "0::/docker/" + victim + "\n", nil, false},
		{"expected is the root", "0::/\n", []string{"/"}, false},
		{"empty", "", dockerWant, false},
	} {
		lines, err := procfs.ParseProcCgroup([]byte(tc.cgroup))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if ok, got := inCgroup(lines, tc.want); ok != tc.ok {
			t.Errorf("%s: inCgroup(%q, %q) = %v (%q), want %v", tc.name, tc.cgroup, tc.want, ok, got, tc.ok)
		}
	}
}
