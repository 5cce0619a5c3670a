//go:build e2e

package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkBusyboxTree runs the unpacked tree's own busybox: the tree is whole.
func checkBusyboxTree(t *testing.T, root string, img cachedImage) {
	t.Helper()
	if !strings.HasPrefix(img.RootFS, root+"/") {
		t.Errorf("rootfs %s is not in the cache %s", img.RootFS, root)
	}
	out, err := exec.Command(filepath.Join(img.RootFS, "bin/busybox"), "echo", "from the tree").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "from the tree" {
		t.Errorf("%s/bin/busybox: %v: %s", img.RootFS, err, out)
	}
}

// TestImagesRegistryPull pulls from the real registry, lists, and removes.
func TestImagesRegistryPull(t *testing.T) {
	root := filepath.Join(t.TempDir(), "cache")
	want := registryDigest(t, "busybox", "latest")

	r := imagesRun(t, root, "pull", "--from", "registry", registryImage)
	if r.code != 0 || strings.TrimSpace(r.stdout) != registryImage+":latest "+want {
		t.Fatalf("pull: %v", r)
	}
	// Not a terminal: plain progress lines.
	for _, re := range []string{
		`(?m)^pulling 127\.0\.0\.1:5000/busybox:latest from registry$`,
		`(?m)^layer sha256:[0-9a-f]{12} [0-9.]+ (B|KiB|MiB) done$`,
		`(?m)^unpacked 127\.0\.0\.1:5000/busybox:latest ` + want + `$`,
	} {
		if !regexpMatch(re, r.stderr) {
			t.Errorf("progress lacks %s:\n%s", re, r.stderr)
		}
	}
	if strings.ContainsAny(r.stderr, "\r\x1b") {
		t.Errorf("terminal control in progress to a pipe: %q", r.stderr)
	}

	imgs := imagesLs(t, root)
	if len(imgs) != 1 || imgs[0].Ref != registryImage+":latest" || imgs[0].Digest != want || imgs[0].Source != "registry" || imgs[0].Size <= 0 {
		t.Fatalf("ls --json: %+v, want digest %s", imgs, want)
	}
	checkBusyboxTree(t, root, imgs[0])
	r = imagesRun(t, root, "ls")
	if r.code != 0 || !regexpMatch(`(?m)^127\.0\.0\.1:5000/busybox:latest\s+`+want[7:19]+`\s+[0-9.]+ (KiB|MiB)\s+registry\s`, r.stdout) {
		t.Errorf("ls: %v", r)
	}

	// rm leaves no blob, no tree, nothing half-done.
	if r := imagesRun(t, root, "rm", registryImage); r.code != 0 {
		t.Fatalf("rm: %v", r)
	}
	if l := cacheLeftovers(t, root); len(l) != 0 {
		t.Errorf("rm left %v", l)
	}
	if imgs := imagesLs(t, root); len(imgs) != 0 {
		t.Errorf("ls after rm: %+v", imgs)
	}
	if _, err := os.Stat(imgs[0].RootFS); !os.IsNotExist(err) {
		t.Errorf("the tree is still there: %v", err)
	}
}

// TestImagesPullErrors: an unknown image and an unreachable registry each
// give one line and leave nothing in the cache.
func TestImagesPullErrors(t *testing.T) {
	root := filepath.Join(t.TempDir(), "cache")
	for ref, want := range map[string]string{
		"127.0.0.1:5000/nothere:latest": "no such image",
		"127.0.0.1:5999/busybox:latest": "image source unavailable",
	} {
		r := imagesRun(t, root, "pull", ref)
		if r.code != 125 || !strings.HasPrefix(r.stderr, "ctr-enter: pull "+ref+": "+want+": ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("pull %s: %v", ref, r)
		}
	}
	if l := cacheLeftovers(t, root); len(l) != 0 {
		t.Errorf("failed pulls left %v", l)
	}
}

// TestImagesImportDockerSave imports docker save output: no registry,
// no runtime involved.
func TestImagesImportDockerSave(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "cache")
	archive := filepath.Join(dir, "busybox.tar")
	sh(t, "docker", "save", "-o", archive, "ctr-enter-test/busybox:latest")

	r := imagesRun(t, root, "import", archive)
	if r.code != 0 || !regexpMatch(`^docker\.io/ctr-enter-test/busybox:latest sha256:[0-9a-f]{64}\n$`, r.stdout) {
		t.Fatalf("import: %v", r)
	}
	if r := imagesRun(t, root, "import", archive, "--name", "tools:1"); r.code != 0 || !strings.HasPrefix(r.stdout, "docker.io/library/tools:1 ") {
		t.Fatalf("import --name: %v", r)
	}
	imgs := imagesLs(t, root)
	if len(imgs) != 2 || imgs[0].Source != "import" || imgs[0].Digest != imgs[1].Digest || imgs[0].RootFS != imgs[1].RootFS {
		t.Fatalf("ls: %+v", imgs)
	}
	checkBusyboxTree(t, root, imgs[0])
	before := cacheLeftovers(t, root)

	garbage := filepath.Join(dir, "garbage.tar")
	os.WriteFile(garbage, []byte(strings.Repeat("not a tarball ", 200)), 0o600)
	r = imagesRun(t, root, "import", garbage)
	if r.code != 125 || !strings.Contains(r.stderr, "invalid image archive") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("import garbage: %v", r)
	}
	if after := cacheLeftovers(t, root); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("a failed import left %v (before %v)", after, before)
	}

	if r := imagesRun(t, root, "rm", "ctr-enter-test/busybox", "tools:1"); r.code != 0 {
		t.Fatalf("rm: %v", r)
	}
	if l := cacheLeftovers(t, root); len(l) != 0 {
		t.Errorf("rm left %v", l)
	}
}

// TestImagesPullFromRuntimes takes the image the node already has, from
// containerd (namespace e2e) and from Docker, and by default from
// containerd first.
func TestImagesPullFromRuntimes(t *testing.T) {
	const ref = "docker.io/ctr-enter-test/busybox:latest"
	// containerd's own digest of it (the import made it a manifest).
	var ctrDigest string
	for _, line := range strings.Split(sh(t, "ctr", "-n", "e2e", "images", "ls"), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == ref && strings.Contains(f[1], "manifest.v2") {
			ctrDigest = f[2]
		}
	}
	if ctrDigest == "" {
		t.Fatalf("containerd namespace e2e has no manifest for %s", ref)
	}
	for _, tc := range []struct{ from, ref, source, progress string }{
		{"containerd", ref, "containerd", "pulling " + ref + " from containerd namespace e2e"},
		{"docker", "ctr-enter-test/busybox:latest", "docker", "pulling " + ref + " from docker"},
		{"", "ctr-enter-test/busybox", "containerd", "from containerd"},
	} {
		t.Run("from="+tc.from, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "cache")
			args := []string{"pull", tc.ref}
			if tc.from != "" {
				args = append(args, "--from", tc.from)
			}
			r := imagesRun(t, root, args...)
			if r.code != 0 || !strings.Contains(r.stderr, tc.progress) {
				t.Fatalf("pull: %v", r)
			}
			imgs := imagesLs(t, root)
			if len(imgs) != 1 || imgs[0].Ref != ref || imgs[0].Source != tc.source {
				t.Fatalf("ls: %+v", imgs)
			}
			if tc.source == "containerd" && imgs[0].Digest != ctrDigest {
				t.Errorf("digest %s, containerd says %s", imgs[0].Digest, ctrDigest)
			}
			checkBusyboxTree(t, root, imgs[0])
		})
	}
}

// TestImagesKilledPull kills pulls at points spread over the later part
// of a whole pull's time, where the tree is unpacked: the cache never
// names a tree that is not whole, not even after the next pull (which
// would take a half tree left in place for the whole one), and prune then
// leaves only the image.
func TestImagesKilledPull(t *testing.T) {
	const ref = "docker.io/ctr-enter-test/redis:latest"
	root := filepath.Join(t.TempDir(), "cache")
	start := time.Now()
	if r := imagesRun(t, root, "pull", "--from", "containerd", ref); r.code != 0 {
		t.Fatalf("pull: %v", r)
	}
	whole := time.Since(start)
	entries := countEntries(t, imagesLs(t, root)[0].RootFS)
	if entries < 100 {
		t.Fatalf("the redis image's tree has only %d entries", entries)
	}
	const n = 10
	interrupted := 0
	for i := 0; i < n; i++ {
		if r := imagesRun(t, root, "rm", ref); r.code != 0 {
			t.Fatalf("rm: %v", r)
		}
		cmd := command("images", "pull", "--from", "containerd", ref)
		cmd.Env = append(cmd.Env, "CTR_ENTER_IMAGES="+root)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(whole * time.Duration(3*n+7*i) / time.Duration(10*n))
		cmd.Process.Kill()
		cmd.Wait()
		if l := cacheLeftovers(t, root); len(l) > 0 {
			interrupted++
		}
		when := fmt.Sprintf("killed after %d/%d", 3*n+7*i, 10*n)
		checkWhole(t, root, entries, when)
		if r := imagesRun(t, root, "pull", "--from", "containerd", ref); r.code != 0 {
			t.Fatalf("pull after a kill: %v", r)
		}
		checkWhole(t, root, entries, "the pull "+when)
	}
	t.Logf("%d of %d kills left something to clean", interrupted, n)
	if r := imagesRun(t, root, "prune"); r.code != 0 {
		t.Fatalf("prune: %v", r)
	}
	if imgs := imagesLs(t, root); len(imgs) != 1 {
		t.Fatalf("ls: %+v", imgs)
	}
	// What is left: its blobs (manifest, config, layers) and its tree.
	var trees, other int
	for _, l := range cacheLeftovers(t, root) {
		switch {
		case strings.HasPrefix(l, "trees/"):
			trees++
		case !strings.HasPrefix(l, "content/blobs/"):
			other++
		}
	}
	if trees != 1 || other != 0 {
		t.Errorf("after prune: %v", cacheLeftovers(t, root))
	}
}

// checkWhole checks that each tree the cache names has as many entries as
// a tree from an uninterrupted pull.
func checkWhole(t *testing.T, root string, entries int, when string) {
	t.Helper()
	for _, img := range imagesLs(t, root) {
		if n := countEntries(t, img.RootFS); n != entries {
			t.Errorf("%s: %s names a tree of %d entries, not %d", when, img.Ref, n, entries)
		}
	}
}

func countEntries(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(string, fs.DirEntry, error) error { n++; return nil })
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return n
}
