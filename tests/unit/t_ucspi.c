/*
 * Unit tests of lib/pa_ucspi.c: the environment PROG receives over TCP
 * v4, v6 (::1), a wildcard and a dual-stack listener, and a unix socket;
 * pa's own and stale UCSPI variables dropped; values rewritten in place.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"
#include "t.h"

static const char *const base_text[] = {
	"HOME=/home/x", "PA_REGION_FD=4", "PA_HANDLER=0", "PA_READY_FD=5",
	"LISTEN_FDS=1", "LISTEN_PID=1", "NOTIFY_SOCKET=/run/n",
	"PROTO=OLD", "TCPREMOTEHOST=stale", "TCPREMOTEINFO=stale",
	"TCPLOCALHOST=stale", "UNIXREMOTEPID=1", "PATH=/bin", NULL
};
static char *base_env[sizeof(base_text) / sizeof(base_text[0])];

/* The value of name in envp, or NULL; fails the test on a duplicate. */
static const char *
get(char **envp, const char *name)
{
	const char *v = NULL;
	size_t n = strlen(name);
	int seen = 0;

	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=') {
			v = *envp + n + 1;
			seen++;
		}
	CHECK(seen <= 1);
	return v;
}

static int
eq(const char *a, const char *b)
{
	if (a == NULL || strcmp(a, b) != 0) {
		fprintf(stderr, "got \"%s\", want \"%s\"\n",
		    a == NULL ? "(unset)" : a, b);
		return 0;
	}
	return 1;
}

/* Nothing of pa's, nothing stale; once filled in, nothing empty. */
static void
check_clean(char **envp, int filled)
{
	char **e;

	CHECK(eq(get(envp, "HOME"), "/home/x"));
	CHECK(eq(get(envp, "PATH"), "/bin"));
	CHECK(get(envp, "PA_REGION_FD") == NULL);
	CHECK(get(envp, "PA_HANDLER") == NULL);
	CHECK(get(envp, "PA_READY_FD") == NULL);
	CHECK(get(envp, "LISTEN_FDS") == NULL);
	CHECK(get(envp, "LISTEN_PID") == NULL);
	CHECK(get(envp, "NOTIFY_SOCKET") == NULL);
	CHECK(get(envp, "TCPREMOTEHOST") == NULL);
	CHECK(get(envp, "TCPREMOTEINFO") == NULL);
	for (e = envp; filled && *e != NULL; e++)
		CHECK(strchr(*e, '=') != NULL && strchr(*e, '=')[1] != '\0');
}

static int
listener(int family, const char *ip, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	int fd, off = 0;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &sin->sin_addr);
		*len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &sin6->sin6_addr);
		*len = sizeof(*sin6);
	}
	if ((fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, (struct sockaddr *)ss, *len) == -1 ||
	    listen(fd, 8) == -1 ||
	    getsockname(fd, (struct sockaddr *)ss, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Connect to port on ip, accept; fills the accepted fd and its peer. */
static int
connect_to(int lfd, int family, const char *ip, unsigned port, int *afd,
    struct sockaddr_storage *peer, socklen_t *plen, unsigned *cport)
{
	struct sockaddr_storage sa;
	struct sockaddr_in *sin = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&sa;
	socklen_t len;
	int c;

	memset(&sa, 0, sizeof(sa));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, ip, &sin->sin_addr);
		len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, ip, &sin6->sin6_addr);
		len = sizeof(*sin6);
	}
	if ((c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(c, (struct sockaddr *)&sa, len) == -1)
		return -1;
	len = sizeof(sa);
	getsockname(c, (struct sockaddr *)&sa, &len);
	*cport = family == AF_INET ? ntohs(sin->sin_port) :
	    ntohs(sin6->sin6_port);
	*plen = sizeof(*peer);
	if ((*afd = accept4(lfd, (struct sockaddr *)peer, plen,
	    SOCK_CLOEXEC)) == -1)
		return -1;
	return c;
}

static unsigned
portof(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void
test_tcp(int family, const char *bindip, int cfamily, const char *connip,
    const char *want_local, const char *want_remote, const char *want_peer)
{
	struct pa_ucspi u;
	struct sockaddr_storage ss, peer;
	socklen_t len, plen;
	unsigned port, cport;
	char buf[32], pbuf[80];
	int lfd, c, a, round;

	lfd = listener(family, bindip, &ss, &len);
	CHECK(lfd >= 0);
	if (lfd < 0)
		return;
	port = portof(&ss);
	CHECK(pa_ucspi_init(&u, lfd, base_env, NULL) == 0);
	check_clean(u.envp, 0);
	CHECK(eq(get(u.envp, "PROTO"), "TCP"));
	CHECK(get(u.envp, "TCPLOCALHOST") == NULL);
	snprintf(buf, sizeof(buf), "%u", port);
	CHECK(eq(get(u.envp, "TCPLOCALPORT"), buf));
	/* Twice: the second connection's values replace the first's. */
	for (round = 0; round < 2; round++) {
		c = connect_to(lfd, cfamily, connip, port, &a, &peer, &plen,
		    &cport);
		CHECK(c >= 0);
		if (c < 0)
			break;
		CHECK(pa_ucspi_set(&u, a, (struct sockaddr *)&peer, plen) == 0);
		CHECK(eq(get(u.envp, "TCPLOCALIP"), want_local));
		CHECK(eq(get(u.envp, "TCPREMOTEIP"), want_remote));
		snprintf(buf, sizeof(buf), "%u", cport);
		CHECK(eq(get(u.envp, "TCPREMOTEPORT"), buf));
		CHECK(eq(u.remoteport, buf));
		snprintf(pbuf, sizeof(pbuf), "%s%u", want_peer, cport);
		CHECK(eq(u.peer, pbuf));
		check_clean(u.envp, 1);
		close(a);
		close(c);
	}
	pa_ucspi_free(&u);

	/* -l NAME: TCPLOCALHOST, and nothing else changes. */
	CHECK(pa_ucspi_init(&u, lfd, base_env, "www.example.org") == 0);
	CHECK(eq(get(u.envp, "TCPLOCALHOST"), "www.example.org"));
	check_clean(u.envp, 0);
	pa_ucspi_free(&u);
	close(lfd);
}

static void
test_unix(void)
{
	struct sockaddr_un sun;
	struct pa_ucspi u;
	char buf[32];
	int lfd, c, a;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/t_ucspi.%ld",
	    (long)getpid());
	unlink(sun.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(lfd >= 0);
	CHECK(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CHECK(listen(lfd, 8) == 0);
	CHECK(pa_ucspi_init(&u, lfd, base_env, "ignored") == 0);
	check_clean(u.envp, 0);
	CHECK(eq(get(u.envp, "PROTO"), "UNIX"));
	CHECK(eq(get(u.envp, "UNIXLOCALPATH"), sun.sun_path));
	CHECK(get(u.envp, "TCPLOCALHOST") == NULL);
	CHECK(get(u.envp, "TCPLOCALIP") == NULL);
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(connect(c, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(a >= 0);
	CHECK(pa_ucspi_set(&u, a, NULL, 0) == 0);
	snprintf(buf, sizeof(buf), "%ld", (long)geteuid());
	CHECK(eq(get(u.envp, "UNIXREMOTEEUID"), buf));
	snprintf(buf, sizeof(buf), "%ld", (long)getegid());
	CHECK(eq(get(u.envp, "UNIXREMOTEEGID"), buf));
	snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	CHECK(eq(get(u.envp, "UNIXREMOTEPID"), buf));
	check_clean(u.envp, 1);
	pa_ucspi_free(&u);
	close(a);
	close(c);
	close(lfd);
	unlink(sun.sun_path);
}

static void
test_errors(void)
{
	struct pa_ucspi u;
	char longname[300];
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd;

	/* Not a socket. */
	CHECK(pa_ucspi_init(&u, 0, base_env, NULL) == -1 ||
	    (pa_ucspi_free(&u), 0));
	lfd = listener(AF_INET, "127.0.0.1", &ss, &len);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(pa_ucspi_init(&u, lfd, base_env, longname) == -1 &&
	    errno == EINVAL);
	CHECK(pa_ucspi_init(&u, lfd, base_env, "") == -1 && errno == EINVAL);
	/* An empty environment gives just the UCSPI variables. */
	CHECK(pa_ucspi_init(&u, lfd, NULL, NULL) == 0);
	CHECK(u.nbase == 0 && eq(get(u.envp, "PROTO"), "TCP"));
	pa_ucspi_free(&u);
	close(lfd);
}

int
main(void)
{
	size_t i;

	for (i = 0; base_text[i] != NULL; i++)
		base_env[i] = strdup(base_text[i]);
	test_tcp(AF_INET, "127.0.0.1", AF_INET, "127.0.0.1", "127.0.0.1",
	    "127.0.0.1", "127.0.0.1:");
	test_tcp(AF_INET6, "::1", AF_INET6, "::1", "::1", "::1", "[::1]:");
	/* A wildcard: the local IP comes from the connection. */
	test_tcp(AF_INET, "0.0.0.0", AF_INET, "127.0.0.1", "127.0.0.1",
	    "127.0.0.1", "127.0.0.1:");
	/* Dual stack: an IPv4 client appears as plain IPv4. */
	test_tcp(AF_INET6, "::", AF_INET, "127.0.0.1", "127.0.0.1",
	    "127.0.0.1", "127.0.0.1:");
	test_tcp(AF_INET6, "::", AF_INET6, "::1", "::1", "::1", "[::1]:");
	test_unix();
	test_errors();
	T_DONE();
}
