package runtimes

import (
	"slices"
	"testing"
)

func TestOverlayOptions(t *testing.T) {
	r, err := overlayOptions([]string{"index=off", `lowerdir=/s/2/fs:/s/1\:x/fs`, "upperdir=/s/3/fs", "workdir=/s/3/work"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/s/2/fs", "/s/1:x/fs"}; !slices.Equal(r.Lower, want) || r.Upper != "/s/3/fs" || r.Work != "/s/3/work" {
		t.Errorf("got %+v, want lower %q", r, want)
	}
	if _, err := overlayOptions([]string{"index=off"}); err == nil {
		t.Error("an overlay without layers was taken")
	}
}
