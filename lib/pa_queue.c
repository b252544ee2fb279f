/*
 * How many connections wait in a listener's accept queue.  For TCP the
 * kernel reports it in TCP_INFO (tcpi_unacked on a listener); for unix
 * sockets only sock_diag has it (UNIX_DIAG_RQLEN).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"

static long
unix_queue_len(int fd)
{
	static int nl = -1;
	struct {
		struct nlmsghdr		nh;
		struct unix_diag_req	req;
	} q;
	union {
		struct nlmsghdr	nh;
		char		buf[1024];
	} a;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct unix_diag_msg *m;
	struct unix_diag_rqlen *rq;
	struct rtattr *at;
	struct stat st;
	ssize_t n;
	int alen;

	if (fstat(fd, &st) == -1)
		return -1;
	if (nl == -1 && (nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1)
		return -1;
	memset(&q, 0, sizeof(q));
	q.nh.nlmsg_len = sizeof(q);
	q.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nh.nlmsg_flags = NLM_F_REQUEST;
	q.req.sdiag_family = AF_UNIX;
	q.req.udiag_states = ~0u;
	q.req.udiag_ino = (uint32_t)st.st_ino;
	q.req.udiag_show = UDIAG_SHOW_RQLEN;
	q.req.udiag_cookie[0] = ~0u;
	q.req.udiag_cookie[1] = ~0u;
	if (sendto(nl, &q, sizeof(q), 0, (struct sockaddr *)&sa,
	    sizeof(sa)) == -1)
		return -1;
	if ((n = recv(nl, &a, sizeof(a), 0)) == -1)
		return -1;
	if (!NLMSG_OK(&a.nh, (size_t)n) || a.nh.nlmsg_type != SOCK_DIAG_BY_FAMILY) {
		errno = ENOENT;
		return -1;
	}
	m = NLMSG_DATA(&a.nh);
	alen = (int)(a.nh.nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	for (at = (struct rtattr *)(m + 1); RTA_OK(at, alen);
	    at = RTA_NEXT(at, alen)) {
		if (at->rta_type == UNIX_DIAG_RQLEN &&
		    RTA_PAYLOAD(at) >= sizeof(*rq)) {
			rq = RTA_DATA(at);
			return (long)rq->udiag_rqueue;
		}
	}
	errno = ENOENT;
	return -1;
}

long
pa_queue_len(int fd, int domain)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (domain == AF_UNIX)
		return unix_queue_len(fd);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return -1;
	return (long)ti.tcpi_unacked;
}
