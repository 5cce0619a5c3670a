package nskind

import "testing"

func TestSet(t *testing.T) {
	s := Named("net") | Named("pid")
	if s.String() != "net,pid" || !s.Has(Net) || s.Has(Mount) {
		t.Errorf("set %v", s)
	}
	if Named("bogus") != 0 {
		t.Error("unknown kind has a flag")
	}
	if All.String() != "mnt,uts,ipc,net,pid,user,cgroup,time" {
		t.Errorf("All = %v", All)
	}
	if Set(0).String() != "none" {
		t.Errorf("empty set = %v", Set(0))
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Set
		ok   bool
	}{
		{"net", Net, true},
		{"net, pid,", Net | PID, true},
		{"", 0, true},
		{"net,bogus", 0, false},
	} {
		got, err := Parse(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("Parse(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
