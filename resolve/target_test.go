package resolve

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/ctr-enter/ctr-enter/runtimes"
)

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Ref
		err  bool
	}{
		{in: "taka", want: Ref{Name: "taka"}},
		{in: "4242", want: Ref{Name: "4242"}},
		{in: "docker://taka", want: Ref{Runtime: runtimes.Docker, Name: "taka"}},
		{in: "containerd://taka", want: Ref{Runtime: runtimes.Containerd, Name: "taka"}},
		{in: "containerd://k8s.io/3f2a", want: Ref{Runtime: runtimes.Containerd, Namespace: "k8s.io", Name: "3f2a"}},
		{in: "pid:42", want: Ref{Runtime: PID, Name: "42"}},
		{in: "pid://42", want: Ref{Runtime: PID, Name: "42"}},
		{in: "pid:x", err: true},
		{in: "pid:0", err: true},
		{in: "docker://", err: true},
		{in: "containerd:///x", err: true},
		{in: "", err: true},
		{in: "k8s://x", err: true},
		{in: "foo://x", err: true},
		{in: "cri-o://x", err: true},
	} {
		got, err := ParseRef(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseRef(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidRef) {
				t.Errorf("ParseRef(%q) error %v is not ErrInvalidRef", tc.in, err)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// hexID is a generated-looking ID (64 hex digits) that begins with p.
func hexID(p string) string { return p + strings.Repeat("0", 64-len(p)) }

func containers() []*runtimes.Container {
	return []*runtimes.Container{
		{Runtime: runtimes.Docker, Namespace: "moby", ID: hexID("abc123"), Name: "taka", Names: []string{"taka"}},
		{Runtime: runtimes.Containerd, Namespace: "moby", ID: hexID("abc123"), Name: hexID("abc123")},
		{Runtime: runtimes.Containerd, Namespace: "e2e", ID: "taka", Name: "taka"},
		{Runtime: runtimes.Containerd, Namespace: "default", ID: hexID("abd999"), Name: hexID("abd999")},
		{Runtime: runtimes.Containerd, Namespace: "k8s.io", ID: hexID("f00d"), Name: "web/nginx", Names: []string{"web/nginx", "prod/web/nginx"}},
		{Runtime: runtimes.Containerd, Namespace: "e2e", ID: "ux-ctr-side", Name: "ux-ctr-side"},
		{Runtime: runtimes.Containerd, Namespace: "e2e", ID: "abcdef", Name: "abcdef"},
	}
}

func target(c runtimes.Container) *Target { return &Target{Container: &c} }

func ids(ts []*Target) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.String())
	}
	return strings.Join(s, " ")
}

// TestMatch pins issue 12's rule: exact IDs and names, prefixes of
// generated IDs only. Before it, any ID was prefix-matched, and "tak" or
// "ux" entered containerd containers whose chosen IDs begin so.
func TestMatch(t *testing.T) {
	all := targetsOf(runtimes.Dedupe(containers()))
	for _, tc := range []struct{ name, want string }{
		{"taka", "docker://taka containerd://e2e/taka"}, // ambiguous: two exact
		{hexID("abc123"), "docker://taka"},              // exact ID
		{"abc1", "docker://taka"},                       // unique prefix of a generated ID
		{"ab", "docker://taka containerd://default/" + hexID("abd999")},
		{"f00", "containerd://k8s.io/" + hexID("f00d")}, // CRI IDs are generated: prefixes work
		// A containerd ID chosen with ctr is a name: matched whole only.
		{"tak", ""},
		{"ux", ""},
		{"ux-ctr", ""},
		{"ux-ctr-side", "containerd://e2e/ux-ctr-side"},
		// A chosen ID that is also hex is still chosen: not 64 digits.
		{"abcde", ""},
		{"abcdef", "containerd://e2e/abcdef"},
		{"web/nginx", "containerd://k8s.io/" + hexID("f00d")},
		{"prod/web/nginx", "containerd://k8s.io/" + hexID("f00d")},
		{"zzz", ""},
	} {
		if got := ids(match(all, tc.name)); got != tc.want {
			t.Errorf("match(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestMatchNamesCannotShadowIDs is finding 6 of issue 10: a name equal to
// another container's ID or ID prefix makes the word ambiguous.
func TestMatchNamesCannotShadowIDs(t *testing.T) {
	real := hexID("7112f367ce46aa")
	ts := []*Target{
		target(runtimes.Container{Runtime: runtimes.Docker, Namespace: "moby", ID: real, Name: "real", Names: []string{"real"}}),
		target(runtimes.Container{Runtime: runtimes.Containerd, Namespace: "e2e", ID: "shadow", Name: "7112f367ce46", Names: []string{"7112f367ce46"}}),
		target(runtimes.Container{Runtime: runtimes.Docker, Namespace: "moby", ID: hexID("5ee5ee"), Name: real, Names: []string{real}}),
		target(runtimes.Container{Runtime: runtimes.Docker, Namespace: "moby", ID: hexID("abcdef01"), Name: "abcd", Names: []string{"abcd"}}),
		target(runtimes.Container{Runtime: runtimes.Containerd, Namespace: "e2e", ID: "taka", Name: "taka"}),
		target(runtimes.Container{Runtime: runtimes.Containerd, Namespace: "e2e", ID: "taka-2", Name: "taka-2"}),
		target(runtimes.Container{Runtime: PID, ID: "12", Name: "12", PID: 12}),
		target(runtimes.Container{Runtime: runtimes.Docker, Namespace: "moby", ID: hexID("12ab"), Name: "x", Names: []string{"x"}}),
		target(runtimes.Container{Runtime: PID, ID: "77", Name: "77", PID: 77}),
		target(runtimes.Container{Runtime: PID, ID: "88", Name: "88", PID: 88}),
		target(runtimes.Container{Runtime: runtimes.Docker, Namespace: "moby", ID: hexID("eeee"), Name: "88", Names: []string{"88"}}),
		// A chosen ID that is a prefix of a generated one.
		target(runtimes.Container{Runtime: runtimes.Containerd, Namespace: "e2e", ID: "5ee5", Name: "5ee5"}),
	}
	for _, tc := range []struct{ name, word, want string }{
		{"name shadows a prefix", "7112f367ce46", "containerd://e2e/shadow docker://real"},
		{"name shadows a shorter prefix", "7112", "docker://real"},
		{"name shadows a full ID", real, "docker://" + real + " docker://real"},
		{"name is a prefix of its own ID", "abcd", "docker://abcd"},
		{"chosen ID shadows a prefix", "5ee5", "containerd://e2e/5ee5 docker://" + real},
		{"exact chosen ID, no prefix of a chosen one", "taka", "containerd://e2e/taka"},
		{"no prefix of chosen IDs", "tak", ""},
		{"name alone", "real", "docker://real"},
		{"PID that is an ID prefix", "12", "docker://x pid:12"},
		{"PID that is a name", "88", "docker://88 pid:88"},
		{"PID alone", "77", "pid:77"},
		{"prefix alone", "12a", "docker://x"},
	} {
		got := match(ts, tc.word)
		names := make([]string, len(got))
		for i, g := range got {
			names[i] = g.String()
		}
		sort.Strings(names)
		if s := strings.Join(names, " "); s != tc.want {
			t.Errorf("%s: match(%q) = %q, want %q", tc.name, tc.word, s, tc.want)
		}
	}
}

func TestParseRefNamesKnownSchemes(t *testing.T) {
	_, err := ParseRef("k8s://default/web")
	want := `invalid target: "k8s://default/web": unknown scheme k8s:// (known: docker://, containerd://, pid:)`
	if err == nil || err.Error() != want {
		t.Errorf("ParseRef(k8s://default/web) error = %v, want %q", err, want)
	}
}

func TestSuggest(t *testing.T) {
	all := targetsOf(runtimes.Dedupe(append(containers(),
		&runtimes.Container{Runtime: runtimes.Containerd, Namespace: "e2e", ID: "taka-sidecar", Name: "taka-sidecar"},
		&runtimes.Container{Runtime: runtimes.Docker, Namespace: "moby", ID: hexID("99"), Name: "nginx", Names: []string{"nginx"}},
	)))
	all = append(all, target(runtimes.Container{Runtime: PID, ID: "4242", Name: "4242", PID: 4242}))
	for _, tc := range []struct{ word, want string }{
		// A prefix of a name: the name.
		{"ux", "ux-ctr-side"},
		{"ux-ctr", "ux-ctr-side"},
		// A prefix of a name two targets bear: their explicit forms,
		// then the longer name.
		{"tak", "containerd://e2e/taka docker://taka taka-sidecar"},
		// Typing mistakes.
		{"ngnix", "nginx"},
		{"nginxx", "nginx"},
		{"tkaa-sidecar", "taka-sidecar"},
		{"tkaa", "containerd://e2e/taka docker://taka"},
		{"web/ngin", "web/nginx"},
		// Too far, too short, generated IDs and PIDs: nothing.
		{"zzz", ""},
		{"u", ""},
		{"tk", ""},
		{"abc124", ""},
		{"4243", ""},
		{"redis", ""},
	} {
		if got := strings.Join(suggest(all, tc.word), " "); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

func TestSuggestKeepsTheClosest(t *testing.T) {
	var ts []*Target
	for _, n := range []string{"e2e-d", "e2e-c", "e2e-b", "e2e-a", "e2e"} {
		ts = append(ts, target(runtimes.Container{Runtime: runtimes.Containerd, Namespace: "e2e", ID: n, Name: n}))
	}
	// Prefixes first, then by name; at most maxSuggestions.
	if got, want := strings.Join(suggest(ts, "e2e-"), " "), "e2e-a e2e-b e2e-c"; got != want {
		t.Errorf("suggest(e2e-) = %q, want %q", got, want)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"", "", 3, 0},
		{"taka", "taka", 3, 0},
		{"taka", "tak", 3, 1},
		{"ngnix", "nginx", 3, 1},
		{"kitten", "sitting", 3, 3},
		{"tkaa", "taka", 3, 1}, // a swap is one mistake
		{"ab", "ba", 3, 1},
		{"ca", "abc", 3, 3},
		{"a", strings.Repeat("b", 64), 3, 4}, // lengths too far apart: limit+1
	} {
		if got := editDistance(tc.a, tc.b, tc.limit); got != tc.want {
			t.Errorf("editDistance(%q, %q, %d) = %d, want %d", tc.a, tc.b, tc.limit, got, tc.want)
		}
	}
}

func TestNotFoundError(t *testing.T) {
	missing := &runtimes.UnavailableError{Runtime: runtimes.Docker, Reason: "/var/run/docker.sock does not exist"}
	hung := &runtimes.UnavailableError{Runtime: runtimes.Containerd, Reason: "no answer on /run/containerd/containerd.sock within --timeout"}
	for _, tc := range []struct {
		err  *NotFoundError
		want string
	}{
		{&NotFoundError{Ref: Ref{Name: "taka"}, Searched: []string{"containerd", "docker"}},
			"no such container or process: taka"},
		{&NotFoundError{Ref: Ref{Name: "ux"}, Suggestions: []string{"ux-ctr-side"}, Searched: []string{"containerd", "docker"}},
			"no such container or process: ux (did you mean ux-ctr-side?)"},
		{&NotFoundError{Ref: Ref{Name: "taka"}, Skipped: []error{missing}, Searched: []string{"containerd"}},
			"no such container or process: taka (docker: /var/run/docker.sock does not exist; searched containerd only)"},
		{&NotFoundError{Ref: Ref{Name: "tak"}, Suggestions: []string{"a", "b", "c"}, Skipped: []error{hung, missing}},
			"no such container or process: tak (did you mean a, b or c?; containerd: no answer on /run/containerd/containerd.sock within --timeout; docker: /var/run/docker.sock does not exist; no runtime was searched)"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() =\n%s\nwant\n%s", got, tc.want)
		}
		if !errors.Is(tc.err, ErrNotFound) {
			t.Errorf("%v is not ErrNotFound", tc.err)
		}
	}
}

func TestAmbiguousErrorListsCandidates(t *testing.T) {
	err := &AmbiguousError{Ref: Ref{Name: "taka"}, Candidates: match(targetsOf(runtimes.Dedupe(containers())), "taka")}
	if !errors.Is(err, ErrAmbiguous) {
		t.Error("AmbiguousError is not ErrAmbiguous")
	}
	want := "ambiguous target: taka matches 2 targets: containerd://e2e/taka, docker://taka"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestPidCandidate(t *testing.T) {
	if c := pidCandidate("1"); c == nil || c.PID != 1 {
		t.Errorf("pidCandidate(1) = %+v", c)
	}
	for _, s := range []string{"0", "-1", "01", "1x", "999999999"} {
		if c := pidCandidate(s); c != nil {
			t.Errorf("pidCandidate(%q) = %+v, want nil", s, c)
		}
	}
}

func TestImageRef(t *testing.T) {
	for s, want := range map[string]string{"image://busybox": "busybox", "image://127.0.0.1:5000/x:1": "127.0.0.1:5000/x:1", "image://": "", "busybox": "", "docker://image://x": ""} {
		if got, ok := ImageRef(s); got != want || ok != (want != "") {
			t.Errorf("ImageRef(%q) = %q, %v; want %q", s, got, ok, want)
		}
	}
}
