/*
 * Unit tests of lib/pa_http.c: the head of a scraper's request, whole,
 * cut at every byte, with LF or CRLF, query strings, other methods,
 * versions and malformed or binary request lines.
 */
#include <string.h>

#include "pa.h"
#include "t.h"

static enum pa_http_err
parse(const char *s, struct pa_http_req *r)
{
	return pa_http_parse(s, strlen(s), r);
}

static int
path_is(const struct pa_http_req *r, const char *p)
{
	return r->pathlen == strlen(p) && memcmp(r->path, p, r->pathlen) == 0;
}

int
main(void)
{
	static const char prom[] = "GET /metrics HTTP/1.1\r\n"
	    "Host: 127.0.0.1:9101\r\nUser-Agent: Prometheus/2.42.0\r\n"
	    "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1\r\n"
	    "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";
	static const struct {
		const char *head;
		enum pa_http_err e;
	} bad[] = {
		{ "GET /metrics\r\n\r\n", PA_HTTP_EBAD },
		{ "GET  /metrics HTTP/1.1\r\n\r\n", PA_HTTP_EBAD },
		{ "get /metrics HTTP/1.1\r\n\r\n", PA_HTTP_EBAD },
		{ " /metrics HTTP/1.1\r\n\r\n", PA_HTTP_EBAD },
		{ "GET metrics HTTP/1.1\r\n\r\n", PA_HTTP_EBAD },
		{ "GET http://x/metrics HTTP/1.1\r\n\r\n", PA_HTTP_EBAD },
		{ "GET /met\x7frics HTTP/1.1\r\n\r\n", PA_HTTP_EBAD },
		{ "GET /metrics HTTP/1.1 x\r\n\r\n", PA_HTTP_EBAD },
		{ "GET /metrics HTTP/2.0\r\n\r\n", PA_HTTP_EVERSION },
		{ "GET /metrics HTTP/1.10\r\n\r\n", PA_HTTP_EVERSION },
		{ "GET /metrics FTP/1.1\r\n\r\n", PA_HTTP_EBAD },
		{ "GET /metrics HTTP/1.1\r\nA: \x01\r\n\r\n", PA_HTTP_EBINARY },
		{ "\x16\x03\x01\x02", PA_HTTP_EBINARY },
	};
	struct pa_http_req r;
	size_t i, n = strlen(prom);

	/* What Prometheus sends, and the same cut at every length. */
	CHECK(parse(prom, &r) == PA_HTTP_OK);
	CHECK(r.method == PA_HTTP_GET);
	CHECK(path_is(&r, "/metrics"));
	CHECK(r.headlen == n);
	for (i = 0; i < n; i++)
		CHECK(pa_http_parse(prom, i, &r) == PA_HTTP_EMORE ||
		    (i > 0 && pa_http_parse(prom, i, &r) == PA_HTTP_EBAD &&
		    memchr(prom, '\n', i) == NULL));
	for (i = 0; i < n; i++)
		if (pa_http_parse(prom, i, &r) != PA_HTTP_EMORE)
			break;
	CHECK(i == n);

	/* Bare LF, no headers, a query string, bytes after the head. */
	CHECK(parse("GET /metrics HTTP/1.0\n\n", &r) == PA_HTTP_OK);
	CHECK(r.headlen == 23 && path_is(&r, "/metrics"));
	CHECK(parse("GET /metrics?x=1&y HTTP/1.0\r\n\r\nmore", &r) ==
	    PA_HTTP_OK);
	CHECK(path_is(&r, "/metrics") && r.headlen == 31);
	CHECK(parse("GET / HTTP/1.1\r\nHost: a\n\r\n", &r) == PA_HTTP_OK);
	CHECK(path_is(&r, "/"));
	CHECK(parse("GET /metrics HTTP/1.1\r\nHost: a\r\n", &r) ==
	    PA_HTTP_EMORE);

	/* Methods other than GET and HEAD are parsed, and told apart. */
	CHECK(parse("HEAD /metrics HTTP/1.1\r\n\r\n", &r) == PA_HTTP_OK);
	CHECK(r.method == PA_HTTP_HEAD);
	CHECK(parse("POST /metrics HTTP/1.1\r\n\r\n", &r) == PA_HTTP_OK);
	CHECK(r.method == PA_HTTP_OTHER);
	CHECK(parse("GETX /metrics HTTP/1.1\r\n\r\n", &r) == PA_HTTP_OK);
	CHECK(r.method == PA_HTTP_OTHER);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum pa_http_err e = pa_http_parse(bad[i].head,
		    strlen(bad[i].head), &r);

		if (e != bad[i].e)
			fprintf(stderr, "bad[%zu]: %s\n", i, pa_http_str(e));
		CHECK(e == bad[i].e);
	}
	CHECK(strcmp(pa_http_str(PA_HTTP_EVERSION),
	    "not HTTP/1.0 or HTTP/1.1") == 0);
	CHECK(strcmp(pa_http_str((enum pa_http_err)99), "unknown error") == 0);
	T_DONE();
}
