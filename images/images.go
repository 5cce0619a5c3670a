// Package images keeps a local cache of the images debug tools come from:
// their blobs in a content store and, per manifest digest, one unpacked root
// filesystem that a debug session mounts read-only. An image comes from the
// node's containerd, from Docker, from its registry, or from an archive.
package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/distribution/reference"

	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// DefaultRoot is where the cache lives unless Options.Root says otherwise.
const DefaultRoot = "/var/lib/ctr-enter/images"

// Sources of an image, as Image.Source and Options.From name them.
const (
	SourceContainerd = "containerd"
	SourceDocker     = "docker"
	SourceRegistry   = "registry"
	SourceImport     = "import"
)

// Sources is the order a pull tries them in: what is already on the node
// first (no network, no credentials, works with the registry down), the
// registry last.
var Sources = []string{SourceContainerd, SourceDocker, SourceRegistry}

// Options says where the cache is and where images come from.
type Options struct {
	Root     string           // cache directory; "" means DefaultRoot
	Runtimes runtimes.Options // where containerd and Docker are; Timeout bounds each call to them and each registry lookup
	// Progress receives pull progress: a bar redrawn on one line when it
	// is a terminal, plain lines otherwise. nil is silent.
	Progress io.Writer
	// From, when set, is the only source a pull tries (one of Sources).
	From string
	// MaxUnpack bounds the bytes that unpacking one image may write: the
	// sizes of its layers' files as their tar headers declare them, summed
	// over every layer, whatever later layers delete. 0 means
	// DefaultMaxUnpack; a negative value, no limit.
	MaxUnpack int64
}

// DefaultMaxUnpack is the unpacking limit unless Options.MaxUnpack says
// otherwise: larger than any tool image, small enough that an archive of a
// few KiB that inflates to terabytes fails long before the disk is full.
const DefaultMaxUnpack = 8 << 30

// EnvMaxUnpack is the environment variable the command line takes
// Options.MaxUnpack from, named in the error that the limit gives.
const EnvMaxUnpack = "CTR_ENTER_MAX_UNPACK"

// maxUnpackEntries bounds the number of files, directories and links in
// one image's layers, together: entries of no size cost inodes and time.
var maxUnpackEntries = 1 << 20 // a variable for the tests

// Image is one cached image.
type Image struct {
	Ref     string    `json:"ref"`     // normalised: docker.io/library/busybox:latest
	Digest  string    `json:"digest"`  // of the linux/amd64 manifest the tree was unpacked from
	Size    int64     `json:"size"`    // bytes of its blobs (manifest, config, layers) in the cache
	RootFS  string    `json:"rootfs"`  // absolute path of the unpacked tree
	Source  string    `json:"source"`  // SourceRegistry, SourceContainerd, SourceDocker or SourceImport
	Created time.Time `json:"created"` // when the image was built, as its config says (zero if it does not)
	Pulled  time.Time `json:"pulled"`  // when it was cached
}

// Error classes. Callers test with errors.Is; messages carry the details.
var (
	ErrInvalidRef     = errors.New("invalid image reference")
	ErrNotFound       = errors.New("no such image")
	ErrUnavailable    = errors.New("image source unavailable")
	ErrInvalidArchive = errors.New("invalid image archive")
	ErrInvalidImage   = errors.New("invalid image")
	ErrTooLarge       = errors.New("image too large")
)

// Normalize turns a reference as users type it into the full form docker
// uses: busybox -> docker.io/library/busybox:latest.
func Normalize(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrInvalidRef, text.Clean(ref), err)
	}
	return named.String(), nil
}

// Get returns the cached image ref names, without asking any daemon or
// registry, or pulls it when it is not cached.
func Get(ctx context.Context, opts Options, ref string) (*Image, error) {
	name, err := Normalize(ref)
	if err != nil {
		return nil, err
	}
	s := newStore(opts)
	// Lock-free first: the index is replaced atomically, and a cached
	// image is the common case.
	if img, err := s.cached(name); err != nil || img != nil {
		return img, err
	}
	var img *Image
	_, err = s.locked(ctx, func() error {
		// Another ctr-enter may have pulled it while this one waited.
		if img, err = s.cached(name); err != nil || img != nil {
			return err
		}
		img, err = s.pull(ctx, opts, name)
		return err
	})
	return img, err
}

// Pull fetches ref again from the first source that has it (or from
// opts.From only) and caches it, replacing what ref named before.
func Pull(ctx context.Context, opts Options, ref string) (*Image, error) {
	name, err := Normalize(ref)
	if err != nil {
		return nil, err
	}
	if opts.From != "" && !slices.Contains(Sources, opts.From) {
		return nil, fmt.Errorf("pull %s: unknown source %q (one of %v)", name, text.Clean(opts.From), Sources)
	}
	s := newStore(opts)
	var img *Image
	_, err = s.locked(ctx, func() error {
		img, err = s.pull(ctx, opts, name)
		return err
	})
	return img, err
}

// Import caches the images of a docker-archive (docker save) or an OCI
// image layout tarball. name, when given, names the archive's one image;
// otherwise the names the archive carries are used.
func Import(ctx context.Context, opts Options, r io.Reader, name string) ([]*Image, error) {
	if name != "" {
		var err error
		if name, err = Normalize(name); err != nil {
			return nil, err
		}
	}
	s := newStore(opts)
	var imgs []*Image
	_, err := s.locked(ctx, func() error {
		p := newProgress(opts.Progress)
		defer p.finish()
		var err error
		imgs, err = s.importArchive(ctx, r, SourceImport, name, p)
		return err
	})
	return imgs, err
}

// List returns the cached images, by reference.
func List(ctx context.Context, opts Options) ([]*Image, error) {
	s := newStore(opts)
	refs, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	imgs := make([]*Image, 0, len(refs))
	for name, rec := range refs {
		imgs = append(imgs, s.image(name, rec))
	}
	sort.Slice(imgs, func(i, j int) bool { return imgs[i].Ref < imgs[j].Ref })
	return imgs, nil
}

// Remove forgets ref and deletes what no other reference uses: its tree,
// its blobs.
func Remove(ctx context.Context, opts Options, ref string) error {
	name, err := Normalize(ref)
	if err != nil {
		return err
	}
	s := newStore(opts)
	_, err = s.locked(ctx, func() error {
		refs, err := s.readRefs()
		if err != nil {
			return err
		}
		if _, ok := refs[name]; !ok {
			return fmt.Errorf("%w: %s is not cached", ErrNotFound, name)
		}
		delete(refs, name)
		return s.writeRefs(refs)
	})
	return err
}

// Prune deletes everything no reference uses: blobs and trees of removed
// images, and what interrupted pulls left (partial downloads, temporary
// trees). It returns what it deleted, one line each.
func Prune(ctx context.Context, opts Options) ([]string, error) {
	return newStore(opts).locked(ctx, func() error { return nil })
}
