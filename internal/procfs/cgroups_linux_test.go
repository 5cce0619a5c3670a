package procfs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	recordedID = "f5c0893ce5cc5766ca9d0036385a91172053db0e8fb37068214e7856f6b74953"
	limitedID  = "7b508dace774f8adc1b121c1812b740904be6dfd37e3b5e3579bc81fbf6f5553"
	freeID     = "2044fbdb55f9238637ff4adbdd07a491f8225a62b4db057bca43b73de9b3abad"
)

// readTree runs ReadCgroups on a recorded tree, with procCgroup
// replacing the tree's own cgroup file if it is not empty.
func readTree(t *testing.T, tree, procCgroup string) (*Cgroups, error) {
	t.Helper()
	b := []byte(procCgroup)
	if procCgroup == "" {
		b = readTestdata(t, tree+"/cgroup")
	}
	return readCgroups(b, readTestdata(t, tree+"/mountinfo"), filepath.Join("testdata", tree, "root"))
}

func mustReadTree(t *testing.T, tree, procCgroup string) *Cgroups {
	t.Helper()
	cg, err := readTree(t, tree, procCgroup)
	if err != nil {
		t.Fatal(err)
	}
	return cg
}

func checkStats(t *testing.T, cg *Cgroups, cpu CPUStats, mem MemoryStats, pids PidsStats) {
	t.Helper()
	if !reflect.DeepEqual(cg.CPU, cpu) {
		t.Errorf("CPU:\ngot  %s\nwant %s", show(cg.CPU), show(cpu))
	}
	if !reflect.DeepEqual(cg.Memory, mem) {
		t.Errorf("Memory:\ngot  %s\nwant %s", show(cg.Memory), show(mem))
	}
	if !reflect.DeepEqual(cg.Pids, pids) {
		t.Errorf("Pids:\ngot  %s\nwant %s", show(cg.Pids), show(pids))
	}
}

// TestReadCgroupsV1Hybrid reads a container recorded on a hybrid host
// where cpu and cpuacct are separate hierarchies and nothing is limited.
func TestReadCgroupsV1Hybrid(t *testing.T) {
	cg := mustReadTree(t, "v1hybrid", "")
	if cg.Version != 1 {
		t.Errorf("Version = %d, want 1", cg.Version)
	}
	p := "/docker/" + recordedID
	wantPaths := map[string]string{
		"": p, "cpu": p, "cpuacct": p, "cpuset": p, "memory": p, "devices": p,
		"freezer": p, "blkio": p, "pids": p, "name=systemd": p,
	}
	if !reflect.DeepEqual(cg.Paths, wantPaths) {
		t.Errorf("Paths = %v, want %v", cg.Paths, wantPaths)
	}
	checkStats(t, cg,
		CPUStats{
			Shares: u64(1024), QuotaUs: i64(-1), PeriodUs: u64(100000),
			// From cpuacct.usage, not from the unified hierarchy's
			// cpu.stat (745884 usec), which a hybrid host also has.
			UsageNs:   u64(745938608),
			NrPeriods: u64(0), NrThrottled: u64(0), ThrottledNs: u64(0),
		},
		MemoryStats{
			Limit: i64(-1), Usage: u64(4227072), Peak: u64(4775936),
			// memory.failcnt is there, but is no OOM count; v1 has no
			// memory.events.
			OOMKills: u64(0),
		},
		PidsStats{Limit: i64(-1), Current: u64(5)},
	)
}

// TestReadCgroupsV1Combined reads a limited container on a host with a
// cpu,cpuacct hierarchy, whose mountinfo also has bind mounts of
// sub-cgroups that lead to decoy values.
func TestReadCgroupsV1Combined(t *testing.T) {
	cg := mustReadTree(t, "v1combined", "")
	if cg.Version != 1 {
		t.Errorf("Version = %d, want 1", cg.Version)
	}
	p := "/docker/" + limitedID
	for key, want := range map[string]string{"cpu": p, "cpuacct": p, "net_cls": p, "net_prio": p, "rdma": "/", "name=systemd": p, "": p} {
		if got, ok := cg.Paths[key]; !ok || got != want {
			t.Errorf("Paths[%q] = %q, %v, want %q", key, got, ok, want)
		}
	}
	checkStats(t, cg,
		CPUStats{
			Shares: u64(512), QuotaUs: i64(50000), PeriodUs: u64(100000), UsageNs: u64(8323951234),
			NrPeriods: u64(4120), NrThrottled: u64(37), ThrottledNs: u64(1862350118),
		},
		MemoryStats{Limit: i64(268435456), Usage: u64(48123904), Peak: u64(268435456), OOMKills: u64(2)},
		PidsStats{Limit: i64(100), Current: u64(7)},
	)
}

func TestReadCgroupsV2(t *testing.T) {
	cg := mustReadTree(t, "v2", "")
	if cg.Version != 2 {
		t.Errorf("Version = %d, want 2", cg.Version)
	}
	if want := map[string]string{"": "/system.slice/docker-" + limitedID + ".scope"}; !reflect.DeepEqual(cg.Paths, want) {
		t.Errorf("Paths = %v, want %v", cg.Paths, want)
	}
	checkStats(t, cg,
		CPUStats{
			Weight: u64(100), QuotaUs: i64(50000), PeriodUs: u64(100000), UsageNs: u64(8323951000),
			NrPeriods: u64(4120), NrThrottled: u64(37), ThrottledNs: u64(1862350000),
		},
		MemoryStats{Limit: i64(268435456), Usage: u64(48123904), Peak: u64(67108864), OOMEvents: u64(3), OOMKills: u64(1)},
		PidsStats{Limit: i64(100), Current: u64(7)},
	)
}

// TestReadCgroupsV2Unlimited checks that "max" reads as -1, and that a
// kernel without memory.peak leaves Peak nil.
func TestReadCgroupsV2Unlimited(t *testing.T) {
	cg := mustReadTree(t, "v2", "0::/system.slice/docker-"+freeID+".scope\n")
	checkStats(t, cg,
		CPUStats{
			Weight: u64(100), QuotaUs: i64(-1), PeriodUs: u64(100000), UsageNs: u64(212000),
			NrPeriods: u64(0), NrThrottled: u64(0), ThrottledNs: u64(0),
		},
		MemoryStats{Limit: i64(-1), Usage: u64(1236992), OOMEvents: u64(0), OOMKills: u64(0)},
		PidsStats{Limit: i64(-1), Current: u64(1)},
	)
}

// TestReadCgroupsMissing checks that what is not there is nil, not an
// error: the root cgroup (which has cpu.stat but no limits), a cgroup
// that has gone, hierarchies that are not mounted.
func TestReadCgroupsMissing(t *testing.T) {
	cg := mustReadTree(t, "v2", "0::/\n")
	checkStats(t, cg, CPUStats{UsageNs: u64(99123456789000)}, MemoryStats{}, PidsStats{})

	cg = mustReadTree(t, "v2", "0::/system.slice/docker-gone.scope\n")
	checkStats(t, cg, CPUStats{}, MemoryStats{}, PidsStats{})

	// v1 hierarchies on a v2 host: none of them is mounted.
	cg = mustReadTree(t, "v2", "2:memory:/docker/x\n1:cpu,cpuacct:/docker/x\n")
	checkStats(t, cg, CPUStats{}, MemoryStats{}, PidsStats{})
	if cg.Version != 1 || cg.Paths["memory"] != "/docker/x" {
		t.Errorf("got Version %d, Paths %v", cg.Version, cg.Paths)
	}
}

// TestReadCgroupsContainerMountinfo passes the container's own
// mountinfo, whose cgroup mounts are all of sub-cgroups: none may be used.
func TestReadCgroupsContainerMountinfo(t *testing.T) {
	cg, err := readCgroups(readTestdata(t, "v1hybrid/cgroup"), readTestdata(t, "v1hybrid/mountinfo-container"), "testdata/v1hybrid/root")
	if err != nil {
		t.Fatal(err)
	}
	checkStats(t, cg, CPUStats{}, MemoryStats{}, PidsStats{})
}

// TestReadCgroupsSubCgroupMountOnly checks that a bind mount of a
// sub-cgroup is not used even when it is the only mount of the hierarchy.
func TestReadCgroupsSubCgroupMountOnly(t *testing.T) {
	mountinfo := "95 26 0:26 /system.slice /run/decoy-cgroup rw - cgroup2 cgroup2 rw\n"
	cg, err := readCgroups([]byte("0::/system.slice/docker-"+limitedID+".scope"), []byte(mountinfo), "testdata/v2/root")
	if err != nil {
		t.Fatal(err)
	}
	checkStats(t, cg, CPUStats{}, MemoryStats{}, PidsStats{})
}

func TestReadCgroupsRefusesDotDot(t *testing.T) {
	for _, p := range []string{
		"/..", "/../../etc", "/docker/../../../etc", "/docker/x/..", "docker/x", "/a\x00b",
	} {
		for _, tree := range []string{"v1hybrid", "v2"} {
			cg, err := readTree(t, tree, "0::"+p+"\n")
			if !errors.Is(err, ErrUnsafePath) {
				t.Errorf("%s: path %q: got %+v, %v, want ErrUnsafePath", tree, p, cg, err)
			}
		}
	}
	// One bad line is enough, whichever hierarchy it is in.
	if _, err := readTree(t, "v1hybrid", "1:cpu:/docker\n2:memory:/docker/../..\n"); !errors.Is(err, ErrUnsafePath) {
		t.Errorf("got %v, want ErrUnsafePath", err)
	}
	// Dots that are not ".." are only names.
	if _, err := readTree(t, "v2", "0::/system.slice/..scope/.../.\n"); err != nil {
		t.Errorf("got %v, want no error", err)
	}
}

func TestReadCgroupsBadInput(t *testing.T) {
	mountinfo := readTestdata(t, "v2/mountinfo")
	tests := map[string]struct {
		procCgroup, mountinfo, root string
	}{
		"empty cgroup":      {"", string(mountinfo), "testdata/v2/root"},
		"bad cgroup":        {"0:/x\n", string(mountinfo), "testdata/v2/root"},
		"bad mountinfo":     {"0::/\n", "1 2 3\n", "testdata/v2/root"},
		"duplicate key":     {"1:cpu:/a\n2:cpu,cpuacct:/b\n", string(mountinfo), "testdata/v2/root"},
		"empty root":        {"0::/\n", string(mountinfo), ""},
		"missing root":      {"0::/\n", string(mountinfo), "testdata/nonexistent"},
		"root is not a dir": {"0::/\n", string(mountinfo), "testdata/v2/cgroup"},
	}
	for name, tt := range tests {
		if cg, err := readCgroups([]byte(tt.procCgroup), []byte(tt.mountinfo), tt.root); err == nil {
			t.Errorf("%s: got %+v, want an error", name, cg)
		}
	}
}

// fakeV2 builds a v2 tree in a temporary directory: the cgroup /c with
// the given files, and the mountinfo and /proc/PID/cgroup to read it.
func fakeV2(t *testing.T, files map[string]string) (root string, procCgroup, mountinfo []byte) {
	t.Helper()
	root = t.TempDir()
	dir := filepath.Join(root, "sys/fs/cgroup/c")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, []byte("0::/c\n"), []byte("31 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
}

func TestReadCgroupsMalformedFile(t *testing.T) {
	for name, content := range map[string]string{
		"memory.max":     "lots\n",
		"memory.current": "-1\n",
		"cpu.max":        "1 2 3\n",
		"cpu.stat":       "usage_usec\n",
		"memory.events":  "oom many\n",
		"pids.current":   "",
	} {
		root, cgroup, mountinfo := fakeV2(t, map[string]string{name: content})
		cg, err := readCgroups(cgroup, mountinfo, root)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s %q: got %+v, %v, want an error naming the file", name, content, cg, err)
		}
	}
}

func TestReadCgroupsTooLarge(t *testing.T) {
	root, cgroup, mountinfo := fakeV2(t, map[string]string{
		"cpu.stat": strings.Repeat("x 1\n", MaxFileSize/4),
	})
	if _, err := readCgroups(cgroup, mountinfo, root); !errors.Is(err, ErrTooLarge) {
		t.Errorf("got %v, want ErrTooLarge", err)
	}
}

// TestReadCgroupsSymlinks checks that no symbolic link below the file
// system root is followed, as a directory or as a file.
func TestReadCgroupsSymlinks(t *testing.T) {
	root, cgroup, mountinfo := fakeV2(t, map[string]string{"memory.max": "1\n"})
	elsewhere := t.TempDir()
	if err := os.WriteFile(filepath.Join(elsewhere, "memory.max"), []byte("2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cgdir := filepath.Join(root, "sys/fs/cgroup")
	if err := os.Symlink(elsewhere, filepath.Join(cgdir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(elsewhere, "memory.max"), filepath.Join(cgdir, "c", "pids.max")); err != nil {
		t.Fatal(err)
	}
	if cg, err := readCgroups([]byte("0::/link\n"), mountinfo, root); !errors.Is(err, ErrUnsafePath) {
		t.Errorf("directory link: got %+v, %v, want ErrUnsafePath", cg, err)
	}
	if cg, err := readCgroups(cgroup, mountinfo, root); !errors.Is(err, ErrUnsafePath) {
		t.Errorf("file link: got %+v, %v, want ErrUnsafePath", cg, err)
	}
	// The mount point itself is walked the same way.
	if err := os.Rename(cgdir, filepath.Join(root, "sys/fs/real")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", cgdir); err != nil {
		t.Fatal(err)
	}
	if cg, err := readCgroups([]byte("0::/\n"), mountinfo, root); !errors.Is(err, ErrUnsafePath) {
		t.Errorf("mount point link: got %+v, %v, want ErrUnsafePath", cg, err)
	}
}

// TestReadCgroupsFIFO checks that a FIFO where a file should be neither
// hangs nor is read.
func TestReadCgroupsFIFO(t *testing.T) {
	root, cgroup, mountinfo := fakeV2(t, nil)
	if err := unix.Mkfifo(filepath.Join(root, "sys/fs/cgroup/c/memory.max"), 0o644); err != nil {
		t.Skip(err)
	}
	if _, err := readCgroups(cgroup, mountinfo, root); !errors.Is(err, ErrUnsafePath) {
		t.Errorf("got %v, want ErrUnsafePath", err)
	}
}

func TestReadFile(t *testing.T) {
	b, err := ReadFile("testdata/status/docker-redis", 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := ParseStatus(b); err != nil || s.Name != "redis-server" {
		t.Errorf("ParseStatus(ReadFile) = %+v, %v", s, err)
	}
	// A file of limit bytes is refused: whether it ended there is
	// unknown without reading on.
	if _, err := ReadFile("testdata/status/docker-redis", len(b)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit = size: got %v, want ErrTooLarge", err)
	}
	if got, err := ReadFile("testdata/status/docker-redis", len(b)+1); err != nil || len(got) != len(b) {
		t.Errorf("limit = size+1: got %d bytes, %v", len(got), err)
	}
	if _, err := ReadFile("testdata/status/docker-redis", 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit 0: got %v, want ErrTooLarge", err)
	}
	if _, err := ReadFile("testdata/nonexistent", 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want ErrNotExist", err)
	}
	if _, err := ReadFile("testdata/status", 10); !errors.Is(err, ErrUnsafePath) {
		t.Errorf("directory: got %v, want ErrUnsafePath", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(filepath.Join(mustAbs(t, "testdata/status/docker-redis")), link); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(link, 64<<10); !errors.Is(err, ErrUnsafePath) {
		t.Errorf("symlink: got %v, want ErrUnsafePath", err)
	}
	// /proc files have a size of 0 and are read to their end all the same.
	if b, err := ReadFile("/proc/self/status", 64<<10); err != nil || !strings.HasPrefix(string(b), "Name:") {
		t.Errorf("/proc/self/status: got %q, %v", b, err)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestReadCgroupsClosesFiles checks that no descriptor is left open,
// on success or on error.
func TestReadCgroupsClosesFiles(t *testing.T) {
	before := openFiles(t)
	for range 50 {
		_ = mustReadTree(t, "v1hybrid", "")
		_ = mustReadTree(t, "v2", "")
		_, _ = readTree(t, "v1combined", "4:cpu,cpuacct:/docker/"+limitedID+"/nonexistent\n")
		_, _ = readCgroups([]byte("0::/c\n"), []byte("31 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"), "testdata/v1hybrid/root")
	}
	if after := openFiles(t); after != before {
		t.Errorf("%d descriptors open before, %d after", before, after)
	}
}

func openFiles(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	return len(entries)
}
