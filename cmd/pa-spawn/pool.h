/*
 * pool.h: what main.c and pool.c say to each other, beyond spawn.h.
 */
#ifndef POOL_H
#define POOL_H

#include <stddef.h>
#include <stdint.h>

/* pool.c */
extern int	 pool_affinity;	/* -a: pin handlers to processors, round robin */

/* The region, the readiness pipe and procs[] for nprocs entries. */
int		 pool_init(unsigned nprocs);
/* Re-exec: keep the region and pipe open across exec, and describe them. */
int		 pool_keep(int keep, char *state, size_t len, char **procs);
/* In the new image: take over the pool described by pool_keep(). */
int		 pool_adopt(const char *state, const char *procs);
/* Read end of the readiness pipe, for the event loop. */
int		 pool_ready_fd(void);
/* Start the first n handlers; readiness is declared once n are ready. */
void		 pool_start(unsigned n);
void		 pool_read_ready(void);
void		 pool_reap(void);
/* Restarts, grace periods and rolling restart steps that are due. */
void		 pool_tick(uint64_t now_ns);
/* When pool_tick() next has something to do (CLOCK_MONOTONIC); 0: never. */
uint64_t	 pool_deadline(uint64_t now_ns);
/* INT, QUIT: ask every handler to stop now, kill them shortly after. */
void		 pool_stop_now(void);
/* Draining or stopping, and no handler is left. */
int		 pool_done(void);

/* main.c */
/*
 * The notification: bump the generation, wake as many as are queued.
 * event: a listener event (counted in the region), not a second look.
 */
void		 notify(int event);
/* Take off the drop-all filter a drained pa-spawn left on the socket. */
void		 pool_open_door(void);
/* The first handlers wait: tell the supervisor (fd, $NOTIFY_SOCKET). */
void		 announce_ready(void);
/* Tell the supervisor the pool is stopping. */
void		 announce_stopping(void);
/* Show the pool's size in ps. */
void		 show_title(void);

#endif /* POOL_H */
