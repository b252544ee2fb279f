/*
 * Fuzz the PROXY protocol header parser, pa_proxy_parse(), on the bytes
 * a load balancer (or anyone who can connect) sends first; the header
 * reader pa_proxy_read() on the same bytes through a socket pair, closed
 * after them; and the peer network parser and matcher (pa-handler -p).
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static unsigned char rbuf[PA_PROXY_MAX];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pa_proxy p, q;
	struct pa_proxy_net nets[2];
	enum pa_proxy_err e, f;
	char text[256];
	ssize_t w;
	int sv[2];

	memset(&p, 0, sizeof(p));
	e = pa_proxy_parse(data, size, &p);
	if (pa_proxy_str(e) == NULL)
		abort();
	if (e == PA_PROXY_OK) {
		if (p.len > size || p.len == 0 ||
		    (p.version != 1 && p.version != 2))
			abort();
		if (!p.local) {
			if (p.srclen > sizeof(p.src) || p.dstlen > sizeof(p.dst))
				abort();
			(void)pa_addr_format((struct sockaddr *)&p.src,
			    p.srclen, text, sizeof(text));
			(void)pa_addr_format((struct sockaddr *)&p.dst,
			    p.dstlen, text, sizeof(text));
		}
	}

	/* The same bytes from a connection that then closes. */
	if (size <= 65536 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
	    0, sv) == 0) {
		int sz = 1 << 20;

		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		w = size > 0 ? write(sv[0], data, size) : 0;
		close(sv[0]);
		if (w == (ssize_t)size) {
			memset(&q, 0, sizeof(q));
			f = pa_proxy_read(sv[1], 100, rbuf, sizeof(rbuf), &q);
			if (pa_proxy_str(f) == NULL)
				abort();
			/* A whole header read is the header parsed. */
			if (f == PA_PROXY_OK && (e != PA_PROXY_OK ||
			    q.len != p.len))
				abort();
		}
		close(sv[1]);
	}

	/* The bytes as a peer network, matched against the header's source. */
	if (size < sizeof(text)) {
		memcpy(text, data, size);
		text[size] = '\0';
		if (pa_proxy_net_parse(text, &nets[0]) == 0) {
			if ((nets[0].family != AF_INET &&
			    nets[0].family != AF_INET6) ||
			    nets[0].bits > (nets[0].family == AF_INET ? 32u :
			    128u))
				abort();
			nets[1] = nets[0];
			if (e == PA_PROXY_OK && !p.local && p.srclen > 0)
				(void)pa_proxy_net_match(nets, 2,
				    (struct sockaddr *)&p.src);
		}
	}
	return 0;
}
