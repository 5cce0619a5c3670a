// Package nsexec joins a target's namespaces before the Go runtime starts.
//
// Joining a user or time namespace needs a single-threaded process (setns
// fails with EINVAL and EUSERS once Go has started its threads), and joining
// a mount namespace from a multithreaded process moves the root of every
// thread. So, like runc's nsenter, ctr-enter re-executes itself with a
// trigger in the environment, and a C constructor, running before the Go
// runtime, joins the namespaces, forks into the pid namespace and executes
// the payload. The Go runtime never starts in that process.
//
// Importing this package (for its side effect) is all it takes; without the
// trigger the constructor returns at once.
package nsexec

/*
#cgo CFLAGS: -Wall -Werror -std=gnu11
extern void ctr_enter_nsexec(int argc, char **argv, char **envp);
void __attribute__((constructor)) init(int argc, char **argv, char **envp) {
	ctr_enter_nsexec(argc, argv, envp);
}
*/
import "C"

// EnvVar carries the join plan from the parent to the constructor.
const EnvVar = "_CTR_ENTER_NSEXEC"
