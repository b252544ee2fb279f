/*
 * Unit tests of lib/pa_notify.c against the real code of both halves:
 * handler threads of lib/pa_handler.c, and the notifier as pa-spawn runs
 * it, played by the main thread.  lib/pa_notify.c is compiled in here
 * with PA_NOTIFY_TEST, which gives it pauses at the points that race:
 * before a thread reads the generation, after it counted itself waiting
 * and before FUTEX_WAIT, and after the notifier's first bump.
 *
 * The lost wake-up: a thread (the racer) reads the generation just after
 * the notifier's bump, defers because a thread sleeps, counts itself
 * waiting and is held before FUTEX_WAIT; the notifier counts it, its
 * wake-ups reach only the real sleeper, and the racer then waits.  Two
 * connections were queued: the second must not wait for the bounded
 * one-second wait.
 */
#define PA_NOTIFY_TEST
#include "../../lib/pa_notify.c"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"

#define NT	3
#define LIMIT_NS	(5 * 1000000000ull)	/* any wait of this test */

static struct sockaddr_in addr;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int phase;		/* where the racer and the notifier are */
static int armed;		/* the notifier pauses after its bump */
static __thread int racer;
static unsigned accepted;

/* Wait (mu held) until phase reaches p, for LIMIT_NS at most. */
static int
await(int p)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += LIMIT_NS / 1000000000ull;
	while (phase < p)
		if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT)
			return -1;
	return 0;
}

static void
advance(int p)
{
	phase = p;
	pthread_cond_broadcast(&cv);
}

void
pa_notify_test_pause(int pt)
{
	/* The other threads pass untouched: no lock that could block them. */
	if (!racer && !(pt == PA_NOTIFY_P_BUMP &&
	    __atomic_load_n(&armed, __ATOMIC_SEQ_CST)))
		return;
	pthread_mutex_lock(&mu);
	if (racer && pt == PA_NOTIFY_P_GEN && phase == 0) {
		/* Held until the notifier has bumped the generation. */
		advance(1);
		(void)await(2);
	} else if (racer && pt == PA_NOTIFY_P_SLEEP && phase == 2) {
		/* Counted waiting, not yet in the kernel: the notifier runs. */
		advance(3);
		(void)await(4);
	} else if (!racer && pt == PA_NOTIFY_P_BUMP && armed) {
		armed = 0;
		advance(2);
		(void)await(3);
	}
	pthread_mutex_unlock(&mu);
}

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

struct role {
	struct pa_pool	*p;
	int		 racer;
};

/* A handler thread: serve each connection until the client closes it. */
static void *
worker(void *arg)
{
	struct role *ro = arg;
	struct pa_worker *w;
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[64];
	int fd;

	racer = ro->racer;
	if ((w = pa_worker_start(ro->p)) == NULL)
		return NULL;
	for (;;) {
		len = sizeof(ss);
		if (pa_worker_next(w, &fd, (struct sockaddr *)&ss, &len) !=
		    PA_NEXT_CONN)
			break;
		__atomic_add_fetch(&accepted, 1, __ATOMIC_SEQ_CST);
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		pa_worker_done(w);
	}
	pa_worker_end(w);
	return NULL;
}

/* The notifier's callbacks, as pa-spawn's: the queue, and no epoll. */
static long
queue3(void *arg)
{
	(void)arg;
	return pa_queue_len(3, AF_INET);
}

static int
watch_none(void *arg, int on)
{
	(void)arg;
	(void)on;
	return 0;
}

/* The thread is blocked in futex(2) (/proc/self/task/TID/syscall). */
static int
in_futex(pid_t tid)
{
	char path[64], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/syscall", (long)tid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10) == SYS_futex;
}

/* Wait until exactly n slots are asleep in FUTEX_WAIT. */
static int
asleep(struct pa_region *r, unsigned n)
{
	uint64_t t0 = pa_now_ns();
	unsigned i, k;

	do {
		for (i = k = 0; i < r->hdr->nslots; i++)
			if (PA_LOAD(&r->slots[i].asleep) &&
			    in_futex(r->slots[i].tid))
				k++;
		if (k == n && PA_LOAD(&r->hdr->waiting) == n)
			return 0;
		usleep(1000);
	} while (pa_now_ns() - t0 < LIMIT_NS);
	return -1;
}

static int
until_accepted(unsigned n)
{
	uint64_t t0 = pa_now_ns();

	while (__atomic_load_n(&accepted, __ATOMIC_SEQ_CST) < n)
		if (pa_now_ns() - t0 > LIMIT_NS)
			return -1;
		else
			usleep(200);
	return 0;
}

static void
test_lost_wakeup(void)
{
	struct pa_region r;
	struct pa_notifier n;
	struct pa_pool *p;
	struct role ro[NT];
	pthread_t th[NT];
	uint64_t t0, ms;
	char why[256], buf[16];
	int pp[2], k1, k2, k3, i;

	CHECK(listener3() == 3);
	CHECK(pa_region_create(&r, 1, 8) == 0);
	CHECK(pipe2(pp, O_CLOEXEC | O_NONBLOCK) == 0);
	snprintf(buf, sizeof(buf), "%d", r.fd);
	setenv(PA_ENV_REGION, buf, 1);
	setenv(PA_ENV_HANDLER, "0", 1);
	snprintf(buf, sizeof(buf), "%d", pp[1]);
	setenv(PA_ENV_READY, buf, 1);
	CHECK(fcntl(3, F_SETFL, O_NONBLOCK) == 0);
	p = pa_pool_attach(NT, why, sizeof(why));
	CHECK(p != NULL);
	if (p == NULL) {
		fprintf(stderr, "attach: %s\n", why);
		return;
	}
	pa_notify_init(&n, r.hdr, queue3, watch_none, NULL);

	/* Two threads asleep; a connection held by the one woken for it. */
	for (i = 0; i < NT; i++) {
		ro[i].p = p;
		ro[i].racer = i == NT - 1;
	}
	for (i = 0; i < NT - 1; i++)
		CHECK(pthread_create(&th[i], NULL, worker, &ro[i]) == 0);
	CHECK(asleep(&r, 2) == 0);
	CHECK((k1 = client()) != -1);
	while (pa_queue_len(3, AF_INET) != 1)
		usleep(100);
	CHECK(pa_notify_event(&n, 1) == 0);
	CHECK(until_accepted(1) == 0);
	CHECK(asleep(&r, 1) == 0);

	/* The racer is held before it reads the generation. */
	CHECK(pthread_create(&th[NT - 1], NULL, worker, &ro[NT - 1]) == 0);
	pthread_mutex_lock(&mu);
	CHECK(await(1) == 0);
	pthread_mutex_unlock(&mu);

	/* Two connections queued, their clients gone: quick to serve. */
	CHECK((k2 = client()) != -1);
	CHECK((k3 = client()) != -1);
	t0 = pa_now_ns();
	while (pa_queue_len(3, AF_INET) != 2 && pa_now_ns() - t0 < LIMIT_NS)
		usleep(100);
	close(k2);
	close(k3);
	__atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
	CHECK(pa_notify_event(&n, 1) == 0);
	pthread_mutex_lock(&mu);
	CHECK(phase == 3);
	t0 = pa_now_ns();
	advance(4);
	pthread_mutex_unlock(&mu);
	/* The thread busy since the start finishes after the race. */
	close(k1);

	/* Both connections taken, well within the bounded wait. */
	CHECK(until_accepted(3) == 0);
	ms = (pa_now_ns() - t0) / 1000000;
	printf("lost wake-up: the second queued connection taken after "
	    "%llu ms\n", (unsigned long long)ms);
	CHECK(ms < 300);

	pa_pool_stop(p, PA_WHY_STOP);
	for (i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	pa_pool_detach(p);
	close(pp[0]);
	pa_region_unmap(&r);
	close(3);
}

int
main(void)
{
	test_lost_wakeup();
	T_DONE();
}
