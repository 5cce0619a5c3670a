package procfs

import (
	"reflect"
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
