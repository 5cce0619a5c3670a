package attach

import (
	"strings"
	"testing"

	"github.com/ctr-enter/ctr-enter/runtimes"
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
		{Options{Security: SecurityTarget, Confinement: &runtimes.Confinement{}}, ""},
		{Options{Security: SecurityTarget}, "not read"},
		{Options{Security: "root"}, "unknown security"},
	} {
		err := checkSecurity(c.o)
		if (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("checkSecurity(%+v) = %v, want %q", c.o, err, c.wantErr)
		}
	}
}
