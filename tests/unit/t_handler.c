/*
 * Unit tests of lib/pa_handler.c, playing pa-spawn's part in-process:
 * attach (and refusing a bad environment), slot states and the idle
 * count, readiness, a connection, a futile wake-up, retirement, a stop
 * that ends a wait at once, the drain, and serving alone.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"
#include "t.h"

static struct sockaddr_in addr;

/* A TCP listener on 127.0.0.1, put on fd 3. */
static int
listener3(void)
{
	socklen_t len = sizeof(addr);
	int fd;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 ||
	    listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) == -1)
		return -1;
	if (fd != 3) {
		if (dup2(fd, 3) == -1)
			return -1;
		close(fd);
	}
	return 3;
}

static int
client(void)
{
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (c == -1 || connect(c, (struct sockaddr *)&addr,
	    sizeof(addr)) == -1)
		return -1;
	return c;
}

static void
setenvn(const char *name, int v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", v);
	setenv(name, buf, 1);
}

static void
test_bad_env(struct pa_region *r)
{
	char why[256];

	setenv(PA_ENV_REGION, "x", 1);
	CHECK(pa_pool_attach(1, why, sizeof(why)) == NULL);
	CHECK(strstr(why, "no fd number") != NULL);
	setenvn(PA_ENV_REGION, 0);
	setenv(PA_ENV_HANDLER, "0", 1);
	CHECK(pa_pool_attach(1, why, sizeof(why)) == NULL);
	setenvn(PA_ENV_REGION, r->fd);
	setenv(PA_ENV_HANDLER, "2", 1);		/* nprocs is 2: 0 or 1 */
	CHECK(pa_pool_attach(1, why, sizeof(why)) == NULL && errno == EINVAL);
	unsetenv(PA_ENV_HANDLER);
	CHECK(pa_pool_attach(1, why, sizeof(why)) == NULL);
	CHECK(pa_pool_attach(0, why, sizeof(why)) == NULL);
}

struct waiter {
	struct pa_worker	*w;
	enum pa_next		 r;
	int			 fd;
};

static void *
next_in_thread(void *arg)
{
	struct waiter *x = arg;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	x->r = pa_worker_next(x->w, &x->fd, (struct sockaddr *)&ss, &len);
	return NULL;
}

static void
test_region(void)
{
	struct pa_region r;
	struct pa_pool *p;
	struct pa_worker *w;
	struct sockaddr_storage ss;
	struct waiter x;
	pthread_t th;
	socklen_t len;
	uint32_t idx = 99;
	uint64_t t0;
	char why[256];
	int pp[2], c, fd, st;

	CHECK(pa_region_create(&r, 2, 8) == 0);
	CHECK(pipe2(pp, O_CLOEXEC) == 0);
	test_bad_env(&r);

	setenvn(PA_ENV_REGION, r.fd);
	setenv(PA_ENV_HANDLER, "1", 1);
	setenvn(PA_ENV_READY, pp[1]);
	p = pa_pool_attach(1, why, sizeof(why));
	CHECK(p != NULL);
	if (p == NULL) {
		fprintf(stderr, "attach: %s\n", why);
		return;
	}
	CHECK(pa_pool_index(p) == 1 && pa_pool_fd(p) == 3);
	CHECK(pa_pool_domain(p) == AF_INET);
	CHECK(getenv(PA_ENV_REGION) == NULL && getenv(PA_ENV_HANDLER) == NULL);
	CHECK((fcntl(3, F_GETFL) & O_NONBLOCK) != 0);
	CHECK((fcntl(3, F_GETFD) & FD_CLOEXEC) != 0);
	CHECK((fcntl(r.fd, F_GETFD) & FD_CLOEXEC) != 0);

	w = pa_worker_start(p);
	CHECK(w != NULL && pa_worker_slot(w) >= 0);
	CHECK(r.slots[pa_worker_slot(w)].state == PA_SLOT_STARTING);
	CHECK(r.slots[pa_worker_slot(w)].proc == 1);
	CHECK(pa_worker_start(p) == NULL);	/* one thread asked for */

	/* A queued connection: taken before any sleep, slot BUSY. */
	c = client();
	CHECK(c >= 0);
	len = sizeof(ss);
	CHECK(pa_worker_next(w, &fd, (struct sockaddr *)&ss, &len) ==
	    PA_NEXT_CONN);
	CHECK(fd > 2 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	CHECK(ss.ss_family == AF_INET);
	CHECK(r.slots[pa_worker_slot(w)].state == PA_SLOT_BUSY);
	CHECK(r.slots[pa_worker_slot(w)].accepted == 1);
	CHECK(r.hdr->idle == 0);
	/* Readiness was reported when the thread first went idle. */
	CHECK(read(pp[0], &idx, sizeof(idx)) == (ssize_t)sizeof(idx));
	CHECK(idx == 1 && r.procs[1].ready == 1);
	pa_worker_peer(w, "127.0.0.1:1");
	CHECK(strcmp(r.slots[pa_worker_slot(w)].peer, "127.0.0.1:1") == 0);
	close(fd);
	close(c);
	pa_worker_done(w);
	CHECK(r.slots[pa_worker_slot(w)].state == PA_SLOT_IDLE);
	CHECK(r.hdr->idle == 1);

	/* A wake-up with nothing queued is futile; then a connection. */
	x.w = w;
	CHECK(pthread_create(&th, NULL, next_in_thread, &x) == 0);
	while (PA_LOAD(&r.hdr->waiting) == 0)
		usleep(1000);
	PA_INC(&r.hdr->gen);
	pa_futex_wake(&r.hdr->gen, 1);
	while (r.slots[pa_worker_slot(w)].futile == 0)
		usleep(1000);
	c = client();
	PA_INC(&r.hdr->gen);
	pa_futex_wake(&r.hdr->gen, 1);
	pthread_join(th, NULL);
	CHECK(x.r == PA_NEXT_CONN);
	CHECK(r.slots[pa_worker_slot(w)].futile == 1);
	CHECK(r.slots[pa_worker_slot(w)].wakeups >= 2);
	CHECK(r.slots[pa_worker_slot(w)].acc_err[PA_AE_EAGAIN] >= 2);
	close(x.fd);
	close(c);
	pa_worker_done(w);

	/* A stop ends the wait at once, without waking the pool. */
	CHECK(pthread_create(&th, NULL, next_in_thread, &x) == 0);
	while (PA_LOAD(&r.hdr->waiting) == 0)
		usleep(1000);
	t0 = pa_now_ns();
	pa_pool_stop(p, PA_WHY_STOP);
	pthread_join(th, NULL);
	CHECK(x.r == PA_NEXT_EXIT);
	CHECK(pa_now_ns() - t0 < 500000000ull);
	CHECK(pa_pool_why(p) == PA_WHY_STOP);
	CHECK(strcmp(pa_why_str(pa_pool_why(p)), "stopped") == 0);
	CHECK(r.slots[pa_worker_slot(w)].state == PA_SLOT_DRAINING);
	CHECK(r.hdr->idle == 0);
	/* Stopped: a queued connection is left for the others. */
	c = client();
	CHECK(pa_worker_next(w, &fd, (struct sockaddr *)&ss, &len) ==
	    PA_NEXT_EXIT);
	pa_worker_end(w);
	pa_pool_detach(p);
	st = r.slots[0].state;
	pa_slot_release_proc(&r, 1);
	CHECK(st == PA_SLOT_DRAINING || r.slots[0].state == PA_SLOT_EMPTY);

	/* Retired by pa-spawn: no more accepts. */
	setenvn(PA_ENV_REGION, r.fd);
	setenv(PA_ENV_HANDLER, "0", 1);
	p = pa_pool_attach(1, why, sizeof(why));
	CHECK(p != NULL);
	w = pa_worker_start(p);
	CHECK(w != NULL);
	PA_STORE(&r.procs[0].cmd, PA_CMD_EXIT);
	CHECK(pa_worker_next(w, &fd, (struct sockaddr *)&ss, &len) ==
	    PA_NEXT_EXIT);
	CHECK(pa_pool_why(p) == PA_WHY_RETIRE);
	pa_worker_end(w);
	pa_pool_detach(p);
	pa_slot_release_proc(&r, 0);
	PA_STORE(&r.procs[0].cmd, PA_CMD_RUN);

	/* The drain: the queue is served, then the handler leaves. */
	setenvn(PA_ENV_REGION, r.fd);
	setenv(PA_ENV_HANDLER, "0", 1);
	p = pa_pool_attach(1, why, sizeof(why));
	w = pa_worker_start(p);
	PA_STORE(&r.hdr->draining, 1);
	CHECK(pa_worker_next(w, &fd, (struct sockaddr *)&ss, &len) ==
	    PA_NEXT_CONN);
	close(fd);
	close(c);
	pa_worker_done(w);
	CHECK(pa_worker_next(w, &fd, (struct sockaddr *)&ss, &len) ==
	    PA_NEXT_EXIT);
	CHECK(pa_pool_why(p) == PA_WHY_DRAIN);
	CHECK(r.hdr->idle == 0);
	pa_worker_end(w);
	pa_pool_detach(p);
	pa_region_unmap(&r);
	close(pp[0]);
}

/* No region: serving alone on fd 3, polling first. */
static void
test_alone(void)
{
	struct pa_pool *p;
	struct pa_worker *w;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char why[256];
	int c, fd;

	unsetenv(PA_ENV_REGION);
	unsetenv(PA_ENV_HANDLER);
	unsetenv(PA_ENV_READY);
	/* Blocking, as pa-listen leaves it. */
	CHECK(fcntl(3, F_SETFL, fcntl(3, F_GETFL) & ~O_NONBLOCK) == 0);
	p = pa_pool_attach(2, why, sizeof(why));
	CHECK(p != NULL);
	if (p == NULL) {
		fprintf(stderr, "attach: %s\n", why);
		return;
	}
	CHECK(pa_pool_index(p) == -1);
	w = pa_worker_start(p);
	CHECK(w != NULL && pa_worker_slot(w) == -1);
	c = client();
	CHECK(pa_worker_next(w, &fd, (struct sockaddr *)&ss, &len) ==
	    PA_NEXT_CONN);
	CHECK(pa_worker_counters(w)->accepted == 1);
	close(fd);
	close(c);
	pa_worker_done(w);
	pa_pool_stop(p, PA_WHY_STOP);
	CHECK(pa_worker_next(w, &fd, (struct sockaddr *)&ss, &len) ==
	    PA_NEXT_EXIT);
	pa_worker_end(w);
	pa_pool_detach(p);
}

int
main(void)
{
	if (listener3() != 3) {
		perror("listener");
		return 1;
	}
	test_region();
	test_alone();
	T_DONE();
}
