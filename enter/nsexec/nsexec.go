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
// The same constructor is the launcher of a session's tools (launch.c):
// ctr-enter's binary, executed through a session's /.ctr-enter/bin, runs
// the tool named by the link with the tools' own loader and libraries.
//
// And it gives kubectl ctr-enter's debugger pods the node's paths
// (nodemounts.c), since a pod with volumes starts much later.
//
// Importing this package is all it takes for the constructor to be there;
// without the trigger or a launcher's link it returns at once. A Plan says what the constructor
// is to do and starts it.
package nsexec

/*
#cgo CFLAGS: -Wall -Werror -std=gnu11
#include "nsexec.h"
extern void ctr_enter_nsexec(int argc, char **argv, char **envp);
extern void ctr_enter_launch(int argc, char **argv, char **envp);
extern void ctr_enter_node_mounts(void);
extern char **environ;
// glibc passes argc, argv and envp to ELF constructors, musl passes
// nothing; both have environ point into the initial stack by then, where
// the kernel laid out argc, argv and its NULL, then envp. So argv is
// found by walking back from envp to the word that counts it: every word
// on the way is a pointer of argv, never a number that small.
void __attribute__((constructor)) init(void) {
	char **envp = environ;
	int argc = 0;
	while ((long)envp[-2 - argc] != argc)
		argc++;
	char **argv = envp - 1 - argc;
	ctr_enter_nsexec(argc, argv, envp);
	ctr_enter_launch(argc, argv, envp);
	ctr_enter_node_mounts();
}
*/
import "C"

// What nsexec.h shares with the constructor: the Go side has no copies.

// EnvVar carries the plan from the parent to the constructor.
const EnvVar = C.NSEXEC_ENV

// Exit codes for ctr-enter's own failures, as docker exec uses them; the
// constructor exits with them too.
const (
	ExitTool       = C.NSEXEC_EXIT_TOOL
	ExitCannotExec = C.NSEXEC_EXIT_CANNOT_EXEC
	ExitNotFound   = C.NSEXEC_EXIT_NOT_FOUND
)

// A session's tools (nsexec.h): under ToolsDir, the launchers' view holds
// Launcher, a link to it per program in ToolsBin, and the tools' tree at
// ToolsRoot. ToolsPath lists the tools' program directories in PATH's
// order; TargetDir is where a root of the session's own shows the
// target's.
const (
	ToolsDir     = C.NSEXEC_TOOLS_DIR
	ToolsRoot    = C.NSEXEC_TOOLS_ROOT
	ToolsBin     = C.NSEXEC_TOOLS_BIN
	ToolsWhich   = C.NSEXEC_TOOLS_WHICH
	ToolsLd      = C.NSEXEC_TOOLS_LD
	ToolsLoaders = C.NSEXEC_TOOLS_LOADERS
	Launcher     = C.NSEXEC_LAUNCHER
	ToolsPath    = C.NSEXEC_TOOLS_PATH
	TargetDir    = C.NSEXEC_TARGET_DIR
)

// The confinement's layout: its leading 32-bit words, and the index of each
// capability set among its NCaps 64-bit ones.
const (
	ConfineWords   = C.NSEXEC_CONFINE_WORDS
	NCaps          = C.NSEXEC_NCAPS
	CapInheritable = C.NSEXEC_CAP_INH
	CapPermitted   = C.NSEXEC_CAP_PRM
	CapEffective   = C.NSEXEC_CAP_EFF
	CapBounding    = C.NSEXEC_CAP_BND
	CapAmbient     = C.NSEXEC_CAP_AMB
)

// The child's fd slots.
const (
	fdPidfd     = C.NSEXEC_FD_PIDFD
	fdErr       = C.NSEXEC_FD_ERR
	fdSelf      = C.NSEXEC_FD_SELF
	fdPayload   = C.NSEXEC_FD_PAYLOAD
	fdConfine   = C.NSEXEC_FD_CONFINE
	fdTools     = C.NSEXEC_FD_TOOLS
	fdLaunchers = C.NSEXEC_FD_LAUNCHERS
	fdRoot      = C.NSEXEC_FD_ROOT
	fdCgroups   = C.NSEXEC_FD_CGROUPS
)

// HostMax is the longest hostname a plan takes.
const HostMax = C.NSEXEC_HOST_MAX

// planKeys are the plan's keys in the order the constructor reads them.
const planKeys = C.NSEXEC_PLAN_KEYS
