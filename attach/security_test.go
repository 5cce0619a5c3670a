package attach

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestApparmorProfile(t *testing.T) {
	for label, want := range map[string]string{
		"docker-default (enforce)":            "docker-default",
		"cri-containerd.apparmor.d (enforce)": "cri-containerd.apparmor.d",
		"unconfined":                          "",
		"":                                    "",
		"system_u:system_r:container_t:s0":    "", // SELinux: not copied
		"docker-default (enforce":             "",
	} {
		if got := apparmorProfile(label); got != want {
			t.Errorf("apparmorProfile(%q) = %q, want %q", label, got, want)
		}
	}
}

func TestCheckSecurity(t *testing.T) {
	for _, c := range []struct {
		o       Options
		wantErr string
	}{
		{Options{}, ""},
		{Options{Security: SecurityDefault}, ""},
		{Options{Security: SecurityPrivileged}, ""},
		{Options{Security: SecurityTarget, Confinement: &Confinement{}}, ""},
		{Options{Security: SecurityTarget}, "not read"},
		{Options{Security: "root"}, "unknown security"},
	} {
		err := checkSecurity(c.o)
		if (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("checkSecurity(%+v) = %v, want %q", c.o, err, c.wantErr)
		}
	}
}

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
