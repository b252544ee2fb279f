/*
 * The head of an HTTP/1.x request, as a scraper sends it to pa-ctl -H:
 * the request line (method, origin-form target, version), then header
 * lines up to the empty line.  Only the request line is looked into; the
 * headers are only found the end of.  Everything is bounded by the
 * caller's buffer: a head that does not end within it is the caller's to
 * refuse.
 */
#include <string.h>

#include "pa.h"

static const char *const errs[] = {
	[PA_HTTP_OK] = "ok",
	[PA_HTTP_EMORE] = "request head incomplete",
	[PA_HTTP_EBAD] = "malformed request line",
	[PA_HTTP_EVERSION] = "not HTTP/1.0 or HTTP/1.1",
	[PA_HTTP_EBINARY] = "control bytes in the request head"
};

const char *
pa_http_str(enum pa_http_err e)
{
	if ((unsigned)e >= sizeof(errs) / sizeof(errs[0]))
		return "unknown error";
	return errs[e];
}

/* The end of the head (just past its empty line), or 0 if not there yet. */
static size_t
head_end(const char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (b[i] != '\n')
			continue;
		if (i + 1 < len && b[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && b[i + 1] == '\r' && b[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

enum pa_http_err
pa_http_parse(const char *b, size_t len, struct pa_http_req *r)
{
	const char *sp1, *sp2, *eol, *q;
	size_t end, i, ll;

	memset(r, 0, sizeof(*r));
	/* Bytes a request head never holds: refused as soon as seen. */
	for (i = 0; i < len; i++)
		if ((unsigned char)b[i] < 0x20 && b[i] != '\r' &&
		    b[i] != '\n' && b[i] != '\t')
			return PA_HTTP_EBINARY;
	if ((eol = memchr(b, '\n', len)) == NULL)
		return PA_HTTP_EMORE;
	ll = (size_t)(eol - b);
	if (ll > 0 && b[ll - 1] == '\r')
		ll--;
	if ((sp1 = memchr(b, ' ', ll)) == NULL || sp1 == b)
		return PA_HTTP_EBAD;
	for (q = b; q < sp1; q++)
		if (*q < 'A' || *q > 'Z')
			return PA_HTTP_EBAD;
	if ((sp2 = memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - b))) == NULL ||
	    sp2 == sp1 + 1 || sp1[1] != '/')
		return PA_HTTP_EBAD;
	for (q = sp1 + 1; q < sp2; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return PA_HTTP_EBAD;
	if ((size_t)(b + ll - (sp2 + 1)) != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.0", 8) != 0 &&
	    memcmp(sp2 + 1, "HTTP/1.1", 8) != 0)) {
		if ((size_t)(b + ll - (sp2 + 1)) >= 5 &&
		    memcmp(sp2 + 1, "HTTP/", 5) == 0 &&
		    memchr(sp2 + 1, ' ', (size_t)(b + ll - (sp2 + 1))) == NULL)
			return PA_HTTP_EVERSION;
		return PA_HTTP_EBAD;
	}
	/* A blank line right after the request line ends the head too. */
	if ((end = head_end(eol, len - (size_t)(eol - b))) == 0)
		return PA_HTTP_EMORE;
	if ((size_t)(sp1 - b) == 3 && memcmp(b, "GET", 3) == 0)
		r->method = PA_HTTP_GET;
	else if ((size_t)(sp1 - b) == 4 && memcmp(b, "HEAD", 4) == 0)
		r->method = PA_HTTP_HEAD;
	else
		r->method = PA_HTTP_OTHER;
	r->path = sp1 + 1;
	for (q = r->path; q < sp2 && *q != '?'; q++)
		;
	r->pathlen = (size_t)(q - r->path);
	r->headlen = (size_t)(eol - b) + end;
	return PA_HTTP_OK;
}
