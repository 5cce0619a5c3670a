package runtimes

import (
	"context"
	"reflect"
	"testing"

	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The containerd spec of --security target: the target's confinement over
// whatever the default spec had, and the target's seccomp section or none.
func TestWithConfinement(t *testing.T) {
	c := &Confinement{
		UID: 1000, GID: 1001, Groups: []int{1001, 27},
		Bounding:   1<<unix.CAP_KILL | 1<<unix.CAP_NET_BIND_SERVICE,
		Effective:  1 << unix.CAP_KILL,
		Permitted:  1 << unix.CAP_KILL,
		NoNewPrivs: true, AppArmor: "docker-default",
	}
	filter := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}
	for _, tc := range []struct {
		target *oci.Spec
		want   *specs.LinuxSeccomp
	}{
		{&oci.Spec{Linux: &specs.Linux{Seccomp: filter}}, filter},
		{&oci.Spec{}, nil},
	} {
		s := &oci.Spec{
			Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Ambient: []string{"CAP_SYS_ADMIN"}}},
			Linux:   &specs.Linux{Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}},
		}
		if err := withConfinement(c, tc.target)(context.Background(), nil, nil, s); err != nil {
			t.Fatal(err)
		}
		wantCaps := &specs.LinuxCapabilities{
			Bounding:  []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
			Effective: []string{"CAP_KILL"},
			Permitted: []string{"CAP_KILL"},
		}
		if !reflect.DeepEqual(s.Process.Capabilities, wantCaps) {
			t.Errorf("capabilities %+v, want %+v", s.Process.Capabilities, wantCaps)
		}
		if want := (specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{1001, 27}}); !reflect.DeepEqual(s.Process.User, want) {
			t.Errorf("user %+v, want %+v", s.Process.User, want)
		}
		if !s.Process.NoNewPrivileges || s.Process.ApparmorProfile != "docker-default" {
			t.Errorf("no_new_privs %v, AppArmor %q", s.Process.NoNewPrivileges, s.Process.ApparmorProfile)
		}
		if s.Linux.Seccomp != tc.want {
			t.Errorf("seccomp %+v, want %+v", s.Linux.Seccomp, tc.want)
		}
	}
}

func TestSidecarLog(t *testing.T) {
	if got, want := sidecarLog("k8s.io", "web-debug-1a2b"), "/var/log/ctr-enter/k8s.io/web-debug-1a2b.log"; got != want {
		t.Errorf("sidecarLog = %q, want %q", got, want)
	}
}

func TestSiblingCgroup(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/kubepods/besteffort/pod12/abc", "/kubepods/besteffort/pod12/side"},
		{"kubepods-besteffort-pod12.slice:cri-containerd:abc", "kubepods-besteffort-pod12.slice:cri-containerd:side"},
		{"/k8s.io/abc", "/k8s.io/side"},
	} {
		if got := siblingCgroup(tc.path, "side"); got != tc.want {
			t.Errorf("siblingCgroup(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
