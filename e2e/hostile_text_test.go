//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestHostileText: a container whose labels, environment, arguments,
// process name and cgroup path carry terminal escape sequences and newlines
// gets none of them to the operator's terminal through inspect or ls.
func TestHostileText(t *testing.T) {
	const name = "e2e-evil-text"
	// The container moves itself into a child cgroup named with escape
	// sequences (the kernel refuses a newline there), as any container
	// that can write its cgroupfs can, then renames its shell through
	// /proc/self/comm, newline included; its argument and environment
	// carry the same.
	script := `n=$(printf 'x\033]0;pwned\007\033[2J')
for c in memory pids; do
	p=$(sed -n "s/^[0-9]*:$c:\(.*\)/\1/p" /proc/self/cgroup)
	mkdir "/sys/fs/cgroup/$c$p/$n" && echo $$ > "/sys/fs/cgroup/$c$p/$n/cgroup.procs"
done
printf 'a\033[2Jb\nforged' > /proc/self/comm
while :; do sleep 1000; done`
	startDocker(t, name, "-v", "/sys/fs/cgroup:/sys/fs/cgroup",
		"--label", "evil\x1b]0;pwned\x07=x\nforged-label",
		"-e", "EVIL=a\x1b[2J\nforged-env\r",
		"ctr-enter-test/busybox", "sh", "-c", script, "arg\x1b[2J\nforged-arg")
	pid := dockerPID(t, name)
	waitFor(t, "the container to rename itself", func() bool {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		return strings.Contains(string(comm), "forged") && strings.Contains(string(cg), "pwned")
	})

	for _, args := range [][]string{{"inspect", "docker://" + name}, {"ls"}} {
		r := run(t, args...)
		if r.code != 0 {
			t.Errorf("%v: %v", args, r)
			continue
		}
		if args[0] == "inspect" && !strings.Contains(r.stdout, "pwned") {
			t.Errorf("%v does not show the cgroup path at all:\n%s", args, r.stdout)
		}
		checkNoControl(t, strings.Join(args, " ")+" stdout", r.stdout)
		checkNoControl(t, strings.Join(args, " ")+" stderr", r.stderr)
	}

	// JSON keeps the exact text, escaped, and follows the schema.
	m := inspectJSON(t, "docker://"+name)
	var names []string
	for _, p := range get(m, "processes").([]any) {
		names = append(names, fmt.Sprint(get(p, "name")))
	}
	if !slices.Contains(names, "a\x1b[2Jb\nforged") {
		t.Errorf("inspect --json process names %q lack the exact comm", names)
	}
	if env := strs(get(m, "env")); !slices.Contains(env, "EVIL=a\x1b[2J\nforged-env\r") {
		t.Errorf("inspect --json env %q lacks the exact variable", env)
	}
}

// checkNoControl fails if out holds an escape or any control character but
// the newlines that end lines, or a line a newline from a target forged.
func checkNoControl(t *testing.T, what, out string) {
	t.Helper()
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "forged") {
			t.Errorf("%s: line %d is forged: %q", what, i+1, line)
		}
		for _, r := range line {
			if (r < 0x20 && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Errorf("%s: line %d holds %U: %q", what, i+1, r, line)
				break
			}
		}
	}
}

// TestImagesImportUnpackLimit: an archive of a few hundred KiB whose layer
// unpacks to 64 MiB is refused under CTR_ENTER_MAX_UNPACK=16m, in one line
// that names the limit and how to raise it, and leaves nothing in the
// cache; under a higher limit it imports.
func TestImagesImportUnpackLimit(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "cache")
	archive := filepath.Join(dir, "zeros.tar")
	if err := os.WriteFile(archive, zerosArchive(t, 64<<20, "e2e-evil-zeros:1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(archive); fi.Size() > 1<<20 {
		t.Fatalf("the archive is %d bytes: not the small one the test wants", fi.Size())
	}
	before := cacheLeftovers(t, root)

	cmd := command("images", "import", archive)
	cmd.Env = append(cmd.Env, "CTR_ENTER_IMAGES="+root, "CTR_ENTER_MAX_UNPACK=16m")
	r := runCmd(t, cmd)
	// Progress lines first (stderr is not a terminal), then one error.
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if r.code != 125 || strings.Count(r.stderr, "ctr-enter: ") != 1 || !strings.HasPrefix(last, "ctr-enter: import "+archive+": ") ||
		!strings.Contains(last, "image too large") || !strings.Contains(last, "the limit of 16.0 MiB") || !strings.Contains(last, "CTR_ENTER_MAX_UNPACK=") {
		t.Errorf("import over the limit: %v", r)
	}
	if after := cacheLeftovers(t, root); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("a refused import left %v (before %v)", after, before)
	}
	if imgs := imagesLs(t, root); len(imgs) != 0 {
		t.Errorf("ls after a refused import: %+v", imgs)
	}

	// Raised as the message says, the same archive imports.
	cmd = command("images", "import", archive)
	cmd.Env = append(cmd.Env, "CTR_ENTER_IMAGES="+root, "CTR_ENTER_MAX_UNPACK=128m")
	if r := runCmd(t, cmd); r.code != 0 || !strings.HasPrefix(r.stdout, "docker.io/library/e2e-evil-zeros:1 ") {
		t.Errorf("import under a raised limit: %v", r)
	}
	if r := imagesRun(t, root, "rm", "e2e-evil-zeros:1"); r.code != 0 {
		t.Errorf("rm: %v", r)
	}
}

// zerosArchive is what docker save writes for an image of one gzip'd layer
// holding a file of size zero bytes, tagged tag.
func zerosArchive(t *testing.T, size int64, tag string) []byte {
	t.Helper()
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: size})
	if _, err := io.CopyN(tw, zeroReader{}, size); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(layer.Bytes())
	zw.Close()

	config, _ := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH, "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{fmt.Sprintf("sha256:%x", sha256.Sum256(layer.Bytes()))}},
	})
	cfgName := fmt.Sprintf("%x.json", sha256.Sum256(config))
	layerName := fmt.Sprintf("%x/layer.tar", sha256.Sum256(gz.Bytes()))
	manifest, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{tag}, "Layers": []string{layerName}}})

	var out bytes.Buffer
	tw = tar.NewWriter(&out)
	for _, f := range []struct {
		name string
		body []byte
	}{{cfgName, config}, {layerName, gz.Bytes()}, {"manifest.json", manifest}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body))})
		tw.Write(f.body)
	}
	tw.Close()
	return out.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
