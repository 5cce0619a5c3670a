// Package nskind names the kinds of Linux namespaces: their names under
// /proc/PID/ns, their clone flags, and sets of them. Joining (enter),
// sharing (attach) and inspecting (inspect) all speak of kinds through it.
package nskind

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Set is a set of namespace kinds, as clone flags.
type Set int

// The kinds, one flag each.
const (
	Mount  Set = unix.CLONE_NEWNS
	UTS    Set = unix.CLONE_NEWUTS
	IPC    Set = unix.CLONE_NEWIPC
	Net    Set = unix.CLONE_NEWNET
	PID    Set = unix.CLONE_NEWPID
	User   Set = unix.CLONE_NEWUSER
	Cgroup Set = unix.CLONE_NEWCGROUP
	Time   Set = unix.CLONE_NEWTIME

	// All is every kind.
	All = Mount | UTS | IPC | Net | PID | User | Cgroup | Time
)

// Kind is one namespace kind: its name under /proc/PID/ns and its flag.
type Kind struct {
	Name string
	Set  Set
}

// Kinds lists every kind, in the order nsenter lists them.
var Kinds = []Kind{
	{"mnt", Mount}, {"uts", UTS}, {"ipc", IPC}, {"net", Net},
	{"pid", PID}, {"user", User}, {"cgroup", Cgroup}, {"time", Time},
}

// Has reports whether s holds every kind of o.
func (s Set) Has(o Set) bool { return s&o == o }

// Kinds are the kinds of s, in the order of Kinds.
func (s Set) Kinds() []Kind {
	var out []Kind
	for _, k := range Kinds {
		if s.Has(k.Set) {
			out = append(out, k)
		}
	}
	return out
}

// Names are the names of the kinds of s, in the order of Kinds.
func (s Set) Names() []string {
	var names []string
	for _, k := range s.Kinds() {
		names = append(names, k.Name)
	}
	return names
}

func (s Set) String() string {
	if s == 0 {
		return "none"
	}
	return strings.Join(s.Names(), ",")
}

// Named returns the set holding the named kind alone, or 0 for an unknown
// name.
func Named(name string) Set {
	for _, k := range Kinds {
		if k.Name == name {
			return k.Set
		}
	}
	return 0
}

// Parse reads a comma-separated list of kinds ("net,pid").
func Parse(list string) (Set, error) {
	var s Set
	for _, name := range strings.Split(list, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		k := Named(name)
		if k == 0 {
			return 0, fmt.Errorf("unknown namespace kind %q (want %s)", name, All)
		}
		s |= k
	}
	return s, nil
}
