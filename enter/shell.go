package enter

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/resolve"
)

// ErrNoShell says the target has no shell to run when no command is given.
var ErrNoShell = errors.New("the target has no shell")

// shell picks the command to run when none is given: the login shell of
// the target's user, from the target's /etc/passwd (read without following
// the target's links out of its root), if it exists there; else /bin/sh.
// Outside the target's mount namespace it is the host's /bin/sh.
func shell(p *resolve.Process, inTarget bool) (string, error) {
	if !inTarget {
		return "/bin/sh", nil
	}
	var candidates []string
	if uid, err := targetUID(p); err == nil {
		if passwd, err := p.ReadFileInRoot("/etc/passwd", 1<<20); err == nil {
			if sh := loginShell(passwd, uid); sh != "" {
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
	return "", fmt.Errorf("%w (no /bin/sh in %s): give a command after --", ErrNoShell, p.Target)
}

// targetUID is the uid of the target's process as its own user namespace
// sees it.
func targetUID(p *resolve.Process) (int, error) {
	st, err := p.Status()
	if err != nil {
		return 0, err
	}
	uidMap, err := p.ReadProc("uid_map", 64<<10)
	if err != nil {
		return 0, err
	}
	return mapToNamespace(uidMap, st.Uids[0])
}

// mapToNamespace maps a host id to the one the namespace of a uid_map or
// gid_map ("inside outside count" lines) sees.
func mapToNamespace(idMap []byte, host int) (int, error) {
	for _, line := range strings.Split(string(idMap), "\n") {
		var in, out, n int
		if _, err := fmt.Sscan(line, &in, &out, &n); err == nil && host >= out && host < out+n {
			return in + host - out, nil
		}
	}
	return 0, fmt.Errorf("id %d is not mapped", host)
}

// loginShell finds uid's shell in a passwd file.
func loginShell(passwd []byte, uid int) string {
	sc := bufio.NewScanner(bytes.NewReader(passwd))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) == 7 && f[2] == strconv.Itoa(uid) && strings.HasPrefix(f[6], "/") {
			return f[6]
		}
	}
	return ""
}
