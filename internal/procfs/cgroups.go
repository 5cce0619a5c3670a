package procfs

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Cgroups are a process's cgroups and what they limit and count, read the
// same way whether the host runs cgroup v1, v2 or both. A nil field is
// one not available here: its controller is not mounted, or its file does
// not exist on this kernel or at this level of the tree.
type Cgroups struct {
	// Version is 2 if the process's cgroups are only in the unified
	// hierarchy, else 1: on a hybrid host (v1 controllers beside a
	// unified hierarchy without any) every value comes from v1.
	Version int `json:"version"`
	// Paths maps each hierarchy to the process's cgroup in it: by
	// controller ("cpu", "memory", "pids", ...), by name for a named
	// hierarchy ("name=systemd"), and "" for the unified one.
	Paths  map[string]string `json:"paths"`
	CPU    CPUStats          `json:"cpu"`
	Memory MemoryStats       `json:"memory"`
	Pids   PidsStats         `json:"pids"`
}

// CPUStats are the cgroup's CPU weight, quota and use.
type CPUStats struct {
	Shares      *uint64 `json:"shares"` // v1 cpu.shares
	Weight      *uint64 `json:"weight"` // v2 cpu.weight
	PeriodUs    *uint64 `json:"period_us"`
	UsageNs     *uint64 `json:"usage_ns"`
	NrPeriods   *uint64 `json:"nr_periods"`
	NrThrottled *uint64 `json:"nr_throttled"`
	ThrottledNs *uint64 `json:"throttled_ns"`
	QuotaUs     *int64  `json:"quota_us"` // -1 for no limit
}

// MemoryStats are the cgroup's memory limit and use.
type MemoryStats struct {
	Limit     *int64  `json:"limit"` // bytes, -1 for no limit
	Usage     *uint64 `json:"usage"`
	Peak      *uint64 `json:"peak"`
	OOMEvents *uint64 `json:"oom_events"` // times usage reached the limit and an allocation was about to fail
	OOMKills  *uint64 `json:"oom_kills"`  // processes the OOM killer killed in the cgroup
}

// PidsStats are the cgroup's task limit and count.
type PidsStats struct {
	Limit   *int64  `json:"limit"` // -1 for no limit
	Current *uint64 `json:"current"`
}

// cgroupVersion is 1 as soon as the process is in any v1 hierarchy.
func cgroupVersion(lines []CgroupLine) int {
	for _, l := range lines {
		if len(l.Controllers) > 0 {
			return 1
		}
	}
	return 2
}

// cgroupPaths maps each hierarchy key to the process's cgroup in it,
// refusing any path that could climb out of its hierarchy once joined
// under a mount point.
func cgroupPaths(lines []CgroupLine) (map[string]string, error) {
	paths := make(map[string]string)
	for _, l := range lines {
		if !safePath(l.Path) {
			return nil, fmt.Errorf("read cgroups: cgroup path %q: %w", l.Path, ErrUnsafePath)
		}
		for _, key := range hierarchyKeys(l) {
			if _, dup := paths[key]; dup {
				return nil, fmt.Errorf("read cgroups: %q in two hierarchies", key)
			}
			paths[key] = l.Path
		}
	}
	return paths, nil
}

// hierarchyKeys are the Paths keys of one /proc/PID/cgroup line.
func hierarchyKeys(l CgroupLine) []string {
	if len(l.Controllers) == 0 {
		return []string{""}
	}
	return l.Controllers
}

// safePath accepts an absolute path without ".." components or NUL, one
// that stays below whatever it is joined to. The kernel prints "/.."
// paths for a cgroup outside the reader's cgroup namespace: those are
// refused too, as they name nothing under the mount.
func safePath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.ContainsRune(p, 0) &&
		!slices.Contains(strings.Split(p, "/"), "..")
}

// locate finds where the process's cgroup in the hierarchy holding
// controller (the unified one for "") is, relative to the file system
// root: under the mount point of that hierarchy. It is not found if the
// process is in no such hierarchy or the host has no usable mount of it.
func locate(lines []CgroupLine, mounts []Mount, controller string) (string, bool) {
	l, ok := lineFor(lines, controller)
	if !ok {
		return "", false
	}
	m, ok := mountFor(mounts, l)
	if !ok {
		return "", false
	}
	return path.Join(m.MountPoint, l.Path), true
}

// lineFor finds the /proc/PID/cgroup line of controller's hierarchy.
func lineFor(lines []CgroupLine, controller string) (CgroupLine, bool) {
	for _, l := range lines {
		if slices.Contains(hierarchyKeys(l), controller) {
			return l, true
		}
	}
	return CgroupLine{}, false
}

// mountFor finds the first mount of l's hierarchy: for v1 a "cgroup" mount
// whose super options hold every controller of the line (they are how the
// kernel says what a hierarchy holds, whatever the mount point is called:
// cpu and cpuacct may be one hierarchy or two), for v2 a "cgroup2" mount.
// Only a mount of the hierarchy's root will do: under a mount of a
// sub-cgroup (a container's view of its own) the process's full path
// names something else, or nothing.
func mountFor(mounts []Mount, l CgroupLine) (Mount, bool) {
	for _, m := range mounts {
		if m.Root != "/" || !safePath(m.MountPoint) {
			continue
		}
		if len(l.Controllers) == 0 && m.FSType == "cgroup2" {
			return m, true
		}
		if len(l.Controllers) > 0 && m.FSType == "cgroup" && containsAll(m.SuperOptions, l.Controllers) {
			return m, true
		}
	}
	return Mount{}, false
}

func containsAll(set, want []string) bool {
	for _, w := range want {
		if !slices.Contains(set, w) {
			return false
		}
	}
	return true
}

// Membership is where a process is in the cgroup hierarchies, and how the
// reader reaches them: the process's /proc/PID/cgroup, and the mounts of
// the reader's own mount namespace (its mountinfo), under which those
// hierarchies are found.
type Membership struct {
	Lines  []CgroupLine
	Mounts []Mount
}

// Dirs returns where the process's cgroup is in every hierarchy that has a
// usable mount here: the mount point joined with the path, one per line,
// the hierarchies without a mount skipped. For moving a process into the
// same cgroups.
func (m *Membership) Dirs() ([]string, error) {
	if _, err := cgroupPaths(m.Lines); err != nil {
		return nil, err
	}
	var dirs []string
	for _, l := range m.Lines {
		if mnt, ok := mountFor(m.Mounts, l); ok {
			dirs = append(dirs, path.Join(mnt.MountPoint, l.Path))
		}
	}
	if len(dirs) == 0 {
		return nil, errors.New("cgroup dirs: none of the process's hierarchies is mounted here")
	}
	return dirs, nil
}
