package procfs

import "testing"

// rest is a stat line's fields after the state, from the PPID (1) to the
// start time (424242) and two more.
const rest = " 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 424242 1000 100"

func TestParseStat(t *testing.T) {
	// The command name is the process's to choose: ") S 1 2 ..." in it
	// must not shift the fields.
	for _, tc := range []struct {
		in   string
		want Stat
		err  bool
	}{
		{in: "42 (sleep) S" + rest, want: Stat{"sleep", 'S', 1, 4194560, 424242}},
		{in: "42 (a) Z 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 7 (b) R" + rest, want: Stat{"a) Z 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 7 (b", 'R', 1, 4194560, 424242}},
		{in: "42 (x y) T" + rest + " 0 0", want: Stat{"x y", 'T', 1, 4194560, 424242}},
		{in: "42 (sleep) S 1 1", err: true},
		{in: "42 sleep S" + rest, err: true},
		{in: "42 (sleep) S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 x", err: true},
		{in: "42 (sleep) S x" + rest[2:], err: true},
		// PF_EXITING (4) among the flags of a process on its way out.
		{in: "42 (sleep) S 1 1 1 0 -1 4194564 100 0 0 0 1 2 0 0 20 0 1 0 424242", want: Stat{"sleep", 'S', 1, 4194564, 424242}},
		{in: "42 (sleep) S 1 1 1 0 -1 flags 100 0 0 0 1 2 0 0 20 0 1 0 424242", err: true},
	} {
		s, err := ParseStat([]byte(tc.in))
		if (err != nil) != tc.err || (err == nil && *s != tc.want) {
			t.Errorf("ParseStat(%q) = %+v, %v; want %+v, error %v", tc.in, s, err, tc.want, tc.err)
		}
	}
}

// FuzzParseStat: no input makes ParseStat panic (the name and the fields
// are sliced by positions the process chooses).
func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (sleep) S" + rest))
	f.Add([]byte("42 (a) b) R" + rest))
	f.Add([]byte(")("))
	f.Fuzz(func(t *testing.T, b []byte) { ParseStat(b) })
}
