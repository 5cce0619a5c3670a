// Package procfs reads, from the host, what makes a process a container:
// its start time and parent (/proc/PID/stat), its credentials,
// capabilities and seccomp mode (/proc/PID/status) and LSM label, its
// user namespace's id maps, its cgroups (/proc/PID/cgroup) and their
// limits and usage, found through the host's mounts (mountinfo), and its
// environment and command line.
//
// Each file has one reader, a method of Proc, an opened /proc/PID
// directory, and one parser. The process being inspected may be hostile.
// Some of what these files hold is under its control (its name, its
// environment, the names of the sub-cgroups it creates), so the parsers
// accept any input without panicking (each is fuzzed), every file is read
// with a bound, and nothing under a cgroup mount is reached through a
// symbolic link.
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
