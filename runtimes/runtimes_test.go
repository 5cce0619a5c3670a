package runtimes

import (
	"strings"
	"testing"
)

func TestDedupeMergesDockerSeenThroughContainerd(t *testing.T) {
	cs := []*Container{
		{Runtime: Docker, Namespace: "moby", ID: "abc123", Name: "taka", Names: []string{"taka"}, Running: true},
		{Runtime: Containerd, Namespace: "moby", ID: "abc123", Name: "abc123", PID: 42},
		{Runtime: Containerd, Namespace: "e2e", ID: "taka", Name: "taka"},
		{Runtime: Containerd, Namespace: "moby", ID: "beef", Name: "beef"},
	}
	var refs []string
	for _, c := range Dedupe(cs) {
		refs = append(refs, c.Ref())
	}
	if got, want := strings.Join(refs, " "), "docker://taka containerd://e2e/taka containerd://moby/beef"; got != want {
		t.Errorf("Dedupe = %q, want %q", got, want)
	}
	if cs[0].PID != 42 {
		t.Errorf("Docker's container took PID %d, want containerd's 42", cs[0].PID)
	}
}
