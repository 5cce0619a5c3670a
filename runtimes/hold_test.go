package runtimes

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
)

// A layer held by a session that is gone is given back; one held by a
// session that runs (this test's process) is kept.
func TestReleaseOrphans(t *testing.T) {
	dir := t.TempDir()
	dead, live := filepath.Join(dir, "a", "diff"), filepath.Join(dir, "b", "diff")
	st, err := procfs.ReadStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		// PID 1 never started at that tick.
		dead + heldSuffix + "1-99999999999",
		live + heldSuffix + fmt.Sprintf("%d-%d", os.Getpid(), st.StartTime),
	} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := ReleaseOrphans(dead); err != nil || !reflect.DeepEqual(got, []string{dead}) {
		t.Errorf("ReleaseOrphans(dead) = %v, %v", got, err)
	}
	if _, err := os.Stat(dead); err != nil || len(HeldBy(dead)) != 0 {
		t.Errorf("the dead session's layer is not back: %v %v", err, HeldBy(dead))
	}
	if got, err := ReleaseOrphans(live); err != nil || len(got) != 0 {
		t.Errorf("ReleaseOrphans(live) = %v, %v", got, err)
	}
	if _, err := os.Stat(live); err == nil || len(HeldBy(live)) != 1 {
		t.Errorf("a running session's layer was taken from it")
	}
}
