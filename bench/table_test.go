package main

import (
	"strings"
	"testing"
	"time"
)

func TestTableWrite(t *testing.T) {
	tb := newTable("Title %d", 3)
	tb.times([]contender{{name: "short"}, {name: "a longer name"}}, []time.Duration{10 * time.Millisecond, 25 * time.Millisecond}, 0, "base")
	tb.row("only a name")
	tb.goal("within 2x", "2.50x", false)
	tb.goal("fast", "1.00x", true)
	tb.note("beside", "3.0x")
	var b strings.Builder
	tb.write(&b)
	want := `Title 3
  short          10.00 ms  1.00x base
  a longer name  25.00 ms  2.50x base
  only a name
Goal: within 2x: 2.50x (NOT met); fast: 1.00x (met); beside: 3.0x
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestTableNoGoals(t *testing.T) {
	tb := newTable("T")
	tb.row("a", "1", "22")
	tb.row("bb", "333", "4")
	var b strings.Builder
	tb.write(&b)
	want := "T\n  a     1  22\n  bb  333   4\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestChoose(t *testing.T) {
	ss := []section{{name: "a", on: true}, {name: "b", on: false}, {name: "c", on: true}}
	names := func(ss []section) string {
		var n []string
		for _, s := range ss {
			n = append(n, s.name)
		}
		return strings.Join(n, ",")
	}
	if got, err := choose(ss, ""); err != nil || names(got) != "a,c" {
		t.Errorf(`choose "": %q, %v; want the sections on, a,c`, names(got), err)
	}
	// -only runs a section its own flag turned off, in the bench's order.
	if got, err := choose(ss, "c,b"); err != nil || names(got) != "b,c" {
		t.Errorf(`choose "c,b": %q, %v; want b,c`, names(got), err)
	}
	if _, err := choose(ss, "a,zz"); err == nil || !strings.Contains(err.Error(), `"zz"`) {
		t.Errorf(`choose "a,zz": %v; want an error naming zz`, err)
	}
}

func TestDescendantsOf(t *testing.T) {
	parents := map[int]int{10: 1, 11: 10, 12: 11, 13: 1, 14: 13}
	got := descendantsOf(10, parents)
	if len(got) != 2 || !(got[0] == 11 && got[1] == 12 || got[0] == 12 && got[1] == 11) {
		t.Errorf("descendantsOf(10) = %v, want 11 and 12", got)
	}
}
