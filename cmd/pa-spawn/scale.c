/*
 * scale.c: automatic scaling between -m MIN and -M MAX.
 */
#include "spawn.h"

void
scale_tick(uint64_t now_ns)
{
	(void)now_ns;
}

void
scale_marks(unsigned *lo, unsigned *hi)
{
	*lo = S.spare_lo;
	*hi = S.spare_hi;
}
