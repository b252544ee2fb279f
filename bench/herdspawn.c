/*
 * herdspawn: a stripped-down spawner for the herd benchmark, so that the
 * same pa-handler can be measured under two notification policies.
 * A benchmark tool, not a server: no control socket, no scaling, no
 * restarts, no drain.
 *
 * usage: herdspawn [-a] [-n count] handler [arg ...]
 *
 * Takes the listening socket from its caller (fd 3 with LISTEN_FDS, as
 * pa-spawn does), creates the shared region and starts count handlers
 * (default 8) with the handler protocol of pa-spawn: the socket
 * (non-blocking) on fd 3, the region on fd 4, the readiness pipe on fd 5,
 * PA_HANDLER.  Every edge of the listener (epoll, EPOLLET) bumps the
 * generation word and wakes the handlers waiting on it: as many as there
 * are connections queued (pa-spawn's policy), or with -a all of them (the
 * wake-all policy that the notification exists to avoid).
 *
 * USR1 prints one line on stdout:
 *   waiting=N events=N woken=N accepted=N futile=N wakeups=N slots=a,b,...
 * (slots: connections accepted by each claimed slot, in slot order).
 * TERM or INT: TERM to every handler, wait for them, exit 0.
 */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"

static struct pa_region	r;
static int		lfd, domain, allflag;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: herdspawn [-a] [-n count] handler [arg ...]\n");
	exit(100);
}

/* In the child: fds 3, 4, 5 and the environment of the handler protocol. */
static void __attribute__((noreturn))
child(uint32_t i, int rfd, int wfd, pid_t parent, char **argv)
{
	sigset_t none;
	char buf[16];
	int src[3], k;

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent)
		_exit(111);
	/* Move the three above 5 first: a dup2 onto 3-5 may hit one. */
	src[0] = fcntl(lfd, F_DUPFD_CLOEXEC, 10);
	src[1] = fcntl(rfd, F_DUPFD_CLOEXEC, 10);
	src[2] = fcntl(wfd, F_DUPFD_CLOEXEC, 10);
	for (k = 0; k < 3; k++)
		if (src[k] == -1 || dup2(src[k], 3 + k) == -1)
			_exit(111);
	snprintf(buf, sizeof(buf), "%u", i);
	if (setenv(PA_ENV_HANDLER, buf, 1) == -1 ||
	    setenv(PA_ENV_REGION, "4", 1) == -1 ||
	    setenv(PA_ENV_READY, "5", 1) == -1)
		_exit(111);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvp(argv[0], argv);
	_exit(errno == ENOENT ? 127 : 126);
}

static void
report(void)
{
	struct pa_region_hdr *h = r.hdr;
	uint64_t acc = 0, fut = 0, wk = 0;
	uint32_t i;
	const char *sep = "";

	for (i = 0; i < h->nslots; i++) {
		acc += PA_LOAD(&r.slots[i].accepted);
		fut += PA_LOAD(&r.slots[i].futile);
		wk += PA_LOAD(&r.slots[i].wakeups);
	}
	printf("waiting=%u events=%llu woken=%llu accepted=%llu futile=%llu "
	    "wakeups=%llu slots=", PA_LOAD(&h->waiting),
	    (unsigned long long)PA_LOAD(&h->events),
	    (unsigned long long)PA_LOAD(&h->woken), (unsigned long long)acc,
	    (unsigned long long)fut, (unsigned long long)wk);
	for (i = 0; i < h->nslots; i++)
		if (PA_LOAD(&r.slots[i].state) != PA_SLOT_EMPTY) {
			printf("%s%llu", sep, (unsigned long long)
			    PA_LOAD(&r.slots[i].accepted));
			sep = ",";
		}
	printf("\n");
	fflush(stdout);
}

static void
notify(void)
{
	struct pa_region_hdr *h = r.hdr;
	long n;
	int w;

	PA_ADD(&h->gen, 1);
	PA_ADD(&h->events, 1);
	n = allflag ? INT_MAX : pa_queue_len(lfd, domain);
	if (n < 0)
		n = INT_MAX;
	if (n > 0 && (w = pa_futex_wake(&h->gen, n > INT_MAX ? INT_MAX :
	    (int)n)) > 0)
		PA_ADD(&h->woken, (uint64_t)w);
}

int
main(int argc, char *argv[])
{
	struct epoll_event ev, evs[8];
	struct signalfd_siginfo si;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	const char *errstr;
	char why[256], junk[256];
	sigset_t set;
	uint32_t i, nprocs = 8;
	pid_t pid, parent = getpid();
	int ch, ep, sfd, pfd[2], n, k, alive;

	while ((ch = getopt(argc, argv, "+an:")) != -1) {
		switch (ch) {
		case 'a':
			allflag = 1;
			break;
		case 'n':
			nprocs = (uint32_t)strtonum(optarg, 1, PA_PROCS_MAX,
			    &errstr);
			if (errstr != NULL)
				errx(100, "-n %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();

	if ((lfd = pa_sd_listen_fd(why, sizeof(why))) == -1)
		errx(100, "no listening socket: %s", why);
	if (getsockname(lfd, (struct sockaddr *)&ss, &sslen) == -1)
		err(111, "getsockname");
	domain = ss.ss_family;
	if (fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK) == -1)
		err(111, "fcntl O_NONBLOCK");
	if (pa_region_create(&r, nprocs, PA_SLOTS_MAX) == -1)
		err(111, "pa_region_create");
	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) == -1)
		err(111, "pipe2");
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		err(111, "sigprocmask");
	if ((sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		err(111, "signalfd");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(111, "epoll_create1");
	ev.events = EPOLLIN | EPOLLET;
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		err(111, "epoll_ctl");
	ev.events = EPOLLIN;
	ev.data.fd = sfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) == -1)
		err(111, "epoll_ctl");
	ev.data.fd = pfd[0];
	if (epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev) == -1)
		err(111, "epoll_ctl");

	for (i = 0; i < nprocs; i++) {
		if ((pid = fork()) == -1)
			err(111, "fork");
		if (pid == 0)
			child(i, r.fd, pfd[1], parent, argv);
		r.procs[i].pid = pid;
	}
	close(pfd[1]);
	alive = (int)nprocs;

	while (alive > 0) {
		if ((n = epoll_wait(ep, evs, 8, -1)) == -1) {
			if (errno == EINTR)
				continue;
			err(111, "epoll_wait");
		}
		for (k = 0; k < n; k++) {
			if (evs[k].data.fd == lfd)
				notify();
			else if (evs[k].data.fd == pfd[0]) {
				while (read(pfd[0], junk, sizeof(junk)) > 0)
					;
			} else {
				while (read(sfd, &si, sizeof(si)) ==
				    (ssize_t)sizeof(si)) {
					if (si.ssi_signo == SIGUSR1)
						report();
					else if (si.ssi_signo == SIGCHLD)
						while (waitpid(-1, NULL,
						    WNOHANG) > 0)
							alive--;
					else
						for (i = 0; i < nprocs; i++)
							kill(r.procs[i].pid,
							    SIGTERM);
				}
			}
		}
	}
	return 0;
}
