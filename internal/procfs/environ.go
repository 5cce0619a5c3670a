package procfs

import "strings"

// ParseEnviron parses /proc/PID/environ, NUL-separated NAME=VALUE strings.
// The process may have rewritten the memory it is read from: what has no
// name before an '=' is not a variable, and is dropped.
func ParseEnviron(b []byte) []string {
	var env []string
	for kv := range strings.SplitSeq(string(b), "\x00") {
		if strings.IndexByte(kv, '=') > 0 {
			env = append(env, kv)
		}
	}
	return env
}

// ParseCmdline parses /proc/PID/cmdline, NUL-separated arguments, each
// as the process left it (it may have rewritten them).
func ParseCmdline(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}
