package runtimes

import "testing"

func TestShimArgs(t *testing.T) {
	for _, c := range []struct {
		cmdline         string
		ns, id, address string
		ok              bool
	}{
		{"/usr/bin/containerd-shim-runc-v2\x00-namespace\x00e2e\x00-id\x00taka-debug-cbc0\x00-address\x00/run/containerd/containerd.sock\x00", "e2e", "taka-debug-cbc0", "/run/containerd/containerd.sock", true},
		{"containerd-shim-runc-v2\x00-namespace=k8s.io\x00--id\x00x\x00-address\x00/a.sock\x00-debug\x00", "k8s.io", "x", "/a.sock", true},
		// containerd's short-lived commands of the shim binary: its own to wait for.
		{"/usr/bin/containerd-shim-runc-v2\x00-namespace\x00e2e\x00-id\x00x\x00-address\x00/a.sock\x00start\x00", "", "", "", false},
		{"/usr/bin/containerd-shim-runc-v2\x00-namespace\x00e2e\x00-id\x00x\x00-address\x00/a.sock\x00-bundle\x00/b\x00delete\x00", "", "", "", false},
		{"/usr/bin/sleep\x00-namespace\x00e2e\x00-id\x00x\x00-address\x00/a.sock\x00", "", "", "", false},
		{"/usr/bin/containerd-shim-runc-v2\x00-namespace\x00e2e\x00-id\x00", "", "", "", false},
		{"", "", "", "", false},
	} {
		ns, id, address, ok := shimArgs([]byte(c.cmdline))
		if ns != c.ns || id != c.id || address != c.address || ok != c.ok {
			t.Errorf("shimArgs(%q) = %q %q %q %v, want %q %q %q %v", c.cmdline, ns, id, address, ok, c.ns, c.id, c.address, c.ok)
		}
	}
}

func TestParseListening(t *testing.T) {
	table := []byte(`Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000003 00000000 00000000 0001 03 2075990
00000000109c05fc: 00000002 00000000 00010000 0001 01 2075985 /run/containerd/s/0fe515db
0000000000000000: 00000002 00000000 00010000 0001 01 999 /run/other.sock
0000000000000000: 00000003 00000000 00000000 0001 03 2075991 /run/containerd/containerd.sock
`)
	if p, ok := parseListening(table, map[string]bool{"2075990": true, "2075985": true, "2075991": true}); !ok || p != "/run/containerd/s/0fe515db" {
		t.Errorf("parseListening = %q %v", p, ok)
	}
	if p, ok := parseListening(table, map[string]bool{"2075991": true}); ok {
		t.Errorf("a connected socket taken for a listening one: %q", p)
	}
}

func TestBundleOf(t *testing.T) {
	for dir, want := range map[string]bool{
		"/run/containerd/io.containerd.runtime.v2.task/e2e/x": true,
		"/run/containerd/io.containerd.runtime.v2.task/e2e/y": false,
		"/run/containerd/io.containerd.runtime.v2.task/k8s/x": false,
		"e2e/x": false,
		"/":     false,
	} {
		if got := bundleOf(dir, "e2e", "x"); got != want {
			t.Errorf("bundleOf(%q) = %v", dir, got)
		}
	}
}
