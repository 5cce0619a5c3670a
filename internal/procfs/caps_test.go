package procfs

import (
	"reflect"
	"testing"
)

func TestDockerDefaultCaps(t *testing.T) {
	// What runc reports in CapEff for a container run with Docker's
	// defaults (testdata/status/docker-redis).
	if DockerDefaultCaps != 0xa80425fb {
		t.Errorf("DockerDefaultCaps = %#x, want 0xa80425fb", DockerDefaultCaps)
	}
	want := []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
		"CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
	}
	if got := CapNames(DockerDefaultCaps); !reflect.DeepEqual(got, want) {
		t.Errorf("CapNames(DockerDefaultCaps) = %v, want %v", got, want)
	}
}

func TestCapNames(t *testing.T) {
	tests := []struct {
		mask uint64
		want []string
	}{
		{0, nil},
		{1, []string{"CAP_CHOWN"}},
		{1 << 21, []string{"CAP_SYS_ADMIN"}},
		{1<<38 | 1<<39 | 1<<40, []string{"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"}},
		// Bits a newer kernel may define are still shown.
		{1<<41 | 1<<63, []string{"CAP_41", "CAP_63"}},
	}
	for _, tt := range tests {
		if got := CapNames(tt.mask); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CapNames(%#x) = %v, want %v", tt.mask, got, tt.want)
		}
	}
	if n := len(CapNames(^uint64(0))); n != 64 {
		t.Errorf("CapNames(all) gave %d names, want 64", n)
	}
	for bit := range capNames {
		if capNames[bit] == "" {
			t.Errorf("capability %d has no name", bit)
		}
	}
}

func TestCapDiff(t *testing.T) {
	have := DockerDefaultCaps&^(1<<13|1<<27) | 1<<21 | 1<<12 // -NET_RAW -MKNOD +SYS_ADMIN +NET_ADMIN
	added, dropped := CapDiff(have, DockerDefaultCaps)
	if want := []string{"CAP_NET_ADMIN", "CAP_SYS_ADMIN"}; !reflect.DeepEqual(added, want) {
		t.Errorf("added = %v, want %v", added, want)
	}
	if want := []string{"CAP_NET_RAW", "CAP_MKNOD"}; !reflect.DeepEqual(dropped, want) {
		t.Errorf("dropped = %v, want %v", dropped, want)
	}
	added, dropped = CapDiff(DockerDefaultCaps, DockerDefaultCaps)
	if added != nil || dropped != nil {
		t.Errorf("CapDiff(same) = %v, %v, want nothing", added, dropped)
	}
}
