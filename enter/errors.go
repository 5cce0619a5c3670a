package enter

import (
	"errors"
	"fmt"

	"github.com/ctr-enter/ctr-enter/enter/nsexec"
	"github.com/ctr-enter/ctr-enter/internal/text"
)

// Exit codes for ctr-enter's own failures, as docker exec uses them. Any
// other status is the command's own. The constructor reports with the same
// codes: they come from its header.
const (
	ExitTool       = nsexec.ExitTool       // 125: ctr-enter failed: bad target, daemon, kernel, privileges
	ExitCannotExec = nsexec.ExitCannotExec // 126: the command was found but could not be executed
	ExitNotFound   = nsexec.ExitNotFound   // 127: the command was not found
)

// ErrUnsupported is a kernel feature ctr-enter needs and this kernel lacks.
var ErrUnsupported = errors.New("not supported by this kernel")

// Error is a failure with the exit code ctr-enter reports for it.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func toolError(err error) error { return &Error{Code: ExitTool, Err: err} }

// notFoundInTarget is a command looked for in the target's mount
// namespace, on its PATH and then in the tools, and found in neither.
func notFoundInTarget(command string, tools Tools) error {
	where := "the target's PATH"
	switch {
	case tools.image != "":
		where += " and the image's tools"
	case !tools.none():
		where += " and ctr-enter's tools"
	}
	return &Error{Code: ExitNotFound, Err: fmt.Errorf("command not found in the target: %s (looked in %s; --image REF mounts an image's tools)", text.Clean(command), where)}
}

// notFoundOnHost is a command looked for on the host's PATH: without the
// mount namespace, the command is the host's.
func notFoundOnHost(command string) error {
	return &Error{Code: ExitNotFound, Err: fmt.Errorf("command not found on the host: %s (without --mount the command comes from the host's PATH; add --mount to look in the target, and --tools or --image for tools it lacks)", text.Clean(command))}
}
