package runtimes

import (
	"errors"
	"fmt"
	"strings"
)

// ParseSize reads a size as docker does: a number with an optional b, k, m,
// g or t suffix (powers of 1024); "max" or -1 is no limit.
func ParseSize(s string) (int64, error) {
	if s == "max" || s == "-1" {
		return -1, nil
	}
	units := map[byte]int64{'b': 1, 'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30, 't': 1 << 40}
	mult := int64(1)
	if n := len(s); n > 0 {
		if u, ok := units[strings.ToLower(s[n-1:])[0]]; ok {
			mult, s = u, s[:n-1]
		}
	}
	var v int64
	if _, err := fmt.Sscan(s, &v); err != nil || v <= 0 || fmt.Sprint(v) != s {
		return 0, errors.New("invalid size: want a positive number with an optional k, m, g or t suffix, or max")
	}
	if v > (1<<62)/mult {
		return 0, errors.New("invalid size: too large")
	}
	return v * mult, nil
}
