package resolve

import (
	"strings"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
)

// The cgroup check of Open compares whole paths: the cgroup the runtime
// says it put the container in (runtimes derives it from the runtime's
// configuration), against each line of /proc/PID/cgroup.
// Looking for the container's ID anywhere in the path is not enough: a
// container that may create child cgroups can make /docker/ITS-ID/VICTIM-ID
// and put a process there (finding 5 of issue 10). A path made from the
// runtime's own configuration is outside every other container's subtree,
// so no container but the victim can place a process in it.

// inCgroup checks a process's /proc/PID/cgroup against the cgroups the
// runtime may have put the container in: the process must be in one of
// them in at least one hierarchy, and in it or the root ("/", where the
// runtime does not manage a hierarchy) in every other. A cgroup below it
// counts as it: only the container's own processes (or the host's root)
// can make cgroups there and move processes in, and a container whose
// init is systemd (kind's nodes) moves that init to .../init.scope. On
// failure it returns the path that did not fit, for the message.
func inCgroup(lines []procfs.CgroupLine, want []string) (bool, string) {
	if len(lines) == 0 {
		return false, "(none)"
	}
	var misfit string
	for _, w := range want {
		found, ok := false, true
		for _, l := range lines {
			switch {
			case within(l.Path, w):
				found = true
			case l.Path == "/":
			default:
				ok = false
				if misfit == "" {
					misfit = l.Path
				}
			}
		}
		if found && ok {
			return true, ""
		}
	}
	if misfit == "" {
		misfit = "/"
	}
	return false, misfit
}

// within says whether cgroup p is dir or below it, comparing whole path
// components: /docker/ID2 is not within /docker/ID.
func within(p, dir string) bool {
	if dir == "/" || dir == "" {
		// A container in the root cgroup cannot be told from the host.
		return false
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}
