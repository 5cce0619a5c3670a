package enter

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ctr-enter/ctr-enter/resolve"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// lookupIn is a LookupEnv over a fixed environment.
func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestExplicitEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "app.env")
	content := "\xef\xbb\xbfA=1\n  # a comment\n\n   B= spaced value \nTOKEN\nABSENT\nC=x=y\nQ=\"quoted\"\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	lookup := lookupIn(map[string]string{"TOKEN": "s3cret", "USERNAME": "op"})
	got, err := explicitEnv([]string{file}, []string{"A=2", "USERNAME", "GONE"}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	// docker's rules: a file's values as they are, a bare name from
	// ctr-enter's environment (left out of a file when unset, kept bare
	// from -e, to remove it), -e after the files.
	want := []string{"A=1", "B= spaced value ", "TOKEN=s3cret", "C=x=y", `Q="quoted"`, "A=2", "USERNAME=op", "GONE"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("explicitEnv = %q\nwant %q", got, want)
	}

	for content, msg := range map[string]string{
		"=1\n":           "line 1: no variable name",
		"OK=1\nA B=1\n":  `line 2: variable "A B" contains blanks`,
		"X=\xff\n":       "line 1: invalid UTF-8",
		"OK=1\n\tA\tB\n": `line 2: variable "A\tB" contains blanks`,
	} {
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := explicitEnv([]string{file}, nil, lookup)
		if want := "--env-file " + file + ": " + msg; err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", content, err, want)
		}
	}
	if _, err := explicitEnv([]string{filepath.Join(dir, "none")}, nil, lookup); err == nil || !strings.Contains(err.Error(), "none: no such file or directory") {
		t.Errorf("missing file: %v", err)
	}
}

func TestEnvironmentRemovesBareNames(t *testing.T) {
	p := &resolve.Process{Target: &resolve.Target{Container: &runtimes.Container{Env: []string{"A=1", "B=2", "HOME=/app"}}}}
	got, err := environment(p, []string{"B", "C=3", "X", "HOME=/x"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"A=1", "HOME=/x", "C=3", defaultPath}; !reflect.DeepEqual(got, want) {
		t.Errorf("environment = %q, want %q", got, want)
	}
	// A removed PATH gets docker's default, as a missing one does.
	got, _ = environment(p, []string{"PATH"}, false)
	if want := []string{"A=1", "B=2", "HOME=/app", defaultPath}; !reflect.DeepEqual(got, want) {
		t.Errorf("environment without PATH = %q, want %q", got, want)
	}
}
