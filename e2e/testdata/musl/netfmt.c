#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfmt.h"

int netfmt_addr(const char *hexaddr, const char *hexport, char *out, size_t n)
{
	unsigned char b[16];
	char text[INET6_ADDRSTRLEN];
	size_t len = strlen(hexaddr);
	if (len != 8 && len != 32)
		return -1;
	/* The kernel prints each 32-bit word in host byte order. */
	for (size_t w = 0; w < len / 8; w++) {
		char word[9];
		memcpy(word, hexaddr + 8 * w, 8);
		word[8] = 0;
		unsigned int v = (unsigned int)strtoul(word, NULL, 16);
		memcpy(b + 4 * w, &v, 4);
	}
	if (!inet_ntop(len == 8 ? AF_INET : AF_INET6, b, text, sizeof text))
		return -1;
	unsigned long port = strtoul(hexport, NULL, 16);
	snprintf(out, n, len == 8 ? "%s:%lu" : "[%s]:%lu", text, port);
	return 0;
}
