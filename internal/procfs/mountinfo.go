package procfs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Mount is one line of /proc/PID/mountinfo.
type Mount struct {
	ID, Parent   int
	Root         string // the path within the filesystem mounted here
	MountPoint   string
	FSType       string
	Source       string
	SuperOptions []string
}

// ParseMountinfo parses /proc/PID/mountinfo (proc(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// The optional fields ("master:1") before the "-" separator, of which
// there may be none or several, are skipped. Paths and source have the
// kernel's octal escapes (\040 for a space) undone.
func ParseMountinfo(b []byte) ([]Mount, error) {
	return parseLines(b, "mountinfo", parseMountLine)
}

// parseLines parses each line of a file of lines alike, skipping empty
// ones (the last, after the final newline). what names the file in errors.
func parseLines[T any](b []byte, what string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for i, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		v, err := parse(line)
		if err != nil {
			return nil, fmt.Errorf("parse %s line %d: %w", what, i+1, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseMountLine(line string) (Mount, error) {
	// Split on single spaces, not runs of white space: a mount whose
	// source is the empty string prints as two spaces in a row, and
	// strings.Fields would shift every later field.
	f := strings.Split(line, " ")
	sep := separatorIndex(f)
	if sep < 0 {
		return Mount{}, errors.New("no \" - \" separator")
	}
	if len(f) < sep+4 {
		return Mount{}, errors.New("want filesystem type, source and super options after \" - \"")
	}
	id, err := strconv.ParseUint(f[0], 10, 31)
	if err != nil {
		return Mount{}, fmt.Errorf("parse mount id: %w", err)
	}
	parent, err := strconv.ParseUint(f[1], 10, 31)
	if err != nil {
		return Mount{}, fmt.Errorf("parse parent id: %w", err)
	}
	return Mount{
		ID:           int(id),
		Parent:       int(parent),
		Root:         unescapeOctal(f[3]),
		MountPoint:   unescapeOctal(f[4]),
		FSType:       unescapeOctal(f[sep+1]),
		Source:       unescapeOctal(f[sep+2]),
		SuperOptions: splitOptions(f[sep+3]),
	}, nil
}

// separatorIndex finds the "-" that ends the optional fields. They start
// after the six fixed ones, so the search does too: no earlier field can
// be taken for it.
func separatorIndex(f []string) int {
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			return i
		}
	}
	return -1
}

func splitOptions(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// unescapeOctal undoes the kernel's escaping of space, tab, newline and
// backslash as \ooo. Anything else, including a backslash not followed by
// three octal digits, is kept as it is.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if v, ok := octalAt(s, i); ok {
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// octalAt decodes a \ooo escape at s[i], if there is one that fits a byte.
func octalAt(s string, i int) (byte, bool) {
	if s[i] != '\\' || i+4 > len(s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[i+1 : i+4]) {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v*8 + int(c-'0')
	}
	if v > 0xff {
		return 0, false
	}
	return byte(v), true
}
