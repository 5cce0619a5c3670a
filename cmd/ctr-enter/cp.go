package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ctr-enter/ctr-enter/enter"
	"github.com/ctr-enter/ctr-enter/files"
	"github.com/ctr-enter/ctr-enter/resolve"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

type cpCmd struct {
	asRoot
	Src  string `arg:"" name:"src" placeholder:"SRC" predictor:"target-path" help:"TARGET:PATH, a host path, or - for a tar stream on stdin."`
	Dest string `arg:"" name:"dest" placeholder:"DEST" predictor:"target-path" help:"TARGET:PATH, a host path, or - for a tar stream on stdout."`
}

func (c *cpCmd) Help() string {
	return `Copies files, directories and symlinks between a running target and the
host, as docker cp does, for every runtime and for targets with no tool at
all: nothing runs inside the target. Out of a stopped container or an image
(image://REF:/PATH), it copies from the read-only view of their files that
a session over them has. Its files are read and written from the
host as the target's own processes see them (its root, mounts and volumes),
every path resolved under the target's root: a symlink is copied as a link
and never followed out of it, and a FIFO, device node or socket is never
opened (it is skipped, with a warning; a tar stream holds its header).

Modes, numeric owners (as the target sees them) and times are kept; files
written on the host lose setuid and setgid. A directory lands in a
destination directory that exists under its own name, or becomes the
destination; SRC/. copies what a directory holds. Either side may be - : a
tar stream on stdout (out of the target) or stdin (into a directory of the
target). A host path with a colon in it is written ./a:b, as for docker cp.

Examples:
  ctr-enter cp taka:/etc/redis.conf .
  ctr-enter cp ./dump.rdb docker://taka:/data/
  ctr-enter cp containerd://e2e/taka:/var/log - | tar -tv
  ctr-enter cp shop/web/redis:/data/dump.rdb .      a Kubernetes pod's container
  ctr-enter cp crashed:/var/log/app.log .          out of a stopped container
  ctr-enter cp image://busybox:latest:/bin/busybox .
  tar -c conf | ctr-enter cp - taka:/tmp`
}

// checkArgs reads which side is the target's before the root check.
func (c *cpCmd) checkArgs() error {
	_, _, _, err := c.sides()
	return err
}

// sides says which argument names a path in a target, and splits it.
func (c *cpCmd) sides() (ref, targetPath string, into bool, err error) {
	sref, spath, sremote := splitTargetPath(c.Src)
	dref, dpath, dremote := splitTargetPath(c.Dest)
	switch {
	case sremote && dremote:
		return "", "", false, errors.New("copying between targets is not supported: copy to the host, then into the other target")
	case !sremote && !dremote:
		return "", "", false, errors.New("neither SRC nor DEST names a target: one must be TARGET:PATH")
	case sremote && spath == "":
		return "", "", false, errors.New("empty path in " + c.Src + ": want TARGET:PATH")
	case dremote && dpath == "":
		return "", "", false, errors.New("empty path in " + c.Dest + ": want TARGET:PATH")
	case sremote:
		return sref, spath, false, nil
	default:
		return dref, dpath, true, nil
	}
}

// splitTargetPath reads a word as TARGET:PATH, as docker cp reads
// CONTAINER:PATH (and kubectl cp NAMESPACE/POD:PATH): a word that starts
// with / or . is a host path (./a:b, /tmp/x:y), and so is one without a
// colon; before the first colon is the target, slashes and all
// (shop/web/redis:/etc). The explicit forms keep their own colons and
// slashes (docker://taka:/etc, containerd://e2e/taka:/etc, pid:42:/etc).
func splitTargetPath(s string) (ref, p string, remote bool) {
	if s == "-" || strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") {
		return "", s, false
	}
	if image, ok := strings.CutPrefix(s, resolve.ImageScheme); ok {
		// An image reference holds colons of its own (a tag, a
		// registry's port): the path is absolute, after the last ":/".
		i := strings.LastIndex(image, ":/")
		if i <= 0 {
			return resolve.ImageScheme + image, "", true
		}
		return resolve.ImageScheme + image[:i], image[i+1:], true
	}
	scheme, rest := "", s
	for _, sc := range []string{"docker://", "containerd://", "pid://", "pid:"} {
		if strings.HasPrefix(s, sc) {
			scheme, rest = sc, strings.TrimPrefix(s, sc)
			break
		}
	}
	name, p, ok := strings.Cut(rest, ":")
	if !ok {
		return "", s, false
	}
	return scheme + name, p, true
}

func (c *cpCmd) Run(ctx context.Context, g *Globals) error {
	ref, targetPath, into, err := c.sides()
	if err != nil {
		return err
	}
	o := files.Options{TargetPath: targetPath, Into: into, Stdin: os.Stdin, Stdout: os.Stdout, Warn: warn, HostPath: c.Dest}
	if into {
		o.HostPath = c.Src
	}
	root, closeRoot, err := c.open(ctx, g, ref, into)
	if err != nil {
		return err
	}
	defer closeRoot()
	o.Target, o.TargetName = root, root.String()
	return files.Copy(ctx, o)
}

// copyRoot is where cp copies: a running target's files (its process's
// root), or a stopped container's or an image's (a view of their layers).
type copyRoot interface {
	files.Root
	String() string
}

// open opens the files ref names: a running target's, or (out of them
// only) a stopped container's or an image's, read-only, as a session over
// them sees them.
func (c *cpCmd) open(ctx context.Context, g *Globals, ref string, into bool) (copyRoot, func(), error) {
	var off enter.Offline
	if image, ok := resolve.ImageRef(ref); ok {
		var err error
		if off, err = imageFiles(ctx, g, image); err != nil {
			return nil, nil, err
		}
	} else {
		t, err := resolveAny(ctx, g, ref, false)
		if err != nil {
			return nil, nil, err
		}
		if t.Running {
			p, err := openTarget(t)
			if err != nil {
				return nil, nil, err
			}
			return processRoot{p}, func() { p.Close() }, nil
		}
		st, err := runtimes.OpenStopped(ctx, g.targetOptions(), t.Container)
		if err != nil {
			return nil, nil, err
		}
		off = stoppedFiles(t, st)
	}
	if into {
		return nil, nil, fmt.Errorf("cp into %s: it runs nothing, and its files are read-only here (enter it with --write to change a stopped container's)", off.Name)
	}
	view, err := enter.OpenView(off)
	if err != nil {
		return nil, nil, err
	}
	return &resolve.Root{Dir: view, Name: off.Name}, func() { view.Close() }, nil
}

// processRoot is a running target's files, named by its explicit form.
type processRoot struct{ *resolve.Process }

func (p processRoot) String() string { return p.Target.String() }
