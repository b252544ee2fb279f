/*
 * prefork: the bare reference server of the benchmarks.
 *
 * usage: prefork [-1] [-b backlog] [-n procs] host port prog [args ...]
 *
 * Binds host:port (port 0: any; -1 prints the bound port and a newline on
 * stdout), listens with the given backlog (default 4096, the kernel caps
 * it), and forks procs (default 16) processes that each loop: block in
 * accept(2), posix_spawn(3) prog with the connection on fd 0 and fd 1,
 * close it, wait for prog.  No environment, no logging, no limits: what is
 * left of a server when everything optional is taken out.  The children
 * die with the parent (PR_SET_PDEATHSIG); TERM ends it all.  Each process
 * counts its connections in shared memory; USR1 makes the parent print
 * them as one line "accepted N N ..." on stdout (the herd benchmark's
 * spread over processes).
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"

extern char **environ;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: prefork [-1] [-b backlog] [-n procs] "
	    "host port prog [args ...]\n");
	exit(100);
}

/* One server process: accept, run prog, wait, for ever. */
static void __attribute__((noreturn))
serve(int lfd, char **prog, volatile uint64_t *count)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int fd, e, st;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EINTR && errno != ECONNABORTED)
				warn("accept");
			continue;
		}
		if ((e = posix_spawn_file_actions_init(&fa)) != 0 ||
		    (e = posix_spawn_file_actions_adddup2(&fa, fd, 0)) != 0 ||
		    (e = posix_spawn_file_actions_adddup2(&fa, fd, 1)) != 0)
			errc(111, e, "posix_spawn_file_actions");
		e = posix_spawn(&pid, prog[0], &fa, NULL, prog, environ);
		posix_spawn_file_actions_destroy(&fa);
		close(fd);
		(*count)++;
		if (e != 0) {
			warnc(e, "posix_spawn %s", prog[0]);
			continue;
		}
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
	}
}

int
main(int argc, char *argv[])
{
	sigset_t set;
	volatile uint64_t *counts;
	const char *errstr;
	long long backlog = 4096, procs = 16;
	pid_t ppid = getpid();
	uint16_t bound;
	int ch, lfd, oneflag = 0;

	while ((ch = getopt(argc, argv, "+1b:n:")) != -1) {
		switch (ch) {
		case '1':
			oneflag = 1;
			break;
		case 'b':
			backlog = strtonum(optarg, 1, 65535, &errstr);
			if (errstr != NULL)
				errx(100, "-b %s: %s", optarg, errstr);
			break;
		case 'n':
			procs = strtonum(optarg, 1, 1024, &errstr);
			if (errstr != NULL)
				errx(100, "-n %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3)
		usage();
	lfd = bench_listen(argv[0], argv[1], (int)backlog, 0, &bound);

	counts = mmap(NULL, (size_t)procs * sizeof(*counts),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED)
		err(111, "mmap");
	/* The parent takes USR1 and CHLD with sigwaitinfo(). */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		err(111, "sigprocmask");

	for (long long i = 0; i < procs; i++) {
		switch (fork()) {
		case -1:
			err(111, "fork");
		case 0:
			bench_child(ppid);
			if (sigprocmask(SIG_UNBLOCK, &set, NULL) == -1)
				err(111, "sigprocmask");
			serve(lfd, argv + 2, &counts[i]);
		default:
			break;
		}
	}
	if (oneflag) {
		printf("%u\n", bound);
		fflush(stdout);
	}
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);

		if (sig == SIGCHLD) {
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			if (waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD)
				return 0;
		} else if (sig == SIGUSR1) {
			printf("accepted");
			for (long long i = 0; i < procs; i++)
				printf(" %llu", (unsigned long long)counts[i]);
			printf("\n");
			fflush(stdout);
		}
	}
}
