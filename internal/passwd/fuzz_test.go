package passwd

import (
	"slices"
	"strings"
	"testing"
)

// FuzzLookup: no passwd or group file and no -u makes the parsers or
// Lookup panic, and whatever they accept is a valid id, primary group
// first among the groups, each once.
func FuzzLookup(f *testing.F) {
	f.Add("redis:wheel", []byte("root:x:0:0:root:/root:/bin/sh\nredis:x:999:998::/data:/sbin/nologin\n"), []byte("wheel:x:10:admin,redis\n"))
	f.Add("999", []byte("redis:x:999:x::/:\n#c\n"), []byte("x:x:-1:redis\n"))
	f.Add("0:4294967295", []byte("::::::::"), []byte(":::"))
	f.Fuzz(func(t *testing.T, spec string, passwd, group []byte) {
		users, groups := ParsePasswd(passwd), ParseGroup(group)
		for _, u := range users {
			if u.UID < -1 || u.UID > MaxID || u.GID < -1 || u.GID > MaxID || strings.ContainsAny(u.Name+u.Shell, ":\n") {
				t.Errorf("user %+v", u)
			}
		}
		for _, g := range groups {
			if g.GID < -1 || g.GID > MaxID || slices.Contains(g.Members, "") {
				t.Errorf("group %+v", g)
			}
		}
		if sh := LoginShell(users, len(spec)); sh != "" && !strings.HasPrefix(sh, "/") {
			t.Errorf("LoginShell = %q", sh)
		}
		u, err := Lookup(spec, users, groups)
		if err != nil {
			return
		}
		if u.UID < 0 || u.UID > MaxID || len(u.Groups) == 0 || u.Groups[0] != u.GID {
			t.Errorf("Lookup(%q) = %+v", spec, u)
		}
		for i, g := range u.Groups {
			if g < 0 || g > MaxID || slices.Contains(u.Groups[:i], g) {
				t.Errorf("Lookup(%q) = %+v: group %d", spec, u, g)
			}
		}
	})
}
