/*
 * pa-spawn: keep a pool of handler processes that accept in parallel on
 * one listening socket, and wake as many of them as connections wait.
 *
 * The listening socket comes per sd_listen_fds(3) (LISTEN_PID, LISTEN_FDS=1,
 * fd 3) or, without LISTEN_FDS, on fd 0.  Each handler runs the rest of
 * the command line with the socket on fd 3 (non-blocking), the shared
 * region on fd 4 (PA_REGION_FD), the write end of the readiness pipe on
 * fd 5 (PA_READY_FD) and its entry in PA_HANDLER.  One epoll loop watches
 * the listener (edge-triggered), signals and children (signalfd), the
 * readiness pipe, a timer and the control socket.  TERM drains, INT and
 * QUIT stop now, HUP replaces the handlers one by one, TTIN and TTOU add
 * and remove one, USR2 executes pa-spawn afresh in this process.
 */
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libutil.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawn.h"
#include "pool.h"

#define NEV		64
#define SCALE_TICK	100000000ull	/* scale_tick() every 100 ms */
#define GRACE_DEFAULT	30

struct spawner	 S;

static int	 epfd = -1, sigfd = -1, tfd = -1;
static struct ev ev_listen, ev_sig, ev_ready, ev_timer;
static struct epoll_event evs[NEV];
static int	 ncur, icur;		/* the batch being dispatched */
#define DEAF_MS		50		/* safety net while deaf */
static int	 rearm = 1;
static uint64_t	 next_scale_ns;
static int	 readyfd = -1;		/* -d */
static char	*notify_path;		/* $NOTIFY_SOCKET */
static struct pidfh *pfh;
static long	 queue_unknown;
/* Options that only main.c needs. */
static const char *pidpath;		/* -p */
static const char *userspec;		/* -u */
static int	 Uflag;			/* -U */
static unsigned	 nhandlers;		/* -n */
static int	 nflag;
static char	**orig_argv;		/* for a re-exec */
static int	 dropped;		/* -u or -U done */
static const char *adopting;		/* $PA_SPAWN_STATE: after a re-exec */
static const char *adopt_procs;		/* $PA_SPAWN_PROCS: its handlers */

static void	 adopt_listener(void);
static void	 describe_listener(void);
static void	 reexec(void);

static void __attribute__((__noreturn__))
usage(void)
{
	fprintf(stderr, "usage: pa-spawn [-aqUv] [-c ctlpath] [-d fd] "
	    "[-g grace] [-i idle] [-M max] [-m min] [-n count] "
	    "[-p pidfile] [-s lo:hi] [-u user[:group]] handler [arg ...]\n");
	exit(100);
}

static void __attribute__((__noreturn__))
help(void)
{
	printf("usage: pa-spawn [-aqUv] [-c ctlpath] [-d fd] [-g grace] "
	    "[-i idle] [-M max] [-m min] [-n count] [-p pidfile] "
	    "[-s lo:hi] [-u user[:group]] handler [arg ...]\n"
	    "  -a          pin handlers to processors, round robin\n"
	    "  -c ctlpath  control socket (default %s)\n"
	    "  -d fd       write a newline to fd once the handlers wait\n"
	    "  -g grace    seconds a retiring or draining handler may take, "
	    "and a new one\n              to get ready (default %d)\n"
	    "  -h          this help\n"
	    "  -i idle     autoscaling: retire handlers idle this long\n"
	    "  -M max      autoscaling ceiling; also the hard ceiling\n"
	    "  -m min      autoscaling floor\n"
	    "  -n count    handlers to start (default: processors, "
	    "at least 4)\n"
	    "  -p pidfile  write the pid to pidfile (locked)\n"
	    "  -q          quiet: fatal errors only\n"
	    "  -s lo:hi    autoscaling: keep lo to hi handlers idle\n"
	    "  -U          run as $UID and $GID\n"
	    "  -u user     run as user[:group]\n"
	    "  -v          more log lines (each -v adds a level)\n",
	    ctl_default_path(), GRACE_DEFAULT);
	exit(0);
}

void
logx(int level, const char *fmt, ...)
{
	va_list ap;

	if (S.vflag < level)
		return;
	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

int
ev_add(struct ev *ev, int fd, ev_fn *fn, void *arg, int et)
{
	struct epoll_event e;

	ev->fn = fn;
	ev->fd = fd;
	ev->arg = arg;
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN | (et ? EPOLLET : 0);
	e.data.ptr = ev;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
}

int
ev_del(struct ev *ev)
{
	int i;

	/* The caller may free ev: forget it in the batch being dispatched. */
	for (i = icur + 1; i < ncur; i++)
		if (evs[i].data.ptr == ev)
			evs[i].data.ptr = NULL;
	return epoll_ctl(epfd, EPOLL_CTL_DEL, ev->fd, NULL);
}

/* The notifier's view of the listener (pa_notify_init()). */
static long
queue_len(void *arg)
{
	(void)arg;
	return pa_queue_len(S.lfd, S.domain);
}

/* Stop watching the listener (on 0), or watch it again, edge-triggered. */
static int
watch_listener(void *arg, int on)
{
	struct epoll_event e;

	(void)arg;
	memset(&e, 0, sizeof(e));
	if (on)
		e.events = EPOLLIN | EPOLLET;
	e.data.ptr = &ev_listen;
	return epoll_ctl(epfd, EPOLL_CTL_MOD, S.lfd, &e);
}

/* Watch the listener again, and catch up on what is queued. */
static void
listen_again(void)
{
	if (watch_listener(NULL, 1) == -1)
		err(111, "epoll_ctl");
	pa_notify_hear(&S.notifier);
	notify(0);
}

/*
 * The notification (pa(7), lib/pa_notify.c): on every listener event,
 * and whenever a count may have gone wrong (a handler ended).
 */
void
notify(int event)
{
	if (pa_notify_event(&S.notifier, event) == -1 && queue_unknown++ == 0)
		logx(1, "accept queue length of %s: %s; waking every idle "
		    "handler", S.addr, strerror(errno));
}

static void
on_listen(struct ev *ev, uint32_t events)
{
	(void)ev;
	(void)events;
	notify(1);
}

static void
on_ready(struct ev *ev, uint32_t events)
{
	(void)ev;
	(void)events;
	pool_read_ready();
}

static void
on_signal(struct ev *ev, uint32_t events)
{
	struct signalfd_siginfo si;
	char msg[128];
	int reap = 0;

	(void)ev;
	(void)events;
	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap = 1;
			break;
		case SIGHUP:
			pool_restart();
			break;
		case SIGINT:
		case SIGQUIT:
			pool_stop_now();
			break;
		case SIGTERM:
			pool_stop();
			break;
		case SIGUSR2:
			reexec();
			break;
		case SIGTTIN:
		case SIGTTOU:
			if (si.ssi_signo == SIGTTOU && S.target == 0)
				break;
			if (pool_set_target(si.ssi_signo == SIGTTIN ?
			    S.target + 1 : S.target - 1, msg,
			    sizeof(msg)) == -1)
				logx(1, "%s: %s", si.ssi_signo == SIGTTIN ?
				    "TTIN" : "TTOU", msg);
			else
				logx(2, "%s: %u handlers: %s",
				    si.ssi_signo == SIGTTIN ? "TTIN" : "TTOU",
				    S.target, msg);
			break;
		}
	}
	if (reap)
		pool_reap();
}

static void
arm_timer(void)
{
	struct itimerspec it;
	uint64_t now = pa_now_ns(), d;

	d = pool_deadline(now);
	if (S.max != 0 && !S.draining && (d == 0 || next_scale_ns < d))
		d = next_scale_ns;
	memset(&it, 0, sizeof(it));
	if (d != 0) {
		if (d <= now)
			d = now + 1;
		it.it_value.tv_sec = (time_t)(d / 1000000000u);
		it.it_value.tv_nsec = (long)(d % 1000000000u);
	}
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &it, NULL) == -1)
		err(111, "timerfd_settime");
}

static void
on_timer(struct ev *ev, uint32_t events)
{
	uint64_t n, now;

	(void)ev;
	(void)events;
	if (read(tfd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		logx(1, "timer: %s", strerror(errno));
	now = pa_now_ns();
	pool_tick(now);
	if (S.max != 0 && !S.draining && now >= next_scale_ns) {
		scale_tick(now);
		next_scale_ns = now + SCALE_TICK;
	}
}

/* Send one datagram to $NOTIFY_SOCKET (sd_notify(3)); "@" is abstract. */
static void
sd_notify_send(const char *msg)
{
	struct sockaddr_un sun;
	socklen_t len;
	size_t n;
	int fd;

	if (notify_path == NULL)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = strlen(notify_path);
	if (n >= sizeof(sun.sun_path)) {
		logx(1, "NOTIFY_SOCKET %s: path too long", notify_path);
		return;
	}
	memcpy(sun.sun_path, notify_path, n);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (sun.sun_path[0] != '\0'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		logx(1, "NOTIFY_SOCKET: socket: %s", strerror(errno));
		return;
	}
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		logx(1, "NOTIFY_SOCKET %s: %s", notify_path, strerror(errno));
	close(fd);
}

void
announce_ready(void)
{
	char msg[256];
	int fd;

	logx(2, "ready: %u handlers on %s", pool_count(), S.addr);
	if (readyfd != -1) {
		if (write(readyfd, "\n", 1) == -1)
			logx(1, "readiness fd %d: %s", readyfd,
			    strerror(errno));
		/* 0-2 stay open: handlers started later inherit them. */
		if (readyfd > 2)
			close(readyfd);
		else if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
			dup2(fd, readyfd);
			close(fd);
		}
		readyfd = -1;
	}
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%u handlers on %s\n",
	    pool_count(), S.addr);
	sd_notify_send(msg);
}

void
announce_stopping(void)
{
	sd_notify_send("STOPPING=1\n");
}

void
show_title(void)
{
	static unsigned shown_n = UINT_MAX, shown_t = UINT_MAX;
	static int shown_d = -1;
	unsigned n = pool_count();

	if (n == shown_n && S.target == shown_t && S.draining == shown_d)
		return;
	shown_n = n;
	shown_t = S.target;
	shown_d = S.draining;
	setproctitle("%s%u/%u handlers on %s", S.draining ? "draining, " :
	    "", n, S.target, S.addr);
}

static unsigned
number(const char *s, char opt, long long lo, long long hi)
{
	const char *errstr;
	long long v;

	v = strtonum(s, lo, hi, &errstr);
	if (errstr != NULL)
		errx(100, "-%c %s: %s", opt, s, errstr);
	return (unsigned)v;
}

/* -u user[:group], or -U ($UID, $GID): find the identity to run as. */
static void
identity(const char *spec, int fromenv, uid_t *uid, gid_t *gid)
{
	const char *errstr, *u, *g;
	struct passwd *pw;
	struct group *gr;
	char *user, *colon;

	if (fromenv) {
		if ((u = getenv("UID")) == NULL || (g = getenv("GID")) == NULL)
			errx(100, "-U: $UID and $GID must both be set");
		*uid = (uid_t)strtonum(u, 0, UINT_MAX - 1, &errstr);
		if (errstr != NULL)
			errx(100, "-U: UID=%s: %s", u, errstr);
		*gid = (gid_t)strtonum(g, 0, UINT_MAX - 1, &errstr);
		if (errstr != NULL)
			errx(100, "-U: GID=%s: %s", g, errstr);
		return;
	}
	if ((user = strdup(spec)) == NULL)
		err(111, "strdup");
	if ((colon = strchr(user, ':')) != NULL)
		*colon++ = '\0';
	if ((pw = getpwnam(user)) != NULL) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	} else {
		*uid = (uid_t)strtonum(user, 0, UINT_MAX - 1, &errstr);
		if (errstr != NULL)
			errx(100, "-u %s: no such user", user);
		if (colon == NULL) {
			if ((pw = getpwuid(*uid)) == NULL)
				errx(100, "-u %s: no such user; name a group "
				    "too (-u uid:gid)", user);
			*gid = pw->pw_gid;
		}
	}
	if (colon != NULL) {
		if ((gr = getgrnam(colon)) != NULL)
			*gid = gr->gr_gid;
		else {
			*gid = (gid_t)strtonum(colon, 0, UINT_MAX - 1, &errstr);
			if (errstr != NULL)
				errx(100, "-u %s: no such group", spec);
		}
	}
	free(user);
}

/* Give up root for good: no supplementary groups, then gid, then uid. */
static void
drop(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) == -1)
		err(111, "setgroups");
	if (setgid(gid) == -1)
		err(111, "setgid %lu", (unsigned long)gid);
	if (setuid(uid) == -1)
		err(111, "setuid %lu", (unsigned long)uid);
	if (uid != 0 && setuid(0) != -1)
		errx(101, "setuid 0 still works after dropping to uid %lu",
		    (unsigned long)uid);
	dropped = 1;
	logx(2, "running as uid %lu gid %lu", (unsigned long)uid,
	    (unsigned long)gid);
}


/* The listening socket (contract 1), moved above fd 5, non-blocking. */
static void
take_listener(void)
{
	char why[256];
	int fd, nfd;

	if ((fd = pa_sd_listen_fd(why, sizeof(why))) == -1)
		errx(100, "no listening socket: %s", why);
	/* Keep 0-5 free of our own: fd 0 may be a socket that PROGs see. */
	if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, 6)) == -1)
		err(111, "dup listening socket");
	close(fd);
	if (fd == 0 && open("/dev/null", O_RDONLY) != 0)
		err(111, "/dev/null");
	S.lfd = nfd;
	if (fcntl(S.lfd, F_SETFL, fcntl(S.lfd, F_GETFL) | O_NONBLOCK) == -1)
		err(111, "listening socket: O_NONBLOCK");
	describe_listener();
	pool_open_door();
}

/* The listener's family and address, for the notification and logs. */
static void
describe_listener(void)
{
	struct sockaddr_storage ss;
	socklen_t len;

	len = sizeof(S.domain);
	if (getsockopt(S.lfd, SOL_SOCKET, SO_DOMAIN, &S.domain, &len) == -1)
		err(111, "listening socket: SO_DOMAIN");
	len = sizeof(ss);
	if (getsockname(S.lfd, (struct sockaddr *)&ss, &len) == -1 ||
	    pa_addr_format((struct sockaddr *)&ss, len, S.addr,
	    sizeof(S.addr)) == -1)
		strlcpy(S.addr, "?", sizeof(S.addr));
}

static void
setup_loop(void)
{
	sigset_t set;

	/* Block before the first fork: signals only come through sigfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGTTIN);
	sigaddset(&set, SIGTTOU);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		err(111, "sigprocmask");
	signal(SIGPIPE, SIG_IGN);
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(111, "epoll_create1");
	if ((sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		err(111, "signalfd");
	if ((tfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
		err(111, "timerfd_create");
	if (ev_add(&ev_sig, sigfd, on_signal, NULL, 0) == -1 ||
	    ev_add(&ev_timer, tfd, on_timer, NULL, 0) == -1 ||
	    ev_add(&ev_ready, pool_ready_fd(), on_ready, NULL, 0) == -1 ||
	    ev_add(&ev_listen, S.lfd, on_listen, NULL, 1) == -1)
		err(111, "epoll_ctl");
	pa_notify_init(&S.notifier, S.r.hdr, queue_len, watch_listener, NULL);
}

static void
loop(void)
{
	struct ev *ev;

	for (;;) {
		if (pool_done())
			return;
		if (rearm) {
			arm_timer();
			rearm = 0;
		}
		if (pa_notify_deaf(&S.notifier))
			pa_notify_expire(&S.notifier);
		if (pa_notify_want_hear(&S.notifier))
			listen_again();
		ncur = epoll_wait(epfd, evs, NEV,
		    pa_notify_deaf(&S.notifier) ? DEAF_MS : -1);
		if (ncur == -1) {
			if (errno == EINTR)
				continue;
			err(111, "epoll_wait");
		}
		for (icur = 0; icur < ncur; icur++) {
			if ((ev = evs[icur].data.ptr) == NULL)
				continue;
			/* Only the listener leaves every deadline as it was. */
			if (ev != &ev_listen)
				rearm = 1;
			ev->fn(ev, evs[icur].events);
		}
		ncur = 0;
	}
}

/* After the drain: say what was left behind, then go. */
static void __attribute__((__noreturn__))
finish(void)
{
	long n;

	n = pa_queue_len(S.lfd, S.domain);
	if (n > 0)
		logx(1, "exiting with %ld connections still queued on %s", n,
		    S.addr);
	else
		logx(2, "drained; exiting");
	ctl_close();
	if (pfh != NULL)
		pidfile_remove(pfh);
	exit(0);
}

/* -s lo:hi */
static void
spare_marks(char *arg)
{
	const char *errstr;
	char *colon;

	if ((colon = strchr(arg, ':')) == NULL)
		errx(100, "-s %s: expected lo:hi", arg);
	*colon = '\0';
	S.spare_lo = (unsigned)strtonum(arg, 0, PA_PROCS_MAX, &errstr);
	if (errstr == NULL)
		S.spare_hi = (unsigned)strtonum(colon + 1, 0, PA_PROCS_MAX,
		    &errstr);
	*colon = ':';
	if (errstr != NULL)
		errx(100, "-s %s: %s", arg, errstr);
	if (S.spare_lo > S.spare_hi)
		errx(100, "-s %s: lo above hi", arg);
}

/* The options, into S and the statics above; returns optind. */
static int
options(int argc, char *argv[])
{
	int ch;

	S.vflag = 1;
	S.grace = GRACE_DEFAULT;
	while ((ch = getopt(argc, argv, "+ac:d:g:hi:M:m:n:p:qs:Uu:v")) != -1) {
		switch (ch) {
		case 'a':
			pool_affinity = 1;
			break;
		case 'c':
			S.ctl_path = optarg;
			break;
		case 'd':
			readyfd = (int)number(optarg, 'd', 0, INT_MAX);
			break;
		case 'g':
			S.grace = number(optarg, 'g', 0, 86400);
			break;
		case 'h':
			help();
		case 'i':
			S.idle_timeout = number(optarg, 'i', 0, 86400);
			break;
		case 'M':
			S.max = number(optarg, 'M', 1, PA_PROCS_MAX);
			break;
		case 'm':
			S.min = number(optarg, 'm', 0, PA_PROCS_MAX);
			break;
		case 'n':
			nhandlers = number(optarg, 'n', 0, PA_PROCS_MAX);
			nflag = 1;
			break;
		case 'p':
			pidpath = optarg;
			break;
		case 'q':
			S.vflag = 0;
			break;
		case 's':
			spare_marks(optarg);
			break;
		case 'U':
			Uflag = 1;
			break;
		case 'u':
			userspec = optarg;
			break;
		case 'v':
			S.vflag++;
			break;
		default:
			usage();
		}
	}
	return optind;
}

/*
 * Conflicts, then the sizes: the handlers to start (default: the online
 * processors, at least 4, within -m/-M) and the ceiling (-M, or four
 * times that, at least 64), which sizes procs[] and the region.
 */
static unsigned
sizing(void)
{
	unsigned nprocs;
	long ncpu;

	if (userspec != NULL && Uflag)
		errx(100, "-u and -U exclude each other");
	if (S.max != 0 && S.min > S.max)
		errx(100, "-m %u is above -M %u", S.min, S.max);
	if (S.max == 0 && S.min != 0)
		errx(100, "-m needs -M (autoscaling bounds)");
	if (!nflag) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		nhandlers = ncpu < 4 ? 4 : ncpu > PA_PROCS_MAX ?
		    PA_PROCS_MAX : (unsigned)ncpu;
		if (S.max != 0 && nhandlers > S.max)
			nhandlers = S.max;
		if (nhandlers < S.min)
			nhandlers = S.min;
	}
	if (S.max != 0 && (nhandlers < S.min || nhandlers > S.max))
		errx(100, "-n %u is outside -m %u to -M %u", nhandlers, S.min,
		    S.max);
	if (S.max != 0)
		return S.max;
	nprocs = nhandlers * 4 < 64 ? 64 : nhandlers * 4;
	return nprocs > PA_PROCS_MAX ? PA_PROCS_MAX : nprocs;
}

/* fds 0-2 open, -d usable, the socket, $NOTIFY_SOCKET saved and unset. */
static void
inherited(void)
{
	const char *v;
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null", O_RDWR) != fd)
			err(111, "/dev/null");
	if (readyfd == 3 && getenv("LISTEN_FDS") != NULL)
		errx(100, "-d 3: fd 3 is the listening socket");
	if (adopting != NULL)
		adopt_listener();
	else
		take_listener();
	if (readyfd > 2 && fcntl(readyfd, F_SETFD, FD_CLOEXEC) == -1)
		err(111, "-d %d", readyfd);
	if ((v = getenv("NOTIFY_SOCKET")) != NULL && *v != '\0' &&
	    (notify_path = strdup(v)) == NULL)
		err(111, "strdup");
	unsetenv("NOTIFY_SOCKET");
}

/* After a re-exec: the listener the previous image kept open. */
static void
adopt_listener(void)
{
	const char *v, *errstr;

	if ((v = getenv("PA_SPAWN_LFD")) == NULL)
		errx(101, "re-exec: PA_SPAWN_STATE without PA_SPAWN_LFD");
	S.lfd = (int)strtonum(v, 6, INT_MAX, &errstr);
	if (errstr != NULL || pa_sd_is_listener(S.lfd) != 1)
		errx(101, "re-exec: PA_SPAWN_LFD=%s is no listening socket", v);
	if (fcntl(S.lfd, F_SETFD, FD_CLOEXEC) == -1)
		err(111, "listening socket: F_SETFD");
	unsetenv("PA_SPAWN_LFD");
	describe_listener();
}

/*
 * USR2: execute pa-spawn afresh (a new binary) in this same process:
 * the pid, the socket and the handlers, which stay its children, are
 * kept; the new image adopts them (pool_adopt()).  Not after -u/-U:
 * the new image could not redo what needed the privileges.
 */
static void
reexec(void)
{
	char state[128], lfd[16], *procs = NULL;
	int e;

	if (S.draining) {
		logx(1, "USR2: stopping; no re-exec");
		return;
	}
	if (dropped) {
		logx(1, "USR2: re-exec needs the privileges given up with "
		    "-u or -U; restart pa-spawn instead");
		return;
	}
	snprintf(lfd, sizeof(lfd), "%d", S.lfd);
	if (pool_keep(1, state, sizeof(state), &procs) == -1 ||
	    fcntl(S.lfd, F_SETFD, 0) == -1 ||
	    (readyfd > 2 && fcntl(readyfd, F_SETFD, 0) == -1) ||
	    setenv("PA_SPAWN_STATE", state, 1) == -1 ||
	    setenv("PA_SPAWN_PROCS", procs, 1) == -1 ||
	    setenv("PA_SPAWN_LFD", lfd, 1) == -1 ||
	    (notify_path != NULL &&
	    setenv("NOTIFY_SOCKET", notify_path, 1) == -1)) {
		e = errno;
		goto undo;
	}
	logx(2, "USR2: executing %s afresh", orig_argv[0]);
	ctl_close();
	if (pfh != NULL)
		pidfile_close(pfh);
	execvp(orig_argv[0], orig_argv);
	e = errno;
	pfh = NULL;
	if (pidpath != NULL &&
	    (pfh = pidfile_open(pidpath, 0644, NULL)) != NULL)
		(void)pidfile_write(pfh);
	if (ctl_open(S.ctl_path) == -1)
		logx(1, "control socket %s: %s", S.ctl_path, strerror(errno));
undo:
	logx(1, "USR2: exec %s: %s", orig_argv[0], strerror(e));
	free(procs);
	unsetenv("PA_SPAWN_STATE");
	unsetenv("PA_SPAWN_PROCS");
	unsetenv("PA_SPAWN_LFD");
	unsetenv("NOTIFY_SOCKET");
	(void)pool_keep(0, NULL, 0, NULL);
	(void)fcntl(S.lfd, F_SETFD, FD_CLOEXEC);
	if (readyfd > 2)
		(void)fcntl(readyfd, F_SETFD, FD_CLOEXEC);
}

static void
pidfile(void)
{
	pid_t other;

	if ((pfh = pidfile_open(pidpath, 0644, &other)) == NULL) {
		if (errno == EEXIST)
			errx(111, "pidfile %s: already running as pid %ld",
			    pidpath, (long)other);
		err(111, "pidfile %s", pidpath);
	}
	if (pidfile_write(pfh) == -1)
		err(111, "pidfile %s", pidpath);
}

/*
 * The control socket: fatal if -c named it; the default path may be
 * held by another pool, which is worth a warning only.
 */
static void
control(void)
{
	const char *why;
	int given = S.ctl_path != NULL;

	if (!given)
		S.ctl_path = ctl_default_path();
	if (ctl_open(S.ctl_path) == 0)
		return;
	why = errno == EADDRINUSE ? "in use by another pa-spawn" :
	    strerror(errno);
	if (given)
		errx(111, "control socket %s: %s", S.ctl_path, why);
	logx(1, "control socket %s: %s; running without one (-c names "
	    "another)", S.ctl_path, why);
}

/*
 * Parse, check, take the socket, set up everything privileged, give up
 * privileges, start the handlers (or adopt them after a re-exec), loop.
 */
int
main(int argc, char *argv[])
{
	extern char **environ;
	unsigned nprocs;
	uid_t uid = 0;
	gid_t gid = 0;
	int ch;

	if ((orig_argv = reallocarray(NULL, (size_t)argc + 1,
	    sizeof(*orig_argv))) == NULL)
		err(111, "malloc");
	for (ch = 0; ch < argc; ch++)
		if ((orig_argv[ch] = strdup(argv[ch])) == NULL)
			err(111, "strdup");
	orig_argv[argc] = NULL;
	if ((adopting = getenv("PA_SPAWN_STATE")) != NULL &&
	    (adopting = strdup(adopting)) == NULL)
		err(111, "strdup");
	if ((adopt_procs = getenv("PA_SPAWN_PROCS")) != NULL &&
	    (adopt_procs = strdup(adopt_procs)) == NULL)
		err(111, "strdup");
	unsetenv("PA_SPAWN_STATE");
	unsetenv("PA_SPAWN_PROCS");
	setproctitle_init(argc, argv, environ);
	argc -= options(argc, argv);
	argv += optind;
	if (argc < 1)
		usage();
	nprocs = sizing();
	/* After a re-exec, a -d descriptor already written to is gone. */
	if (readyfd != -1 && fcntl(readyfd, F_GETFD) == -1) {
		if (adopting == NULL)
			errx(100, "-d %d: descriptor not open", readyfd);
		readyfd = -1;
	}
	if (userspec != NULL || Uflag)
		identity(userspec, Uflag, &uid, &gid);
	S.argv = argv;

	inherited();
	/* Everything privileged: pidfile, region, loop, control socket. */
	if (pidpath != NULL)
		pidfile();
	if (adopting != NULL) {
		/* The region and handlers of the previous image. */
		if (pool_adopt(adopting, adopt_procs) == -1)
			err(101, "re-exec: adopting the pool (%s)", adopting);
		setup_loop();
	} else {
		if (pool_init(nprocs) == -1)
			err(111, "shared region for %u handlers", nprocs);
		setup_loop();
	}
	control();
	if (userspec != NULL || Uflag)
		drop(uid, gid);

	next_scale_ns = pa_now_ns() + SCALE_TICK;
	if (adopting != NULL)
		logx(2, "executed afresh: %u handlers on %s", pool_count(),
		    S.addr);
	else {
		logx(2, "%u handlers on %s: %s", nhandlers, S.addr, argv[0]);
		pool_start(nhandlers);
	}
	show_title();
	loop();
	finish();
}
