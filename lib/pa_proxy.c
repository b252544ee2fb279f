/*
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, v1 and v2):
 * a pure parser over a buffer, a reader that consumes exactly one header
 * from a connection, and the UCSPI values it implies.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"

static const uint8_t v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
static const char v1sig[] = "PROXY ";

/* 1 if the n bytes of buf begin sig (of signlen bytes), as far as they go. */
static int
prefix(const uint8_t *buf, size_t n, const void *sig, size_t siglen)
{
	return memcmp(buf, sig, n < siglen ? n : siglen) == 0;
}

/* A port: decimal, 0-65535, no sign, no leading zero. */
static int
v1port(const char *s, size_t n, in_port_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = htons((in_port_t)v);
	return 0;
}

static int
v1addr(int family, const char *s, size_t n, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char tmp[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		*sslen = sizeof(*sin);
		return inet_pton(AF_INET, tmp, &sin->sin_addr) == 1 ? 0 : -1;
	}
	sin6->sin6_family = AF_INET6;
	*sslen = sizeof(*sin6);
	return inet_pton(AF_INET6, tmp, &sin6->sin6_addr) == 1 ? 0 : -1;
}

static void
setport(struct sockaddr_storage *ss, in_port_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = port;
	else
		((struct sockaddr_in6 *)ss)->sin6_port = port;
}

/* "PROXY TCP4 SRC DST SPORT DPORT\r\n", buf holding at least the CRLF. */
static enum pa_proxy_err
v1(const char *buf, size_t eol, struct pa_proxy *p)
{
	const char *f[4], *s, *end = buf + eol;
	size_t fl[4];
	in_port_t sport, dport;
	int i, family;

	p->version = 1;
	p->len = eol + 2;
	s = buf + sizeof(v1sig) - 1;
	if (end - s >= 7 && memcmp(s, "UNKNOWN", 7) == 0 &&
	    (end - s == 7 || s[7] == ' ')) {
		/* The rest of the line is to be ignored. */
		p->local = 1;
		p->family = AF_UNSPEC;
		return PA_PROXY_OK;
	}
	if (end - s >= 4 && memcmp(s, "TCP4", 4) == 0)
		family = AF_INET;
	else if (end - s >= 4 && memcmp(s, "TCP6", 4) == 0)
		family = AF_INET6;
	else
		return PA_PROXY_V1PROTO;
	s += 4;
	if (s == end || *s++ != ' ')
		return PA_PROXY_V1FORMAT;
	/* Four fields, one space between each, none after the last. */
	for (i = 0; i < 4; i++) {
		f[i] = s;
		while (s < end && *s != ' ')
			s++;
		if ((fl[i] = (size_t)(s - f[i])) == 0)
			return PA_PROXY_V1FORMAT;
		if (i < 3) {
			if (s == end)
				return PA_PROXY_V1FORMAT;
			s++;
		}
	}
	if (s != end)
		return PA_PROXY_V1FORMAT;
	p->family = family;
	p->transport = SOCK_STREAM;
	if (v1addr(family, f[0], fl[0], &p->src, &p->srclen) == -1 ||
	    v1addr(family, f[1], fl[1], &p->dst, &p->dstlen) == -1)
		return PA_PROXY_V1ADDR;
	if (v1port(f[2], fl[2], &sport) == -1 ||
	    v1port(f[3], fl[3], &dport) == -1)
		return PA_PROXY_V1PORT;
	setport(&p->src, sport);
	setport(&p->dst, dport);
	return PA_PROXY_OK;
}

/* A v2 header, the 16 fixed bytes already checked for the signature. */
static enum pa_proxy_err
v2(const uint8_t *buf, size_t len, struct pa_proxy *p)
{
	struct sockaddr_in *s4, *d4;
	struct sockaddr_in6 *s6, *d6;
	struct sockaddr_un *su, *du;
	size_t alen, need, off, tl;
	int cmd, fam, tr;

	p->version = 2;
	if ((buf[12] >> 4) != 2)
		return PA_PROXY_V2VERSION;
	cmd = buf[12] & 0x0f;
	if (cmd > 1)
		return PA_PROXY_V2COMMAND;
	fam = buf[13] >> 4;
	tr = buf[13] & 0x0f;
	alen = (size_t)buf[14] << 8 | buf[15];
	p->len = PA_PROXY_V2_HDR + alen;
	if (len < p->len)
		return PA_PROXY_SHORT;
	/* LOCAL: family, addresses and TLVs, if any, are to be ignored. */
	if (cmd == 0) {
		p->local = 1;
		return PA_PROXY_OK;
	}
	if (fam > 3 || tr > 2)
		return PA_PROXY_V2FAMILY;
	p->transport = tr == 1 ? SOCK_STREAM : tr == 2 ? SOCK_DGRAM : 0;
	p->family = fam == 1 ? AF_INET : fam == 2 ? AF_INET6 :
	    fam == 3 ? AF_UNIX : AF_UNSPEC;
	need = fam == 1 ? 12 : fam == 2 ? 36 : fam == 3 ? 216 : 0;
	if (fam == 0 || tr == 0) {
		/* Unknown to the sender: use the connection's. */
		p->local = 1;
		return PA_PROXY_OK;
	}
	if (alen < need)
		return PA_PROXY_V2SHORT;
	buf += PA_PROXY_V2_HDR;
	memset(&p->src, 0, sizeof(p->src));
	memset(&p->dst, 0, sizeof(p->dst));
	switch (fam) {
	case 1:
		s4 = (struct sockaddr_in *)&p->src;
		d4 = (struct sockaddr_in *)&p->dst;
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, buf, 4);
		memcpy(&d4->sin_addr, buf + 4, 4);
		memcpy(&s4->sin_port, buf + 8, 2);
		memcpy(&d4->sin_port, buf + 10, 2);
		p->srclen = p->dstlen = sizeof(*s4);
		break;
	case 2:
		s6 = (struct sockaddr_in6 *)&p->src;
		d6 = (struct sockaddr_in6 *)&p->dst;
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, buf, 16);
		memcpy(&d6->sin6_addr, buf + 16, 16);
		memcpy(&s6->sin6_port, buf + 32, 2);
		memcpy(&d6->sin6_port, buf + 34, 2);
		p->srclen = p->dstlen = sizeof(*s6);
		break;
	default:
		su = (struct sockaddr_un *)&p->src;
		du = (struct sockaddr_un *)&p->dst;
		su->sun_family = du->sun_family = AF_UNIX;
		/* 108 bytes each, NUL-padded; sun_path keeps a final NUL. */
		memcpy(su->sun_path, buf, sizeof(su->sun_path) - 1);
		memcpy(du->sun_path, buf + 108, sizeof(du->sun_path) - 1);
		p->srclen = p->dstlen = sizeof(*su);
		break;
	}
	/* TLVs: type, 16-bit length, value; each must end inside. */
	p->tlv = PA_PROXY_V2_HDR + need;
	for (off = need; off < alen; off += 3 + tl) {
		if (alen - off < 3)
			return PA_PROXY_V2TLV;
		tl = (size_t)buf[off + 1] << 8 | buf[off + 2];
		if (alen - off - 3 < tl)
			return PA_PROXY_V2TLV;
		p->ntlv++;
	}
	return PA_PROXY_OK;
}

enum pa_proxy_err
pa_proxy_parse(const void *vbuf, size_t len, struct pa_proxy *p)
{
	const uint8_t *buf = vbuf;
	const uint8_t *cr;
	size_t n;

	memset(p, 0, sizeof(*p));
	p->family = AF_UNSPEC;
	if (len == 0) {
		p->len = PA_PROXY_V2_HDR;
		return PA_PROXY_SHORT;
	}
	if (prefix(buf, len, v2sig, sizeof(v2sig))) {
		if (len < PA_PROXY_V2_HDR) {
			p->len = PA_PROXY_V2_HDR;
			return PA_PROXY_SHORT;
		}
		return v2(buf, len, p);
	}
	if (!prefix(buf, len, v1sig, sizeof(v1sig) - 1))
		return PA_PROXY_NOTPROXY;
	p->version = 1;
	n = len < PA_PROXY_V1_MAX ? len : PA_PROXY_V1_MAX;
	if ((cr = memchr(buf, '\r', n)) == NULL) {
		if (len >= PA_PROXY_V1_MAX)
			return PA_PROXY_V1LONG;
		p->len = PA_PROXY_V1_MAX;
		return PA_PROXY_SHORT;
	}
	if ((size_t)(cr - buf) + 1 == len) {
		/* The LF may still come. */
		p->len = (size_t)(cr - buf) + 2;
		return PA_PROXY_SHORT;
	}
	if (cr[1] != '\n')
		return PA_PROXY_V1FORMAT;
	if ((size_t)(cr - buf) + 2 > PA_PROXY_V1_MAX)
		return PA_PROXY_V1LONG;
	if (memchr(buf, '\n', (size_t)(cr - buf)) != NULL ||
	    memchr(buf, '\0', (size_t)(cr - buf)) != NULL ||
	    (size_t)(cr - buf) < sizeof(v1sig) - 1)
		return PA_PROXY_V1FORMAT;
	return v1((const char *)(const void *)buf, (size_t)(cr - buf), p);
}

const char *
pa_proxy_str(enum pa_proxy_err e)
{
	switch (e) {
	case PA_PROXY_OK:
		return "ok";
	case PA_PROXY_SHORT:
		return "header incomplete";
	case PA_PROXY_NOTPROXY:
		return "no PROXY header";
	case PA_PROXY_V1LONG:
		return "v1 line longer than 107 bytes";
	case PA_PROXY_V1PROTO:
		return "v1 protocol not TCP4, TCP6 nor UNKNOWN";
	case PA_PROXY_V1FORMAT:
		return "v1 line malformed";
	case PA_PROXY_V1ADDR:
		return "v1 address malformed";
	case PA_PROXY_V1PORT:
		return "v1 port malformed";
	case PA_PROXY_V2VERSION:
		return "v2 version not 2";
	case PA_PROXY_V2COMMAND:
		return "v2 command not LOCAL nor PROXY";
	case PA_PROXY_V2FAMILY:
		return "v2 family or transport unknown";
	case PA_PROXY_V2SHORT:
		return "v2 address block too short";
	case PA_PROXY_V2TLV:
		return "v2 TLV malformed or too long";
	case PA_PROXY_CLOSED:
		return "connection closed inside the header";
	case PA_PROXY_TIMEOUT:
		return "header time limit reached";
	case PA_PROXY_ERRNO:
		return "system error";
	}
	return "unknown error";
}

/*
 * Peek at what has arrived, parse it, and take off the socket only bytes
 * known to belong to the header: those before a v1 CRLF, the v2 header's
 * announced length.  Taken bytes stay in buf, so a header that arrives
 * in pieces never makes poll(2) report the same bytes twice.
 */
enum pa_proxy_err
pa_proxy_read(int fd, int timeout_ms, void *vbuf, size_t bufsize,
    struct pa_proxy *p)
{
	uint8_t *buf = vbuf;
	struct pollfd pfd;
	uint64_t end;
	size_t have = 0, want, take;
	ssize_t n;
	int64_t left;
	enum pa_proxy_err e;

	end = pa_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	want = PA_PROXY_V2_HDR;
	for (;;) {
		if (want > bufsize)
			return PA_PROXY_V2TLV;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if ((left = (int64_t)(end - pa_now_ns())) <= 0)
			return PA_PROXY_TIMEOUT;
		switch (poll(&pfd, 1, (int)((left + 999999) / 1000000))) {
		case -1:
			if (errno == EINTR)
				continue;
			return PA_PROXY_ERRNO;
		case 0:
			return PA_PROXY_TIMEOUT;
		}
		n = recv(fd, buf + have, want - have, MSG_PEEK | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return PA_PROXY_ERRNO;
		}
		if (n == 0)
			return PA_PROXY_CLOSED;
		e = pa_proxy_parse(buf, have + (size_t)n, p);
		if (e == PA_PROXY_OK)
			take = p->len - have;
		else if (e == PA_PROXY_SHORT)
			take = (size_t)n;
		else
			return e;
		/* Already queued: a blocking recv of it returns at once. */
		while (take > 0) {
			n = recv(fd, buf + have, take, MSG_DONTWAIT);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				return n == 0 ? PA_PROXY_CLOSED : PA_PROXY_ERRNO;
			have += (size_t)n;
			take -= (size_t)n;
		}
		if (e == PA_PROXY_OK)
			return PA_PROXY_OK;
		want = p->len;
	}
}

/* The text of an IPv4 or IPv6 address (v4-mapped as IPv4) and its port. */
static int
iptext(const struct sockaddr *sa, char *ip, size_t iplen, char *port,
    size_t portlen)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	const void *a;
	in_port_t pt;
	int fam;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		fam = AF_INET;
		a = &sin->sin_addr;
		pt = sin->sin_port;
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		fam = AF_INET6;
		a = &sin6->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			fam = AF_INET;
			a = &sin6->sin6_addr.s6_addr[12];
		}
		pt = sin6->sin6_port;
	} else {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (inet_ntop(fam, a, ip, (socklen_t)iplen) == NULL)
		return -1;
	if (port != NULL)
		snprintf(port, portlen, "%u", (unsigned)ntohs(pt));
	return 0;
}

/* Room left for a value after "NAME=" in a UCSPI variable buffer. */
#define VALLEN(u, v)	\
	(PA_UCSPI_LEN - (size_t)((v) - (const char *)(u)->var) % PA_UCSPI_LEN)

int
pa_proxy_ucspi(struct pa_ucspi *u, int fd, const struct pa_proxy *p)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char *q;

	if (u->domain == AF_UNIX)
		return 0;
	if (p->local || (p->family != AF_INET && p->family != AF_INET6)) {
		/* An earlier header may have changed the local values. */
		if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
			return -1;
		return iptext((struct sockaddr *)&ss, u->localip,
		    VALLEN(u, u->localip), u->localport,
		    VALLEN(u, u->localport));
	}
	if (iptext((const struct sockaddr *)&p->src, u->remoteip,
	    VALLEN(u, u->remoteip), u->remoteport,
	    VALLEN(u, u->remoteport)) == -1 ||
	    iptext((const struct sockaddr *)&p->dst, u->localip,
	    VALLEN(u, u->localip), u->localport,
	    VALLEN(u, u->localport)) == -1)
		return -1;
	q = u->peer;
	if (strchr(u->remoteip, ':') != NULL)
		snprintf(q, sizeof(u->peer), "[%s]:%s", u->remoteip,
		    u->remoteport);
	else
		snprintf(q, sizeof(u->peer), "%s:%s", u->remoteip,
		    u->remoteport);
	return 0;
}

int
pa_proxy_net_parse(const char *text, struct pa_proxy_net *n)
{
	char tmp[INET6_ADDRSTRLEN + 8], *slash, *a;
	const char *errstr;
	unsigned max;
	size_t l;

	memset(n, 0, sizeof(*n));
	if (strlcpy(tmp, text, sizeof(tmp)) >= sizeof(tmp))
		goto bad;
	a = tmp;
	if ((slash = strchr(tmp, '/')) != NULL)
		*slash++ = '\0';
	l = strlen(a);
	if (l >= 2 && a[0] == '[' && a[l - 1] == ']') {
		a[l - 1] = '\0';
		a++;
		if (inet_pton(AF_INET6, a, n->addr) != 1)
			goto bad;
		n->family = AF_INET6;
	} else if (inet_pton(AF_INET, a, n->addr) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, a, n->addr) == 1)
		n->family = AF_INET6;
	else
		goto bad;
	max = n->family == AF_INET ? 32 : 128;
	n->bits = max;
	if (slash != NULL) {
		n->bits = (unsigned)strtonum(slash, 0, max, &errstr);
		if (errstr != NULL || *slash == '\0')
			goto bad;
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

static int
inside(const struct pa_proxy_net *n, const uint8_t *a)
{
	unsigned full = n->bits / 8, rest = n->bits % 8;
	uint8_t mask;

	if (memcmp(n->addr, a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return (n->addr[full] & mask) == (a[full] & mask);
}

int
pa_proxy_net_match(const struct pa_proxy_net *nets, size_t count,
    const struct sockaddr *sa)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	const uint8_t *a;
	size_t i;
	int fam;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		fam = AF_INET;
		a = (const uint8_t *)&sin->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		fam = AF_INET6;
		a = sin6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			fam = AF_INET;
			a += 12;
		}
	} else
		return 0;
	for (i = 0; i < count; i++)
		if (nets[i].family == fam && inside(&nets[i], a))
			return 1;
	return 0;
}
