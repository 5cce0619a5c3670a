// The single-threaded half of ctr-enter's join path; nsexec.go says why it
// exists. It runs as an ELF constructor in a copy of ctr-enter that the
// parent started from a sealed, read-only view of its own binary, with:
//
//   fd 0, 1, 2   the payload's stdio
//   pidfd        a pidfd of the target, validated by the parent
//   err          a pipe to the parent; it sees EOF when the payload has been
//                executed, or one "CODE ERRNO MESSAGE" line if we failed
//   exec         -1, or an O_PATH fd of the payload from a read-only view
//                (used when the payload is a host binary)
//   argv, envp   the payload's argv and environment, plus the trigger
//
// It never returns into the Go runtime once triggered: it executes the
// payload or exits.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define ENV_NAME "_CTR_ENTER_NSEXEC"

// Exit codes, shared with the Go side (enter/errors.go).
#define EXIT_TOOL 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

struct plan {
	int pidfd, nsflags, errfd, execfd, mountproc, tty, uid, gid, ppid;
	const char *cwd; // empty: keep the current directory
};

static int errfd = -1;
static volatile pid_t child = -1;

// fail reports to the parent and exits. The message is ours, never derived
// from the target, so it needs no escaping.
static void __attribute__((noreturn)) fail(int code, const char *what)
{
	int saved = errno;
	if (errfd >= 0)
		dprintf(errfd, "%d %d %s", code, saved, what);
	_exit(code);
}

static int parse_plan(const char *spec, struct plan *p)
{
	int n = -1;
	if (sscanf(spec, "pidfd=%d ns=%d err=%d exec=%d proc=%d tty=%d uid=%d gid=%d ppid=%d cwd=%n",
		   &p->pidfd, &p->nsflags, &p->errfd, &p->execfd, &p->mountproc, &p->tty,
		   &p->uid, &p->gid, &p->ppid, &n) != 9 || n < 0)
		return -1;
	p->cwd = spec + n;
	return 0;
}

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

// wait_and_mirror is the intermediate process left behind in the parent's
// pid namespace when the payload was forked into the target's: it relays
// signals the parent forwards, and exits with the payload's status (a
// signal becomes 128+N, as in a shell).
static void __attribute__((noreturn)) wait_and_mirror(void)
{
	static const int forwarded[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
	struct sigaction sa = {.sa_handler = forward};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);
	// A terminal delivers these to the whole foreground process group,
	// the payload included; relaying them would deliver them twice.
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);

	int status;
	for (;;) {
		pid_t r = waitpid(child, &status, 0);
		if (r == child)
			break;
		if (r < 0 && errno != EINTR)
			_exit(EXIT_TOOL);
	}
	if (WIFSIGNALED(status))
		_exit(128 + WTERMSIG(status));
	_exit(WEXITSTATUS(status));
}

static void set_credentials(const struct plan *p)
{
	if (p->gid >= 0) {
		// setgroups is denied in user namespaces whose setgroups file
		// says "deny"; the supplementary groups are then already empty
		// of anything mapped.
		if (setgroups(0, NULL) < 0 && errno != EPERM)
			fail(EXIT_TOOL, "setgroups");
		if (setresgid(p->gid, p->gid, p->gid) < 0)
			fail(EXIT_TOOL, "setresgid");
	}
	if (p->uid >= 0 && setresuid(p->uid, p->uid, p->uid) < 0)
		fail(EXIT_TOOL, "setresuid");
}

// mount_target_proc gives the payload a procfs of the target's pid namespace
// in a private mount namespace of its own, so that joining only the pid
// namespace still shows the target's processes to ps (nsenter does not:
// util-linux #660). It must run in a process that is itself in the target's
// pid namespace: procfs takes the pid namespace of the mounting process.
static void mount_target_proc(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		fail(EXIT_TOOL, "unshare mount namespace");
	// Private, so the procfs mount never propagates back to the host.
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail(EXIT_TOOL, "make mounts private");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		fail(EXIT_TOOL, "mount procfs of the target's pid namespace");
}

static void change_dir(const char *cwd)
{
	char buf[PATH_MAX];
	if (cwd[0] == '\0')
		return;
	if (chdir(cwd) < 0)
		fail(EXIT_TOOL, "change to the working directory");
	// CVE-2024-21626: a directory outside our root shows up as
	// "(unreachable)/..."; only a path under our root is acceptable.
	if (getcwd(buf, sizeof(buf)) == NULL || buf[0] != '/')
		fail(EXIT_TOOL, "working directory is outside the root");
}

static void __attribute__((noreturn)) exec_payload(const struct plan *p, char **argv)
{
	// A terminal session: the command leads a session of its own whose
	// controlling terminal is its pty (stdin), so that job control and
	// Ctrl-C work inside.
	if (p->tty && (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0))
		fail(EXIT_TOOL, "take the terminal");

	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	// Every fd but 0, 1 and 2 goes at exec: the pidfd, the error pipe
	// (whose closing tells the parent the exec succeeded), the payload's
	// fd, and anything the parent itself inherited (CVE-2016-8649,
	// CVE-2024-21626).
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		fail(EXIT_TOOL, "mark fds close-on-exec");

	if (p->execfd >= 0)
		syscall(SYS_execveat, p->execfd, "", argv, environ, AT_EMPTY_PATH);
	else
		execvp(argv[0], argv); // PATH is the target's: environ is the payload's
	fail(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC, "execute");
}

void ctr_enter_nsexec(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)envp;
	const char *spec = getenv(ENV_NAME);
	if (spec == NULL)
		return;

	// Before anything of the target can see us: no ptrace, no
	// /proc/PID/{exe,fd,mem} for its processes (CVE-2016-9962).
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		_exit(EXIT_TOOL);

	struct plan p;
	if (parse_plan(spec, &p) < 0)
		_exit(EXIT_TOOL);
	errfd = p.errfd;

	// Die with the parent. The check after prctl closes the race with a
	// parent that died before it.
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		fail(EXIT_TOOL, "set parent death signal");
	if (getppid() != p.ppid)
		_exit(EXIT_TOOL);

	// The payload's environment is the one we were given, minus the plan.
	// unsetenv edits environ in place; spec points into it, so copy cwd
	// out first.
	char cwd[PATH_MAX];
	if (strlen(p.cwd) >= sizeof(cwd)) {
		errno = ENAMETOOLONG;
		fail(EXIT_TOOL, "working directory");
	}
	strcpy(cwd, p.cwd);
	p.cwd = cwd;
	unsetenv(ENV_NAME);

	// One setns through the pidfd: all namespaces or none, and the kernel
	// orders user before the others. A pidfd cannot be recycled, so this
	// joins the process the parent validated or fails with ESRCH.
	if (p.nsflags != 0 && setns(p.pidfd, p.nsflags) < 0)
		fail(EXIT_TOOL, "join the target's namespaces");
	set_credentials(&p);

	// setns(CLONE_NEWPID) only decides the pid namespace of our children.
	if (p.nsflags & CLONE_NEWPID) {
		child = fork();
		if (child < 0)
			fail(EXIT_TOOL, "fork into the target's pid namespace");
		if (child > 0) {
			close(errfd);
			close(p.pidfd);
			if (p.execfd >= 0)
				close(p.execfd);
			wait_and_mirror();
		}
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
			fail(EXIT_TOOL, "set parent death signal");
		// Our parent is outside our pid namespace, so getppid() says 0;
		// had it died already, we would have been reparented to the
		// target's init.
		if (getppid() != 0)
			_exit(EXIT_TOOL);
	}
	if (p.mountproc)
		mount_target_proc();
	change_dir(p.cwd);
	exec_payload(&p, argv);
}
