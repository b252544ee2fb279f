/*
 * pa-handler [options] prog [arg ...]: the worker of a pa pool.
 *
 * Started by pa-spawn with the listening socket on fd 3 (non-blocking),
 * the shared region on fd 4 (PA_REGION_FD), the readiness pipe on fd 5
 * (PA_READY_FD) and its entry in PA_HANDLER.  Each of its -t threads
 * claims a slot, waits on the region's notification word, accepts without
 * blocking and runs prog once per connection with the connection on fds 0
 * and 1, stderr inherited and the UCSPI environment (PROTO, TCPLOCALIP,
 * TCPREMOTEIP, ...).  Without PA_REGION_FD it serves alone on the socket
 * pa-listen hands over (LISTEN_FDS, fd 3) or on fd 0, polling before accept.
 *
 * Signals are blocked in every thread; the main thread takes them with
 * sigtimedwait(2): TERM, INT, HUP and QUIT make every thread finish the
 * connection in hand and exit 0.  prog starts with an empty signal mask,
 * default dispositions and no descriptor but 0, 1 and 2.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/close_range.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pa.h"
#include "proxy.h"
#include "spawn.h"

#define GRACE_MS	1000	/* after the time limit: TERM, then KILL */
#define STRAY_MS	200	/* idle threads stuck in a blocking accept */

struct thr {
	pthread_t		 t_thread;
	struct pa_worker	*t_w;
	struct pa_ucspi		 t_u;
	struct spawner		*t_sp;
	int			 t_serving;
	int			 t_ended;
	int			 t_started;
};

extern char **environ;

static int		 vflag = 1;
static const char	*banner;
static size_t		 bannerlen;
static const char	*localname;
static unsigned		 nthreads = 1;
static unsigned		 tlimit;	/* seconds; 0: none */
static unsigned long	 maxconn;	/* after jitter; 0: no limit */
static unsigned long	 served;
static int		 recycling;
static char		**progv;
static char		*progpath;	/* resolved once; NULL: search PATH */
static struct pa_pool	*pool;
static pthread_t	 mainthr;
static unsigned		 nended;
static struct thr	*thr;

/*
 * Log lines go out in one write(2) each: the handlers of a pool share
 * one stderr, and err(3)'s several writes would interleave their lines.
 * logx() is logx(), logc() is logc(), logw() is logw().
 */
static void __attribute__((format(printf, 2, 0)))
vlog(int e, const char *fmt, va_list ap)
{
	char buf[1024];
	int n, m;

	n = snprintf(buf, sizeof(buf), "%s: ", getprogname());
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	n = m < 0 ? n : n + m;
	if ((size_t)n >= sizeof(buf) - 1)
		n = (int)sizeof(buf) - 2;
	if (e != 0) {
		m = snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s",
		    strerror(e));
		n = m < 0 ? n : n + m;
		if ((size_t)n >= sizeof(buf) - 1)
			n = (int)sizeof(buf) - 2;
	}
	buf[n++] = '\n';
	if (write(2, buf, (size_t)n) == -1) {
		/* Nowhere left to say it. */
	}
}

static void __attribute__((format(printf, 1, 2)))
logx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(0, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
logc(int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(e, fmt, ap);
	va_end(ap);
}

#define logw(...)	logc(errno, __VA_ARGS__)

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: pa-handler [-hPqv] [-B banner] [-l localname] "
	    "[-m maxconn] [-p net] [-T seconds] [-t threads] [-w seconds] "
	    "prog [arg ...]\n");
	exit(100);
}

static void __attribute__((noreturn))
help(void)
{
	printf("usage: pa-handler [-hPqv] [-B banner] [-l localname] "
	    "[-m maxconn] [-p net] [-T seconds] [-t threads] [-w seconds] "
	    "prog [arg ...]\n"
	    "  -B banner     write banner to each connection before prog "
	    "starts\n"
	    "  -h            print this help and exit\n"
	    "  -l localname  set TCPLOCALHOST=localname for prog\n"
	    "  -m maxconn    exit after about maxconn connections (+-10%%), "
	    "to be replaced\n"
	    "  -P            each connection starts with a PROXY header (v1 "
	    "or v2)\n"
	    "  -p net        with -P: only peers in net (ADDRESS[/BITS], "
	    "repeatable)\n"
	    "  -q            quiet: fatal errors only\n"
	    "  -T seconds    kill prog after seconds (TERM, then KILL 1 s "
	    "later)\n"
	    "  -t threads    handler threads, each with its own slot "
	    "(default 1)\n"
	    "  -v            more log lines: connections (tcpserver's pid/ok/"
	    "end), counters\n"
	    "  -w seconds    with -P: time limit for the header (default 3)\n");
	exit(0);
}

/* Find prog in PATH once, so no connection pays for the search. */
static char *
resolve(const char *prog)
{
	const char *path, *p, *e;
	char buf[PATH_MAX];
	struct stat st;
	int n;

	if (strchr(prog, '/') != NULL)
		return strdup(prog);
	if ((path = getenv("PATH")) == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = e + 1) {
		if ((e = strchr(p, ':')) == NULL)
			e = p + strlen(p);
		n = snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(e - p), p,
		    e == p ? "" : "/", prog);
		if (n > 0 && (size_t)n < sizeof(buf) && stat(buf, &st) == 0 &&
		    S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return strdup(buf);
		if (*e == '\0')
			return NULL;
	}
}

static void
title(struct thr *t, const char *state, const char *peer)
{
	int slot;

	/* libbsd's setproctitle is not thread-safe: one thread only. */
	if (nthreads != 1)
		return;
	slot = pa_worker_slot(t->t_w);
	if (slot == -1)
		setproctitle("alone %s%s%s", state, peer[0] ? " " : "", peer);
	else
		setproctitle("slot %d %s%s%s", slot, state, peer[0] ? " " : "",
		    peer);
}

static int
send_banner(int fd)
{
	size_t off = 0;
	ssize_t n;

	while (off < bannerlen) {
		n = send(fd, banner + off, bannerlen - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* Wait for prog, killing it at the time limit; returns its wait status. */
static int
reap(pid_t pid)
{
	struct pollfd pfd;
	int st, pfdn;

	if (tlimit > 0 &&
	    (pfdn = (int)syscall(SYS_pidfd_open, pid, 0)) != -1) {
		pfd.fd = pfdn;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)tlimit * 1000) == 0) {
			if (vflag >= 1)
				logx("pid %ld: time limit of %us reached: "
				    "killed", (long)pid, tlimit);
			kill(pid, SIGTERM);
			if (poll(&pfd, 1, GRACE_MS) == 0)
				kill(pid, SIGKILL);
		}
		close(pfdn);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return st;
}

/* One connection: prog with it on fds 0 and 1, then reap prog. */
static void
serve(struct thr *t, int fd, const struct sockaddr *peer, socklen_t peerlen)
{
	pid_t pid;
	int r, st;

	/* Fails only for a peer already gone (ENOTCONN): not a warning. */
	if (pa_ucspi_set(&t->t_u, fd, peer, peerlen) == -1) {
		if (vflag >= 2)
			logw("connection: cannot read its addresses");
		close(fd);
		return;
	}
	/* -P: the header first; the UCSPI values become the client's. */
	if (proxyflag && proxy_take(&t->t_u, fd, peer, vflag) == -1) {
		pa_worker_proxy_dropped(t->t_w);
		close(fd);
		return;
	}
	pa_worker_peer(t->t_w, t->t_u.peer);
	if (nthreads == 1)
		title(t, "busy", t->t_u.peer);
	if (bannerlen > 0 && send_banner(fd) == -1) {
		if (vflag >= 2)
			logw("banner to %s", t->t_u.peer);
		close(fd);
		return;
	}
	r = spawn_prog(t->t_sp, fd, progpath, progv, t->t_u.envp, &pid);
	close(fd);
	if (r != 0) {
		if (vflag >= 1)
			logc(r, "clone for %s", progv[0]);
		return;
	}
	if (vflag >= 2) {
		logx("pid %ld from %s", (long)pid, t->t_u.remoteip);
		/* tcpserver's fields: host:ip:port host:ip:info:port. */
		logx("ok %ld %s:%s:%s :%s::%s", (long)pid,
		    localname != NULL ? localname : "", t->t_u.localip,
		    t->t_u.localport, t->t_u.remoteip, t->t_u.remoteport);
	}
	if ((st = reap(pid)) == -1) {
		if (vflag >= 1)
			logw("waitpid %ld", (long)pid);
		return;
	}
	if ((r = spawn_exec_error(t->t_sp)) != 0) {
		if (vflag >= 1)
			logc(r, "exec %s", progv[0]);
		return;
	}
	if (vflag >= 2)
		logx("end %ld status %d", (long)pid, st);
}

static void
counters(struct thr *t)
{
	const struct pa_slot *s = pa_worker_counters(t->t_w);
	char buf[512];
	size_t n;
	int i;

	n = (size_t)snprintf(buf, sizeof(buf), "accepted %llu wakeups %llu "
	    "futile %llu", (unsigned long long)s->accepted,
	    (unsigned long long)s->wakeups, (unsigned long long)s->futile);
	for (i = 0; i < PA_AE_COUNT && n < sizeof(buf); i++)
		if (s->acc_err[i] != 0)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			    " %s %llu", pa_acc_err_str((enum pa_acc_err)i),
			    (unsigned long long)s->acc_err[i]);
	if (pa_worker_slot(t->t_w) == -1)
		logx("alone: %s", buf);
	else
		logx("slot %d: %s", pa_worker_slot(t->t_w), buf);
}

static void *
worker(void *arg)
{
	struct thr *t = arg;
	struct sockaddr_storage ss;
	socklen_t sslen;
	enum pa_next r;
	int fd;

	if ((t->t_w = pa_worker_start(pool)) == NULL) {
		logw("no free slot in the region");
		pa_pool_stop(pool, PA_WHY_ERROR);
		goto out;
	}
	__atomic_store_n(&t->t_started, 1, __ATOMIC_RELEASE);
	title(t, "idle", "");
	for (;;) {
		sslen = sizeof(ss);
		r = pa_worker_next(t->t_w, &fd, (struct sockaddr *)&ss,
		    &sslen);
		if (r == PA_NEXT_EXIT)
			break;
		if (r == PA_NEXT_WARN) {
			if (vflag >= 1)
				logw("accept (backing off)");
			continue;
		}
		if (r == PA_NEXT_ERROR) {
			logw("accept");
			break;
		}
		__atomic_store_n(&t->t_serving, 1, __ATOMIC_RELEASE);
		serve(t, fd, (struct sockaddr *)&ss, sslen);
		__atomic_store_n(&t->t_serving, 0, __ATOMIC_RELEASE);
		pa_worker_done(t->t_w);
		if (maxconn > 0 && __atomic_add_fetch(&served, 1,
		    __ATOMIC_ACQ_REL) == maxconn) {
			recycling = 1;
			pa_pool_stop(pool, PA_WHY_STOP);
		}
		title(t, "idle", "");
	}
	pa_worker_end(t->t_w);
out:
	__atomic_store_n(&t->t_ended, 1, __ATOMIC_RELEASE);
	if (__atomic_add_fetch(&nended, 1, __ATOMIC_ACQ_REL) == nthreads)
		pthread_kill(mainthr, SIGUSR1);
	return NULL;
}

/* Per thread: the UCSPI buffers and the stack prog starts on. */
static void
prepare(struct thr *t)
{
	if (pa_ucspi_init(&t->t_u, pa_pool_fd(pool), environ,
	    localname) == -1)
		err(111, "prepare the environment");
	if ((t->t_sp = spawner_new()) == NULL)
		err(111, "stack for prog");
}

/* Fds 0-2 open (prog needs a stderr), everything above close-on-exec. */
static void
fix_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) != -1 && fd <= 2)
		;
	if (fd == -1)
		err(111, "open /dev/null");
	close(fd);
	if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) == -1)
		err(111, "close_range");
}

static unsigned long
jitter(unsigned long n)
{
	unsigned long j = n / 10;

	if (j == 0)
		return n;
	return n - j + arc4random_uniform((uint32_t)(2 * j + 1));
}

/*
 * The main thread owns the signals.  Once stopping, it waits for the
 * threads that serve; one left idle in a blocking accept (a blocking
 * socket when serving alone) cannot be woken, and does not hold the exit.
 */
static void
supervise(void)
{
	struct timespec ts = { 1, 0 };
	uint64_t stop_ns = 0;
	sigset_t set;
	unsigned i;
	int sig, busy, live;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig != -1 && sig != SIGUSR1 &&
		    pa_pool_why(pool) == PA_WHY_NONE) {
			if (vflag >= 2)
				logx("signal %s: finishing", strsignal(sig));
			pa_pool_stop(pool, PA_WHY_STOP);
		}
		if (__atomic_load_n(&nended, __ATOMIC_ACQUIRE) == nthreads)
			return;
		if (pa_pool_why(pool) == PA_WHY_NONE)
			continue;
		if (stop_ns == 0) {
			stop_ns = pa_now_ns();
			ts.tv_sec = 0;
			ts.tv_nsec = 10 * 1000000L;
		}
		for (i = busy = live = 0; i < nthreads; i++) {
			busy |= __atomic_load_n(&thr[i].t_serving,
			    __ATOMIC_ACQUIRE);
			live |= !__atomic_load_n(&thr[i].t_ended,
			    __ATOMIC_ACQUIRE);
		}
		if (!live || (!busy &&
		    pa_now_ns() - stop_ns > STRAY_MS * 1000000ull))
			return;
	}
}

int
main(int argc, char *argv[])
{
	char why[256];
	const char *errstr;
	sigset_t all;
	unsigned i;
	int ch, alone;
	long long m = 0;

	setproctitle_init(argc, argv, environ);
	while ((ch = getopt(argc, argv, "+B:hl:m:Pp:qT:t:vw:")) != -1) {
		switch (ch) {
		case 'B':
			banner = optarg;
			bannerlen = strlen(optarg);
			break;
		case 'h':
			help();
		case 'l':
			localname = optarg;
			if (*localname == '\0' ||
			    strlen(localname) >= PA_UCSPI_LEN - 16)
				errx(100, "-l %s: empty or too long", optarg);
			break;
		case 'm':
			m = strtonum(optarg, 1, 1000000000, &errstr);
			if (errstr != NULL)
				errx(100, "-m %s: %s", optarg, errstr);
			break;
		case 'P':
			proxyflag = 1;
			break;
		case 'p':
			proxy_allow(optarg);
			break;
		case 'q':
			vflag = 0;
			break;
		case 'T':
			tlimit = (unsigned)strtonum(optarg, 1, 86400 * 7,
			    &errstr);
			if (errstr != NULL)
				errx(100, "-T %s: %s", optarg, errstr);
			break;
		case 't':
			nthreads = (unsigned)strtonum(optarg, 1, 256, &errstr);
			if (errstr != NULL)
				errx(100, "-t %s: %s", optarg, errstr);
			break;
		case 'v':
			vflag++;
			break;
		case 'w':
			proxy_timeout(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	proxy_check();
	progv = argv;
	maxconn = m > 0 ? jitter((unsigned long)m) : 0;

	fix_fds();
	if ((pool = pa_pool_attach(nthreads, why, sizeof(why))) == NULL)
		errx(errno == ENOMEM || errno == EMFILE || errno == ENFILE ?
		    111 : 100, "%s", why);
	alone = pa_pool_index(pool) == -1;
	progpath = resolve(progv[0]);
	if (spawn_init() == -1)
		err(111, "signal dispositions");
	if ((thr = calloc(nthreads, sizeof(*thr))) == NULL)
		err(111, "calloc");
	for (i = 0; i < nthreads; i++)
		prepare(&thr[i]);

	/* Every thread inherits the mask: signals come to sigtimedwait. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	if ((errno = pthread_sigmask(SIG_BLOCK, &all, NULL)) != 0)
		err(111, "pthread_sigmask");
	mainthr = pthread_self();
	for (i = 0; i < nthreads; i++)
		if ((errno = pthread_create(&thr[i].t_thread, NULL, worker,
		    &thr[i])) != 0)
			err(111, "pthread_create");
	if (vflag >= 2)
		logx("%s: %u thread%s, prog %s", alone ? "serving alone" :
		    "in the pool", nthreads, nthreads == 1 ? "" : "s",
		    progpath != NULL ? progpath : progv[0]);

	supervise();

	for (i = 0; i < nthreads; i++) {
		if (!__atomic_load_n(&thr[i].t_ended, __ATOMIC_ACQUIRE))
			continue;
		pthread_join(thr[i].t_thread, NULL);
		if (vflag >= 2 && thr[i].t_started)
			counters(&thr[i]);
	}
	if (vflag >= 2)
		logx("exit: %s%s", pa_why_str(pa_pool_why(pool)),
		    recycling ? " (connection limit reached)" : "");
	return pa_pool_why(pool) == PA_WHY_ERROR ? 111 : 0;
}
