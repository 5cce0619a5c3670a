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

func TestLoginShell(t *testing.T) {
	passwd := []byte("root:x:0:0:root:/root:/bin/bash\nredis:x:999:999::/data:/sbin/nologin\nbad line\napp:x:1000:1000::/home/app:\n")
	for uid, want := range map[int]string{0: "/bin/bash", 999: "/sbin/nologin", 1000: "", 5: ""} {
		if got := loginShell(passwd, uid); got != want {
			t.Errorf("loginShell(%d) = %q, want %q", uid, got, want)
		}
	}
}

func TestMapToNamespace(t *testing.T) {
	m := []byte("         0     100000      65536\n")
	if got, err := mapToNamespace(m, 100999); err != nil || got != 999 {
		t.Errorf("mapToNamespace = %d, %v", got, err)
	}
	if _, err := mapToNamespace(m, 0); err == nil {
		t.Error("unmapped id mapped")
	}
	if got, _ := mapToNamespace([]byte("0 0 4294967295\n"), 1000); got != 1000 {
		t.Errorf("identity map gave %d", got)
	}
}

func TestResolveUser(t *testing.T) {
	passwd := []byte("root:x:0:0:root:/root:/bin/sh\nredis:x:999:998::/data:/sbin/nologin\n# comment\nbad\n")
	group := []byte("root:x:0:\nredis:x:998:\nwheel:x:10:admin,redis\nnogroup:x:65534:\n")
	for spec, want := range map[string][3]any{
		"redis":         {999, 998, []int{998, 10}},
		"999":           {999, 998, []int{998, 10}},
		"redis:nogroup": {999, 65534, []int{65534, 10}},
		"1234":          {1234, 0, []int{0}},
		"1234:5678":     {1234, 5678, []int{5678}},
		"root:10":       {0, 10, []int{10}},
	} {
		c, err := resolveUser(spec, passwd, group)
		if err != nil {
			t.Errorf("resolveUser(%q): %v", spec, err)
			continue
		}
		if got := [3]any{c.uid, c.gid, c.groups}; !reflect.DeepEqual(got, want) {
			t.Errorf("resolveUser(%q) = %v, want %v", spec, got, want)
		}
	}
	for _, spec := range []string{"nosuch", "redis:nosuch", "", ":0", "-1", "bad"} {
		if _, err := resolveUser(spec, passwd, group); err == nil {
			t.Errorf("resolveUser(%q) accepted", spec)
		}
	}
}
