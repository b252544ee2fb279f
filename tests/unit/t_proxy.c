/*
 * Unit tests of lib/pa_proxy.c: the PROXY protocol parser (every valid v1
 * and v2 form, every malformed one, LOCAL, TLVs, the v4/v6/unix families,
 * every prefix of a valid header reported as incomplete), the reader that
 * consumes exactly the header from a socket (in pieces, time limit, EOF),
 * the UCSPI values a header implies, and the peer networks.
 *
 * Fuzzing: the parser is a pure function over a buffer; the entry point
 * to fuzz is
 *	enum pa_proxy_err pa_proxy_parse(const void *buf, size_t len,
 *	    struct pa_proxy *p);
 * whose invariants are: on PA_PROXY_OK, 0 < p->len <= len, and
 * p->len <= PA_PROXY_V1_MAX for version 1; on PA_PROXY_SHORT, p->len > len.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"
#include "t.h"

static const uint8_t sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static int
eq(const char *a, const char *b)
{
	if (a == NULL || strcmp(a, b) != 0) {
		fprintf(stderr, "got \"%s\", want \"%s\"\n",
		    a == NULL ? "(unset)" : a, b);
		return 0;
	}
	return 1;
}

/* "IP:PORT" (IPv6 as [IP]:PORT) of an inet address, for comparisons. */
static const char *
text(const struct sockaddr_storage *ss)
{
	static char buf[2][80];
	static int i;
	char *b = buf[i++ % 2];

	if (pa_addr_format((const struct sockaddr *)ss, sizeof(*ss), b,
	    sizeof(buf[0])) == -1)
		strlcpy(b, "?", sizeof(buf[0]));
	return b;
}

static enum pa_proxy_err
parse(const char *s, struct pa_proxy *p)
{
	return pa_proxy_parse(s, strlen(s), p);
}

/* Every proper prefix of a valid header is incomplete, and asks for more. */
static void
prefixes(const uint8_t *h, size_t len)
{
	struct pa_proxy p;
	enum pa_proxy_err e;
	size_t i;

	for (i = 0; i < len; i++) {
		e = pa_proxy_parse(h, i, &p);
		CHECK(e == PA_PROXY_SHORT);
		if (e != PA_PROXY_SHORT)
			fprintf(stderr, "prefix %zu of %zu: %s\n", i, len,
			    pa_proxy_str(e));
		else
			CHECK(p.len > i);
	}
}

static void
test_v1_valid(void)
{
	struct pa_proxy p;
	const char *h;
	char buf[200];

	h = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n";
	snprintf(buf, sizeof(buf), "%sGET / HTTP/1.0\r\n", h);
	CHECK(parse(buf, &p) == PA_PROXY_OK);
	CHECK(p.version == 1 && !p.local && p.family == AF_INET);
	CHECK(p.transport == SOCK_STREAM);
	CHECK(p.len == strlen(h));
	CHECK(eq(text(&p.src), "192.0.2.1:56324"));
	CHECK(eq(text(&p.dst), "198.51.100.2:443"));
	prefixes((const uint8_t *)h, strlen(h));

	h = "PROXY TCP6 2001:db8::1 ::1 0 65535\r\n";
	CHECK(parse(h, &p) == PA_PROXY_OK);
	CHECK(p.family == AF_INET6 && p.len == strlen(h));
	CHECK(eq(text(&p.src), "[2001:db8::1]:0"));
	CHECK(eq(text(&p.dst), "[::1]:65535"));
	prefixes((const uint8_t *)h, strlen(h));

	/* A v4-mapped address in TCP6 is an IPv6 address. */
	CHECK(parse("PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n", &p) ==
	    PA_PROXY_OK);

	CHECK(parse("PROXY UNKNOWN\r\n", &p) == PA_PROXY_OK);
	CHECK(p.local && p.family == AF_UNSPEC && p.len == 15);
	h = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
	CHECK(parse(h, &p) == PA_PROXY_OK);
	CHECK(p.local && p.len == strlen(h));

	/* The worst case of the spec: exactly 107 bytes. */
	memset(buf, 0, sizeof(buf));
	strlcpy(buf, "PROXY UNKNOWN ", sizeof(buf));
	memset(buf + 14, 'x', 107 - 16);
	memcpy(buf + 105, "\r\n", 2);
	CHECK(parse(buf, &p) == PA_PROXY_OK && p.len == 107);
	h = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	CHECK(strlen(h) == 104);
	CHECK(parse(h, &p) == PA_PROXY_OK);
}

static void
test_v1_bad(void)
{
	static const struct {
		const char		*h;
		enum pa_proxy_err	 e;
	} t[] = {
		{ "GET / HTTP/1.0\r\n", PA_PROXY_NOTPROXY },
		{ "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n", PA_PROXY_NOTPROXY },
		{ "PROXY\r\n", PA_PROXY_NOTPROXY },
		{ " PROXY TCP4 1.2.3.4 1.2.3.4 1 2\r\n", PA_PROXY_NOTPROXY },
		{ "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", PA_PROXY_V1PROTO },
		{ "PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n", PA_PROXY_V1PROTO },
		{ "PROXY UNKNOWNX\r\n", PA_PROXY_V1PROTO },
		{ "PROXY \r\n", PA_PROXY_V1PROTO },
		{ "PROXY TCP4\r\n", PA_PROXY_V1FORMAT },
		{ "PROXY TCP4 \r\n", PA_PROXY_V1FORMAT },
		{ "PROXY TCP41.2.3.4 1.2.3.4 1 2\r\n", PA_PROXY_V1FORMAT },
		{ "PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n", PA_PROXY_V1FORMAT },
		{ "PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n", PA_PROXY_V1FORMAT },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n", PA_PROXY_V1FORMAT },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", PA_PROXY_V1FORMAT },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n", PA_PROXY_V1FORMAT },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX", PA_PROXY_V1FORMAT },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n\r\n", PA_PROXY_V1FORMAT },
		{ "PROXY TCP4 1.2.3.4\t1.2.3.4 1 2\r\n", PA_PROXY_V1FORMAT },
		{ "PROXY TCP4 1.2.3.4\t 1.2.3.4 1 2\r\n", PA_PROXY_V1ADDR },
		{ "PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n", PA_PROXY_V1ADDR },
		{ "PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n", PA_PROXY_V1ADDR },
		{ "PROXY TCP4 ::1 1.2.3.4 1 2\r\n", PA_PROXY_V1ADDR },
		{ "PROXY TCP6 1.2.3.4 ::1 1 2\r\n", PA_PROXY_V1ADDR },
		{ "PROXY TCP6 ::1 [::1] 1 2\r\n", PA_PROXY_V1ADDR },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", PA_PROXY_V1PORT },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 099999\r\n", PA_PROXY_V1PORT },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n", PA_PROXY_V1PORT },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 +1 2\r\n", PA_PROXY_V1PORT },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n", PA_PROXY_V1PORT },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 0x2\r\n", PA_PROXY_V1PORT },
	};
	struct pa_proxy p;
	char buf[300];
	size_t i;
	enum pa_proxy_err e;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		e = parse(t[i].h, &p);
		CHECK(e == t[i].e);
		if (e != t[i].e)
			fprintf(stderr, "\"%s\": %s, want %s\n", t[i].h,
			    pa_proxy_str(e), pa_proxy_str(t[i].e));
	}
	/* A NUL inside the line. */
	memcpy(buf, "PROXY UNKNOWN a\0b\r\n", 19);
	CHECK(pa_proxy_parse(buf, 19, &p) == PA_PROXY_V1FORMAT);

	/* No CRLF within 107 bytes, whatever follows. */
	memset(buf, 0, sizeof(buf));
	strlcpy(buf, "PROXY UNKNOWN ", sizeof(buf));
	memset(buf + 14, 'x', 200);
	CHECK(pa_proxy_parse(buf, 106, &p) == PA_PROXY_SHORT);
	CHECK(pa_proxy_parse(buf, 107, &p) == PA_PROXY_V1LONG);
	CHECK(pa_proxy_parse(buf, 250, &p) == PA_PROXY_V1LONG);
	/* 108 bytes with the CRLF: one too many. */
	memcpy(buf + 106, "\r\n", 2);
	CHECK(pa_proxy_parse(buf, 108, &p) == PA_PROXY_V1LONG);
	/* The CR as the 107th byte: the LF would be the 108th. */
	CHECK(pa_proxy_parse(buf, 107, &p) == PA_PROXY_SHORT);

	/* Names of every error, none empty. */
	for (e = PA_PROXY_OK; e <= PA_PROXY_ERRNO; e++)
		CHECK(pa_proxy_str(e)[0] != '\0');
}

/* Build a v2 header: ver_cmd, fam, address block of alen bytes. */
static size_t
v2(uint8_t *buf, uint8_t vc, uint8_t fam, const void *addr, size_t alen)
{
	memcpy(buf, sig, 12);
	buf[12] = vc;
	buf[13] = fam;
	buf[14] = (uint8_t)(alen >> 8);
	buf[15] = (uint8_t)alen;
	if (alen > 0)
		memcpy(buf + 16, addr, alen);
	return 16 + alen;
}

static void
test_v2(void)
{
	uint8_t buf[700], a[600];
	struct pa_proxy p;
	struct sockaddr_un *su;
	size_t n;

	/* TCP over IPv4: 192.0.2.1:56324 -> 198.51.100.2:443. */
	memcpy(a, "\xc0\x00\x02\x01\xc6\x33\x64\x02\xdc\x04\x01\xbb", 12);
	n = v2(buf, 0x21, 0x11, a, 12);
	memcpy(buf + n, "payload", 7);
	CHECK(pa_proxy_parse(buf, n + 7, &p) == PA_PROXY_OK);
	CHECK(p.version == 2 && !p.local && p.family == AF_INET);
	CHECK(p.transport == SOCK_STREAM && p.len == 28 && p.ntlv == 0);
	CHECK(eq(text(&p.src), "192.0.2.1:56324"));
	CHECK(eq(text(&p.dst), "198.51.100.2:443"));
	prefixes(buf, n);
	/* The hint: 16 bytes first, then the announced length. */
	CHECK(pa_proxy_parse(buf, 5, &p) == PA_PROXY_SHORT && p.len == 16);
	CHECK(pa_proxy_parse(buf, 16, &p) == PA_PROXY_SHORT && p.len == 28);

	/* UDP over IPv4 is parsed (and reported as datagram). */
	n = v2(buf, 0x21, 0x12, a, 12);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_OK);
	CHECK(p.transport == SOCK_DGRAM);

	/* TCP over IPv6: 2001:db8::1 port 1 -> ::1 port 2. */
	memset(a, 0, 36);
	a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8; a[15] = 1;
	a[31] = 1;
	a[33] = 1;
	a[35] = 2;
	n = v2(buf, 0x21, 0x21, a, 36);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_OK);
	CHECK(p.family == AF_INET6 && p.len == 52);
	CHECK(eq(text(&p.src), "[2001:db8::1]:1"));
	CHECK(eq(text(&p.dst), "[::1]:2"));
	prefixes(buf, n);

	/* Unix stream: two 108-byte paths. */
	memset(a, 0, 216);
	memcpy(a, "/run/client", 11);
	memcpy(a + 108, "/run/server", 11);
	n = v2(buf, 0x21, 0x31, a, 216);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_OK);
	CHECK(p.family == AF_UNIX && p.len == 232);
	su = (struct sockaddr_un *)&p.src;
	CHECK(eq(su->sun_path, "/run/client"));
	su = (struct sockaddr_un *)&p.dst;
	CHECK(eq(su->sun_path, "/run/server"));
	/* A path using all 108 bytes stays terminated. */
	memset(a, 'p', 216);
	n = v2(buf, 0x21, 0x31, a, 216);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_OK);
	su = (struct sockaddr_un *)&p.src;
	CHECK(strlen(su->sun_path) == sizeof(su->sun_path) - 1);

	/* LOCAL: whatever follows is ignored, even an unknown family. */
	n = v2(buf, 0x20, 0x00, a, 0);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_OK);
	CHECK(p.local && p.len == 16);
	n = v2(buf, 0x20, 0x11, a, 12);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_OK);
	CHECK(p.local && p.len == 28);
	n = v2(buf, 0x20, 0xff, a, 5);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_OK);
	CHECK(p.local && p.len == 21);
	/* PROXY with UNSPEC family or transport: the connection's own. */
	n = v2(buf, 0x21, 0x00, a, 0);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_OK && p.local);
	n = v2(buf, 0x21, 0x10, a, 12);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_OK && p.local);

	/* TLVs after the addresses: skipped, counted, ends checked. */
	memcpy(a, "\xc0\x00\x02\x01\xc6\x33\x64\x02\xdc\x04\x01\xbb", 12);
	memcpy(a + 12, "\x01\x00\x02h2" "\x04\x00\x00" "\xe0\x00\x03xyz", 14);
	n = v2(buf, 0x21, 0x11, a, 26);
	memcpy(buf + n, "GET", 3);
	CHECK(pa_proxy_parse(buf, n + 3, &p) == PA_PROXY_OK);
	CHECK(p.len == 42 && p.ntlv == 3 && p.tlv == 28);
	CHECK(eq(text(&p.src), "192.0.2.1:56324"));
	prefixes(buf, n);
	/* The last TLV's value one byte short. */
	n = v2(buf, 0x21, 0x11, a, 25);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_V2TLV);
	/* Two bytes of a TLV header. */
	n = v2(buf, 0x21, 0x11, a, 14);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_V2TLV);
	/* A TLV longer than the header. */
	memcpy(a + 12, "\x02\xff\xff", 3);
	n = v2(buf, 0x21, 0x11, a, 15);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_V2TLV);

	/* Malformed fixed part. */
	n = v2(buf, 0x11, 0x11, a, 12);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_V2VERSION);
	n = v2(buf, 0x31, 0x11, a, 12);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_V2VERSION);
	n = v2(buf, 0x22, 0x11, a, 12);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_V2COMMAND);
	n = v2(buf, 0x2f, 0x11, a, 12);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_V2COMMAND);
	n = v2(buf, 0x21, 0x41, a, 12);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_V2FAMILY);
	n = v2(buf, 0x21, 0x13, a, 12);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_V2FAMILY);
	/* Address blocks too short for their family. */
	n = v2(buf, 0x21, 0x11, a, 11);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_V2SHORT);
	n = v2(buf, 0x21, 0x21, a, 12);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_V2SHORT);
	n = v2(buf, 0x21, 0x31, a, 215);
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_V2SHORT);
	/* A broken signature is no header at all. */
	n = v2(buf, 0x21, 0x11, a, 12);
	buf[11] = 'X';
	CHECK(pa_proxy_parse(buf, n, &p) == PA_PROXY_NOTPROXY);
	buf[0] = 'X';
	CHECK(pa_proxy_parse(buf, 1, &p) == PA_PROXY_NOTPROXY);
	CHECK(pa_proxy_parse(buf, 0, &p) == PA_PROXY_SHORT);
}

/* Write the n bytes of s to fd in pieces of step bytes, pausing between. */
static pid_t
writer(int fd, const void *s, size_t n, size_t step, int pause_ms, int eof)
{
	pid_t pid;
	size_t off, k;

	if ((pid = fork()) != 0)
		return pid;
	for (off = 0; off < n; off += k) {
		k = n - off < step ? n - off : step;
		if (write(fd, (const char *)s + off, k) != (ssize_t)k)
			_exit(1);
		usleep((useconds_t)pause_ms * 1000);
	}
	if (eof)
		shutdown(fd, SHUT_WR);
	_exit(0);
}

static void
test_read(void)
{
	static uint8_t big[PA_PROXY_MAX];
	uint8_t buf[600], h[400];
	struct pa_proxy p;
	char rest[64];
	const char *s;
	ssize_t r;
	size_t n;
	pid_t pid;
	int sv[2], st;

	/* v1 in pieces, then the payload: exactly the header consumed. */
	s = "PROXY TCP4 10.1.2.3 10.3.2.1 1111 2222\r\nhello";
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid = writer(sv[1], s, strlen(s), 7, 5, 1);
	CHECK(pa_proxy_read(sv[0], 5000, buf, sizeof(buf), &p) ==
	    PA_PROXY_OK);
	CHECK(p.len == strlen(s) - 5);
	CHECK(eq(text(&p.src), "10.1.2.3:1111"));
	waitpid(pid, &st, 0);
	r = read(sv[0], rest, sizeof(rest) - 1);
	CHECK(r == 5);
	rest[r < 0 ? 0 : r] = '\0';
	CHECK(eq(rest, "hello"));
	close(sv[0]);
	close(sv[1]);

	/* v2 with a TLV, byte by byte, then the payload. */
	memcpy(h, "\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x50\x00\x51"
	    "\x04\x00\x01z", 16);
	n = v2(buf, 0x21, 0x11, h, 16);
	memcpy(buf + n, "GET /", 5);
	memcpy(h, buf, n + 5);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid = writer(sv[1], h, n + 5, 1, 1, 1);
	CHECK(pa_proxy_read(sv[0], 5000, buf, sizeof(buf), &p) ==
	    PA_PROXY_OK);
	CHECK(p.len == n && p.ntlv == 1);
	CHECK(eq(text(&p.dst), "10.0.0.2:81"));
	waitpid(pid, &st, 0);
	r = read(sv[0], rest, sizeof(rest) - 1);
	CHECK(r == 5);
	rest[r < 0 ? 0 : r] = '\0';
	CHECK(eq(rest, "GET /"));
	close(sv[0]);
	close(sv[1]);

	/* v1 header and payload in one write: only the header is taken. */
	s = "PROXY UNKNOWN\r\nPROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\n";
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(write(sv[1], s, strlen(s)) == (ssize_t)strlen(s));
	CHECK(pa_proxy_read(sv[0], 5000, buf, sizeof(buf), &p) ==
	    PA_PROXY_OK);
	CHECK(p.local && p.len == 15);
	r = read(sv[0], rest, sizeof(rest) - 1);
	CHECK(r == (ssize_t)strlen(s) - 15);

	/* A partial header and silence: the time limit. */
	CHECK(write(sv[1], "PROXY TCP4 1.", 13) == 13);
	CHECK(pa_proxy_read(sv[0], 100, buf, sizeof(buf), &p) ==
	    PA_PROXY_TIMEOUT);
	/* Nothing at all: the time limit too. */
	close(sv[0]);
	close(sv[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(pa_proxy_read(sv[0], 50, buf, sizeof(buf), &p) ==
	    PA_PROXY_TIMEOUT);
	/* A partial header, then EOF. */
	CHECK(write(sv[1], "PROXY TCP4 1.", 13) == 13);
	shutdown(sv[1], SHUT_WR);
	CHECK(pa_proxy_read(sv[0], 5000, buf, sizeof(buf), &p) ==
	    PA_PROXY_CLOSED);
	close(sv[0]);
	close(sv[1]);

	/* Malformed: reported as soon as it shows, nothing else taken. */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(write(sv[1], "GET / HTTP/1.0\r\n", 16) == 16);
	CHECK(pa_proxy_read(sv[0], 5000, buf, sizeof(buf), &p) ==
	    PA_PROXY_NOTPROXY);
	close(sv[0]);
	close(sv[1]);

	/* The longest v2 header: 65535 bytes of TLVs. */
	memset(big, 0, sizeof(big));
	memcpy(big, sig, 12);
	big[12] = 0x21;
	big[13] = 0x11;
	big[14] = big[15] = 0xff;
	big[16 + 12] = 0xee;
	big[16 + 13] = (uint8_t)((65535 - 15) >> 8);
	big[16 + 14] = (uint8_t)(65535 - 15);
	CHECK(pa_proxy_parse(big, sizeof(big), &p) == PA_PROXY_OK);
	CHECK(p.len == sizeof(big) && p.ntlv == 1);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid = writer(sv[1], big, sizeof(big), 4096, 0, 0);
	/* Too long for a small buffer. */
	CHECK(pa_proxy_read(sv[0], 5000, buf, sizeof(buf), &p) ==
	    PA_PROXY_V2TLV);
	waitpid(pid, &st, 0);
	close(sv[0]);
	close(sv[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid = writer(sv[1], big, sizeof(big), 4096, 0, 0);
	{
		static uint8_t rbuf[PA_PROXY_MAX];

		CHECK(pa_proxy_read(sv[0], 5000, rbuf, sizeof(rbuf), &p) ==
		    PA_PROXY_OK);
		CHECK(p.len == sizeof(big));
	}
	waitpid(pid, &st, 0);
	close(sv[0]);
	close(sv[1]);
}

static const char *
get(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* Over a real TCP connection: header values in, LOCAL restores. */
static void
test_ucspi(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct pa_ucspi u;
	struct pa_proxy p;
	char *env[] = { NULL };
	char port[16];
	int lfd, c, a;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(lfd >= 0);
	CHECK(bind(lfd, (struct sockaddr *)&sin, len) == 0);
	CHECK(listen(lfd, 4) == 0);
	CHECK(getsockname(lfd, (struct sockaddr *)&sin, &len) == 0);
	snprintf(port, sizeof(port), "%u", ntohs(sin.sin_port));
	CHECK(pa_ucspi_init(&u, lfd, env, NULL) == 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(connect(c, (struct sockaddr *)&sin, len) == 0);
	CHECK((a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0);
	len = sizeof(sin);
	CHECK(getpeername(a, (struct sockaddr *)&sin, &len) == 0);
	CHECK(pa_ucspi_set(&u, a, (struct sockaddr *)&sin, len) == 0);

	CHECK(parse("PROXY TCP6 2001:db8::7 2001:db8::8 40000 80\r\n", &p) ==
	    PA_PROXY_OK);
	CHECK(pa_proxy_ucspi(&u, a, &p) == 0);
	CHECK(eq(get(u.envp, "TCPREMOTEIP"), "2001:db8::7"));
	CHECK(eq(get(u.envp, "TCPREMOTEPORT"), "40000"));
	CHECK(eq(get(u.envp, "TCPLOCALIP"), "2001:db8::8"));
	CHECK(eq(get(u.envp, "TCPLOCALPORT"), "80"));
	CHECK(eq(u.peer, "[2001:db8::7]:40000"));

	/* v4-mapped in the header shows as IPv4, as pa shows its own. */
	CHECK(parse("PROXY TCP6 ::ffff:192.0.2.9 ::1 5 6\r\n", &p) ==
	    PA_PROXY_OK);
	CHECK(pa_proxy_ucspi(&u, a, &p) == 0);
	CHECK(eq(get(u.envp, "TCPREMOTEIP"), "192.0.2.9"));
	CHECK(eq(u.peer, "192.0.2.9:5"));

	/* LOCAL: the connection's own local side comes back. */
	CHECK(pa_ucspi_set(&u, a, (struct sockaddr *)&sin, len) == 0);
	CHECK(parse("PROXY UNKNOWN\r\n", &p) == PA_PROXY_OK);
	CHECK(pa_proxy_ucspi(&u, a, &p) == 0);
	CHECK(eq(get(u.envp, "TCPLOCALIP"), "127.0.0.1"));
	CHECK(eq(get(u.envp, "TCPLOCALPORT"), port));
	CHECK(eq(get(u.envp, "TCPREMOTEIP"), "127.0.0.1"));
	pa_ucspi_free(&u);
	close(a);
	close(c);
	close(lfd);
}

static void
test_nets(void)
{
	struct pa_proxy_net n[4];
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;

	CHECK(pa_proxy_net_parse("10.0.0.0/8", &n[0]) == 0);
	CHECK(n[0].family == AF_INET && n[0].bits == 8);
	CHECK(pa_proxy_net_parse("192.0.2.7", &n[1]) == 0 && n[1].bits == 32);
	CHECK(pa_proxy_net_parse("[fd00::]/8", &n[2]) == 0);
	CHECK(n[2].family == AF_INET6 && n[2].bits == 8);
	CHECK(pa_proxy_net_parse("::1", &n[3]) == 0 && n[3].bits == 128);
	CHECK(pa_proxy_net_parse("10.0.0.0/33", &n[0]) == -1);
	CHECK(pa_proxy_net_parse("10.0.0.0/", &n[0]) == -1);
	CHECK(pa_proxy_net_parse("10.0.0/8", &n[0]) == -1);
	CHECK(pa_proxy_net_parse("::/129", &n[0]) == -1);
	CHECK(pa_proxy_net_parse("host.example", &n[0]) == -1);
	CHECK(pa_proxy_net_parse("", &n[0]) == -1);
	CHECK(pa_proxy_net_parse("10.200.0.0/23", &n[0]) == 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "10.200.1.255", &sin.sin_addr);
	CHECK(pa_proxy_net_match(n, 4, (struct sockaddr *)&sin) == 1);
	inet_pton(AF_INET, "10.200.2.0", &sin.sin_addr);
	CHECK(pa_proxy_net_match(n, 4, (struct sockaddr *)&sin) == 0);
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	CHECK(pa_proxy_net_match(n, 4, (struct sockaddr *)&sin) == 1);
	inet_pton(AF_INET, "192.0.2.8", &sin.sin_addr);
	CHECK(pa_proxy_net_match(n, 4, (struct sockaddr *)&sin) == 0);
	CHECK(pa_proxy_net_match(n, 0, (struct sockaddr *)&sin) == 0);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "fdff::1", &sin6.sin6_addr);
	CHECK(pa_proxy_net_match(n, 4, (struct sockaddr *)&sin6) == 1);
	inet_pton(AF_INET6, "fe00::1", &sin6.sin6_addr);
	CHECK(pa_proxy_net_match(n, 4, (struct sockaddr *)&sin6) == 0);
	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	CHECK(pa_proxy_net_match(n, 4, (struct sockaddr *)&sin6) == 1);
	/* A v4-mapped peer (dual-stack listener) matches IPv4 networks. */
	inet_pton(AF_INET6, "::ffff:10.200.0.1", &sin6.sin6_addr);
	CHECK(pa_proxy_net_match(n, 4, (struct sockaddr *)&sin6) == 1);
	inet_pton(AF_INET6, "::ffff:10.201.0.1", &sin6.sin6_addr);
	CHECK(pa_proxy_net_match(n, 4, (struct sockaddr *)&sin6) == 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	CHECK(pa_proxy_net_match(n, 4, (struct sockaddr *)&sun) == 0);
}

int
main(void)
{
	test_v1_valid();
	test_v1_bad();
	test_v2();
	test_read();
	test_ucspi();
	test_nets();
	T_DONE();
}
