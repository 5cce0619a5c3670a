package main

import (
	"bytes"
	"testing"
)

// listed is what writeList prints of rows.
func listed[T any](t *testing.T, asJSON bool, rows []T, header []string, cells func(T) []string) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeList(&b, asJSON, rows, header, cells); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// printsList checks that writeList prints want of rows, for what (a
// command line).
func printsList[T any](t *testing.T, what string, asJSON bool, rows []T, header []string, cells func(T) []string, want string) {
	t.Helper()
	if got := listed(t, asJSON, rows, header, cells); got != want {
		t.Errorf("%s:\n%s\nwant:\n%s", what, got, want)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	v := map[string]any{"b": []int{1, 2}, "a": "<&>", "c": map[string]any{}}
	if err := writeJSON(&b, v); err != nil {
		t.Fatal(err)
	}
	// Two-space indent, one newline at the end, keys sorted, and HTML
	// characters escaped, as encoding/json's Encoder does by default.
	want := `{
  "a": "\u003c\u0026\u003e",
  "b": [
    1,
    2
  ],
  "c": {}
}
`
	if b.String() != want {
		t.Errorf("writeJSON:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestWriteList(t *testing.T) {
	type row struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	cells := func(r row) []string { return []string{r.Name, "x"} }
	for _, tc := range []struct {
		name   string
		asJSON bool
		rows   []row
		want   string
	}{
		{"table", false, []row{{"a", 1}, {"longer", 2}}, "" +
			"NAME    X\n" +
			"a       x\n" +
			"longer  x\n"},
		// A header and no row: the table's columns still line up.
		{"empty table", false, nil, "NAME  X\n"},
		{"json", true, []row{{"a", 1}}, "[\n  {\n    \"name\": \"a\",\n    \"n\": 1\n  }\n]\n"},
		// An empty list is [], never null, whether the slice is nil or not.
		{"json of nil", true, nil, "[]\n"},
		{"json of none", true, []row{}, "[]\n"},
	} {
		if got := listed(t, tc.asJSON, tc.rows, []string{"NAME", "X"}, cells); got != tc.want {
			t.Errorf("%s:\n%q\nwant\n%q", tc.name, got, tc.want)
		}
	}
}
