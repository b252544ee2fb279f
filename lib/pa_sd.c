/*
 * pa_sd.c: receive the listening socket, the systemd way (sd_listen_fds(3))
 * or the inetd "wait" / s6-socketbinder way (a listening socket on fd 0).
 *
 * The rules, in order (DESIGN.md contract 1):
 *   LISTEN_PID absent            no activation: try fd 0
 *   LISTEN_PID not a pid         error
 *   LISTEN_PID not ours          "not for us": error, naming both pids
 *   LISTEN_PIDFDID present       must parse; if our own pidfd id can be
 *                                computed and differs: "not for us"
 *   LISTEN_FDS absent            no activation: try fd 0
 *   LISTEN_FDS not exactly 1     error (pa takes one socket)
 *   fd 3                         must be a listening stream socket
 * The received fd is marked close-on-exec, and the four LISTEN_ variables
 * are removed from the environment whatever the outcome.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"

#define SD_LISTEN_FDS_START	3
#define PIDFS_MAGIC		0x50494446	/* "PIDF", linux/magic.h */

int
pa_sd_is_listener(int fd)
{
	int v;
	socklen_t len;

	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == -1)
		return errno == ENOTSOCK ? 0 : -1;
	if (v != SOCK_STREAM)
		return 0;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == -1)
		return -1;
	return v != 0;
}

/*
 * Check that fd is a listening stream socket of a family pa serves; on
 * failure say what it is instead.
 */
static int
check_fd(int fd, char *why, size_t whylen)
{
	struct stat st;
	int v, domain;
	socklen_t len;

	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "fd %d is not open", fd);
		errno = EBADF;
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(why, whylen, "fd %d is not a socket", fd);
		errno = ENOTSOCK;
		return -1;
	}
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == -1) {
		snprintf(why, whylen, "fd %d: SO_TYPE: %s", fd,
		    strerror(errno));
		return -1;
	}
	if (v != SOCK_STREAM) {
		snprintf(why, whylen, "fd %d is a %s socket, not a stream "
		    "socket", fd, v == SOCK_DGRAM ? "datagram" :
		    v == SOCK_SEQPACKET ? "seqpacket" : "non-stream");
		errno = EINVAL;
		return -1;
	}
	len = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1) {
		snprintf(why, whylen, "fd %d: SO_DOMAIN: %s", fd,
		    strerror(errno));
		return -1;
	}
	if (domain != AF_INET && domain != AF_INET6 && domain != AF_UNIX) {
		snprintf(why, whylen, "fd %d is a socket of family %d, not "
		    "TCP or unix", fd, domain);
		errno = EAFNOSUPPORT;
		return -1;
	}
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == -1) {
		snprintf(why, whylen, "fd %d: SO_ACCEPTCONN: %s", fd,
		    strerror(errno));
		return -1;
	}
	if (!v) {
		snprintf(why, whylen, "fd %d is a stream socket that is not "
		    "listening", fd);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/*
 * The inode number of a pidfd of this process, as LISTEN_PIDFDID carries
 * it.  Only meaningful on pidfs (Linux 6.9 and later); 0 if unknown.
 */
static uint64_t
own_pidfd_id(void)
{
	struct statfs sfs;
	struct stat st;
	uint64_t id = 0;
	int fd;

	fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (fd == -1)
		return 0;
	if (fstatfs(fd, &sfs) == 0 && sfs.f_type == PIDFS_MAGIC &&
	    fstat(fd, &st) == 0)
		id = (uint64_t)st.st_ino;
	close(fd);
	return id;
}

static void
unset_listen_env(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_PIDFDID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

/* Copy an environment variable into buf; NULL if unset. */
static const char *
getenv_copy(const char *name, char *buf, size_t len)
{
	const char *v;

	if ((v = getenv(name)) == NULL)
		return NULL;
	if (strlcpy(buf, v, len) >= len)
		buf[len - 2] = '~';	/* marks a value too long to be valid */
	return buf;
}

/* No activation: take fd 0 if it is a listening stream socket. */
static int
from_stdin(const char *prefix, char *why, size_t whylen)
{
	char sub[160];
	int e;

	if (check_fd(0, sub, sizeof(sub)) == -1) {
		e = errno;
		snprintf(why, whylen, "%s%s", prefix, sub);
		errno = e;
		return -1;
	}
	if (fcntl(0, F_SETFD, FD_CLOEXEC) == -1) {
		snprintf(why, whylen, "fd 0: F_SETFD: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
pa_sd_listen_fd(char *why, size_t whylen)
{
	char pidbuf[32], idbuf[32], fdsbuf[32], vwhy[200];
	const char *pidv, *idv, *fdsv, *errstr;
	long long pid, nfds;
	uint64_t id, own;
	char *end;
	int fd;

	if (why == NULL || whylen == 0) {
		why = vwhy;
		whylen = sizeof(vwhy);
	}
	why[0] = '\0';
	pidv = getenv_copy("LISTEN_PID", pidbuf, sizeof(pidbuf));
	idv = getenv_copy("LISTEN_PIDFDID", idbuf, sizeof(idbuf));
	fdsv = getenv_copy("LISTEN_FDS", fdsbuf, sizeof(fdsbuf));
	unset_listen_env();

	if (pidv == NULL)
		return from_stdin(fdsv != NULL ? "LISTEN_FDS without "
		    "LISTEN_PID, and " : "no LISTEN_FDS and ", why, whylen);
	pid = strtonum(pidv, 1, INT_MAX, &errstr);
	if (errstr != NULL) {
		snprintf(why, whylen, "LISTEN_PID=%s is not a pid", pidv);
		errno = EINVAL;
		return -1;
	}
	if ((pid_t)pid != getpid()) {
		snprintf(why, whylen, "LISTEN_PID=%lld is not this process "
		    "(%ld)", pid, (long)getpid());
		errno = ESRCH;
		return -1;
	}
	if (idv != NULL) {
		errno = 0;
		id = strtoull(idv, &end, 10);
		if (idv[0] < '0' || idv[0] > '9' || *end != '\0' ||
		    errno != 0) {
			snprintf(why, whylen, "LISTEN_PIDFDID=%s is not a "
			    "number", idv);
			errno = EINVAL;
			return -1;
		}
		if ((own = own_pidfd_id()) != 0 && own != id) {
			snprintf(why, whylen, "LISTEN_PIDFDID=%s is not this "
			    "process (%" PRIu64 ")", idv, own);
			errno = ESRCH;
			return -1;
		}
	}
	if (fdsv == NULL)
		return from_stdin("LISTEN_PID without LISTEN_FDS, and ", why,
		    whylen);
	nfds = strtonum(fdsv, 1, INT_MAX - SD_LISTEN_FDS_START, &errstr);
	if (errstr != NULL) {
		snprintf(why, whylen, "LISTEN_FDS=%s is not a count of "
		    "descriptors", fdsv);
		errno = EINVAL;
		return -1;
	}
	if (nfds != 1) {
		snprintf(why, whylen, "LISTEN_FDS=%lld: expected exactly one "
		    "listening socket (fd 3)", nfds);
		errno = EINVAL;
		return -1;
	}
	fd = SD_LISTEN_FDS_START;
	if (check_fd(fd, why, whylen) == -1)
		return -1;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		snprintf(why, whylen, "fd %d: F_SETFD: %s", fd,
		    strerror(errno));
		return -1;
	}
	return fd;
}
