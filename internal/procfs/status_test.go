package procfs

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseStatusRecorded(t *testing.T) {
	tests := []struct {
		file string
		want Status
	}{{
		// A Docker container with the default profile: Docker's 14
		// capabilities, one seccomp filter.
		file: "status/docker-redis",
		want: Status{
			Name: "redis-server", State: "S (sleeping)", PPid: 25991,
			Credentials: Credentials{
				Groups: []int{0}, Seccomp: 2, SeccompFilters: 1,
				CapPrm: 0xa80425fb, CapEff: 0xa80425fb, CapBnd: 0xa80425fb,
			},
		},
	}, {
		// A containerd container run with no_new_privs and no seccomp.
		file: "status/containerd-pause",
		want: Status{
			Name: "pause", State: "S (sleeping)", PPid: 25884,
			Credentials: Credentials{
				Groups: []int{0}, NoNewPrivs: true,
				CapPrm: 0xa80425fb, CapEff: 0xa80425fb, CapBnd: 0xa80425fb,
			},
		},
	}, {
		file: "status/host-dockerd",
		want: Status{
			Name: "dockerd", State: "S (sleeping)", PPid: 1,
			Credentials: Credentials{CapPrm: 0x1fffeffffff, CapEff: 0x1fffeffffff, CapBnd: 0x1fffeffffff},
		},
	}, {
		file: "status/kthreadd",
		want: Status{
			Name: "kthreadd", State: "S (sleeping)",
			Credentials: Credentials{CapPrm: 0x1ffffffffff, CapEff: 0x1ffffffffff, CapBnd: 0x1ffffffffff},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseStatus(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

// minimalStatus has the lines ParseStatus requires, to which tests add.
const minimalStatus = "Uid:\t1000\t1001\t1002\t1003\nGid:\t10\t11\t12\t13\nCapEff:\t0000000000000001\nCapBnd:\t000001ffffffffff\n"

func TestParseStatusFields(t *testing.T) {
	b := "Name:\t my\tevil: name \n" + "State:\tR (running)\n" + "PPid:\t7\n" +
		minimalStatus + "Groups:\t4 24 27 \n" + "NoNewPrivs:\t1\n" +
		"Seccomp:\t1\n" + "Seccomp_filters:\t3\n" + "CapInh:\t0000000000000002\n" +
		"CapPrm:\t0000000000000003\n" + "CapAmb:\t0000000000000004\n" +
		"Unknown:\twhatever\nno colon here\n"
	got, err := ParseStatus([]byte(b))
	if err != nil {
		t.Fatal(err)
	}
	want := Status{
		// Everything after the tab that follows "Name:" is the name.
		Name: " my\tevil: name ", State: "R (running)", PPid: 7,
		Credentials: Credentials{
			Uids: [4]int{1000, 1001, 1002, 1003}, Gids: [4]int{10, 11, 12, 13},
			Groups: []int{4, 24, 27}, NoNewPrivs: true, Seccomp: 1, SeccompFilters: 3,
			CapInh: 2, CapPrm: 3, CapEff: 1, CapBnd: 0x1ffffffffff, CapAmb: 4,
		},
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("got  %+v\nwant %+v", *got, want)
	}
}

func TestParseStatusErrors(t *testing.T) {
	tests := map[string]string{
		"empty":          "",
		"no Uid":         strings.Replace(minimalStatus, "Uid:", "Xid:", 1),
		"no Gid":         strings.Replace(minimalStatus, "Gid:", "Xid:", 1),
		"no CapEff":      strings.Replace(minimalStatus, "CapEff:", "CapXxx:", 1),
		"no CapBnd":      strings.Replace(minimalStatus, "CapBnd:", "CapXxx:", 1),
		"three uids":     strings.Replace(minimalStatus, "\t1003", "", 1),
		"negative uid":   strings.Replace(minimalStatus, "1000", "-1", 1),
		"uid too large":  strings.Replace(minimalStatus, "1000", "4294967296", 1),
		"cap not hex":    strings.Replace(minimalStatus, "0000000000000001", "zz", 1),
		"cap too large":  strings.Replace(minimalStatus, "0000000000000001", "10000000000000000", 1),
		"bad NoNewPrivs": minimalStatus + "NoNewPrivs:\t2\n",
		"bad group":      minimalStatus + "Groups:\t1 x\n",
		"bad Seccomp":    minimalStatus + "Seccomp:\tfilter\n",
		// A second Uid line after the real one can only be forged.
		"duplicate Uid": minimalStatus + "Uid:\t0\t0\t0\t0\n",
	}
	for name, b := range tests {
		if s, err := ParseStatus([]byte(b)); err == nil {
			t.Errorf("%s: got %+v, want an error", name, *s)
		}
	}
}

func TestSeccompModeName(t *testing.T) {
	for mode, want := range map[int]string{0: "disabled", 1: "strict", 2: "filter", 3: "unknown (3)", -1: "unknown (-1)"} {
		if got := SeccompModeName(mode); got != want {
			t.Errorf("SeccompModeName(%d) = %q, want %q", mode, got, want)
		}
	}
}
