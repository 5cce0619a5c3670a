package enter

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Kind is a namespace kind: its name under /proc/PID/ns and its clone flag.
type Kind struct {
	Name string
	Flag int
}

// Kinds lists every namespace kind, in the order nsenter lists them.
var Kinds = []Kind{
	{"mnt", unix.CLONE_NEWNS},
	{"uts", unix.CLONE_NEWUTS},
	{"ipc", unix.CLONE_NEWIPC},
	{"net", unix.CLONE_NEWNET},
	{"pid", unix.CLONE_NEWPID},
	{"user", unix.CLONE_NEWUSER},
	{"cgroup", unix.CLONE_NEWCGROUP},
	{"time", unix.CLONE_NEWTIME},
}

// Set is a set of namespace kinds, as clone flags.
type Set int

// All is every kind.
const All Set = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET |
	unix.CLONE_NEWPID | unix.CLONE_NEWUSER | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// Has reports whether s holds every kind of o.
func (s Set) Has(o Set) bool { return s&o == o }

func (s Set) String() string {
	var names []string
	for _, k := range Kinds {
		if s.Has(Set(k.Flag)) {
			names = append(names, k.Name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ",")
}

// KindSet returns the set holding the named kind alone, or 0 for an
// unknown name.
func KindSet(name string) Set {
	for _, k := range Kinds {
		if k.Name == name {
			return Set(k.Flag)
		}
	}
	return 0
}
