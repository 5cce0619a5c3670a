package procfs

import (
	"reflect"
	"testing"
)

func TestParseMountinfoRecorded(t *testing.T) {
	mounts, err := ParseMountinfo(readTestdata(t, "v1hybrid/mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	byPoint := make(map[string]Mount)
	for _, m := range mounts {
		byPoint[m.MountPoint] = m
	}
	want := map[string]Mount{
		"/sys/fs/cgroup/cpu":     {31, 30, "/", "/sys/fs/cgroup/cpu", "cgroup", "cgroup", []string{"rw", "cpu"}},
		"/sys/fs/cgroup/unified": {40, 30, "/", "/sys/fs/cgroup/unified", "cgroup2", "cgroup2", []string{"rw"}},
		// With an optional field (shared:1) before the separator.
		"/var/lib/docker": {41, 26, "/var/lib/docker", "/var/lib/docker", "ext4", "/dev/vda",
			[]string{"rw", "discard", "resv_strict", "resuid=65534", "resgid=65534"}},
		"/run/docker/netns/19aecda6841d": {164, 26, "net:[4026532403]", "/run/docker/netns/19aecda6841d", "nsfs", "nsfs", []string{"rw"}},
	}
	for point, w := range want {
		if got := byPoint[point]; !reflect.DeepEqual(got, w) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", point, got, w)
		}
	}
	if len(mounts) != 28 {
		t.Errorf("got %d mounts, want 28", len(mounts))
	}
}

func TestParseMountinfo(t *testing.T) {
	b := "" +
		// Several optional fields, and escapes in root and mount point.
		"36 35 98:0 /mnt\\0401 /mnt\\0112\\134x rw,noatime master:1 shared:2 propagate_from:3 - ext3 /dev/root rw,errors=continue\n" +
		// An empty source prints as two spaces in a row.
		"37 35 0:50 / /tmp rw - tmpfs  rw\n" +
		// A backslash not starting an escape, and \777, too large for a byte.
		"38 35 0:51 / /a\\b\\777\\12 rw - tmpfs my\\040src rw\n"
	want := []Mount{
		{36, 35, "/mnt 1", "/mnt\t2\\x", "ext3", "/dev/root", []string{"rw", "errors=continue"}},
		{37, 35, "/", "/tmp", "tmpfs", "", []string{"rw"}},
		{38, 35, "/", "/a\\b\\777\\12", "tmpfs", "my src", []string{"rw"}},
	}
	got, err := ParseMountinfo([]byte(b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	for _, in := range []string{
		"36 35 98:0 / /mnt rw - ext3 /dev/root",            // no super options
		"36 35 98:0 / /mnt rw ext3 /dev/root rw",           // no separator
		"36 35 98:0 / - rw - ext3",                         // "-" only as the mount point
		"x 35 98:0 / /mnt rw - ext3 /dev/root rw",          // bad id
		"36 -1 98:0 / /mnt rw - ext3 /dev/root rw",         // bad parent
		"36 35 98:0 / /mnt rw\n37 35 98:0 / /mnt rw - a b", // bad first line
	} {
		if got, err := ParseMountinfo([]byte(in)); err == nil {
			t.Errorf("ParseMountinfo(%q) = %+v, want an error", in, got)
		}
	}
}

func TestUnescapeOctal(t *testing.T) {
	for in, want := range map[string]string{
		"":            "",
		`plain`:       "plain",
		`\040`:        " ",
		`a\134b`:      `a\b`,
		`\04`:         `\04`,
		`\`:           `\`,
		`\400`:        `\400`,
		`\0400\0401`:  " 0 1",
		`x\\040`:      `x\ `,
		`\08x`:        `\08x`,
		"\\012\\011!": "\n\t!",
	} {
		if got := unescapeOctal(in); got != want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", in, got, want)
		}
	}
}
