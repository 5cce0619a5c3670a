// Package files copies files, directories and symlinks between a running
// target and the host (ctr-enter cp), from the host, through the target's
// own view of its files: its root and the mounts and volumes under it, as
// /proc/PID/root shows them. Nothing runs inside the target.
//
// The target is hostile, so every path in it is resolved by openat2 under
// its root (RESOLVE_IN_ROOT, never by joining strings), every entry below
// the copied path is opened by one name relative to its parent's handle
// with no symlink followed, and a file is opened for reading only once an
// O_PATH handle has shown it to be a regular file: a FIFO, device node or
// socket is never opened, so it can neither block cp nor act on a device
// from the host.
//
// A copy is a stream of entries (a header, and the content of a regular
// file) from a source (a walk of a tree, or a tar stream) to a sink (a
// directory, or a tar stream): memory stays constant whatever the size.
package files

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
)

// ErrUnsupported is a copy that cp does not make: a directory onto a
// file, a path that is neither in the target nor on the host.
var ErrUnsupported = errors.New("cannot copy")

// entry is one file of a copy, as a tar header would describe it.
type entry struct {
	// rel is the path relative to the copied top, slash-separated
	// and clean; "" is the top itself.
	rel          string
	mode         fs.FileMode // type and permission bits, setuid, setgid and sticky included
	uid, gid     int         // numeric, as in the target
	size         int64       // of a regular file
	mtime, atime time.Time
	link         string // a symlink's target
	// devMajor and devMinor are a device node's numbers, for a tar
	// stream: a device is never made from them.
	devMajor, devMinor int64
}

// source produces the entries of a copy, each to put, in an order where
// a directory comes before what it holds. The reader of a regular file
// holds exactly size bytes.
type source func(put func(e *entry, content io.Reader) error) error

// sink receives entries: put creates one, and finish ends the copy.
type sink interface {
	put(e *entry, content io.Reader) error
	finish() error
}

// idMap maps the ids of one user namespace to another's: from the host's
// to the target's when reading the target's files, the other way when
// writing them. nil is the identity (the host's own files, or a target in
// the host's user namespace).
type idMap struct {
	uid, gid procfs.IDMap
	// toInside maps host ids to the target's; else the target's to the
	// host's.
	toInside bool
}

// overflowID is what the kernel shows for an id with no mapping
// (/proc/sys/kernel/overflowuid).
const overflowID = 65534

func (m *idMap) mapIDs(uid, gid int) (int, int, error) {
	if m == nil {
		return uid, gid, nil
	}
	if m.toInside {
		// A file of the target owned by an id its namespace cannot
		// name shows as the overflow id in the target: so it is
		// written down.
		u, err := m.uid.Inside(uid)
		if err != nil {
			u = overflowID
		}
		g, err := m.gid.Inside(gid)
		if err != nil {
			g = overflowID
		}
		return u, g, nil
	}
	u, err := outside(m.uid, uid)
	if err != nil {
		return 0, 0, err
	}
	g, err := outside(m.gid, gid)
	if err != nil {
		return 0, 0, err
	}
	return u, g, nil
}

// outside maps an id of the namespace to the host's, the inverse of
// procfs.IDMap.Inside.
func outside(m procfs.IDMap, inside int) (int, error) {
	if inside >= 0 {
		for _, r := range m {
			if off := uint64(inside) - uint64(r.Inside); uint64(inside) >= uint64(r.Inside) && off < uint64(r.Count) {
				return int(uint64(r.Outside) + off), nil
			}
		}
	}
	return 0, fmt.Errorf("id %d has no id in the target's user namespace", inside)
}
