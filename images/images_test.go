package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/containerd/log"
	"github.com/containerd/platforms"
	"github.com/creack/pty"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctr-enter/ctr-enter/runtimes"
)

func init() {
	// containerd's content store and resolver log to stderr.
	log.SetLevel("error")
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                        "docker.io/library/busybox:latest",
		"busybox:1.36":                   "docker.io/library/busybox:1.36",
		"ctr-enter-test/busybox":         "docker.io/ctr-enter-test/busybox:latest",
		"docker.io/library/busybox":      "docker.io/library/busybox:latest",
		"127.0.0.1:5000/busybox":         "127.0.0.1:5000/busybox:latest",
		"localhost/tools:v2":             "localhost/tools:v2",
		"ghcr.io/a/b@sha256:" + hex64(1): "ghcr.io/a/b@sha256:" + hex64(1),
	} {
		if got, err := Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "Busybox", "a b", "busybox:", "x@sha256:short"} {
		if _, err := Normalize(bad); !errors.Is(err, ErrInvalidRef) {
			t.Errorf("Normalize(%q): %v, want ErrInvalidRef", bad, err)
		}
	}
}

func hex64(n int) string { return fmt.Sprintf("%064x", n) }

func TestAuths(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	dir := t.TempDir()
	cfg := `{"auths": {
		"https://index.docker.io/v1/": {"auth": "` + b64("hub:hubpass") + `"},
		"127.0.0.1:5000": {"username": "u", "password": "p:with:colons"},
		"https://ghcr.io": {"auth": "` + b64("x:tok:en") + `"},
		"quay.io": {"identitytoken": "refresh"}
	}}`
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600)
	t.Setenv("DOCKER_CONFIG", dir)
	a, err := loadAuths()
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string][2]string{
		"registry-1.docker.io": {"hub", "hubpass"}, // what the resolver asks for docker.io
		"127.0.0.1:5000":       {"u", "p:with:colons"},
		"ghcr.io":              {"x", "tok:en"}, // only the first colon separates
		"quay.io":              {"", "refresh"},
		"example.com":          {"", ""},
	} {
		u, s, err := a.credentials(host)
		if err != nil || u != want[0] || s != want[1] {
			t.Errorf("credentials(%s) = %q, %q, %v; want %q", host, u, s, err, want)
		}
	}
	for _, bad := range []string{`{"auths": {"h": {"auth": "!!"}}}`, `{"auths": {"h": {"auth": "` + b64("nocolon") + `"}}}`, `{`} {
		if _, err := parseAuths([]byte(bad)); err == nil {
			t.Errorf("parseAuths(%s) accepted", bad)
		}
	}
	// No config at all is no credentials, not an error.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	if a, err := loadAuths(); err != nil || len(a) != 0 {
		t.Errorf("no config: %v, %v", a, err)
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:5000": true, "127.1.2.3:80": true, "127.0.0.1": true, "localhost:5000": true,
		"[::1]:5000": true, "::1": true, "10.0.0.1:5000": false, "docker.io": false, "registry.local:5000": false,
	} {
		if got, _ := isLoopback(host); got != want {
			t.Errorf("isLoopback(%s) = %v", host, got)
		}
	}
}

// A test image: two layers, the second deleting a file of the first with a
// whiteout and replacing another.
type testImage struct {
	layers  [][]byte // as stored: the first gzip'd, the second plain
	diffIDs []digest.Digest
	config  []byte
}

func tarOf(t *testing.T, entries ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		h.ModTime = time.Unix(0, 0)
		if h.Typeflag == tar.TypeReg {
			body := []byte(h.Linkname) // the content rides in Linkname here
			h.Linkname, h.Size = "", int64(len(body))
			tw.WriteHeader(h)
			tw.Write(body)
			continue
		}
		tw.WriteHeader(h)
	}
	tw.Close()
	return buf.Bytes()
}

func file(name, body string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o755, Linkname: body}
}

func dir(name string, mode int64) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: mode}
}

func newTestImage(t *testing.T, tool string, p ocispec.Platform) testImage {
	l1 := tarOf(t, dir("./", 0o777), dir("bin/", 0o755), file("bin/tool", "v1"), file("bin/gone", "x"), dir("etc/", 0o755), file("etc/motd", "hi"),
		&tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "/bin/tool"}, &tar.Header{Name: "etc/up", Typeflag: tar.TypeSymlink, Linkname: "/../etc/motd"})
	l2 := tarOf(t, dir("bin/", 0o755), file("bin/tool", tool), &tar.Header{Name: "bin/.wh.gone", Typeflag: tar.TypeReg, Mode: 0o644})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(l1)
	zw.Close()
	img := testImage{layers: [][]byte{gz.Bytes(), l2}, diffIDs: []digest.Digest{digest.FromBytes(l1), digest.FromBytes(l2)}}
	created := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	img.config, _ = json.Marshal(ocispec.Image{Created: &created, Platform: p,
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: img.diffIDs}})
	return img
}

func blobName(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

// dockerArchive is what docker save writes.
func dockerArchive(t *testing.T, img testImage, tags ...string) []byte {
	cfgName := blobName(img.config) + ".json"
	files := map[string][]byte{cfgName: img.config}
	var layers []string
	for _, l := range img.layers {
		name := blobName(l) + "/layer.tar"
		files[name] = l
		layers = append(layers, name)
	}
	m, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": tags, "Layers": layers}})
	files["manifest.json"] = m
	return tarFiles(files)
}

func tarFiles(files map[string][]byte) []byte {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n]))})
		tw.Write(files[n])
	}
	tw.Close()
	return buf.Bytes()
}

// ociLayout is an OCI image layout whose index.json points at a
// multi-platform index: the host's image, and another one for a foreign
// platform that must not be picked.
func ociLayout(t *testing.T, refName string, host, foreign testImage, foreignPlatform ocispec.Platform) ([]byte, digest.Digest) {
	files := map[string][]byte{"oci-layout": []byte(`{"imageLayoutVersion": "1.0.0"}`)}
	put := func(mt string, b []byte) ocispec.Descriptor {
		files["blobs/sha256/"+blobName(b)] = b
		return ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
	}
	manifest := func(img testImage) ocispec.Descriptor {
		m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: put(ocispec.MediaTypeImageConfig, img.config)}
		m.SchemaVersion = 2
		m.Layers = []ocispec.Descriptor{put(ocispec.MediaTypeImageLayerGzip, img.layers[0]), put(ocispec.MediaTypeImageLayer, img.layers[1])}
		b, _ := json.Marshal(m)
		return put(ocispec.MediaTypeImageManifest, b)
	}
	hostPlatform := platforms.DefaultSpec()
	hostDesc := manifest(host)
	hostDesc.Platform = &hostPlatform
	foreignDesc := manifest(foreign)
	foreignDesc.Platform = &foreignPlatform
	inner := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{foreignDesc, hostDesc}}
	inner.SchemaVersion = 2
	b, _ := json.Marshal(inner)
	innerDesc := put(ocispec.MediaTypeImageIndex, b)
	innerDesc.Annotations = map[string]string{ocispec.AnnotationRefName: refName}
	outer := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{innerDesc}}
	outer.SchemaVersion = 2
	files["index.json"], _ = json.Marshal(outer)
	return tarFiles(files), hostDesc.Digest
}

// testOptions point the runtimes at sockets that do not exist, so that a
// test that reaches for them fails rather than use the machine's.
func testOptions(t *testing.T) Options {
	dir := t.TempDir()
	return Options{
		Root: filepath.Join(dir, "cache"),
		Runtimes: runtimes.Options{
			ContainerdAddress: filepath.Join(dir, "no-containerd.sock"),
			DockerHost:        "unix://" + filepath.Join(dir, "no-docker.sock"),
			Timeout:           2 * time.Second,
		},
	}
}

// leftovers lists what the cache holds besides its empty skeleton (the
// lock, the index and the empty directories).
func leftovers(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, d := range []string{"content/blobs/sha256", "content/ingest", "trees/sha256", "tmp"} {
		entries, err := os.ReadDir(filepath.Join(root, d))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		for _, e := range entries {
			out = append(out, d+"/"+e.Name())
		}
	}
	return out
}

func readTree(t *testing.T, rootfs, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rootfs, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestImportDockerArchive(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	img := newTestImage(t, "v2", platforms.DefaultSpec())
	imgs, err := Import(ctx, opts, bytes.NewReader(dockerArchive(t, img, "example.com/tools:1", "tools")), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 || imgs[0].Ref != "docker.io/library/tools:latest" || imgs[1].Ref != "example.com/tools:1" {
		t.Fatalf("imported %+v", imgs)
	}
	got := imgs[1]
	if got.Digest != imgs[0].Digest || got.RootFS != imgs[0].RootFS || got.Source != SourceImport ||
		!got.Created.Equal(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)) || got.Size <= int64(len(img.layers[0])+len(img.layers[1])) {
		t.Errorf("image: %+v", got)
	}
	// Layers applied in order: the second replaced bin/tool and its
	// whiteout deleted bin/gone.
	if s := readTree(t, got.RootFS, "bin/tool"); s != "v2" {
		t.Errorf("bin/tool = %q", s)
	}
	if s := readTree(t, got.RootFS, "etc/motd"); s != "hi" {
		t.Errorf("etc/motd = %q", s)
	}
	if _, err := os.Lstat(filepath.Join(got.RootFS, "bin/gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("bin/gone survived its whiteout: %v", err)
	}
	// Absolute links mean the image's root, wherever it is mounted.
	for link, want := range map[string]string{"bin/sh": "tool", "etc/up": "motd"} {
		if got, err := os.Readlink(filepath.Join(got.RootFS, link)); got != want {
			t.Errorf("%s -> %q (%v), want %q", link, got, err, want)
		}
	}
	// The layer asked for a 0777 top directory: nobody but its owner may
	// write there, nor into the cache.
	for _, p := range []string{got.RootFS, filepath.Dir(got.RootFS), opts.Root} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s: %v %v: writable by others", p, fi.Mode(), err)
		}
	}

	// Cached: Get answers with the runtimes and registry unreachable.
	g, err := Get(ctx, opts, "example.com/tools:1")
	if err != nil || *g != *got {
		t.Errorf("Get = %+v, %v; want %+v", g, err, got)
	}
	list, err := List(ctx, opts)
	if err != nil || len(list) != 2 || list[1].Ref != "example.com/tools:1" {
		t.Errorf("List = %v, %v", list, err)
	}

	// Removing one name keeps the tree the other uses; removing both
	// leaves nothing.
	if err := Remove(ctx, opts, "tools"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(got.RootFS); err != nil {
		t.Errorf("the tree of a still-named image went: %v", err)
	}
	if err := Remove(ctx, opts, "tools"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: %v, want ErrNotFound", err)
	}
	if err := Remove(ctx, opts, "example.com/tools:1"); err != nil {
		t.Fatal(err)
	}
	if l := leftovers(t, opts.Root); len(l) != 0 {
		t.Errorf("left after rm: %v", l)
	}
	if list, _ := List(ctx, opts); len(list) != 0 {
		t.Errorf("List after rm: %v", list)
	}
}

func TestImportOCILayout(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	host := newTestImage(t, "host", platforms.DefaultSpec())
	foreignPlatform := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	if platforms.DefaultSpec().Architecture == "arm64" {
		foreignPlatform.Architecture = "amd64"
	}
	foreign := newTestImage(t, "foreign", foreignPlatform)

	layout, hostDigest := ociLayout(t, "registry.example/tools:oci", host, foreign, foreignPlatform)
	imgs, err := Import(ctx, opts, bytes.NewReader(layout), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Ref != "registry.example/tools:oci" || imgs[0].Digest != hostDigest.String() {
		t.Fatalf("imported %+v, want the host's manifest %s", imgs, hostDigest)
	}
	if s := readTree(t, imgs[0].RootFS, "bin/tool"); s != "host" {
		t.Errorf("bin/tool = %q: the wrong platform was unpacked", s)
	}
	// Only the host platform's blobs are kept: manifest, config, 2 layers
	// (the first layer is the same in both images).
	if l := leftovers(t, opts.Root); len(l) != 5 {
		t.Errorf("cache holds %v", l)
	}

	// A layout that names its image by tag only needs a name.
	bare, _ := ociLayout(t, "latest", host, foreign, foreignPlatform)
	if _, err := Import(ctx, opts, bytes.NewReader(bare), ""); err == nil || !strings.Contains(err.Error(), "--name") {
		t.Errorf("unnamed import: %v", err)
	}
	imgs, err = Import(ctx, opts, bytes.NewReader(bare), "tools:bare")
	if err != nil || len(imgs) != 1 || imgs[0].Ref != "docker.io/library/tools:bare" || imgs[0].Digest != hostDigest.String() {
		t.Errorf("named import: %+v, %v", imgs, err)
	}
}

// TestBadInputLeavesNothing: every failure leaves the cache as it was.
func TestBadInputLeavesNothing(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	img := newTestImage(t, "v2", platforms.DefaultSpec())
	good := dockerArchive(t, img, "good:1")
	if _, err := Import(ctx, opts, bytes.NewReader(good), ""); err != nil {
		t.Fatal(err)
	}
	before := leftovers(t, opts.Root)

	// A layer that does not match the config's diff ID.
	tampered := newTestImage(t, "v2", platforms.DefaultSpec())
	tampered.diffIDs[1] = digest.FromString("something else")
	tampered.config, _ = json.Marshal(ocispec.Image{Platform: platforms.DefaultSpec(), RootFS: ocispec.RootFS{Type: "layers", DiffIDs: tampered.diffIDs}})
	// A docker archive that lacks its layer.
	missing := dockerArchive(t, img, "missing:1")
	var trunc bytes.Buffer
	tr := tar.NewReader(bytes.NewReader(missing))
	tw := tar.NewWriter(&trunc)
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		if !strings.HasSuffix(h.Name, "layer.tar") {
			tw.WriteHeader(h)
			b := make([]byte, h.Size)
			tr.Read(b)
			tw.Write(b)
		}
	}
	tw.Close()

	for name, tc := range map[string]struct {
		archive []byte
		class   error
	}{
		"garbage":      {[]byte("this is not a tarball at all, not even close................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................"), ErrInvalidArchive},
		"truncated":    {good[:len(good)/2], ErrInvalidArchive},
		"empty tar":    {tarFiles(nil), ErrInvalidArchive},
		"no layer":     {trunc.Bytes(), ErrInvalidArchive},
		"bad diff ID":  {dockerArchive(t, tampered, "tampered:1"), ErrInvalidImage},
		"bad manifest": {tarFiles(map[string][]byte{"manifest.json": []byte("[{]")}), ErrInvalidArchive},
	} {
		_, err := Import(ctx, opts, bytes.NewReader(tc.archive), "")
		if !errors.Is(err, tc.class) {
			t.Errorf("%s: %v, want %v", name, err, tc.class)
		}
		if after := leftovers(t, opts.Root); strings.Join(after, " ") != strings.Join(before, " ") {
			t.Errorf("%s left %v (before: %v)", name, after, before)
		}
	}

	// An image no source has: every runtime absent, the registry
	// refusing connections. One error, of the last source's class.
	_, err := Get(ctx, opts, "127.0.0.1:1/nothere")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "containerd") || !strings.Contains(err.Error(), "docker") || !strings.Contains(err.Error(), "registry") {
		t.Errorf("Get of an unknown image: %v", err)
	}
	if _, err := Pull(ctx, Options{Root: opts.Root, From: "ftp"}, "busybox"); err == nil {
		t.Error("Pull from an unknown source succeeded")
	}
	if after := leftovers(t, opts.Root); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("failed pulls left %v (before: %v)", after, before)
	}
	if imgs, _ := List(ctx, opts); len(imgs) != 1 || imgs[0].Ref != "docker.io/library/good:1" {
		t.Errorf("List after failures: %v", imgs)
	}
}

// TestPrune: what an interrupted pull leaves (a half-unpacked tree, a
// partial download, blobs and trees no reference names) goes; named
// images stay.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	if _, err := Import(ctx, opts, bytes.NewReader(dockerArchive(t, newTestImage(t, "v2", platforms.DefaultSpec()), "keep:1")), ""); err != nil {
		t.Fatal(err)
	}
	kept := leftovers(t, opts.Root)
	orphan := filepath.Join(opts.Root, "content/blobs/sha256", hex64(7))
	for _, p := range []string{
		filepath.Join(opts.Root, "tmp/unpack-123/rootfs/bin/sh"),
		filepath.Join(opts.Root, "trees/sha256", hex64(8), "etc/passwd"),
		filepath.Join(opts.Root, "content/ingest/abc/data"),
		orphan,
	} {
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, []byte("x"), 0o600)
	}
	// An image can make a directory read-only: it still goes.
	os.Chmod(filepath.Join(opts.Root, "trees/sha256", hex64(8), "etc"), 0o555)
	removed, err := Prune(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"blob sha256:" + hex64(7), "partial download", "temporary unpack-123", "tree sha256:" + hex64(8)}
	if len(removed) != len(want) {
		t.Fatalf("Prune removed %v, want %v", removed, want)
	}
	for i, w := range want {
		if !strings.HasPrefix(removed[i], w) {
			t.Errorf("Prune removed %q, want %q", removed[i], w)
		}
	}
	if after := leftovers(t, opts.Root); strings.Join(after, " ") != strings.Join(kept, " ") {
		t.Errorf("after prune: %v, want %v", after, kept)
	}
	if g, err := Get(ctx, opts, "keep:1"); err != nil || readTree(t, g.RootFS, "bin/tool") != "v2" {
		t.Errorf("the named image after prune: %v", err)
	}
}

func TestRootWritableByOthersRefused(t *testing.T) {
	opts := testOptions(t)
	os.MkdirAll(opts.Root, 0o700)
	os.Chmod(opts.Root, 0o777)
	_, err := Import(context.Background(), opts, bytes.NewReader(tarFiles(nil)), "")
	if err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Errorf("import into a 0777 cache: %v", err)
	}
}

func TestProgressLines(t *testing.T) {
	var out bytes.Buffer
	opts := testOptions(t)
	opts.Progress = &out
	if _, err := Import(context.Background(), opts, bytes.NewReader(dockerArchive(t, newTestImage(t, "v2", platforms.DefaultSpec()), "p:1")), ""); err != nil {
		t.Fatal(err)
	}
	// Plain lines, no terminal control, for a writer that is no terminal.
	s := out.String()
	if strings.ContainsAny(s, "\r\x1b") || !regexpMatch(`(?m)^layer sha256:[0-9a-f]{12} \d+ B `, s) || !regexpMatch(`(?m)^unpacked docker.io/library/p:1 sha256:[0-9a-f]{64}$`, s) {
		t.Errorf("progress:\n%s", s)
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// TestProgressBar: on a terminal, one bar redrawn in place, left on its
// own line when done.
func TestProgressBar(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	p := newProgress(tty)
	if !p.tty {
		t.Fatal("a pty is not taken for a terminal")
	}
	io.Copy(io.Discard, p.reader(2048, bytes.NewReader(make([]byte, 2048))))
	p.done("layer sha256:0123456789ab", 2048, "done")
	p.printf("unpacked x")
	p.finish()
	tty.Close()
	var out bytes.Buffer
	io.Copy(&out, ptmx) // ends with EIO once the terminal side is closed
	s := strings.ReplaceAll(out.String(), "\r\n", "\n")
	if !strings.Contains(s, "\r\x1b[K[==============================] 2.0 KiB / 2.0 KiB\nunpacked x\n") || strings.Contains(s, "layer sha256") {
		t.Errorf("terminal output %q", s)
	}
}

// registry serves one image, the way a distribution registry does, behind
// basic auth; tamper replaces a layer's bytes.
func registry(t *testing.T, img testImage, tamper bool) (host string, manifest digest.Digest) {
	blobs := map[digest.Digest][]byte{digest.FromBytes(img.config): img.config}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(img.config), Size: int64(len(img.config))}}
	m.SchemaVersion = 2
	for i, l := range img.layers {
		mt := ocispec.MediaTypeImageLayer
		if i == 0 {
			mt = ocispec.MediaTypeImageLayerGzip
		}
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(l), Size: int64(len(l))})
		blobs[digest.FromBytes(l)] = l
		if tamper { // same length, other bytes
			bad := bytes.Clone(l)
			bad[len(bad)-1] ^= 0xff
			blobs[digest.FromBytes(l)] = bad
		}
	}
	mb, _ := json.Marshal(m)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "tester" || p != "secret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case r.URL.Path == "/v2/tools/manifests/1" || r.URL.Path == "/v2/tools/manifests/"+digest.FromBytes(mb).String():
			w.Header().Set("Content-Type", ocispec.MediaTypeImageManifest)
			w.Header().Set("Docker-Content-Digest", digest.FromBytes(mb).String())
			w.Header().Set("Content-Length", fmt.Sprint(len(mb)))
			if r.Method == http.MethodGet {
				w.Write(mb)
			}
		case strings.HasPrefix(r.URL.Path, "/v2/tools/blobs/"):
			b, ok := blobs[digest.Digest(strings.TrimPrefix(r.URL.Path, "/v2/tools/blobs/"))]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Write(b)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), digest.FromBytes(mb)
}

// TestPullRegistry pulls over plain HTTP from a loopback registry with the
// Docker config's credentials; a layer that does not match its digest
// leaves nothing behind.
func TestPullRegistry(t *testing.T) {
	ctx := context.Background()
	img := newTestImage(t, "v2", platforms.DefaultSpec())
	host, want := registry(t, img, false)
	opts := testOptions(t)
	opts.From = SourceRegistry
	cfg := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfg)

	// No credentials: refused.
	if _, err := Pull(ctx, opts, host+"/tools:1"); err == nil {
		t.Fatal("pulled without credentials")
	}
	os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"auths": {"`+host+`": {"auth": "`+
		base64.StdEncoding.EncodeToString([]byte("tester:secret"))+`"}}}`), 0o600)
	var out bytes.Buffer
	opts.Progress = &out
	got, err := Pull(ctx, opts, host+"/tools:1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Ref != host+"/tools:1" || got.Digest != want.String() || got.Source != SourceRegistry || readTree(t, got.RootFS, "bin/tool") != "v2" {
		t.Errorf("pulled %+v, want digest %s", got, want)
	}
	if !strings.Contains(out.String(), "pulling "+host+"/tools:1 from registry\n") || !regexpMatch(`(?m)^layer sha256:[0-9a-f]{12} \d+ B done$`, out.String()) {
		t.Errorf("progress:\n%s", out.String())
	}

	// The same image from a registry that corrupts its layers.
	bad, _ := registry(t, img, true)
	os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"auths": {"`+bad+`": {"username": "tester", "password": "secret"}}}`), 0o600)
	opts = testOptions(t)
	opts.From = SourceRegistry
	if _, err := Pull(ctx, opts, bad+"/tools:1"); !errors.Is(err, ErrInvalidImage) || !strings.Contains(err.Error(), "unexpected commit digest") {
		t.Errorf("pull of corrupt layers: %v", err)
	}
	if l := leftovers(t, opts.Root); len(l) != 0 {
		t.Errorf("a corrupt pull left %v", l)
	}
}
