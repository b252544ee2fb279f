/*
 * Start prog on a connection: clone(CLONE_VM) onto a stack kept per
 * thread, in the child dup2 the connection onto 0 and 1, set to default
 * the few signals that were ignored, clear the mask, execve.  The child
 * runs in the caller's memory until execve, beside the caller: it calls
 * nothing but system calls, and writes nothing but its own stack and
 * sp->err (and, on a failed call, errno, which the caller does not read
 * meanwhile).
 */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "spawn.h"

#define STACK_LEN	(64 * 1024)
#define NSIGS		64		/* the kernel's _NSIG */

struct spawner {
	void		*stack;
	/* For the child, set before each clone. */
	int		 fd;
	const char	*path;
	char *const	*argv;
	char *const	*env;
	volatile int	 err;		/* the child's errno, if execve failed */
};

/* The kernel's struct sigaction, for the raw system call. */
struct ksigaction {
	void		(*handler)(int);
	unsigned long	 flags;
	void		(*restorer)(void);
	uint64_t	 mask;
};

static int	ignored[NSIGS];		/* signal numbers */
static int	nignored;

int
spawn_init(void)
{
	struct ksigaction ka;
	int sig;

	/*
	 * The raw call: glibc's sigaction refuses 32 and 33, which a parent
	 * (make, for one) may have left ignored.
	 */
	nignored = 0;
	for (sig = 1; sig <= NSIGS; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, sig, NULL, &ka, 8) == -1)
			return -1;
		if (ka.handler == SIG_IGN)
			ignored[nignored++] = sig;
	}
	return 0;
}

struct spawner *
spawner_new(void)
{
	struct spawner *sp;

	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return NULL;
	sp->stack = mmap(NULL, STACK_LEN, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	if (sp->stack == MAP_FAILED) {
		free(sp);
		return NULL;
	}
	return sp;
}

/* In the child: system calls only, no allocation, no locks. */
__attribute__((no_sanitize("address", "undefined")))
static int
child(void *arg)
{
	struct spawner *sp = arg;
	struct ksigaction dfl = { SIG_DFL, 0, NULL, 0 };
	uint64_t none = 0;
	int i;

	for (i = 0; i < nignored; i++)
		syscall(SYS_rt_sigaction, ignored[i], &dfl, NULL, 8);
	/* dup2 clears close-on-exec on 0 and 1; fd itself closes at exec. */
	if (dup2(sp->fd, 0) == -1 || dup2(sp->fd, 1) == -1)
		goto fail;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);
	if (sp->path != NULL)
		execve(sp->path, sp->argv, sp->env);
	else
		execvpe(sp->argv[0], sp->argv, sp->env);
fail:
	sp->err = errno != 0 ? errno : ENOEXEC;
	_exit(127);
}

int
spawn_prog(struct spawner *sp, int fd, const char *path, char *const argv[],
    char *const env[], pid_t *pid)
{
	sp->fd = fd;
	sp->path = path;
	sp->argv = argv;
	sp->env = env;
	sp->err = 0;
	/*
	 * No CLONE_VFORK: the caller goes on to wait for the child instead
	 * of sleeping twice (until execve, then until exit).  The child
	 * reads sp and its stack, which stay untouched until it is reaped.
	 */
	*pid = clone(child, (char *)sp->stack + STACK_LEN, CLONE_VM | SIGCHLD,
	    sp);
	return *pid == -1 ? errno : 0;
}

int
spawn_exec_error(const struct spawner *sp)
{
	return sp->err;
}
