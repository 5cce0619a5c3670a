/*
 * pause: the sandbox (pause) container of the CRI pods e2e/env.sh makes, as Kubernetes'
 * registry.k8s.io/pause does it: it holds the pod's namespaces open and, as PID 1 of a pod
 * that shares one pid namespace, reaps the orphans the pod's containers leave. SIGTERM and
 * SIGINT end it (CRI's StopPodSandbox).
 * Built static (musl-gcc -static): the image holds this one file.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) { _exit(sig == SIGTERM || sig == SIGINT ? 0 : 1); }

static void reap(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	struct sigaction sa = {0};

	sa.sa_handler = quit;
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return 1;
	sa.sa_handler = reap;
	sa.sa_flags = SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		return 2;
	for (;;)
		pause();
}
