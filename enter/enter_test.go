package enter

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ctr-enter/ctr-enter/enter/nsexec"
	"github.com/ctr-enter/ctr-enter/resolve"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// The exit codes are docker exec's: scripts test for them. They come from
// the constructor's header; an edit there must not move them.
func TestExitCodesAreDockers(t *testing.T) {
	if ExitTool != 125 || ExitCannotExec != 126 || ExitNotFound != 127 {
		t.Errorf("exit codes %d %d %d, want docker exec's 125 126 127", ExitTool, ExitCannotExec, ExitNotFound)
	}
	if ToolsDir != "/.ctr-enter" {
		t.Errorf("ToolsDir = %q: the documented path is /.ctr-enter", ToolsDir)
	}
}

func TestToolsChoice(t *testing.T) {
	if !(Tools{}).none() || OwnTools.none() || ImageTools("/img/rootfs").none() {
		t.Error("only the zero Tools is none")
	}
	if got := ImageTools("/img/rootfs").root(); got != "/img/rootfs" {
		t.Errorf("an image's tools come from %q", got)
	}
	// Not an image at "/": ctr-enter's own programs, wherever they are.
	if got := OwnTools.root(); got != ownToolsRoot() {
		t.Errorf("own tools come from %q, want %q", got, ownToolsRoot())
	}
}

func TestEnvironmentIsTheTargets(t *testing.T) {
	t.Setenv("HOST_CANARY", "leak")
	p := &resolve.Process{Target: &resolve.Target{Container: &runtimes.Container{Env: []string{"A=1", "B=2", nsexec.EnvVar + "=forged"}}}}
	got, err := environment(p, []string{"B=3", "C=4"}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=1", "B=3", "C=4", defaultPath}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("environment = %q, want %q", got, want)
	}
	t.Setenv("TERM", "screen")
	got, _ = environment(p, nil, true)
	if want := []string{"A=1", "B=2", defaultPath, "TERM=screen"}; !reflect.DeepEqual(got, want) {
		t.Errorf("environment with a tty = %q, want %q", got, want)
	}
	// Tools come after the target's own programs, whether the target has
	// a PATH or gets the default one.
	got, _ = environment(p, []string{"PATH=/app"}, false)
	withToolPath(got)
	if want := []string{"A=1", "B=2", "PATH=/app:" + toolPath}; !reflect.DeepEqual(got, want) {
		t.Errorf("environment with tools = %q, want %q", got, want)
	}
	got, _ = environment(p, nil, false)
	withToolPath(got)
	if want := []string{"A=1", "B=2", defaultPath + ":" + toolPath}; !reflect.DeepEqual(got, want) {
		t.Errorf("environment with tools = %q, want %q", got, want)
	}
}

func TestShebang(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		content string
		want    []string
	}{
		{"#!/bin/sh\necho hi\n", []string{"/bin/sh"}},
		{"#! /usr/bin/env  python3 \n", []string{"/usr/bin/env", "python3"}},
		{"\x7fELF....", nil},
		{"#!\n", nil},
	} {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte(tc.content), 0o755); err != nil {
			t.Fatal(err)
		}
		if got := shebang(p); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("shebang(%q) = %q, want %q", tc.content, got, tc.want)
		}
	}
}

func TestChildError(t *testing.T) {
	err := childError([]byte("127 2 execute"), "nope\x1b", "")
	e, ok := err.(*Error)
	if !ok || e.Code != ExitNotFound {
		t.Fatalf("childError = %#v", err)
	}
	if got := err.Error(); got != "execute nope?: no such file or directory" {
		t.Errorf("message %q", got)
	}
	if e := childError([]byte("junk"), "x", "").(*Error); e.Code != ExitTool {
		t.Errorf("malformed report gives code %d", e.Code)
	}
	// A working directory that is not there is named.
	if got := childError([]byte("125 2 "+cwdFailure), "pwd", "/no\x1bwhere").Error(); got != "change to the working directory /no?where: no such file or directory" {
		t.Errorf("cwd failure: %q", got)
	}
}
