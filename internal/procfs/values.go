package procfs

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSingle returns the one line of a single-value file ("1024\n",
// "max 100000\n") without its surrounding white space.
func ParseSingle(b []byte) (string, error) {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", errors.New("parse value: empty")
	}
	if strings.ContainsAny(s, "\n\r") {
		return "", errors.New("parse value: more than one line")
	}
	return s, nil
}

// ParseSingleUint parses a single-value file holding an unsigned number.
func ParseSingleUint(b []byte) (uint64, error) {
	s, err := ParseSingle(b)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse value: %w", err)
	}
	return v, nil
}

// ParseSingleInt parses a single-value file holding a signed number, such
// as cpu.cfs_quota_us whose -1 means no limit.
func ParseSingleInt(b []byte) (int64, error) {
	s, err := ParseSingle(b)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse value: %w", err)
	}
	return v, nil
}

// ParseLimit parses a cgroup v2 limit file (memory.max, pids.max): a
// number, or "max" for no limit, returned as -1.
func ParseLimit(b []byte) (int64, error) {
	s, err := ParseSingle(b)
	if err != nil {
		return 0, err
	}
	return parseLimitField(s)
}

func parseLimitField(s string) (int64, error) {
	if s == "max" {
		return -1, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse limit: %w", err)
	}
	if v < 0 {
		// The kernel writes no negative limits here; taking one as -1
		// would pass an error off as "no limit".
		return 0, fmt.Errorf("parse limit: negative value %d", v)
	}
	return v, nil
}

// ParseFlatKeyed parses a flat keyed file ("key value" lines: cpu.stat,
// memory.events, memory.oom_control). Values are kept as strings so that
// a key a newer kernel adds, whatever its value, does not make the file
// unreadable; ParseKeyUint reads the ones wanted.
func ParseFlatKeyed(b []byte) (map[string]string, error) {
	m := make(map[string]string)
	for i, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("parse line %d: want 2 fields, got %d", i+1, len(f))
		}
		if _, dup := m[f[0]]; dup {
			return nil, fmt.Errorf("parse line %d: duplicate key %q", i+1, f[0])
		}
		m[f[0]] = f[1]
	}
	return m, nil
}

// ParseKeyUint returns the unsigned value of key in a parsed flat keyed
// file, or nil if the key is absent (an older kernel, a controller that
// is not enabled).
func ParseKeyUint(m map[string]string, key string) (*uint64, error) {
	s, ok := m[key]
	if !ok {
		return nil, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", key, err)
	}
	return &v, nil
}

// parseCPUMax parses cgroup v2 cpu.max, "$QUOTA $PERIOD" where the quota
// is "max" for no limit. The period is nil if the file gives none.
func parseCPUMax(b []byte) (quota *int64, period *uint64, err error) {
	s, err := ParseSingle(b)
	if err != nil {
		return nil, nil, err
	}
	f := strings.Fields(s)
	if len(f) > 2 {
		return nil, nil, fmt.Errorf("parse cpu.max: want 2 fields, got %d", len(f))
	}
	q, err := parseLimitField(f[0])
	if err != nil {
		return nil, nil, err
	}
	if len(f) == 1 {
		return &q, nil, nil
	}
	p, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return nil, nil, fmt.Errorf("parse cpu.max period: %w", err)
	}
	return &q, &p, nil
}

// v1Unlimited is where cgroup v1 memory limits stop being limits: "no
// limit" is written as the largest page-aligned counter value, which
// depends on the page size, so anything this large is taken as none.
const v1Unlimited = 1 << 62

// v1MemoryLimit maps a cgroup v1 memory.limit_in_bytes value to the
// Limit convention, -1 for no limit.
func v1MemoryLimit(v uint64) int64 {
	if v >= v1Unlimited {
		return -1
	}
	return int64(v)
}

// usecToNs converts microseconds to nanoseconds, saturating rather than
// wrapping round on a value no real counter reaches.
func usecToNs(v uint64) uint64 {
	if v > math.MaxUint64/1000 {
		return math.MaxUint64
	}
	return v * 1000
}
