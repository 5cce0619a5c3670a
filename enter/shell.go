package enter

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/passwd"
	"github.com/ctr-enter/ctr-enter/resolve"
)

// ErrNoShell says the target has no shell to run when no command is given.
var ErrNoShell = errors.New("the target has no shell")

// shell picks the command to run when none is given: the login shell of
// the target's user, from the target's /etc/passwd (read without following
// the target's links out of its root), if it exists there; else /bin/sh.
// Outside the target's mount namespace it is the host's /bin/sh. uid is
// the target's user.
func shell(p targetFiles, uid func() (int, error), inTarget bool, targetUsers func() ([]passwd.User, error)) (string, error) {
	if !inTarget {
		return "/bin/sh", nil
	}
	var candidates []string
	if uid, err := uid(); err == nil {
		if users, err := targetUsers(); err == nil {
			if sh := passwd.LoginShell(users, uid); sh != "" {
				candidates = append(candidates, sh)
			}
		}
	}
	for _, sh := range append(candidates, "/bin/sh") {
		if f, err := p.OpenInRoot(sh, unix.O_PATH); err == nil {
			f.Close()
			return sh, nil
		}
	}
	return "", fmt.Errorf("%w (no /bin/sh in %s): give a command after --", ErrNoShell, p)
}

// targetFiles are a target's files, read from the host without following
// its links out of its root: a running target's (*resolve.Process) or
// those of one that runs nothing (*resolve.Root).
type targetFiles interface {
	OpenInRoot(path string, flags int) (*os.File, error)
	ReadFileInRoot(path string, limit int64) ([]byte, error)
	String() string
}

// targetUID is the uid of the target's process as its own user namespace
// sees it.
func targetUID(p *resolve.Process) (int, error) {
	creds, err := p.Credentials()
	if err != nil {
		return 0, err
	}
	uidMap, _, err := p.IDMaps()
	if err != nil {
		return 0, err
	}
	return uidMap.Inside(creds.Uids[0])
}
