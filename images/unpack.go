package images

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	imagearchive "github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/containerd/v2/pkg/archive"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fetcher gives the blobs of one image from one source (the registry, or
// containerd's content store). It is containerd's remotes.Fetcher.
type fetcher interface {
	Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error)
}

// maxMetadata bounds the size of the blobs that are not layers.
const maxMetadata = 16 << 20

// platform is the one an index is resolved to: the host's.
var platform = platforms.Only(platforms.DefaultSpec())

// fetch walks the image root describes (an index or a manifest), copies
// the blobs of its host-platform image that the cache lacks from f (nil:
// they must all be there already, as after an import), and returns the
// manifest's descriptor.
func (s *store) fetch(ctx context.Context, f fetcher, root ocispec.Descriptor, p *progress) (ocispec.Descriptor, error) {
	var mu sync.Mutex
	var manifests []ocispec.Descriptor
	copyBlob := images.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		if images.IsManifestType(desc.MediaType) {
			mu.Lock()
			manifests = append(manifests, desc)
			mu.Unlock()
		}
		return nil, s.copyBlob(ctx, f, desc, p)
	})
	children := images.LimitManifests(images.FilterPlatforms(images.ChildrenHandler(s.cs), platform), platform, 1)
	if err := images.Dispatch(ctx, images.Handlers(copyBlob, children), nil, root); err != nil {
		return ocispec.Descriptor{}, err
	}
	if len(manifests) != 1 {
		return ocispec.Descriptor{}, fmt.Errorf("%w: %s: no %s image in it", ErrInvalidImage, root.Digest, platforms.Format(platforms.DefaultSpec()))
	}
	return manifests[0], nil
}

// copyBlob copies one blob into the cache unless it is there already.
func (s *store) copyBlob(ctx context.Context, f fetcher, desc ocispec.Descriptor, p *progress) error {
	label := blobLabel(desc)
	// Manifests, indexes and configs are read whole into memory: a
	// source cannot make that arbitrarily large.
	if !images.IsLayerType(desc.MediaType) && desc.Size > maxMetadata {
		return fmt.Errorf("%w: %s is %s, more than a manifest or config can be", ErrInvalidImage, label, HumanSize(desc.Size))
	}
	if _, err := s.cs.Info(ctx, desc.Digest); err == nil {
		p.done(label, desc.Size, "cached")
		return nil
	}
	if f == nil {
		return fmt.Errorf("%w: %s is missing", ErrInvalidArchive, label)
	}
	rc, err := f.Fetch(ctx, desc)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", label, err)
	}
	defer rc.Close()
	// One byte more than promised is enough to fail the size check: a
	// source that sends more cannot fill the disk.
	r := p.reader(desc.Size, io.LimitReader(rc, desc.Size+1))
	if err := content.WriteBlob(ctx, s.cs, "fetch-"+desc.Digest.String(), r, desc); err != nil {
		if errdefs.IsFailedPrecondition(err) {
			// The store's check of size and digest: the source sent
			// other bytes than the manifest names.
			return fmt.Errorf("%w: fetch %s: %w", ErrInvalidImage, label, err)
		}
		return fmt.Errorf("fetch %s: %w", label, err)
	}
	p.done(label, desc.Size, "done")
	return nil
}

// commit unpacks the image of manifest m and points name at it.
func (s *store) commit(ctx context.Context, name string, m ocispec.Descriptor, source string, p *progress) (*Image, error) {
	r, err := s.unpack(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("unpack %s: %w", name, err)
	}
	r.Source, r.Pulled = source, time.Now().UTC()
	refs, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	refs[name] = r
	if err := s.writeRefs(refs); err != nil {
		return nil, err
	}
	img := s.image(name, r)
	p.printf("unpacked %s %s", name, img.Digest)
	return img, nil
}

// unpack makes the tree of manifest m, unless it exists: its layers are
// applied in order in a directory of tmp/, which is renamed into trees/
// only when whole, so that a killed ctr-enter never leaves half a tree
// where Get would find it.
func (s *store) unpack(ctx context.Context, m ocispec.Descriptor) (record, error) {
	man, err := readManifest(ctx, s.cs, m.Digest)
	if err != nil {
		return record{}, err
	}
	b, err := content.ReadBlob(ctx, s.cs, man.Config)
	if err != nil {
		return record{}, err
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(b, &cfg); err != nil {
		return record{}, fmt.Errorf("%w: config %s: %w", ErrInvalidImage, man.Config.Digest, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(man.Layers) {
		return record{}, fmt.Errorf("%w: %d layers but %d diff IDs in the config", ErrInvalidImage, len(man.Layers), len(cfg.RootFS.DiffIDs))
	}
	r := record{Digest: m.Digest, Size: m.Size + man.Config.Size}
	if cfg.Created != nil {
		r.Created = cfg.Created.UTC()
	}
	for _, l := range man.Layers {
		r.Size += l.Size
	}
	tree := s.treePath(m.Digest)
	if _, err := os.Stat(tree); err == nil {
		return r, nil
	}
	tmp, err := os.MkdirTemp(s.path("tmp"), "unpack-")
	if err != nil {
		return record{}, err
	}
	defer removeAll(tmp)
	rootfs := filepath.Join(tmp, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return record{}, err
	}
	budget := &unpackBudget{limit: s.maxUnpack}
	for i, l := range man.Layers {
		if err := s.applyLayer(ctx, rootfs, l, cfg.RootFS.DiffIDs[i], budget); err != nil {
			return record{}, fmt.Errorf("layer %s: %w", l.Digest, err)
		}
	}
	if err := relativeLinks(rootfs); err != nil {
		return record{}, err
	}
	// The session mounts it read-only; its top stays unwritable by
	// anyone but root whatever the image says.
	if fi, err := os.Stat(rootfs); err == nil {
		os.Chmod(rootfs, fi.Mode().Perm()&^0o022)
	}
	if err := os.MkdirAll(filepath.Dir(tree), 0o700); err != nil {
		return record{}, err
	}
	if err := os.Rename(rootfs, tree); err != nil {
		return record{}, err
	}
	return r, nil
}

// relativeLinks rewrites the tree's absolute symlinks as relative ones,
// which mean the same in the image. A debug session mounts the tree at
// /.ctr-enter, where /bin/busybox would name the target's file instead of
// the image's.
func relativeLinks(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return err
		}
		link, err := os.Readlink(path)
		if err != nil || !filepath.IsAbs(link) {
			return err
		}
		// Cleaned first: ".." at the image's root stays there.
		rel, err := filepath.Rel(filepath.Dir(path), filepath.Join(root, filepath.Clean(link)))
		if err != nil {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		if err := os.Remove(path); err != nil {
			return err
		}
		if err := os.Symlink(rel, path); err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			return os.Lchown(path, int(st.Uid), int(st.Gid))
		}
		return nil
	})
}

// unpackBudget is what unpacking one image may still write. A layer is
// small when compressed and may inflate a thousandfold (zeros, sparse
// files), so the bound is on what its tar headers declare, checked before
// each entry is written rather than by watching the disk.
type unpackBudget struct {
	limit   int64 // bytes; negative: no limit
	written int64 // bytes declared so far, over every layer
	entries int
}

// admit is an archive.Filter: it counts hdr and refuses the entry, which
// stops the applier before anything of it is written, once the image
// exceeds the limit. Regular files count with the size their header
// declares: for sparse files that is the whole length, holes included,
// which the applier writes out. Hard links, symlinks, directories and
// devices carry no data (the tar reader skips whatever size they claim)
// and count as entries only.
func (b *unpackBudget) admit(hdr *tar.Header) (bool, error) {
	b.entries++
	if b.entries > maxUnpackEntries {
		return false, fmt.Errorf("%w: its layers hold more than %d files", ErrTooLarge, maxUnpackEntries)
	}
	switch hdr.Typeflag {
	case tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo:
		return true, nil
	}
	if hdr.Size < 0 {
		return false, fmt.Errorf("%w: %s: negative size", ErrInvalidImage, hdr.Name)
	}
	b.written += hdr.Size
	if b.limit >= 0 && (b.written > b.limit || b.written < 0) {
		return false, fmt.Errorf("%w: unpacking it writes more than the limit of %s: raise it with %s=SIZE (such as 32g, or max for none)",
			ErrTooLarge, HumanSize(b.limit), EnvMaxUnpack)
	}
	return true, nil
}

// applyLayer applies one layer with containerd's applier (whiteouts,
// hard links, paths kept inside root), within budget, and checks its
// uncompressed digest against the config's diff ID.
func (s *store) applyLayer(ctx context.Context, root string, l ocispec.Descriptor, diffID digest.Digest, budget *unpackBudget) error {
	if err := diffID.Validate(); err != nil {
		return fmt.Errorf("%w: diff ID: %w", ErrInvalidImage, err)
	}
	ra, err := s.cs.ReaderAt(ctx, l)
	if err != nil {
		return err
	}
	defer ra.Close()
	ds, err := compression.DecompressStream(content.NewReader(ra))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidImage, err)
	}
	defer ds.Close()
	h := diffID.Algorithm().Digester()
	tee := io.TeeReader(ds, h.Hash())
	opts := []archive.ApplyOpt{archive.WithFilter(budget.admit)}
	if os.Geteuid() != 0 {
		// Only root can give files their owners; others (unit tests)
		// get a tree owned by themselves.
		opts = append(opts, archive.WithNoSameOwner())
	}
	if _, err := archive.Apply(ctx, root, tee, opts...); err != nil {
		if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrInvalidImage) {
			return err // from admit, classed already
		}
		return fmt.Errorf("%w: %w", ErrInvalidImage, err)
	}
	// The applier stops at the end-of-archive marker; the digest covers
	// the padding after it too.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidImage, err)
	}
	if got := h.Digest(); got != diffID {
		return fmt.Errorf("%w: uncompressed digest %s, config says %s", ErrInvalidImage, got, diffID)
	}
	return nil
}

// importArchive caches the images of a docker-archive or OCI layout
// tarball. name, when given, names the archive's one image.
func (s *store) importArchive(ctx context.Context, r io.Reader, source, name string, p *progress) ([]*Image, error) {
	idxDesc, err := imagearchive.ImportIndex(ctx, s.cs, r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArchive, err)
	}
	b, err := content.ReadBlob(ctx, s.cs, idxDesc)
	if err != nil {
		return nil, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%w: index: %w", ErrInvalidArchive, err)
	}
	named, err := nameManifests(idx.Manifests, name)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(named))
	for n := range named {
		names = append(names, n)
	}
	sort.Strings(names)
	var imgs []*Image
	for _, n := range names {
		m, err := s.fetch(ctx, nil, named[n], p)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", n, err)
		}
		img, err := s.commit(ctx, n, m, source, p)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

// nameManifests says which reference each image of an archive is cached
// under: the names the archive gives them (docker save's RepoTags, an OCI
// layout's full reference names), or name for an archive of one image.
func nameManifests(ms []ocispec.Descriptor, name string) (map[string]ocispec.Descriptor, error) {
	named := map[string]ocispec.Descriptor{}
	distinct := map[digest.Digest]ocispec.Descriptor{}
	var unnamed int
	for _, d := range ms {
		distinct[d.Digest] = d
		n := d.Annotations[images.AnnotationImageName]
		if n == "" {
			// In OCI layouts this is often a bare tag ("latest"),
			// which names nothing on its own.
			n = d.Annotations[ocispec.AnnotationRefName]
		}
		if full, err := Normalize(n); err == nil && n != "" && !isBareTag(n) {
			named[full] = d
		} else {
			unnamed++
		}
	}
	switch {
	case len(distinct) == 0:
		return nil, fmt.Errorf("%w: no image in it", ErrInvalidArchive)
	case name != "" && len(distinct) == 1:
		for _, d := range distinct {
			return map[string]ocispec.Descriptor{name: d}, nil
		}
	case name != "":
		if d, ok := named[name]; ok {
			return map[string]ocispec.Descriptor{name: d}, nil
		}
		return nil, fmt.Errorf("%w: it holds %d images, none named %s", ErrInvalidArchive, len(distinct), name)
	case unnamed > 0:
		return nil, errors.New("import: the archive has an image without a name: give it one (--name)")
	}
	return named, nil
}

// isBareTag tells "latest" (an OCI layout's ref.name) from a repository
// name, which the docker normalisation would also accept.
func isBareTag(s string) bool {
	return !strings.ContainsAny(s, "/:@")
}

// blobLabel names a blob in progress lines: its kind and short digest.
func blobLabel(desc ocispec.Descriptor) string {
	kind := "blob"
	switch {
	case images.IsLayerType(desc.MediaType):
		kind = "layer"
	case images.IsManifestType(desc.MediaType):
		kind = "manifest"
	case images.IsIndexType(desc.MediaType):
		kind = "index"
	case images.IsConfigType(desc.MediaType):
		kind = "config"
	}
	return kind + " " + shortDigest(desc.Digest.String())
}

// shortDigest is sha256: and 12 hex digits, as docker prints IDs.
func shortDigest(d string) string {
	alg, enc, ok := strings.Cut(d, ":")
	if !ok || len(enc) <= 12 {
		return d
	}
	return alg + ":" + enc[:12]
}
