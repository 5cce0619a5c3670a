package files

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// tarSink writes entries as a tar stream, as docker cp does to stdout:
// each at top/rel.
type tarSink struct {
	tw  *tar.Writer
	top string
}

func (s *tarSink) put(e *entry, content io.Reader) error {
	name := path.Join(s.top, e.rel)
	if name == "" {
		name = "."
	}
	h := &tar.Header{
		Name:       name,
		Mode:       int64(unixMode(e.mode)),
		Uid:        e.uid,
		Gid:        e.gid,
		ModTime:    e.mtime,
		AccessTime: e.atime,
		Format:     tar.FormatPAX, // times to the nanosecond, any size, any name
	}
	switch e.mode.Type() {
	case 0:
		h.Typeflag, h.Size = tar.TypeReg, e.size
	case fs.ModeDir:
		h.Typeflag, h.Name = tar.TypeDir, name+"/"
	case fs.ModeSymlink:
		h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
	case fs.ModeNamedPipe:
		h.Typeflag = tar.TypeFifo
	case fs.ModeDevice | fs.ModeCharDevice:
		h.Typeflag = tar.TypeChar
	case fs.ModeDevice:
		h.Typeflag = tar.TypeBlock
	default:
		return nil // a socket: tar has no type for one
	}
	h.Devmajor, h.Devminor = e.devMajor, e.devMinor
	if err := s.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("write the tar stream: %w", err)
	}
	if content != nil {
		if _, err := io.Copy(s.tw, content); err != nil {
			return fmt.Errorf("write the tar stream: %s: %w", name, err)
		}
	}
	return nil
}

func (s *tarSink) finish() error { return s.tw.Close() }

// readTar is the source of the tar stream r, as docker cp takes one on
// stdin. Names are cleaned to relative paths ("../x" and "/x" are "x");
// the sink keeps them beneath the destination in any case.
func readTar(r io.Reader) source {
	return func(put func(*entry, io.Reader) error) error {
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read the tar stream: %w", err)
			}
			e := &entry{
				rel:   strings.TrimPrefix(path.Clean("/"+h.Name), "/"),
				mode:  permissions(uint32(h.Mode & 0o7777)),
				uid:   h.Uid,
				gid:   h.Gid,
				mtime: h.ModTime,
				atime: h.AccessTime,
				link:  h.Linkname,
			}
			if e.atime.IsZero() {
				e.atime = e.mtime
			}
			var content io.Reader
			switch h.Typeflag {
			case tar.TypeReg, tar.TypeRegA:
				e.size, content = h.Size, tr
			case tar.TypeDir:
				e.mode |= fs.ModeDir
			case tar.TypeSymlink:
				e.mode |= fs.ModeSymlink
			case tar.TypeFifo:
				e.mode |= fs.ModeNamedPipe
			case tar.TypeChar:
				e.mode |= fs.ModeDevice | fs.ModeCharDevice
			case tar.TypeBlock:
				e.mode |= fs.ModeDevice
			case tar.TypeXGlobalHeader:
				continue
			default: // hard links and the rest: the sink skips them, saying so
				e.mode |= fs.ModeIrregular
			}
			if err := put(e, content); err != nil {
				return err
			}
		}
	}
}
