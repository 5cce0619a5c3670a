package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// PFExiting is the flag of a process on its way out (the kernel's
// PF_EXITING): its exit has begun, and it is not a zombie yet.
const PFExiting = 0x4

// Stat is what ctr-enter reads of /proc/PID/stat.
type Stat struct {
	Name      string // the command name, between the first '(' and the last ')'
	State     byte   // field 3: R, S, D, Z, T...
	PPID      int    // field 4
	Flags     uint32 // field 9: the kernel's PF_* flags
	StartTime uint64 // field 22: clock ticks after boot
}

// ParseStat parses a /proc/PID/stat file. The command name is the process's
// own choice and may hold anything, spaces and parentheses included: the
// fields are counted after the last ')'.
func ParseStat(b []byte) (*Stat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return nil, errors.New("parse stat: no command name")
	}
	// f[0] is field 3.
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return nil, fmt.Errorf("parse stat: %d fields after the command name, want at least 20", len(f))
	}
	s := &Stat{Name: string(b[open+1 : end]), State: f[0][0]}
	var err error
	if s.PPID, err = strconv.Atoi(f[1]); err != nil {
		return nil, fmt.Errorf("parse stat: ppid: %w", err)
	}
	flags, err := strconv.ParseUint(f[6], 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse stat: flags: %w", err)
	}
	s.Flags = uint32(flags)
	if s.StartTime, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return nil, fmt.Errorf("parse stat: start time: %w", err)
	}
	return s, nil
}
