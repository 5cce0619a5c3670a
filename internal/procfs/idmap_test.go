package procfs

import (
	"reflect"
	"testing"
)

func TestParseIDMap(t *testing.T) {
	// As the kernel prints them: right-aligned in 10 columns.
	m, err := ParseIDMap([]byte("         0     100000      65536\n     65536          0          1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (IDMap{{0, 100000, 65536}, {65536, 0, 1}}); !reflect.DeepEqual(m, want) {
		t.Errorf("got %v, want %v", m, want)
	}
	for outside, inside := range map[int]int{100000: 0, 100999: 999, 165535: 65535, 0: 65536} {
		if got, err := m.Inside(outside); err != nil || got != inside {
			t.Errorf("Inside(%d) = %d, %v; want %d", outside, got, err, inside)
		}
	}
	for _, outside := range []int{1, 99999, 165536, -1, 1 << 32} {
		if got, err := m.Inside(outside); err == nil {
			t.Errorf("Inside(%d) = %d, want an error", outside, got)
		}
	}
	identity, err := ParseIDMap([]byte("0 0 4294967295\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{0, 1000, 1<<32 - 2} {
		if got, err := identity.Inside(id); err != nil || got != id {
			t.Errorf("identity Inside(%d) = %d, %v", id, got, err)
		}
	}
	if got, err := identity.Inside(1<<32 - 1); err == nil {
		t.Errorf("identity Inside(2^32-1) = %d: the last id is not mapped", got)
	}
	if m, err := ParseIDMap(nil); err != nil || m != nil {
		t.Errorf("ParseIDMap(nil) = %v, %v", m, err)
	}
	for _, in := range []string{
		"0 0", "0 0 1 1", "x 0 1", "0 -1 1", "0 0 0", "0 0 4294967296",
		"1 0 4294967295", "0 4294967295 2", "0 0 1\nbad",
	} {
		if m, err := ParseIDMap([]byte(in)); err == nil {
			t.Errorf("ParseIDMap(%q) = %v, want an error", in, m)
		}
	}
}

func TestParseEnviron(t *testing.T) {
	got := ParseEnviron([]byte("A=1\x00=nameless\x00B==2\x00junk\x00\x00C=\x00"))
	if want := []string{"A=1", "B==2", "C="}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := ParseEnviron(nil); got != nil {
		t.Errorf("ParseEnviron(nil) = %q", got)
	}
}

func TestParseCmdline(t *testing.T) {
	for in, want := range map[string][]string{
		"sleep\x00100\x00": {"sleep", "100"},
		"a b\x00\x00c\x00": {"a b", "", "c"},
		// Rewritten by the process, without the final NUL.
		"nginx: worker": {"nginx: worker"},
		"":              nil,
	} {
		if got := ParseCmdline([]byte(in)); !reflect.DeepEqual(got, want) {
			t.Errorf("ParseCmdline(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseLSMLabel(t *testing.T) {
	for in, want := range map[string]string{
		"docker-default (enforce)\n":           "docker-default (enforce)",
		"system_u:system_r:container_t:s0\x00": "system_u:system_r:container_t:s0",
		"unconfined\n\x00":                     "unconfined",
		"":                                     "",
	} {
		if got := ParseLSMLabel([]byte(in)); got != want {
			t.Errorf("ParseLSMLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
