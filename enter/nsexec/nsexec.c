// The single-threaded half of ctr-enter's join path; nsexec.go says why it
// exists. It runs as an ELF constructor in a copy of ctr-enter that the
// parent started from a sealed, read-only view of its own binary, with the
// plan in the environment and its fds in fixed slots (nsexec.h has both):
//
//   fd 0, 1, 2   the payload's stdio
//   pidfd        a pidfd of the target, validated by the parent
//   err          a pipe to the parent; it sees EOF when the payload has been
//                executed, or one "CODE ERRNO MESSAGE" line if we failed
//   payload      with exec=1, an O_PATH fd of the payload from a read-only
//                view (used when the payload is a host binary)
//   confine      with confine=1, a memfd with the target's credentials,
//                capabilities, no_new_privs and seccomp filters (struct
//                confine below), followed by that many cgroup.procs fds
//   tools        with tools=1, a detached read-only mount of the debug tools,
//                to show beside the target's files, or as the session's own
//                root (mount_session_root below)
//   launchers    with tools=1, a detached read-only mount of their launchers
//                (launch.c), shown at /.ctr-enter
//   root         with root=1, instead of a pidfd: a detached mount of the
//                files of a target that runs nothing (a stopped container's
//                layers, an image's tree); the session gets new namespaces
//                over them (offline_session below)
//   argv, envp   the payload's argv and environment, plus the trigger
//
// It never returns into the Go runtime once triggered: it executes the
// payload or exits.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "mountapi.h"
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nsexec.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

// Short names for what nsexec.h shares with the parent.
#define EXIT_TOOL NSEXEC_EXIT_TOOL
#define EXIT_CANNOT_EXEC NSEXEC_EXIT_CANNOT_EXEC
#define EXIT_NOT_FOUND NSEXEC_EXIT_NOT_FOUND
#define TOOLS_DIR NSEXEC_TOOLS_DIR
#define TOOLS_ROOT NSEXEC_TOOLS_DIR "/" NSEXEC_TOOLS_ROOT

// The plan; nsexec.h lists its fields (NSEXEC_PLAN_FIELDS) and says what
// each means.
struct plan {
	int nsflags, exec, ownroot, tty, uid, gid, ppid, confine, tools, stop, root;
	char host[NSEXEC_HOST_MAX + 1]; // empty: none
	const char *cwd;                // empty: keep the current directory
};

// What the target runs with (enter/confine_linux.go encodes it; nsexec.h
// gives the layout).
struct confine {
	int32_t uid, gid, ngroups, nonewprivs, nfilters, ncgroups;
	uint64_t caps[NSEXEC_NCAPS]; // indexed by NSEXEC_CAP_*
	gid_t *groups;
	struct sock_fprog *filters;
};
_Static_assert(offsetof(struct confine, caps) == NSEXEC_CONFINE_WORDS * sizeof(int32_t),
	       "struct confine starts with the NSEXEC_CONFINE_WORDS words nsexec.h lists");

// The error pipe is in its slot from the start: even a plan we cannot read
// is reported. Closed (-1) in the process that stays behind in the parent's
// pid namespace, once it has forked the payload's.
static int errfd = NSEXEC_FD_ERR;
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

// parse_plan reads the plan exactly as nsexec.h lays it out: every field,
// in order, and nothing else. Should the parent's list of fields ever drift
// from ours, the plan is refused, never read with one field taken for
// another.
static int parse_plan(const char *spec, struct plan *p)
{
	static const struct {
		const char *key;
		size_t offset;
	} fields[] = {
#define FIELD(key, member) {#key, offsetof(struct plan, member)},
		NSEXEC_PLAN_FIELDS(FIELD)
#undef FIELD
	};
	const char *s = spec;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		size_t n = strlen(fields[i].key);
		if (strncmp(s, fields[i].key, n) != 0 || s[n] != '=')
			return -1;
		s += n + 1;
		char *end;
		errno = 0;
		long v = strtol(s, &end, 10);
		if (end == s || *end != ' ' || errno != 0 || v < INT_MIN || v > INT_MAX)
			return -1;
		*(int *)((char *)p + fields[i].offset) = (int)v;
		s = end + 1;
	}
	if (strncmp(s, "host=", strlen("host=")) != 0)
		return -1;
	s += strlen("host=");
	size_t n = strcspn(s, " ");
	if (s[n] != ' ' || n > NSEXEC_HOST_MAX)
		return -1;
	memcpy(p->host, s, n);
	p->host[n] = '\0';
	s += n + 1;
	if (strncmp(s, "cwd=", strlen("cwd=")) != 0)
		return -1;
	p->cwd = s + strlen("cwd=");
	return 0;
}

// read_confine loads the confinement from its memfd. Any inconsistency is
// ours, not the target's: fail rather than run less confined than asked.
static void read_confine(int fd, struct confine *c)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		fail(EXIT_TOOL, "read confinement");
	size_t size = st.st_size, off = 0;
	char *buf = malloc(size);
	if (buf == NULL || pread(fd, buf, size, 0) != (ssize_t)size)
		fail(EXIT_TOOL, "read confinement");
#define TAKE(dst, n)                                    \
	do {                                            \
		if ((n) > size - off) {                 \
			errno = EINVAL;                 \
			fail(EXIT_TOOL, "read confinement"); \
		}                                       \
		memcpy((dst), buf + off, (n));          \
		off += (n);                             \
	} while (0)
	TAKE(c, NSEXEC_CONFINE_WORDS * sizeof(int32_t));
	TAKE(c->caps, sizeof(c->caps));
	if (c->ngroups < 0 || c->nfilters < 0 || c->ncgroups < 0) {
		errno = EINVAL;
		fail(EXIT_TOOL, "read confinement");
	}
	c->groups = calloc(c->ngroups + 1, sizeof(gid_t));
	c->filters = calloc(c->nfilters + 1, sizeof(struct sock_fprog));
	if (c->groups == NULL || c->filters == NULL)
		fail(EXIT_TOOL, "read confinement");
	for (int i = 0; i < c->ngroups; i++) {
		int32_t g;
		TAKE(&g, sizeof(g));
		c->groups[i] = g;
	}
	for (int i = 0; i < c->nfilters; i++) {
		int32_t len;
		TAKE(&len, sizeof(len));
		if (len <= 0 || len > BPF_MAXINSNS) {
			errno = EINVAL;
			fail(EXIT_TOOL, "read confinement");
		}
		c->filters[i].len = len;
		c->filters[i].filter = malloc(len * sizeof(struct sock_filter));
		if (c->filters[i].filter == NULL)
			fail(EXIT_TOOL, "read confinement");
		TAKE(c->filters[i].filter, len * sizeof(struct sock_filter));
	}
#undef TAKE
	free(buf);
}

// join_cgroups moves us into the target's cgroups, before any setns: the
// fds were opened in the host's view, and once in the target's user or
// cgroup namespace we would no longer be allowed to leave ours.
static void join_cgroups(const struct confine *c)
{
	for (int i = 0; i < c->ncgroups; i++)
		if (write(NSEXEC_FD_CGROUPS + i, "0", 1) != 1)
			fail(EXIT_TOOL, "join the target's cgroup");
}

static void install_filters(const struct confine *c)
{
	for (int i = 0; i < c->nfilters; i++)
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &c->filters[i]) < 0)
			fail(EXIT_TOOL, "install the target's seccomp filter");
}

// take_on_target confines the payload as the target's own processes are, in
// runc's order: without no_new_privs, seccomp goes first (installing a
// filter then needs CAP_SYS_ADMIN, which is about to go); with it, last.
// execve then recomputes the capabilities from these, as it does for the
// target's processes.
static void take_on_target(const struct confine *c)
{
	if (!c->nonewprivs)
		install_filters(c);
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (!(c->caps[NSEXEC_CAP_BND] & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			fail(EXIT_TOOL, "drop from the capability bounding set");
	// Keep the permitted set across the uid change; capset trims it.
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		fail(EXIT_TOOL, "keep capabilities");
	if (setgroups(c->ngroups, c->groups) < 0 && !(errno == EPERM && c->ngroups == 0))
		fail(EXIT_TOOL, "setgroups");
	if (setresgid(c->gid, c->gid, c->gid) < 0)
		fail(EXIT_TOOL, "setresgid");
	if (setresuid(c->uid, c->uid, c->uid) < 0)
		fail(EXIT_TOOL, "setresuid");
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	for (int i = 0; i < 2; i++) {
		data[i].effective = c->caps[NSEXEC_CAP_EFF] >> (32 * i);
		data[i].permitted = c->caps[NSEXEC_CAP_PRM] >> (32 * i);
		data[i].inheritable = c->caps[NSEXEC_CAP_INH] >> (32 * i);
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		fail(EXIT_TOOL, "capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		fail(EXIT_TOOL, "clear ambient capabilities");
	for (int cap = 0; cap < 64; cap++)
		if ((c->caps[NSEXEC_CAP_AMB] & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			fail(EXIT_TOOL, "raise ambient capability");
	if (c->nonewprivs) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			fail(EXIT_TOOL, "set no_new_privs");
		install_filters(c);
	}
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
//
// As the init of a pid namespace of the session's own (reap_all), it also
// reaps whatever the payload leaves orphaned there; once the payload is
// gone it exits, and the kernel kills what is left of the namespace.
static void __attribute__((noreturn)) wait_and_mirror(int reap_all)
{
	// We lead a session of our own (the parent started us with setsid):
	// no terminal sends us anything, so INT and QUIT come from the parent
	// and are relayed like the rest.
	static const int forwarded[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGINT, SIGQUIT};
	struct sigaction sa = {.sa_handler = forward};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);

	int status;
	for (;;) {
		pid_t r = waitpid(reap_all ? -1 : child, &status, 0);
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

// mount_target_proc mounts a procfs of the target's pid namespace on the
// session's /proc, so that joining the pid namespace without the mount
// namespace still shows the target's processes to ps (nsenter does not:
// util-linux #660). It must run in a process that is itself in the target's
// pid namespace: procfs takes the pid namespace of the mounting process.
static void mount_target_proc(void)
{
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		fail(EXIT_TOOL, "mount procfs of the target's pid namespace");
}

// graft mounts what src holds under name at the same name in dst: a bind
// of the whole subtree (submounts included, with their flags, so a
// read-only root stays read-only) for a directory or a file, a copy for a
// symlink. name is one component from readdir: it cannot lead out of src.
// A link is made to point under prefix: what src's link meant in src.
static void graft(int src, int dst, const char *name, const char *prefix)
{
	struct stat st;
	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		fail(EXIT_TOOL, "stat for the session's root");
	if (S_ISLNK(st.st_mode)) {
		char link[PATH_MAX];
		ssize_t n = readlinkat(src, name, link, sizeof(link) - 1);
		if (n < 0)
			fail(EXIT_TOOL, "read a link for the session's root");
		link[n] = '\0';
		char where[PATH_MAX];
		if (snprintf(where, sizeof(where), "%s%s%s", prefix, link[0] == '/' || !*prefix ? "" : "/", link) >= (int)sizeof(where)) {
			errno = ENAMETOOLONG;
			fail(EXIT_TOOL, "link in the session's root");
		}
		if (symlinkat(where, dst, name) < 0)
			fail(EXIT_TOOL, "link in the session's root");
		return;
	}
	if (S_ISDIR(st.st_mode) ? mkdirat(dst, name, 0755) < 0 : mknodat(dst, name, S_IFREG | 0644, 0) < 0)
		fail(EXIT_TOOL, "make a mount point in the session's root");
	int tree = open_tree(src, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
	if (tree < 0)
		fail(EXIT_TOOL, "clone a mount for the session's root");
	if (move_mount(tree, "", dst, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		fail(EXIT_TOOL, "mount in the session's root");
	close(tree);
}

// graft_all grafts every entry of src into dst that dst does not have yet.
// The target decides how many entries its root has: bound the work.
static void graft_all(int src, int dst, const char *prefix)
{
	int fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	if (dir == NULL)
		fail(EXIT_TOOL, "read a root directory");
	struct dirent *e;
	for (int n = 0; (errno = 0, e = readdir(dir)) != NULL; n++) {
		if (n > 4096) {
			errno = E2BIG;
			fail(EXIT_TOOL, "read a root directory");
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, TOOLS_DIR))
			continue;
		if (faccessat(dst, e->d_name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		graft(src, dst, e->d_name, prefix);
	}
	if (errno != 0)
		fail(EXIT_TOOL, "read a root directory");
	closedir(dir);
}

// new_tmpfs returns a detached tmpfs; the target decides nothing about it.
static int new_tmpfs(const char *mode, const char *size)
{
	int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", mode, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "size", size, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		fail(EXIT_TOOL, "make a tmpfs for the session");
	int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mnt < 0)
		fail(EXIT_TOOL, "make a tmpfs for the session");
	close(fs);
	return mnt;
}

// attach_at mounts the detached mount mnt at name in dir, made for it.
static void attach_at(int mnt, int dir, const char *name)
{
	if (mkdirat(dir, name, 0755) < 0 || move_mount(mnt, "", dir, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		fail(EXIT_TOOL, "mount in the session's root");
	close(mnt);
}

// The host's devices a session without the target's /dev gets: data
// sinks and sources only. Never /dev/pts: a target that could reach the
// host's terminals through /proc/PID/root could type into the operator's.
static const char *const session_devices[] = {"null", "zero", "full", "random", "urandom"};
#define NDEVICES (sizeof(session_devices) / sizeof(session_devices[0]))

// What a root of the session's own shows of the host's, cloned while "/"
// and /proc are still the host's: once the target's mount namespace is
// joined, they are the target's, and its /dev/null could be anything.
struct host_files {
	int dev[NDEVICES]; // detached mounts of session_devices; -1: none
	int pty;           // of the session's own terminal (stdin); -1: none
	char ptyname[16];  // its name under /dev/pts
};

static void clone_host_files(struct host_files *h, int tty)
{
	int hostdev = open("/dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hostdev < 0)
		fail(EXIT_TOOL, "open the host's /dev");
	for (size_t i = 0; i < NDEVICES; i++) {
		struct stat st;
		h->dev[i] = -1;
		if (fstatat(hostdev, session_devices[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
		    (h->dev[i] = open_tree(hostdev, session_devices[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW)) < 0)
			fail(EXIT_TOOL, "clone a device for the session");
	}
	close(hostdev);

	// Only the session's own terminal, so that tty and ttyname find it:
	// the target can reach it through /proc/PID/fd/0 anyway, but never
	// the host's other terminals.
	h->pty = -1;
	char link[PATH_MAX];
	ssize_t n = tty ? readlink("/proc/self/fd/0", link, sizeof(link) - 1) : -1;
	if (n < 0)
		return;
	link[n] = '\0';
	const char *name = link + strlen("/dev/pts/");
	if (strncmp(link, "/dev/pts/", strlen("/dev/pts/")) != 0 || *name == '\0' ||
	    strspn(name, "0123456789") != strlen(name) || strlen(name) >= sizeof(h->ptyname))
		return; // not a pty of the host's /dev/pts: left nameless
	strcpy(h->ptyname, name);
	h->pty = open_tree(AT_FDCWD, link, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
	if (h->pty < 0)
		fail(EXIT_TOOL, "clone the terminal for the session");
}

// attach_file mounts the detached mount of a file at name in dir.
static void attach_file(int mnt, int dir, const char *name)
{
	if (mknodat(dir, name, S_IFREG | 0644, 0) < 0 || move_mount(mnt, "", dir, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		fail(EXIT_TOOL, "mount in the session's root");
	close(mnt);
}

// own_root_extras gives a session that has no root of the target's what
// programs expect at the top beside the tools': an empty /proc for a
// procfs, a private /tmp, and a /dev of a few harmless devices and its own
// terminal from the host's.
//
// A target that runs nothing (offline) keeps its own /tmp: its files.
static void own_root_extras(int root, const struct host_files *h, int offline)
{
	if (mkdirat(root, "proc", 0555) < 0)
		fail(EXIT_TOOL, "make the session's /proc");
	// Bounded: a target that reaches the session's files through
	// /proc/PID/root must not be able to fill the host's memory.
	if (!offline)
		attach_at(new_tmpfs("1777", "64m"), root, "tmp");
	// Attached before it is filled: mounts onto a detached mount need
	// Linux 6.15.
	attach_at(new_tmpfs("0755", "64k"), root, "dev");
	int dev = openat(root, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dev < 0)
		fail(EXIT_TOOL, "open /dev for the session");
	for (size_t i = 0; i < NDEVICES; i++)
		if (h->dev[i] >= 0)
			attach_file(h->dev[i], dev, session_devices[i]);
	if (h->pty >= 0) {
		int pts = -1;
		if (mkdirat(dev, "pts", 0755) < 0 || (pts = openat(dev, "pts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			fail(EXIT_TOOL, "make the session's /dev/pts");
		attach_file(h->pty, pts, h->ptyname);
		close(pts);
	}
	close(dev);
}

// mount_session_root gives the payload a root of its own, in a mount
// namespace of its own (a copy of the target's, joined), with the tools'
// launchers at /.ctr-enter, the tools at /.ctr-enter/root, and the tools'
// top-level entries where the root has none (so that a script's
// interpreter and a program run by absolute path are found).
//
// own == 0: the root also holds the target's top-level entries, each a
// bind of the target's (so every file is at its usual path and writes
// reach the target). The target's root itself cannot be used: it may be
// read-only and lack every directory to mount on.
//
// own == 1 (the target's mount namespace not asked for: the pid namespace
// without it, or --net --image): the payload would otherwise run with the
// host's root and working directory, visible to the target's processes,
// which reach both through /proc/PID/root and /proc/PID/cwd when they pass
// the ptrace access check. Its root is then made of the read-only tools,
// the target's root at /target, and own_root_extras: nothing of the
// host's that the target could read or write.
//
// The target's processes never see any of it, and nothing outlives the
// session: the namespace goes with its last process.
//
// offline (a target that runs nothing): as own == 0, but the target's
// root is the detached mount at NSEXEC_FD_ROOT instead of "/", and the
// session gets its own /proc and /dev (own_root_extras), since the target's
// are empty directories.
static void mount_session_root(int own, int offline, const struct host_files *h)
{
	if (unshare(CLONE_NEWNS) < 0)
		fail(EXIT_TOOL, "unshare mount namespace");
	// Slaves: later mounts still reach the session, and nothing mounted
	// here propagates back.
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		fail(EXIT_TOOL, "make mounts slaves");
	int old = offline ? NSEXEC_FD_ROOT : open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (old < 0)
		fail(EXIT_TOOL, "make the session's root");
	// Cloned before the session's root goes on top of it, which a
	// recursive clone would take along.
	int target = -1;
	if (own && (target = open_tree(old, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH)) < 0)
		fail(EXIT_TOOL, "clone the target's root");
	int root = new_tmpfs("0755", "1m");
	// Attached on top of the old root, so that mounts can go under it
	// (a detached mount takes none before Linux 6.15); old still opens
	// what it hides.
	if (move_mount(root, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		fail(EXIT_TOOL, "mount the session's root");

	if (own)
		attach_at(target, root, NSEXEC_TARGET_DIR);
	if (offline)
		own_root_extras(root, h, 1);
	if (!own)
		graft_all(old, root, "");
	// The launchers' view has an empty directory for the tools to go on:
	// root/usr where they are a merged /usr (with the links of the
	// host's root beside it), else root.
	attach_at(NSEXEC_FD_LAUNCHERS, root, TOOLS_DIR);
	const char *at = faccessat(root, TOOLS_ROOT "/usr", F_OK, AT_SYMLINK_NOFOLLOW) == 0 ? TOOLS_ROOT "/usr" : TOOLS_ROOT;
	if (move_mount(NSEXEC_FD_TOOLS, "", root, at, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		fail(EXIT_TOOL, "mount the tools");
	close(NSEXEC_FD_TOOLS);
	int tools = openat(root, TOOLS_ROOT, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tools < 0)
		fail(EXIT_TOOL, "open the tools");
	// Before the tools': an image's /dev, /proc or /tmp would not do.
	if (own)
		own_root_extras(root, h, 0);
	// The tools' links (/lib64 -> usr/lib64) mean the tools' tree.
	graft_all(tools, root, "/" TOOLS_ROOT);
	// A new top-level file would silently stay in the session: say so
	// with EROFS instead.
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	if (mount_setattr(root, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		fail(EXIT_TOOL, "make the session's root read-only");
	if (fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0)
		fail(EXIT_TOOL, "change to the session's root");
	close(tools);
	close(root);
	close(old);
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

static void __attribute__((noreturn)) exec_payload(const struct plan *p, const struct confine *c, char **argv)
{
	// The parent started us in a session of our own, without the
	// operator's controlling terminal: a command that kept it could type
	// into the operator's shell with TIOCSTI and read what is typed there.
	// A terminal session: the command leads a session whose controlling
	// terminal is its own pty (stdin), so that job control and Ctrl-C work
	// inside. After a fork into the pid namespace we are not the leader.
	if (p->tty && ((getsid(0) != getpid() && setsid() < 0) || ioctl(0, TIOCSCTTY, 0) < 0))
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
	// Last: the target's seccomp filter may forbid what came before.
	if (c != NULL)
		take_on_target(c);

	if (p->exec)
		syscall(SYS_execveat, NSEXEC_FD_PAYLOAD, "", argv, environ, AT_EMPTY_PATH);
	else
		execvp(argv[0], argv); // PATH is the target's: environ is the payload's
	fail(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC, "execute");
}

// close_unplanned closes every fd the plan does not name before anything of
// the target can see us: one the parent inherited (the operator's shell may
// leak some into it) would otherwise be open in a process of the target's
// pid namespace. A tracer with CAP_SYS_PTRACE there can take any fd we hold.
// The plan's fds all lie below the cgroup fds, which come last.
static void close_unplanned(const struct plan *p, int ncgroups)
{
	const int planned[] = {
		p->root ? -1 : NSEXEC_FD_PIDFD, // offline: nothing to join
		NSEXEC_FD_ERR,
		p->exec ? NSEXEC_FD_PAYLOAD : -1,
		p->confine ? NSEXEC_FD_CONFINE : -1,
		p->tools ? NSEXEC_FD_TOOLS : -1,
		p->tools ? NSEXEC_FD_LAUNCHERS : -1,
		p->root ? NSEXEC_FD_ROOT : -1,
	};
	for (int fd = 3; fd < NSEXEC_FD_CGROUPS; fd++) {
		int keep = 0;
		for (size_t i = 0; i < sizeof(planned) / sizeof(planned[0]); i++)
			keep |= planned[i] == fd;
		if (!keep)
			close(fd);
	}
	if (syscall(SYS_close_range, (unsigned)(NSEXEC_FD_CGROUPS + ncgroups), ~0U, 0) < 0)
		fail(EXIT_TOOL, "close inherited fds");
}

// loopback_up brings up lo of a new network namespace: a session that
// runs nothing of the target's gets no other interface (nothing to reach
// the host's or the container's networks through).
static void loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		fail(EXIT_TOOL, "bring up the session's loopback");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		fail(EXIT_TOOL, "bring up the session's loopback");
	close(s);
}

// offline_namespaces gives a session over a target that runs nothing
// (root=1) namespaces of its own, where setns would join the target's:
// there is no process to join. The mount namespace follows in
// mount_session_root; the pid namespace takes effect for our children.
static void offline_namespaces(const struct plan *p)
{
	if (unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID) < 0)
		fail(EXIT_TOOL, "unshare namespaces for the session");
	if (p->host[0] != '\0' && sethostname(p->host, strlen(p->host)) < 0)
		fail(EXIT_TOOL, "set the session's hostname");
	loopback_up();
}

// fork_and_mirror forks; the parent stays behind, holding nothing of the
// payload's, to relay signals and mirror its status (wait_and_mirror), as
// the session's init when as_init. Returns in the child only.
static void fork_and_mirror(const struct plan *p, int as_init, const char *what)
{
	child = fork();
	if (child < 0)
		fail(EXIT_TOOL, what);
	if (child == 0)
		return;
	close(errfd);
	errfd = -1;
	if (p->exec)
		close(NSEXEC_FD_PAYLOAD);
	// What ps shows for it: not the fd it was run from.
	if (as_init)
		prctl(PR_SET_NAME, "ctr-enter-init", 0, 0, 0);
	wait_and_mirror(as_init);
}

// die_with_parent makes a forked child die with the process that forked
// it, and checks that it still lives: had it died before prctl, we were
// reparented (to the target's init, or, as init, to no one: getppid 0).
static void die_with_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		fail(EXIT_TOOL, "set parent death signal");
	if (getppid() != parent)
		_exit(EXIT_TOOL);
}

void ctr_enter_nsexec(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)envp;
	const char *spec = getenv(NSEXEC_ENV);
	if (spec == NULL)
		return;

	// Before anything of the target can see us: no ptrace, no
	// /proc/PID/{exe,fd,mem} for its processes (CVE-2016-9962). This does
	// not stop a tracer that holds CAP_SYS_PTRACE over us; the parent
	// refuses such targets unless told to trust them.
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail(EXIT_TOOL, "make ctr-enter undumpable");

	struct plan p = {0};
	if (parse_plan(spec, &p) < 0) {
		errno = EINVAL;
		fail(EXIT_TOOL, "read the plan");
	}

	// Die with the parent. The check after prctl closes the race with a
	// parent that died before it. A detached payload (ppid 0, docker exec
	// -d) is meant to outlive the parent: it runs in a session of its own
	// with stdio on /dev/null, and the process left behind in the parent's
	// pid namespace, if any, reaps it.
	if (p.ppid != 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
			fail(EXIT_TOOL, "set parent death signal");
		if (getppid() != p.ppid)
			_exit(EXIT_TOOL);
	}

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
	unsetenv(NSEXEC_ENV);

	// Each fd goes as soon as it has served, so that the process that
	// becomes visible in the target's pid namespace holds only stdio, the
	// error pipe and the payload's executable.
	struct confine confine, *c = NULL;
	if (p.confine) {
		c = &confine;
		read_confine(NSEXEC_FD_CONFINE, c);
	}
	close_unplanned(&p, c != NULL ? c->ncgroups : 0);
	if (c != NULL) {
		close(NSEXEC_FD_CONFINE);
		join_cgroups(c);
		for (int i = 0; i < c->ncgroups; i++)
			close(NSEXEC_FD_CGROUPS + i);
	}

	// A root of the session's own shows some of the host's files: they
	// are taken now, while "/" is still the host's.
	struct host_files host = {.pty = -1};
	if (p.tools && (p.ownroot || p.root))
		clone_host_files(&host, p.tty);

	// One setns through the pidfd: all namespaces or none, and the kernel
	// orders user before the others. A pidfd cannot be recycled, so this
	// joins the process the parent validated or fails with ESRCH.
	if (p.nsflags != 0 && setns(NSEXEC_FD_PIDFD, p.nsflags) < 0)
		fail(EXIT_TOOL, "join the target's namespaces");
	// Offline, the slot is empty and its number may since hold one of
	// the host files cloned above.
	if (!p.root)
		close(NSEXEC_FD_PIDFD);
	if (p.root) {
		if (!p.tools) {
			errno = EINVAL;
			fail(EXIT_TOOL, "read the plan");
		}
		offline_namespaces(&p);
	} else {
		// In a joined user namespace, as its root: files made in the
		// session's root must have an owner mapped there.
		set_credentials(&p);
	}
	// The session's root is made before the fork, out of the target's
	// sight: the mount namespace is inherited, the pid namespace is not.
	if (p.tools)
		mount_session_root(p.ownroot, p.root, &host);
	if (p.root)
		close(NSEXEC_FD_ROOT);

	// setns(CLONE_NEWPID) and unshare(CLONE_NEWPID) only decide the pid
	// namespace of our children.
	if ((p.nsflags & CLONE_NEWPID) || p.root) {
		fork_and_mirror(&p, 0, "fork into the target's pid namespace");
		// Our parent is outside our pid namespace, so getppid() says 0;
		// had it died already, we would have been reparented to the
		// target's init.
		die_with_parent(0);
	}
	if (p.ownroot || p.root)
		mount_target_proc();
	// A pid namespace of the session's own: we are its init (PID 1). The
	// payload runs as our child, not as PID 1, so that it keeps the
	// default signal dispositions (the kernel drops a signal to PID 1
	// that it has no handler for: Ctrl-C would not stop `sleep`), and
	// orphans are reaped; we relay signals to it and exit with its status.
	if (p.root) {
		fork_and_mirror(&p, 1, "fork the session's payload");
		die_with_parent(1);
		// The ids are the user's the command runs as (--user,
		// --as-target): the mounts and the procfs needed ctr-enter's.
		set_credentials(&p);
	}
	change_dir(p.cwd);
	// Tests stop here, at the payload's exec, where a process of ours is
	// as visible to the target as it gets, to see what it holds.
	if (p.stop)
		raise(SIGSTOP);
	exec_payload(&p, c, argv);
}
