package procfs

import (
	"reflect"
	"slices"
	"testing"
)

func TestParseProcCgroupRecorded(t *testing.T) {
	lines, err := ParseProcCgroup(readTestdata(t, "v1hybrid/cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	const p = "/docker/f5c0893ce5cc5766ca9d0036385a91172053db0e8fb37068214e7856f6b74953"
	want := []CgroupLine{
		{9, []string{"name=systemd"}, p},
		{8, []string{"pids"}, p},
		{7, []string{"blkio"}, p},
		{6, []string{"freezer"}, p},
		{5, []string{"devices"}, p},
		{4, []string{"memory"}, p},
		{3, []string{"cpuset"}, p},
		{2, []string{"cpuacct"}, p},
		{1, []string{"cpu"}, p},
		{0, nil, p},
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("got  %v\nwant %v", lines, want)
	}
}

func TestParseProcCgroup(t *testing.T) {
	b := "4:cpu,cpuacct:/docker/x\n0::/a:b c/d\n"
	want := []CgroupLine{
		{4, []string{"cpu", "cpuacct"}, "/docker/x"},
		// A cgroup may be named with colons and spaces.
		{0, nil, "/a:b c/d"},
	}
	got, err := ParseProcCgroup([]byte(b))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v, want %v", got, err, want)
	}
	if got, err := ParseProcCgroup(nil); err != nil || got != nil {
		t.Errorf("ParseProcCgroup(nil) = %v, %v", got, err)
	}
	for _, in := range []string{
		"4:cpu", "x:cpu:/", "-1:cpu:/", "4:cpu:", "4:cpu,,x:/", "4:cpu:/a\n4:memory:/b",
	} {
		if got, err := ParseProcCgroup([]byte(in)); err == nil {
			t.Errorf("ParseProcCgroup(%q) = %v, want an error", in, got)
		}
	}
}

func TestMembershipDirs(t *testing.T) {
	mountinfo := `25 1 0:23 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
30 25 0:28 /docker /mnt/elsewhere rw,relatime - cgroup cgroup rw,memory
26 25 0:24 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
27 25 0:25 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
28 25 0:26 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
29 25 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`
	cg := "5:cpu:/docker/abc\n4:cpuacct:/docker/abc\n3:name=systemd:/docker/abc\n2:memory:/docker/abc\n0::/docker/abc\n"
	got, err := cgroupDirs(t, []byte(cg), []byte(mountinfo))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/sys/fs/cgroup/cpu/docker/abc",
		"/sys/fs/cgroup/cpuacct/docker/abc",
		"/sys/fs/cgroup/systemd/docker/abc",
		// memory is mounted only from a sub-cgroup: skipped
		"/sys/fs/cgroup/unified/docker/abc",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Dirs = %q\nwant %q", got, want)
	}
	if _, err := cgroupDirs(t, []byte("0::/../../etc\n"), []byte(mountinfo)); err == nil {
		t.Error("a path climbing out of the hierarchy was accepted")
	}
	if _, err := cgroupDirs(t, []byte("7:blkio:/x\n"), []byte(mountinfo)); err == nil {
		t.Error("no mounted hierarchy gave no error")
	}
}
