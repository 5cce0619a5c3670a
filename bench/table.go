package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// table is what every benchmark prints: a title, one row per thing
// measured (its name, then cells such as a median and a ratio), and the
// goals it is judged by, each with its verdict. One printer, so that the
// tables read alike and a new benchmark cannot get the alignment wrong.
type table struct {
	title string
	rows  [][]string
	goals []string
}

func newTable(format string, args ...any) *table {
	return &table{title: fmt.Sprintf(format, args...)}
}

// row adds one measured thing: its name, then its cells.
func (t *table) row(name string, cells ...string) {
	t.rows = append(t.rows, append([]string{name}, cells...))
}

// times adds a row per contender: its median, and its ratio to the
// median of cs[base], named vs.
func (t *table) times(cs []contender, med []time.Duration, base int, vs string) {
	for i, c := range cs {
		t.row(c.name, fmtMs(med[i]), ratio(float64(med[i]), float64(med[base]))+" "+vs)
	}
}

// goal adds a goal, what it asks, the value measured, and whether it is met.
func (t *table) goal(what, value string, ok bool) {
	t.goals = append(t.goals, fmt.Sprintf("%s: %s (%s)", what, value, verdict(ok)))
}

// note adds a figure to the goals' line that is no goal of its own.
func (t *table) note(what, value string) {
	t.goals = append(t.goals, what+": "+value)
}

// print writes the table to standard output.
func (t *table) print() { t.write(os.Stdout) }

// write writes the title, the rows with their names left-aligned and
// their cells right-aligned in columns, and the goals on one line.
func (t *table) write(w io.Writer) {
	fmt.Fprintln(w, t.title)
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			switch {
			case i == 0 && len(r) == 1:
				b.WriteString(c)
			case i == 0:
				fmt.Fprintf(&b, "%-*s", widths[0], c)
			default:
				fmt.Fprintf(&b, "  %*s", widths[i], c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
	if len(t.goals) > 0 {
		fmt.Fprintln(w, "Goal: "+strings.Join(t.goals, "; "))
	}
}

// ratio is a/b as the tables print it: "1.23x".
func ratio(a, b float64) string { return fmt.Sprintf("%.2fx", a/b) }

func fmtMs(d time.Duration) string { return fmt.Sprintf("%.2f ms", ms(d)) }

func fmtMiB(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
