/*
 * spawn.h: what the files of pa-spawn share.
 *
 *   main.c   options, inherited socket, set-up, the event loop, signals
 *   pool.c   handler processes: spawn, reap, retire, restart, set target
 *   ctl.c    the control socket and its line protocol (pa-ctl's peer)
 *   scale.c  automatic scaling between bounds (-m/-M and the spare marks)
 *
 * One event loop: every fd in the epoll set carries a struct ev in
 * data.ptr, and the loop calls ev->fn(ev, events).  Nothing blocks.
 */
#ifndef SPAWN_H
#define SPAWN_H

#include <sys/types.h>

#include <stdint.h>

#include "pa.h"

struct ev;
typedef void	 ev_fn(struct ev *, uint32_t);

struct ev {
	ev_fn	*fn;
	int	 fd;
	void	*arg;
};

/* Register fd in the loop (EPOLLIN, plus EPOLLET if et); 0 or -1. */
int	 ev_add(struct ev *, int fd, ev_fn *, void *arg, int et);
int	 ev_del(struct ev *);

enum proc_state {
	P_FREE = 0,	/* table entry unused */
	P_STARTING,	/* forked, not yet waiting on the flag */
	P_READY,	/* its threads wait or serve */
	P_RETIRING,	/* asked to exit (PA_CMD_EXIT); grace timer running */
	P_RESTART	/* ended unasked; restarted once its throttle allows */
};

struct proc {
	enum proc_state	 p_state;
	pid_t		 p_pid;
	uint64_t	 p_started_ns;
	uint64_t	 p_retire_ns;	/* when it was asked to go */
	uint64_t	 p_last_exit_ns; /* last time this entry's handler ended */
	unsigned	 p_generation;	/* bumped by a rolling restart */
	int		 p_replacing;	/* started by a rolling restart, not yet ready */
	int		 p_status;	/* wait status of the last handler here */
};

struct spawner {
	struct pa_region r;		/* the shared region */
	struct pa_notifier notifier;	/* its notification, our half */
	int		 lfd;		/* the listening socket (fd 3 in handlers) */
	int		 domain;	/* AF_INET, AF_INET6 or AF_UNIX */
	char		 addr[128];	/* the listening address, as text */
	char		**argv;		/* the handler's command line */
	struct proc	*procs;		/* r.hdr->nprocs entries */
	unsigned	 nprocs;	/* size of procs[]: the hard ceiling */
	unsigned	 target;	/* handlers wanted now */
	/*
	 * Autoscaling (scale.c), on while max > 0: -m MIN and -M MAX bound
	 * the handler count (1 <= MIN <= MAX <= ceiling); pa-ctl bounds
	 * changes them at runtime (bounds 0 0: off).  Once a second the
	 * idle handler threads are kept between the spare marks -s LO:HI
	 * (default 1:4): below LO, handlers are started, 1 the first second
	 * and twice as many each second the shortage lasts (at most 32 a
	 * second), never above MAX; above HI, one idle handler a second is
	 * retired, the longest idle first, never below MIN nor below LO
	 * idle.  -i SECONDS (idle timeout, default 0: none) also retires,
	 * one a second on the same conditions, a handler whose threads have
	 * all been idle that long.  Manual up/down/set move the target
	 * within MIN..MAX, and the marks take over again from there.
	 */
	unsigned	 min, max;	/* autoscaling bounds; max 0: off */
	unsigned	 spare_lo, spare_hi; /* idle thread marks; 0 0: 1 4 */
	unsigned	 idle_timeout;	/* seconds; 0: none */
	unsigned	 grace;		/* seconds a retiring handler may take */
	unsigned	 generation;	/* current handler generation (HUP) */
	int		 draining;	/* TERM received */
	int		 vflag;		/* verbosity: 0 fatal, 1 warnings, 2 events */
	uint64_t	 maxed_count;	/* times MAX was reached (autoscale) */
	uint64_t	 maxed_logged_ns;
	/*
	 * Parsed by main.c's one getopt loop for ctl.c and scale.c:
	 * -c PATH (ctl_path; NULL: ctl_default_path()), -m MIN and -M MAX
	 * (min, max), -s LO:HI (spare_lo, spare_hi), -i SECONDS
	 * (idle_timeout).  Checked there: min <= target <= max, lo <= hi.
	 */
	const char	*ctl_path;
};

extern struct spawner S;

/* main.c */
/* Log a line "pa-spawn: ..." if S.vflag >= level (1 warnings, 2 events). */
void	 logx(int level, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));

/* pool.c */
/*
 * Reach n handlers: start new ones in free entries, or retire the
 * surplus, idle ones first, the longest idle first, never a busy one
 * while an idle one remains.  Writes what changed ("added 4 5",
 * "retired 2") to msg.  Returns 0, or -1 with msg saying why.
 */
int	 pool_set_target(unsigned n, char *msg, size_t len);
/* Handlers that are alive and not retiring. */
unsigned pool_count(void);
/* Rolling restart, spawn-before-retire (HUP, pa-ctl restart). */
void	 pool_restart(void);
/* Drain and exit (TERM, pa-ctl stop). */
void	 pool_stop(void);

/* ctl.c */
/*
 * Open the control socket at path (NULL: the default; a stale one is
 * replaced); 0 or -1.  ctl_close() leaves in the environment what a
 * re-exec's ctl_open() takes back (totals, runtime bounds).
 */
int	 ctl_open(const char *path);
void	 ctl_close(void);
/*
 * The default path: $XDG_RUNTIME_DIR/pa-spawn.ctl if that is set, else
 * /run/pa-spawn.ctl for root, else /tmp/pa-spawn.UID.ctl.
 */
const char *ctl_default_path(void);
/*
 * Add the counters of the slots of procs[i] to the running totals, so
 * that the figures pa-ctl shows never go backwards when a handler is
 * replaced.  pool.c calls it just before pa_slot_release_proc(&S.r, i).
 */
void	 ctl_fold_proc(uint32_t i);

/* scale.c */
/* Called by the loop about ten times a second while autoscaling is on. */
void	 scale_tick(uint64_t now_ns);
/* The spare marks in force: S.spare_lo/hi, or the defaults if unset. */
void	 scale_marks(unsigned *lo, unsigned *hi);

#endif /* SPAWN_H */
