// Node mounts: how ctr-enter, run by kubectl ctr-enter in a short-lived
// debugger pod, sees the node's containerd socket, its own directories and
// the node's cgroups without the pod having a single volume.
//
// A pod with volumes waits for the kubelet's volume manager before its
// sandbox is made (a poll of 300 ms, behind loops of 100 ms), which cost
// the debugger pod most of a second of its start here. The debugger is
// privileged and in the host's PID namespace, so the node's mount
// namespace is at hand: that of our parent, the runtime that executed us
// (runc, or the shim it leaves us to), which runs in the node's. With
// CTR_ENTER_NODE_MOUNTS set (the debugger pod's spec sets it for every
// process executed in it), this step, in the constructor before the Go
// runtime starts (a mount namespace can only be joined or unshared for the
// whole process while it has one thread):
//
//   1. joins the node's mount namespace and takes a detached copy of each
//      path asked for (open_tree: a bind mount can only be made of a mount
//      of one's own namespace, and a detached copy can be attached in
//      another);
//   2. returns to the container's mount namespace, unshares a private one,
//      and attaches each copy where ctr-enter looks for it.
//
//   CTR_ENTER_NODE_MOUNTS=/run/k3s/containerd/containerd.sock=/run/containerd/containerd.sock,/run/ctr-enter,/sys/fs/cgroup
//
// NODE_PATH=PATH shows the node's NODE_PATH at PATH, and must exist on the
// node; a lone PATH is a directory at the same path on both sides, made on
// the node where it is missing (as a hostPath volume of type
// DirectoryOrCreate). PATH? is one at the same path on both sides that is
// shown where the node has it and left out where not: the roots a stopped
// container's files are under (containerd's, the kubelet's), which a
// session into a running one does without, on nodes that keep them
// elsewhere. The mounts are seen by nothing else and go when this
// process and its children do. The variable is removed from the
// environment before Go reads it, so that no command of the session
// inherits it.
//
// Nothing here raises a privilege: joining and unsharing mount namespaces
// need CAP_SYS_ADMIN already, and opening the parent's namespace the right
// to ptrace it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mountapi.h"
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nsexec.h"

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

#define MAX_NODE_MOUNTS 16

static void __attribute__((noreturn)) node_fail(const char *what, const char *path)
{
	int saved = errno;
	fprintf(stderr, "ctr-enter: node mounts (%s): %s %s: %s\n", NODE_MOUNTS_ENV, what, path, strerror(saved));
	_exit(NSEXEC_EXIT_TOOL);
}

// mkdirs makes path and its missing parents, as mkdir -p.
static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int err = mkdir(path, 0755);
		*p = '/';
		if (err < 0 && errno != EEXIST)
			return -1;
	}
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

// parent_mnt_ns opens the mount namespace of our parent. The parent may
// be exiting (runc leaves us to the shim): between the release of its
// namespaces and our reparenting, its ns/mnt is gone while getppid() still
// names it, so a failure is tried again, for up to a second, until the
// parent has changed. The namespace is taken only from a process that is
// still our parent after it was opened, never from one that reused its
// PID.
static int parent_mnt_ns(void)
{
	for (int tries = 0;; tries++) {
		pid_t ppid = getppid();
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)ppid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && getppid() == ppid)
			return fd;
		int saved = errno;
		if (fd >= 0)
			close(fd);
		else if (tries == 1000) {
			errno = saved;
			node_fail("open the node's mount namespace,", path);
		}
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
}

struct node_mount {
	char *node_path, *path;
	int create;   // a directory, made where missing
	int optional; // left out where missing
	int tree;     // the detached copy, -1 for one left out
	int dir;      // whether it is a directory
};

void ctr_enter_node_mounts(void)
{
	const char *env = getenv(NODE_MOUNTS_ENV);
	if (env == NULL)
		return;
	static char spec[4096];
	if (strlen(env) >= sizeof(spec)) {
		errno = ENAMETOOLONG;
		node_fail("read", NODE_MOUNTS_ENV);
	}
	strcpy(spec, env);
	// Before anything could inherit it: edits environ in place, which is
	// what Go reads.
	unsetenv(NODE_MOUNTS_ENV);

	struct node_mount m[MAX_NODE_MOUNTS];
	int n = 0;
	char *save = NULL;
	for (char *e = strtok_r(spec, ",", &save); e != NULL; e = strtok_r(NULL, ",", &save)) {
		if (n == MAX_NODE_MOUNTS) {
			errno = E2BIG;
			node_fail("read", NODE_MOUNTS_ENV);
		}
		size_t len = strlen(e);
		int optional = len > 0 && e[len - 1] == '?';
		if (optional)
			e[len - 1] = '\0';
		char *to = strchr(e, '=');
		if (to != NULL)
			*to++ = '\0';
		m[n] = (struct node_mount){.node_path = e, .path = to ? to : e, .create = to == NULL && !optional, .optional = optional};
		if (m[n].node_path[0] != '/' || m[n].path[0] != '/') {
			errno = EINVAL;
			node_fail("want absolute paths, not", e);
		}
		n++;
	}

	int own = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (own < 0 || cwd < 0)
		node_fail("open", "our own mount namespace");
	int node = parent_mnt_ns();
	if (setns(node, CLONE_NEWNS) < 0)
		node_fail("join", "the node's mount namespace");
	for (int i = 0; i < n; i++) {
		struct stat st;
		if (m[i].create && mkdirs(m[i].node_path) < 0)
			node_fail("make the node's", m[i].node_path);
		m[i].tree = open_tree(AT_FDCWD, m[i].node_path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (m[i].tree < 0 && errno == ENOENT && m[i].optional)
			continue;
		if (m[i].tree < 0 || fstat(m[i].tree, &st) < 0)
			node_fail("copy the node's", m[i].node_path);
		m[i].dir = S_ISDIR(st.st_mode);
	}
	if (setns(own, CLONE_NEWNS) < 0 || fchdir(cwd) < 0)
		node_fail("return to", "our own mount namespace");
	close(node);
	close(own);
	close(cwd);

	if (unshare(CLONE_NEWNS) < 0)
		node_fail("unshare", "a mount namespace");
	// Ours alone: nothing attached here reaches the container's
	// namespace, nor the node's through a shared mount.
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		node_fail("make private", "/");
	for (int i = 0; i < n; i++) {
		static char parent[PATH_MAX];
		int fd;
		if (m[i].tree < 0)
			continue;
		if (m[i].dir) {
			if (mkdirs(m[i].path) < 0)
				node_fail("make the mount point", m[i].path);
		} else {
			// A file's mount point is a file (the socket's).
			snprintf(parent, sizeof(parent), "%s", m[i].path);
			*strrchr(parent, '/') = '\0';
			if ((parent[0] != '\0' && mkdirs(parent) < 0) ||
			    (fd = open(m[i].path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0)
				node_fail("make the mount point", m[i].path);
			close(fd);
		}
		if (move_mount(m[i].tree, "", AT_FDCWD, m[i].path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			node_fail("mount the node's", m[i].node_path);
		close(m[i].tree);
	}
}
