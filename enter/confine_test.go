package enter

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCgroupProcsPaths(t *testing.T) {
	mountinfo := `25 1 0:23 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
26 25 0:24 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
27 25 0:25 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
28 25 0:26 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
29 25 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
30 25 0:28 /docker /mnt/elsewhere rw,relatime - cgroup cgroup rw,memory
`
	cg := "5:cpu:/docker/abc\n4:cpuacct:/docker/abc\n3:name=systemd:/docker/abc\n2:memory:/docker/abc\n0::/docker/abc\n"
	got, err := cgroupProcsPaths([]byte(cg), []byte(mountinfo))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/sys/fs/cgroup/cpu/docker/abc/cgroup.procs",
		"/sys/fs/cgroup/cpuacct/docker/abc/cgroup.procs",
		"/sys/fs/cgroup/systemd/docker/abc/cgroup.procs",
		// memory is mounted only from a sub-cgroup: skipped
		"/sys/fs/cgroup/unified/docker/abc/cgroup.procs",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths = %q\nwant %q", got, want)
	}
	if _, err := cgroupProcsPaths([]byte("0::/../../etc\n"), []byte(mountinfo)); err == nil {
		t.Error("a path climbing out of the hierarchy was accepted")
	}
}

func TestEncodeConfinement(t *testing.T) {
	c := &confinement{uid: 7, gid: 8, groups: []int{9}, noNewPrivs: true, caps: [5]uint64{1, 2, 3, 4, 5},
		filters: [][]unix.SockFilter{{{Code: 6, K: 0x7fff0000}}}}
	var want bytes.Buffer
	for _, v := range []any{[]int32{7, 8, 1, 1, 1, 0}, []uint64{1, 2, 3, 4, 5}, int32(9), int32(1), []unix.SockFilter{{Code: 6, K: 0x7fff0000}}} {
		binary.Write(&want, binary.NativeEndian, v)
	}
	if got := c.encode(); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("encode = %x\nwant %x", got, want.Bytes())
	}
}
