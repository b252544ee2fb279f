/*
 * pool.c: the handler processes of pa-spawn.
 *
 * Each entry of procs[] holds at most one handler process.  An entry is
 * free, starting (forked, not yet waiting on the flag), ready, retiring
 * (asked to go, grace timer running) or waiting to be restarted (its
 * handler ended unasked).  An entry starts a handler at most once a
 * second, so a handler that exits at once costs one fork a second per
 * entry and no more.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/filter.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawn.h"
#include "pool.h"

#define SEC		1000000000ull
#define RESTART_GAP	SEC	/* an entry starts a handler once a second at most */
#define ROLL_MAX	4	/* rolling restart: replacements starting at once */
#define STOP_WAIT	(2 * SEC) /* INT/QUIT: TERM, then KILL after this */

int		 pool_affinity;

static int	 readyr = -1, readyw = -1;
static unsigned	 region_nslots;	/* as created: the header is writable */
static int	*cpus;		/* processors we may run on, for -a */
static int	 ncpus;
static unsigned	 initial;	/* handlers that must be ready to announce */
static unsigned	 nready;
static int	 announced;
static int	 rolling;	/* a rolling restart is under way */
static uint64_t	 roll_pause_ns;	/* a replacement failed: wait till then */
static int	 stopping;	/* INT/QUIT */
static uint64_t	 drain_deadline;
static int	 drain_killed;
static uint8_t	*killed;	/* per entry: SIGKILL sent after the grace */
static unsigned	*fails;		/* per entry: quick failures in a row */
/* Per entry, from a scan of the slots: threads, idle ones, idle since. */
static unsigned	*sc_threads, *sc_idle;
static uint64_t	*sc_since;

static void	 balance(char *, size_t, uint64_t);

static int
alive(const struct proc *p)
{
	return p->p_state == P_STARTING || p->p_state == P_READY ||
	    p->p_state == P_RETIRING;
}

/* Counts towards the target: running or due to restart, not extra. */
static int
wanted(const struct proc *p)
{
	return (p->p_state == P_STARTING || p->p_state == P_READY ||
	    p->p_state == P_RESTART) && !p->p_replacing;
}

/* procs[] and the per-entry arrays, and the processors for -a. */
static int
pool_alloc(unsigned nprocs)
{
	cpu_set_t set;
	int c;

	if ((S.procs = calloc(nprocs, sizeof(*S.procs))) == NULL ||
	    (killed = calloc(nprocs, 1)) == NULL ||
	    (fails = calloc(nprocs, sizeof(*fails))) == NULL ||
	    (sc_threads = calloc(nprocs, sizeof(*sc_threads))) == NULL ||
	    (sc_idle = calloc(nprocs, sizeof(*sc_idle))) == NULL ||
	    (sc_since = calloc(nprocs, sizeof(*sc_since))) == NULL)
		return -1;
	S.nprocs = nprocs;
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		if ((cpus = reallocarray(NULL, CPU_SETSIZE,
		    sizeof(*cpus))) == NULL)
			return -1;
		for (c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set))
				cpus[ncpus++] = c;
	}
	return 0;
}

int
pool_init(unsigned nprocs)
{
	int p[2];

	if (pool_alloc(nprocs) == -1)
		return -1;
	if (pa_region_create(&S.r, nprocs, PA_SLOTS_MAX) == -1)
		return -1;
	region_nslots = PA_SLOTS_MAX;
	/*
	 * Handlers write 4-byte records, atomic on a pipe; the write end
	 * they inherit blocks, the read end here does not.
	 */
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	if (fcntl(p[1], F_SETFL, 0) == -1)
		return -1;
	readyr = p[0];
	readyw = p[1];
	return 0;
}

/*
 * Re-exec of pa-spawn: what the next image needs besides the listener.
 * state: "REGIONFD,READYR,READYW,TARGET,ANNOUNCED,NPROCS,NSLOTS", with
 * the three descriptors made inheritable; procs (allocated): one
 * "ENTRY:PID:STATE:STARTED_NS," per live handler, from procs[] (the
 * region's copy is writable by every handler: not to be trusted).
 * pool_keep(0, ...) undoes it if the exec fails.
 */
int
pool_keep(int keep, char *state, size_t len, char **procs)
{
	int fds[3] = { S.r.fd, readyr, readyw }, k;
	const struct proc *p;
	size_t cap, off = 0;
	unsigned i;
	char *b;

	for (k = 0; k < 3; k++)
		if (fcntl(fds[k], F_SETFD, keep ? 0 : FD_CLOEXEC) == -1)
			return -1;
	if (!keep)
		return 0;
	snprintf(state, len, "%d,%d,%d,%u,%d,%u,%u", S.r.fd, readyr, readyw,
	    S.target, announced, S.nprocs, region_nslots);
	cap = (size_t)S.nprocs * 64 + 1;
	if ((b = malloc(cap)) == NULL)
		return -1;
	b[0] = '\0';
	for (i = 0; i < S.nprocs; i++) {
		p = &S.procs[i];
		if (!alive(p))
			continue;
		off += (size_t)snprintf(b + off, cap - off, "%u:%ld:%c:%llu,",
		    i, (long)p->p_pid, p->p_state == P_RETIRING ? 'R' :
		    p->p_state == P_READY ? 'Y' : 'S',
		    (unsigned long long)p->p_started_ns);
	}
	*procs = b;
	return 0;
}

/* pid is a child of this process (read from /proc/PID/stat). */
static int
is_child(pid_t pid)
{
	char path[64], buf[512], *rp;
	long ppid;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything but ")". */
	if ((rp = strrchr(buf, ')')) == NULL ||
	    sscanf(rp + 1, " %*c %ld", &ppid) != 1)
		return 0;
	return ppid == (long)getpid();
}

/*
 * The other side of pool_keep(): put back the sizes in the region's
 * header (a handler may have scribbled them), map it, take the pipe,
 * and rebuild procs[] from the list, keeping only processes that are
 * still children of this process.  The generation starts again.
 */
int
pool_adopt(const char *state, const char *procs)
{
	struct pa_region_hdr fix;
	struct proc *p;
	uint64_t now = pa_now_ns();
	unsigned long long started;
	unsigned i, target, nprocs, nslots;
	int rfd, rr, rw, ann, n = 0, used;
	long pid;
	char st;

	if (sscanf(state, "%d,%d,%d,%u,%d,%u,%u", &rfd, &rr, &rw, &target,
	    &ann, &nprocs, &nslots) != 7 || rfd < 0 || rr < 0 || rw < 0 ||
	    nprocs == 0 || nprocs > PA_PROCS_MAX || nslots == 0 ||
	    nslots > PA_SLOTS_MAX || target > nprocs) {
		errno = EINVAL;
		return -1;
	}
	if (fcntl(rfd, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(rr, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(rw, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	memset(&fix, 0, sizeof(fix));
	fix.magic = PA_REGION_MAGIC;
	fix.version = PA_REGION_VERSION;
	fix.nprocs = nprocs;
	fix.nslots = nslots;
	fix.slot_size = sizeof(struct pa_slot);
	fix.proc_size = sizeof(struct pa_proc);
	if (pwrite(rfd, &fix, offsetof(struct pa_region_hdr, gen), 0) !=
	    (ssize_t)offsetof(struct pa_region_hdr, gen))
		return -1;
	if (pa_region_map(&S.r, rfd) == -1)
		return -1;
	region_nslots = nslots;
	PA_STORE(&S.r.hdr->spawner_pid, (int32_t)getpid());
	if (pool_alloc(nprocs) == -1)
		return -1;
	readyr = rr;
	readyw = rw;
	S.target = target;
	announced = ann;
	while (procs != NULL && sscanf(procs, "%u:%ld:%c:%llu,%n", &i, &pid,
	    &st, &started, &used) == 4) {
		procs += used;
		if (i >= nprocs || pid <= 0 || !is_child((pid_t)pid)) {
			logx(1, "re-exec: handler %u pid %ld is no child of "
			    "pa-spawn: left alone", i, pid);
			continue;
		}
		p = &S.procs[i];
		p->p_pid = (pid_t)pid;
		p->p_started_ns = started;
		p->p_state = st == 'R' ? P_RETIRING : st == 'Y' ? P_READY :
		    P_STARTING;
		p->p_retire_ns = now;
		PA_STORE(&S.r.procs[i].pid, (int32_t)pid);
		n++;
	}
	if (!announced) {
		initial = target;
		for (i = 0; i < S.nprocs; i++)
			if (S.procs[i].p_state == P_READY)
				nready++;
		if (nready >= initial) {
			announced = 1;
			announce_ready();
		}
	}
	logx(2, "adopted %d handlers, target %u", n, target);
	/* Whatever ended during the exec is reaped now, and replaced. */
	pool_reap();
	balance(NULL, 0, now);
	return 0;
}

int
pool_ready_fd(void)
{
	return readyr;
}

/*
 * In the child, between fork and exec: the handler protocol.  fds 3, 4
 * and 5 are the listener, the region and the readiness pipe; nothing else
 * above 2 survives; the signal mask and dispositions are the defaults.
 */
/*
 * glibc's sigaction() refuses the two signals it keeps for itself (32 and
 * 33, below SIGRTMIN), and a parent that ran us through glibc's
 * posix_spawn() (make does) leaves them ignored; an ignored signal stays
 * ignored across exec.  Set them to the default with the system call.
 */
static void
default_glibc_signals(void)
{
	struct {
		void		*handler;
		unsigned long	 flags;
		void		*restorer;
		uint64_t	 mask;
	} ksa;
	int k;

	memset(&ksa, 0, sizeof(ksa));	/* SIG_DFL, no flags, empty mask */
	for (k = 32; k < SIGRTMIN; k++)
		(void)syscall(SYS_rt_sigaction, k, &ksa, NULL, sizeof(ksa.mask));
}

static void __attribute__((__noreturn__))
child(unsigned i, pid_t parent)
{
	int src[3] = { S.lfd, S.r.fd, readyw };
	struct sigaction sa;
	sigset_t none;
	cpu_set_t set;
	char buf[16];
	int k, e;

	/* Die with pa-spawn; it may already be gone. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent)
		_exit(111);
	/* Move the three out of the way first: dup2 onto 3-5 may hit one. */
	for (k = 0; k < 3; k++)
		if (src[k] < 6 && (src[k] = fcntl(src[k], F_DUPFD, 6)) == -1)
			goto fail;
	for (k = 0; k < 3; k++)
		if (dup2(src[k], 3 + k) == -1)
			goto fail;
	closefrom(6);
	if (pool_affinity && ncpus > 0) {
		CPU_ZERO(&set);
		CPU_SET(cpus[i % (unsigned)ncpus], &set);
		if (sched_setaffinity(0, sizeof(set), &set) == -1)
			warn("handler %u: sched_setaffinity", i);
	}
	snprintf(buf, sizeof(buf), "%u", i);
	if (setenv(PA_ENV_HANDLER, buf, 1) == -1 ||
	    setenv(PA_ENV_REGION, "4", 1) == -1 ||
	    setenv(PA_ENV_READY, "5", 1) == -1)
		goto fail;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_PIDFDID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("NOTIFY_SOCKET");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (k = 1; k < NSIG; k++)
		(void)sigaction(k, &sa, NULL);
	default_glibc_signals();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvp(S.argv[0], S.argv);
	e = errno;
	warn("exec %s", S.argv[0]);
	_exit(e == ENOENT ? 127 : 126);
fail:
	warn("handler %u: set-up before exec", i);
	_exit(111);
}

/*
 * Put back the header fields a handler needs to map the region: any
 * handler can write them, and a scribbled header would make every later
 * handler fail at start while the port still takes connections.
 */
static void
heal_header(void)
{
	struct pa_region_hdr *h = S.r.hdr;

	PA_STORE(&h->version, PA_REGION_VERSION);
	PA_STORE(&h->nprocs, (uint32_t)S.nprocs);
	PA_STORE(&h->nslots, (uint32_t)region_nslots);
	PA_STORE(&h->slot_size, (uint32_t)sizeof(struct pa_slot));
	PA_STORE(&h->proc_size, (uint32_t)sizeof(struct pa_proc));
	PA_STORE(&h->magic, PA_REGION_MAGIC);
}

/* Start a handler in entry i. */
static int
spawn(unsigned i, uint64_t now)
{
	struct proc *p = &S.procs[i];
	struct pa_proc *rp = &S.r.procs[i];
	pid_t pid, parent = getpid();

	heal_header();
	PA_STORE(&rp->pid, 0);
	PA_STORE(&rp->cmd, (uint32_t)PA_CMD_RUN);
	PA_STORE(&rp->ready, 0);
	rp->started_ns = now;
	p->p_started_ns = now;
	p->p_generation = S.generation;
	killed[i] = 0;
	if ((pid = fork()) == -1) {
		logx(1, "fork handler %u: %s", i, strerror(errno));
		if (p->p_replacing) {
			p->p_replacing = 0;
			p->p_state = P_FREE;
		} else
			p->p_state = P_RESTART;
		return -1;
	}
	if (pid == 0)
		child(i, parent);
	PA_STORE(&rp->pid, (int32_t)pid);
	p->p_state = P_STARTING;
	p->p_pid = pid;
	PA_INC(&S.r.hdr->spawned);
	logx(2, "handler %u pid %ld started", i, (long)pid);
	return 0;
}

/* An entry may start a handler now (once a second at most). */
static int
may_start(const struct proc *p, uint64_t now)
{
	return p->p_started_ns == 0 || now >= p->p_started_ns + RESTART_GAP;
}

/* A free entry, one that may start now first; -1 if none. */
static int
pick_free(uint64_t now, int now_only)
{
	unsigned i;
	int later = -1;

	for (i = 0; i < S.nprocs; i++) {
		if (S.procs[i].p_state != P_FREE)
			continue;
		if (may_start(&S.procs[i], now))
			return (int)i;
		if (later == -1)
			later = (int)i;
	}
	return now_only ? -1 : later;
}

/* Count, per entry, its threads and idle threads from the slots. */
static void
scan_slots(void)
{
	const struct pa_slot *s;
	uint32_t j, st, pr, n = pa_ctl_nslots(&S.r);
	uint64_t since;

	memset(sc_threads, 0, S.nprocs * sizeof(*sc_threads));
	memset(sc_idle, 0, S.nprocs * sizeof(*sc_idle));
	memset(sc_since, 0, S.nprocs * sizeof(*sc_since));
	for (j = 0; j < n; j++) {
		s = &S.r.slots[j];
		if ((st = PA_LOAD(&s->state)) == PA_SLOT_EMPTY)
			continue;
		pr = s->proc;
		if (pr >= S.nprocs)
			continue;
		sc_threads[pr]++;
		if (st == PA_SLOT_IDLE) {
			sc_idle[pr]++;
			since = s->since_ns;
			if (since > sc_since[pr])
				sc_since[pr] = since;
		}
	}
}

/*
 * The entry to give up: one not running first, then an idle handler
 * (the one idle longest: every thread idle, the latest of them idle
 * since the oldest time), then one still starting, then a busy one
 * (fewest threads busy).  If old, only handlers of an older generation.
 */
static int
pick_victim(int old)
{
	const struct proc *p;
	unsigned i, busy, best_busy = UINT_MAX;
	int down = -1, idle = -1, start = -1, bus = -1;
	uint64_t best_since = UINT64_MAX;

	scan_slots();
	for (i = 0; i < S.nprocs; i++) {
		p = &S.procs[i];
		/* An entry due to restart will run the new generation. */
		if (!wanted(p) || (old && (p->p_generation == S.generation ||
		    p->p_state == P_RESTART)))
			continue;
		if (p->p_state == P_RESTART) {
			if (down == -1)
				down = (int)i;
		} else if (p->p_state == P_STARTING) {
			if (start == -1)
				start = (int)i;
		} else if (sc_threads[i] > 0 && sc_idle[i] == sc_threads[i]) {
			if (sc_since[i] < best_since) {
				best_since = sc_since[i];
				idle = (int)i;
			}
		} else {
			busy = sc_threads[i] - sc_idle[i];
			if (busy < best_busy) {
				best_busy = busy;
				bus = (int)i;
			}
		}
	}
	if (down != -1)
		return down;
	if (idle != -1)
		return idle;
	if (start != -1)
		return start;
	return bus;
}

/* Ask the handler of entry i to finish what it serves and exit. */
static void
retire(unsigned i, uint64_t now)
{
	struct proc *p = &S.procs[i];

	if (p->p_state == P_RESTART) {
		p->p_state = P_FREE;
		return;
	}
	p->p_state = P_RETIRING;
	p->p_retire_ns = now;
	PA_STORE(&S.r.procs[i].cmd, (uint32_t)PA_CMD_EXIT);
	if (kill(p->p_pid, SIGTERM) == -1 && errno != ESRCH)
		logx(1, "kill handler %u pid %ld: %s", i, (long)p->p_pid,
		    strerror(errno));
	logx(2, "handler %u pid %ld retiring", i, (long)p->p_pid);
}

static void
addmsg(char *msg, size_t len, const char *what, unsigned i)
{
	char w[32];

	if (msg == NULL || len == 0)
		return;
	if (strncmp(msg, what, strlen(what)) != 0 && msg[0] != '\0')
		strlcat(msg, "; ", len);
	if (strstr(msg, what) == NULL)
		strlcat(msg, what, len);
	snprintf(w, sizeof(w), " %u", i);
	strlcat(msg, w, len);
}

/* Bring the entries that count towards the target to the target. */
static void
balance(char *msg, size_t len, uint64_t now)
{
	unsigned i, w = 0;
	int k;

	if (S.draining)
		return;
	for (i = 0; i < S.nprocs; i++)
		if (wanted(&S.procs[i]))
			w++;
	for (; w < S.target; w++) {
		if ((k = pick_free(now, 0)) == -1)
			break;	/* entries still retiring: after they go */
		if (may_start(&S.procs[k], now))
			spawn((unsigned)k, now);
		else
			S.procs[k].p_state = P_RESTART;
		addmsg(msg, len, "added", (unsigned)k);
	}
	for (; w > S.target; w--) {
		if ((k = pick_victim(0)) == -1)
			break;
		retire((unsigned)k, now);
		addmsg(msg, len, "retired", (unsigned)k);
	}
}

int
pool_set_target(unsigned n, char *msg, size_t len)
{
	if (msg != NULL && len > 0)
		msg[0] = '\0';
	if (S.draining) {
		snprintf(msg, len, "the pool is stopping");
		return -1;
	}
	if (n > S.nprocs) {
		snprintf(msg, len, "%u is above the ceiling of %u handlers", n,
		    S.nprocs);
		return -1;
	}
	S.target = n;
	balance(msg, len, pa_now_ns());
	if (msg != NULL && len > 0 && msg[0] == '\0')
		snprintf(msg, len, "unchanged");
	show_title();
	return 0;
}

unsigned
pool_count(void)
{
	unsigned i, n = 0;

	for (i = 0; i < S.nprocs; i++)
		if (S.procs[i].p_state == P_STARTING ||
		    S.procs[i].p_state == P_READY)
			n++;
	return n;
}

static unsigned
count_alive(void)
{
	unsigned i, n = 0;

	for (i = 0; i < S.nprocs; i++)
		if (alive(&S.procs[i]))
			n++;
	return n;
}

void
pool_start(unsigned n)
{
	char msg[16];

	initial = n;
	if (n == 0) {
		announced = 1;
		announce_ready();
	}
	(void)pool_set_target(n, msg, 0);
}

/*
 * Rolling restart: start a replacement in a free entry, and when it is
 * ready retire one handler of the old generation, until none is left.
 * Without a free entry, retire first (capacity dips by one handler).
 */
static void
roll_step(uint64_t now)
{
	const struct proc *p;
	unsigned i, old = 0, inflight = 0, nfree = 0, unsettled = 0;
	int k;

	if (!rolling || S.draining)
		return;
	for (i = 0; i < S.nprocs; i++) {
		p = &S.procs[i];
		if (p->p_replacing)
			inflight++;
		else if (wanted(p) && p->p_state != P_RESTART &&
		    p->p_generation != S.generation)
			old++;
		if (p->p_state == P_FREE)
			nfree++;
		else if (p->p_state != P_READY)
			unsettled++;
	}
	if (old == 0) {
		if (inflight == 0) {
			rolling = 0;
			logx(2, "rolling restart done: generation %u",
			    S.generation);
		}
		return;
	}
	if (now < roll_pause_ns)
		return;
	while (inflight < ROLL_MAX && inflight < old) {
		if ((k = pick_free(now, 1)) == -1) {
			/* Retire first only while every other one waits. */
			if (inflight == 0 && nfree == 0 && unsettled == 0 &&
			    (k = pick_victim(1)) != -1) {
				logx(2, "rolling restart: no free entry, "
				    "retiring handler %d first", k);
				retire((unsigned)k, now);
			}
			break;
		}
		S.procs[k].p_replacing = 1;
		if (spawn((unsigned)k, now) == -1)
			break;
		inflight++;
	}
}

void
pool_restart(void)
{
	if (S.draining)
		return;
	S.generation++;
	rolling = 1;
	roll_pause_ns = 0;
	logx(2, "rolling restart: generation %u", S.generation);
	roll_step(pa_now_ns());
}

static void
ready(uint32_t i, uint64_t now)
{
	struct proc *p;
	int k;

	if (i >= S.nprocs) {
		logx(1, "readiness record for handler %u: out of range", i);
		return;
	}
	p = &S.procs[i];
	/* A record of an earlier handler of this entry: ready was reset. */
	if (p->p_state != P_STARTING || PA_LOAD(&S.r.procs[i].ready) == 0)
		return;
	p->p_state = P_READY;
	logx(2, "handler %u pid %ld ready", i, (long)p->p_pid);
	if (!announced && ++nready >= initial) {
		announced = 1;
		announce_ready();
	}
	if (p->p_replacing) {
		p->p_replacing = 0;
		if ((k = pick_victim(1)) != -1)
			retire((unsigned)k, now);
		balance(NULL, 0, now);
	}
	roll_step(now);
}

void
pool_read_ready(void)
{
	static unsigned char carry[4];
	static size_t ncarry;
	unsigned char buf[4096];
	uint64_t now = pa_now_ns();
	uint32_t idx;
	ssize_t n;
	size_t off, k;

	for (;;) {
		memcpy(buf, carry, ncarry);
		n = read(readyr, buf + ncarry, sizeof(buf) - ncarry);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		k = ncarry + (size_t)n;
		for (off = 0; off + 4 <= k; off += 4) {
			memcpy(&idx, buf + off, 4);
			/* The main loop sees hdr->deaf cleared. */
			if (idx != PA_READY_LISTEN)
				ready(idx, now);
		}
		ncarry = k - off;
		memcpy(carry, buf + off, ncarry);
	}
	show_title();
}

/* "exited 3", "killed by signal 9 (Killed)". */
static void
describe(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(st),
		    strsignal(WTERMSIG(st)), WCOREDUMP(st) ?
		    ", core dumped" : "");
	else
		snprintf(buf, len, "ended with status %#x", st);
}

/* Entry i's handler has been reaped with wait status st. */
static void
ended(unsigned i, int st, uint64_t now)
{
	struct proc *p = &S.procs[i];
	struct pa_proc *rp = &S.r.procs[i];
	char how[96], again[48];
	uint64_t up = now - p->p_started_ns;
	pid_t pid = p->p_pid;

	ctl_fold_proc(i);
	pa_slot_release_proc(&S.r, i);
	/* It may have died woken and not yet running: count afresh. */
	pa_notify_lost(S.r.hdr);
	PA_STORE(&rp->pid, 0);
	PA_STORE(&rp->ready, 0);
	PA_STORE(&rp->cmd, (uint32_t)PA_CMD_RUN);
	PA_INC(&S.r.hdr->exited);
	p->p_pid = 0;
	p->p_status = st;
	p->p_last_exit_ns = now;
	describe(st, how, sizeof(how));
	if (p->p_state == P_RETIRING || S.draining) {
		/*
		 * Exit 0, or the TERM we sent before it had blocked signals
		 * (retired while starting): as asked.
		 */
		logx(killed[i] || !((WIFEXITED(st) && WEXITSTATUS(st) == 0) ||
		    (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM)) ? 1 : 2,
		    "handler %u pid %ld %s", i, (long)pid, how);
		p->p_state = P_FREE;
		p->p_replacing = 0;
	} else if (p->p_replacing) {
		logx(1, "handler %u pid %ld %s before it was ready; rolling "
		    "restart paused for a second", i, (long)pid, how);
		p->p_replacing = 0;
		p->p_state = P_FREE;
		roll_pause_ns = now + RESTART_GAP;
	} else {
		p->p_state = P_RESTART;
		/* A crash loop: say so, then only now and then. */
		fails[i] = up < RESTART_GAP ? fails[i] + 1 : 0;
		if (fails[i] > 1)
			snprintf(again, sizeof(again), " (%u quick failures "
			    "in a row)", fails[i]);
		else
			again[0] = '\0';
		logx((WIFEXITED(st) && WEXITSTATUS(st) == 0) ||
		    (fails[i] > 3 && fails[i] % 60 != 0) ? 2 : 1,
		    "handler %u pid %ld %s after %llu.%03llus; restarting%s%s",
		    i, (long)pid, how, (unsigned long long)(up / SEC),
		    (unsigned long long)(up % SEC / 1000000),
		    may_start(p, now) ? "" : " in a second", again);
		if (may_start(p, now))
			spawn(i, now);
	}
}

void
pool_reap(void)
{
	uint64_t now = pa_now_ns();
	unsigned i;
	pid_t pid;
	int st, any = 0;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < S.nprocs; i++)
			if (S.procs[i].p_pid == pid &&
			    alive(&S.procs[i]))
				break;
		if (i == S.nprocs)
			continue;
		ended(i, st, now);
		any = 1;
	}
	if (!any)
		return;
	balance(NULL, 0, now);
	roll_step(now);
	/* A handler woken for a connection may have been the one to go. */
	if (!S.draining)
		notify(0);
	show_title();
}

void
pool_tick(uint64_t now)
{
	struct proc *p;
	unsigned i, n = 0, busy;

	if (S.draining && !drain_killed && now >= drain_deadline) {
		drain_killed = 1;
		scan_slots();
		busy = 0;
		for (i = 0; i < S.nprocs; i++) {
			p = &S.procs[i];
			if (!alive(p))
				continue;
			kill(p->p_pid, SIGKILL);
			killed[i] = 1;
			busy += sc_threads[i] - sc_idle[i];
			n++;
		}
		if (n > 0 && !stopping)
			logx(1, "grace period of %us over: killed %u handlers "
			    "(%u connections in service)", S.grace, n, busy);
		else if (n > 0)
			logx(2, "killed %u handlers", n);
	}
	for (i = 0; i < S.nprocs; i++) {
		p = &S.procs[i];
		if (p->p_state == P_RETIRING && !killed[i] &&
		    now >= p->p_retire_ns + (uint64_t)S.grace * SEC) {
			killed[i] = 1;
			logx(1, "handler %u pid %ld still busy after %us: "
			    "killed", i, (long)p->p_pid, S.grace);
			kill(p->p_pid, SIGKILL);
		} else if (p->p_state == P_STARTING && !killed[i] &&
		    now >= p->p_started_ns + (uint64_t)S.grace * SEC) {
			/*
			 * Never ready: it holds back a rolling restart (or
			 * the pool's size) for good.  Its end is logged and
			 * handled as any other (paused roll, throttled
			 * restart).
			 */
			killed[i] = 1;
			logx(1, "handler %u pid %ld not ready after %us: "
			    "killed", i, (long)p->p_pid, S.grace);
			kill(p->p_pid, SIGKILL);
		} else if (p->p_state == P_RESTART && !S.draining &&
		    may_start(p, now))
			spawn(i, now);
	}
	roll_step(now);
	show_title();
}

uint64_t
pool_deadline(uint64_t now)
{
	const struct proc *p;
	uint64_t d = 0, t;
	unsigned i;

#define EARLIER(x) do { t = (x); if (d == 0 || t < d) d = t; } while (0)
	if (S.draining && !drain_killed && count_alive() > 0)
		EARLIER(drain_deadline);
	if (rolling && now < roll_pause_ns)
		EARLIER(roll_pause_ns);
	for (i = 0; i < S.nprocs; i++) {
		p = &S.procs[i];
		if ((p->p_state == P_RETIRING || p->p_state == P_STARTING) &&
		    !killed[i])
			EARLIER((p->p_state == P_RETIRING ? p->p_retire_ns :
			    p->p_started_ns) + (uint64_t)S.grace * SEC);
		else if (p->p_state == P_RESTART && !S.draining)
			EARLIER(p->p_started_ns + RESTART_GAP);
		else if (p->p_state == P_FREE && rolling &&
		    !may_start(p, now))
			EARLIER(p->p_started_ns + RESTART_GAP);
	}
#undef EARLIER
	return d;
}

/*
 * Draining, a TCP listener takes no new connection while the queued ones
 * are served: a socket filter that drops every packet keeps new SYNs out
 * (their clients retry, and are refused once the socket is closed),
 * while accept still returns what is queued.  Without it a drain under
 * steady load never finds the queue empty and lasts the grace period.
 * Unix sockets have no such filter.
 */
static void
close_door(void)
{
	struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { 1, &drop };

	if (S.domain == AF_UNIX)
		return;
	if (setsockopt(S.lfd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
	    sizeof(prog)) == -1)
		logx(1, "drain: new connections to %s still come in: %s",
		    S.addr, strerror(errno));
}

/*
 * The socket may have outlived a pa-spawn that drained it (systemd keeps
 * the socket of a .socket unit): that one's drop-all filter would make
 * it a black hole.  Take off a filter that is exactly close_door()'s.
 */
void
pool_open_door(void)
{
	struct sock_filter f;
	socklen_t n = 1;	/* in instructions: a longer filter is EINVAL */
	int zero = 0;

	if (S.domain == AF_UNIX ||
	    getsockopt(S.lfd, SOL_SOCKET, SO_GET_FILTER, &f, &n) == -1 ||
	    n != 1 || f.code != (BPF_RET | BPF_K) || f.k != 0)
		return;
	/* The kernel wants an int there, though it reads none. */
	if (setsockopt(S.lfd, SOL_SOCKET, SO_DETACH_FILTER, &zero,
	    sizeof(zero)) == -1)
		logx(1, "%s: a drained pa-spawn's filter stays: %s", S.addr,
		    strerror(errno));
	else
		logx(2, "%s: took off the filter of a drain before", S.addr);
}

static void
begin_drain(uint64_t grace_ns)
{
	unsigned i;

	S.draining = 1;
	rolling = 0;
	drain_deadline = pa_now_ns() + grace_ns;
	for (i = 0; i < S.nprocs; i++)
		if (S.procs[i].p_state == P_RESTART)
			S.procs[i].p_state = P_FREE;
	/* Handlers accept until the queue is empty, then exit. */
	close_door();
	pa_notify_drain(&S.notifier);
	announce_stopping();
	show_title();
}

void
pool_stop(void)
{
	if (S.draining)
		return;
	logx(2, "draining %u handlers", count_alive());
	begin_drain((uint64_t)S.grace * SEC);
}

void
pool_stop_now(void)
{
	unsigned i;

	if (stopping)
		return;
	stopping = 1;
	logx(2, "stopping %u handlers now", count_alive());
	if (!S.draining)
		begin_drain(STOP_WAIT);
	else if (drain_deadline > pa_now_ns() + STOP_WAIT)
		drain_deadline = pa_now_ns() + STOP_WAIT;
	for (i = 0; i < S.nprocs; i++)
		if (alive(&S.procs[i])) {
			PA_STORE(&S.r.procs[i].cmd, (uint32_t)PA_CMD_EXIT);
			kill(S.procs[i].p_pid, SIGTERM);
		}
}

int
pool_done(void)
{
	return S.draining && count_alive() == 0;
}
