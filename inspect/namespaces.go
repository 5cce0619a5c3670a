package inspect

import (
	"fmt"
	"os"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/nskind"
	"github.com/ctr-enter/ctr-enter/internal/procfs"
	"github.com/ctr-enter/ctr-enter/resolve"
)

// Namespace is one of a process's namespaces and who else is in it.
type Namespace struct {
	Kind           string   `json:"kind"`
	Inode          uint64   `json:"inode"`
	SharedWithHost bool     `json:"shared_with_host"`
	SharedWith     []string `json:"shared_with"` // other containers, in their explicit form
	// SharedWithNames are the same containers as people know them (a
	// pod's by its pod names, its sandbox marked so), in the same order.
	SharedWithNames []string `json:"shared_with_names"`
}

// nsInodes reads the inode of each namespace kind of pid; a kind the kernel
// lacks is absent.
func nsInodes(pid int) map[string]uint64 {
	m := map[string]uint64{}
	for _, k := range nskind.Kinds {
		var st unix.Stat_t
		if unix.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, k.Name), &st) == nil {
			m[k.Name] = st.Ino
		}
	}
	return m
}

// hostInodes are the namespaces t's would be if it shared them with the
// host: those of the runtime's side of it, the shim that is its parent,
// rather than PID 1's (which, where the runtime itself runs in a container,
// is not the host the runtime knows). For a bare PID, ctr-enter's own.
func hostInodes(t *resolve.Target) map[string]uint64 {
	if t.Runtime != resolve.PID {
		if st, err := procfs.ReadStat(t.PID); err == nil && st.PPID > 0 {
			if m := nsInodes(st.PPID); len(m) > 0 {
				return m
			}
		}
	}
	return nsInodes(os.Getpid())
}

// sharing works out, for running containers, which of their namespaces
// they share with the host and with which other containers.
type sharing struct {
	inodes map[*resolve.Target]map[string]uint64
}

func newSharing(ts []*resolve.Target) *sharing {
	s := &sharing{inodes: map[*resolve.Target]map[string]uint64{}}
	for _, t := range ts {
		if t.Running && t.PID > 0 {
			s.inodes[t] = nsInodes(t.PID)
		}
	}
	return s
}

// of returns t's namespaces, in the order of nskind.Kinds.
func (s *sharing) of(t *resolve.Target, inodes map[string]uint64) []Namespace {
	host := hostInodes(t)
	var out []Namespace
	for _, k := range nskind.Kinds {
		ino, ok := inodes[k.Name]
		if !ok {
			continue
		}
		ns := Namespace{Kind: k.Name, Inode: ino, SharedWithHost: host[k.Name] == ino, SharedWith: []string{}, SharedWithNames: []string{}}
		if !ns.SharedWithHost {
			var others []*resolve.Target
			for other, theirs := range s.inodes {
				if other != t && !same(other, t) && theirs[k.Name] == ino {
					others = append(others, other)
				}
			}
			sort.Slice(others, func(i, j int) bool { return others[i].String() < others[j].String() })
			for _, o := range others {
				ns.SharedWith = append(ns.SharedWith, o.String())
				ns.SharedWithNames = append(ns.SharedWithNames, o.Display())
			}
		}
		out = append(out, ns)
	}
	return out
}

// same reports whether two listings name one container.
func same(a, b *resolve.Target) bool {
	return a.Runtime == b.Runtime && a.Namespace == b.Namespace && a.ID == b.ID
}
