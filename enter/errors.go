package enter

import (
	"errors"

	"github.com/ctr-enter/ctr-enter/enter/nsexec"
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
