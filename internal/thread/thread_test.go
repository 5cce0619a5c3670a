package thread

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDedicateAvoidsTheMainThread runs many dedicated functions, some of
// which the scheduler would otherwise put on the main thread, and checks
// none ran there, each on a thread of its own.
func TestDedicateAvoidsTheMainThread(t *testing.T) {
	runtime.GOMAXPROCS(2)
	tids := make(chan int)
	for i := 0; i < 50; i++ {
		Dedicate(func() { tids <- unix.Gettid() })
	}
	seen := map[int]bool{}
	for i := 0; i < 50; i++ {
		tid := <-tids
		if tid == unix.Getpid() {
			t.Fatal("a dedicated function ran on the main thread")
		}
		seen[tid] = true
	}
	if len(seen) < 2 {
		t.Errorf("50 dedicated functions ran on %d threads", len(seen))
	}
}
