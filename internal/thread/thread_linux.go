// Package thread gives code that changes its OS thread for good (joins a
// namespace with setns) a thread of its own.
package thread

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// Dedicate runs f on a goroutine locked to an OS thread that is not the
// process's main thread, and never unlocks it: f may change the thread
// (setns), and when f returns the Go runtime ends the thread rather than
// hand it, changed, to other goroutines. Dedicate returns at once.
//
// The main thread is avoided: it cannot exit, so the runtime would keep it
// changed for the rest of the process, and /proc/self is the main
// thread's view (/proc/self/ns/net would name the target's namespace).
func Dedicate(f func()) { dedicate(f, nil) }

// dedicate is Dedicate, closing locked once f's thread is found.
func dedicate(f func(), locked chan<- struct{}) {
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// The main thread: held while another goroutine
			// starts, which then cannot be given it; let go once
			// that one has a thread of its own (nothing was
			// changed on this one).
			held := make(chan struct{})
			dedicate(f, held)
			<-held
			runtime.UnlockOSThread()
			if locked != nil {
				close(locked)
			}
			return
		}
		if locked != nil {
			close(locked)
		}
		f()
	}()
}
