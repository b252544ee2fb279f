/*
 * load: a TCP load generator, cheap enough to share a small machine with
 * the server it measures.
 *
 * usage: load [-c conc] [-d secs] [-n count] [-r request] [-t timeout_ms]
 *             host port
 *
 * One thread and one epoll set keep conc connections in flight to
 * host:port (IPv4 or IPv6 literal).  Each connection is opened without
 * blocking, writes the request (if any), reads to end of file and closes;
 * a new one starts at once in its place.  After -d seconds (default 5), or
 * once -n connections have been started, no new one starts; those in flight
 * may finish, bounded by the timeout (-t, default 5000 ms per connection).
 * Then one line of results goes to stdout:
 *
 *   conns=N rate=R secs=S refused=N reset=N timeout=N empty=N other=N
 *   p50_us=N p90_us=N p99_us=N p999_us=N max_us=N over1s=N cpu_ms=N
 *
 * conns counts the connections that ended with end of file after at least
 * one byte of response, including those finished after the deadline
 * (empty counts end of file before any byte); rate is the number that
 * finished within the -d window divided by its length (with -n: all of them
 * over the whole run).  Latency runs from socket() to end of file, over the
 * successful connections and those that timed out (counted at the
 * timeout); over1s counts those that took a second or more (a dropped SYN
 * is retransmitted after one second).  cpu_ms is this program's own CPU
 * time.
 * Exit status: 0 when done, 100 for a usage error, 111 for a failed setup.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { C_FREE, C_CONNECTING, C_READING };
enum { E_REFUSED, E_RESET, E_TIMEOUT, E_EMPTY, E_OTHER, E_COUNT };

struct conn {
	int		c_fd;
	int		c_state;
	uint64_t	c_t0;		/* µs, monotonic */
	size_t		c_woff;		/* request bytes written */
	size_t		c_nread;	/* response bytes read */
};

static struct sockaddr_storage	ss;
static socklen_t		sslen;
static const char		*req;
static size_t			reqlen;
static struct conn		*conns;
static struct conn		**freel;	/* connections to start again */
static size_t			nfree;
static int			ep;
static uint64_t			timeout_us = 5000000;

static int			stopping;
static long long		started, count;
static unsigned long		inflight, ok, ok_window, errs[E_COUNT];
static uint32_t			*lat;
static size_t			nlat, caplat;
static uint64_t			window_end;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: load [-c conc] [-d secs] [-n count] "
	    "[-r request] [-t timeout_ms] host port\n");
	exit(100);
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int
errkind(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return E_REFUSED;
	case ECONNRESET:
	case EPIPE:
		return E_RESET;
	case ETIMEDOUT:
		return E_TIMEOUT;
	default:
		return E_OTHER;
	}
}

/* End connection c, count how it ended; the main loop starts the next. */
static void
finish(struct conn *c, int kind)
{
	uint64_t t = now_us();

	close(c->c_fd);		/* also takes it out of the epoll set */
	c->c_fd = -1;
	c->c_state = C_FREE;
	inflight--;
	if (kind >= 0)
		errs[kind]++;
	else {
		ok++;
		if (t <= window_end)
			ok_window++;
	}
	/*
	 * Latency of the connections that got their response, and of those
	 * that timed out (at the timeout: a dropped SYN must show, not
	 * vanish from the percentiles).
	 */
	if (kind < 0 || kind == E_TIMEOUT) {
		if (nlat == caplat) {
			size_t n = caplat ? caplat * 2 : 65536;
			uint32_t *p = reallocarray(lat, n, sizeof(*lat));

			if (p == NULL)
				err(111, "reallocarray");
			lat = p;
			caplat = n;
		}
		t -= c->c_t0;
		lat[nlat++] = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
	}
	freel[nfree++] = c;
}

static void
start(struct conn *c)
{
	struct epoll_event ev;

	if (count > 0 && started >= count) {
		stopping = 1;
		return;
	}
	started++;
	c->c_t0 = now_us();
	c->c_woff = 0;
	c->c_nread = 0;
	c->c_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->c_fd == -1)
		err(111, "socket");
	inflight++;
	c->c_state = C_CONNECTING;
	if (connect(c->c_fd, (struct sockaddr *)&ss, sslen) == -1 &&
	    errno != EINPROGRESS) {
		finish(c, errkind(errno));
		return;
	}
	/*
	 * Edge-triggered, both directions at once: the connect completes
	 * with an EPOLLOUT edge, the response arrives with EPOLLIN edges,
	 * and no epoll_ctl(MOD) is needed in between.
	 */
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->c_fd, &ev) == -1)
		err(111, "epoll_ctl");
}

/*
 * Read to end of file; returns without finishing on EAGAIN.  An event
 * with EPOLLRDHUP means the peer's FIN had arrived, so everything before
 * it was queued: a short read has taken it all, and the read that would
 * return 0 is saved.
 */
static void
readall(struct conn *c, uint32_t events)
{
	static char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(c->c_fd, buf, sizeof(buf));
		if (n > 0) {
			c->c_nread += (size_t)n;
			if ((size_t)n < sizeof(buf) && (events & EPOLLRDHUP)) {
				finish(c, -1);
				return;
			}
			continue;
		}
		if (n == 0) {
			/* Closed without a byte of response: not served. */
			finish(c, c->c_nread > 0 ? -1 : E_EMPTY);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			finish(c, errkind(errno));
		return;
	}
}

static void
event(struct conn *c, uint32_t events)
{
	int e;
	socklen_t elen = sizeof(e);
	ssize_t n;

	if (c->c_state == C_CONNECTING) {
		/* Without EPOLLERR the connect succeeded: no SO_ERROR call. */
		if (events & EPOLLERR) {
			if (getsockopt(c->c_fd, SOL_SOCKET, SO_ERROR, &e,
			    &elen) == -1)
				e = errno;
			if (e != 0) {
				finish(c, errkind(e));
				return;
			}
		}
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		while (c->c_woff < reqlen) {
			n = write(c->c_fd, req + c->c_woff,
			    reqlen - c->c_woff);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN)
				return;	/* the next EPOLLOUT edge resumes */
			if (n == -1) {
				finish(c, errkind(errno));
				return;
			}
			c->c_woff += (size_t)n;
		}
		c->c_state = C_READING;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		readall(c, events);
}

static int
cmp32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static uint32_t
pct(double p)
{
	size_t i;

	if (nlat == 0)
		return 0;
	i = (size_t)(p * (double)(nlat - 1) + 0.5);
	return lat[i];
}

int
main(int argc, char *argv[])
{
	struct epoll_event evs[256];
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct rlimit rl;
	struct rusage ru;
	const char *errstr;
	long long conc = 1, secs = 5, port;
	uint64_t t0, now, lastscan;
	double elapsed;
	size_t k, over1s;
	int ch, i, n, wait_ms;

	while ((ch = getopt(argc, argv, "+c:d:n:r:t:")) != -1) {
		switch (ch) {
		case 'c':
			conc = strtonum(optarg, 1, 10000, &errstr);
			if (errstr != NULL)
				errx(100, "-c %s: %s", optarg, errstr);
			break;
		case 'd':
			secs = strtonum(optarg, 1, 3600, &errstr);
			if (errstr != NULL)
				errx(100, "-d %s: %s", optarg, errstr);
			break;
		case 'n':
			count = strtonum(optarg, 1, 100000000, &errstr);
			if (errstr != NULL)
				errx(100, "-n %s: %s", optarg, errstr);
			break;
		case 'r':
			req = optarg;
			reqlen = strlen(req);
			break;
		case 't':
			timeout_us = (uint64_t)strtonum(optarg, 1, 3600000,
			    &errstr) * 1000;
			if (errstr != NULL)
				errx(100, "-t %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	port = strtonum(argv[1], 1, 65535, &errstr);
	if (errstr != NULL)
		errx(100, "port %s: %s", argv[1], errstr);
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[0], &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, argv[0], &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sslen = sizeof(*sin6);
	} else
		errx(100, "%s: not an IPv4 or IPv6 address", argv[0]);

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((conns = calloc((size_t)conc, sizeof(*conns))) == NULL ||
	    (freel = calloc((size_t)conc, sizeof(*freel))) == NULL)
		err(111, "calloc");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(111, "epoll_create1");

	t0 = lastscan = now_us();
	window_end = count > 0 ? UINT64_MAX : t0 + (uint64_t)secs * 1000000;
	for (i = 0; i < conc; i++)
		freel[nfree++] = &conns[i];
	for (;;) {
		now = now_us();
		if (!stopping && now >= window_end)
			stopping = 1;
		/*
		 * Start a connection in each free place; one that fails at
		 * once goes back on the list for the next round.
		 */
		for (k = nfree; k > 0 && !stopping; k--)
			start(freel[--nfree]);
		if (inflight == 0 && (stopping || nfree == 0))
			break;
		/* Wake up at the end of the window and to check timeouts. */
		wait_ms = nfree > 0 && !stopping ? 0 : 50;
		if (!stopping && window_end - now < 50000 && wait_ms > 0)
			wait_ms = (int)((window_end - now) / 1000) + 1;
		n = epoll_wait(ep, evs, 256, wait_ms);
		if (n == -1 && errno != EINTR)
			err(111, "epoll_wait");
		for (i = 0; i < n; i++)
			event(evs[i].data.ptr, evs[i].events);
		now = now_us();
		if (now - lastscan >= 50000) {
			lastscan = now;
			for (i = 0; i < conc; i++)
				if (conns[i].c_state != C_FREE &&
				    now - conns[i].c_t0 >= timeout_us)
					finish(&conns[i], E_TIMEOUT);
		}
	}
	now = now_us();

	qsort(lat, nlat, sizeof(*lat), cmp32);
	for (over1s = 0; over1s < nlat && lat[nlat - 1 - over1s] >= 1000000;
	    over1s++)
		continue;
	if (count > 0)
		elapsed = (double)(now - t0) / 1e6;
	else
		elapsed = (double)secs;
	getrusage(RUSAGE_SELF, &ru);
	printf("conns=%lu rate=%.1f secs=%.3f refused=%lu reset=%lu "
	    "timeout=%lu empty=%lu other=%lu p50_us=%u p90_us=%u p99_us=%u "
	    "p999_us=%u max_us=%u over1s=%zu cpu_ms=%ld\n",
	    ok, (double)(count > 0 ? ok : ok_window) / elapsed,
	    (double)(now - t0) / 1e6,
	    errs[E_REFUSED], errs[E_RESET], errs[E_TIMEOUT], errs[E_EMPTY],
	    errs[E_OTHER],
	    pct(0.50), pct(0.90), pct(0.99), pct(0.999),
	    nlat ? lat[nlat - 1] : 0, over1s,
	    (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000);
	return 0;
}
