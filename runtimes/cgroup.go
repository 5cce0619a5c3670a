package runtimes

import (
	"fmt"
	"path"
	"strings"

	"github.com/ctr-enter/ctr-enter/internal/text"
)

// The cgroups a runtime may have put a container in, derived from its own
// configuration, for resolve's check of the container's process: a path
// made from the runtime's configuration is outside every other
// container's subtree, so no container but the victim can place a process
// in it (finding 5 of issue 10).

// containerdCgroup is the cgroup runc makes for a spec's linux.cgroupsPath:
// the systemd driver's "slice:prefix:name", or a cgroupfs path. A relative
// cgroupfs path (or none) is placed under the runtime's own cgroup, which
// ctr-enter cannot know: such containers cannot be checked, and are
// refused rather than checked loosely.
func containerdCgroup(cgroupsPath string) (string, error) {
	if parts := strings.Split(cgroupsPath, ":"); len(parts) == 3 && !strings.HasPrefix(cgroupsPath, "/") {
		return systemdCgroup(parts[0], parts[1], parts[2])
	}
	if !strings.HasPrefix(cgroupsPath, "/") {
		return "", fmt.Errorf("cgroupsPath %q is relative to the runtime's own cgroup", text.Clean(cgroupsPath))
	}
	return path.Clean(cgroupsPath), nil
}

// systemdCgroup is where runc's systemd driver puts a container: in the
// slice (system.slice by default), a scope PREFIX-NAME.scope, or NAME
// itself when it is a slice.
func systemdCgroup(slice, prefix, name string) (string, error) {
	if slice == "" {
		slice = "system.slice"
	}
	dir, err := expandSlice(slice)
	if err != nil {
		return "", err
	}
	unit := name
	if !strings.HasSuffix(name, ".slice") {
		unit = prefix + "-" + name + ".scope"
	}
	if name == "" || strings.Contains(unit, "/") {
		return "", fmt.Errorf("invalid systemd unit %q", text.Clean(unit))
	}
	return path.Join(dir, unit), nil
}

// expandSlice turns a systemd slice name into its cgroup path, as systemd
// and runc do: every dash is a level, "a-b-c.slice" is
// /a.slice/a-b.slice/a-b-c.slice, and "-.slice" is the root.
func expandSlice(slice string) (string, error) {
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok || base == "" || strings.Contains(slice, "/") {
		return "", fmt.Errorf("invalid systemd slice %q", text.Clean(slice))
	}
	if base == "-" {
		return "/", nil
	}
	var dir, prefix string
	for _, c := range strings.Split(base, "-") {
		if c == "" {
			return "", fmt.Errorf("invalid systemd slice %q", text.Clean(slice))
		}
		dir += "/" + prefix + c + ".slice"
		prefix += c + "-"
	}
	return dir, nil
}

// dockerCgroups are the cgroups Docker may have put container id in, given
// its HostConfig.CgroupParent: one for the cgroupfs driver (PARENT/ID,
// /docker/ID by default) and one for the systemd driver
// (PARENT-expanded/docker-ID.scope, /system.slice/docker-ID.scope by
// default). Accepting either spares asking the daemon for its driver (GET
// /info) on every entry: both paths are made by the daemon from the
// victim's own ID, under parents no other container's cgroup contains, so
// whichever one the daemon did not use is no more reachable to a
// container than the one it did. A relative cgroupfs parent is placed
// under the runtime's own cgroup, and one set daemon-wide (dockerd
// --cgroup-parent) is not in the container's HostConfig: the first cannot
// be checked, the second fails the check; both are refused.
func dockerCgroups(id, parent string) ([]string, error) {
	var want []string
	switch {
	case parent == "":
		want = append(want, "/docker/"+id)
	case strings.HasPrefix(parent, "/"):
		want = append(want, path.Join(parent, id))
	}
	slice := parent
	if slice == "" {
		slice = "system.slice"
	}
	if sd, err := systemdCgroup(slice, "docker", id); err == nil {
		want = append(want, sd)
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("cgroup parent %q is relative to the runtime's own cgroup", text.Clean(parent))
	}
	return want, nil
}
