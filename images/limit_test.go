package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// imageOf is a test image of the given uncompressed layers, the first
// gzip'd: a layer of zeros compresses a thousandfold.
func imageOf(t *testing.T, layers ...[]byte) testImage {
	t.Helper()
	var img testImage
	for i, l := range layers {
		img.diffIDs = append(img.diffIDs, digest.FromBytes(l))
		if i == 0 {
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			zw.Write(l)
			zw.Close()
			l = gz.Bytes()
		}
		img.layers = append(img.layers, l)
	}
	img.config, _ = json.Marshal(ocispec.Image{Platform: platforms.DefaultSpec(), RootFS: ocispec.RootFS{Type: "layers", DiffIDs: img.diffIDs}})
	return img
}

// sparseLayer is a layer of one PAX (GNU 1.0) sparse file of realSize
// bytes, all hole: 1.5 KiB of tar. Go's tar writer cannot write sparse
// files, so the PAX records of a comment of the same length are replaced.
func sparseLayer(t *testing.T, name string, realSize int64) []byte {
	t.Helper()
	record := func(k, v string) string {
		s := " " + k + "=" + v + "\n"
		n := len(s) + 1
		for n != len(s)+len(fmt.Sprint(n)) {
			n = len(s) + len(fmt.Sprint(n))
		}
		return fmt.Sprint(n) + s
	}
	sparse := record("GNU.sparse.major", "1") + record("GNU.sparse.minor", "0") +
		record("GNU.sparse.name", name) + record("GNU.sparse.realsize", fmt.Sprint(realSize))
	var filler string
	for len(record("comment", filler)) < len(sparse) {
		filler += "x"
	}
	if len(record("comment", filler)) != len(sparse) {
		t.Fatalf("no comment as long as %q", sparse)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := make([]byte, 512)
	copy(body, "1\n0\n0\n") // the sparse map: one data extent of 0 bytes at 0
	tw.WriteHeader(&tar.Header{Name: "GNUSparseFile.0/" + name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)),
		Format: tar.FormatPAX, PAXRecords: map[string]string{"comment": filler}})
	tw.Write(body)
	tw.Close()
	b := bytes.Replace(buf.Bytes(), []byte(record("comment", filler)), []byte(sparse), 1)
	// As the appliers see it: the whole length.
	h, err := tar.NewReader(bytes.NewReader(b)).Next()
	if err != nil || h.Name != name || h.Size != realSize {
		t.Fatalf("sparse layer reads as %+v, %v", h, err)
	}
	return b
}

// TestUnpackLimit: an image whose layers write more than Options.MaxUnpack
// bytes, however small its archive, fails with ErrTooLarge, in a message
// that names the limit and how to raise it, and leaves the cache as it
// was.
func TestUnpackLimit(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	opts.MaxUnpack = 64 << 10
	if _, err := Import(ctx, opts, bytes.NewReader(dockerArchive(t, newTestImage(t, "v2", platforms.DefaultSpec()), "good:1")), ""); err != nil {
		t.Fatal(err)
	}
	before := leftovers(t, opts.Root)
	zeros := func(n int) string { return strings.Repeat("\x00", n) }
	const kib = 1 << 10

	for name, layers := range map[string][][]byte{
		// 1 MiB of zeros: about 1 KiB of gzip.
		"one big file": {tarOf(t, file("zeros", zeros(1024*kib)))},
		// Each layer is under the limit; the image is not.
		"over layers": {tarOf(t, file("a", zeros(40*kib))), tarOf(t, file("b", zeros(40*kib)))},
		// What a later layer deletes or replaces was written all the same.
		"rewritten": {tarOf(t, file("a", zeros(40*kib))), tarOf(t, &tar.Header{Name: ".wh.a", Typeflag: tar.TypeReg}, file("a", zeros(40*kib)))},
		// A hole is written out in full.
		"sparse": {sparseLayer(t, "hole", 8<<20)},
	} {
		_, err := Import(ctx, opts, bytes.NewReader(dockerArchive(t, imageOf(t, layers...), "big:1")), "")
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than the limit of 64.0 KiB") || !strings.Contains(err.Error(), EnvMaxUnpack+"=") {
			t.Errorf("%s: %v, want ErrTooLarge naming the limit and %s", name, err, EnvMaxUnpack)
		}
		if after := leftovers(t, opts.Root); strings.Join(after, " ") != strings.Join(before, " ") {
			t.Errorf("%s left %v (before: %v)", name, after, before)
		}
	}
	if imgs, _ := List(ctx, opts); len(imgs) != 1 || imgs[0].Ref != "docker.io/library/good:1" {
		t.Errorf("List after refused imports: %v", imgs)
	}

	// Hard links write nothing: a file under the limit and a thousand
	// links to it unpack.
	links := []*tar.Header{file("a", zeros(40*kib))}
	for i := range 1000 {
		links = append(links, &tar.Header{Name: fmt.Sprint("link", i), Typeflag: tar.TypeLink, Linkname: "a"})
	}
	if _, err := Import(ctx, opts, bytes.NewReader(dockerArchive(t, imageOf(t, tarOf(t, links...)), "links:1")), ""); err != nil {
		t.Errorf("hard links: %v", err)
	}

	// No limit: -1.
	unlimited := opts
	unlimited.MaxUnpack = -1
	if _, err := Import(ctx, unlimited, bytes.NewReader(dockerArchive(t, imageOf(t, tarOf(t, file("zeros", zeros(1024*kib)))), "big:1")), ""); err != nil {
		t.Errorf("no limit: %v", err)
	}
}

// TestUnpackEntryLimit: entries of no size count too, against their own
// bound.
func TestUnpackEntryLimit(t *testing.T) {
	defer func(n int) { maxUnpackEntries = n }(maxUnpackEntries)
	maxUnpackEntries = 50
	opts := testOptions(t)
	var dirs []*tar.Header
	for i := range 51 {
		dirs = append(dirs, dir(fmt.Sprint("d", i, "/"), 0o755))
	}
	_, err := Import(context.Background(), opts, bytes.NewReader(dockerArchive(t, imageOf(t, tarOf(t, dirs...)), "dirs:1")), "")
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than 50 files") {
		t.Errorf("51 directories, 50 allowed: %v", err)
	}
	if l := leftovers(t, opts.Root); len(l) != 0 {
		t.Errorf("left %v", l)
	}
}
