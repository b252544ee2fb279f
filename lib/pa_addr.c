/*
 * pa_addr.c: address operands and listening sockets.
 *
 * pa_addr_parse() turns an operand (HOST:PORT, [V6]:PORT, tcp:, tcp4:,
 * tcp6:, unix:PATH, /PATH, ./PATH) into a sockaddr, resolving a name once;
 * pa_addr_format() turns a sockaddr back into text for messages and the
 * UCSPI environment; pa_addr_listen() opens the listening socket.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <net/if.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"

/*
 * "a.b.c.d:port", "[v6]:port" (v4-mapped shown as plain IPv4, a scope as
 * %ifname) or the unix path ("@name" for an abstract socket, "" for an
 * unnamed one).  Returns 0, or -1 with errno EAFNOSUPPORT, EINVAL (short
 * length) or ENOSPC (buffer too small; buf then holds a truncated text).
 */
int
pa_addr_format(const struct sockaddr *sa, socklen_t salen, char *buf,
    size_t len)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_un *sun;
	char ip[INET6_ADDRSTRLEN], scope[IF_NAMESIZE + 1];
	struct in_addr v4;
	size_t plen, n;
	int r;

	if (len == 0) {
		errno = ENOSPC;
		return -1;
	}
	buf[0] = '\0';
	if (sa == NULL || salen < (socklen_t)sizeof(sa_family_t)) {
		errno = EINVAL;
		return -1;
	}
	switch (sa->sa_family) {
	case AF_INET:
		if (salen < (socklen_t)sizeof(*sin)) {
			errno = EINVAL;
			return -1;
		}
		sin = (const struct sockaddr_in *)(const void *)sa;
		if (inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip)) == NULL)
			return -1;
		r = snprintf(buf, len, "%s:%u", ip, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		if (salen < (socklen_t)sizeof(*sin6)) {
			errno = EINVAL;
			return -1;
		}
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&v4, &sin6->sin6_addr.s6_addr[12], sizeof(v4));
			if (inet_ntop(AF_INET, &v4, ip, sizeof(ip)) == NULL)
				return -1;
			r = snprintf(buf, len, "%s:%u", ip,
			    ntohs(sin6->sin6_port));
			break;
		}
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip)) ==
		    NULL)
			return -1;
		scope[0] = '\0';
		if (sin6->sin6_scope_id != 0 &&
		    if_indextoname(sin6->sin6_scope_id, scope + 1) != NULL)
			scope[0] = '%';
		else if (sin6->sin6_scope_id != 0)
			snprintf(scope, sizeof(scope), "%%%u",
			    (unsigned)sin6->sin6_scope_id);
		r = snprintf(buf, len, "[%s%s]:%u", ip, scope,
		    ntohs(sin6->sin6_port));
		break;
	case AF_UNIX:
		sun = (const struct sockaddr_un *)(const void *)sa;
		n = (size_t)salen - offsetof(struct sockaddr_un, sun_path);
		if (n > sizeof(sun->sun_path))
			n = sizeof(sun->sun_path);
		if (n == 0)
			return 0;		/* unnamed */
		if (sun->sun_path[0] == '\0') {
			/* Abstract: the name is every byte after the NUL. */
			r = snprintf(buf, len, "@%.*s", (int)(n - 1),
			    sun->sun_path + 1);
			break;
		}
		plen = strnlen(sun->sun_path, n);
		r = snprintf(buf, len, "%.*s", (int)plen, sun->sun_path);
		break;
	default:
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (r < 0)
		return -1;
	if ((size_t)r >= len) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

/* AF_INET or AF_INET6 if s is a numeric address, else AF_UNSPEC. */
static int
literal_family(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, &a6) == 1)
		return AF_INET6;
	return AF_UNSPEC;
}

const char *
pa_addr_str(enum pa_addr_err e)
{
	switch (e) {
	case PA_ADDR_OK:
		return "no error";
	case PA_ADDR_EMPTY:
		return "empty address";
	case PA_ADDR_NOPORT:
		return "missing :PORT";
	case PA_ADDR_BADPORT:
		return "port is not a number 0-65535 nor a known service";
	case PA_ADDR_BRACKET:
		return "unbalanced [ ] around an IPv6 address";
	case PA_ADDR_BADHOST:
		return "host is not an address and does not resolve";
	case PA_ADDR_AMBIGUOUS:
		return "name resolves to several addresses (pick one, or a "
		    "family with -4 or -6)";
	case PA_ADDR_FAMILY:
		return "address does not match the family asked for";
	case PA_ADDR_PATHLONG:
		return "unix socket path too long";
	case PA_ADDR_PATHEMPTY:
		return "empty unix socket path";
	case PA_ADDR_RESOLVER:
		return "temporary resolver failure";
	case PA_ADDR_NEEDBRACKET:
		return "IPv6 address without [brackets]";
	case PA_ADDR_NOTIPV6:
		return "not an IPv6 address inside [ ]";
	}
	return "unknown error";
}

/* A unix path (a leading "@" names an abstract socket). */
static enum pa_addr_err
parse_unix(const char *path, enum pa_addr_family fam, struct pa_addr *a)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)(void *)&a->ss;
	size_t n;

	if (fam != PA_FAMILY_ANY)
		return PA_ADDR_FAMILY;
	n = strlen(path);
	if (n == 0 || (path[0] == '@' && n == 1))
		return PA_ADDR_PATHEMPTY;
	/* sun_path keeps its terminating NUL: no silent truncation. */
	if (n >= sizeof(sun->sun_path))
		return PA_ADDR_PATHLONG;
	a->kind = PA_ADDR_UNIX;
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n);
	if (path[0] == '@') {
		/* Abstract: a NUL, then the name; the length says where it ends. */
		sun->sun_path[0] = '\0';
		a->sslen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    n);
	} else
		a->sslen = (socklen_t)sizeof(*sun);
	strlcpy(a->text, path, sizeof(a->text));
	return PA_ADDR_OK;
}

/* The port: a decimal number 0-65535 or a service name from services(5). */
static enum pa_addr_err
parse_port(const char *s, uint16_t *port)
{
	struct addrinfo hints, *res;
	const char *p, *errstr;
	long long n;

	if (*s == '\0')
		return PA_ADDR_NOPORT;
	for (p = s; *p >= '0' && *p <= '9'; p++)
		;
	if (*p == '\0') {
		n = strtonum(s, 0, 65535, &errstr);
		if (errstr != NULL)
			return PA_ADDR_BADPORT;
		*port = (uint16_t)n;
		return PA_ADDR_OK;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	if (getaddrinfo(NULL, s, &hints, &res) != 0)
		return PA_ADDR_BADPORT;
	*port = ntohs(((struct sockaddr_in *)(void *)res->ai_addr)->sin_port);
	freeaddrinfo(res);
	return PA_ADDR_OK;
}

/*
 * Resolve host once.  A literal is taken as it is; a name must give
 * exactly one address (after the family filter), or it is ambiguous.
 */
static enum pa_addr_err
resolve(const char *host, int numeric6, enum pa_addr_family fam,
    struct pa_addr *a)
{
	struct addrinfo hints, *res, *ai;
	struct sockaddr_storage first;
	socklen_t firstlen = 0;
	int r, n = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = fam == PA_FAMILY_V4 ? AF_INET :
	    fam == PA_FAMILY_V6 ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	if (numeric6) {
		if (fam == PA_FAMILY_V4)
			return PA_ADDR_FAMILY;
		hints.ai_family = AF_INET6;
		hints.ai_flags = AI_NUMERICHOST;
	}
	r = getaddrinfo(host, NULL, &hints, &res);
	if (r != 0) {
		if (numeric6)
			return PA_ADDR_NOTIPV6;
		switch (r) {
		case EAI_AGAIN:
		case EAI_FAIL:
		case EAI_MEMORY:
		case EAI_SYSTEM:
			return PA_ADDR_RESOLVER;
		case EAI_ADDRFAMILY:
		case EAI_NODATA:
			if (fam != PA_FAMILY_ANY)
				return PA_ADDR_FAMILY;
			return PA_ADDR_BADHOST;
		case EAI_FAMILY:
			return PA_ADDR_FAMILY;
		default:
			/*
			 * A v4 literal with -6 (or the reverse) ends here,
			 * and so does a name of the other family only.
			 */
			if (fam != PA_FAMILY_ANY &&
			    (literal_family(host) != AF_UNSPEC ||
			    resolve(host, 0, PA_FAMILY_ANY, a) !=
			    PA_ADDR_BADHOST))
				return PA_ADDR_FAMILY;
			return PA_ADDR_BADHOST;
		}
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(first))
			continue;
		if (n > 0 && ai->ai_addrlen == firstlen &&
		    memcmp(ai->ai_addr, &first, firstlen) == 0)
			continue;	/* the same address twice */
		if (n++ == 0) {
			memcpy(&first, ai->ai_addr, ai->ai_addrlen);
			firstlen = ai->ai_addrlen;
		}
	}
	freeaddrinfo(res);
	if (n == 0)
		return PA_ADDR_BADHOST;
	if (n > 1)
		return PA_ADDR_AMBIGUOUS;
	memcpy(&a->ss, &first, firstlen);
	a->sslen = firstlen;
	return PA_ADDR_OK;
}

static void
set_port(struct pa_addr *a, uint16_t port)
{
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)(void *)&a->ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)(void *)&a->ss)->sin6_port =
		    htons(port);
}

/* The wildcard address: [::] (dual-stack) unless IPv4 is asked for. */
static void
wildcard(enum pa_addr_family fam, struct pa_addr *a)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&a->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)&a->ss;

	if (fam == PA_FAMILY_V4) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		a->sslen = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		a->sslen = sizeof(*sin6);
	}
}

enum pa_addr_err
pa_addr_parse(const char *op, enum pa_addr_family fam, struct pa_addr *a)
{
	static const struct {
		const char		*prefix;
		enum pa_addr_family	 fam;
	} prefixes[] = {
		{ "tcp:", PA_FAMILY_ANY },
		{ "tcp4:", PA_FAMILY_V4 },
		{ "tcp6:", PA_FAMILY_V6 }
	};
	char host[256];
	const char *p, *colon, *port;
	enum pa_addr_err e;
	uint16_t portnum;
	size_t i, hlen;
	int bracket = 0;

	memset(a, 0, sizeof(*a));
	if (op == NULL || *op == '\0')
		return PA_ADDR_EMPTY;
	if (strncmp(op, "unix:", 5) == 0)
		return parse_unix(op + 5, fam, a);
	if (op[0] == '/' || strncmp(op, "./", 2) == 0 ||
	    strncmp(op, "../", 3) == 0)
		return parse_unix(op, fam, a);
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (strncmp(op, prefixes[i].prefix,
		    strlen(prefixes[i].prefix)) != 0)
			continue;
		op += strlen(prefixes[i].prefix);
		if (prefixes[i].fam != PA_FAMILY_ANY) {
			if (fam != PA_FAMILY_ANY && fam != prefixes[i].fam)
				return PA_ADDR_FAMILY;
			fam = prefixes[i].fam;
		}
		break;
	}
	if (*op == '\0')
		return PA_ADDR_EMPTY;
	a->kind = PA_ADDR_TCP;

	if (op[0] == '[') {
		if ((p = strchr(op, ']')) == NULL)
			return PA_ADDR_BRACKET;
		if (p[1] == '\0')
			return PA_ADDR_NOPORT;
		if (p[1] != ':')
			return PA_ADDR_BRACKET;
		hlen = (size_t)(p - op - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return PA_ADDR_NOTIPV6;
		memcpy(host, op + 1, hlen);
		host[hlen] = '\0';
		if (strchr(host, '[') != NULL)
			return PA_ADDR_BRACKET;
		port = p + 2;
		bracket = 1;
	} else {
		if ((colon = strchr(op, ':')) == NULL)
			return PA_ADDR_NOPORT;
		if (strchr(op, ']') != NULL)
			return PA_ADDR_BRACKET;
		if (strchr(colon + 1, ':') != NULL) {
			/* "::1:80" or "fe80::1" wants brackets; else junk. */
			p = strrchr(op, ':');
			hlen = (size_t)(p - op);
			if (hlen < sizeof(host)) {
				memcpy(host, op, hlen);
				host[hlen] = '\0';
				if (literal_family(host) == AF_INET6 ||
				    literal_family(op) == AF_INET6)
					return PA_ADDR_NEEDBRACKET;
			}
			return PA_ADDR_BADPORT;
		}
		hlen = (size_t)(colon - op);
		if (hlen >= sizeof(host))
			return PA_ADDR_BADHOST;
		memcpy(host, op, hlen);
		host[hlen] = '\0';
		port = colon + 1;
	}
	if ((e = parse_port(port, &portnum)) != PA_ADDR_OK)
		return e;

	if (!bracket && (host[0] == '\0' || strcmp(host, "*") == 0))
		wildcard(fam, a);
	else if ((e = resolve(host, bracket, fam, a)) != PA_ADDR_OK)
		return e;
	set_port(a, portnum);
	if (pa_addr_format((struct sockaddr *)&a->ss, a->sslen, a->text,
	    sizeof(a->text)) == -1)
		strlcpy(a->text, op, sizeof(a->text));
	return PA_ADDR_OK;
}

void
pa_listen_opts_init(struct pa_listen_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->v6only = -1;
	o->mode = -1;
	o->uid = (uid_t)-1;
	o->gid = (gid_t)-1;
}

/*
 * The kernel's ceiling for a listen() backlog (net.core.somaxconn):
 * listen() silently caps larger values at it.  SOMAXCONN if unreadable.
 */
int
pa_addr_somaxconn(void)
{
	char buf[32];
	const char *errstr;
	long long n;
	ssize_t r;
	int fd;

	fd = open("/proc/sys/net/core/somaxconn", O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return SOMAXCONN;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return SOMAXCONN;
	buf[r] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	n = strtonum(buf, 1, INT_MAX, &errstr);
	return errstr == NULL ? (int)n : SOMAXCONN;
}

/*
 * A path already bound: replace it only if it is a socket nobody answers
 * on.  Returns 0 when the stale socket is gone, -1 (errno, o->note) if not.
 */
static int
clear_stale(const struct pa_addr *a, struct pa_listen_opts *o)
{
	const struct sockaddr_un *sun =
	    (const struct sockaddr_un *)(const void *)&a->ss;
	struct stat st;
	int fd, r, e;

	if (sun->sun_path[0] == '\0') {
		o->note = "abstract name in use";
		errno = EADDRINUSE;
		return -1;
	}
	if (lstat(sun->sun_path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		o->note = "path exists and is not a socket, not replaced";
		errno = EEXIST;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	r = connect(fd, (const struct sockaddr *)sun, a->sslen);
	e = errno;
	close(fd);
	if (r == 0 || e == EAGAIN || e == EINPROGRESS) {
		o->note = "a server answers on it, not replaced";
		errno = EADDRINUSE;
		return -1;
	}
	if (e == ENOENT)
		return 0;
	if (e != ECONNREFUSED) {
		o->note = "cannot tell whether it is in use, not replaced";
		errno = e == EPROTOTYPE ? EADDRINUSE : e;
		return -1;
	}
	if (unlink(sun->sun_path) == -1 && errno != ENOENT) {
		o->note = "could not remove the stale socket";
		return -1;
	}
	return 0;
}

static int
setopt(int fd, int level, int name, int v, struct pa_listen_opts *o,
    const char *step)
{
	if (setsockopt(fd, level, name, &v, sizeof(v)) == -1) {
		o->step = step;
		return -1;
	}
	return 0;
}

/* bind, replacing a stale unix socket; a unix socket gets o->mode. */
static int
bind_addr(int fd, const struct pa_addr *a, struct pa_listen_opts *o)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	mode_t old = 0;
	int r, e, tries;

	o->step = "bind";
	for (tries = 0; tries < 2; tries++) {
		/* The socket file is born with mode o->mode, never wider. */
		if (a->kind == PA_ADDR_UNIX && o->mode >= 0)
			old = umask(~(mode_t)o->mode & 0777);
		r = bind(fd, sa, a->sslen);
		e = errno;
		if (a->kind == PA_ADDR_UNIX && o->mode >= 0)
			umask(old);
		if (r == 0)
			return 0;
		if (a->kind != PA_ADDR_UNIX || e != EADDRINUSE || tries > 0) {
			errno = e;
			return -1;
		}
		if (clear_stale(a, o) == -1)
			return -1;
	}
	errno = e;
	return -1;
}

int
pa_addr_listen(const struct pa_addr *a, struct pa_listen_opts *o)
{
	const struct sockaddr_un *sun =
	    (const struct sockaddr_un *)(const void *)&a->ss;
	int fd, e, domain, backlog;

	o->step = "socket";
	o->note = NULL;
	domain = a->ss.ss_family;
	if (domain != AF_INET && domain != AF_INET6 && domain != AF_UNIX) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if ((fd = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (domain != AF_UNIX) {
		if (setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1, o,
		    "setsockopt SO_REUSEADDR") == -1)
			goto fail;
		if (o->reuseport && setopt(fd, SOL_SOCKET, SO_REUSEPORT, 1, o,
		    "setsockopt SO_REUSEPORT") == -1)
			goto fail;
		if (domain == AF_INET6 && o->v6only >= 0 &&
		    setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, o->v6only != 0, o,
		    "setsockopt IPV6_V6ONLY") == -1)
			goto fail;
		if (o->defer_accept > 0 && setopt(fd, IPPROTO_TCP,
		    TCP_DEFER_ACCEPT, o->defer_accept, o,
		    "setsockopt TCP_DEFER_ACCEPT") == -1)
			goto fail;
	}
	if (bind_addr(fd, a, o) == -1)
		goto fail;
	if (domain == AF_UNIX && sun->sun_path[0] != '\0') {
		/* Ownership before listen(): nobody connects in between. */
		if ((o->uid != (uid_t)-1 || o->gid != (gid_t)-1) &&
		    chown(sun->sun_path, o->uid, o->gid) == -1) {
			o->step = "chown";
			goto unlink;
		}
		if (o->mode >= 0 && chmod(sun->sun_path, (mode_t)o->mode) ==
		    -1) {
			o->step = "chmod";
			goto unlink;
		}
	}
	backlog = o->backlog > 0 ? o->backlog : pa_addr_somaxconn();
	if (listen(fd, backlog) == -1) {
		o->step = "listen";
		goto unlink;
	}
	o->step = NULL;
	return fd;

unlink:
	e = errno;
	if (domain == AF_UNIX && sun->sun_path[0] != '\0')
		unlink(sun->sun_path);
	errno = e;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}
