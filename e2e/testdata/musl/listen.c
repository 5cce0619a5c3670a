/*
 * listen: the program of the e2e image ctr-enter-test/musl (see e2e/env.sh),
 * a target that looks like an Alpine one: built by Debian's musl-gcc,
 * dynamically linked against musl, whose loader and libc are the image's
 * /lib/ld-musl-x86_64.so.1.
 *
 *   listen PORT   accept TCP connections on 0.0.0.0:PORT (and close them)
 *                 until SIGTERM
 *   listen --maps print the files mapped into this process, one a line:
 *                 the loader and libraries it runs with, for tests that
 *                 compare them between a session and the runtime's exec
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int maps(void)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f) {
		perror("listen: open /proc/self/maps");
		return 1;
	}
	while (fgets(line, sizeof line, f)) {
		/* address perms offset dev inode path: the path starts with '/' */
		char *path = strchr(line, '/');
		if (path)
			fputs(path, stdout);
	}
	fclose(f);
	return 0;
}

static void stop(int sig)
{
	(void)sig;
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--maps") == 0)
		return maps();
	if (argc != 2) {
		fprintf(stderr, "usage: listen PORT | listen --maps\n");
		return 2;
	}
	signal(SIGTERM, stop);
	signal(SIGINT, stop);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0) {
		perror("listen");
		return 1;
	}
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c >= 0)
			close(c);
	}
}
