// The launcher: how a session's tools run, whatever libraries the target
// has. It runs as the same ELF constructor as nsexec.c, in ctr-enter's own
// binary shown read-only in the session at /.ctr-enter/ctr-enter, and
// returns at once unless it was executed through one of the links in
// /.ctr-enter/bin (one per program of the tools, all pointing at it).
//
// A dynamically linked program names its loader by absolute path
// (PT_INTERP: /lib64/ld-linux-x86-64.so.2, /lib/ld-musl-x86_64.so.1), and
// the loader looks for libraries in /lib and /usr/lib. In a session those
// are the target's: its own glibc of another version, musl, or nothing. So
// the launcher runs the tool through the tools' own loader, as a command,
// with the tools' own library directories (those of their ld.so.conf, or
// musl's path file, found on the host when the links were made):
//
//   /.ctr-enter/root/lib64/ld-linux-x86-64.so.2 --inhibit-cache
//       --library-path /.ctr-enter/root/lib/x86_64-linux-gnu:...
//       --argv0 ss /.ctr-enter/root/usr/bin/ss ARGS...
//
// --library-path applies to this process only, unlike LD_LIBRARY_PATH: the
// target's programs the tool runs in turn (a shell running the target's
// ls) keep the target's libraries, and another tool it runs goes through
// its own link on PATH again. --inhibit-cache keeps glibc's loader away
// from the target's /etc/ld.so.cache. Static programs are executed as they
// are; a script whose interpreter the tools have gets the tools'.
//
// Everything it reads is the tools' (read-only, chosen by the operator) or
// ours; nothing of the target's decides which file runs.
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nsexec.h"

#define DIR_ "/" NSEXEC_TOOLS_DIR "/"
#define LAUNCHER DIR_ NSEXEC_LAUNCHER
#define ROOT DIR_ NSEXEC_TOOLS_ROOT

static const char *tool = "ctr-enter";

static void __attribute__((noreturn)) die(int code, const char *what, const char *path)
{
	fprintf(stderr, "ctr-enter: %s: %s %s: %s\n", tool, what, path, strerror(errno));
	_exit(code);
}

// launched_name says whether we were executed through a link to the
// launcher, and under which name: AT_EXECFN is the path execve was given
// (PATH's /.ctr-enter/bin/ss), followed link by link to ours.
static int launched_name(char *name, size_t size)
{
	const char *fn = (const char *)getauxval(AT_EXECFN);
	char cur[PATH_MAX], link[PATH_MAX];
	if (fn == NULL || strlen(fn) >= sizeof(cur))
		return 0;
	strcpy(cur, fn);
	for (int hop = 0; hop < 8; hop++) {
		ssize_t n = readlink(cur, link, sizeof(link) - 1);
		if (n < 0)
			return 0;
		link[n] = '\0';
		const char *base = strrchr(cur, '/');
		base = base ? base + 1 : cur;
		if (strcmp(link, LAUNCHER) == 0)
			return snprintf(name, size, "%s", base) < (int)size;
		if (link[0] != '/') {
			// Relative to the link's directory.
			size_t dir = base - cur;
			if (dir + strlen(link) >= sizeof(cur))
				return 0;
			memmove(cur + dir, link, strlen(link) + 1);
		} else {
			strcpy(cur, link);
		}
	}
	return 0;
}

// in_tools resolves path as the tools see it (/ is their root) to the path
// of the same file in the session, following links inside the tools:
// an absolute link (Debian's /lib64/ld-linux-x86-64.so.2 ->
// /lib/x86_64-linux-gnu/...) would otherwise name the target's file.
static int in_tools(const char *path, char out[PATH_MAX])
{
	char todo[PATH_MAX], link[PATH_MAX], done[PATH_MAX] = "";
	if (snprintf(todo, sizeof(todo), "%s", path) >= (int)sizeof(todo))
		return errno = ENAMETOOLONG, -1;
	for (int hops = 0; todo[0] != '\0';) {
		char *c = todo + strspn(todo, "/");
		size_t len = strcspn(c, "/");
		char comp[NAME_MAX + 1];
		if (len > NAME_MAX)
			return errno = ENAMETOOLONG, -1;
		memcpy(comp, c, len);
		comp[len] = '\0';
		memmove(todo, c + len, strlen(c + len) + 1);
		if (len == 0 || strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *slash = strrchr(done, '/');
			*(slash ? slash : done) = '\0';
			continue;
		}
		char here[PATH_MAX];
		if (snprintf(here, sizeof(here), "%s%s/%s", ROOT, done, comp) >= (int)sizeof(here))
			return errno = ENAMETOOLONG, -1;
		ssize_t n = readlink(here, link, sizeof(link) - 1);
		if (n < 0 && errno == EINVAL) { // not a link: a canonical component
			strcpy(done, here + strlen(ROOT));
			continue;
		}
		if (n < 0)
			return -1;
		if (++hops > 40)
			return errno = ELOOP, -1;
		link[n] = '\0';
		if (link[0] == '/')
			done[0] = '\0';
		char rest[PATH_MAX];
		if (snprintf(rest, sizeof(rest), "%s/%s", link, todo) >= (int)sizeof(rest))
			return errno = ENAMETOOLONG, -1;
		strcpy(todo, rest);
	}
	if (snprintf(out, PATH_MAX, "%s%s", ROOT, done) >= PATH_MAX)
		return errno = ENAMETOOLONG, -1;
	return access(out, F_OK);
}

// read_link reads the link DIR/NAME of the launchers' view into out.
static int read_link(const char *dir, const char *name, char out[PATH_MAX])
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), DIR_ "%s/%s", dir, name);
	ssize_t n = readlink(path, out, PATH_MAX - 1);
	if (n < 0)
		return -1;
	out[n] = '\0';
	return 0;
}

// How the kernel would run a file: as it is, through the ELF loader it
// names (PT_INTERP), or through a script's interpreter (#!).
enum kind { DIRECT, LOADED, SCRIPT };

// interpreter reads what runs the file at path: its loader, or its script
// interpreter with the optional argument in arg, as the tools see them.
static enum kind interpreter(const char *path, char interp[PATH_MAX], char arg[PATH_MAX])
{
	enum kind k = DIRECT;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(NSEXEC_EXIT_CANNOT_EXEC, "open", path);
	char head[256];
	ssize_t n = pread(fd, head, sizeof(head) - 1, 0);
	if (n < 0)
		die(NSEXEC_EXIT_CANNOT_EXEC, "read", path);
	head[n] = '\0';
	if (n > 2 && head[0] == '#' && head[1] == '!') {
		char *s = head + 2 + strspn(head + 2, " \t");
		size_t len = strcspn(s, " \t\n");
		if (len > 0 && s[0] == '/') {
			k = SCRIPT;
			memcpy(interp, s, len);
			interp[len] = '\0';
			s += len + strspn(s + len, " \t");
			len = strcspn(s, "\n");
			while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
				len--;
			memcpy(arg, s, len);
			arg[len] = '\0';
		}
	} else if (n >= (ssize_t)sizeof(Elf64_Ehdr) && memcmp(head, ELFMAG, SELFMAG) == 0 && head[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;
		memcpy(&eh, head, sizeof(eh));
		for (int i = 0; i < eh.e_phnum && i < 256 && k == DIRECT; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof(ph), eh.e_phoff + (off_t)i * eh.e_phentsize) != sizeof(ph))
				break;
			if (ph.p_type != PT_INTERP)
				continue;
			if (ph.p_filesz < 2 || ph.p_filesz >= PATH_MAX ||
			    pread(fd, interp, ph.p_filesz, ph.p_offset) != (ssize_t)ph.p_filesz)
				die(NSEXEC_EXIT_CANNOT_EXEC, "read the loader's name from", path);
			interp[ph.p_filesz] = '\0';
			if (interp[0] == '/')
				k = LOADED;
		}
	}
	close(fd);
	return k;
}

// exec_with_loader runs the program at path through the tools' loader,
// as the links made with the launchers describe it: loaders/BASE holds
// the options this loader knows (a: --argv0, i: --inhibit-cache) and
// the tools' library directories, "ai /.ctr-enter/root/usr/lib/...:...".
// Read on the host when the links were made: working it out here, for
// each program a session runs, cost about 2 ms.
static void __attribute__((noreturn)) exec_with_loader(const char *loader, const char *interp, const char *path, char **argv)
{
	static char spec[PATH_MAX];
	char *libs;
	if (read_link(NSEXEC_TOOLS_LOADERS, strrchr(interp, '/') + 1, spec) < 0 || (libs = strchr(spec, ' ')) == NULL)
		die(NSEXEC_EXIT_CANNOT_EXEC, "look up the loader of", path);
	*libs++ = '\0';

	int argc = 0;
	while (argv[argc] != NULL)
		argc++;
	char **args = calloc(argc + 9, sizeof(char *));
	if (args == NULL)
		die(NSEXEC_EXIT_CANNOT_EXEC, "allocate arguments for", path);
	int i = 0;
	args[i++] = (char *)loader;
	if (strchr(spec, 'i') != NULL)
		args[i++] = "--inhibit-cache";
	args[i++] = "--library-path";
	args[i++] = libs;
	if (strchr(spec, 'a') != NULL) {
		args[i++] = "--argv0";
		args[i++] = argv[0];
	}
	args[i++] = (char *)path;
	for (int j = 1; j < argc; j++)
		args[i++] = argv[j];
	// The session's environment is the target's: its LD_PRELOAD and
	// LD_AUDIT name the target's libraries (its jemalloc, or anything a
	// hostile target likes), which the tools' loader would load into a
	// tool that holds ctr-enter's privileges. LD_LIBRARY_PATH stays: the
	// loader takes --library-path instead, and the target's programs a
	// tool starts still get it.
	unsetenv("LD_PRELOAD");
	unsetenv("LD_AUDIT");
	execv(loader, args);
	die(NSEXEC_EXIT_CANNOT_EXEC, "execute", loader);
}

// loader_of is what to execute as the loader of the tools' program path,
// whose PT_INTERP is interp: ld/NAME when NAME is that program, so that
// the process is named NAME as the kernel names it after the path it
// executes, else the loader itself.
static int loader_of(const char *path, const char *interp, char out[PATH_MAX])
{
	char which[PATH_MAX];
	const char *name = strrchr(path, '/') + 1;
	if (read_link(NSEXEC_TOOLS_WHICH, name, which) == 0 && strcmp(which, path) == 0 &&
	    read_link(NSEXEC_TOOLS_LD, name, out) == 0) {
		snprintf(out, PATH_MAX, DIR_ NSEXEC_TOOLS_LD "/%s", name);
		return 0;
	}
	return in_tools(interp, out);
}

void ctr_enter_launch(int argc, char **argv, char **envp)
{
	(void)envp;
	static char name[NAME_MAX + 1];
	if (argc < 1 || !launched_name(name, sizeof(name)))
		return;
	tool = name;

	char path[PATH_MAX], interp[PATH_MAX], arg[PATH_MAX], file[PATH_MAX];
	char **args = argv;
	// Resolved when the links were made: ctr-enter's own tools' links
	// may go through the host's /etc/alternatives, which the session
	// does not have.
	if (read_link(NSEXEC_TOOLS_WHICH, name, path) < 0)
		die(NSEXEC_EXIT_NOT_FOUND, "look up", "among the tools");
	enum kind k = interpreter(path, interp, arg);
	if (k == SCRIPT && in_tools(interp, file) == 0) {
		// A script of the tools': their interpreter runs it, with argv
		// as the kernel would make it. Otherwise the kernel runs it
		// with the session's.
		args = calloc(argc + 3, sizeof(char *));
		if (args == NULL)
			die(NSEXEC_EXIT_CANNOT_EXEC, "allocate arguments for", path);
		int i = 0;
		args[i++] = interp;
		if (arg[0] != '\0')
			args[i++] = arg;
		args[i++] = path;
		for (int j = 1; j < argc; j++)
			args[i++] = argv[j];
		strcpy(path, file);
		k = interpreter(path, interp, arg);
	}
	if (k == LOADED && loader_of(path, interp, file) == 0)
		exec_with_loader(file, interp, path, args);
	if (args == argv) {
		// Through which/NAME, so that the process is named NAME (a
		// busybox applet would otherwise be "busybox").
		snprintf(file, sizeof(file), DIR_ NSEXEC_TOOLS_WHICH "/%s", name);
		execv(file, args);
	}
	execv(path, args);
	die(errno == ENOENT ? NSEXEC_EXIT_NOT_FOUND : NSEXEC_EXIT_CANNOT_EXEC, "execute", path);
}
