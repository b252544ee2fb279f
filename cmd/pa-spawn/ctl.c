/*
 * ctl.c: the control socket of pa-spawn (pa-ctl's peer).
 *
 * A unix stream socket, mode 0600, bound under a tight umask; peers are
 * checked with SO_PEERCRED (our uid or root).  The protocol is one
 * request line, one reply, then close: the reply's first line is "ok" or
 * "error: WHY", the body follows (pa-ctl.1).
 *
 * Nothing here blocks the event loop.  The listener, the clients and a
 * timer live in an epoll set of their own, whose fd is the one entry
 * ctl.c puts in pa-spawn's loop; so ctl.c can wait for EPOLLOUT and keep
 * deadlines without the loop knowing.  Each client has a buffer of one
 * line and a deadline: a client that says nothing, or too much, gets an
 * error reply and is closed.  Past CTL_CLIENTS clients at once, a new
 * one is told so and closed at once.
 *
 * While the socket is open, a second timer samples the pool once a
 * second (accepted total, accept queue, busy threads) into a ring of the
 * last CTL_TREND seconds, which "top" returns: so pa-ctl top shows the
 * last minute from its first frame.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawn.h"

#define CTL_CLIENTS	64		/* clients served at once */
#define CTL_BACKLOG	128
#define CTL_DEADLINE_NS	2000000000ull	/* to send a line and read the reply */
#define CTL_TICK_NS	200000000ull	/* deadline check while clients exist */
#define CTL_PAUSE_NS	100000000ull	/* accept paused after EMFILE */
#define CTL_REPLY_MAX	(4u << 20)	/* the largest reply */
#define CTL_ROUND	64		/* events handled per call */
#define CTL_TREND	60		/* seconds of samples top returns */

/* epoll data: K_CLIENT + index for a client */
enum { K_LISTENER, K_TIMER, K_SAMPLE, K_CLIENT };

enum cstate {
	C_FREE = 0,
	C_READ,		/* reading the request line */
	C_WRITE,	/* sending the reply */
	C_LINGER	/* reply sent: wait for the peer to close */
};

struct client {
	enum cstate	 c_state;
	int		 c_fd;
	uint64_t	 c_deadline;
	size_t		 c_len;			/* bytes in c_in */
	char		 c_in[PA_CTL_LINE_MAX];
	char		*c_out;			/* kept for the next client */
	size_t		 c_outcap, c_outlen, c_outoff;
	int		 c_outerr;		/* the reply did not fit */
};

static struct {
	int		 lfd, epfd, tfd;
	int		 open;
	pid_t		 owner;		/* the process that bound the path */
	struct ev	 ev;
	char		 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t		 dev;
	ino_t		 ino;
	int		 ticking;
	uint64_t	 paused_until;	/* listener out of the set until then */
	uint64_t	 warned_ns;
	unsigned	 nclients;
	struct client	 cl[CTL_CLIENTS];
	struct pa_ctl_counts gone;	/* counters of handlers reaped */
	int		 sfd;		/* the sampling timer, 1 s */
	struct {
		uint64_t accepted, queue, busy;
	}		 trend[CTL_TREND + 1];	/* a ring, oldest at th - tn */
	unsigned	 th, tn;		/* next entry, entries held */
} C = { .lfd = -1, .epfd = -1, .tfd = -1, .sfd = -1 };

static void	 ctl_event(struct ev *, uint32_t);
static void	 trend_put(struct client *);
static void	 sample_take(void);

/* NULL if the default path would be too long for a socket. */
const char *
ctl_default_path(void)
{
	static char buf[sizeof(C.path)];

	if (pa_ctl_default_path(buf, sizeof(buf)) == -1)
		return NULL;
	return buf;
}

/*
 * The control socket, through the listener code pa-listen uses: born
 * 0600 (no window in which another user could connect), and a path that
 * is taken is replaced only if it is a socket nobody answers on (a
 * pa-spawn that died without removing it).
 */
static int
ctl_listen(const char *path)
{
	struct pa_addr a;
	struct sockaddr_un *sun = (struct sockaddr_un *)(void *)&a.ss;
	struct pa_listen_opts o;

	memset(&a, 0, sizeof(a));
	a.kind = PA_ADDR_UNIX;
	a.sslen = sizeof(*sun);
	sun->sun_family = AF_UNIX;
	if (path == NULL || path[0] == '\0' ||
	    strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	pa_listen_opts_init(&o);
	o.mode = 0600;
	o.backlog = CTL_BACKLOG;
	return pa_addr_listen(&a, &o);
}

static int
epoll_add(int fd, uint32_t events, uint64_t key)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = events;
	e.data.u64 = key;
	return epoll_ctl(C.epfd, EPOLL_CTL_ADD, fd, &e);
}

static int
epoll_mod(int fd, uint32_t events, uint64_t key)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = events;
	e.data.u64 = key;
	return epoll_ctl(C.epfd, EPOLL_CTL_MOD, fd, &e);
}

/*
 * Across a re-exec of pa-spawn (USR2), which keeps the pid and the
 * region, what lives only in this image goes through the environment:
 * the counters of handlers gone, the times MAX was reached, and the
 * bounds set at run time.  "PID ACCEPTED FUTILE WAKEUPS LOST... MAXED
 * MIN MAX PROXY_DROPPED", taken only by the same pid.
 */
#define CTL_ENV		"PA_SPAWN_CTL"

static void
carry_out(void)
{
	char buf[512];
	size_t off, k;

	off = (size_t)snprintf(buf, sizeof(buf), "%ld %llu %llu %llu",
	    (long)getpid(), (unsigned long long)C.gone.accepted,
	    (unsigned long long)C.gone.futile,
	    (unsigned long long)C.gone.wakeups);
	for (k = 0; k < PA_AE_COUNT && off < sizeof(buf); k++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, " %llu",
		    (unsigned long long)C.gone.lost[k]);
	if (off < sizeof(buf))
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    " %llu %u %u %llu", (unsigned long long)S.maxed_count,
		    S.min, S.max, (unsigned long long)C.gone.proxy_dropped);
	if (off < sizeof(buf))
		(void)setenv(CTL_ENV, buf, 1);
}

static void
carry_in(void)
{
	unsigned long long v[3 + PA_AE_COUNT + 4];
	const char *e = getenv(CTL_ENV);
	char *end;
	long pid;
	size_t k;

	if (e == NULL)
		return;
	pid = strtol(e, &end, 10);
	for (k = 0; k < sizeof(v) / sizeof(v[0]) && *end == ' '; k++)
		v[k] = strtoull(end + 1, &end, 10);
	unsetenv(CTL_ENV);
	if (pid != (long)getpid() || k != sizeof(v) / sizeof(v[0]) ||
	    *end != '\0')
		return;
	C.gone.accepted = v[0];
	C.gone.futile = v[1];
	C.gone.wakeups = v[2];
	for (k = 0; k < PA_AE_COUNT; k++)
		C.gone.lost[k] = v[3 + k];
	S.maxed_count = v[3 + PA_AE_COUNT];
	C.gone.proxy_dropped = v[6 + PA_AE_COUNT];
	if (v[5 + PA_AE_COUNT] <= S.nprocs &&
	    v[4 + PA_AE_COUNT] <= v[5 + PA_AE_COUNT]) {
		S.min = (unsigned)v[4 + PA_AE_COUNT];
		S.max = (unsigned)v[5 + PA_AE_COUNT];
	}
}

/* path NULL: the default path. */
int
ctl_open(const char *path)
{
	struct itimerspec it;
	struct stat st;
	int e;

	if (C.open) {
		errno = EBUSY;
		return -1;
	}
	carry_in();
	if (path == NULL)
		path = ctl_default_path();
	if ((C.lfd = ctl_listen(path)) == -1)
		return -1;
	strlcpy(C.path, path, sizeof(C.path));
	if (fcntl(C.lfd, F_SETFL, O_NONBLOCK) == -1 ||
	    stat(C.path, &st) == -1)
		goto fail_unlink;
	C.dev = st.st_dev;
	C.ino = st.st_ino;
	C.owner = getpid();
	if ((C.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		goto fail_unlink;
	if ((C.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		goto fail_unlink;
	if ((C.sfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		goto fail_unlink;
	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = it.it_interval.tv_sec = 1;
	if (timerfd_settime(C.sfd, 0, &it, NULL) == -1)
		goto fail_unlink;
	C.th = C.tn = 0;
	if (epoll_add(C.lfd, EPOLLIN, K_LISTENER) == -1 ||
	    epoll_add(C.tfd, EPOLLIN, K_TIMER) == -1 ||
	    epoll_add(C.sfd, EPOLLIN, K_SAMPLE) == -1)
		goto fail_unlink;
	if (ev_add(&C.ev, C.epfd, ctl_event, NULL, 0) == -1)
		goto fail_unlink;
	C.open = 1;
	sample_take();
	return 0;
fail_unlink:
	e = errno;
	unlink(C.path);
	if (C.tfd != -1)
		close(C.tfd);
	if (C.sfd != -1)
		close(C.sfd);
	if (C.epfd != -1)
		close(C.epfd);
	close(C.lfd);
	C.lfd = C.epfd = C.tfd = C.sfd = -1;
	errno = e;
	return -1;
}

static void
client_free(struct client *c)
{
	if (c->c_state == C_FREE)
		return;
	close(c->c_fd);		/* also leaves the epoll set */
	c->c_fd = -1;
	c->c_state = C_FREE;
	C.nclients--;
}

void
ctl_close(void)
{
	struct stat st;
	size_t i;
	int e = errno;

	carry_out();
	if (!C.open)
		return;
	for (i = 0; i < CTL_CLIENTS; i++) {
		client_free(&C.cl[i]);
		free(C.cl[i].c_out);
		C.cl[i].c_out = NULL;
		C.cl[i].c_outcap = 0;
	}
	ev_del(&C.ev);
	close(C.lfd);
	close(C.tfd);
	close(C.sfd);
	close(C.epfd);
	C.lfd = C.epfd = C.tfd = C.sfd = -1;
	C.ticking = 0;
	C.paused_until = 0;
	/* Remove the path only if it is still ours (a fork's exit is not). */
	if (C.owner == getpid() && stat(C.path, &st) == 0 &&
	    st.st_dev == C.dev && st.st_ino == C.ino)
		unlink(C.path);
	C.open = 0;
	errno = e;
}

void
ctl_fold_proc(uint32_t i)
{
	struct pa_ctl_slot s;
	uint32_t k, n;

	if (S.r.hdr == NULL)
		return;
	n = pa_ctl_nslots(&S.r);
	for (k = 0; k < n; k++)
		if (pa_ctl_slot_copy(&S.r, k, &s) == 0 &&
		    s.state != PA_SLOT_EMPTY && s.proc == i)
			pa_ctl_counts_add(&C.gone, &s.c);
}

/* Arm the deadline timer while there are clients, disarm it after. */
static void
timer_set(int on)
{
	struct itimerspec it;

	if (on == C.ticking)
		return;
	memset(&it, 0, sizeof(it));
	if (on) {
		it.it_value.tv_nsec = CTL_TICK_NS;
		it.it_interval.tv_nsec = CTL_TICK_NS;
	}
	if (timerfd_settime(C.tfd, 0, &it, NULL) == 0)
		C.ticking = on;
}

static void
warn_limited(const char *what)
{
	uint64_t now = pa_now_ns();

	if (S.vflag >= 1 && now - C.warned_ns >= 10 * 1000000000ull) {
		C.warned_ns = now;
		warn("control socket: %s", what);
	}
}

/* A reply sent in one go on a socket about to be closed. */
static void
say_and_close(int fd, const char *msg)
{
	char junk[PA_CTL_LINE_MAX];

	(void)send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
	/* Unread input would turn the close into a reset: swallow some. */
	(void)recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
	close(fd);
}

static int
peer_allowed(int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1)
		return 0;
	return uc.uid == 0 || uc.uid == geteuid();
}

static void
new_clients(void)
{
	struct client *c;
	size_t i;
	int fd, round;

	for (round = 0; round < 16; round++) {
		fd = accept4(C.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			/* Out of fds: pause rather than spin on a ready socket. */
			warn_limited("accept");
			if (epoll_ctl(C.epfd, EPOLL_CTL_DEL, C.lfd, NULL) == 0) {
				C.paused_until = pa_now_ns() + CTL_PAUSE_NS;
				timer_set(1);
			}
			return;
		}
		if (!peer_allowed(fd)) {
			say_and_close(fd, "error: permission denied\n");
			continue;
		}
		if (C.nclients == CTL_CLIENTS) {
			say_and_close(fd, "error: too many clients, try again\n");
			continue;
		}
		for (i = 0; C.cl[i].c_state != C_FREE; i++)
			;
		c = &C.cl[i];
		if (epoll_add(fd, EPOLLIN, K_CLIENT + i) == -1) {
			say_and_close(fd, "error: out of resources\n");
			continue;
		}
		c->c_state = C_READ;
		c->c_fd = fd;
		c->c_len = 0;
		c->c_outlen = c->c_outoff = 0;
		c->c_outerr = 0;
		c->c_deadline = pa_now_ns() + CTL_DEADLINE_NS;
		C.nclients++;
		timer_set(1);
	}
}

/* Append to the reply; on failure the reply becomes an error. */
static void put(struct client *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(struct client *c, const char *fmt, ...)
{
	va_list ap;
	size_t room, cap;
	char *p;
	int n;

	if (c->c_outerr)
		return;
	for (;;) {
		room = c->c_outcap - c->c_outlen;
		va_start(ap, fmt);
		n = vsnprintf(c->c_out == NULL ? NULL : c->c_out + c->c_outlen,
		    room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			c->c_outerr = 1;
			return;
		}
		if ((size_t)n < room) {
			c->c_outlen += (size_t)n;
			return;
		}
		cap = c->c_outcap == 0 ? 4096 : c->c_outcap * 2;
		while (cap < c->c_outlen + (size_t)n + 1)
			cap *= 2;
		if (cap > CTL_REPLY_MAX || (p = realloc(c->c_out, cap)) == NULL) {
			c->c_outerr = 1;
			return;
		}
		c->c_out = p;
		c->c_outcap = cap;
	}
}

static unsigned
retiring(void)
{
	unsigned i, n = 0;

	for (i = 0; i < S.nprocs; i++)
		if (S.procs[i].p_state == P_RETIRING)
			n++;
	return n;
}

static int
stat_fill(struct pa_ctl_stat *st)
{
	unsigned lo, hi;

	memset(st, 0, sizeof(*st));
	st->c = C.gone;
	if (pa_ctl_stat_region(&S.r, st) == -1)
		return -1;
	scale_marks(&lo, &hi);
	st->pid = (uint64_t)getpid();
	st->stopping = S.draining != 0;
	st->generation = S.generation;
	st->target = S.target;
	st->handlers = pool_count();
	st->retiring = retiring();
	st->ceiling = S.nprocs;
	st->min = S.min;
	st->max = S.max;
	st->spare_lo = lo;
	st->spare_hi = hi;
	st->idle_timeout = S.idle_timeout;
	st->grace = S.grace;
	st->max_reached = S.maxed_count;
	strlcpy(st->address, S.addr, sizeof(st->address));
	return 0;
}


static void
cmd_stat(struct client *c, int scoreboard)
{
	struct pa_ctl_stat st;
	char buf[4096];
	uint32_t i, n;

	if (stat_fill(&st) == -1 || pa_ctl_stat_format(&st, buf,
	    sizeof(buf)) == -1) {
		put(c, "error: no figures: %s\n", strerror(errno));
		return;
	}
	put(c, "ok\n%s", buf);
	if (!scoreboard)
		return;
	put(c, "scoreboard: ");
	n = pa_ctl_nslots(&S.r);
	for (i = 0; i < n; i++)
		put(c, "%c", pa_slot_char(PA_LOAD(&S.r.slots[i].state) >
		    PA_SLOT_GONE ? PA_SLOT_GONE : PA_LOAD(&S.r.slots[i].state)));
	put(c, "\n");
	trend_put(c);
}

/*
 * The samples of the last CTL_TREND seconds, oldest first, one number a
 * second on each line: connections accepted in that second, the accept
 * queue and the busy threads at its end.
 */
static void
trend_put(struct client *c)
{
	static const char *const name[] = {
		"trend_accepted", "trend_queue", "trend_busy"
	};
	unsigned k, j, cur, prev;
	uint64_t v;

	for (k = 0; k < 3; k++) {
		put(c, "%s: ", name[k]);
		for (j = 1; j < C.tn; j++) {
			cur = (C.th + CTL_TREND + 1 - C.tn + j) % (CTL_TREND + 1);
			prev = (cur + CTL_TREND) % (CTL_TREND + 1);
			if (k == 0)
				v = C.trend[cur].accepted > C.trend[prev].accepted ?
				    C.trend[cur].accepted - C.trend[prev].accepted : 0;
			else if (k == 1)
				v = C.trend[cur].queue;
			else
				v = C.trend[cur].busy;
			put(c, "%s%llu", j > 1 ? " " : "", (unsigned long long)v);
		}
		put(c, "\n");
	}
}

/* One sample into the ring: when the socket opens, then once a second. */
static void
sample_take(void)
{
	struct pa_ctl_stat st;
	long q;

	if (S.r.hdr == NULL || stat_fill(&st) == -1)
		return;
	/* The queue now, not as the last event left it. */
	q = S.lfd >= 0 ? pa_queue_len(S.lfd, S.domain) : -1;
	C.trend[C.th].accepted = st.c.accepted;
	C.trend[C.th].queue = q >= 0 ? (uint64_t)q : st.queue;
	C.trend[C.th].busy = st.busy;
	C.th = (C.th + 1) % (CTL_TREND + 1);
	if (C.tn < CTL_TREND + 1)
		C.tn++;
}

/* The sampling timer fired. */
static void
sample(void)
{
	uint64_t junk;

	if (read(C.sfd, &junk, sizeof(junk)) == -1 && errno != EAGAIN)
		warn_limited("timer");
	sample_take();
}

static void
cmd_list(struct client *c)
{
	struct pa_ctl_slot s;
	uint64_t now = pa_now_ns(), d;
	uint32_t i, n = pa_ctl_nslots(&S.r);

	put(c, "ok\n%4s %4s %7s %-8s %9s %7s %-21s %s\n", "slot", "proc",
	    "pid", "state", "accepted", "futile", "peer", "seconds");
	for (i = 0; i < n; i++) {
		if (pa_ctl_slot_copy(&S.r, i, &s) == -1 ||
		    s.state == PA_SLOT_EMPTY)
			continue;
		d = now > s.since_ns ? (now - s.since_ns) / 1000000 : 0;
		put(c, "%4u %4u %7d %-8s %9llu %7llu %-21s %llu.%03llu\n",
		    s.index, s.proc, s.pid, pa_slot_state_str(s.state),
		    (unsigned long long)s.c.accepted,
		    (unsigned long long)s.c.futile,
		    s.peer[0] != '\0' ? s.peer : "-",
		    (unsigned long long)(d / 1000),
		    (unsigned long long)(d % 1000));
	}
}

static void
cmd_help(struct client *c)
{
	put(c, "ok\n"
	    "stat             the pool's figures, one \"key: value\" a line\n"
	    "top              stat, and a scoreboard of the slots\n"
	    "list             one line per slot in use\n"
	    "up [N]           N more handlers (1)\n"
	    "down [N]         N fewer handlers (1)\n"
	    "set N            N handlers\n"
	    "bounds MIN MAX   autoscale between MIN and MAX (0 0: off)\n"
	    "restart          replace every handler, one by one\n"
	    "stop             drain the pool and exit\n"
	    "help             this text\n");
}

/* The range manual changes may move the target in. */
static void
target_range(unsigned *lo, unsigned *hi)
{
	*lo = S.max > 0 ? S.min : 1;
	*hi = S.max > 0 ? S.max : S.nprocs;
	if (*lo < 1)
		*lo = 1;
	if (*hi > S.nprocs)
		*hi = S.nprocs;
}

static void
set_target(struct client *c, unsigned n)
{
	char msg[512];
	unsigned old = S.target;

	msg[0] = '\0';
	if (pool_set_target(n, msg, sizeof(msg)) == -1) {
		put(c, "error: %s\n", msg[0] != '\0' ? msg : "refused");
		return;
	}
	if (S.vflag >= 2)
		warnx("control: target %u -> %u%s%s", old, n,
		    msg[0] != '\0' ? ": " : "", msg);
	put(c, "ok\ntarget %u -> %u%s%s\n", old, n,
	    msg[0] != '\0' ? ": " : "", msg);
}

static void
cmd_resize(struct client *c, const struct pa_ctl_req *req)
{
	unsigned lo, hi, want, cur = S.target;
	const char *why = S.max > 0 ? "autoscaling bounds" : "ceiling";

	target_range(&lo, &hi);
	switch (req->cmd) {
	case PA_CTL_UP:
		want = cur + req->args[0] > hi ? hi : cur + req->args[0];
		if (want <= cur) {
			put(c, "error: already at the maximum of %u handlers "
			    "(%s)\n", hi, why);
			return;
		}
		break;
	case PA_CTL_DOWN:
		want = cur < lo + req->args[0] ? lo : cur - req->args[0];
		if (want >= cur) {
			put(c, "error: already at the minimum of %u handlers"
			    "%s\n", lo, S.max > 0 ? " (autoscaling bounds)" : "");
			return;
		}
		break;
	default:
		want = req->args[0];
		if (want < lo || want > hi) {
			put(c, "error: %u is out of range %u..%u (%s)\n", want,
			    lo, hi, S.max > 0 ? why : "ceiling");
			return;
		}
		break;
	}
	set_target(c, want);
	if (S.max > 0)
		put(c, "autoscaling %u..%u is on: the spare marks may move it\n",
		    S.min, S.max);
}

static void
cmd_bounds(struct client *c, const struct pa_ctl_req *req)
{
	unsigned lo = req->args[0], hi = req->args[1], was_lo = S.min,
	    was_hi = S.max, want;
	char was[64];

	if (lo > hi) {
		put(c, "error: MIN %u is above MAX %u\n", lo, hi);
		return;
	}
	if (hi > S.nprocs) {
		put(c, "error: MAX %u is above the ceiling of %u handlers\n",
		    hi, S.nprocs);
		return;
	}
	S.min = lo;
	S.max = hi;
	if (S.vflag >= 2)
		warnx("control: bounds %u..%u", lo, hi);
	if (hi == 0) {
		if (was_hi == 0)
			put(c, "ok\nautoscaling off (was off); target stays "
			    "%u\n", S.target);
		else
			put(c, "ok\nautoscaling off (was %u..%u); target stays "
			    "%u\n", was_lo, was_hi, S.target);
		return;
	}
	if (was_hi == 0)
		snprintf(was, sizeof(was), "was off");
	else
		snprintf(was, sizeof(was), "were %u..%u", was_lo, was_hi);
	want = S.target < lo ? lo : S.target > hi ? hi : S.target;
	if (want == S.target) {
		put(c, "ok\nbounds %u..%u (%s); target stays %u\n", lo, hi,
		    was, S.target);
		return;
	}
	set_target(c, want);
	/* set_target wrote "ok" and what changed; say why. */
	put(c, "bounds %u..%u (%s)\n", lo, hi, was);
}

static void
respond(struct client *c, const char *line, size_t len)
{
	struct pa_ctl_req req;
	enum pa_ctl_err e;
	unsigned g, n;

	c->c_outlen = c->c_outoff = 0;
	c->c_outerr = 0;
	if ((e = pa_ctl_parse(line, len, &req)) != PA_CTL_OK) {
		put(c, "error: %s\n", pa_ctl_str(e));
		return;
	}
	if (S.draining && req.cmd != PA_CTL_STAT && req.cmd != PA_CTL_TOP &&
	    req.cmd != PA_CTL_LIST && req.cmd != PA_CTL_HELP &&
	    req.cmd != PA_CTL_STOP) {
		put(c, "error: the pool is stopping\n");
		return;
	}
	switch (req.cmd) {
	case PA_CTL_STAT:
		cmd_stat(c, 0);
		break;
	case PA_CTL_TOP:
		cmd_stat(c, 1);
		break;
	case PA_CTL_LIST:
		cmd_list(c);
		break;
	case PA_CTL_HELP:
		cmd_help(c);
		break;
	case PA_CTL_UP:
	case PA_CTL_DOWN:
	case PA_CTL_SET:
		cmd_resize(c, &req);
		break;
	case PA_CTL_BOUNDS:
		cmd_bounds(c, &req);
		break;
	case PA_CTL_RESTART:
		g = S.generation;
		pool_restart();
		if (S.vflag >= 2)
			warnx("control: restart");
		n = pool_count();
		put(c, "ok\nrestart: generation %u -> %u, replacing %u "
		    "handler%s one by one\n", g, S.generation, n,
		    n == 1 ? "" : "s");
		break;
	case PA_CTL_STOP:
		if (S.draining) {
			put(c, "ok\nalready stopping\n");
			break;
		}
		if (S.vflag >= 2)
			warnx("control: stop");
		pool_stop();
		n = pool_count();
		put(c, "ok\nstopping: draining %u handler%s\n", n,
		    n == 1 ? "" : "s");
		break;
	}
}

/* Send what is left of the reply; then half-close and linger. */
static void
flush(struct client *c, size_t i)
{
	ssize_t n;

	while (c->c_outoff < c->c_outlen) {
		n = send(c->c_fd, c->c_out + c->c_outoff,
		    c->c_outlen - c->c_outoff, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (c->c_state != C_WRITE &&
				    epoll_mod(c->c_fd, EPOLLOUT,
				    K_CLIENT + i) == -1) {
					client_free(c);
					return;
				}
				c->c_state = C_WRITE;
				return;
			}
			client_free(c);
			return;
		}
		c->c_outoff += (size_t)n;
	}
	/* The peer sees the end of the reply; we wait for its close. */
	shutdown(c->c_fd, SHUT_WR);
	if (epoll_mod(c->c_fd, EPOLLIN, K_CLIENT + i) == -1) {
		client_free(c);
		return;
	}
	c->c_state = C_LINGER;
}

static void
reply(struct client *c, size_t i, const char *line, size_t len)
{
	respond(c, line, len);
	if (c->c_outerr) {
		c->c_outlen = c->c_outoff = 0;
		c->c_outerr = 0;
		put(c, "error: reply too large\n");
	}
	flush(c, i);
}

static void
client_read(struct client *c, size_t i)
{
	struct pollfd pfd;
	char *nl, junk[4096];
	ssize_t n;

	if (c->c_state == C_LINGER) {
		/* Whatever comes after the request is ignored. */
		n = recv(c->c_fd, junk, sizeof(junk), 0);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			client_free(c);
		return;
	}
	n = recv(c->c_fd, c->c_in + c->c_len, sizeof(c->c_in) - c->c_len, 0);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			client_free(c);
		return;
	}
	if (n == 0) {
		/*
		 * End of input: what came is the request, newline or not,
		 * if the peer only half-closed.  A peer gone altogether
		 * (POLLHUP: closed, killed) may have been cut off in the
		 * middle of its line ("set 1" of "set 16"): not acted on.
		 */
		pfd.fd = c->c_fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP)) {
			client_free(c);
			return;
		}
		reply(c, i, c->c_in, c->c_len);
		return;
	}
	c->c_len += (size_t)n;
	if ((nl = memchr(c->c_in, '\n', c->c_len)) != NULL)
		reply(c, i, c->c_in, (size_t)(nl - c->c_in));
	else if (c->c_len == sizeof(c->c_in))
		reply(c, i, c->c_in, c->c_len);	/* too long */
}

static void
tick(void)
{
	uint64_t now = pa_now_ns(), junk;
	struct client *c;
	size_t i;

	/* Expirations are not counted: reading only re-arms the event. */
	if (read(C.tfd, &junk, sizeof(junk)) == -1 && errno != EAGAIN)
		warn_limited("timer");
	for (i = 0; i < CTL_CLIENTS; i++) {
		c = &C.cl[i];
		if (c->c_state == C_FREE || now < c->c_deadline)
			continue;
		if (c->c_state == C_READ) {
			(void)send(c->c_fd, "error: timeout\n", 15,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		}
		client_free(c);
	}
	if (C.paused_until != 0 && now >= C.paused_until) {
		if (epoll_add(C.lfd, EPOLLIN, K_LISTENER) == 0)
			C.paused_until = 0;
	}
	if (C.nclients == 0 && C.paused_until == 0)
		timer_set(0);
}

/* The ctl epoll set is ready: handle a bounded round of its events. */
static void
ctl_event(struct ev *ev, uint32_t events)
{
	struct epoll_event e[CTL_ROUND];
	struct client *c;
	uint64_t k;
	int i, n;

	(void)ev;
	(void)events;
	n = epoll_wait(C.epfd, e, CTL_ROUND, 0);
	for (i = 0; i < n; i++) {
		k = e[i].data.u64;
		if (k == K_LISTENER) {
			new_clients();
			continue;
		}
		if (k == K_TIMER) {
			tick();
			continue;
		}
		if (k == K_SAMPLE) {
			sample();
			continue;
		}
		if (k - K_CLIENT >= CTL_CLIENTS)
			continue;
		c = &C.cl[k - K_CLIENT];
		if (c->c_state == C_FREE)
			continue;
		if (c->c_state == C_WRITE)
			flush(c, (size_t)(k - K_CLIENT));
		else
			client_read(c, (size_t)(k - K_CLIENT));
	}
}
