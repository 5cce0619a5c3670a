package passwd

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePasswd(t *testing.T) {
	got := ParsePasswd([]byte("root:x:0:0:root:/root:/bin/bash\n# x:x:1:1:::/bin/sh\n\nbad line\n" +
		"short:x:5:6\nnoid:x:abc:-1::/:/bin/sh\nhuge:x:2147483648:1::/:/bin/sh\nlong:x:7:8:a:b:/bin/sh:extra\n"))
	want := []User{
		{"root", 0, 0, "/root", "/bin/bash"},
		{"short", 5, 6, "", ""},
		// An id that does not parse is no id, never 0.
		{"noid", -1, -1, "/", "/bin/sh"},
		{"huge", -1, 1, "/", "/bin/sh"},
		{"long", 7, 8, "b", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseGroup(t *testing.T) {
	got := ParseGroup([]byte("root:x:0:\nwheel:x:10:admin,,redis\n#c:x:1:admin\nbad:x:x:admin\nshort:x:3\n"))
	want := []Group{{"root", 0, nil}, {"wheel", 10, []string{"admin", "redis"}}, {"bad", -1, []string{"admin"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestLoginShell(t *testing.T) {
	users := ParsePasswd([]byte("root:x:0:0:root:/root:/bin/bash\nredis:x:999:999::/data:/sbin/nologin\nbad line\n" +
		"app:x:1000:1000::/home/app:\nrel:x:1001:1001::/:bin/sh\nrel:x:1001:1001::/:/bin/ash\nneg:x:-1:0::/:/bin/sh\n"))
	for uid, want := range map[int]string{0: "/bin/bash", 999: "/sbin/nologin", 1000: "", 5: "", 1001: "/bin/ash", -1: ""} {
		if got := LoginShell(users, uid); got != want {
			t.Errorf("LoginShell(%d) = %q, want %q", uid, got, want)
		}
	}
}

func TestHomeDir(t *testing.T) {
	users := ParsePasswd([]byte("root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/nonexistent:/bin/false\n" +
		"rel:x:1001:1001::home:/bin/sh\nrel:x:1001:1001::/srv:/bin/sh\nshort:x:5:5\n"))
	// runc's default for a user with none, or with no line: /.
	for uid, want := range map[int]string{0: "/root", 65534: "/nonexistent", 1001: "/srv", 5: "/", 42: "/", -1: "/"} {
		if got := HomeDir(users, uid); got != want {
			t.Errorf("HomeDir(%d) = %q, want %q", uid, got, want)
		}
	}
}

func TestLookup(t *testing.T) {
	users := ParsePasswd([]byte("root:x:0:0:root:/root:/bin/sh\nredis:x:999:998::/data:/sbin/nologin\n# comment\nbad\n" +
		"badgid:x:1001:x::/:/bin/sh\nbaduid:x:x:1::/:/bin/sh\n"))
	groups := ParseGroup([]byte("root:x:0:\nredis:x:998:\nwheel:x:10:admin,redis\nnogroup:x:65534:\nbroken:x:y:redis\n"))
	for spec, want := range map[string]ExecUser{
		"redis":         {999, 998, []int{998, 10}},
		"999":           {999, 998, []int{998, 10}},
		"redis:nogroup": {999, 65534, []int{65534, 10}},
		"1234":          {1234, 0, []int{0}},
		"1234:5678":     {1234, 5678, []int{5678}},
		"root:10":       {0, 10, []int{10}},
		"0":             {0, 0, []int{0}},
		"2147483647":    {MaxID, 0, []int{0}},
		// A group given replaces a primary gid that is no id.
		"badgid:10": {1001, 10, []int{10}},
	} {
		u, err := Lookup(spec, users, groups)
		if err != nil {
			t.Errorf("Lookup(%q): %v", spec, err)
			continue
		}
		if !reflect.DeepEqual(*u, want) {
			t.Errorf("Lookup(%q) = %v, want %v", spec, *u, want)
		}
	}
	for spec, msg := range map[string]string{
		"nosuch":       `no user "nosuch"`,
		"redis:nosuch": `no group "nosuch"`,
		"":             `no user ""`,
		":0":           `no user ""`,
		"-1":           `no user "-1"`,
		"bad":          `no user "bad"`,
		"redis:":       `no group ""`,
		"badgid":       "bad gid",
		"1001":         "bad gid",
		"baduid":       "bad uid",
		"broken":       `no user "broken"`,
		"redis:broken": "bad gid",
		// Beyond int32 an id would reach setresuid as a negative
		// number; -1 would leave the uid unchanged.
		"4294967295":           "out of range",
		"2147483648":           "out of range",
		"99999999999999999999": "out of range",
		"0:4294967295":         "out of range",
		"no\x1b[2Jbody":        `no user "no?[2Jbody"`,
	} {
		u, err := Lookup(spec, users, groups)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Lookup(%q) = %+v, %v; want an error with %q", spec, u, err, msg)
		}
	}
}
