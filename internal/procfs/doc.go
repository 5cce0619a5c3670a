// Package procfs reads, from the host, what makes a process a container:
// its credentials, capabilities and seccomp mode (/proc/PID/status), its
// cgroups (/proc/PID/cgroup) and their limits and usage, and the host's
// mounts (/proc/PID/mountinfo).
//
// The process being inspected may be hostile. Some of what these files
// hold is under its control (its name, the names of the sub-cgroups it
// creates), so the parsers accept any input without panicking, every file
// is read with a bound, and nothing under a cgroup mount is reached
// through a symbolic link.
package procfs

import "errors"

// MaxFileSize bounds every cgroup file read by ReadCgroups. Cgroup files
// hold a few lines; one this large is not one the kernel wrote.
const MaxFileSize = 64 << 10

var (
	// ErrTooLarge is returned for a file that reaches its read limit: it
	// is refused rather than truncated, since a cut-off number would be
	// read as a different one.
	ErrTooLarge = errors.New("file reaches the read limit")

	// ErrUnsafePath is returned for a path that could lead outside the
	// directory it is meant to stay in ("..", NUL, a relative cgroup
	// path), or for a file that is not a regular one.
	ErrUnsafePath = errors.New("unsafe path")
)
