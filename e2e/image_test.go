//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// TestOwnImage builds the Dockerfile's image with the binary under test and
// runs it as a node debugger would run (see ownImage).
func TestOwnImage(t *testing.T) {
	inImage := ownImage(t, "ctr-enter:e2e")
	// The image's own busybox ps, in each taka's pid namespace.
	for _, ref := range takas {
		r := inImage(ref, "--net", "--pid", "--", "ps", "-o", "pid,args")
		if r.code != 0 || !regexpMatch(`(?m)^\s*1\s+redis-server`, r.stdout) {
			t.Errorf("%s: %v", ref, r)
		}
	}
	// Its own ip (a dynamically linked tool from iproute2) in Docker taka's
	// network namespace shows taka's address.
	addr := sh(t, "docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "taka")
	if r := inImage("docker://taka", "--net", "--", "ip", "-br", "addr"); r.code != 0 || !strings.Contains(r.stdout, addr+"/") {
		t.Errorf("ip addr in taka does not show %s: %v", addr, r)
	}
	// A target with no shell and a read-only root gets the image's tools.
	if r := inImage("docker://noshell", "--net", "--pid", "--", "ps", "-o", "pid,args"); r.code != 0 || !regexpMatch(`(?m)^\s*1\s+/pause`, r.stdout) {
		t.Errorf("noshell: %v", r)
	}
	// And in all of its namespaces, mount included, the image's tools are
	// mounted beside its files: a view composed of the image's /bin, /lib
	// and /usr, which are not merged.
	for _, ref := range noshells {
		if r := inImage(ref, "--", "sh", "-c", "ps -o pid,args; ls /"); r.code != 0 || !regexpMatch(`(?m)^\s*1\s+/pause`, r.stdout) || !regexpMatch(`(?m)^pause$`, r.stdout) {
			t.Errorf("%s with the image's tools: %v", ref, r)
		}
	}
	if r := inImage("docker://taka", "--net", "--", "tcpdump", "--version"); r.code != 0 || !strings.Contains(r.stdout+r.stderr, "tcpdump version") {
		t.Errorf("tcpdump: %v", r)
	}
}

func TestStaticBinary(t *testing.T) {
	if out := sh(t, "file", bin); !strings.Contains(out, "statically linked") {
		t.Errorf("not static: %s", out)
	}
}
