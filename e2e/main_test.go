//go:build e2e

// Package e2e runs the built ctr-enter binary against the real containerd,
// runc and dockerd that e2e/env.sh installs and starts. Run it through
// `make test`; it needs root and refuses to run (it does not skip) without
// the environment.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "e2e: must run as root (make test)")
		os.Exit(1)
	}
	bin = os.Getenv("CTR_ENTER_BIN")
	if bin == "" {
		bin = "../bin/ctr-enter"
	}
	var err error
	if bin, err = filepath.Abs(bin); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	if _, err := os.Stat(bin); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: no binary at %s (make build): %v\n", bin, err)
		os.Exit(1)
	}
	// containerd 2.x's ctr repeats the daemon's cgroup v1 deprecation
	// warning on every call, into the output the tests read.
	os.Setenv("CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS", "1")
	for _, check := range [][]string{
		{"ctr", "-n", "e2e", "task", "ls"},
		{"docker", "inspect", "taka"},
		append(ctr2(), "-n", "e2e", "task", "ls"),
	} {
		if out, err := exec.Command(check[0], check[1:]...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: the test environment is not up (run e2e/env.sh up): %v: %v\n%s", check, err, out)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}
