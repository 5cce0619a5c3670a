package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/containerd/log"

	"github.com/ctr-enter/ctr-enter/images"
	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

type imagesCmd struct {
	Pull   imagesPullCmd   `cmd:"" help:"Fetch an image into the cache: from containerd, Docker or its registry."`
	Ls     imagesLsCmd     `cmd:"" help:"List cached images."`
	Rm     imagesRmCmd     `cmd:"" help:"Remove cached images, and whatever only they used."`
	Import imagesImportCmd `cmd:"" help:"Cache the images of a docker save or OCI layout tarball."`
	Prune  imagesPruneCmd  `cmd:"" help:"Delete what no cached image uses (leftovers of interrupted pulls)."`
}

func (imagesCmd) Help() string {
	return `Debug tools come from images, unpacked once and cached by manifest digest in
$CTR_ENTER_IMAGES (default ` + images.DefaultRoot + `). A pull takes an
image from the node first (containerd, every namespace; then Docker), and
from its registry last. Unpacking one image may write at most
$CTR_ENTER_MAX_UNPACK bytes (default 8g; k, m, g, t suffixes; max for no
limit): a bigger image fails with nothing left in the cache.

Examples:
  ctr-enter images pull busybox
  ctr-enter images pull --from registry 127.0.0.1:5000/busybox
  ctr-enter images import tools.tar --name tools:1
  ctr-enter images ls
  ctr-enter images rm busybox`
}

// imageOptions is where the cache is (CTR_ENTER_IMAGES), where images
// come from, and how much unpacking one may write (CTR_ENTER_MAX_UNPACK).
// Environment variables rather than flags: an image is also pulled by
// enter --image, and the cache is the same for every command. The images
// commands take it as a parameter of Run (run binds it); enter makes it
// only for --image.
func imageOptions(g *Globals) (images.Options, error) {
	// containerd's content store warns on stderr when the filesystem
	// lacks fs-verity, which is the common case and not the operator's
	// concern; its errors still show.
	log.SetLevel("error")
	o := images.Options{Root: imagesRoot(), Runtimes: g.targetOptions(), Progress: os.Stderr}
	if v := os.Getenv(images.EnvMaxUnpack); v != "" {
		n, err := runtimes.ParseSize(v)
		if err != nil {
			return images.Options{}, fmt.Errorf("%s=%s: %w", images.EnvMaxUnpack, text.Clean(v), err)
		}
		o.MaxUnpack = n // -1 (max): no limit
	}
	return o, nil
}

func imagesRoot() string {
	if root := os.Getenv("CTR_ENTER_IMAGES"); root != "" {
		return root
	}
	return images.DefaultRoot
}

type imagesPullCmd struct {
	asRoot
	Ref  string `arg:"" placeholder:"REF" help:"Image reference, as docker takes it (busybox, 127.0.0.1:5000/tools:1)."`
	From string `enum:",containerd,docker,registry" default:"" placeholder:"SRC" help:"Take it from this source only: containerd, docker or registry."`
}

func (c *imagesPullCmd) Run(ctx context.Context, o images.Options) error {
	o.From = c.From
	img, err := images.Pull(ctx, o, c.Ref)
	if err != nil {
		return err
	}
	fmt.Println(img.Ref, img.Digest)
	return nil
}

type imagesLsCmd struct {
	asRoot
	JSON bool `name:"json" help:"Print JSON: every field, full digests and paths."`
}

func (c *imagesLsCmd) Run(ctx context.Context, o images.Options) error {
	imgs, err := images.List(ctx, o)
	if err != nil {
		return err
	}
	return writeList(os.Stdout, c.JSON, imgs, imageHeader, imageCells)
}

var imageHeader = []string{"REF", "DIGEST", "SIZE", "SOURCE", "CREATED"}

// imageCells is a row of the images table: the digest short as docker
// shows it, the build time in the local zone.
func imageCells(i *images.Image) []string {
	digest := i.Digest
	if _, hex, ok := strings.Cut(digest, ":"); ok && len(hex) > 12 {
		digest = hex[:12]
	}
	created := "-"
	if !i.Created.IsZero() {
		created = i.Created.Local().Format(time.DateTime)
	}
	return []string{text.Clean(i.Ref), digest, images.HumanSize(i.Size), i.Source, created}
}

type imagesRmCmd struct {
	asRoot
	Refs []string `arg:"" placeholder:"REF" predictor:"image" help:"Cached image references."`
}

func (c *imagesRmCmd) Run(ctx context.Context, o images.Options) error {
	for _, ref := range c.Refs {
		if err := images.Remove(ctx, o, ref); err != nil {
			return err
		}
		fmt.Println(ref)
	}
	return nil
}

type imagesImportCmd struct {
	asRoot
	File string `arg:"" placeholder:"FILE" help:"Output of docker save, or an OCI image layout as a tarball; - reads stdin."`
	Name string `placeholder:"REF" help:"Name of the archive's one image (default: the names the archive gives)."`
}

func (c *imagesImportCmd) Run(ctx context.Context, o images.Options) error {
	f := os.Stdin
	if c.File != "-" {
		var err error
		if f, err = os.Open(c.File); err != nil {
			return err
		}
		defer f.Close()
	}
	imgs, err := images.Import(ctx, o, f, c.Name)
	if err != nil {
		return fmt.Errorf("import %s: %w", c.File, err)
	}
	for _, img := range imgs {
		fmt.Println(img.Ref, img.Digest)
	}
	return nil
}

type imagesPruneCmd struct{ asRoot }

func (imagesPruneCmd) Run(ctx context.Context, o images.Options) error {
	removed, err := images.Prune(ctx, o)
	for _, r := range removed {
		fmt.Println(r)
	}
	return err
}
