/*
 * Fuzz the control protocol's request parser, pa_ctl_parse(), as
 * pa-spawn runs it on whatever a client sends (any bytes, any length),
 * and the lookup of figure names that pa-ctl does on a reply's keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pa.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pa_ctl_req req;
	enum pa_ctl_err e;
	int k;

	e = pa_ctl_parse((const char *)data, size, &req);
	if (pa_ctl_str(e) == NULL)
		abort();
	if (e == PA_CTL_OK) {
		if (size >= PA_CTL_LINE_MAX || req.nargs < 0 ||
		    req.nargs > 2 || req.cmd > PA_CTL_HELP ||
		    strcmp(pa_ctl_cmd_name(req.cmd), "invalid") == 0)
			abort();
		for (k = 0; k < 2; k++)
			if (req.args[k] > PA_CTL_NUM_MAX)
				abort();
		if ((req.cmd == PA_CTL_UP || req.cmd == PA_CTL_DOWN) &&
		    req.args[0] < 1)
			abort();
		/* Nothing but printable ASCII and tabs made it through. */
		for (k = 0; (size_t)k < size; k++)
			if ((data[k] < 0x20 || data[k] > 0x7e) &&
			    data[k] != '\t' &&
			    !(data[k] == '\r' && (size_t)k == size - 1))
				abort();
	}
	(void)pa_ctl_key_find((const char *)data, size);
	return 0;
}
