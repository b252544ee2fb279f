/*
 * f-load: a client loop for the fault tests that counts every attempt
 * and its outcome, so that "nothing lost" is a number.
 *
 *	f-load [-q] [-c conns] [-d seconds] [-e expect] [-m mode] [-n total]
 *	    [-o outfile] [-s stopfile] [-T ms] [-w data] host port | unix path
 *
 * -c threads each connect, send data (if any), half-close when the mode
 * is "normal", and read the reply to its end, again and again, until
 * -n attempts were made in all, -d seconds passed, or stopfile exists.
 * Each attempt ends in exactly one outcome:
 *
 *	ok       the reply began with expect (or was not empty, without -e)
 *	refused  connect failed: ECONNREFUSED, ENOENT (nobody listens)
 *	conntime connect took longer than -T
 *	reset    ECONNRESET or EPIPE before the reply was complete
 *	empty    closed by the server without a byte
 *	timeout  no end of the reply within -T ms (default 10000)
 *	bad      a reply that is not the expected one
 *	error    any other failure (socket: EMFILE, ...)
 *
 * Modes (-m) make hostile clients: normal; silent (connect, send nothing,
 * wait for the reply); trickle (send data one byte a second); reset (read
 * one byte, then close with a RST); vanish (connect and close at once).
 * For the hostile modes the outcome still says what the server did.
 *
 * The last line on stdout (and in -o outfile, written atomically) is
 *	attempted N ok N refused N conntime N reset N empty N timeout N bad N error N
 * Exits 0 if every attempt was counted, 111 on a setup failure.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum outcome { O_OK, O_REFUSED, O_CONNTIME, O_RESET, O_EMPTY, O_TIMEOUT,
	O_BAD, O_ERROR, O_COUNT };
static const char *const names[O_COUNT] = { "ok", "refused", "conntime",
	"reset", "empty", "timeout", "bad", "error" };

enum mode { M_NORMAL, M_SILENT, M_TRICKLE, M_RESET, M_VANISH };

static struct sockaddr_storage addr;
static socklen_t addrlen;
static const char *expect, *data = "", *stopfile;
static size_t expectlen, datalen;
static enum mode mode = M_NORMAL;
static long total = -1;		/* attempts in all; -1: no limit */
static long started;		/* attempts begun */
static unsigned long counts[O_COUNT];
static int tmo = 10000;
static int qflag;
static double deadline;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
left_ms(double end)
{
	double d = end - now();

	return d > 0 ? (int)(d * 1000) + 1 : 0;
}

/* Another attempt?  Claims it. */
static int
more(void)
{
	if (stopfile != NULL && access(stopfile, F_OK) == 0)
		return 0;
	if (deadline > 0 && now() >= deadline)
		return 0;
	if (total < 0)
		return 1;
	return __atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST) < total;
}

static enum outcome
failure(int e)
{
	if (e == ECONNRESET || e == EPIPE)
		return O_RESET;
	return O_ERROR;
}

static enum outcome
attempt(void)
{
	char buf[65536];
	struct pollfd p;
	struct linger lg = { 1, 0 };
	socklen_t el = sizeof(int);
	double end;
	size_t got = 0, off = 0;
	ssize_t n;
	int fd, e = 0, r;

	if ((fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return O_ERROR;
	end = now() + tmo / 1000.0;
	/* A unix connect with a full backlog says EAGAIN: try again. */
	while (connect(fd, (struct sockaddr *)&addr, addrlen) == -1) {
		e = errno;
		if (e == EINTR)
			continue;
		if (e == ECONNREFUSED || e == ENOENT) {
			close(fd);
			return O_REFUSED;
		}
		if (e == EAGAIN) {
			if (now() >= end) {
				close(fd);
				return O_CONNTIME;
			}
			poll(NULL, 0, 10);
			continue;
		}
		if (e != EINPROGRESS) {
			close(fd);
			return failure(e);
		}
		p.fd = fd;
		p.events = POLLOUT;
		do
			r = poll(&p, 1, left_ms(end));
		while (r == -1 && errno == EINTR);
		if (r == 0) {
			close(fd);
			return O_CONNTIME;
		}
		e = 0;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e != 0) {
			close(fd);
			return e == ECONNREFUSED ? O_REFUSED : failure(e);
		}
		break;
	}
	if (mode == M_VANISH) {
		close(fd);
		return O_OK;
	}
	/* Send the data: all at once, or one byte a second. */
	while (off < datalen && mode != M_SILENT) {
		n = send(fd, data + off, mode == M_TRICKLE ? 1 : datalen - off,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EAGAIN) {
			p.fd = fd;
			p.events = POLLOUT;
			if (poll(&p, 1, left_ms(end)) == 0) {
				close(fd);
				return O_TIMEOUT;
			}
			continue;
		}
		if (n == -1) {
			e = errno;
			close(fd);
			return failure(e);
		}
		off += (size_t)n;
		if (mode == M_TRICKLE && off < datalen)
			poll(NULL, 0, 1000);
	}
	if (mode == M_NORMAL || mode == M_TRICKLE)
		shutdown(fd, SHUT_WR);
	for (;;) {
		n = recv(fd, buf + (got < sizeof(buf) ? got : 0),
		    got < sizeof(buf) ? sizeof(buf) - got : sizeof(buf), 0);
		if (n > 0) {
			got += (size_t)n;
			if (mode == M_RESET) {
				setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg,
				    sizeof(lg));
				close(fd);
				return O_OK;
			}
			continue;
		}
		if (n == 0)
			break;
		if (errno == EAGAIN) {
			p.fd = fd;
			p.events = POLLIN;
			if ((r = left_ms(end)) == 0 || poll(&p, 1, r) == 0) {
				close(fd);
				return O_TIMEOUT;
			}
			continue;
		}
		if (errno == EINTR)
			continue;
		e = errno;
		close(fd);
		return failure(e);
	}
	close(fd);
	if (got == 0)
		return O_EMPTY;
	if (expect != NULL && (got < expectlen ||
	    memcmp(buf, expect, expectlen) != 0))
		return O_BAD;
	return O_OK;
}

static void *
worker(void *arg)
{
	enum outcome o;

	(void)arg;
	while (more()) {
		o = attempt();
		__atomic_add_fetch(&counts[o], 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: f-load [-q] [-c conns] [-d seconds] "
	    "[-e expect] [-m mode] [-n total] [-o outfile] [-s stopfile] "
	    "[-T ms] [-w data] host port | unix path\n");
	exit(100);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)&addr;
	struct sockaddr_un *sun = (struct sockaddr_un *)(void *)&addr;
	const char *errstr, *outfile = NULL;
	char line[512], tmp[4096];
	pthread_t *t;
	unsigned long sum = 0;
	long conns = 1, secs = 0, i;
	int ch, n, off;
	FILE *f;

	while ((ch = getopt(argc, argv, "+c:d:e:m:n:o:qs:T:w:")) != -1) {
		switch (ch) {
		case 'c':
			conns = strtonum(optarg, 1, 1000, &errstr);
			if (errstr != NULL)
				errx(100, "-c %s: %s", optarg, errstr);
			break;
		case 'd':
			secs = strtonum(optarg, 1, 86400, &errstr);
			if (errstr != NULL)
				errx(100, "-d %s: %s", optarg, errstr);
			break;
		case 'e':
			expect = optarg;
			expectlen = strlen(optarg);
			break;
		case 'm':
			if (strcmp(optarg, "normal") == 0)
				mode = M_NORMAL;
			else if (strcmp(optarg, "silent") == 0)
				mode = M_SILENT;
			else if (strcmp(optarg, "trickle") == 0)
				mode = M_TRICKLE;
			else if (strcmp(optarg, "reset") == 0)
				mode = M_RESET;
			else if (strcmp(optarg, "vanish") == 0)
				mode = M_VANISH;
			else
				errx(100, "-m %s: unknown mode", optarg);
			break;
		case 'n':
			total = strtonum(optarg, 0, 1000000000, &errstr);
			if (errstr != NULL)
				errx(100, "-n %s: %s", optarg, errstr);
			break;
		case 'o':
			outfile = optarg;
			break;
		case 'q':
			qflag = 1;
			break;
		case 's':
			stopfile = optarg;
			break;
		case 'T':
			tmo = (int)strtonum(optarg, 1, 600000, &errstr);
			if (errstr != NULL)
				errx(100, "-T %s: %s", optarg, errstr);
			break;
		case 'w':
			data = optarg;
			datalen = strlen(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	memset(&addr, 0, sizeof(addr));
	if (strcmp(argv[0], "unix") == 0) {
		sun->sun_family = AF_UNIX;
		if (strlcpy(sun->sun_path, argv[1], sizeof(sun->sun_path)) >=
		    sizeof(sun->sun_path))
			errx(100, "%s: path too long", argv[1]);
		addrlen = sizeof(*sun);
	} else {
		n = (int)strtonum(argv[1], 1, 65535, &errstr);
		if (errstr != NULL)
			errx(100, "port %s: %s", argv[1], errstr);
		if (inet_pton(AF_INET, argv[0], &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons((uint16_t)n);
			addrlen = sizeof(*sin);
		} else if (inet_pton(AF_INET6, argv[0], &sin6->sin6_addr) ==
		    1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons((uint16_t)n);
			addrlen = sizeof(*sin6);
		} else
			errx(100, "%s: not an IP address", argv[0]);
	}
	if (stopfile == NULL && total < 0 && secs == 0)
		secs = 60;
	if (secs > 0)
		deadline = now() + (double)secs;
	signal(SIGPIPE, SIG_IGN);

	if ((t = calloc((size_t)conns, sizeof(*t))) == NULL)
		err(111, "calloc");
	for (i = 0; i < conns; i++)
		if ((errno = pthread_create(&t[i], NULL, worker, NULL)) != 0)
			err(111, "pthread_create");
	for (i = 0; i < conns; i++)
		pthread_join(t[i], NULL);
	free(t);

	for (i = 0; i < O_COUNT; i++)
		sum += counts[i];
	off = snprintf(line, sizeof(line), "attempted %lu", sum);
	for (i = 0; i < O_COUNT; i++)
		off += snprintf(line + off, sizeof(line) - (size_t)off,
		    " %s %lu", names[i], counts[i]);
	if (!qflag || outfile == NULL)
		printf("%s\n", line);
	if (outfile != NULL) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", outfile);
		if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%s\n",
		    line) < 0 || fclose(f) == EOF || rename(tmp, outfile) == -1)
			err(111, "%s", outfile);
	}
	return 0;
}
