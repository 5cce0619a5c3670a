package inspect

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
)

func TestMaskEnv(t *testing.T) {
	in := []string{"PATH=/bin", "DB_PASSWORD=x", "GITHUB_TOKEN=y", "api_key=z", "AUTHOR=me", "EVIL=\x1b[2J", "PLAIN"}
	want := []string{"PATH=/bin", "DB_PASSWORD=*****", "GITHUB_TOKEN=*****", "api_key=*****", "AUTHOR=*****", "EVIL=\x1b[2J", "PLAIN"}
	if got := maskEnv(in, false); !reflect.DeepEqual(got, want) {
		t.Errorf("maskEnv = %q\nwant %q", got, want)
	}
	if got := maskEnv(in[:2], true); got[1] != "DB_PASSWORD=x" {
		t.Errorf("show secrets: %q", got)
	}
}

func TestWriteText(t *testing.T) {
	limit, usage := int64(64<<20), uint64(1234)
	r := &Report{
		Identity: Identity{Runtime: "docker", Namespace: "moby", ID: "abc", Name: "taka", Ref: "docker://taka"}, PID: 42, PPID: 41,
		Processes:  []Process{{PID: 41, Name: "containerd-shim"}, {PID: 42, PPID: 41, Depth: 1, Name: "redis-server", Cmdline: "redis-server *:6379"}},
		Env:        []string{"A=1"},
		Namespaces: []Namespace{{Kind: "net", Inode: 7, SharedWith: []string{"docker://sidecar"}, SharedWithNames: []string{"docker://sidecar"}}},
		Cgroups:    &procfs.Cgroups{Version: 1, Paths: map[string]string{"memory": "/docker/abc"}},
		Security:   Security{Seccomp: "filter", SeccompFilters: 1, Capabilities: Capabilities{Dropped: []string{"CAP_NET_RAW"}}},
	}
	r.Cgroups.Memory.Limit, r.Cgroups.Memory.Usage = &limit, &usage
	var b strings.Builder
	if err := WriteText(&b, r, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`taka  docker://taka`, `\n    42\s+redis-server\s+redis-server \*:6379\n`, `net\s+7\s+no\s+docker://sidecar`,
		`limit 67108864 bytes, usage 1234 bytes, peak -`, `dropped from default\s+CAP_NET_RAW`, `filter \(1 filters\)`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("escape sequences without color:\n%q", out)
	}
}

// evil holds what a hostile container can put in the text inspect prints:
// an OSC title sequence, a CSI sequence, a carriage return, a newline that
// would forge a line, DEL, a raw 0x9b byte (CSI on 8-bit terminals) and the
// same as a UTF-8 C1 character.
const evil = "e\x1b]0;pwned\x07v\x1b[2Jil\r\nforged line\x7f\x9b1m\u009b2J"

// hostileReport has evil in every string field WriteText prints.
func hostileReport(paths map[string]string) *Report {
	return &Report{
		Identity: Identity{Runtime: evil, Namespace: evil, ID: evil, Name: evil, Image: evil, Ref: evil,
			Pod: &Pod{Namespace: evil, Name: evil, UID: evil, Container: evil, QoSClass: evil, Cgroup: evil,
				Labels: map[string]string{evil: evil}, Annotations: map[string]string{evil: evil}}},
		PID: 42, PPID: 41,
		Processes:  []Process{{PID: 41, Name: evil, Cmdline: evil}, {PID: 42, PPID: 41, Depth: 1, Name: evil, Cmdline: evil}},
		Env:        []string{evil + "=" + evil},
		Namespaces: []Namespace{{Kind: evil, Inode: 7, SharedWith: []string{evil, evil}, SharedWithNames: []string{evil, evil}}},
		Cgroups:    &procfs.Cgroups{Version: 1, Paths: paths},
		Security: Security{Seccomp: evil, LSMLabel: evil, Capabilities: Capabilities{
			Effective: []string{evil}, Permitted: []string{evil}, Inheritable: []string{evil}, Bounding: []string{evil},
			Ambient: []string{evil}, Added: []string{evil}, Dropped: []string{evil}}},
	}
}

// TestWriteTextHostile: no control character from the target reaches the
// terminal, and a newline in a target's string does not forge a line.
func TestWriteTextHostile(t *testing.T) {
	for name, paths := range map[string]map[string]string{
		"one path":    {"memory": evil, "pids": evil},
		"every other": {"memory": evil, evil: evil + "2"},
	} {
		for _, color := range []bool{false, true} {
			var b, plain strings.Builder
			r := hostileReport(paths)
			if err := WriteText(&b, r, color); err != nil {
				t.Fatal(err)
			}
			// The report keeps the exact text, for JSON, which
			// escapes it.
			if !reflect.DeepEqual(r, hostileReport(paths)) {
				t.Errorf("WriteText changed the report")
			}
			if j, _ := json.Marshal(r); !strings.Contains(string(j), `"name":"e\u001b]0;pwned\u0007v\u001b[2Jil\r\nforged line`) {
				t.Errorf("JSON lacks the exact name: %s", j)
			}
			out := b.String()
			// The same report with harmless text: the hostile one
			// must print as many lines.
			WriteText(&plain, harmlessReport(hostileReport(paths)), color)
			if got, want := strings.Count(out, "\n"), strings.Count(plain.String(), "\n"); got != want {
				t.Errorf("%s, color %v: %d lines, want %d:\n%s", name, color, got, want, out)
			}
			if color {
				// ctr-enter's own: bold headings.
				out = strings.NewReplacer("\x1b[1m", "", "\x1b[0m", "").Replace(out)
			}
			for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "forged") {
					t.Errorf("%s, color %v: line %d forged: %q", name, color, i+1, line)
				}
				// A raw 0x9b is invalid UTF-8; cleaned, it is U+FFFD.
				if !utf8.ValidString(line) {
					t.Errorf("%s, color %v: line %d is not UTF-8: %q", name, color, i+1, line)
				}
				for _, r := range line {
					if (r < 0x20 && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
						t.Errorf("%s, color %v: line %d holds %U: %q", name, color, i+1, r, line)
						break
					}
				}
			}
		}
	}
}

// harmlessReport is r with every string that held evil holding "x".
func harmlessReport(r *Report) *Report {
	x := func(s string) string { return strings.ReplaceAll(s, evil, "x") }
	xs := func(v []string) []string {
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = x(s)
		}
		return out
	}
	h := *r
	h.Runtime, h.Namespace, h.ID, h.Name, h.Image, h.Ref = x(r.Runtime), x(r.Namespace), x(r.ID), x(r.Name), x(r.Image), x(r.Ref)
	if p := r.Pod; p != nil {
		h.Pod = &Pod{Namespace: x(p.Namespace), Name: x(p.Name), UID: x(p.UID), Container: x(p.Container), QoSClass: x(p.QoSClass), Cgroup: x(p.Cgroup),
			Labels: map[string]string{}, Annotations: map[string]string{}}
		for k, v := range p.Labels {
			h.Pod.Labels[x(k)] = x(v)
		}
		for k, v := range p.Annotations {
			h.Pod.Annotations[x(k)] = x(v)
		}
	}
	h.Processes = nil
	for _, p := range r.Processes {
		p.Name, p.Cmdline = x(p.Name), x(p.Cmdline)
		h.Processes = append(h.Processes, p)
	}
	h.Env = xs(r.Env)
	h.Namespaces = nil
	for _, ns := range r.Namespaces {
		ns.Kind, ns.SharedWith, ns.SharedWithNames = x(ns.Kind), xs(ns.SharedWith), xs(ns.SharedWithNames)
		h.Namespaces = append(h.Namespaces, ns)
	}
	s := r.Security
	s.Seccomp, s.LSMLabel = x(s.Seccomp), x(s.LSMLabel)
	c := &s.Capabilities
	c.Effective, c.Permitted, c.Inheritable, c.Bounding = xs(c.Effective), xs(c.Permitted), xs(c.Inheritable), xs(c.Bounding)
	c.Ambient, c.Added, c.Dropped = xs(c.Ambient), xs(c.Added), xs(c.Dropped)
	h.Security = s
	cg := *r.Cgroups
	cg.Paths = map[string]string{}
	for k, v := range r.Cgroups.Paths {
		cg.Paths[x(k)] = x(v)
	}
	h.Cgroups = &cg
	return &h
}

func TestWriteStoppedTextHostile(t *testing.T) {
	r := &StoppedReport{Identity: Identity{Name: "evil\x1b]0;pwned\x07", Ref: "docker://evil",
		Pod: &Pod{Name: "p\x1b[2J", Labels: map[string]string{"k\x1b[1m": "v\x07"}}}, Status: "exited", Env: []string{"A=\x1b[31mred"},
		Hostname: "h\x1b[2J", Cwd: "/", Absent: absent, RootFS: RootFS{Lower: []string{}}}
	var b strings.Builder
	if err := WriteStoppedText(&b, r, false); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(b.String(), "\x1b\x07") {
		t.Errorf("control characters printed:\n%q", b.String())
	}
	if !strings.Contains(b.String(), "no process, so no pid, ppid, processes, namespaces, cgroups, security") {
		t.Errorf("does not say what is absent:\n%s", b.String())
	}
}
