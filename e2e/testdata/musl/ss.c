/*
 * ss: the `ss -tln` of the e2e musl tool image (see e2e/env.sh); Debian has
 * no musl-linked iproute2. It lists the listening TCP sockets of its network
 * namespace from /proc/net/tcp and /proc/net/tcp6, in ss's columns, and
 * takes only the options -t, -l and -n (it never resolves names). Linked
 * against musl and libnetfmt.so, which only the tools' library path holds.
 */
#include <stdio.h>
#include <string.h>

#include "netfmt.h"

static void list(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");
	if (!f)
		return; /* no IPv6 */
	fgets(line, sizeof line, f); /* the header */
	while (fgets(line, sizeof line, f)) {
		char laddr[64], lport[8], raddr[64], rport[8], local[80], peer[80];
		unsigned int state, txq, rxq;
		if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%7[0-9A-Fa-f] %63[0-9A-Fa-f]:%7[0-9A-Fa-f] %x %x:%x",
			   laddr, lport, raddr, rport, &state, &txq, &rxq) != 7)
			continue;
		if (state != 0x0A) /* TCP_LISTEN */
			continue;
		if (netfmt_addr(laddr, lport, local, sizeof local) < 0 ||
		    netfmt_addr(raddr, "0", peer, sizeof peer) < 0)
			continue;
		/* A listener's peer port is "*" in ss's output. */
		peer[strlen(peer) - 1] = '*';
		printf("%-6s %-6u %-6u %-40s %s\n", "LISTEN", rxq, 0u, local, peer);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-' || strspn(argv[i] + 1, "tln") != strlen(argv[i] + 1)) {
			fprintf(stderr, "ss: only -t, -l and -n are known (got %s)\n", argv[i]);
			return 2;
		}
	}
	printf("%-6s %-6s %-6s %-40s %s\n", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port");
	list("/proc/net/tcp");
	list("/proc/net/tcp6");
	return 0;
}
