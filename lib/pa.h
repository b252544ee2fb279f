/*
 * pa.h: the shared code of the pa programs.
 *
 * Nothing here prints or exits: functions return -1 (or NULL) with errno
 * set, or a small enum that a pa_..._str() function turns into words.
 *
 * Sections, one per module (lib/pa_<module>.c):
 *   addr    parse an address operand, open a listening socket
 *   sd      receive a listening socket (LISTEN_FDS, or fd 0)
 *   region  the shared region between pa-spawn and its handlers
 *   futex   the futex calls on the notification word
 *   notify  the notification: both halves, the only writer of its words
 *   queue   how many connections wait in a listener's accept queue
 *   ucspi   the environment PROG receives
 *   handler the wait/accept/serve protocol of a handler thread
 *   proxy   the PROXY protocol header before a connection's data
 *   ctl     the control protocol between pa-ctl and pa-spawn
 *   http    the head of a scraper's HTTP request (pa-ctl -H)
 */
#ifndef PA_H
#define PA_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ addr */

enum pa_addr_kind {
	PA_ADDR_TCP,		/* an IPv4 or IPv6 TCP address */
	PA_ADDR_UNIX		/* a unix stream socket path */
};

/* Family restriction from the operand prefix or an option. */
enum pa_addr_family {
	PA_FAMILY_ANY,		/* tcp: or no prefix */
	PA_FAMILY_V4,		/* tcp4: */
	PA_FAMILY_V6		/* tcp6: */
};

enum pa_addr_err {
	PA_ADDR_OK = 0,
	PA_ADDR_EMPTY,		/* empty operand */
	PA_ADDR_NOPORT,		/* no ":PORT" */
	PA_ADDR_BADPORT,	/* port not a number 0-65535 nor a service */
	PA_ADDR_BRACKET,	/* "[" without "]", or junk after "]" */
	PA_ADDR_BADHOST,	/* host is no literal and does not resolve */
	PA_ADDR_AMBIGUOUS,	/* name resolves to both families */
	PA_ADDR_FAMILY,		/* literal does not match the family asked */
	PA_ADDR_PATHLONG,	/* unix path longer than sun_path */
	PA_ADDR_PATHEMPTY,	/* unix: with no path */
	PA_ADDR_RESOLVER,	/* resolver failure (temporary) */
	PA_ADDR_NEEDBRACKET,	/* IPv6 literal without [ ] */
	PA_ADDR_NOTIPV6		/* [ ] around something not IPv6 */
};

struct pa_addr {
	enum pa_addr_kind	 kind;
	struct sockaddr_storage	 ss;	/* sockaddr_in, _in6 or _un */
	socklen_t		 sslen;
	char			 text[128]; /* canonical text, for messages */
};

enum pa_addr_err pa_addr_parse(const char *, enum pa_addr_family,
	    struct pa_addr *);
const char	*pa_addr_str(enum pa_addr_err);

/*
 * Format a socket address as "IP:PORT", "[IPv6]:PORT" (v4-mapped as plain
 * IPv4) or the unix path ("@name" abstract, "" unnamed).  0, or -1 with
 * errno (ENOSPC: buffer too small).
 */
int		 pa_addr_format(const struct sockaddr *, socklen_t, char *,
	    size_t);

/* How pa_addr_listen() sets up the socket; pa_listen_opts_init() defaults. */
struct pa_listen_opts {
	int		 backlog;	/* <= 0: pa_addr_somaxconn() */
	int		 reuseport;	/* SO_REUSEPORT */
	int		 v6only;	/* IPV6_V6ONLY: -1 kernel default, 0, 1 */
	int		 defer_accept;	/* TCP_DEFER_ACCEPT seconds, 0: off */
	int		 mode;		/* unix socket mode, -1: from umask */
	uid_t		 uid;		/* unix socket owner, -1: unchanged */
	gid_t		 gid;		/* unix socket group, -1: unchanged */
	const char	*step;		/* out: the call that failed ("bind") */
	const char	*note;		/* out: more about the failure, or NULL */
};

void		 pa_listen_opts_init(struct pa_listen_opts *);
/*
 * socket, options, bind (replacing a stale unix socket: one that exists,
 * is a socket, and refuses a connect), chown/chmod, listen.  Returns the
 * fd (SOCK_CLOEXEC, blocking), or -1 with errno, o->step and o->note set.
 */
int		 pa_addr_listen(const struct pa_addr *, struct pa_listen_opts *);
/* net.core.somaxconn (listen() caps every backlog there), or SOMAXCONN. */
int		 pa_addr_somaxconn(void);

/* ------------------------------------------------------------------- sd */

/*
 * Find the listening socket handed over by the caller, per
 * sd_listen_fds(3): LISTEN_PID (our pid), LISTEN_FDS=1, fd 3; or, when no
 * LISTEN_FDS is set, a listening stream socket on fd 0.  Returns the fd
 * (marked close-on-exec), or -1 with why[] filled in.  The LISTEN_*
 * variables are removed from the environment in every case.
 */
int		 pa_sd_listen_fd(char *, size_t);

/* 1 if fd is a listening stream socket, 0 if not, -1 on error. */
int		 pa_sd_is_listener(int);

/* --------------------------------------------------------------- region */

#define PA_REGION_MAGIC		0x70615247u	/* "paRG" */
#define PA_REGION_VERSION	1u
#define PA_REGION_FD		4	/* where handlers find the region */
#define PA_READY_FD		5	/* where handlers report "waiting" */
#define PA_PROCS_MAX		1024	/* handler processes, at most */
#define PA_SLOTS_MAX		4096	/* handler threads, at most */
#define PA_PEER_MAX		64

/* The environment pa-spawn gives each handler. */
#define PA_ENV_REGION		"PA_REGION_FD"	/* fd number of the region */
#define PA_ENV_HANDLER		"PA_HANDLER"	/* index into procs[] */
#define PA_ENV_READY		"PA_READY_FD"	/* fd of the readiness pipe */
/* On the readiness pipe, instead of an index: "watch the listener again". */
#define PA_READY_LISTEN		0xffffffffu

enum pa_slot_state {
	PA_SLOT_EMPTY = 0,	/* '.' */
	PA_SLOT_STARTING,	/* 'S' */
	PA_SLOT_IDLE,		/* '_' */
	PA_SLOT_BUSY,		/* 'W' */
	PA_SLOT_DRAINING,	/* 'G' */
	PA_SLOT_GONE		/* 'X': owner died, not yet reclaimed */
};

/* Why an accept failed. */
enum pa_acc_err {
	PA_AE_EAGAIN = 0,	/* queue empty: a lost race or a drain's end */
	PA_AE_ECONNABORTED,
	PA_AE_EPROTO,
	PA_AE_EINTR,
	PA_AE_EMFILE,
	PA_AE_ENFILE,
	PA_AE_ENOBUFS,
	PA_AE_ENOMEM,
	PA_AE_OTHER,
	PA_AE_COUNT
};

/* What pa-spawn asks of a handler process (procs[i].cmd). */
enum pa_proc_cmd {
	PA_CMD_RUN = 0,
	PA_CMD_EXIT		/* finish the connection in hand, then exit */
};

/*
 * One slot per handler thread.  The owning thread is the only writer of
 * every field but state (which pa-spawn sets to EMPTY when it reaps the
 * owner).  Readers copy what they need and check it.
 */
struct pa_slot {
	uint32_t	state;		/* enum pa_slot_state */
	uint32_t	proc;		/* index into procs[] */
	int32_t		pid;
	int32_t		tid;
	uint64_t	since_ns;	/* CLOCK_MONOTONIC of the last state change */
	uint64_t	accepted;
	uint64_t	futile;		/* woken, first accept found nothing */
	uint64_t	wakeups;	/* futex waits that returned woken */
	uint64_t	acc_err[PA_AE_COUNT];
	uint32_t	peer_seq;	/* odd while peer[] is being written */
	char		peer[PA_PEER_MAX];
	uint32_t	asleep;		/* 1: in FUTEX_WAIT, counted in
					   hdr->waiting */
	uint32_t	pad0;
	uint64_t	proxy_dropped;	/* connections dropped for their
					   PROXY header */
	uint8_t		pad[48];
};

/* One entry per handler process, written by pa-spawn (pid, cmd, gen). */
struct pa_proc {
	int32_t		pid;		/* 0: unused */
	uint32_t	cmd;		/* enum pa_proc_cmd */
	uint64_t	started_ns;
	uint32_t	ready;		/* set by the handler once waiting */
	uint32_t	pad;
};

struct pa_region_hdr {
	uint32_t	magic;
	uint32_t	version;
	uint32_t	nprocs;		/* entries in procs[] */
	uint32_t	nslots;		/* entries in slots[] */
	uint32_t	slot_size;	/* sizeof(struct pa_slot) */
	uint32_t	proc_size;	/* sizeof(struct pa_proc) */
	uint32_t	gen;		/* the futex word: bumped on every event */
	uint32_t	idle;		/* handlers threads idle now */
	uint32_t	waiting;	/* handler threads in FUTEX_WAIT now */
	uint32_t	draining;	/* 1: the pool drains (TERM) */
	int32_t		spawner_pid;
	uint32_t	pad0;
	uint64_t	start_ns;	/* CLOCK_MONOTONIC at creation */
	uint64_t	events;		/* listener events seen by pa-spawn */
	uint64_t	woken;		/* sum of FUTEX_WAKE results */
	uint64_t	queue;		/* accept queue length at the last event */
	uint64_t	queue_peak;
	uint64_t	maxed;		/* events with no idle handler */
	uint64_t	spawned;	/* handler processes started */
	uint64_t	exited;		/* handler processes reaped */
	uint32_t	deaf;		/* 1: pa-spawn stopped watching the
					   listener (nobody asleep); the
					   first thread to sleep sets 0 and
					   sends PA_READY_LISTEN */
	uint32_t	pending;	/* woken by pa-spawn, not yet running */
	uint64_t	deaf_periods;	/* times pa-spawn went deaf */
	uint64_t	reserved[6];
};

struct pa_region {
	struct pa_region_hdr	*hdr;
	struct pa_proc		*procs;
	struct pa_slot		*slots;
	size_t			 size;
	int			 fd;
};

/* Create a region (memfd, MFD_CLOEXEC) with room for nprocs and nslots. */
int		 pa_region_create(struct pa_region *, uint32_t, uint32_t);
/* Map an inherited region fd, checking magic, version, sizes and length. */
int		 pa_region_map(struct pa_region *, int);
void		 pa_region_unmap(struct pa_region *);
/* Validate a header read from the fd; 0 if usable, -1 (EINVAL) if not. */
int		 pa_region_check(const struct pa_region_hdr *, size_t);
size_t		 pa_region_size(uint32_t, uint32_t);

/* Claim a free slot for this thread (CAS EMPTY->STARTING); -1 if full. */
int		 pa_slot_claim(struct pa_region *, uint32_t proc, pid_t, pid_t);
void		 pa_slot_set(struct pa_slot *, enum pa_slot_state);
void		 pa_slot_set_peer(struct pa_slot *, const char *);
/* Copy the peer out consistently; returns 0, or -1 if it kept changing. */
int		 pa_slot_get_peer(const struct pa_slot *, char *, size_t);
/* Free every slot owned by a handler process that pa-spawn has reaped. */
void		 pa_slot_release_proc(struct pa_region *, uint32_t proc);
char		 pa_slot_char(uint32_t);
const char	*pa_slot_state_str(uint32_t);
const char	*pa_acc_err_str(enum pa_acc_err);
enum pa_acc_err	 pa_acc_err_from_errno(int);

uint64_t	 pa_now_ns(void);	/* CLOCK_MONOTONIC */

/* Atomic access to region fields (the region is shared between processes). */
#define PA_LOAD(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define PA_STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define PA_ADD(p, v)	__atomic_add_fetch((p), (v), __ATOMIC_ACQ_REL)
#define PA_SUB(p, v)	__atomic_sub_fetch((p), (v), __ATOMIC_ACQ_REL)
#define PA_INC(p)	__atomic_add_fetch((p), 1, __ATOMIC_RELAXED)

/* ---------------------------------------------------------------- futex */

/* FUTEX_WAKE (shared, not _PRIVATE); returns how many were woken. */
int		 pa_futex_wake(uint32_t *, int);
/*
 * FUTEX_WAIT while *word == expect, for at most timeout_ms (-1: no limit).
 * Returns 0 when woken, -1 with errno EAGAIN (word had changed), ETIMEDOUT
 * or EINTR.
 */
int		 pa_futex_wait(uint32_t *, uint32_t, int);

/*
 * FUTEX_WAIT_BITSET (shared) while *word == expect, until the absolute
 * CLOCK_MONOTONIC deadline (NULL: none), woken by a FUTEX_WAKE or a
 * FUTEX_WAKE_BITSET that matches bit.  As pa_futex_wait().
 */
struct timespec;
int		 pa_futex_wait_bitset(uint32_t *, uint32_t,
	    const struct timespec *, uint32_t bit);
/* FUTEX_WAKE_BITSET (shared): up to n waiters whose bitset has bit. */
int		 pa_futex_wake_bitset(uint32_t *, int, uint32_t bit);

/* --------------------------------------------------------------- notify */

/*
 * The notification (lib/pa_notify.c, pa(7)): the only code that writes
 * the header's gen, waiting, pending, deaf, idle and draining and the
 * slots' asleep flags.  Its invariants are written at the top of
 * lib/pa_notify.c; tests/model/notify.pml is its Promela model.
 *
 * A handler thread:
 *	g = pa_notify_gen(h);			before accept, always
 *	if (!woken && pa_notify_defer(h))	leave the queue to others
 *		pa_notify_wait(...g...)
 *	else accept; on EAGAIN pa_notify_wait(...g...)
 */
uint32_t	 pa_notify_gen(struct pa_region_hdr *);
/* 1: a thread awake without a wake-up leaves the queue to others. */
int		 pa_notify_defer(struct pa_region_hdr *);
/*
 * Sleep on generation g for at most ms, waking on FUTEX_WAKE or a
 * bitset wake-up of bit; readyfd (-1: none) is where the first sleeper
 * of a deaf period writes PA_READY_LISTEN.  0 when woken, -1 with errno
 * (EAGAIN: the word had moved, ETIMEDOUT, EINTR).
 */
int		 pa_notify_wait(struct pa_region_hdr *, struct pa_slot *,
	    uint32_t g, uint32_t bit, int ms, int readyfd);
/* A thread goes idle (up 1) or leaves idle (up 0): the idle count. */
void		 pa_notify_idle(struct pa_region_hdr *, int up);
/* End the waits of this process's threads (bit): pa_pool_stop(). */
void		 pa_notify_stop(struct pa_region_hdr *, uint32_t bit);
/* 1 while the pool drains. */
int		 pa_notify_draining(const struct pa_region_hdr *);

/* The notifier's side (pa-spawn): one per region. */
struct pa_notifier {
	struct pa_region_hdr	*h;
	int			 deaf;		/* not watching the listener */
	int			 draining;
	uint64_t		 woke_ns;	/* the last wake-up */
	long			(*queue)(void *);	/* queued, or -1 */
	int			(*watch)(void *, int);	/* watch (1) or stop
							   watching (0) the
							   listener: 0 or -1 */
	void			*arg;
};

void		 pa_notify_init(struct pa_notifier *, struct pa_region_hdr *,
	    long (*queue)(void *), int (*watch)(void *, int), void *arg);
/*
 * A listener event (event 1), or a reason to count again (0: a handler
 * ended, the listener is watched again): bump the generation, read the
 * queue, wake min(queued, sleepers) threads less those already on their
 * way, or stop watching (watch(arg, 0)) when no thread is left to wake.
 * 0, or -1 when the queue length was unknown (errno set; every idle
 * thread was woken).
 */
int		 pa_notify_event(struct pa_notifier *, int event);
/* 1 while the notifier does not watch the listener. */
int		 pa_notify_deaf(const struct pa_notifier *);
/* 1 if the notifier, deaf, should watch the listener again now. */
int		 pa_notify_want_hear(struct pa_notifier *);
/* The caller watches the listener again (then pa_notify_event(n, 0)). */
void		 pa_notify_hear(struct pa_notifier *);
/* Drop a count of woken threads left over (a second after the last). */
void		 pa_notify_expire(struct pa_notifier *);
/* The pool drains: no thread defers, every thread is woken. */
void		 pa_notify_drain(struct pa_notifier *);
/* A handler process was reaped: forget the threads on their way. */
void		 pa_notify_lost(struct pa_region_hdr *);
/* Slot s (in state) is freed: take it out of idle and waiting. */
void		 pa_notify_slot_gone(struct pa_region_hdr *, struct pa_slot *,
	    uint32_t state);
/*
 * After the header was rebuilt (a scribbled region): recount idle and
 * waiting from the first nslots slots, zero pending and deaf (the
 * notifier then watches the listener again: pa_notify_want_hear()), put
 * back draining, and wake every sleeper so that none sleeps through what
 * happened.  Call it with the handlers' slots already checked.
 */
void		 pa_notify_heal(struct pa_notifier *, struct pa_region *,
	    uint32_t nslots);

/* ---------------------------------------------------------------- queue */

/*
 * Connections waiting in the accept queue of a listening socket of the
 * given domain (AF_INET, AF_INET6, AF_UNIX), or -1.
 */
long		 pa_queue_len(int, int);

/* ---------------------------------------------------------------- ucspi */

/*
 * The UCSPI environment for one connection, built in buffers prepared
 * once: pa_ucspi_init() records the listener's local side (getsockname
 * once) and copies the base environment minus pa's own variables
 * (PA_*, LISTEN_*, NOTIFY_SOCKET) and any UCSPI ones already there
 * (PROTO, TCPLOCAL*, TCPREMOTE*, TCP6*, UNIXLOCAL*, UNIXREMOTE*);
 * pa_ucspi_set() fills in the values of one accepted connection, with no
 * allocation and no DNS.  envp is then ready for execve.
 *
 * TCP: PROTO=TCP TCPLOCALIP TCPLOCALPORT [TCPLOCALHOST] TCPREMOTEIP
 * TCPREMOTEPORT; IPv6 in normal text form, an IPv4-mapped address as
 * plain IPv4.  The local IP is read from the connection only when the
 * listener is bound to a wildcard address.  UNIX: PROTO=UNIX
 * UNIXLOCALPATH UNIXREMOTEEUID UNIXREMOTEEGID UNIXREMOTEPID (SO_PEERCRED).
 * TCPREMOTEHOST and TCPREMOTEINFO are never set.
 *
 * One struct per thread; the value pointers below point into var[] and
 * are valid after pa_ucspi_set() (for unix: localip is the path,
 * remoteip the peer's pid, localport and remoteport are "").
 */
#define PA_UCSPI_VARS	8
#define PA_UCSPI_LEN	160
struct pa_ucspi {
	char		**envp;		/* NULL-terminated, for execve */
	size_t		  nbase;	/* entries copied from the environment */
	size_t		  cap;
	int		  domain;	/* AF_INET, AF_INET6 or AF_UNIX */
	int		  localwild;	/* TCP listener bound to a wildcard */
	char		 *localip, *localport, *localhost;
	char		 *remoteip, *remoteport;
	char		 *euid, *egid, *pid;
	char		  peer[PA_PEER_MAX]; /* "IP:PORT", "[IPv6]:PORT", "uid U pid P" */
	char		  var[PA_UCSPI_VARS][PA_UCSPI_LEN];
};

/* Prepare for connections accepted on lfd; localhost (-l) may be NULL. */
int		 pa_ucspi_init(struct pa_ucspi *, int lfd, char **env,
	    const char *localhost);
/* Fill in the variables for connection fd, whose peer address is given. */
int		 pa_ucspi_set(struct pa_ucspi *, int fd, const struct sockaddr *,
	    socklen_t);
void		 pa_ucspi_free(struct pa_ucspi *);

/* -------------------------------------------------------------- handler */

/*
 * The handler side of the pool: what pa-handler does, for any program
 * that serves connections in-process.  One struct pa_pool per process,
 * one struct pa_worker per thread (each its own slot); both opaque.
 *
 *	p = pa_pool_attach(nthreads, why, sizeof(why));
 *	in each thread:
 *		w = pa_worker_start(p);
 *		while ((r = pa_worker_next(w, &fd, sa, &salen)) != PA_NEXT_EXIT)
 *			if (r == PA_NEXT_CONN) {
 *				pa_worker_peer(w, "1.2.3.4:5678");
 *				serve(fd); close(fd);
 *				pa_worker_done(w);
 *			} else ...log errno (WARN) or stop (ERROR)...
 *		pa_worker_end(w);
 *	pa_pool_stop(p, PA_WHY_STOP) from a signal thread ends the waits.
 *	pa_pool_detach(p) once every thread is done.
 *
 * With PA_REGION_FD set it follows the handler protocol of pa-spawn:
 * fd 3 the listener (made non-blocking), the region mapped and checked,
 * PA_HANDLER < nprocs, fds 3, 4 and 5 close-on-exec, PA_* unset,
 * readiness reported once every thread has gone idle.  Without it the
 * process serves alone on the socket pa_sd_listen_fd() finds, or on fd 3,
 * waiting in poll(2) and counting in private slots.
 */
struct pa_pool;
struct pa_worker;
struct pa_proxy_net;		/* the proxy section */

enum pa_next {
	PA_NEXT_CONN,		/* a connection: *fd and the peer filled in */
	PA_NEXT_EXIT,		/* stop serving; pa_pool_why() says why */
	PA_NEXT_WARN,		/* accept is short of resources (errno); the
				   thread backed off; at most once per 10 s */
	PA_NEXT_ERROR,		/* accept failed for good (errno); the whole
				   process stops */
	PA_NEXT_DROP		/* pa_worker_accept() only: a connection was
				   closed unserved (errno); the slot is idle */
};

enum pa_exit_why {
	PA_WHY_NONE = 0,	/* still serving */
	PA_WHY_STOP,		/* pa_pool_stop(): a signal, recycling */
	PA_WHY_RETIRE,		/* pa-spawn set procs[i].cmd = PA_CMD_EXIT */
	PA_WHY_DRAIN,		/* the pool drains and the queue is empty */
	PA_WHY_ORPHAN,		/* the spawner is gone */
	PA_WHY_ERROR		/* accept failed for good */
};

/* NULL with errno and why[] filled in if the environment is unusable. */
struct pa_pool	*pa_pool_attach(unsigned nthreads, char *why, size_t len);
/* Serve alone on the listening socket lfd, whatever the environment. */
struct pa_pool	*pa_pool_attach_fd(int lfd, unsigned nthreads, char *why,
	    size_t len);
void		 pa_pool_detach(struct pa_pool *);
int		 pa_pool_fd(const struct pa_pool *);	/* the listener */
int		 pa_pool_domain(const struct pa_pool *);
/* PA_HANDLER, or -1 when serving alone. */
int		 pa_pool_index(const struct pa_pool *);
/* Every thread stops taking connections and leaves its wait at once. */
void		 pa_pool_stop(struct pa_pool *, enum pa_exit_why);
enum pa_exit_why pa_pool_why(const struct pa_pool *);
const char	*pa_why_str(enum pa_exit_why);

/* Claim a slot for the calling thread (state STARTING); NULL if full. */
struct pa_worker *pa_worker_start(struct pa_pool *);
/*
 * Wait for and accept the next connection (close-on-exec), the slot
 * BUSY.  The first call marks the slot IDLE.  peerlen is in/out.
 */
enum pa_next	 pa_worker_next(struct pa_worker *, int *fd,
	    struct sockaddr *peer, socklen_t *peerlen);
/* The peer's text in the slot ("IP:PORT"), for pa-ctl. */
void		 pa_worker_peer(struct pa_worker *, const char *);
/* The connection is served: IDLE again (DRAINING if stopping). */
void		 pa_worker_done(struct pa_worker *);
/*
 * 1 if the thread should finish the connection in hand soon and take no
 * other (a stop, a retirement, an orphaned process), else 0: for
 * connections that last.  Cheap: two atomic loads.
 */
int		 pa_worker_leaving(struct pa_worker *);
/*
 * Count in the slot a connection dropped for its PROXY header (missing,
 * malformed, late, from a peer not allowed to send one), for a caller
 * that reads the header itself; pa_worker_accept() counts its own.
 */
void		 pa_worker_proxy_dropped(struct pa_worker *);
/* The thread leaves: slot DRAINING until pa-spawn reaps the process. */
void		 pa_worker_end(struct pa_worker *);
/* The slot index (-1 alone) and its counters (accepted, futile, ...). */
int		 pa_worker_slot(const struct pa_worker *);
const struct pa_slot *pa_worker_counters(const struct pa_worker *);

/*
 * One connection as pa_worker_accept() hands it over: the fd
 * (close-on-exec, blocking), the address it reached and the peer's, and
 * the peer as text, also put in the slot for pa-ctl.  After a PROXY
 * header (pa_pool_proxy()) the addresses are those the header carries.
 */
struct pa_conn {
	int			 fd;
	int			 proxied;	/* 1: addresses from a header */
	int			 proxy_err;	/* enum pa_proxy_err of a drop */
	struct sockaddr_storage	 local, remote;
	socklen_t		 locallen, remotelen;
	char			 peer[PA_PEER_MAX]; /* "IP:PORT", "[IPv6]:PORT",
						   unix: "uid U pid P" */
};

/*
 * Expect a PROXY header (v1 or v2) at the start of every connection, read
 * within timeout_ms (0: none expected, the default), and from TCP peers
 * inside one of the n nets only (n 0: from any peer).  nets is copied.
 * Call it before the threads start.  0, or -1 with errno.
 */
int		 pa_pool_proxy(struct pa_pool *, int timeout_ms,
	    const struct pa_proxy_net *nets, size_t n);
/*
 * pa_worker_next(), then the addresses, the PROXY header if one is
 * expected, and the peer text.  PA_NEXT_DROP: the connection was closed
 * unserved and the slot is idle again; errno says why (EPERM: a peer
 * outside the nets; EPROTO: a malformed header, c->proxy_err says how;
 * ETIMEDOUT; ECONNRESET: closed inside the header; or the errno of a
 * failed call).  Call pa_worker_done() after serving, not after a drop.
 */
enum pa_next	 pa_worker_accept(struct pa_worker *, struct pa_conn *);

/* ---------------------------------------------------------------- proxy */

/*
 * The PROXY protocol, v1 (text) and v2 (binary), as HAProxy's
 * proxy-protocol.txt defines it: what a load balancer sends before the
 * client's first byte.  pa_proxy_parse() is a pure function over a
 * buffer; pa_proxy_read() reads exactly one header from a connection, so
 * that the next byte read is the client's first.
 *
 * v1: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN ...\r\n",
 * 107 bytes at most, single spaces, ports 0-65535 without leading zeros.
 * v2: the 12-byte signature, version 2, command LOCAL or PROXY, family
 * UNSPEC, INET, INET6 or UNIX, a 16-bit length, the addresses, TLVs
 * (checked for their bounds, otherwise skipped; the CRC32C TLV is not
 * verified).  LOCAL, UNSPEC and UNKNOWN mean: use the connection's own
 * addresses (p->local is set).
 */
#define PA_PROXY_V1_MAX	107		/* a v1 line, CRLF included */
#define PA_PROXY_V2_HDR	16		/* signature, ver/cmd, fam, len */
#define PA_PROXY_MAX	(PA_PROXY_V2_HDR + 65535)

enum pa_proxy_err {
	PA_PROXY_OK = 0,
	PA_PROXY_SHORT,		/* a valid beginning: p->len bytes are
				   worth having before the next call */
	PA_PROXY_NOTPROXY,	/* neither signature */
	PA_PROXY_V1LONG,	/* no CRLF within 107 bytes */
	PA_PROXY_V1PROTO,	/* not TCP4, TCP6 nor UNKNOWN */
	PA_PROXY_V1FORMAT,	/* fields, spaces or the CRLF malformed */
	PA_PROXY_V1ADDR,	/* an address that is not of its family */
	PA_PROXY_V1PORT,	/* a port not 0-65535 */
	PA_PROXY_V2VERSION,	/* version not 2 */
	PA_PROXY_V2COMMAND,	/* command not LOCAL nor PROXY */
	PA_PROXY_V2FAMILY,	/* unknown family or transport */
	PA_PROXY_V2SHORT,	/* address block shorter than its family's */
	PA_PROXY_V2TLV,		/* a TLV runs past the header */
	PA_PROXY_CLOSED,	/* pa_proxy_read: EOF inside the header */
	PA_PROXY_TIMEOUT,	/* pa_proxy_read: the time limit passed */
	PA_PROXY_ERRNO		/* pa_proxy_read: a system call failed */
};

struct pa_proxy {
	int			 version;	/* 1 or 2 */
	int			 local;		/* 1: keep the connection's
						   own addresses */
	int			 family;	/* AF_INET, AF_INET6, AF_UNIX,
						   AF_UNSPEC */
	int			 transport;	/* SOCK_STREAM, SOCK_DGRAM, 0 */
	struct sockaddr_storage	 src, dst;	/* when !local */
	socklen_t		 srclen, dstlen;
	size_t			 len;		/* bytes of the header */
	size_t			 tlv;		/* offset of the first TLV */
	unsigned		 ntlv;		/* TLVs seen (v2) */
};

/*
 * Parse the header at the start of buf (len bytes).  PA_PROXY_OK: p filled
 * in, p->len the header's length (the payload starts at buf + p->len).
 */
enum pa_proxy_err pa_proxy_parse(const void *buf, size_t len,
	    struct pa_proxy *p);
const char	*pa_proxy_str(enum pa_proxy_err);

/*
 * Read one header from the connected socket fd within timeout_ms,
 * consuming exactly its bytes (MSG_PEEK first, then recv of what belongs
 * to the header).  buf (PA_PROXY_MAX bytes at most useful; at least
 * PA_PROXY_V2_HDR + 216) receives the header; a longer v2 header is
 * refused as PA_PROXY_V2TLV only if buf cannot hold it.
 */
enum pa_proxy_err pa_proxy_read(int fd, int timeout_ms, void *buf,
	    size_t bufsize, struct pa_proxy *p);

/*
 * Put the addresses of a parsed header into u (after pa_ucspi_set()):
 * TCPREMOTEIP/PORT, TCPLOCALIP/PORT and the peer text.  For a local
 * header (or a unix family) the connection's own local address is
 * restored from fd.  A unix listener keeps its UNIX variables.
 */
int		 pa_proxy_ucspi(struct pa_ucspi *, int fd,
	    const struct pa_proxy *);

/* An address with a prefix length: "10.0.0.0/8", "::1", "[fd00::]/8". */
struct pa_proxy_net {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned	bits;
	uint8_t		addr[16];
};

/* 0, or -1 (EINVAL) if text is not an address with an optional /bits. */
int		 pa_proxy_net_parse(const char *, struct pa_proxy_net *);
/* 1 if sa (v4-mapped IPv6 counts as IPv4) is inside one of the n nets. */
int		 pa_proxy_net_match(const struct pa_proxy_net *, size_t n,
	    const struct sockaddr *);

/* ------------------------------------------------------------------ ctl */

/*
 * The control protocol (pa-ctl.1): the client sends one request line, the
 * spawner answers "ok" or "error: WHY" on the first line, then the body,
 * and closes.  The parser and the figures live here so that pa-spawn and
 * pa-ctl agree on them.
 */
#define PA_CTL_LINE_MAX	512	/* a request line, newline included */
#define PA_CTL_NUM_MAX	PA_PROCS_MAX	/* the largest number argument */

enum pa_ctl_cmd {
	PA_CTL_STAT,		/* stat */
	PA_CTL_LIST,		/* list */
	PA_CTL_TOP,		/* top: stat + scoreboard */
	PA_CTL_UP,		/* up [N] (N 1 if omitted) */
	PA_CTL_DOWN,		/* down [N] */
	PA_CTL_SET,		/* set N */
	PA_CTL_BOUNDS,		/* bounds MIN MAX */
	PA_CTL_RESTART,		/* restart */
	PA_CTL_STOP,		/* stop */
	PA_CTL_HELP		/* help */
};

enum pa_ctl_err {
	PA_CTL_OK = 0,
	PA_CTL_EEMPTY,		/* empty line */
	PA_CTL_EUNKNOWN,	/* unknown command */
	PA_CTL_EARGS,		/* wrong number of arguments */
	PA_CTL_ENUMBER,		/* argument not a number in range */
	PA_CTL_EBINARY,		/* control or non-ASCII bytes */
	PA_CTL_ELONG		/* longer than PA_CTL_LINE_MAX */
};

struct pa_ctl_req {
	enum pa_ctl_cmd	cmd;
	int		nargs;		/* arguments given */
	uint32_t	args[2];	/* up/down: args[0] is 1 if omitted */
};

/*
 * Parse one request line (without its newline, len bytes; one trailing
 * CR is ignored).  Words are separated by blanks; numbers are decimal
 * digits only, 0 to PA_CTL_NUM_MAX (1 at least for up and down).
 */
enum pa_ctl_err	 pa_ctl_parse(const char *, size_t, struct pa_ctl_req *);
const char	*pa_ctl_str(enum pa_ctl_err);
const char	*pa_ctl_cmd_name(enum pa_ctl_cmd);

/*
 * The default control socket path: $XDG_RUNTIME_DIR/pa-spawn.ctl if that
 * is an absolute path, else /run/pa-spawn.ctl for root, else
 * /tmp/pa-spawn.UID.ctl.  0, or -1 with ENAMETOOLONG.
 */
int		 pa_ctl_default_path(char *, size_t);

/* Handler thread counters, summed over slots. */
struct pa_ctl_counts {
	uint64_t	accepted;
	uint64_t	futile;
	uint64_t	wakeups;
	uint64_t	lost[PA_AE_COUNT];	/* failed accepts by cause */
	uint64_t	proxy_dropped;
};

/* The figures of "stat"; pa_ctl_keys[] names them. */
struct pa_ctl_stat {
	uint64_t	pid, uptime_ms, stopping, generation;
	uint64_t	target, handlers, retiring, ceiling;
	uint64_t	min, max, spare_lo, spare_hi, idle_timeout, grace;
	uint64_t	slots, idle, busy, starting, draining, gone, empty;
	uint64_t	waiting;
	struct pa_ctl_counts c;
	uint64_t	queue, queue_peak, maxed, max_reached;
	uint64_t	spawned, exited, events, woken, deaf_periods;
	char		address[128];
};

enum pa_ctl_kind {
	PA_CTL_GAUGE,		/* a number that goes up and down */
	PA_CTL_COUNTER,		/* a number that only goes up */
	PA_CTL_SECONDS,		/* a gauge kept in ms, shown as seconds */
	PA_CTL_TEXT		/* a string */
};

struct pa_ctl_key {
	const char	*name;		/* the stat key and JSON key */
	const char	*metric;	/* the Prometheus name */
	enum pa_ctl_kind kind;
	size_t		 off;		/* in struct pa_ctl_stat */
	const char	*help;
};

extern const struct pa_ctl_key pa_ctl_keys[];
extern const size_t pa_ctl_nkeys;
/* The key called name (len bytes), or NULL. */
const struct pa_ctl_key *pa_ctl_key_find(const char *, size_t);

/* A slot copied out of the region, checked, its peer made printable. */
struct pa_ctl_slot {
	uint32_t	index;
	uint32_t	state;		/* enum pa_slot_state, or PA_SLOT_GONE */
	uint32_t	proc;
	int32_t		pid;
	uint64_t	since_ns;
	struct pa_ctl_counts c;
	char		peer[PA_PEER_MAX];	/* "" if none */
};

/* Slots (procs) that the header announces and the mapping really holds. */
uint32_t	 pa_ctl_nslots(const struct pa_region *);
uint32_t	 pa_ctl_nprocs(const struct pa_region *);
/* Copy slot i; -1 (ERANGE) if i is out of bounds. */
int		 pa_ctl_slot_copy(const struct pa_region *, uint32_t,
	    struct pa_ctl_slot *);
void		 pa_ctl_counts_add(struct pa_ctl_counts *,
	    const struct pa_ctl_counts *);
/*
 * Fill in what the region knows: uptime, slots by state and the header's
 * counters, and add the counters of every claimed slot to st->c (which
 * may hold the totals of handlers gone).  The other fields are left as
 * they were.  0, or -1 (EINVAL) if the region is unusable.
 */
int		 pa_ctl_stat_region(const struct pa_region *, struct pa_ctl_stat *);
/*
 * Write the figures as "key: value" lines; returns the length, or -1
 * (ENOSPC) if the buffer is too small.
 */
int		 pa_ctl_stat_format(const struct pa_ctl_stat *, char *, size_t);

/* ------------------------------------------------------------------ http */
/*
 * The head of an HTTP/1.0 or 1.1 request (pa-ctl -H answers one with the
 * pool's figures): "METHOD /target HTTP/1.x", header lines, an empty
 * line; LF or CRLF.  Control bytes other than tab anywhere are refused.
 */
enum pa_http_err {
	PA_HTTP_OK = 0,
	PA_HTTP_EMORE,		/* no empty line yet: read more */
	PA_HTTP_EBAD,		/* malformed request line */
	PA_HTTP_EVERSION,	/* HTTP, but not 1.0 or 1.1 */
	PA_HTTP_EBINARY		/* control bytes */
};

enum pa_http_method {
	PA_HTTP_GET,
	PA_HTTP_HEAD,
	PA_HTTP_OTHER
};

struct pa_http_req {
	enum pa_http_method method;
	const char	*path;		/* into the buffer: the target... */
	size_t		 pathlen;	/* ...up to a '?' */
	size_t		 headlen;	/* bytes up to and including the empty line */
};

enum pa_http_err pa_http_parse(const char *, size_t, struct pa_http_req *);
const char	*pa_http_str(enum pa_http_err);

#endif /* PA_H */
