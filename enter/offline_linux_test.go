package enter

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/resolve"
)

func TestVolumesToMount(t *testing.T) {
	keep, refused := volumesToMount([]Volume{
		{Source: "/v/sub", Destination: "/data/sub/"},
		{Source: "/v", Destination: "/data", RW: true},
		{Destination: "/dev/shm"},
		{Source: "/h", Destination: "/proc/x"},
		{Source: "/s", Destination: "/sys"},
		{Source: "/t", Destination: "/.ctr-enter/bin"},
		{Source: "/r", Destination: "/"},
		{Source: "/rel", Destination: "data"},
		{Source: "/e", Destination: "/etc/../etc/hostname"},
		{Source: "/d", Destination: "/devices"},
	})
	want := []Volume{
		{Source: "/v", Destination: "/data", RW: true},
		{Source: "/d", Destination: "/devices"},
		{Source: "/v/sub", Destination: "/data/sub"},
		{Source: "/e", Destination: "/etc/hostname"},
	}
	if !reflect.DeepEqual(keep, want) {
		t.Errorf("kept %+v\nwant %+v", keep, want)
	}
	if len(refused) != 2 {
		t.Fatalf("refused %v, want / and a relative path", refused)
	}
	for _, err := range refused {
		if !errors.Is(err, ErrVolume) {
			t.Errorf("%v is not ErrVolume", err)
		}
	}
}

// A volume's destination is a path in the container's files, which the
// container wrote: a link there means what it means in the container
// (RESOLVE_IN_ROOT), and never leads the mount onto a host directory.
func TestMountVolumeStaysInRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (mounts); run as root to test this part")
	}
	host, rootfs, src := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "vol"), []byte("volume"), 0o644); err != nil {
		t.Fatal(err)
	}
	// /data -> the host directory's absolute path; /etc exists, and
	// /lnk -> /etc.
	for _, err := range []error{
		os.Symlink(host, filepath.Join(rootfs, "data")),
		os.Mkdir(filepath.Join(rootfs, "etc"), 0o755),
		os.Symlink("/etc", filepath.Join(rootfs, "lnk")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	mnt, err := readOnlyView(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	view := os.NewFile(uintptr(mnt), "view")
	defer view.Close()

	err = mountVolume(view, Volume{Source: src, Destination: "/data"}, false)
	if err == nil || !strings.Contains(err.Error(), "not in the container's files") {
		t.Errorf("a destination linked to a host path: %v, want not in the container's files", err)
	}
	if _, err := os.Stat(filepath.Join(host, "vol")); err == nil {
		t.Fatalf("the volume was mounted over the host's %s", host)
	}
	if err := mountVolume(view, Volume{Source: src, Destination: "/lnk"}, false); err != nil {
		t.Fatal(err)
	}
	// On the view's /etc, read-only.
	f, err := (&resolve.Root{Dir: view}).OpenInRoot("/etc/vol", unix.O_RDONLY)
	if err != nil {
		t.Fatalf("the volume at the link's target in the view: %v", err)
	}
	f.Close()
	if _, err := (&resolve.Root{Dir: view}).OpenInRoot("/etc/new", unix.O_WRONLY|unix.O_CREAT); !errors.Is(err, unix.EROFS) {
		t.Errorf("creating a file in a read-only volume: %v, want EROFS", err)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "etc", "vol")); err == nil {
		t.Errorf("the volume is mounted on the host's copy of the layer")
	}
}
