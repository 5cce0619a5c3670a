package enter

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ctr-enter/ctr-enter/enter/nsexec"
)

// fillLaunchers on an image's tree: a link per program, each resolved
// inside the tree, with the loader a dynamically linked one names; links
// out of the tree and directories get none.
func TestFillLaunchers(t *testing.T) {
	tree := t.TempDir()
	// The test binary: dynamically linked (cgo) unless built static.
	dynamic, err := filepath.EvalSymlinks("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	interp := elfInterp(dynamic)
	write := func(name string, data []byte) {
		t.Helper()
		p := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := func(name, target string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(tree, name)); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.ReadFile(dynamic)
	if err != nil {
		t.Fatal(err)
	}
	write("usr/bin/tool", exe)
	write("usr/bin/script", []byte("#!/bin/sh\n"))
	write("sbin/tool", []byte("#!/bin/sh\n")) // shadowed: usr/bin comes first on PATH
	if err := os.MkdirAll(filepath.Join(tree, "usr/bin/adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	link("bin", "usr/bin")
	link("usr/bin/alias", "tool")
	link("usr/bin/escape", "../../../../../../etc/passwd")
	if interp != "" {
		write(interp, []byte("loader"))
	}

	out := filepath.Join(t.TempDir(), "launchers")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fillLaunchers(out, toolsTree{root: tree, host: tree}); err != nil {
		t.Fatal(err)
	}
	readlink := func(dir, name string) string {
		l, _ := os.Readlink(filepath.Join(out, dir, name))
		return l
	}
	root := ToolsDir + "/" + nsexec.ToolsRoot
	for name, want := range map[string]string{
		"tool":   root + "/usr/bin/tool",
		"alias":  root + "/usr/bin/tool",
		"script": root + "/usr/bin/script",
		"escape": "",
		"adir":   "",
	} {
		if got := readlink(nsexec.ToolsWhich, name); got != want {
			t.Errorf("which/%s = %q, want %q", name, got, want)
		}
		launcher := ""
		if want != "" {
			launcher = ToolsDir + "/" + nsexec.Launcher
		}
		if got := readlink(nsexec.ToolsBin, name); got != launcher {
			t.Errorf("bin/%s = %q, want %q", name, got, launcher)
		}
	}
	wantLd := ""
	if interp != "" {
		wantLd = root + interp
	}
	if got := readlink(nsexec.ToolsLd, "tool"); got != wantLd {
		t.Errorf("ld/tool = %q, want %q (PT_INTERP %q)", got, wantLd, interp)
	}
	if got := readlink(nsexec.ToolsLd, "script"); got != "" {
		t.Errorf("ld/script = %q, want none", got)
	}
}

func TestElfInterp(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"script": "#!/bin/sh\n",
		"empty":  "",
		"short":  "\x7fELF\x02",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
		if got := elfInterp(p); got != "" {
			t.Errorf("%s: %q", name, got)
		}
	}
	// A Debian host's own /bin/sh is dynamically linked.
	if got := elfInterp("/bin/sh"); got != "" && got[0] != '/' {
		t.Errorf("/bin/sh: %q", got)
	}
}
