package runtimes

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"256m": 256 << 20, "256M": 256 << 20, "1g": 1 << 30, "4096": 4096, "10k": 10240, "max": -1, "-1": -1} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "0", "-5m", "1.5g", "12x", "99999999999t", "1 m"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}
