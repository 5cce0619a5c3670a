package procfs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// CgroupLine is one line of /proc/PID/cgroup: a hierarchy and the
// process's cgroup in it.
type CgroupLine struct {
	ID          int      // hierarchy id, 0 for the unified (v2) hierarchy
	Controllers []string // "cpu", "cpuacct", "name=systemd"; none for v2
	Path        string   // as printed, from the hierarchy's root
}

// ParseProcCgroup parses /proc/PID/cgroup: "4:cpu,cpuacct:/docker/x",
// "9:name=systemd:/...", "0::/...". The path is everything after the
// second colon, since a cgroup's name may itself hold colons.
func ParseProcCgroup(b []byte) ([]CgroupLine, error) {
	lines, err := parseLines(b, "/proc/PID/cgroup", parseCgroupLine)
	if err != nil {
		return nil, err
	}
	// The kernel lists each hierarchy once; two lines for one would
	// leave it ambiguous which cgroup is the process's.
	ids := make(map[int]bool)
	for _, l := range lines {
		if ids[l.ID] {
			return nil, fmt.Errorf("parse cgroup: duplicate hierarchy %d", l.ID)
		}
		ids[l.ID] = true
	}
	return lines, nil
}

func parseCgroupLine(text string) (CgroupLine, error) {
	f := strings.SplitN(text, ":", 3)
	if len(f) != 3 {
		return CgroupLine{}, errors.New("want id:controllers:path")
	}
	id, err := strconv.ParseUint(f[0], 10, 31)
	if err != nil {
		return CgroupLine{}, fmt.Errorf("parse hierarchy id: %w", err)
	}
	if f[2] == "" {
		return CgroupLine{}, errors.New("empty path")
	}
	l := CgroupLine{ID: int(id), Path: f[2]}
	if f[1] != "" {
		l.Controllers = strings.Split(f[1], ",")
	}
	for _, c := range l.Controllers {
		if c == "" {
			return CgroupLine{}, errors.New("empty controller name")
		}
	}
	return l, nil
}
