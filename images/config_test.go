package images

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/containerd/platforms"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// An image's config comes from the cache as it was imported, without
// asking any source; a blob whose bytes are not its digest's is refused.
func TestConfig(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	img := newTestImage(t, "v1", platforms.DefaultSpec())
	var cfg ocispec.Image
	json.Unmarshal(img.config, &cfg)
	want := ocispec.ImageConfig{Env: []string{"PATH=/opt/bin:/bin", "APP=1"}, WorkingDir: "/srv", User: "app:staff"}
	cfg.Config = want
	img.config, _ = json.Marshal(cfg)
	imgs, err := Import(ctx, opts, bytes.NewReader(dockerArchive(t, img, "tools")), "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Config(ctx, opts, imgs[0])
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Config = %+v, %v; want %+v", got, err, want)
	}
	cached, err := Get(ctx, opts, "tools")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Config(ctx, opts, cached); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Config of the cached image = %+v, %v", got, err)
	}

	// Tampered with: refused, not believed.
	d := digest.FromBytes(img.config)
	blob := filepath.Join(opts.Root, "content", "blobs", d.Algorithm().String(), d.Encoded())
	os.Chmod(blob, 0o644)
	if err := os.WriteFile(blob, bytes.Replace(img.config, []byte("/srv"), []byte("/etc"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Config(ctx, opts, imgs[0]); !errors.Is(err, ErrInvalidImage) {
		t.Errorf("Config of a tampered blob: %v, want ErrInvalidImage", err)
	}
}
