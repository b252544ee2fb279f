/*
 * The PROXY protocol in pa-handler.  With -P each connection must begin
 * with a v1 or v2 header (HAProxy's proxy-protocol.txt); it is read
 * exactly, within the -w time limit (3 s by default), so prog's stdin
 * starts at the client's first byte, and prog's UCSPI variables describe
 * the client and the address it reached.  With -p, only TCP peers inside
 * the given networks may send one: a connection from any other address
 * is dropped unread (unix peers are not restricted).  A partial,
 * malformed or late header drops the connection.  Drops are counted by
 * cause in this process and logged at most once a second, with the
 * number dropped since the line before.
 */
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"
#include "proxy.h"

#define NETS_MAX	64
#define LOG_NS		1000000000ull	/* one line a second at most */

int			 proxyflag;
static int		 timeout_ms = 3000;
static int		 timeout_set;
static struct pa_proxy_net nets[NETS_MAX];
static size_t		 nnets;
static uint64_t		 dropped;	/* since the last log line */
static uint64_t		 dropped_all;
static uint64_t		 last_log_ns;

void
proxy_allow(const char *arg)
{
	if (nnets == NETS_MAX)
		errx(100, "-p %s: more than %d networks", arg, NETS_MAX);
	if (pa_proxy_net_parse(arg, &nets[nnets]) == -1)
		errx(100, "-p %s: not an address nor ADDRESS/BITS", arg);
	nnets++;
}

void
proxy_timeout(const char *arg)
{
	const char *errstr;

	timeout_ms = (int)strtonum(arg, 1, 3600, &errstr) * 1000;
	if (errstr != NULL)
		errx(100, "-w %s: %s", arg, errstr);
	timeout_set = 1;
}

void
proxy_check(void)
{
	if (!proxyflag && nnets > 0)
		errx(100, "-p needs -P");
	if (!proxyflag && timeout_set)
		errx(100, "-w needs -P");
}

/* One write(2) per line: the handlers of a pool share one stderr. */
static void
drop(const char *peer, const char *why, int verbose)
{
	uint64_t now, last, n;
	char buf[512];
	int len;

	PA_INC(&dropped_all);
	PA_INC(&dropped);
	if (verbose < 1)
		return;
	now = pa_now_ns();
	last = PA_LOAD(&last_log_ns);
	if (last != 0 && now - last < LOG_NS)
		return;
	if (!__atomic_compare_exchange_n(&last_log_ns, &last, now, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	n = __atomic_exchange_n(&dropped, 0, __ATOMIC_ACQ_REL);
	len = snprintf(buf, sizeof(buf), "%s: proxy: dropped %s: %s "
	    "(%llu dropped since the last line, %llu in all)\n",
	    getprogname(), peer, why, (unsigned long long)n,
	    (unsigned long long)PA_LOAD(&dropped_all));
	if (len > 0 && write(2, buf, (size_t)len < sizeof(buf) ?
	    (size_t)len : sizeof(buf) - 1) == -1) {
		/* Nowhere left to say it. */
	}
}

int
proxy_take(struct pa_ucspi *u, int fd, const struct sockaddr *peer,
    int verbose)
{
	uint8_t buf[PA_PROXY_MAX];
	struct pa_proxy p;
	enum pa_proxy_err e;
	char why[128];

	if (nnets > 0 && u->domain != AF_UNIX &&
	    !pa_proxy_net_match(nets, nnets, peer)) {
		drop(u->peer, "peer not allowed to send a PROXY header",
		    verbose);
		return -1;
	}
	e = pa_proxy_read(fd, timeout_ms, buf, sizeof(buf), &p);
	if (e != PA_PROXY_OK) {
		if (e == PA_PROXY_ERRNO)
			snprintf(why, sizeof(why), "%s: %s", pa_proxy_str(e),
			    strerror(errno));
		else
			strlcpy(why, pa_proxy_str(e), sizeof(why));
		drop(u->peer, why, verbose);
		return -1;
	}
	if (pa_proxy_ucspi(u, fd, &p) == -1) {
		drop(u->peer, "addresses of the header unusable", verbose);
		return -1;
	}
	return 0;
}
