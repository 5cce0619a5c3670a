// The contract between ctr-enter's parent (plan.go, in the Go process) and
// its constructor (nsexec.c, before any Go runtime exists). Both read this
// file: the C directly, the Go through cgo (nsexec.go), so that neither side
// keeps a copy of the other's numbers to forget.
#ifndef CTR_ENTER_NSEXEC_H
#define CTR_ENTER_NSEXEC_H

// The environment variable that carries the plan. Its presence is what
// triggers the constructor.
#define NSEXEC_ENV "_CTR_ENTER_NSEXEC"

// The environment variable of node mounts (nodemounts.c): kubectl
// ctr-enter's debugger pods set it (kubectl/plugin/debugger.go spells it
// again, in a module of its own).
#define NODE_MOUNTS_ENV "CTR_ENTER_NODE_MOUNTS"

// Exit codes for ctr-enter's own failures, as docker exec uses them
// (enter.ExitTool and its siblings are these). Any other status is the
// payload's own.
#define NSEXEC_EXIT_TOOL 125        // ctr-enter failed
#define NSEXEC_EXIT_CANNOT_EXEC 126 // the command was found but could not be executed
#define NSEXEC_EXIT_NOT_FOUND 127   // the command was not found

// A session with tools: what it holds under its root (enter.ToolsDir and
// its siblings). The launchers' view (NSEXEC_FD_LAUNCHERS) is mounted at
// NSEXEC_TOOLS_DIR and holds ctr-enter itself (NSEXEC_LAUNCHER), one link
// to it per program of the tools (NSEXEC_TOOLS_BIN), and the mount point
// of the tools' tree (NSEXEC_TOOLS_ROOT). launch.c says how a link runs
// its program; enter/launchers_linux.go makes them.
#define NSEXEC_TOOLS_DIR ".ctr-enter"
#define NSEXEC_TOOLS_ROOT "root"
#define NSEXEC_TOOLS_BIN "bin"
#define NSEXEC_LAUNCHER "ctr-enter"
// Made with the links, for the launcher: which/NAME links to the program
// NAME stands for, ld/NAME to its loader if it is dynamically linked (so
// that the process is named NAME, not ld-linux-x86-64.so.2).
#define NSEXEC_TOOLS_WHICH "which"
#define NSEXEC_TOOLS_LD "ld"
// loaders/BASE, for each loader of the tools (by its file name): the
// options it knows (a: --argv0, i: --inhibit-cache), a space, and the
// tools' library directories as its --library-path.
#define NSEXEC_TOOLS_LOADERS "loaders"
// Where a session of its own (plan field own) shows the target's root.
#define NSEXEC_TARGET_DIR "target"
// The tools' program directories, in the order PATH lists them: the first
// that holds a name gives its program.
#define NSEXEC_TOOLS_PATH "usr/local/sbin:usr/local/bin:usr/sbin:usr/bin:sbin:bin"

// The child's fds. Fixed slots, so that the constructor knows where its
// error pipe is before it has read anything, and can report a plan it
// cannot read. A slot the plan does not use is closed.
#define NSEXEC_FD_PIDFD 3   // a pidfd of the target, validated by the parent
#define NSEXEC_FD_ERR 4     // the error pipe: EOF on exec, else one report
#define NSEXEC_FD_SELF 5    // ctr-enter's own sealed executable: what the parent starts
#define NSEXEC_FD_PAYLOAD 6 // the payload's sealed executable (plan field exec)
#define NSEXEC_FD_CONFINE 7 // the confinement memfd (plan field confine)
#define NSEXEC_FD_TOOLS 8   // a detached read-only mount of the tools (plan field tools)
#define NSEXEC_FD_LAUNCHERS 9 // with the tools: a detached read-only mount of their launchers
#define NSEXEC_FD_ROOT 10    // with root=1: a detached mount of the target's files (a stopped container's, an image's)
#define NSEXEC_FD_CGROUPS 11 // and up: the target's cgroup.procs, as many as the confinement says

// The plan, as the parent writes it in NSEXEC_ENV: these integer fields as
// "key=value" words, in this order, each followed by one space, then
// "host=" and the hostname of a session in new namespaces (root=1; empty:
// none) and one space, then "cwd=" and the working directory up to the end
// (the only field that may hold spaces; empty: keep the current
// directory). A hostname is at most NSEXEC_HOST_MAX bytes, none a space. Nothing else is
// accepted: a field dropped or added on one side only is refused, with a
// report. X(key, member of struct plan in nsexec.c).
#define NSEXEC_PLAN_FIELDS(X)                                                   \
	X(ns, nsflags) /* CLONE_NEW* flags, joined through the pidfd in one setns */ \
	X(exec, exec)       /* 1: the payload is at NSEXEC_FD_PAYLOAD; 0: execvp */ \
	X(own, ownroot)     /* 1: a root of the session's own, the target's at /target */ \
	X(tty, tty)         /* 1: stdin is the payload's pty, to be its terminal */ \
	X(uid, uid)         /* -1, or the uid to take on after joining */           \
	X(gid, gid)         /* -1, or the gid to take on after joining */           \
	X(ppid, ppid)       /* the parent's pid: we die with it (0: detached) */    \
	X(confine, confine) /* 1: a confinement at NSEXEC_FD_CONFINE */             \
	X(tools, tools)     /* 1: tools at NSEXEC_FD_TOOLS */                       \
	X(stop, stop)       /* 1 (tests only): SIGSTOP just before the exec */     \
	X(root, root)       /* 1: new namespaces over the files at NSEXEC_FD_ROOT */

// The keys in order, the last one (cwd) included: what Go checks its own
// list of fields against.
#define NSEXEC_PLAN_KEY(key, member) #key " "
#define NSEXEC_PLAN_KEYS NSEXEC_PLAN_FIELDS(NSEXEC_PLAN_KEY) "host cwd"
#define NSEXEC_HOST_MAX 64

// The confinement memfd (struct confine in nsexec.c, encoded by
// enter/confine_linux.go): NSEXEC_CONFINE_WORDS native-endian 32-bit words
// (uid, gid, ngroups, nonewprivs, nfilters, ncgroups), then NSEXEC_NCAPS
// 64-bit capability sets in this order, then the groups, then each seccomp
// filter as its length and its instructions.
#define NSEXEC_CONFINE_WORDS 6
enum {
	NSEXEC_CAP_INH, // inheritable
	NSEXEC_CAP_PRM, // permitted
	NSEXEC_CAP_EFF, // effective
	NSEXEC_CAP_BND, // bounding
	NSEXEC_CAP_AMB, // ambient
	NSEXEC_NCAPS,
};

#endif
