package enter

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/resolve"
)

// ErrPtracer says the target could take over ctr-enter's process in its pid
// namespace.
var ErrPtracer = errors.New("the target may ptrace ctr-enter")

// refusePtracer refuses a target whose processes may hold CAP_SYS_PTRACE in
// ctr-enter's own user namespace (any process whose bounding set has it can
// get it: root through execve, or a file capability). PR_SET_DUMPABLE 0
// does not stop such a tracer: once the constructor is in the target's pid
// namespace, the target can attach to it, read its memory and fds, and make
// it run syscalls with ctr-enter's privileges; after exec, the same holds
// for a payload that keeps them. A target in a user namespace of its own
// holds the capability only there, which reaches nothing of ours but a
// payload that joined that namespace (and is then no more than its root).
func refusePtracer(p *resolve.Process) error {
	shared, err := p.SharesNamespace("user")
	if err != nil || !shared {
		return err
	}
	creds, err := p.Credentials()
	if err != nil {
		return err
	}
	if creds.CapBnd&(1<<unix.CAP_SYS_PTRACE) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s may hold CAP_SYS_PTRACE, with which its processes can take over ctr-enter's in its pid namespace; "+
		"leave out --pid (join only what you need, e.g. --net), or give --trust-target", ErrPtracer, p.Target)
}
