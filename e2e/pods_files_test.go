//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// Issue 16 on a pod: cp and port-forward reach a pod's container by its
// pod name, with nothing run in it.
func TestPodCpPortForward(t *testing.T) {
	t.Setenv("CONTAINERD_ADDRESS", criSock)
	id := podRow(t, "shop/web/redis", "running").ID
	pid := taskPID(t, ctrCRI(), "k8s.io", id)
	t.Run("cp", func(t *testing.T) {
		copyTree(t, nil, "shop/web/redis", pid, 0)
	})
	t.Run("port-forward", func(t *testing.T) {
		fw := startForward(t, "shop/web/redis", ":6379")
		if out := sh(t, "redis-cli", "-h", "127.0.0.1", "-p", strings.Split(fw.addrs[0], ":")[1], "PING"); out != "PONG" {
			t.Errorf("redis-cli PING through the forward: %q", out)
		}
		if code := fw.stop(t); code != 0 {
			t.Errorf("port-forward after SIGINT: exit %d\n%s", code, fw.stderr)
		}
	})
}
