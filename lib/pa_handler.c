/*
 * The handler side of the pool (contract 2 and the handler protocol):
 * attach to the region pa-spawn shares, claim one slot per thread, and
 * wait for connections on the notification word.  Without a region the
 * handler serves alone on its listening socket.  Nothing here prints:
 * the caller learns of warnings through pa_worker_next()'s result.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pa.h"

#define WAIT_MS		1000		/* the bounded futex wait */
#define BACKOFF_MS	100		/* after EMFILE, ENFILE, ENOBUFS, ENOMEM */
#define WARN_NS		(10 * 1000000000ull) /* one resource warning per 10 s */

struct pa_pool {
	struct pa_region	 r;
	int			 standalone;
	int			 nonblock;	/* the listener is O_NONBLOCK */
	int			 lfd;
	int			 domain;
	int			 efd;		/* eventfd: readable once stopped */
	int			 readyfd;	/* the readiness pipe; -1: none */
	uint32_t		 idx;		/* PA_HANDLER */
	uint32_t		 bit;		/* futex bitset of this process */
	unsigned		 nthreads;
	unsigned		 nworkers;	/* entries used in w[] */
	struct pa_worker	**w;		/* nthreads entries */
	unsigned		 nidle;		/* threads gone idle at least once */
	int			 why;		/* enum pa_exit_why */
	pid_t			 spawner;
	int			 proxy_ms;	/* 0: no PROXY header expected */
	struct sockaddr_storage	 lss;		/* the listener's address */
	socklen_t		 lsslen;
	int			 localwild;	/* bound to a wildcard address */
	struct pa_proxy_net	*nets;		/* peers that may send one */
	size_t			 nnets;
};

struct pa_worker {
	struct pa_pool		*p;
	struct pa_slot		*s;	/* in the region, or &own */
	struct pa_slot		 own;
	int			 slot;	/* -1: standalone */
	int			 idle;	/* counted in hdr->idle */
	int			 started;
	int			 woke;	/* the next accept follows a wake-up */
	int			 nodefer; /* ... follows a wait that was not
					    ended by a wake-up */
	uint64_t		 warn_ns;
};

static int
env_fd(const char *name, int *fd)
{
	const char *v, *errstr;

	if ((v = getenv(name)) == NULL)
		return 0;
	*fd = (int)strtonum(v, 0, INT_MAX, &errstr);
	if (errstr != NULL) {
		errno = EINVAL;
		return -1;
	}
	return 1;
}

static void
setwhy(struct pa_pool *p, enum pa_exit_why why)
{
	int none = PA_WHY_NONE;

	__atomic_compare_exchange_n(&p->why, &none, (int)why, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static int
cloexec(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1)
		return -1;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

static int
attach_region(struct pa_pool *p, int rfd, char *why, size_t len)
{
	const char *v, *errstr;
	int fl;

	if (pa_region_map(&p->r, rfd) == -1) {
		snprintf(why, len, "fd %d is no pa region", rfd);
		return -1;
	}
	if ((v = getenv(PA_ENV_HANDLER)) == NULL) {
		snprintf(why, len, "%s without %s", PA_ENV_REGION,
		    PA_ENV_HANDLER);
		errno = EINVAL;
		return -1;
	}
	p->idx = (uint32_t)strtonum(v, 0, (long long)p->r.hdr->nprocs - 1,
	    &errstr);
	if (errstr != NULL) {
		snprintf(why, len, "%s=%s: %s", PA_ENV_HANDLER, v, errstr);
		errno = EINVAL;
		return -1;
	}
	switch (env_fd(PA_ENV_READY, &p->readyfd)) {
	case -1:
		snprintf(why, len, "%s is no fd number", PA_ENV_READY);
		return -1;
	case 0:
		p->readyfd = -1;
		break;
	default:
		if (cloexec(p->readyfd) == -1)
			p->readyfd = -1;
	}
	if (cloexec(rfd) == -1) {
		snprintf(why, len, "fd %d: %s", rfd, strerror(errno));
		return -1;
	}
	p->lfd = 3;
	if (pa_sd_is_listener(p->lfd) != 1) {
		snprintf(why, len, "fd 3 is not a listening socket");
		errno = ENOTSOCK;
		return -1;
	}
	/* pa-spawn sets O_NONBLOCK; the protocol cannot work without it. */
	if ((fl = fcntl(p->lfd, F_GETFL)) == -1 || (!(fl & O_NONBLOCK) &&
	    fcntl(p->lfd, F_SETFL, fl | O_NONBLOCK) == -1) ||
	    cloexec(p->lfd) == -1) {
		snprintf(why, len, "fd 3: %s", strerror(errno));
		return -1;
	}
	p->nonblock = 1;
	/*
	 * The parent we start with, normally pa-spawn (hdr->spawner_pid);
	 * a change means it died.  Comparing with the parent at start, not
	 * with spawner_pid, keeps a wrapper that forks from reading as an
	 * orphan.
	 */
	p->spawner = getppid();
	p->bit = 1u << (p->idx % 32);
	return 0;
}

static int
attach_alone(struct pa_pool *p, char *why, size_t len)
{
	char sub[200];
	int fl;

	p->standalone = 1;
	p->readyfd = -1;
	if ((p->lfd = pa_sd_listen_fd(sub, sizeof(sub))) == -1) {
		/* Not handed over by LISTEN_FDS or on fd 0: fd 3 as is. */
		if (pa_sd_is_listener(3) != 1) {
			snprintf(why, len, "no %s, and %s; fd 3 is not a "
			    "listening socket either", PA_ENV_REGION, sub);
			errno = ENOTSOCK;
			return -1;
		}
		p->lfd = 3;
		if (cloexec(3) == -1) {
			snprintf(why, len, "fd 3: %s", strerror(errno));
			return -1;
		}
	}
	if ((fl = fcntl(p->lfd, F_GETFL)) == -1) {
		snprintf(why, len, "fd %d: %s", p->lfd, strerror(errno));
		return -1;
	}
	p->nonblock = (fl & O_NONBLOCK) != 0;
	return 0;
}

/* A listening socket given by the caller: serve alone on it. */
static int
attach_given(struct pa_pool *p, int lfd, char *why, size_t len)
{
	int fl;

	p->standalone = 1;
	p->readyfd = -1;
	p->lfd = lfd;
	if (pa_sd_is_listener(lfd) != 1) {
		snprintf(why, len, "fd %d is not a listening socket", lfd);
		errno = ENOTSOCK;
		return -1;
	}
	if ((fl = fcntl(lfd, F_GETFL)) == -1) {
		snprintf(why, len, "fd %d: %s", lfd, strerror(errno));
		return -1;
	}
	p->nonblock = (fl & O_NONBLOCK) != 0;
	return 0;
}

/* lfd -1: from the environment (pa-spawn's, LISTEN_FDS, fd 0 or fd 3). */
static struct pa_pool *
attach(int lfd, unsigned nthreads, char *why, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct pa_pool *p;
	int rfd, r, e, fl;

	if (nthreads == 0 || nthreads > PA_SLOTS_MAX) {
		snprintf(why, len, "%u threads", nthreads);
		errno = EINVAL;
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(why, len, "%s", strerror(errno));
		return NULL;
	}
	p->nthreads = nthreads;
	p->efd = -1;
	if ((p->w = calloc(nthreads, sizeof(*p->w))) == NULL) {
		snprintf(why, len, "%s", strerror(errno));
		goto fail;
	}
	if (lfd >= 0) {
		if (attach_given(p, lfd, why, len) == -1)
			goto fail;
	} else {
		if ((r = env_fd(PA_ENV_REGION, &rfd)) == -1) {
			snprintf(why, len, "%s is no fd number",
			    PA_ENV_REGION);
			goto fail;
		}
		if ((r == 1 ? attach_region(p, rfd, why, len) :
		    attach_alone(p, why, len)) == -1)
			goto fail;
		unsetenv(PA_ENV_REGION);
		unsetenv(PA_ENV_HANDLER);
		unsetenv(PA_ENV_READY);
	}
	/*
	 * Alone with several threads, poll wakes them all and the losers
	 * would block in accept where no stop reaches them: non-blocking.
	 */
	if (p->standalone && nthreads > 1 && !p->nonblock) {
		if ((fl = fcntl(p->lfd, F_GETFL)) == -1 ||
		    fcntl(p->lfd, F_SETFL, fl | O_NONBLOCK) == -1) {
			snprintf(why, len, "fd %d: %s", p->lfd,
			    strerror(errno));
			goto fail;
		}
		p->nonblock = 1;
	}
	if (getsockname(p->lfd, (struct sockaddr *)&ss, &sslen) == -1) {
		snprintf(why, len, "getsockname: %s", strerror(errno));
		goto fail;
	}
	/* A connection's local address is the listener's unless wildcard. */
	memcpy(&p->lss, &ss, sizeof(ss));
	p->lsslen = sslen;
	p->localwild = (ss.ss_family == AF_INET &&
	    ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY)) ||
	    (ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr));
	p->domain = ss.ss_family;
	if ((p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		snprintf(why, len, "eventfd: %s", strerror(errno));
		goto fail;
	}
	return p;
fail:
	e = errno;
	if (p->r.hdr != NULL)
		pa_region_unmap(&p->r);
	free(p->w);
	free(p);
	errno = e;
	return NULL;
}

struct pa_pool *
pa_pool_attach(unsigned nthreads, char *why, size_t len)
{
	return attach(-1, nthreads, why, len);
}

struct pa_pool *
pa_pool_attach_fd(int lfd, unsigned nthreads, char *why, size_t len)
{
	if (lfd < 0) {
		snprintf(why, len, "fd %d", lfd);
		errno = EBADF;
		return NULL;
	}
	return attach(lfd, nthreads, why, len);
}

void
pa_pool_detach(struct pa_pool *p)
{
	unsigned i;

	if (p == NULL)
		return;
	if (p->r.hdr != NULL)
		pa_region_unmap(&p->r);
	if (p->efd != -1)
		close(p->efd);
	if (p->readyfd != -1)
		close(p->readyfd);
	for (i = 0; i < p->nworkers && i < p->nthreads; i++)
		free(p->w[i]);
	free(p->w);
	free(p->nets);
	free(p);
}

int
pa_pool_proxy(struct pa_pool *p, int timeout_ms,
    const struct pa_proxy_net *nets, size_t n)
{
	struct pa_proxy_net *copy = NULL;

	if (timeout_ms < 0 || (n > 0 && nets == NULL)) {
		errno = EINVAL;
		return -1;
	}
	if (timeout_ms > 0 && n > 0) {
		if ((copy = reallocarray(NULL, n, sizeof(*copy))) == NULL)
			return -1;
		memcpy(copy, nets, n * sizeof(*copy));
	}
	free(p->nets);
	p->nets = copy;
	p->nnets = copy != NULL ? n : 0;
	p->proxy_ms = timeout_ms;
	return 0;
}

int
pa_pool_fd(const struct pa_pool *p)
{
	return p->lfd;
}

int
pa_pool_domain(const struct pa_pool *p)
{
	return p->domain;
}

int
pa_pool_index(const struct pa_pool *p)
{
	return p->standalone ? -1 : (int)p->idx;
}

enum pa_exit_why
pa_pool_why(const struct pa_pool *p)
{
	return (enum pa_exit_why)__atomic_load_n(&p->why, __ATOMIC_SEQ_CST);
}

const char *
pa_why_str(enum pa_exit_why w)
{
	static const char *const n[] = {
		"running", "stopped", "retired", "drained", "orphaned",
		"failed"
	};

	return (unsigned)w < sizeof(n) / sizeof(n[0]) ? n[w] : "invalid";
}

/*
 * Make every thread leave its wait at once.  The generation is bumped
 * after the flag is set, so a thread that checked the flag too early
 * finds the word changed and its FUTEX_WAIT returns at once; a thread
 * already asleep is woken through this process's bit of the bitset.
 * pa-spawn's plain FUTEX_WAKE matches every bitset, so the normal
 * notification is not affected.  Async-signal-safe.
 */
void
pa_pool_stop(struct pa_pool *p, enum pa_exit_why why)
{
	struct pa_worker *w;
	uint64_t one = 1;
	uint32_t busy;
	unsigned i, n;
	int e = errno;

	setwhy(p, why);
	/* A thread serving a connection shows that it will go after it. */
	n = __atomic_load_n(&p->nworkers, __ATOMIC_ACQUIRE);
	for (i = 0; i < n; i++) {
		busy = PA_SLOT_BUSY;
		if ((w = __atomic_load_n(&p->w[i], __ATOMIC_ACQUIRE)) != NULL)
			__atomic_compare_exchange_n(&w->s->state, &busy,
			    PA_SLOT_DRAINING, 0, __ATOMIC_ACQ_REL,
			    __ATOMIC_RELAXED);
	}
	if (write(p->efd, &one, sizeof(one)) == -1) {
		/* The counter is already non-zero: readable anyway. */
	}
	if (!p->standalone)
		pa_notify_stop(p->r.hdr, p->bit);
	errno = e;
}

struct pa_worker *
pa_worker_start(struct pa_pool *p)
{
	struct pa_worker *w;
	unsigned i;
	int e;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->p = p;
	w->slot = -1;
	w->s = &w->own;
	if (!p->standalone) {
		w->slot = pa_slot_claim(&p->r, p->idx, getpid(), gettid());
		if (w->slot == -1) {
			e = errno;
			free(w);
			errno = e;
			return NULL;
		}
		w->s = &p->r.slots[w->slot];
	} else {
		w->own.pid = getpid();
		w->own.tid = gettid();
		w->own.state = PA_SLOT_STARTING;
	}
	/* Registered for pa_pool_stop(); freed by pa_pool_detach(). */
	if ((i = __atomic_fetch_add(&p->nworkers, 1, __ATOMIC_ACQ_REL)) >=
	    p->nthreads) {
		__atomic_fetch_sub(&p->nworkers, 1, __ATOMIC_ACQ_REL);
		if (w->slot != -1)
			pa_slot_set(w->s, PA_SLOT_EMPTY);
		free(w);
		errno = ENOSPC;
		return NULL;
	}
	__atomic_store_n(&p->w[i], w, __ATOMIC_RELEASE);
	return w;
}

int
pa_worker_slot(const struct pa_worker *w)
{
	return w->slot;
}

const struct pa_slot *
pa_worker_counters(const struct pa_worker *w)
{
	return w->s;
}

static void
set_idle(struct pa_worker *w, int idle)
{
	if (idle == w->idle)
		return;
	w->idle = idle;
	if (!w->p->standalone)
		pa_notify_idle(w->p->r.hdr, idle);
}

/*
 * The first time every thread of the process is idle, tell pa-spawn:
 * procs[i].ready, then the index as 4 bytes on the readiness pipe.
 */
static void
first_idle(struct pa_worker *w)
{
	struct pa_pool *p = w->p;
	uint32_t idx = p->idx;
	ssize_t n;

	w->started = 1;
	if (__atomic_add_fetch(&p->nidle, 1, __ATOMIC_ACQ_REL) != p->nthreads ||
	    p->standalone)
		return;
	PA_STORE(&p->r.procs[idx].ready, 1);
	if (p->readyfd != -1) {
		do
			n = write(p->readyfd, &idx, sizeof(idx));
		while (n == -1 && errno == EINTR);
	}
}

/* Should this thread stop taking connections?  Records why. */
static int
leaving(struct pa_worker *w)
{
	struct pa_pool *p = w->p;

	if (__atomic_load_n(&p->why, __ATOMIC_SEQ_CST) != PA_WHY_NONE)
		return 1;
	if (!p->standalone &&
	    PA_LOAD(&p->r.procs[p->idx].cmd) == PA_CMD_EXIT) {
		setwhy(p, PA_WHY_RETIRE);
		return 1;
	}
	return 0;
}

static enum pa_next
leave(struct pa_worker *w)
{
	set_idle(w, 0);
	pa_slot_set(w->s, PA_SLOT_DRAINING);
	return PA_NEXT_EXIT;
}

static void
orphan_check(struct pa_worker *w)
{
	pid_t sp = w->p->spawner;

	if (!w->p->standalone && sp > 0 && getppid() != sp)
		setwhy(w->p, PA_WHY_ORPHAN);
}

/*
 * Sleep until the generation moves from g (region) or the listener is
 * readable (standalone), for at most WAIT_MS.  Sets w->woke when a
 * wake-up, not a timeout, ended the wait.
 */
static void
wait_for_work(struct pa_worker *w, uint32_t g)
{
	struct pa_pool *p = w->p;
	struct pollfd pfd[2];
	int r;

	if (p->standalone) {
		pfd[0].fd = p->lfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = p->efd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, WAIT_MS) > 0 && (pfd[0].revents & POLLIN)) {
			w->s->wakeups++;
			w->woke = 1;
		}
		return;
	}
	r = pa_notify_wait(p->r.hdr, w->s, g, p->bit, WAIT_MS, p->readyfd);
	if (r == 0) {
		w->s->wakeups++;
		w->woke = 1;
	} else {
		/*
		 * The word moved before we slept (pa-spawn counted us asleep
		 * and woke nobody), or the wait timed out: accept next.
		 */
		w->nodefer = 1;
		if (errno == ETIMEDOUT)
			orphan_check(w);
	}
}

static void
backoff(struct pa_worker *w)
{
	struct pollfd pfd;

	pfd.fd = w->p->efd;
	pfd.events = POLLIN;
	poll(&pfd, 1, BACKOFF_MS);
}

enum pa_next
pa_worker_next(struct pa_worker *w, int *fd, struct sockaddr *peer,
    socklen_t *peerlen)
{
	struct pa_pool *p = w->p;
	socklen_t len0 = *peerlen;
	enum pa_acc_err ae;
	uint32_t g = 0;
	uint64_t now;
	int c, woke;

	if (!w->started) {
		set_idle(w, 1);
		pa_slot_set(w->s, PA_SLOT_IDLE);
		first_idle(w);
	}
	for (;;) {
		if (leaving(w))
			return leave(w);
		/*
		 * The generation is read before accept: a connection that
		 * arrives after a failed accept then bumps it, and the
		 * FUTEX_WAIT below returns at once instead of sleeping.
		 */
		if (!p->standalone)
			g = pa_notify_gen(p->r.hdr);
		else if (!p->nonblock && !w->woke) {
			wait_for_work(w, 0);
			continue;
		}
		/*
		 * While a thread sleeps, pa-spawn wakes one for each queued
		 * connection (or, when it found none asleep, the first to
		 * sleep has it count again): an awake thread leaves the queue
		 * to those, so no woken thread finds it empty and the turn
		 * goes round the pool.  With none asleep it drains the queue.
		 * Not after a wait that no wake-up ended: pa-spawn may have
		 * counted this thread asleep when it found nobody to wake (the
		 * word had moved), and a count gone wrong costs at most the
		 * bounded wait.
		 */
		if (!p->standalone && !w->woke && !w->nodefer &&
		    pa_notify_defer(p->r.hdr)) {
			wait_for_work(w, g);
			continue;
		}
		w->nodefer = 0;
		*peerlen = len0;
		c = accept4(p->lfd, peer, peerlen, SOCK_CLOEXEC);
		woke = w->woke;
		w->woke = 0;
		if (c != -1) {
			set_idle(w, 0);
			w->s->accepted++;
			pa_slot_set(w->s, PA_SLOT_BUSY);
			*fd = c;
			return PA_NEXT_CONN;
		}
		ae = pa_acc_err_from_errno(errno == EWOULDBLOCK ? EAGAIN :
		    errno);
		w->s->acc_err[ae]++;
		switch (ae) {
		case PA_AE_EAGAIN:
			if (!p->standalone && pa_notify_draining(p->r.hdr)) {
				/* The drain wakes everyone: not futile. */
				setwhy(p, PA_WHY_DRAIN);
				return leave(w);
			}
			if (woke && !leaving(w))
				w->s->futile++;
			/* The flag is read after the generation: see stop. */
			if (leaving(w))
				return leave(w);
			wait_for_work(w, g);
			break;
		case PA_AE_ECONNABORTED:
		case PA_AE_EPROTO:
		case PA_AE_EINTR:
			break;
		case PA_AE_EMFILE:
		case PA_AE_ENFILE:
		case PA_AE_ENOBUFS:
		case PA_AE_ENOMEM:
			c = errno;
			backoff(w);
			now = pa_now_ns();
			if (w->warn_ns == 0 || now - w->warn_ns >= WARN_NS) {
				w->warn_ns = now;
				errno = c;
				return PA_NEXT_WARN;
			}
			break;
		default:
			c = errno;
			pa_pool_stop(p, PA_WHY_ERROR);
			leave(w);
			errno = c;
			return PA_NEXT_ERROR;
		}
	}
}

int
pa_worker_leaving(struct pa_worker *w)
{
	return leaving(w);
}

void
pa_worker_proxy_dropped(struct pa_worker *w)
{
	__atomic_add_fetch(&w->s->proxy_dropped, 1, __ATOMIC_RELAXED);
}

void
pa_worker_peer(struct pa_worker *w, const char *text)
{
	pa_slot_set_peer(w->s, text);
}

void
pa_worker_done(struct pa_worker *w)
{
	if (leaving(w)) {
		pa_slot_set(w->s, PA_SLOT_DRAINING);
		return;
	}
	set_idle(w, 1);
	pa_slot_set(w->s, PA_SLOT_IDLE);
}

void
pa_worker_end(struct pa_worker *w)
{
	if (w == NULL)
		return;
	set_idle(w, 0);
	/* pa-spawn frees the slot when it reaps this process. */
	pa_slot_set(w->s, PA_SLOT_DRAINING);
}

/* The peer's text: "IP:PORT", "[IPv6]:PORT", or for unix "uid U pid P". */
static void
peer_text(struct pa_conn *c, int fd)
{
	struct ucred uc;
	socklen_t uclen = sizeof(uc);

	c->peer[0] = '\0';
	if (c->remote.ss_family == AF_UNIX && !c->proxied) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &uclen) == 0)
			snprintf(c->peer, sizeof(c->peer), "uid %lu pid %ld",
			    (unsigned long)uc.uid, (long)uc.pid);
		return;
	}
	if (pa_addr_format((struct sockaddr *)&c->remote, c->remotelen,
	    c->peer, sizeof(c->peer)) == -1)
		c->peer[0] = '\0';
}

/* What a failed PROXY header read means as an errno. */
static int
proxy_errno(enum pa_proxy_err e)
{
	switch (e) {
	case PA_PROXY_ERRNO:
		return errno;
	case PA_PROXY_TIMEOUT:
		return ETIMEDOUT;
	case PA_PROXY_CLOSED:
		return ECONNRESET;
	default:
		return EPROTO;
	}
}

/*
 * Read the PROXY header of c and take its addresses: 0, or -1 with errno.
 * Apart, so that its 64 KiB buffer is on the stack only when a header is
 * expected.
 */
static int __attribute__((noinline))
take_proxy(struct pa_worker *w, struct pa_conn *c)
{
	struct pa_pool *p = w->p;
	uint8_t buf[PA_PROXY_MAX];
	struct pa_proxy h;
	enum pa_proxy_err pe;

	if (p->nnets > 0 && p->domain != AF_UNIX &&
	    !pa_proxy_net_match(p->nets, p->nnets,
	    (struct sockaddr *)&c->remote)) {
		errno = EPERM;
		return -1;
	}
	if ((pe = pa_proxy_read(c->fd, p->proxy_ms, buf, sizeof(buf),
	    &h)) != PA_PROXY_OK) {
		c->proxy_err = pe;
		errno = proxy_errno(pe);
		return -1;
	}
	if (!h.local) {
		memcpy(&c->remote, &h.src, sizeof(c->remote));
		c->remotelen = h.srclen;
		memcpy(&c->local, &h.dst, sizeof(c->local));
		c->locallen = h.dstlen;
		c->proxied = 1;
		peer_text(c, c->fd);
		pa_worker_peer(w, c->peer);
	}
	return 0;
}

enum pa_next
pa_worker_accept(struct pa_worker *w, struct pa_conn *c)
{
	struct pa_pool *p = w->p;
	enum pa_next r;
	int e;

	c->fd = -1;
	c->proxied = 0;
	c->proxy_err = PA_PROXY_OK;
	c->peer[0] = '\0';
	c->remotelen = sizeof(c->remote);
	r = pa_worker_next(w, &c->fd, (struct sockaddr *)&c->remote,
	    &c->remotelen);
	if (r != PA_NEXT_CONN)
		return r;
	/* A unix peer's address may be empty: the family from the domain. */
	if (c->remotelen < sizeof(sa_family_t))
		c->remote.ss_family = (sa_family_t)p->domain;
	if (!p->localwild) {
		memcpy(&c->local, &p->lss, sizeof(c->local));
		c->locallen = p->lsslen;
	} else {
		c->locallen = sizeof(c->local);
		if (getsockname(c->fd, (struct sockaddr *)&c->local,
		    &c->locallen) == -1)
			goto drop;
	}
	peer_text(c, c->fd);
	pa_worker_peer(w, c->peer);
	if (p->proxy_ms == 0 || take_proxy(w, c) == 0)
		return PA_NEXT_CONN;
	pa_worker_proxy_dropped(w);
drop:
	e = errno;
	close(c->fd);
	c->fd = -1;
	pa_worker_done(w);
	errno = e;
	return PA_NEXT_DROP;
}
