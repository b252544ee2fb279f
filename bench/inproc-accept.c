/*
 * inproc-accept: the in-process reference of the libpa benchmark.
 *
 * usage: inproc-accept [-1] [-b backlog] [-d seconds] [-n procs] host port
 *
 * Binds host:port (port 0: any; -1 prints the bound port and a newline on
 * stdout), listens (backlog default 4096) and forks procs (default 2)
 * processes that each loop: block in accept(2), read the request up to
 * the blank line that ends its header, write the same response as
 * examples/hello-http, close.  -d sets TCP_DEFER_ACCEPT (a connection is
 * accepted once its request has arrived).  No notification, no slots, no counters,
 * no timeouts: the kernel's exclusive wake-up of blocked accepts, what
 * an in-process server costs with nothing else.  The children die with
 * the parent (PR_SET_PDEATHSIG); TERM ends it all.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"

static const char ok[] =
    "HTTP/1.0 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "Connection: close\r\n"
    "\r\n"
    "Hello, world\n";

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: inproc-accept [-1] [-b backlog] [-d seconds] "
	    "[-n procs] host port\n");
	exit(100);
}

static void __attribute__((noreturn))
serve(int lfd)
{
	char buf[8192];
	size_t len;
	ssize_t n;
	int fd;

	for (;;) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno != EINTR && errno != ECONNABORTED)
				warn("accept");
			continue;
		}
		len = 0;
		while ((n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0) {
			len += (size_t)n;
			buf[len] = '\0';
			if (strstr(buf, "\r\n\r\n") != NULL ||
			    len == sizeof(buf) - 1)
				break;
		}
		if (n > 0)
			send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL);
		close(fd);
	}
}

int
main(int argc, char *argv[])
{
	const char *errstr;
	long long backlog = 4096, procs = 2, defer = 0;
	pid_t ppid = getpid();
	uint16_t bound;
	int ch, lfd, oneflag = 0, st;

	while ((ch = getopt(argc, argv, "+1b:d:n:")) != -1) {
		switch (ch) {
		case '1':
			oneflag = 1;
			break;
		case 'b':
			backlog = strtonum(optarg, 1, 65535, &errstr);
			if (errstr != NULL)
				errx(100, "-b %s: %s", optarg, errstr);
			break;
		case 'd':
			defer = strtonum(optarg, 1, 3600, &errstr);
			if (errstr != NULL)
				errx(100, "-d %s: %s", optarg, errstr);
			break;
		case 'n':
			procs = strtonum(optarg, 1, 1024, &errstr);
			if (errstr != NULL)
				errx(100, "-n %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	lfd = bench_listen(argv[0], argv[1], (int)backlog, (int)defer, &bound);
	for (long long i = 0; i < procs; i++) {
		switch (fork()) {
		case -1:
			err(111, "fork");
		case 0:
			bench_child(ppid);
			serve(lfd);
		default:
			break;
		}
	}
	close(lfd);
	if (oneflag) {
		printf("%u\n", bound);
		fflush(stdout);
	}
	while (wait(&st) != -1 || errno == EINTR)
		;
	return 0;
}
