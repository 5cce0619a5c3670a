package main

import (
	"slices"
	"strings"
	"testing"
)

func TestScalePlan(t *testing.T) {
	big := scalePlan(1000)
	// Shrinking to the baseline removes only what came after it.
	if small := scalePlan(scaleBase); !slices.Equal(small, big[:scaleBase]) {
		t.Errorf("scalePlan(%d) is not the start of scalePlan(1000): %v", scaleBase, small)
	}
	docker, perNS := 0, map[string]int{}
	names := map[string]bool{}
	for _, x := range big {
		if names[x.name] {
			t.Errorf("name %s twice", x.name)
		}
		names[x.name] = true
		// The bench's own, as removeAll finds them.
		if !strings.HasPrefix(x.name, scaleNSPrefix) {
			t.Errorf("name %s lacks the bench's prefix", x.name)
		}
		if x.docker {
			docker++
			if x.ns != "" {
				t.Errorf("Docker's %s has a containerd namespace", x.name)
			}
			continue
		}
		if !strings.HasPrefix(x.ns, scaleNSPrefix) {
			t.Errorf("%s is in namespace %q, not one of the bench's", x.name, x.ns)
		}
		perNS[x.ns]++
	}
	if docker != 250 {
		t.Errorf("%d in Docker, want 250", docker)
	}
	if len(perNS) != scaleNSCount {
		t.Errorf("namespaces %v, want %d", perNS, scaleNSCount)
	}
	for ns, n := range perNS {
		if n < 180 || n > 195 {
			t.Errorf("%s holds %d, not about a quarter of 750", ns, n)
		}
	}
}
