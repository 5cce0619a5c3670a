package procfs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Status is what /proc/PID/status says about a process's identity and
// confinement.
type Status struct {
	// Name is the command name as the kernel prints it: newlines and
	// backslashes escaped, any other byte (tabs, spaces, terminal escape
	// sequences) as the process set it. Sanitize it before display.
	Name  string
	State string // as printed, e.g. "S (sleeping)"
	PPid  int

	Credentials
}

// Credentials are who a process runs as and what the kernel lets it do:
// the part of its status that a process taking on its confinement copies.
type Credentials struct {
	Uids, Gids [4]int // real, effective, saved, filesystem
	Groups     []int

	NoNewPrivs     bool
	Seccomp        int // 0 disabled, 1 strict, 2 filter
	SeccompFilters int

	CapInh, CapPrm, CapEff, CapBnd, CapAmb uint64
}

// statusField parses the value of one status line into s.
type statusField func(s *Status, v string) error

var statusFields = map[string]statusField{
	// Only the tab the kernel writes after the colon is dropped: the
	// rest, leading spaces included, is the name.
	"Name":  func(s *Status, v string) error { s.Name = strings.TrimPrefix(v, "\t"); return nil },
	"State": func(s *Status, v string) error { s.State = strings.TrimSpace(v); return nil },
	"PPid":  func(s *Status, v string) error { return parseID(v, &s.PPid) },
	"Uid":   func(s *Status, v string) error { return parseIDs(v, &s.Uids) },
	"Gid":   func(s *Status, v string) error { return parseIDs(v, &s.Gids) },
	"Groups": func(s *Status, v string) error {
		var err error
		s.Groups, err = parseIDList(v)
		return err
	},
	"NoNewPrivs":      func(s *Status, v string) error { return parseFlag(v, &s.NoNewPrivs) },
	"Seccomp":         func(s *Status, v string) error { return parseID(v, &s.Seccomp) },
	"Seccomp_filters": func(s *Status, v string) error { return parseID(v, &s.SeccompFilters) },
	"CapInh":          func(s *Status, v string) error { return parseCapMask(v, &s.CapInh) },
	"CapPrm":          func(s *Status, v string) error { return parseCapMask(v, &s.CapPrm) },
	"CapEff":          func(s *Status, v string) error { return parseCapMask(v, &s.CapEff) },
	"CapBnd":          func(s *Status, v string) error { return parseCapMask(v, &s.CapBnd) },
	"CapAmb":          func(s *Status, v string) error { return parseCapMask(v, &s.CapAmb) },
}

// requiredStatusFields are those without which a status says nothing
// trustworthy about confinement: no kernel this runs on omits them.
var requiredStatusFields = []string{"Uid", "Gid", "CapBnd", "CapEff"}

// ParseStatus parses /proc/PID/status. Lines it does not know are
// skipped; a known line seen twice is an error, as the kernel writes each
// once and a second one could only come from a name that smuggled in a
// line of its own.
func ParseStatus(b []byte) (*Status, error) {
	s := &Status{}
	seen := make(map[string]bool)
	for line := range strings.SplitSeq(string(b), "\n") {
		key, val, ok := strings.Cut(line, ":")
		parse, known := statusFields[key]
		if !ok || !known {
			continue
		}
		if seen[key] {
			return nil, fmt.Errorf("parse status: duplicate %s line", key)
		}
		seen[key] = true
		if err := parse(s, val); err != nil {
			return nil, fmt.Errorf("parse status %s: %w", key, err)
		}
	}
	for _, key := range requiredStatusFields {
		if !seen[key] {
			return nil, fmt.Errorf("parse status: no %s line", key)
		}
	}
	return s, nil
}

// SeccompModeName names a Status.Seccomp mode.
func SeccompModeName(mode int) string {
	switch mode {
	case 0:
		return "disabled"
	case 1:
		return "strict"
	case 2:
		return "filter"
	}
	return fmt.Sprintf("unknown (%d)", mode)
}

// ParseLSMLabel parses /proc/PID/attr/current, the process's AppArmor or
// SELinux label ("docker-default (enforce)", "system_u:system_r:..."),
// which the LSM may end with a newline or a NUL. The label is the
// policy's word, not the kernel's: sanitize it before display.
func ParseLSMLabel(b []byte) string {
	return strings.Trim(string(b), "\x00 \t\n\v\f\r")
}

// parseID parses one id, pid or count: unsigned and 32 bits wide in the
// kernel, so a sign or a larger value is an error rather than a wrap.
func parseID(v string, dst *int) error {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return err
	}
	*dst = int(n)
	return nil
}

// parseIDs parses the four ids of a Uid or Gid line.
func parseIDs(v string, dst *[4]int) error {
	f := strings.Fields(v)
	if len(f) != len(dst) {
		return fmt.Errorf("want %d ids, got %d", len(dst), len(f))
	}
	for i := range f {
		if err := parseID(f[i], &dst[i]); err != nil {
			return err
		}
	}
	return nil
}

// parseIDList parses the Groups line, which may be empty.
func parseIDList(v string) ([]int, error) {
	f := strings.Fields(v)
	if len(f) == 0 {
		return nil, nil
	}
	ids := make([]int, len(f))
	for i := range f {
		if err := parseID(f[i], &ids[i]); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func parseFlag(v string, dst *bool) error {
	switch strings.TrimSpace(v) {
	case "0":
		*dst = false
	case "1":
		*dst = true
	default:
		return errors.New("want 0 or 1")
	}
	return nil
}

// parseCapMask parses a capability set, printed as 16 hex digits.
func parseCapMask(v string, dst *uint64) error {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
	if err != nil {
		return err
	}
	*dst = n
	return nil
}
