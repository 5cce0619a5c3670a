package images

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxConfigBlob bounds the manifest and config blobs that Config reads:
// both are a few KiB; a config of many MiB is no image of anyone's.
const maxConfigBlob = 4 << 20

// Config is img's config, what a container of it starts with (Env,
// WorkingDir, User...), as its config blob says. Every pull and import has
// kept that blob in the cache beside the layers (gc keeps it for as long
// as a reference names the manifest), so caches of earlier versions have
// it too: nothing to migrate. No lock is taken: a blob is written before
// the index names its manifest, and never changes.
func Config(ctx context.Context, opts Options, img *Image) (ocispec.ImageConfig, error) {
	s := newStore(opts)
	var man ocispec.Manifest
	if err := s.readJSONBlob(img.Digest, &man); err != nil {
		return ocispec.ImageConfig{}, fmt.Errorf("%w: %s: manifest: %w", ErrInvalidImage, img.Ref, err)
	}
	var cfg ocispec.Image
	if err := s.readJSONBlob(man.Config.Digest.String(), &cfg); err != nil {
		return ocispec.ImageConfig{}, fmt.Errorf("%w: %s: config: %w", ErrInvalidImage, img.Ref, err)
	}
	return cfg.Config, nil
}

// readJSONBlob decodes the cached blob of digest d into v, after checking
// that its bytes are d's.
func (s *store) readJSONBlob(d string, v any) error {
	dg, err := digest.Parse(d)
	if err != nil {
		return err
	}
	// The local content store's layout: blobs/ALG/ENCODED.
	f, err := os.Open(s.path("content", "blobs", dg.Algorithm().String(), dg.Encoded()))
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBlob+1))
	if err != nil {
		return err
	}
	if len(b) > maxConfigBlob {
		return fmt.Errorf("blob %s larger than %d bytes", dg, maxConfigBlob)
	}
	if dg.Algorithm().FromBytes(b) != dg {
		return fmt.Errorf("blob %s: its bytes have another digest", dg)
	}
	return json.Unmarshal(b, v)
}
