/*
 * sh: the shell of the e2e musl tool image (see e2e/env.sh). Debian has no
 * musl-linked shell, and the image must have one that is dynamically linked
 * against musl: a shell that starts the image's other tools by name, through
 * PATH, is what the tests need of it. It runs `sh -c 'LINE'`, or each line
 * of its standard input; a line is commands separated by ';' or '&&', each
 * words separated by blanks, quoted with '...' or "..." (no expansion).
 * Builtins: exit [N], cd DIR. Anything else is execvp'd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXWORDS 128

static int status;

static int runcmd(char **argv)
{
	if (!argv[0])
		return status;
	if (strcmp(argv[0], "exit") == 0)
		exit(argv[1] ? atoi(argv[1]) : status);
	if (strcmp(argv[0], "cd") == 0) {
		if (chdir(argv[1] ? argv[1] : "/") < 0) {
			fprintf(stderr, "sh: cd: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		return 0;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("sh: fork");
		return 126;
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "sh: %s: %s\n", argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 126;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* runline splits s into words (copied to a buffer of their own) and runs
 * each command. */
static void runline(const char *s)
{
	char *argv[MAXWORDS + 1];
	char *buf = malloc(2 * strlen(s) + 2), *out = buf;
	int n = 0, skip = 0;
	if (!buf) {
		perror("sh");
		exit(126);
	}
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		int end = !*s, and = s[0] == '&' && s[1] == '&';
		if (end || *s == ';' || and) {
			argv[n] = NULL;
			if (!skip)
				status = runcmd(argv);
			if (end)
				break;
			skip = and && status != 0;
			s += and ? 2 : 1;
			n = 0;
			continue;
		}
		if (n < MAXWORDS)
			argv[n++] = out;
		while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != ';' && !(s[0] == '&' && s[1] == '&')) {
			if (*s == '\'' || *s == '"') {
				char q = *s++;
				while (*s && *s != q)
					*out++ = *s++;
				if (*s)
					s++;
			} else {
				*out++ = *s++;
			}
		}
		*out++ = 0;
	}
	free(buf);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "-c") == 0) {
		runline(argv[2]);
		return status;
	}
	char line[4096];
	while (fgets(line, sizeof line, stdin))
		runline(line);
	return status;
}
