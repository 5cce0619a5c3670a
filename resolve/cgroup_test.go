package resolve

import (
	"testing"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
)

func TestInCgroup(t *testing.T) {
	const (
		victim   = "0123456789abcdef"
		attacker = "fedcba9876543210"
	)
	dockerWant := []string{"/docker/" + victim, "/system.slice/docker-" + victim + ".scope"}
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
