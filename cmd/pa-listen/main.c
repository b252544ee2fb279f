/*
 * pa-listen: initialise the well-known address, then chain-load.
 *
 * pa-listen [options] address prog [arg ...] opens a listening stream
 * socket on address (TCP over IPv4 or IPv6, or a unix path), puts it on
 * fd 3, sets LISTEN_FDS=1, LISTEN_PID (its own pid, which prog keeps
 * across exec) and, with -N, LISTEN_FDNAMES, and execs prog: the
 * socket-activation convention of sd_listen_fds(3), contract 1 of pa(7).
 *
 * Descriptors inherited from the caller pass through untouched, except
 * whatever was on fd 3, which the socket replaces; everything pa-listen
 * opens itself is close-on-exec.  The socket is left blocking: the
 * receiver decides (pa-spawn makes it non-blocking).
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"

#define USAGE	"usage: pa-listen [-146hqrv] [-b backlog] [-d seconds] " \
		"[-g group] [-i on|off] [-m mode] [-N name] [-u user] " \
		"address prog [arg ...]"

static int vflag = 1;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "%s\n", USAGE);
	exit(100);
}

static void __attribute__((noreturn))
help(void)
{
	printf("%s\n"
	    "  -1          print the bound port (or path) on stdout once "
	    "listening\n"
	    "  -4, -6      IPv4 only, IPv6 only (names, wildcards)\n"
	    "  -b backlog  listen() backlog (default net.core.somaxconn)\n"
	    "  -d seconds  TCP_DEFER_ACCEPT: wake the server only once data "
	    "arrives\n"
	    "  -g group    group of a unix socket\n"
	    "  -h          this help\n"
	    "  -i on|off   IPV6_V6ONLY (default: the kernel's "
	    "net.ipv6.bindv6only)\n"
	    "  -m mode     mode of a unix socket, octal (default: from "
	    "umask)\n"
	    "  -N name     LISTEN_FDNAMES for the socket\n"
	    "  -q          quiet: fatal errors only\n"
	    "  -r          SO_REUSEPORT\n"
	    "  -u user     owner of a unix socket\n"
	    "  -v          more messages (repeatable)\n", USAGE);
	exit(0);
}

static uid_t
parse_user(const char *s)
{
	struct passwd *pw;
	const char *errstr;
	long long n;

	if ((pw = getpwnam(s)) != NULL)
		return pw->pw_uid;
	n = strtonum(s, 0, UINT_MAX - 1, &errstr);
	if (errstr != NULL)
		errx(100, "-u %s: no such user", s);
	return (uid_t)n;
}

static gid_t
parse_group(const char *s)
{
	struct group *gr;
	const char *errstr;
	long long n;

	if ((gr = getgrnam(s)) != NULL)
		return gr->gr_gid;
	n = strtonum(s, 0, UINT_MAX - 1, &errstr);
	if (errstr != NULL)
		errx(100, "-g %s: no such group", s);
	return (gid_t)n;
}

/* An octal mode 0-0777 (strtonum(3) is decimal only). */
static int
parse_mode(const char *s)
{
	const char *p;
	int m = 0;

	if (*s == '\0' || strlen(s) > 4)
		errx(100, "-m %s: not an octal mode 0-0777", s);
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '7')
			errx(100, "-m %s: not an octal mode 0-0777", s);
		m = m * 8 + (*p - '0');
	}
	if (m > 0777)
		errx(100, "-m %s: not an octal mode 0-0777", s);
	return m;
}

/* A LISTEN_FDNAMES entry: 1-255 printable ASCII characters, no ':'. */
static void
check_name(const char *s)
{
	const char *p;

	if (*s == '\0' || strlen(s) > 255)
		errx(100, "-N %s: a name has 1 to 255 characters", s);
	for (p = s; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~' || *p == ':')
			errx(100, "-N %s: only printable ASCII, no ':' or "
			    "space", s);
}

/* Descriptors 0-2 open, so that the socket never lands on one of them. */
static void
fix_stdio(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			err(111, "open /dev/null");
	}
}

/* The -1 line: the port of a TCP socket, the path of a unix one. */
static void
print_bound(int fd, const struct pa_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned port;

	if (a->kind == PA_ADDR_UNIX) {
		printf("%s\n", a->text);
	} else {
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
			err(111, "getsockname %s", a->text);
		if (ss.ss_family == AF_INET)
			port = ntohs(((struct sockaddr_in *)(void *)&ss)->
			    sin_port);
		else
			port = ntohs(((struct sockaddr_in6 *)(void *)&ss)->
			    sin6_port);
		printf("%u\n", port);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		err(111, "write stdout");
}

/* The address is the wildcard [::] chosen by default (not written "[::]"). */
static int
wildcard6(const char *op, const struct pa_addr *a)
{
	const struct sockaddr_in6 *sin6 =
	    (const struct sockaddr_in6 *)(const void *)&a->ss;

	return a->ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) &&
	    strchr(op, '[') == NULL && strncmp(op, "tcp6:", 5) != 0;
}

static void
set_env(const char *name)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (setenv("LISTEN_FDS", "1", 1) == -1 ||
	    setenv("LISTEN_PID", pid, 1) == -1 ||
	    (name != NULL && setenv("LISTEN_FDNAMES", name, 1) == -1))
		err(111, "setenv");
	/* Stale values from our own caller must not reach prog. */
	unsetenv("LISTEN_PIDFDID");
	if (name == NULL)
		unsetenv("LISTEN_FDNAMES");
}

int
main(int argc, char *argv[])
{
	struct pa_listen_opts lo;
	struct pa_addr addr;
	enum pa_addr_family fam = PA_FAMILY_ANY;
	enum pa_addr_err ae;
	const char *errstr, *name = NULL, *gflag = NULL, *uflag = NULL;
	const char *iflag = NULL, *mflag = NULL;
	int ch, fd, e, oneflag = 0, somax;

	pa_listen_opts_init(&lo);
	while ((ch = getopt(argc, argv, "+146b:d:g:hi:m:N:qru:v")) != -1) {
		switch (ch) {
		case '1':
			oneflag = 1;
			break;
		case '4':
		case '6':
			if (fam != PA_FAMILY_ANY &&
			    fam != (ch == '4' ? PA_FAMILY_V4 : PA_FAMILY_V6))
				errx(100, "-4 and -6 exclude each other");
			fam = ch == '4' ? PA_FAMILY_V4 : PA_FAMILY_V6;
			break;
		case 'b':
			lo.backlog = (int)strtonum(optarg, 1, INT_MAX, &errstr);
			if (errstr != NULL)
				errx(100, "-b %s: %s", optarg, errstr);
			break;
		case 'd':
			lo.defer_accept = (int)strtonum(optarg, 1, 3600,
			    &errstr);
			if (errstr != NULL)
				errx(100, "-d %s: %s", optarg, errstr);
			break;
		case 'g':
			gflag = optarg;
			break;
		case 'h':
			help();
		case 'i':
			if (strcmp(optarg, "on") == 0)
				lo.v6only = 1;
			else if (strcmp(optarg, "off") == 0)
				lo.v6only = 0;
			else
				errx(100, "-i %s: on or off", optarg);
			iflag = optarg;
			break;
		case 'm':
			lo.mode = parse_mode(optarg);
			mflag = optarg;
			break;
		case 'N':
			check_name(optarg);
			name = optarg;
			break;
		case 'q':
			vflag = 0;
			break;
		case 'r':
			lo.reuseport = 1;
			break;
		case 'u':
			uflag = optarg;
			break;
		case 'v':
			vflag++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		usage();

	if ((ae = pa_addr_parse(argv[0], fam, &addr)) != PA_ADDR_OK)
		errx(ae == PA_ADDR_RESOLVER ? 111 : 100, "address %s: %s",
		    argv[0], pa_addr_str(ae));
	if (addr.kind == PA_ADDR_UNIX) {
		if (lo.reuseport || lo.defer_accept || iflag != NULL)
			errx(100, "%s: -d, -i and -r apply to TCP addresses "
			    "only", addr.text);
	} else {
		if (gflag != NULL || uflag != NULL || mflag != NULL)
			errx(100, "%s: -g, -m and -u apply to unix sockets "
			    "only", addr.text);
		if (iflag != NULL && addr.ss.ss_family != AF_INET6)
			errx(100, "%s: -i applies to IPv6 addresses only",
			    addr.text);
	}
	if (uflag != NULL)
		lo.uid = parse_user(uflag);
	if (gflag != NULL)
		lo.gid = parse_group(gflag);
	somax = pa_addr_somaxconn();
	if (lo.backlog > somax && vflag >= 1)
		warnx("-b %d: the kernel caps it at net.core.somaxconn %d",
		    lo.backlog, somax);

	fix_stdio();
	fd = pa_addr_listen(&addr, &lo);
	if (fd == -1 && errno == EAFNOSUPPORT && fam == PA_FAMILY_ANY &&
	    wildcard6(argv[0], &addr)) {
		/* A kernel without IPv6: the wildcard is 0.0.0.0 then. */
		if (pa_addr_parse(argv[0], PA_FAMILY_V4, &addr) == PA_ADDR_OK) {
			if (vflag >= 2)
				warnx("no IPv6 here: %s", addr.text);
			fd = pa_addr_listen(&addr, &lo);
		}
	}
	if (fd == -1) {
		if (lo.note != NULL)
			errx(111, "%s %s: %s (%s)", lo.step, addr.text,
			    strerror(errno), lo.note);
		err(111, "%s %s", lo.step, addr.text);
	}

	/* Onto fd 3, inheritable; whatever the caller had there is closed. */
	if (fd != 3) {
		if (dup2(fd, 3) == -1)
			err(111, "dup2 %s", addr.text);
		close(fd);
	} else if (fcntl(3, F_SETFD, 0) == -1)
		err(111, "fcntl %s", addr.text);
	set_env(name);

	if (vflag >= 2)
		warnx("listening on %s, backlog %d, exec %s", addr.text,
		    lo.backlog > 0 ? lo.backlog : somax, argv[1]);
	if (oneflag)
		print_bound(3, &addr);

	execvp(argv[1], argv + 1);
	e = errno;
	/* We made the path; nobody will ever answer there. */
	if (addr.kind == PA_ADDR_UNIX && addr.text[0] != '@')
		unlink(addr.text);
	errno = e;
	err(e == ENOENT ? 127 : 126, "exec %s", argv[1]);
}
