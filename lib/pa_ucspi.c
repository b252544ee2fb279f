/*
 * The UCSPI environment PROG receives (contract 3), prepared once per
 * thread and filled in per connection without allocation: every variable
 * lives in a fixed buffer whose "NAME=" prefix is written at set-up, and
 * only the value after it changes.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pa.h"

/* Variables pa or an outer UCSPI server may have set: never passed on. */
static int
dropped(const char *e)
{
	static const char *const pfx[] = {
		"PA_", "LISTEN_", "NOTIFY_SOCKET=", "PROTO=", "TCPLOCAL",
		"TCPREMOTE", "TCP6", "UNIXLOCAL", "UNIXREMOTE"
	};
	size_t i;

	for (i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		if (strncmp(e, pfx[i], strlen(pfx[i])) == 0)
			return 1;
	return 0;
}

/* Write "NAME=" into var i, point envp at it; returns the value pointer. */
static char *
addvar(struct pa_ucspi *u, int i, const char *name)
{
	size_t n;

	n = strlcpy(u->var[i], name, sizeof(u->var[i]));
	u->var[i][n++] = '=';
	u->var[i][n] = '\0';
	u->envp[u->nbase + (size_t)i] = u->var[i];
	return u->var[i] + n;
}

/* Unsigned decimal, without the cost of snprintf. */
static void
utoa(char *buf, unsigned long v)
{
	char tmp[24];
	size_t n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		*buf++ = tmp[--n];
	*buf = '\0';
}

/*
 * The IP text of an address: IPv4, IPv6 in normal form, an IPv4-mapped
 * IPv6 address as plain IPv4 (what pa_addr_format shows too).  Port into
 * port if not NULL.
 */
static int
iptext(const struct sockaddr *sa, socklen_t len, char *ip, char *port)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(*sin)) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		if (inet_ntop(AF_INET, &sin->sin_addr, ip,
		    INET6_ADDRSTRLEN) == NULL)
			return -1;
		if (port != NULL)
			utoa(port, ntohs(sin->sin_port));
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			if (inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12],
			    ip, INET6_ADDRSTRLEN) == NULL)
				return -1;
		} else if (inet_ntop(AF_INET6, &sin6->sin6_addr, ip,
		    INET6_ADDRSTRLEN) == NULL)
			return -1;
		if (port != NULL)
			utoa(port, ntohs(sin6->sin6_port));
		return 0;
	}
	errno = EAFNOSUPPORT;
	return -1;
}

static int
wildcard(const struct sockaddr *sa)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	sin6 = (const struct sockaddr_in6 *)(const void *)sa;
	return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
}

int
pa_ucspi_init(struct pa_ucspi *u, int lfd, char **env, const char *localhost)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	size_t n, i;
	int v;

	memset(u, 0, sizeof(*u));
	if (localhost != NULL && (localhost[0] == '\0' ||
	    strlen(localhost) >= sizeof(u->var[0]) - sizeof("TCPLOCALHOST="))) {
		errno = EINVAL;
		return -1;
	}
	if (getsockname(lfd, (struct sockaddr *)&ss, &sslen) == -1)
		return -1;
	u->domain = ss.ss_family;
	if (u->domain != AF_INET && u->domain != AF_INET6 &&
	    u->domain != AF_UNIX) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	for (n = 0; env != NULL && env[n] != NULL; n++)
		;
	u->cap = n + PA_UCSPI_VARS + 1;
	if ((u->envp = reallocarray(NULL, u->cap, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (!dropped(env[i]))
			u->envp[u->nbase++] = env[i];

	v = 0;
	if (u->domain == AF_UNIX) {
		strlcpy(addvar(u, v++, "PROTO"), "UNIX", 8);
		u->localip = addvar(u, v++, "UNIXLOCALPATH");
		if (pa_addr_format((struct sockaddr *)&ss, sslen, u->localip,
		    sizeof(u->var[0]) - sizeof("UNIXLOCALPATH=")) == -1)
			goto fail;
		u->localport = u->localip + strlen(u->localip); /* "" */
		u->euid = addvar(u, v++, "UNIXREMOTEEUID");
		u->egid = addvar(u, v++, "UNIXREMOTEEGID");
		u->pid = addvar(u, v++, "UNIXREMOTEPID");
		u->remoteip = u->pid;
		u->remoteport = u->localport;
	} else {
		strlcpy(addvar(u, v++, "PROTO"), "TCP", 8);
		u->localip = addvar(u, v++, "TCPLOCALIP");
		u->localport = addvar(u, v++, "TCPLOCALPORT");
		if (iptext((struct sockaddr *)&ss, sslen, u->localip,
		    u->localport) == -1)
			goto fail;
		u->localwild = wildcard((struct sockaddr *)&ss);
		if (localhost != NULL) {
			u->localhost = addvar(u, v++, "TCPLOCALHOST");
			strlcpy(u->localhost, localhost,
			    sizeof(u->var[0]) - sizeof("TCPLOCALHOST="));
		}
		u->remoteip = addvar(u, v++, "TCPREMOTEIP");
		u->remoteport = addvar(u, v++, "TCPREMOTEPORT");
	}
	u->envp[u->nbase + (size_t)v] = NULL;
	return 0;
fail:
	v = errno;
	free(u->envp);
	u->envp = NULL;
	errno = v;
	return -1;
}

int
pa_ucspi_set(struct pa_ucspi *u, int fd, const struct sockaddr *peer,
    socklen_t peerlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct ucred uc;
	socklen_t uclen = sizeof(uc);
	char *p;

	if (u->domain == AF_UNIX) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &uclen) == -1)
			return -1;
		utoa(u->euid, uc.uid);
		utoa(u->egid, uc.gid);
		utoa(u->pid, (unsigned long)uc.pid);
		/* The slot's peer text: "uid U pid P". */
		p = stpcpy(u->peer, "uid ");
		p = stpcpy(p, u->euid);
		p = stpcpy(p, " pid ");
		stpcpy(p, u->pid);
		return 0;
	}
	if (iptext(peer, peerlen, u->remoteip, u->remoteport) == -1)
		return -1;
	/* Bound to a wildcard address: the local IP differs per connection. */
	if (u->localwild) {
		sslen = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1 ||
		    iptext((struct sockaddr *)&ss, sslen, u->localip,
		    NULL) == -1)
			return -1;
	}
	/* "IP:PORT", or "[IPv6]:PORT". */
	p = u->peer;
	if (strchr(u->remoteip, ':') != NULL) {
		*p++ = '[';
		p = stpcpy(p, u->remoteip);
		*p++ = ']';
	} else
		p = stpcpy(p, u->remoteip);
	*p++ = ':';
	stpcpy(p, u->remoteport);
	return 0;
}

void
pa_ucspi_free(struct pa_ucspi *u)
{
	free(u->envp);
	u->envp = NULL;
}
