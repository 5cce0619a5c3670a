package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/containerd/errdefs"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// store is the cache on disk:
//
//	ROOT/lock        flock'd by every change
//	ROOT/refs.json   reference -> manifest digest, replaced by rename
//	ROOT/content/    blobs (containerd's local content store)
//	ROOT/trees/ALG/ENCODED   one unpacked root filesystem per manifest
//	ROOT/tmp/        trees being unpacked, index being written
//
// Readers (Get of a cached image, List) take no lock: every change becomes
// visible by one rename. Writers hold the lock, so whatever is in tmp/ or
// half-written in content/ingest when they take it was left by a killed
// ctr-enter and can go.
type store struct {
	root      string
	maxUnpack int64         // bytes; negative: no limit
	cs        content.Store // opened under the lock
}

// record is what refs.json keeps for one reference.
type record struct {
	Digest  digest.Digest `json:"digest"`
	Size    int64         `json:"size"`
	Source  string        `json:"source"`
	Created time.Time     `json:"created"`
	Pulled  time.Time     `json:"pulled"`
}

type refsFile struct {
	Refs map[string]record `json:"refs"`
}

func newStore(opts Options) *store {
	root := opts.Root
	if root == "" {
		root = DefaultRoot
	}
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	maxUnpack := opts.MaxUnpack
	if maxUnpack == 0 {
		maxUnpack = DefaultMaxUnpack
	}
	return &store{root: root, maxUnpack: maxUnpack}
}

func (s *store) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

func (s *store) treePath(d digest.Digest) string {
	return s.path("trees", d.Algorithm().String(), d.Encoded())
}

func (s *store) image(name string, r record) *Image {
	return &Image{Ref: name, Digest: r.Digest.String(), Size: r.Size, RootFS: s.treePath(r.Digest),
		Source: r.Source, Created: r.Created, Pulled: r.Pulled}
}

// cached returns the image name refers to when it and its tree are there.
func (s *store) cached(name string) (*Image, error) {
	refs, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	r, ok := refs[name]
	if !ok {
		return nil, nil
	}
	img := s.image(name, r)
	if _, err := os.Stat(img.RootFS); err != nil {
		return nil, nil
	}
	return img, nil
}

func (s *store) readRefs() (map[string]record, error) {
	b, err := os.ReadFile(s.path("refs.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]record{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image index: %w", err)
	}
	var f refsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read image index %s: %w", s.path("refs.json"), err)
	}
	if f.Refs == nil {
		f.Refs = map[string]record{}
	}
	for name, r := range f.Refs {
		// The digest becomes a path: never trust it unchecked.
		if r.Digest.Validate() != nil {
			return nil, fmt.Errorf("read image index %s: %s: bad digest %q", s.path("refs.json"), name, r.Digest)
		}
	}
	return f.Refs, nil
}

// writeRefs replaces refs.json by rename, so that a reader sees the old
// index or the new one, never half of one.
func (s *store) writeRefs(refs map[string]record) error {
	b, err := json.MarshalIndent(refsFile{Refs: refs}, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(s.path("tmp"), "refs-*.json")
	if err != nil {
		return fmt.Errorf("write image index: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), s.path("refs.json"))
	}
	if err != nil {
		return fmt.Errorf("write image index: %w", err)
	}
	return nil
}

// locked runs change with the cache locked against other ctr-enters, then
// collects whatever no reference uses: what a failed change left behind
// as well as what a successful one replaced. It returns what was collected.
func (s *store) locked(ctx context.Context, change func() error) ([]string, error) {
	if err := s.prepare(); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(s.path("lock"), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock image cache: %w", err)
	}
	defer lock.Close() // releases the flock
	if err := flock(lock); err != nil {
		return nil, fmt.Errorf("lock image cache %s: %w", s.root, err)
	}
	if s.cs, err = local.NewStore(s.path("content")); err != nil {
		return nil, fmt.Errorf("open image cache: %w", err)
	}
	err = change()
	// Collect even when ctx is done: a cancelled pull must not leave
	// its partial downloads behind.
	removed, gcErr := s.gc(context.WithoutCancel(ctx))
	if err == nil {
		err = gcErr
	}
	return removed, err
}

func flock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			return err
		}
	}
}

// prepare creates the cache's directories. The root is private to root:
// unpacked trees hold the images' setuid binaries, which nobody else
// should reach through the cache, and a root others can write to would let
// them swap a tree under a session. An existing root that others can
// write to (say CTR_ENTER_IMAGES=/tmp) is refused rather than chmod'ed.
func (s *store) prepare() error {
	if err := os.MkdirAll(s.root, 0o700); err != nil {
		return fmt.Errorf("create image cache: %w", err)
	}
	fi, err := os.Stat(s.root)
	if err != nil {
		return fmt.Errorf("create image cache: %w", err)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("image cache %s is writable by others (mode %v): use a directory of its own", s.root, fi.Mode().Perm())
	}
	for _, d := range []string{"content", "trees", "tmp"} {
		if err := os.MkdirAll(s.path(d), 0o700); err != nil {
			return fmt.Errorf("create image cache: %w", err)
		}
	}
	return nil
}

// gc deletes every blob, tree, partial download and temporary file that no
// reference uses. A reference whose manifest cannot be read keeps its tree
// (its own blobs are gone already).
func (s *store) gc(ctx context.Context) ([]string, error) {
	refs, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	keep := map[digest.Digest]bool{}
	trees := map[string]bool{}
	for _, r := range refs {
		keep[r.Digest] = true
		trees[s.treePath(r.Digest)] = true
		if m, err := readManifest(ctx, s.cs, r.Digest); err == nil {
			keep[m.Config.Digest] = true
			for _, l := range m.Layers {
				keep[l.Digest] = true
			}
		}
	}
	var removed []string
	var errs []error
	err = s.cs.Walk(ctx, func(info content.Info) error {
		if keep[info.Digest] {
			return nil
		}
		if err := s.cs.Delete(ctx, info.Digest); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, err)
		} else {
			removed = append(removed, "blob "+info.Digest.String())
		}
		return nil
	})
	errs = append(errs, err)
	// Partial downloads: with the lock held, no writer is running. They
	// go by path rather than through the store's Abort, which cannot
	// list an ingest a killed writer left without its ref file.
	ingests, _ := os.ReadDir(s.path("content", "ingest"))
	for _, e := range ingests {
		if err := removeAll(s.path("content", "ingest", e.Name())); err != nil {
			errs = append(errs, err)
		} else {
			removed = append(removed, "partial download "+e.Name())
		}
	}
	algs, _ := os.ReadDir(s.path("trees"))
	for _, alg := range algs {
		entries, _ := os.ReadDir(s.path("trees", alg.Name()))
		for _, e := range entries {
			if p := s.path("trees", alg.Name(), e.Name()); !trees[p] {
				if err := s.removeTree(p); err != nil {
					errs = append(errs, err)
				} else {
					removed = append(removed, "tree "+alg.Name()+":"+e.Name())
				}
			}
		}
	}
	tmp, _ := os.ReadDir(s.path("tmp"))
	for _, e := range tmp {
		if err := removeAll(s.path("tmp", e.Name())); err != nil {
			errs = append(errs, err)
		} else {
			removed = append(removed, "temporary "+e.Name())
		}
	}
	sort.Strings(removed)
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("clean image cache: %w", err)
	}
	return removed, nil
}

// removeTree moves a tree out of trees/ first, so that it disappears at
// once rather than file by file, then deletes it.
func (s *store) removeTree(p string) error {
	dir, err := os.MkdirTemp(s.path("tmp"), "remove-")
	if err != nil {
		return err
	}
	if err := os.Rename(p, filepath.Join(dir, "tree")); err != nil {
		os.Remove(dir)
		return err
	}
	return removeAll(dir)
}

// removeAll deletes a tree even where an image made a directory read-only,
// which stops a non-root caller (tests) from deleting inside it.
func removeAll(p string) error {
	if os.RemoveAll(p) == nil {
		return nil
	}
	filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}

// readManifest reads a manifest blob from the cache.
func readManifest(ctx context.Context, cs content.Provider, d digest.Digest) (ocispec.Manifest, error) {
	var m ocispec.Manifest
	b, err := content.ReadBlob(ctx, cs, ocispec.Descriptor{Digest: d})
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: manifest %s: %w", ErrInvalidImage, d, err)
	}
	return m, nil
}
