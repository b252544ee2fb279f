/*
 * Unit tests of libpa's connection API (lib/pa_handler.c): attach errors,
 * pa_pool_attach_fd, pa_worker_accept (both addresses, on a specific and
 * on a wildcard address, the peer text, the slot states), the PROXY header (v1, UNKNOWN, malformed, late, a peer
 * outside the networks), a unix peer, pa_worker_leaving and the stop,
 * threads alone on a blocking socket, and the peer text in a region slot.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"
#include "t.h"

/* A TCP listener on 127.0.0.1, port chosen by the kernel; a is set. */
static int
listener(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd;

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)a, sizeof(*a)) == -1 ||
	    listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)a, &len) == -1)
		return -1;
	return fd;
}

/* Connect to a, send data (if any); the client's own address in me. */
static int
client(const struct sockaddr_in *a, const char *data, struct sockaddr_in *me)
{
	socklen_t len = sizeof(*me);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (c == -1 || connect(c, (const struct sockaddr *)a,
	    sizeof(*a)) == -1)
		return -1;
	if (me != NULL && getsockname(c, (struct sockaddr *)me, &len) == -1)
		return -1;
	if (data != NULL && write(c, data, strlen(data)) !=
	    (ssize_t)strlen(data))
		return -1;
	return c;
}

static uint16_t
port_of(const struct sockaddr_storage *ss)
{
	return ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port);
}

static void
test_errors(void)
{
	char why[256];
	int pp[2], lfd;
	struct sockaddr_in a;
	struct pa_pool *p;
	struct pa_proxy_net net;

	errno = 0;
	CHECK(pa_pool_attach_fd(-1, 1, why, sizeof(why)) == NULL &&
	    errno == EBADF);
	CHECK(pipe(pp) == 0);
	errno = 0;
	CHECK(pa_pool_attach_fd(pp[0], 1, why, sizeof(why)) == NULL &&
	    errno == ENOTSOCK);
	CHECK(strstr(why, "not a listening socket") != NULL);
	close(pp[0]);
	close(pp[1]);
	CHECK((lfd = listener(&a)) != -1);
	errno = 0;
	CHECK(pa_pool_attach_fd(lfd, 0, why, sizeof(why)) == NULL &&
	    errno == EINVAL);
	CHECK(pa_pool_attach_fd(lfd, PA_SLOTS_MAX + 1, why,
	    sizeof(why)) == NULL && errno == EINVAL);
	p = pa_pool_attach_fd(lfd, 1, why, sizeof(why));
	CHECK(p != NULL);
	if (p == NULL)
		return;
	CHECK(pa_pool_index(p) == -1 && pa_pool_fd(p) == lfd);
	CHECK(pa_pool_domain(p) == AF_INET);
	/* One thread alone: the socket is left blocking. */
	CHECK((fcntl(lfd, F_GETFL) & O_NONBLOCK) == 0);
	CHECK(pa_pool_why(p) == PA_WHY_NONE);
	CHECK(strcmp(pa_why_str(PA_WHY_NONE), "running") == 0);
	CHECK(strcmp(pa_why_str((enum pa_exit_why)99), "invalid") == 0);
	errno = 0;
	CHECK(pa_pool_proxy(p, -1, NULL, 0) == -1 && errno == EINVAL);
	CHECK(pa_pool_proxy(p, 100, NULL, 1) == -1 && errno == EINVAL);
	CHECK(pa_proxy_net_parse("10.0.0.0/8", &net) == 0);
	CHECK(pa_pool_proxy(p, 100, &net, 1) == 0);
	CHECK(pa_pool_proxy(p, 0, NULL, 0) == 0);
	/* One thread announced: a second worker is refused. */
	{
		struct pa_worker *w1, *w2;

		CHECK((w1 = pa_worker_start(p)) != NULL);
		errno = 0;
		CHECK((w2 = pa_worker_start(p)) == NULL && errno == ENOSPC);
		CHECK(pa_worker_slot(w1) == -1);
		CHECK(pa_worker_counters(w1)->state == PA_SLOT_STARTING);
		pa_worker_end(w1);
	}
	pa_pool_detach(p);
	close(lfd);
}

static void
test_accept(void)
{
	struct sockaddr_in a, me;
	struct pa_pool *p;
	struct pa_worker *w;
	struct pa_conn c;
	const struct pa_slot *s;
	char why[256], buf[64], want[64];
	int lfd, cl;

	CHECK((lfd = listener(&a)) != -1);
	CHECK((p = pa_pool_attach_fd(lfd, 1, why, sizeof(why))) != NULL);
	if (p == NULL)
		return;
	CHECK((w = pa_worker_start(p)) != NULL);
	s = pa_worker_counters(w);
	CHECK((cl = client(&a, "hi", &me)) != -1);
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_CONN);
	CHECK(c.fd > 2 && (fcntl(c.fd, F_GETFD) & FD_CLOEXEC) != 0);
	CHECK((fcntl(c.fd, F_GETFL) & O_NONBLOCK) == 0);
	CHECK(c.proxied == 0);
	CHECK(c.local.ss_family == AF_INET && port_of(&c.local) ==
	    ntohs(a.sin_port));
	CHECK(c.remote.ss_family == AF_INET && port_of(&c.remote) ==
	    ntohs(me.sin_port));
	snprintf(want, sizeof(want), "127.0.0.1:%u", ntohs(me.sin_port));
	CHECK(strcmp(c.peer, want) == 0);
	CHECK(strcmp(s->peer, want) == 0);
	CHECK(s->state == PA_SLOT_BUSY && s->accepted == 1);
	CHECK(pa_worker_leaving(w) == 0);
	CHECK(read(c.fd, buf, sizeof(buf)) == 2);
	close(c.fd);
	pa_worker_done(w);
	CHECK(s->state == PA_SLOT_IDLE);
	close(cl);

	/* A stop: leaving at once, and the next call says exit. */
	pa_pool_stop(p, PA_WHY_STOP);
	pa_pool_stop(p, PA_WHY_ERROR);		/* the first reason stays */
	CHECK(pa_worker_leaving(w) == 1);
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_EXIT && c.fd == -1);
	CHECK(pa_pool_why(p) == PA_WHY_STOP);
	CHECK(strcmp(pa_why_str(pa_pool_why(p)), "stopped") == 0);
	CHECK(s->state == PA_SLOT_DRAINING);
	pa_worker_end(w);
	pa_pool_detach(p);
	close(lfd);
}

/*
 * Reads to end of file: 1 if the server closed the connection (a reset
 * when what the client sent was left unread).
 */
static int
closed(int fd)
{
	char buf[64];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	return n == 0 || errno == ECONNRESET;
}

/* Bound to 0.0.0.0: the local address is the connection's own. */
static void
test_wildcard(void)
{
	struct sockaddr_in a, any;
	struct pa_pool *p;
	struct pa_worker *w;
	struct pa_conn c;
	socklen_t len = sizeof(any);
	char why[256];
	int lfd, cl;

	memset(&any, 0, sizeof(any));
	any.sin_family = AF_INET;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(lfd != -1 && bind(lfd, (struct sockaddr *)&any,
	    sizeof(any)) == 0 && listen(lfd, 4) == 0 &&
	    getsockname(lfd, (struct sockaddr *)&any, &len) == 0);
	a = any;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK((p = pa_pool_attach_fd(lfd, 1, why, sizeof(why))) != NULL);
	if (p == NULL)
		return;
	CHECK((w = pa_worker_start(p)) != NULL);
	CHECK((cl = client(&a, NULL, NULL)) != -1);
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_CONN);
	CHECK(c.local.ss_family == AF_INET &&
	    ((struct sockaddr_in *)(void *)&c.local)->sin_addr.s_addr ==
	    htonl(INADDR_LOOPBACK) && port_of(&c.local) == ntohs(a.sin_port));
	close(c.fd);
	pa_worker_done(w);
	close(cl);
	pa_pool_stop(p, PA_WHY_STOP);
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_EXIT);
	pa_worker_end(w);
	pa_pool_detach(p);
	close(lfd);
}

static void
test_proxy(void)
{
	struct sockaddr_in a;
	struct pa_pool *p;
	struct pa_worker *w;
	struct pa_conn c;
	struct pa_proxy_net net;
	char why[256], buf[64];
	int lfd, cl;

	CHECK((lfd = listener(&a)) != -1);
	CHECK((p = pa_pool_attach_fd(lfd, 1, why, sizeof(why))) != NULL);
	if (p == NULL)
		return;
	CHECK((w = pa_worker_start(p)) != NULL);
	CHECK(pa_pool_proxy(p, 2000, NULL, 0) == 0);

	/* v1: the addresses are the header's, the payload follows. */
	cl = client(&a, "PROXY TCP4 192.0.2.1 198.51.100.2 1234 80\r\nhello",
	    NULL);
	CHECK(cl != -1);
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_CONN);
	CHECK(c.proxied == 1);
	CHECK(strcmp(c.peer, "192.0.2.1:1234") == 0);
	CHECK(strcmp(pa_worker_counters(w)->peer, "192.0.2.1:1234") == 0);
	CHECK(port_of(&c.local) == 80 && port_of(&c.remote) == 1234);
	CHECK(inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&c.local)->
	    sin_addr, buf, sizeof(buf)) != NULL &&
	    strcmp(buf, "198.51.100.2") == 0);
	CHECK(read(c.fd, buf, sizeof(buf)) == 5 && memcmp(buf, "hello", 5) == 0);
	close(c.fd);
	pa_worker_done(w);
	close(cl);

	/* UNKNOWN: the connection's own addresses. */
	CHECK((cl = client(&a, "PROXY UNKNOWN\r\n", NULL)) != -1);
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_CONN);
	CHECK(c.proxied == 0 && strncmp(c.peer, "127.0.0.1:", 10) == 0);
	close(c.fd);
	pa_worker_done(w);
	close(cl);

	/* Malformed: dropped, the slot idle, the client sees the close. */
	CHECK((cl = client(&a, "GET / HTTP/1.0\r\n\r\n", NULL)) != -1);
	errno = 0;
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_DROP && errno == EPROTO);
	CHECK(c.fd == -1 && c.proxy_err == PA_PROXY_NOTPROXY);
	CHECK(pa_worker_counters(w)->state == PA_SLOT_IDLE);
	CHECK(closed(cl));
	close(cl);

	/* Nothing sent within the limit. */
	CHECK(pa_pool_proxy(p, 100, NULL, 0) == 0);
	CHECK((cl = client(&a, NULL, NULL)) != -1);
	errno = 0;
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_DROP && errno == ETIMEDOUT);
	CHECK(c.proxy_err == PA_PROXY_TIMEOUT);
	close(cl);

	/* Closed inside the header. */
	CHECK((cl = client(&a, "PROXY TCP4 ", NULL)) != -1);
	shutdown(cl, SHUT_WR);
	errno = 0;
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_DROP && errno == ECONNRESET);
	close(cl);

	/* A peer outside the networks is dropped unread. */
	CHECK(pa_proxy_net_parse("10.0.0.0/8", &net) == 0);
	CHECK(pa_pool_proxy(p, 1000, &net, 1) == 0);
	cl = client(&a, "PROXY TCP4 192.0.2.1 198.51.100.2 1234 80\r\n", NULL);
	CHECK(cl != -1);
	errno = 0;
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_DROP && errno == EPERM);
	CHECK(closed(cl));
	close(cl);
	CHECK(pa_worker_counters(w)->accepted == 6);
	/* The four drops above, counted in the slot for pa-ctl. */
	CHECK(pa_worker_counters(w)->proxy_dropped == 4);
	pa_worker_proxy_dropped(w);
	CHECK(pa_worker_counters(w)->proxy_dropped == 5);

	pa_pool_stop(p, PA_WHY_STOP);
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_EXIT);
	pa_worker_end(w);
	pa_pool_detach(p);
	close(lfd);
}

static void
test_unix(void)
{
	struct sockaddr_un sun;
	struct pa_pool *p;
	struct pa_worker *w;
	struct pa_conn c;
	char why[256], want[64];
	int lfd, cl;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/t_worker.%ld",
	    (long)getpid());
	unlink(sun.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(lfd != -1 && bind(lfd, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0 && listen(lfd, 4) == 0);
	CHECK((p = pa_pool_attach_fd(lfd, 1, why, sizeof(why))) != NULL);
	if (p == NULL)
		return;
	CHECK(pa_pool_domain(p) == AF_UNIX);
	CHECK((w = pa_worker_start(p)) != NULL);
	cl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(cl != -1 && connect(cl, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0);
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_CONN);
	snprintf(want, sizeof(want), "uid %lu pid %ld",
	    (unsigned long)getuid(), (long)getpid());
	CHECK(strcmp(c.peer, want) == 0);
	CHECK(c.local.ss_family == AF_UNIX && c.remote.ss_family == AF_UNIX);
	close(c.fd);
	pa_worker_done(w);
	close(cl);
	pa_pool_stop(p, PA_WHY_STOP);
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_EXIT);
	pa_worker_end(w);
	pa_pool_detach(p);
	close(lfd);
	unlink(sun.sun_path);
}

struct thr {
	struct pa_pool	*p;
	int		 conns;
	int		 ended;
};

static void *
serve_thread(void *arg)
{
	struct thr *t = arg;
	struct pa_worker *w;
	struct pa_conn c;
	enum pa_next r;

	if ((w = pa_worker_start(t->p)) == NULL)
		return NULL;
	while ((r = pa_worker_accept(w, &c)) != PA_NEXT_EXIT) {
		if (r != PA_NEXT_CONN)
			continue;
		__atomic_add_fetch(&t->conns, 1, __ATOMIC_ACQ_REL);
		close(c.fd);
		pa_worker_done(w);
	}
	pa_worker_end(w);
	__atomic_add_fetch(&t->ended, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

/*
 * Alone with threads on a blocking socket (as pa-listen leaves it): every
 * thread is woken by one connection, one takes it, and none is left
 * stuck in accept where the stop cannot reach it.
 */
static void
test_threads_alone(void)
{
	struct sockaddr_in a;
	struct thr t = { NULL, 0, 0 };
	pthread_t th[4];
	uint64_t t0;
	char why[256];
	int lfd, cl, i;

	CHECK((lfd = listener(&a)) != -1);
	CHECK((t.p = pa_pool_attach_fd(lfd, 4, why, sizeof(why))) != NULL);
	if (t.p == NULL)
		return;
	CHECK((fcntl(lfd, F_GETFL) & O_NONBLOCK) != 0);
	for (i = 0; i < 4; i++)
		CHECK(pthread_create(&th[i], NULL, serve_thread, &t) == 0);
	for (i = 0; i < 5; i++) {
		CHECK((cl = client(&a, NULL, NULL)) != -1);
		CHECK(closed(cl));
		close(cl);
	}
	CHECK(__atomic_load_n(&t.conns, __ATOMIC_ACQUIRE) == 5);
	t0 = pa_now_ns();
	pa_pool_stop(t.p, PA_WHY_STOP);
	while (__atomic_load_n(&t.ended, __ATOMIC_ACQUIRE) < 4 &&
	    pa_now_ns() - t0 < 5000000000ull)
		usleep(1000);
	CHECK(__atomic_load_n(&t.ended, __ATOMIC_ACQUIRE) == 4);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	pa_pool_detach(t.p);
	close(lfd);
}

/* In a pool: the slot holds the peer's text, and pa-ctl sees it. */
static void
test_region(void)
{
	struct sockaddr_in a, me;
	struct pa_region r;
	struct pa_pool *p;
	struct pa_worker *w;
	struct pa_conn c;
	char why[256], want[64], got[PA_PEER_MAX];
	int lfd, cl, pp[2];
	uint32_t idx;

	CHECK((lfd = listener(&a)) != -1);
	if (lfd != 3) {
		CHECK(dup2(lfd, 3) == 3);
		close(lfd);
	}
	CHECK(pa_region_create(&r, 1, 4) == 0);
	CHECK(pipe2(pp, O_CLOEXEC) == 0);
	snprintf(why, sizeof(why), "%d", r.fd);
	setenv(PA_ENV_REGION, why, 1);
	setenv(PA_ENV_HANDLER, "0", 1);
	snprintf(why, sizeof(why), "%d", pp[1]);
	setenv(PA_ENV_READY, why, 1);
	p = pa_pool_attach(1, why, sizeof(why));
	CHECK(p != NULL);
	if (p == NULL) {
		fprintf(stderr, "attach: %s\n", why);
		return;
	}
	CHECK(pa_pool_index(p) == 0);
	CHECK((w = pa_worker_start(p)) != NULL);
	CHECK((cl = client(&a, NULL, &me)) != -1);
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_CONN);
	/* Ready once its only thread went idle: the index on the pipe. */
	CHECK(read(pp[0], &idx, sizeof(idx)) == sizeof(idx) && idx == 0);
	CHECK(r.hdr->idle == 0);
	snprintf(want, sizeof(want), "127.0.0.1:%u", ntohs(me.sin_port));
	CHECK(pa_slot_get_peer(&r.slots[pa_worker_slot(w)], got,
	    sizeof(got)) == 0 && strcmp(got, want) == 0);
	CHECK(r.slots[pa_worker_slot(w)].state == PA_SLOT_BUSY);
	close(c.fd);
	pa_worker_done(w);
	CHECK(r.hdr->idle == 1);
	close(cl);
	/* Retired by pa-spawn: leaving, then exit with the reason. */
	PA_STORE(&r.procs[0].cmd, (uint32_t)PA_CMD_EXIT);
	CHECK(pa_worker_leaving(w) == 1);
	CHECK(pa_worker_accept(w, &c) == PA_NEXT_EXIT);
	CHECK(pa_pool_why(p) == PA_WHY_RETIRE);
	CHECK(r.hdr->idle == 0);
	pa_worker_end(w);
	pa_pool_detach(p);
	pa_region_unmap(&r);
	close(pp[0]);
	close(3);
}

int
main(void)
{
	test_errors();
	test_accept();
	test_wildcard();
	test_proxy();
	test_unix();
	test_threads_alone();
	test_region();
	T_DONE();
}
