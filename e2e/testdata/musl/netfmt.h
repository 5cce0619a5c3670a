/* libnetfmt: formats /proc/net/tcp addresses, a shared library of the e2e
 * musl tool image so that its ss needs a library the loader alone does not
 * bring (found through the tools' library path, not the target's). */
#ifndef NETFMT_H
#define NETFMT_H
#include <stddef.h>
/* netfmt_addr writes "A.B.C.D:PORT" or "[v6]:PORT" for the hex address and
 * port of a /proc/net/tcp{,6} line; 0 on success, -1 if it is not one. */
int netfmt_addr(const char *hexaddr, const char *hexport, char *out, size_t n);
#endif
