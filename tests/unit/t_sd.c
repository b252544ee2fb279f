/*
 * Unit tests of lib/pa_sd.c: the receiver side of contract 1 with every
 * LISTEN_PID / LISTEN_FDS variation, what may sit on fd 3 (a listener, a
 * connected or datagram socket, a pipe, nothing) and the fd 0 fallback.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"
#include "t.h"

static char why[256];

static int
tcp_socket(int listening)
{
	struct sockaddr_in sin;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		return -1;
	if (listening && listen(fd, 8) == -1)
		return -1;
	return fd;
}

/* Put fd on fd 3 (closing the original) and make it close-on-exec. */
static void
onto(int fd, int target)
{
	if (fd != target) {
		dup2(fd, target);
		close(fd);
	}
	fcntl(target, F_SETFD, 0);
}

static void
env(const char *pid, const char *fds, const char *names, const char *id)
{
	char buf[32];

	if (pid != NULL && strcmp(pid, "self") == 0) {
		snprintf(buf, sizeof(buf), "%ld", (long)getpid());
		pid = buf;
	}
	if (pid)
		setenv("LISTEN_PID", pid, 1);
	else
		unsetenv("LISTEN_PID");
	if (fds)
		setenv("LISTEN_FDS", fds, 1);
	else
		unsetenv("LISTEN_FDS");
	if (names)
		setenv("LISTEN_FDNAMES", names, 1);
	else
		unsetenv("LISTEN_FDNAMES");
	if (id)
		setenv("LISTEN_PIDFDID", id, 1);
	else
		unsetenv("LISTEN_PIDFDID");
}

static int
env_clean(void)
{
	return getenv("LISTEN_PID") == NULL && getenv("LISTEN_FDS") == NULL &&
	    getenv("LISTEN_FDNAMES") == NULL &&
	    getenv("LISTEN_PIDFDID") == NULL;
}

static int
cloexec(int fd)
{
	return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

static int
fails_with(const char *text)
{
	int r;

	why[0] = '\0';
	r = pa_sd_listen_fd(why, sizeof(why));
	if (r != -1 || strstr(why, text) == NULL || !env_clean()) {
		fprintf(stderr, "  got %d, why \"%s\", wanted \"%s\"\n", r, why,
		    text);
		return 0;
	}
	return 1;
}

/* LISTEN_PIDFDID: our own pidfd's inode passes, another one does not. */
static void
test_pidfdid(void)
{
	struct statfs sfs;
	struct stat st;
	char buf[32];
	int pfd;

	pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (pfd == -1 || fstatfs(pfd, &sfs) == -1 || sfs.f_type != 0x50494446 ||
	    fstat(pfd, &st) == -1) {
		printf("no pidfs: LISTEN_PIDFDID match not tested\n");
		if (pfd != -1)
			close(pfd);
		return;
	}
	close(pfd);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)st.st_ino);
	env("self", "1", NULL, buf);
	CHECK(pa_sd_listen_fd(why, sizeof(why)) == 3);
	fcntl(3, F_SETFD, 0);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)st.st_ino + 1);
	env("self", "1", NULL, buf);
	CHECK(fails_with("is not this process"));
}

static void
test_listen_fds(void)
{
	char self[32];
	int fd, ufd;
	struct sockaddr_un sun;

	snprintf(self, sizeof(self), "%ld", (long)getpid());
	onto(tcp_socket(1), 3);

	/* The plain case: LISTEN_PID ours, LISTEN_FDS=1, a listener. */
	env("self", "1", "web", NULL);
	CHECK(pa_sd_listen_fd(why, sizeof(why)) == 3);
	CHECK(env_clean());
	CHECK(cloexec(3));

	fcntl(3, F_SETFD, 0);
	env("self", "1", NULL, "not-a-number");
	CHECK(fails_with("LISTEN_PIDFDID=not-a-number is not a number"));
	env("self", "1", NULL, "-5");
	CHECK(fails_with("is not a number"));
	test_pidfdid();

	/* Not for us, or nonsense. */
	env("1", "1", NULL, NULL);
	CHECK(fails_with("LISTEN_PID=1 is not this process"));
	CHECK(strstr(why, self) != NULL);
	env("abc", "1", NULL, NULL);
	CHECK(fails_with("LISTEN_PID=abc is not a pid"));
	env("", "1", NULL, NULL);
	CHECK(fails_with("is not a pid"));
	env("-3", "1", NULL, NULL);
	CHECK(fails_with("is not a pid"));
	env("99999999999999999999999999999999999999", "1", NULL, NULL);
	CHECK(fails_with("is not a pid"));

	/* One socket, exactly. */
	env("self", "2", NULL, NULL);
	CHECK(fails_with("LISTEN_FDS=2: expected exactly one"));
	env("self", "0", NULL, NULL);
	CHECK(fails_with("LISTEN_FDS=0 is not a count"));
	env("self", "x", NULL, NULL);
	CHECK(fails_with("LISTEN_FDS=x is not a count"));
	env("self", "1x", NULL, NULL);
	CHECK(fails_with("is not a count"));

	/* What fd 3 may be instead. */
	close(3);
	env("self", "1", NULL, NULL);
	CHECK(fails_with("fd 3 is not open"));
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	onto(fd, 3);
	env("self", "1", NULL, NULL);
	CHECK(fails_with("fd 3 is not a socket"));
	onto(tcp_socket(0), 3);
	env("self", "1", NULL, NULL);
	CHECK(fails_with("fd 3 is a stream socket that is not listening"));
	onto(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), 3);
	env("self", "1", NULL, NULL);
	CHECK(fails_with("fd 3 is a datagram socket"));

	/* A unix listener is as good as a TCP one. */
	ufd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	/* Autobind to an abstract name: no file to clean up. */
	CHECK(bind(ufd, (struct sockaddr *)&sun, sizeof(sa_family_t)) == 0);
	CHECK(listen(ufd, 4) == 0);
	onto(ufd, 3);
	env("self", "1", NULL, NULL);
	CHECK(pa_sd_listen_fd(why, sizeof(why)) == 3);
	CHECK(pa_sd_is_listener(3) == 1);
	close(3);
}

static void
test_stdin(void)
{
	int saved, fd;

	saved = fcntl(0, F_DUPFD_CLOEXEC, 10);
	CHECK(saved >= 0);

	/* No LISTEN_PID: a listener on fd 0 is accepted (inetd "wait"). */
	onto(tcp_socket(1), 0);
	env(NULL, NULL, NULL, NULL);
	CHECK(pa_sd_listen_fd(why, sizeof(why)) == 0);
	CHECK(cloexec(0));
	/* LISTEN_FDS without LISTEN_PID is no activation either. */
	env(NULL, "1", "x", NULL);
	CHECK(pa_sd_listen_fd(why, sizeof(why)) == 0);
	CHECK(env_clean());
	/* LISTEN_PID ours but no LISTEN_FDS: the same. */
	env("self", NULL, NULL, NULL);
	CHECK(pa_sd_listen_fd(why, sizeof(why)) == 0);

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	onto(fd, 0);
	env(NULL, NULL, NULL, NULL);
	CHECK(fails_with("no LISTEN_FDS and fd 0 is not a socket"));
	env(NULL, "1", NULL, NULL);
	CHECK(fails_with("LISTEN_FDS without LISTEN_PID, and fd 0 is not"));
	onto(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), 0);
	env(NULL, NULL, NULL, NULL);
	CHECK(fails_with("no LISTEN_FDS and fd 0 is a datagram socket"));
	close(0);
	CHECK(fails_with("no LISTEN_FDS and fd 0 is not open"));
	CHECK(errno == EBADF);

	onto(saved, 0);
}

static void
test_is_listener(void)
{
	int fd, p[2];

	fd = tcp_socket(1);
	CHECK(pa_sd_is_listener(fd) == 1);
	close(fd);
	fd = tcp_socket(0);
	CHECK(pa_sd_is_listener(fd) == 0);
	close(fd);
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(pa_sd_is_listener(fd) == 0);
	close(fd);
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	CHECK(pa_sd_is_listener(p[0]) == 0);
	close(p[0]);
	close(p[1]);
	CHECK(pa_sd_is_listener(p[0]) == -1 && errno == EBADF);
}

int
main(void)
{
	test_listen_fds();
	test_stdin();
	test_is_listener();
	T_DONE();
}
