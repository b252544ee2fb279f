/*
 * spawnloop: the machine's limit for running a program per connection,
 * without a network.
 *
 * usage: spawnloop [-v] [-d secs] [-j jobs] [-n count] prog [args ...]
 *
 * Runs prog again and again with posix_spawn(3) (clone(CLONE_VFORK) in
 * glibc: no copy of this process; its child resets every signal's
 * disposition, some 130 system calls), or with -v with vfork(2), dup2 and
 * execve(2) alone, stdin from and stdout to /dev/null,
 * keeping jobs (default 1) children running at a time; each reaped child is
 * replaced at once.  Stops after -d seconds (default 5) or -n spawns, reaps
 * what is left, and prints one line:
 *
 *   spawns=N rate=R secs=S failed=N cpu_ms=N cpu_us_per_spawn=N
 *
 * cpu_ms is this process's CPU time plus its children's (getrusage), so
 * cpu_us_per_spawn is what one program run costs the machine.  A child that
 * exits non-zero counts as failed.  Exit status: 0, 100 usage, 111 setup.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: spawnloop [-v] [-d secs] [-j jobs] [-n count] prog "
	    "[args ...]\n");
	exit(100);
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * vfork, the two dup2 and execve: nothing else runs in the child, which
 * shares this process's memory until it execs.  This process catches no
 * signal and ignores none, so no disposition needs resetting.
 */
static int
vspawn(pid_t *pid, int null, char **argv)
{
	volatile int e = 0;
	pid_t p;

	if ((p = vfork()) == -1)
		return errno;
	if (p == 0) {
		if (dup2(null, 0) == -1 || dup2(null, 1) == -1)
			_exit(126);
		execve(argv[0], argv, environ);
		e = errno;
		_exit(127);
	}
	*pid = p;
	return e;
}

static long
tv_us(const struct timeval *tv)
{
	return (long)tv->tv_sec * 1000000 + (long)tv->tv_usec;
}

int
main(int argc, char *argv[])
{
	posix_spawn_file_actions_t fa;
	struct rusage self, kids;
	const char *errstr;
	long long secs = 5, jobs = 1, count = 0, spawned = 0, done = 0;
	long long failed = 0, running = 0;
	uint64_t t0, end;
	long cpu_us;
	double elapsed;
	pid_t pid;
	int ch, e, st, null, vflag = 0;

	while ((ch = getopt(argc, argv, "+d:j:n:v")) != -1) {
		switch (ch) {
		case 'd':
			secs = strtonum(optarg, 1, 3600, &errstr);
			if (errstr != NULL)
				errx(100, "-d %s: %s", optarg, errstr);
			break;
		case 'j':
			jobs = strtonum(optarg, 1, 4096, &errstr);
			if (errstr != NULL)
				errx(100, "-j %s: %s", optarg, errstr);
			break;
		case 'n':
			count = strtonum(optarg, 1, 100000000, &errstr);
			if (errstr != NULL)
				errx(100, "-n %s: %s", optarg, errstr);
			break;
		case 'v':
			vflag = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();

	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		err(111, "open /dev/null");
	if ((e = posix_spawn_file_actions_init(&fa)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, null, 0)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, null, 1)) != 0)
		errc(111, e, "posix_spawn_file_actions");

	t0 = now_us();
	end = t0 + (uint64_t)secs * 1000000;
	for (;;) {
		while (running < jobs && (count > 0 ? spawned < count :
		    now_us() < end)) {
			if (vflag)
				e = vspawn(&pid, null, argv);
			else
				e = posix_spawn(&pid, argv[0], &fa, NULL, argv,
				    environ);
			if (e != 0)
				errc(111, e, "spawn %s", argv[0]);
			spawned++;
			running++;
		}
		if (running == 0)
			break;
		if (waitpid(-1, &st, 0) == -1) {
			if (errno == EINTR)
				continue;
			err(111, "waitpid");
		}
		running--;
		done++;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	elapsed = (double)(now_us() - t0) / 1e6;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	cpu_us = tv_us(&self.ru_utime) + tv_us(&self.ru_stime) +
	    tv_us(&kids.ru_utime) + tv_us(&kids.ru_stime);
	printf("spawns=%lld rate=%.1f secs=%.3f failed=%lld cpu_ms=%ld "
	    "cpu_us_per_spawn=%ld\n", done, (double)done / elapsed, elapsed,
	    failed, cpu_us / 1000, done > 0 ? cpu_us / (long)done : 0);
	return 0;
}
