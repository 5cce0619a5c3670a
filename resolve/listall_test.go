package resolve

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ctr-enter/ctr-enter/runtimes"
)

// fakeBackend lists cs; as a finder, it finds the containers named word.
type fakeBackend struct {
	runtimes.Backend // the rest, never called here
	name             string
	cs               []*runtimes.Container
	lists            atomic.Int32
}

func (f *fakeBackend) Runtime() string { return f.name }

func (f *fakeBackend) List(context.Context) ([]*runtimes.Container, error) {
	f.lists.Add(1)
	return f.cs, nil
}

type fakeFinder struct{ *fakeBackend }

func (f fakeFinder) FindExact(_ context.Context, word string) ([]*runtimes.Container, error) {
	var out []*runtimes.Container
	for _, c := range f.cs {
		if c.ID == word || c.Name == word {
			out = append(out, c)
		}
	}
	return out, nil
}

func TestListAllListsOnlyWhenFoundNowhere(t *testing.T) {
	newBackends := func() (*fakeBackend, *fakeBackend, []runtimes.Backend) {
		ctrd := &fakeBackend{name: runtimes.Containerd, cs: []*runtimes.Container{
			{Runtime: runtimes.Containerd, Namespace: "e2e", ID: "taka", Name: "taka"},
			{Runtime: runtimes.Containerd, Namespace: "e2e", ID: "tako", Name: "tako"}}}
		docker := &fakeBackend{name: runtimes.Docker, cs: []*runtimes.Container{
			{Runtime: runtimes.Docker, Namespace: "moby", ID: hexID("d1"), Name: "side", Names: []string{"side"}}}}
		return ctrd, docker, []runtimes.Backend{fakeFinder{ctrd}, fakeFinder{docker}}
	}
	refs := func(ts []*Target) string {
		var s []string
		for _, t := range ts {
			s = append(s, t.String())
		}
		return strings.Join(s, " ")
	}

	// Found by one runtime: no runtime lists everything.
	ctrd, docker, bs := newBackends()
	ts, answered, failed := listAll(context.Background(), bs, "side")
	if refs(ts) != "docker://side" || len(answered) != 2 || len(failed) != 0 {
		t.Errorf("side: %s, answered %v, failed %v", refs(ts), answered, failed)
	}
	if ctrd.lists.Load()+docker.lists.Load() != 0 {
		t.Errorf("side: %d and %d listings, want none", ctrd.lists.Load(), docker.lists.Load())
	}

	// Found nowhere: every finder lists, for the suggestions.
	ctrd, docker, bs = newBackends()
	ts, _, _ = listAll(context.Background(), bs, "tak")
	if refs(ts) != "containerd://e2e/taka containerd://e2e/tako docker://side" {
		t.Errorf("tak: %s, want every container", refs(ts))
	}
	if ctrd.lists.Load() != 1 || docker.lists.Load() != 1 {
		t.Errorf("tak: %d and %d listings, want one each", ctrd.lists.Load(), docker.lists.Load())
	}

	// No exact word (a possible ID prefix): everything is listed, once.
	ctrd, docker, bs = newBackends()
	listAll(context.Background(), bs, "")
	if ctrd.lists.Load() != 1 || docker.lists.Load() != 1 {
		t.Errorf(`"": %d and %d listings, want one each`, ctrd.lists.Load(), docker.lists.Load())
	}
}

// A whole generated ID is found as a name is, without a listing: it can
// be no other container's prefix, and no PID. A shorter prefix lists.
func TestFindWholeIDWithoutListing(t *testing.T) {
	docker := &fakeBackend{name: runtimes.Docker, cs: []*runtimes.Container{
		{Runtime: runtimes.Docker, Namespace: "moby", ID: hexID("d1"), Name: "side", Names: []string{"side"}}}}
	bs := []runtimes.Backend{fakeFinder{docker}}
	got, err := find(context.Background(), bs, nil, Ref{Name: hexID("d1")}, nil, nil)
	if err != nil || got.ID != hexID("d1") {
		t.Fatalf("find(whole ID) = %v, %v", got, err)
	}
	if n := docker.lists.Load(); n != 0 {
		t.Errorf("find(whole ID): %d listings, want none", n)
	}
	if _, err := find(context.Background(), bs, nil, Ref{Name: hexID("d1")[:12]}, nil, nil); err != nil {
		t.Fatalf("find(prefix): %v", err)
	}
	if n := docker.lists.Load(); n != 1 {
		t.Errorf("find(prefix): %d listings, want one", n)
	}
}
