/*
 * Fuzz the address operand parser, pa_addr_parse(), and the formatter,
 * pa_addr_format(): the first byte picks the family restriction, the
 * rest is the operand.  Host names are never resolved here: getaddrinfo
 * is wrapped to add AI_NUMERICHOST, so a name fails as an unknown host
 * at once and no query leaves the machine.  Service names for the port
 * are still looked up, in the local services(5) file.
 *
 * Also formats the raw bytes as a socket address of any family and
 * length.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netdb.h>

#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pa.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

typedef int gai_fn(const char *, const char *, const struct addrinfo *,
    struct addrinfo **);

int
getaddrinfo(const char *host, const char *serv, const struct addrinfo *hints,
    struct addrinfo **res)
{
	static gai_fn *real;
	struct addrinfo h;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	if (hints != NULL)
		h = *hints;
	else {
		memset(&h, 0, sizeof(h));
		h.ai_family = AF_UNSPEC;
	}
	if (host != NULL)
		h.ai_flags |= AI_NUMERICHOST;
	return real(host, serv, &h, res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss;
	struct pa_addr a;
	enum pa_addr_err e;
	char op[1024], buf[256];
	size_t n;

	if (size < 1 || size > sizeof(op))
		return 0;
	memcpy(op, data + 1, size - 1);
	op[size - 1] = '\0';
	e = pa_addr_parse(op, (enum pa_addr_family)(data[0] % 3), &a);
	if (pa_addr_str(e) == NULL)
		abort();
	if (e == PA_ADDR_OK) {
		if (a.sslen == 0 || a.sslen > sizeof(a.ss) ||
		    memchr(a.text, '\0', sizeof(a.text)) == NULL)
			abort();
		if (a.kind == PA_ADDR_TCP && a.ss.ss_family != AF_INET &&
		    a.ss.ss_family != AF_INET6)
			abort();
		if (a.kind == PA_ADDR_UNIX && a.ss.ss_family != AF_UNIX)
			abort();
		if (pa_addr_format((struct sockaddr *)&a.ss, a.sslen, buf,
		    sizeof(buf)) == 0 && memchr(buf, '\0', sizeof(buf)) == NULL)
			abort();
	}

	/* The raw bytes as a socket address, into a buffer of any size. */
	memset(&ss, 0, sizeof(ss));
	n = size - 1 < sizeof(ss) ? size - 1 : sizeof(ss);
	memcpy(&ss, data + 1, n);
	if (pa_addr_format((struct sockaddr *)&ss, (socklen_t)n, buf,
	    (size_t)data[0] % sizeof(buf)) == 0 &&
	    memchr(buf, '\0', sizeof(buf)) == NULL)
		abort();
	return 0;
}
