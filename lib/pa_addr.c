/*
 * pa_addr.c: address operands and listening sockets.
 *
 * pa_addr_parse() turns an operand (HOST:PORT, [V6]:PORT, tcp:, tcp4:,
 * tcp6:, unix:PATH, /PATH, ./PATH) into a sockaddr, resolving a name once;
 * pa_addr_format() turns a sockaddr back into text for messages and the
 * UCSPI environment.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <net/if.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pa.h"

/*
 * "a.b.c.d:port", "[v6]:port" (v4-mapped shown as plain IPv4, a scope as
 * %ifname) or the unix path ("@name" for an abstract socket, "" for an
 * unnamed one).  Returns 0, or -1 with errno EAFNOSUPPORT, EINVAL (short
 * length) or ENOSPC (buffer too small; buf then holds a truncated text).
 */
int
pa_addr_format(const struct sockaddr *sa, socklen_t salen, char *buf,
    size_t len)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_un *sun;
	char ip[INET6_ADDRSTRLEN], scope[IF_NAMESIZE + 1];
	struct in_addr v4;
	size_t plen, n;
	int r;

	if (len == 0) {
		errno = ENOSPC;
		return -1;
	}
	buf[0] = '\0';
	if (sa == NULL || salen < (socklen_t)sizeof(sa_family_t)) {
		errno = EINVAL;
		return -1;
	}
	switch (sa->sa_family) {
	case AF_INET:
		if (salen < (socklen_t)sizeof(*sin)) {
			errno = EINVAL;
			return -1;
		}
		sin = (const struct sockaddr_in *)(const void *)sa;
		if (inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip)) == NULL)
			return -1;
		r = snprintf(buf, len, "%s:%u", ip, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		if (salen < (socklen_t)sizeof(*sin6)) {
			errno = EINVAL;
			return -1;
		}
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&v4, &sin6->sin6_addr.s6_addr[12], sizeof(v4));
			if (inet_ntop(AF_INET, &v4, ip, sizeof(ip)) == NULL)
				return -1;
			r = snprintf(buf, len, "%s:%u", ip,
			    ntohs(sin6->sin6_port));
			break;
		}
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip)) ==
		    NULL)
			return -1;
		scope[0] = '\0';
		if (sin6->sin6_scope_id != 0 &&
		    if_indextoname(sin6->sin6_scope_id, scope + 1) != NULL)
			scope[0] = '%';
		else if (sin6->sin6_scope_id != 0)
			snprintf(scope, sizeof(scope), "%%%u",
			    (unsigned)sin6->sin6_scope_id);
		r = snprintf(buf, len, "[%s%s]:%u", ip, scope,
		    ntohs(sin6->sin6_port));
		break;
	case AF_UNIX:
		sun = (const struct sockaddr_un *)(const void *)sa;
		n = (size_t)salen - offsetof(struct sockaddr_un, sun_path);
		if (n > sizeof(sun->sun_path))
			n = sizeof(sun->sun_path);
		if (n == 0)
			return 0;		/* unnamed */
		if (sun->sun_path[0] == '\0') {
			/* Abstract: the name is every byte after the NUL. */
			r = snprintf(buf, len, "@%.*s", (int)(n - 1),
			    sun->sun_path + 1);
			break;
		}
		plen = strnlen(sun->sun_path, n);
		r = snprintf(buf, len, "%.*s", (int)plen, sun->sun_path);
		break;
	default:
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (r < 0)
		return -1;
	if ((size_t)r >= len) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}
