package enter

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/resolve"
)

// userConfinement turns docker exec's -u USER[:GROUP] into the credentials
// the command takes on: names are looked up in the target's /etc/passwd and
// /etc/group (read without following links out of its root, and without
// NSS: the target's files are data, never code), numbers are taken as they
// are. Capabilities are never more than docker exec -u would give in that
// container: the target's bounding set (as far as ctr-enter holds it), all
// of it for uid 0, none for anyone else. A name is the target's word for a
// uid: a target whose passwd maps "nobody" to 0 gets no more than -u 0.
func userConfinement(p *resolve.Process, spec string) (*confinement, error) {
	passwd, err := p.ReadFileInRoot("/etc/passwd", 1<<20)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	group, err := p.ReadFileInRoot("/etc/group", 1<<20)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	c, err := resolveUser(spec, passwd, group)
	if err != nil {
		return nil, err
	}
	self, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	own, err := procfs.ParseStatus(self)
	if err != nil {
		return nil, err
	}
	theirs, err := p.Status()
	if err != nil {
		return nil, err
	}
	c.caps[3] = own.CapBnd & theirs.CapBnd
	if c.uid == 0 {
		c.caps[1], c.caps[2] = own.CapPrm&c.caps[3], own.CapEff&c.caps[3]
	}
	return c, p.Check()
}

// resolveUser resolves USER[:GROUP] against passwd and group files.
func resolveUser(spec string, passwd, group []byte) (*confinement, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	c := &confinement{}
	name := ""
	if uid, err := strconv.Atoi(userPart); err == nil && uid >= 0 {
		c.uid = uid
		if e := findEntry(passwd, 2, userPart); e != nil {
			name = e[0]
			c.gid, _ = strconv.Atoi(e[3])
		}
	} else if e := findEntry(passwd, 0, userPart); e != nil && userPart != "" {
		name = e[0]
		if c.uid, err = strconv.Atoi(e[2]); err != nil {
			return nil, fmt.Errorf("user %q: bad uid in the target's /etc/passwd", text.Clean(userPart))
		}
		c.gid, _ = strconv.Atoi(e[3])
	} else {
		return nil, fmt.Errorf("no user %q in the target's /etc/passwd", text.Clean(userPart))
	}
	if hasGroup {
		if gid, err := strconv.Atoi(groupPart); err == nil && gid >= 0 {
			c.gid = gid
		} else if e := findEntry(group, 0, groupPart); e != nil && groupPart != "" {
			if c.gid, err = strconv.Atoi(e[2]); err != nil {
				return nil, fmt.Errorf("group %q: bad gid in the target's /etc/group", text.Clean(groupPart))
			}
		} else {
			return nil, fmt.Errorf("no group %q in the target's /etc/group", text.Clean(groupPart))
		}
	}
	c.groups = []int{c.gid}
	if name != "" {
		forEachEntry(group, func(f []string) {
			if gid, err := strconv.Atoi(f[2]); err == nil && len(f) > 3 &&
				slices.Contains(strings.Split(f[3], ","), name) && !slices.Contains(c.groups, gid) {
				c.groups = append(c.groups, gid)
			}
		})
	}
	return c, nil
}

// findEntry returns the fields of the first line of a passwd or group file
// whose field i is value.
func findEntry(file []byte, i int, value string) []string {
	var found []string
	forEachEntry(file, func(f []string) {
		if found == nil && len(f) > i && f[i] == value {
			found = f
		}
	})
	return found
}

func forEachEntry(file []byte, fn func([]string)) {
	sc := bufio.NewScanner(bytes.NewReader(file))
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			if f := strings.Split(line, ":"); len(f) >= 4 {
				fn(f)
			}
		}
	}
}
