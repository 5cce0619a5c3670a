package main

import (
	"strings"
	"testing"
)

func TestCpGrammar(t *testing.T) {
	checkGrammar(t, []grammarCase{
		{[]string{"cp", "taka:/etc/passwd", "."}, "cp <src> <dest>", cpCmd{Src: "taka:/etc/passwd", Dest: "."}},
		{[]string{"cp", "-", "docker://taka:/tmp"}, "cp <src> <dest>", cpCmd{Src: "-", Dest: "docker://taka:/tmp"}},
		{[]string{"cp", "containerd://e2e/taka:/var/log", "-"}, "cp <src> <dest>", cpCmd{Src: "containerd://e2e/taka:/var/log", Dest: "-"}},
	})
	checkErrors(t, []errorCase{
		{[]string{"cp"}, `expected "<src> <dest>"`},
		{[]string{"cp", "taka:/x"}, `expected "<dest>"`},
		{[]string{"cp", "a", "b", "c"}, "unexpected argument c"},
	})
}

func TestCpSides(t *testing.T) {
	for _, tc := range []struct {
		src, dest string
		ref, path string
		into      bool
		err       string
	}{
		{"taka:/etc/passwd", ".", "taka", "/etc/passwd", false, ""},
		{"./f", "taka:/tmp/", "taka", "/tmp/", true, ""},
		{"-", "docker://taka:/tmp", "docker://taka", "/tmp", true, ""},
		{"containerd://e2e/taka:/var/log", "-", "containerd://e2e/taka", "/var/log", false, ""},
		{"pid:42:/etc/hosts", "/tmp/h", "pid:42", "/etc/hosts", false, ""},
		{"taka:relative", "x", "taka", "relative", false, ""},
		// A host path: a leading / or ., as for docker cp.
		{"./dir/a:b", "taka:/tmp", "taka", "/tmp", true, ""},
		// A pod's container, as kubectl cp's NAMESPACE/POD:PATH.
		{"shop/web/redis:/data/dump.rdb", ".", "shop/web/redis", "/data/dump.rdb", false, ""},
		{"./f", "web/redis:/tmp", "web/redis", "/tmp", true, ""},
		// An image: its reference keeps its colons, the path is absolute.
		{"image://127.0.0.1:5000/busybox:latest:/bin/sh", ".", "image://127.0.0.1:5000/busybox:latest", "/bin/sh", false, ""},
		{"image://busybox:/etc", ".", "image://busybox", "/etc", false, ""},
		{"image://busybox", ".", "", "", false, "empty path in image://busybox"},
		{"/tmp/a:b", "taka:/tmp", "taka", "/tmp", true, ""},
		{"taka:/a", "other:/b", "", "", false, "copying between targets is not supported"},
		{"a", "b", "", "", false, "neither SRC nor DEST names a target"},
		{"-", "-", "", "", false, "neither SRC nor DEST names a target"},
		{"taka:", "x", "", "", false, "empty path in taka:"},
	} {
		c := cpCmd{Src: tc.src, Dest: tc.dest}
		ref, p, into, err := c.sides()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %s: error %v, want %q", tc.src, tc.dest, err, tc.err)
			}
			continue
		}
		if err != nil || ref != tc.ref || p != tc.path || into != tc.into {
			t.Errorf("%s %s: %q %q %v %v; want %q %q %v", tc.src, tc.dest, ref, p, into, err, tc.ref, tc.path, tc.into)
		}
	}
}

func TestCpHelp(t *testing.T) {
	c := cpCmd{}
	hasExamples(t, help(t, "cp", "--help"), c.Help())
}
