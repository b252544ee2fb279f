/*
 * listen.h: what the bare reference servers of the benchmarks
 * (prefork.c, inproc-accept.c) share: the listening socket, and the start
 * of each pre-forked child.  Header-only: each tool is one file.
 */
#ifndef BENCH_LISTEN_H
#define BENCH_LISTEN_H

#include <sys/prctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Listen on IPv4 host:port (port 0: any) with backlog, TCP_DEFER_ACCEPT
 * of defer seconds if not 0; the port bound in *bound.  Exits 100 on a
 * bad address, 111 on a failed call.
 */
static inline int
bench_listen(const char *host, const char *port, int backlog, int defer,
    uint16_t *bound)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	const char *errstr;
	long long p;
	int lfd, one = 1;

	p = strtonum(port, 0, 65535, &errstr);
	if (errstr != NULL)
		errx(100, "port %s: %s", port, errstr);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)p);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		errx(100, "%s: not an IPv4 address", host);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(111, "socket");
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		err(111, "setsockopt SO_REUSEADDR");
	if (defer > 0 && setsockopt(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT,
	    &defer, sizeof(defer)) == -1)
		err(111, "setsockopt TCP_DEFER_ACCEPT");
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(111, "bind %s:%s", host, port);
	if (listen(lfd, backlog) == -1)
		err(111, "listen");
	if (getsockname(lfd, (struct sockaddr *)&sin, &len) == -1)
		err(111, "getsockname");
	*bound = ntohs(sin.sin_port);
	return lfd;
}

/* In a pre-forked child: die with the parent (ppid), even if already. */
static inline void
bench_child(pid_t ppid)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		err(111, "prctl");
	if (getppid() != ppid)
		_exit(0);
}

#endif
