package enter

import (
	"errors"
	"os"

	"github.com/ctr-enter/ctr-enter/enter/nsexec"
	"github.com/ctr-enter/ctr-enter/internal/passwd"
	"github.com/ctr-enter/ctr-enter/internal/procfs"
	"github.com/ctr-enter/ctr-enter/resolve"
)

// userConfinement turns docker exec's -u USER[:GROUP], as lookupUser found
// it, into the credentials the command takes on: names are looked up in the
// target's /etc/passwd and /etc/group (read without following links out of
// its root, and without NSS: the target's files are data, never code),
// numbers are taken as they are. Capabilities are never more than docker
// exec -u would give in that container: the target's bounding set (as far
// as ctr-enter holds it), all of it for uid 0, none for anyone else. A name
// is the target's word for a uid: a target whose passwd maps "nobody" to 0
// gets no more than -u 0.
func userConfinement(p *resolve.Process, u *passwd.ExecUser) (*confinement, error) {
	c := &confinement{uid: u.UID, gid: u.GID, groups: u.Groups}
	own, err := procfs.ReadStatus(os.Getpid())
	if err != nil {
		return nil, err
	}
	theirs, err := p.Credentials()
	if err != nil {
		return nil, err
	}
	c.caps[nsexec.CapBounding] = own.CapBnd & theirs.CapBnd
	if c.uid == 0 {
		c.caps[nsexec.CapPermitted], c.caps[nsexec.CapEffective] = own.CapPrm&c.caps[nsexec.CapBounding], own.CapEff&c.caps[nsexec.CapBounding]
	}
	return c, p.Check()
}

// lookupUser resolves docker exec's -u USER[:GROUP] in the target's
// /etc/passwd (as targetUsers reads it) and /etc/group.
func lookupUser(p targetFiles, spec string, targetUsers func() ([]passwd.User, error)) (*passwd.ExecUser, error) {
	users, err := targetUsers()
	if err != nil {
		return nil, err
	}
	group, err := p.ReadFileInRoot("/etc/group", 1<<20)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return passwd.Lookup(spec, users, passwd.ParseGroup(group))
}

// targetUsers are the users of the target's /etc/passwd; none if it has
// none.
func targetUsers(p targetFiles) ([]passwd.User, error) {
	b, err := p.ReadFileInRoot("/etc/passwd", 1<<20)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return passwd.ParsePasswd(b), nil
}
