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

func containers() []*runtimes.Container {
	return []*runtimes.Container{
		{Runtime: runtimes.Docker, Namespace: "moby", ID: "abc123", Name: "taka", Names: []string{"taka"}},
		{Runtime: runtimes.Containerd, Namespace: "moby", ID: "abc123", Name: "abc123"},
		{Runtime: runtimes.Containerd, Namespace: "e2e", ID: "taka", Name: "taka"},
		{Runtime: runtimes.Containerd, Namespace: "default", ID: "abd999", Name: "abd999"},
		{Runtime: runtimes.Containerd, Namespace: "k8s.io", ID: "f00d", Name: "web/nginx", Names: []string{"web/nginx", "prod/web/nginx"}},
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

func TestMatch(t *testing.T) {
	all := targetsOf(runtimes.Dedupe(containers()))
	for _, tc := range []struct{ name, want string }{
		{"taka", "docker://taka containerd://e2e/taka"}, // ambiguous: two exact
		{"abc123", "docker://taka"},                     // exact ID
		{"abc", "docker://taka"},                        // unique prefix
		{"ab", "docker://taka containerd://default/abd999"},
		{"tak", "containerd://e2e/taka"}, // a containerd ID is also its name
		{"web/nginx", "containerd://k8s.io/f00d"},
		{"prod/web/nginx", "containerd://k8s.io/f00d"},
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
	const real = "7112f367ce46aa00"
	ts := []*Target{
		target(runtimes.Container{Runtime: runtimes.Docker, Namespace: "moby", ID: real, Name: "real", Names: []string{"real"}}),
		target(runtimes.Container{Runtime: runtimes.Containerd, Namespace: "e2e", ID: "shadow", Name: "7112f367ce46", Names: []string{"7112f367ce46"}}),
		target(runtimes.Container{Runtime: runtimes.Docker, Namespace: "moby", ID: "5ee5ee", Name: real, Names: []string{real}}),
		target(runtimes.Container{Runtime: runtimes.Docker, Namespace: "moby", ID: "abcdef01", Name: "abcd", Names: []string{"abcd"}}),
		target(runtimes.Container{Runtime: runtimes.Containerd, Namespace: "e2e", ID: "taka", Name: "taka"}),
		target(runtimes.Container{Runtime: runtimes.Containerd, Namespace: "e2e", ID: "taka-2", Name: "taka-2"}),
		target(runtimes.Container{Runtime: PID, ID: "12", Name: "12", PID: 12}),
		target(runtimes.Container{Runtime: runtimes.Docker, Namespace: "moby", ID: "12ab", Name: "x", Names: []string{"x"}}),
		target(runtimes.Container{Runtime: PID, ID: "77", Name: "77", PID: 77}),
	}
	for _, tc := range []struct{ name, word, want string }{
		{"name shadows a prefix", "7112f367ce46", "containerd://e2e/shadow docker://real"},
		{"name shadows a shorter prefix", "7112", "docker://real"},
		{"name shadows a full ID", real, "docker://" + real + " docker://real"},
		{"name is a prefix of its own ID", "abcd", "docker://abcd"},
		{"unique exact ID beats a longer ID", "taka", "containerd://e2e/taka"},
		{"prefix of two", "tak", "containerd://e2e/taka containerd://e2e/taka-2"},
		{"name alone", "real", "docker://real"},
		{"PID that is an ID prefix", "12", "docker://x pid:12"},
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
