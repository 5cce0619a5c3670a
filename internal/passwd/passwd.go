// Package passwd reads a container's /etc/passwd and /etc/group as data,
// and resolves docker exec's -u USER[:GROUP] against them.
//
// The files are the container's, and it may be hostile: they are parsed
// here, never handed to the C library (NSS would load the container's
// modules, CVE-2019-14271), any input is accepted without panicking, and
// an id that does not parse is never taken for another (0, say).
package passwd

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ctr-enter/ctr-enter/internal/text"
)

// MaxID is the largest uid or gid taken from a file or a -u: as in runc
// and containerd, ids stay within int32, which is how they travel to the
// process that takes them on (a larger one would arrive as a negative
// number, and -1 means "unchanged" to setresuid).
const MaxID = math.MaxInt32

// User is one line of /etc/passwd: name:password:uid:gid:gecos:home:shell.
type User struct {
	Name     string
	UID, GID int // -1 where the field is not an id
	// Home is the home directory: "" unless the line has its sixth field.
	Home string
	// Shell is the login shell: "" unless the line has all seven fields.
	Shell string
}

// Group is one line of /etc/group: name:password:gid:members.
type Group struct {
	Name    string
	GID     int // -1 where the field is not an id
	Members []string
}

// ParsePasswd parses an /etc/passwd file. As glibc does, it skips what it
// cannot read: comment lines, and lines without a uid and a gid field.
func ParsePasswd(b []byte) []User {
	var users []User
	for _, f := range entries(b) {
		u := User{Name: f[0], UID: parseID(f[2]), GID: parseID(f[3])}
		if len(f) >= 6 {
			u.Home = f[5]
		}
		if len(f) == 7 {
			u.Shell = f[6]
		}
		users = append(users, u)
	}
	return users
}

// ParseGroup parses an /etc/group file, skipping what it cannot read as
// ParsePasswd does.
func ParseGroup(b []byte) []Group {
	var groups []Group
	for _, f := range entries(b) {
		g := Group{Name: f[0], GID: parseID(f[2])}
		for m := range strings.SplitSeq(f[3], ",") {
			if m != "" {
				g.Members = append(g.Members, m)
			}
		}
		groups = append(groups, g)
	}
	return groups
}

// entries splits a passwd or group file into the fields of its lines,
// those with at least the four that both kinds of line begin with.
func entries(b []byte) [][]string {
	var out [][]string
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Split(line, ":"); len(f) >= 4 {
			out = append(out, f)
		}
	}
	return out
}

// parseID parses a decimal id in 0..MaxID, or returns -1.
func parseID(s string) int {
	if id, ok, err := numeric(s); ok && err == nil {
		return id
	}
	return -1
}

// numeric says whether s is a number rather than a name, and parses it:
// a number beyond MaxID is an error, not a name. A negative one is a name
// (which no line will have).
func numeric(s string) (id int, ok bool, err error) {
	n, err := strconv.Atoi(s)
	switch {
	case errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(s, "-"), err == nil && n > MaxID:
		return 0, true, fmt.Errorf("out of range (ids go up to %d)", MaxID)
	case err != nil, n < 0:
		return 0, false, nil
	}
	return n, true, nil
}

// ExecUser is what a command run with -u takes on.
type ExecUser struct {
	UID, GID int
	// Groups are the supplementary groups: GID first, then every group
	// that lists the user by name, each once.
	Groups []int
}

// Lookup resolves USER[:GROUP], as docker exec -u: a name is looked up in
// users (the first line with it), a number is taken as the id it is, and
// looked up only to find that user's primary group and name; GROUP, by
// name or number, replaces the primary group. Errors name the target's
// files, whose names and ids they quote sanitized.
func Lookup(spec string, users []User, groups []Group) (*ExecUser, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	uid, user, err := find(userPart, users, "user", "uid", "/etc/passwd", func(u User) (string, int) { return u.Name, u.UID })
	if err != nil {
		return nil, err
	}
	u := &ExecUser{UID: uid}
	name := ""
	if user != nil {
		name, u.GID = user.Name, user.GID
	}
	switch {
	case hasGroup:
		if u.GID, _, err = find(groupPart, groups, "group", "gid", "/etc/group", func(g Group) (string, int) { return g.Name, g.GID }); err != nil {
			return nil, err
		}
	case u.GID < 0:
		return nil, fmt.Errorf("user %q: bad gid in the target's /etc/passwd", text.Clean(userPart))
	}
	u.Groups = []int{u.GID}
	if name != "" {
		for _, g := range groups {
			if g.GID >= 0 && slices.Contains(g.Members, name) && !slices.Contains(u.Groups, g.GID) {
				u.Groups = append(u.Groups, g.GID)
			}
		}
	}
	return u, nil
}

// find resolves a user or group part of -u in entries: a number is the id
// it is, and the first entry with that id, if any; a name is that of the
// first entry with it, whose id it takes. key gives an entry's name and id;
// kind, idName and file say what is looked up where, for errors.
func find[T any](part string, entries []T, kind, idName, file string, key func(T) (string, int)) (int, *T, error) {
	id, isID, err := numeric(part)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %q: %w", kind, text.Clean(part), err)
	}
	for i := range entries {
		name, eid := key(entries[i])
		switch {
		case isID && eid == id:
			return id, &entries[i], nil
		case !isID && part != "" && name == part:
			if eid < 0 {
				return 0, nil, fmt.Errorf("%s %q: bad %s in the target's %s", kind, text.Clean(part), idName, file)
			}
			return eid, &entries[i], nil
		}
	}
	if isID {
		return id, nil, nil
	}
	return 0, nil, fmt.Errorf("no %s %q in the target's %s", kind, text.Clean(part), file)
}

// LoginShell is uid's login shell: that of the first user with the uid
// and an absolute path for a shell, or "".
func LoginShell(users []User, uid int) string {
	for _, u := range users {
		if u.UID == uid && uid >= 0 && strings.HasPrefix(u.Shell, "/") {
			return u.Shell
		}
	}
	return ""
}

// HomeDir is uid's home directory as runc gives it to a process in HOME:
// that of the first user with the uid and an absolute home, else "/".
func HomeDir(users []User, uid int) string {
	for _, u := range users {
		if u.UID == uid && uid >= 0 && strings.HasPrefix(u.Home, "/") {
			return u.Home
		}
	}
	return "/"
}
