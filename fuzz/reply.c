/*
 * Fuzz what pa-ctl does with a reply from the control socket: the
 * "key: value" split and the text, JSON, Prometheus, scoreboard (with
 * the trend rows, drawn and plain) and list views, from cmd/pa-ctl/main.c
 * itself (its main renamed).  A reply comes from a socket that another
 * program may hold, so it is hostile input.
 * The views write to /dev/null.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define main pa_ctl_main
#include "../cmd/pa-ctl/main.c"
#undef main

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct kv kv[KV_MAX];
	char *a, *b;
	size_t n;

	if (!quiet) {
		if (freopen("/dev/null", "w", stdout) == NULL)
			abort();
		quiet = 1;
	}
	if ((a = malloc(size + 1)) == NULL || (b = malloc(size + 1)) == NULL)
		abort();
	memcpy(a, data, size);
	a[size] = '\0';
	memcpy(b, a, size + 1);
	n = kv_split(a, kv, KV_MAX);
	if (n > KV_MAX)
		abort();
	show_json(kv, n);
	show_prom(kv, n);
	/* Both ways top is drawn: sparklines (UTF-8 or ASCII) and plain. */
	drawn = size % 2;
	utf8 = size % 3 == 0;
	show_top(kv, n);
	show_list_json(b);
	free(a);
	free(b);
	return 0;
}
