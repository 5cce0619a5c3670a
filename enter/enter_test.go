package enter

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/enter/nsexec"
	"github.com/ctr-enter/ctr-enter/internal/nskind"
	"github.com/ctr-enter/ctr-enter/resolve"
)

func TestPlanString(t *testing.T) {
	p := plan{pidfd: 3, errFd: 4, execFd: -1, confineFd: 7, toolsFd: 8, cgroupFd: 9, ns: nskind.Net | nskind.PID, ownRoot: true, stop: true, uid: -1, gid: -1, ppid: 99, cwd: "/a dir/x"}
	want := fmt.Sprintf("pidfd=3 ns=%d err=4 exec=-1 own=1 tty=0 uid=-1 gid=-1 ppid=99 confine=7 cgfd=9 tools=8 stop=1 cwd=/a dir/x", unix.CLONE_NEWNET|unix.CLONE_NEWPID)
	if got := p.String(); got != want {
		t.Errorf("plan = %q, want %q", got, want)
	}
}

func TestEnvironmentIsTheTargets(t *testing.T) {
	t.Setenv("HOST_CANARY", "leak")
	p := &resolve.Process{Target: &resolve.Target{Env: []string{"A=1", "B=2", nsexec.EnvVar + "=forged"}}}
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
	err := childError([]byte("127 2 execute"), "nope\x1b")
	e, ok := err.(*Error)
	if !ok || e.Code != ExitNotFound {
		t.Fatalf("childError = %#v", err)
	}
	if got := err.Error(); got != "execute nope?: no such file or directory" {
		t.Errorf("message %q", got)
	}
	if e := childError([]byte("junk"), "x").(*Error); e.Code != ExitTool {
		t.Errorf("malformed report gives code %d", e.Code)
	}
}
