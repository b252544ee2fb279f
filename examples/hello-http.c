/*
 * hello-http: a minimal HTTP/1.0 responder on libpa.
 *
 *	pa-listen 127.0.0.1:8080 pa-spawn -n 4 examples/hello-http [-t threads]
 *
 * Each thread (-t, default 1) takes connections in turn: it reads the
 * request up to the blank line that ends its header (8 KiB at most,
 * 5 seconds at most for each piece), answers 200 with a short body, or
 * 400 to a header that does not end, and closes.  Run alone (pa-listen
 * ADDRESS examples/hello-http) it serves on the socket pa-listen hands
 * over.
 * TERM, INT and HUP: every thread finishes the request in hand and the
 * process exits 0.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <err.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pa.h>

static const char ok[] =
    "HTTP/1.0 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "Connection: close\r\n"
    "\r\n"
    "Hello, world\n";
static const char bad[] =
    "HTTP/1.0 400 Bad Request\r\n"
    "Content-Length: 0\r\n"
    "Connection: close\r\n"
    "\r\n";

static struct pa_pool *pool;

static void
stop(int sig)
{
	(void)sig;
	pa_pool_stop(pool, PA_WHY_STOP);
}

/*
 * Read up to the end of the request header: 1 done, 0 EOF, error or time
 * out, -1 too long.
 */
static int
request(int fd)
{
	char buf[8192];
	size_t len = 0;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL ||
		    strstr(buf, "\n\n") != NULL)
			return 1;
		if (len == sizeof(buf) - 1)
			return -1;
	}
}

static void
serve(int fd)
{
	int r;

	if ((r = request(fd)) == 0)
		return;
	if (r == 1)
		send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL);
	else
		send(fd, bad, sizeof(bad) - 1, MSG_NOSIGNAL);
}

static void *
worker(void *arg)
{
	struct pa_worker *w;
	struct pa_conn c;
	enum pa_next r;

	(void)arg;
	if ((w = pa_worker_start(pool)) == NULL) {
		warn("no slot");
		pa_pool_stop(pool, PA_WHY_ERROR);
		return NULL;
	}
	while ((r = pa_worker_accept(w, &c)) != PA_NEXT_EXIT) {
		if (r == PA_NEXT_ERROR) {
			warn("accept");
			break;
		}
		if (r == PA_NEXT_WARN)
			warn("accept (backing off)");
		if (r != PA_NEXT_CONN)
			continue;
		serve(c.fd);
		close(c.fd);
		pa_worker_done(w);
	}
	pa_worker_end(w);
	return NULL;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: hello-http [-h] [-t threads]\n");
	exit(100);
}

int
main(int argc, char *argv[])
{
	struct sigaction sa = { .sa_handler = stop };
	struct timeval tmo = { 5, 0 };
	pthread_t *t;
	const char *errstr;
	char why[256];
	unsigned n = 1, i;
	int ch;

	while ((ch = getopt(argc, argv, "+ht:")) != -1) {
		switch (ch) {
		case 'h':
			printf("usage: hello-http [-h] [-t threads]\n"
			    "  -h          print this help and exit\n"
			    "  -t threads  threads, each with its own slot "
			    "(default 1)\n");
			exit(0);
		case 't':
			n = (unsigned)strtonum(optarg, 1, 256, &errstr);
			if (errstr != NULL)
				errx(100, "-t %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if ((pool = pa_pool_attach(n, why, sizeof(why))) == NULL)
		errx(100, "%s", why);
	/*
	 * The time limit of a read, set once: accepted sockets inherit it
	 * from the listener, so no connection pays a system call for it.
	 */
	if (setsockopt(pa_pool_fd(pool), SOL_SOCKET, SO_RCVTIMEO, &tmo,
	    sizeof(tmo)) == -1)
		err(111, "setsockopt SO_RCVTIMEO");
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if ((t = calloc(n, sizeof(*t))) == NULL)
		err(111, "calloc");
	for (i = 1; i < n; i++)
		if ((errno = pthread_create(&t[i], NULL, worker, NULL)) != 0)
			err(111, "pthread_create");
	worker(NULL);
	for (i = 1; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
	ch = pa_pool_why(pool) == PA_WHY_ERROR ? 111 : 0;
	pa_pool_detach(pool);
	return ch;
}
