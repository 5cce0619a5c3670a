package procfs

import (
	"math"
	"reflect"
	"testing"
)

func TestParseSingle(t *testing.T) {
	for in, want := range map[string]string{"1024\n": "1024", "max 100000\n": "max 100000", "  7  ": "7"} {
		got, err := ParseSingle([]byte(in))
		if err != nil || got != want {
			t.Errorf("ParseSingle(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "\n", " \t\n", "1\n2\n", "1\r2"} {
		if got, err := ParseSingle([]byte(in)); err == nil {
			t.Errorf("ParseSingle(%q) = %q, want an error", in, got)
		}
	}
}

func TestParseSingleNumbers(t *testing.T) {
	if v, err := ParseSingleUint([]byte("18446744073709551615\n")); err != nil || v != math.MaxUint64 {
		t.Errorf("ParseSingleUint(max) = %d, %v", v, err)
	}
	for _, in := range []string{"-1", "18446744073709551616", "0x10", "1 2", "max"} {
		if v, err := ParseSingleUint([]byte(in)); err == nil {
			t.Errorf("ParseSingleUint(%q) = %d, want an error", in, v)
		}
	}
	if v, err := ParseSingleInt([]byte("-1\n")); err != nil || v != -1 {
		t.Errorf("ParseSingleInt(-1) = %d, %v", v, err)
	}
	if v, err := ParseSingleInt([]byte("9223372036854775808")); err == nil {
		t.Errorf("ParseSingleInt(2^63) = %d, want an error", v)
	}
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]int64{"max\n": -1, "100\n": 100, "0": 0, "9223372036854771712": 9223372036854771712} {
		got, err := ParseLimit([]byte(in))
		if err != nil || got != want {
			t.Errorf("ParseLimit(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "-5", "MAX", "max max", "1.5"} {
		if got, err := ParseLimit([]byte(in)); err == nil {
			t.Errorf("ParseLimit(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseCPUMax(t *testing.T) {
	tests := []struct {
		in     string
		quota  *int64
		period *uint64
	}{
		{"max 100000\n", i64(-1), u64(100000)},
		{"50000 100000\n", i64(50000), u64(100000)},
		{"max\n", i64(-1), nil},
	}
	for _, tt := range tests {
		q, p, err := parseCPUMax([]byte(tt.in))
		if err != nil || !reflect.DeepEqual(q, tt.quota) || !reflect.DeepEqual(p, tt.period) {
			t.Errorf("parseCPUMax(%q) = %v, %v, %v", tt.in, q, p, err)
		}
	}
	for _, in := range []string{"", "1 2 3", "max max", "-1 100000", "x 100000"} {
		if q, p, err := parseCPUMax([]byte(in)); err == nil {
			t.Errorf("parseCPUMax(%q) = %v, %v, want an error", in, q, p)
		}
	}
}

func TestParseFlatKeyed(t *testing.T) {
	b := readTestdata(t, "v1hybrid/root/sys/fs/cgroup/memory/docker/f5c0893ce5cc5766ca9d0036385a91172053db0e8fb37068214e7856f6b74953/memory.oom_control")
	got, err := ParseFlatKeyed(b)
	want := map[string]string{"oom_kill_disable": "0", "under_oom": "0", "oom_kill": "0"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseFlatKeyed(oom_control) = %v, %v, want %v", got, err, want)
	}
	// Blank lines and a key whose value is not a number are fine.
	got, err = ParseFlatKeyed([]byte("\na 1\n\nb text\n"))
	if want := map[string]string{"a": "1", "b": "text"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseFlatKeyed = %v, %v, want %v", got, err, want)
	}
	for _, in := range []string{"a", "a 1 2", "a 1\na 2"} {
		if got, err := ParseFlatKeyed([]byte(in)); err == nil {
			t.Errorf("ParseFlatKeyed(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseKeyUint(t *testing.T) {
	m := map[string]string{"n": "12", "bad": "-1"}
	if v, err := ParseKeyUint(m, "n"); err != nil || v == nil || *v != 12 {
		t.Errorf("ParseKeyUint(n) = %v, %v", v, err)
	}
	if v, err := ParseKeyUint(m, "absent"); err != nil || v != nil {
		t.Errorf("ParseKeyUint(absent) = %v, %v, want nil, nil", v, err)
	}
	if v, err := ParseKeyUint(nil, "n"); err != nil || v != nil {
		t.Errorf("ParseKeyUint(nil map) = %v, %v, want nil, nil", v, err)
	}
	if _, err := ParseKeyUint(m, "bad"); err == nil {
		t.Error("ParseKeyUint(bad): want an error")
	}
}

func TestUnitConversions(t *testing.T) {
	for in, want := range map[uint64]int64{0: 0, 268435456: 268435456, 1<<62 - 1: 1<<62 - 1, 1 << 62: -1,
		9223372036854771712: -1, 9223372036854710272: -1, math.MaxUint64: -1} {
		if got := v1MemoryLimit(in); got != want {
			t.Errorf("v1MemoryLimit(%d) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[uint64]uint64{0: 0, 1862350: 1862350000, math.MaxUint64 / 1000: math.MaxUint64 / 1000 * 1000, math.MaxUint64/1000 + 1: math.MaxUint64} {
		if got := usecToNs(in); got != want {
			t.Errorf("usecToNs(%d) = %d, want %d", in, got, want)
		}
	}
}
