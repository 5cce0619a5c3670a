package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/ctr-enter/ctr-enter/internal/term"
)

// writeJSON prints v as every --json does: indented by two spaces, ending
// with a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeList prints rows for programs (asJSON: an array, [] rather than
// null when there are none) or for people: a table under header, one row
// of cells each, columns two spaces apart. cells says what of a row a
// person sees, cleaned by the caller of what the runtimes let anyone put
// in a name.
func writeList[T any](w io.Writer, asJSON bool, rows []T, header []string, cells func(T) []string) error {
	if asJSON {
		if rows == nil {
			rows = []T{}
		}
		return writeJSON(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(cells(r), "\t"))
	}
	return tw.Flush()
}

// colorOn reports whether output to f may be coloured: on a terminal,
// unless NO_COLOR is set (no-color.org).
func colorOn(f *os.File) bool {
	return term.IsTerminal(f) && os.Getenv("NO_COLOR") == ""
}
