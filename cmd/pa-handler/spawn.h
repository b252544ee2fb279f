/*
 * spawn.h: start prog on a connection, cheaply.  One clone(2) sharing the
 * address space, as posix_spawn does, but without what glibc's posix_spawn
 * adds for programs in general: the caller suspended until execve (one
 * more sleep per connection), a stack mapped and unmapped per call, the
 * signal mask blocked and restored, every signal's disposition reset (64
 * system calls), file actions moving the connection through a spare
 * descriptor.
 */
#ifndef SPAWN_H
#define SPAWN_H

#include <sys/types.h>

struct spawner;

/*
 * Once, before any thread starts: note the signals this process ignores
 * (exec keeps SIG_IGN; prog must start with every disposition at its
 * default).  0, or -1 with errno.
 */
int	spawn_init(void);
/* One per thread: a stack of its own for the child.  NULL with errno. */
struct spawner	*spawner_new(void);
/*
 * Run path (NULL: argv[0] searched in PATH) with fd on fds 0 and 1, env
 * as its environment, an empty signal mask: 0 and *pid, or clone's errno.
 * The child shares the caller's memory until it calls execve; the caller
 * must leave argv, env and the spawner alone until it has reaped *pid.
 * The calling thread must have every asynchronous signal blocked.
 */
int	spawn_prog(struct spawner *, int fd, const char *path,
	    char *const argv[], char *const env[], pid_t *pid);
/* Once the child is reaped: why its execve failed (it exited 127), or 0. */
int	spawn_exec_error(const struct spawner *);

#endif
