/*
 * Fuzz the head of a scraper's HTTP request (lib/pa_http.c): any bytes,
 * any length.  What it returns must lie inside the input: the path and
 * its length, the head's length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pa.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pa_http_req r;
	char *b;

	/* A copy of exactly size bytes: reading past it is caught. */
	if ((b = malloc(size == 0 ? 1 : size)) == NULL)
		abort();
	memcpy(b, data, size);
	if (pa_http_parse(b, size, &r) == PA_HTTP_OK) {
		if (r.headlen > size || r.path < b || r.path + r.pathlen > b + size ||
		    r.pathlen == 0 || r.path[0] != '/' ||
		    memchr(r.path, '?', r.pathlen) != NULL)
			abort();
	}
	free(b);
	return 0;
}
