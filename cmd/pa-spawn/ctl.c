/*
 * ctl.c: the control socket of pa-spawn.
 */
#include <errno.h>

#include "spawn.h"

int
ctl_open(const char *path)
{
	(void)path;
	return 0;
}

void
ctl_close(void)
{
}

const char *
ctl_default_path(void)
{
	return "/run/pa-spawn.ctl";
}

void
ctl_fold_proc(uint32_t i)
{
	(void)i;
}
