/*
 * The notification (contract 2, pa(7)): the only writer of the words of
 * the region's header that it uses, gen, waiting, pending, deaf, idle and
 * draining, and of each slot's asleep flag, with both halves in this one
 * file: the notifier's (pa-spawn) and the handler threads' (pa-handler,
 * libpa's in-process workers).  Every futex call goes through
 * lib/pa_futex.c.  tests/model/notify.pml is the protocol as a Promela
 * model, step by step as it is written here.
 *
 * The words:
 *   gen      the futex word; the notifier bumps it on every event and
 *            before every wake-up; a thread reads it before it accepts
 *            and sleeps only on the value it read.
 *   waiting  threads between "about to sleep" and "awake again" (they
 *            add themselves before FUTEX_WAIT, take themselves off
 *            after it returns).
 *   pending  threads the notifier woke that have not run yet.
 *   deaf     1: the notifier stopped watching the listener; the first
 *            thread about to sleep sets 0 and writes PA_READY_LISTEN on
 *            the readiness pipe.
 *   idle     threads idle now (not serving).
 *   draining 1: the pool drains; no thread defers.
 *
 * The invariants:
 *   I1  A thread sleeps only on the generation it read before its last
 *       accept (or its decision not to accept): a bump in between makes
 *       its FUTEX_WAIT return at once.
 *   I2  The notifier reads the counts, then bumps the generation, then
 *       wakes: a thread it counted in waiting that is not yet in the
 *       kernel read the generation before the bump, so it cannot sleep
 *       through it; it accepts instead.
 *   I3  A thread awake without having been woken (it finished a
 *       connection) leaves the queue to the threads woken for it while
 *       any thread waits or is pending; otherwise it accepts until the
 *       queue is empty.  A woken thread, or one whose wait no wake-up
 *       ended, accepts.
 *   I4  Deaf (Dekker's handshake): the notifier goes deaf when a listener
 *       event finds no thread to wake, or a wake-up found fewer sleepers
 *       than connections.  It sets deaf, then bumps and reads waiting; a
 *       thread adds itself to waiting, then reads deaf (all sequentially
 *       consistent).  Either the thread sees deaf and has the notifier
 *       listen again, or the notifier sees the thread and wakes it (I2
 *       makes that wake-up reach it, or its FUTEX_WAIT return at once).
 *   I5  pending never counts more than the threads woken and not yet
 *       run; a count left over by a thread killed in between is dropped
 *       a second after the last wake-up, and when a handler is reaped.
 */
#include <errno.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "pa.h"

#define PENDING_NS	1000000000ull	/* a woken thread runs well within */

#ifdef PA_NOTIFY_TEST
/* Only in tests/unit/t_notify.c: a pause at the points that race. */
enum { PA_NOTIFY_P_GEN, PA_NOTIFY_P_SLEEP, PA_NOTIFY_P_BUMP };
void	pa_notify_test_pause(int);
#define PAUSE(p)	pa_notify_test_pause(p)
#else
#define PAUSE(p)	do { } while (0)
#endif

#define SC_LOAD(p)	__atomic_load_n((p), __ATOMIC_SEQ_CST)
#define SC_STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define SC_ADD(p, v)	__atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define SC_SUB(p, v)	__atomic_sub_fetch((p), (v), __ATOMIC_SEQ_CST)

/* Take one from a count that may already be 0 (a reset, a death). */
static void
dec_floor(uint32_t *c)
{
	uint32_t v = SC_LOAD(c);

	while (v > 0 && !__atomic_compare_exchange_n(c, &v, v - 1, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
}

static void
bump(struct pa_region_hdr *h)
{
	SC_ADD(&h->gen, 1);
}

/* ------------------------------------------------------ handler threads */

uint32_t
pa_notify_gen(struct pa_region_hdr *h)
{
	PAUSE(PA_NOTIFY_P_GEN);
	return SC_LOAD(&h->gen);
}

int
pa_notify_defer(struct pa_region_hdr *h)
{
	return (SC_LOAD(&h->pending) > 0 || SC_LOAD(&h->waiting) > 0) &&
	    !SC_LOAD(&h->draining);
}

void
pa_notify_idle(struct pa_region_hdr *h, int up)
{
	if (up)
		SC_ADD(&h->idle, 1);
	else
		dec_floor(&h->idle);
}

/*
 * The first thread to sleep while the notifier is deaf has it listen
 * again.  The pipe is non-blocking; a full pipe means pa-spawn has
 * reading to do anyway.
 */
static void
hear_again(struct pa_region_hdr *h, int readyfd)
{
	uint32_t one = 1, msg = PA_READY_LISTEN;
	ssize_t n;

	if (SC_LOAD(&h->deaf) != 1 || !__atomic_compare_exchange_n(&h->deaf,
	    &one, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) || readyfd == -1)
		return;
	do
		n = write(readyfd, &msg, sizeof(msg));
	while (n == -1 && errno == EINTR);
}

int
pa_notify_wait(struct pa_region_hdr *h, struct pa_slot *s, uint32_t g,
    uint32_t bit, int ms, int readyfd)
{
	struct timespec ts;
	int r, e;

	/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	SC_STORE(&s->asleep, 1);
	SC_ADD(&h->waiting, 1);
	hear_again(h, readyfd);
	PAUSE(PA_NOTIFY_P_SLEEP);
	r = pa_futex_wait_bitset(&h->gen, g, &ts, bit);
	e = errno;
	/* Woken: no longer pending, then no longer waiting (the sum). */
	if (r == 0)
		dec_floor(&h->pending);
	dec_floor(&h->waiting);
	SC_STORE(&s->asleep, 0);
	errno = e;
	return r;
}

void
pa_notify_stop(struct pa_region_hdr *h, uint32_t bit)
{
	bump(h);
	(void)pa_futex_wake_bitset(&h->gen, INT_MAX, bit);
}

/* ------------------------------------------------------------ notifier */

void
pa_notify_init(struct pa_notifier *n, struct pa_region_hdr *h,
    long (*queue)(void *), int (*watch)(void *, int), void *arg)
{
	n->h = h;
	n->deaf = 0;
	n->draining = 0;
	n->woke_ns = 0;
	n->queue = queue;
	n->watch = watch;
	n->arg = arg;
}

/* Threads waiting and not already woken: the ones a wake-up can reach. */
static uint32_t
sleepers(struct pa_region_hdr *h)
{
	uint32_t w, p;

	w = SC_LOAD(&h->waiting);
	p = SC_LOAD(&h->pending);
	return w > p ? w - p : 0;
}

void
pa_notify_expire(struct pa_notifier *n)
{
	struct pa_region_hdr *h = n->h;

	if (SC_LOAD(&h->pending) != 0 && pa_now_ns() - n->woke_ns > PENDING_NS)
		SC_STORE(&h->pending, 0);
}

/*
 * Wake up to k threads: count them pending first (they count themselves
 * off), then bump the generation (I2), then wake.
 */
static int
wake(struct pa_notifier *n, uint32_t k)
{
	struct pa_region_hdr *h = n->h;
	int w;

	if (k == 0)
		return 0;
	if (k > INT_MAX)
		k = INT_MAX;
	SC_ADD(&h->pending, k);
	bump(h);
	if ((w = pa_futex_wake(&h->gen, (int)k)) < 0)
		w = 0;
	SC_SUB(&h->pending, k - (uint32_t)w);
	__atomic_add_fetch(&h->woken, (uint64_t)w, __ATOMIC_RELAXED);
	if (w > 0)
		n->woke_ns = pa_now_ns();
	return w;
}

/*
 * No thread left to wake: every idle thread accepts until the queue is
 * empty before it sleeps, and every busy one does so when it is done, so
 * what is queued will be taken without a wake-up.  Stop watching the
 * listener until the first thread is about to sleep (I4): set deaf, bump,
 * and wake whoever is still counted waiting; each of those accepts and,
 * about to sleep again, finds deaf set.
 */
static void
go_deaf(struct pa_notifier *n)
{
	struct pa_region_hdr *h = n->h;

	if (n->deaf || n->draining)
		return;
	SC_STORE(&h->deaf, 1);
	/* Failing, we still watch: only an event more than needed. */
	(void)n->watch(n->arg, 0);
	n->deaf = 1;
	__atomic_add_fetch(&h->deaf_periods, 1, __ATOMIC_RELAXED);
	bump(h);
	(void)wake(n, sleepers(h));
}

int
pa_notify_event(struct pa_notifier *n, int event)
{
	struct pa_region_hdr *h = n->h;
	uint32_t waiting, pending;
	long q, need;
	int unknown = 0;

	/* A thread between its read of the generation and its sleep wakes. */
	bump(h);
	PAUSE(PA_NOTIFY_P_BUMP);
	if (event) {
		__atomic_add_fetch(&h->events, 1, __ATOMIC_RELAXED);
		if (SC_LOAD(&h->idle) == 0)
			__atomic_add_fetch(&h->maxed, 1, __ATOMIC_RELAXED);
		if (sleepers(h) == 0) {
			go_deaf(n);
			if (n->deaf)
				return 0;
		}
	}
	/* The queue first, then the threads on their way: never too few. */
	if ((q = n->queue(n->arg)) < 0) {
		unknown = 1;
		if ((q = SC_LOAD(&h->idle)) == 0)
			q = 1;
	}
	__atomic_store_n(&h->queue, (uint64_t)q, __ATOMIC_RELAXED);
	if ((uint64_t)q > __atomic_load_n(&h->queue_peak, __ATOMIC_RELAXED))
		__atomic_store_n(&h->queue_peak, (uint64_t)q,
		    __ATOMIC_RELAXED);
	pa_notify_expire(n);
	pending = SC_LOAD(&h->pending);
	waiting = SC_LOAD(&h->waiting);
	if (pending > waiting)
		pending = waiting;
	need = q - (long)pending;
	if (need > INT_MAX)
		need = INT_MAX;
	/*
	 * Fewer asleep than connections: the rest are for threads awake,
	 * which take them only while none is counted waiting or pending (I3):
	 * go deaf, so that the first to sleep has us count again.
	 */
	if (need > 0 && wake(n, (uint32_t)need) < need)
		go_deaf(n);
	return unknown ? -1 : 0;
}

int
pa_notify_deaf(const struct pa_notifier *n)
{
	return n->deaf;
}

int
pa_notify_want_hear(struct pa_notifier *n)
{
	return n->deaf && (n->draining || SC_LOAD(&n->h->deaf) == 0 ||
	    sleepers(n->h) != 0);
}

void
pa_notify_hear(struct pa_notifier *n)
{
	SC_STORE(&n->h->deaf, 0);
	n->deaf = 0;
}

void
pa_notify_drain(struct pa_notifier *n)
{
	struct pa_region_hdr *h = n->h;

	n->draining = 1;
	SC_STORE(&h->draining, 1);
	bump(h);
	(void)pa_futex_wake(&h->gen, INT_MAX);
}

int
pa_notify_draining(const struct pa_region_hdr *h)
{
	return __atomic_load_n(&h->draining, __ATOMIC_SEQ_CST) != 0;
}

void
pa_notify_lost(struct pa_region_hdr *h)
{
	SC_STORE(&h->pending, 0);
}

void
pa_notify_slot_gone(struct pa_region_hdr *h, struct pa_slot *s,
    uint32_t state)
{
	if (state == PA_SLOT_IDLE)
		dec_floor(&h->idle);
	/* Killed asleep: it no longer waits. */
	if (SC_LOAD(&s->asleep)) {
		SC_STORE(&s->asleep, 0);
		dec_floor(&h->waiting);
	}
}

void
pa_notify_heal(struct pa_notifier *n, struct pa_region *r, uint32_t nslots)
{
	struct pa_region_hdr *h = r->hdr;
	uint32_t i, idle = 0, waiting = 0, st;

	for (i = 0; i < nslots; i++) {
		st = SC_LOAD(&r->slots[i].state);
		if (st == PA_SLOT_IDLE)
			idle++;
		if (st == PA_SLOT_IDLE && SC_LOAD(&r->slots[i].asleep) == 1)
			waiting++;
		else
			SC_STORE(&r->slots[i].asleep, 0);
	}
	SC_STORE(&h->idle, idle);
	SC_STORE(&h->waiting, waiting);
	SC_STORE(&h->pending, 0);
	SC_STORE(&h->deaf, 0);
	SC_STORE(&h->draining, (uint32_t)(n->draining != 0));
	/* Every sleeper looks again: none can have slept through anything. */
	bump(h);
	(void)pa_futex_wake(&h->gen, INT_MAX);
}
