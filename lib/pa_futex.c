/*
 * The futex calls on the notification word, and only here.  The region is MAP_SHARED between processes, so
 * only the shared futex operations work: the _PRIVATE ones would key the
 * wait on this process's mm and lose every cross-process wake-up.
 */
#include <sys/syscall.h>
#include <linux/futex.h>

#include <errno.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "pa.h"

int
pa_futex_wake(uint32_t *word, int n)
{
	long r;

	if (n <= 0)
		return 0;
	r = syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
	return r < 0 ? -1 : (int)r;
}

int
pa_futex_wait(uint32_t *word, uint32_t expect, int timeout_ms)
{
	struct timespec ts, *tsp = NULL;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tsp = &ts;
	}
	if (syscall(SYS_futex, word, FUTEX_WAIT, expect, tsp, NULL, 0) == -1)
		return -1;
	return 0;
}

int
pa_futex_wait_bitset(uint32_t *word, uint32_t expect,
    const struct timespec *deadline, uint32_t bit)
{
	if (syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expect, deadline,
	    NULL, bit) == -1)
		return -1;
	return 0;
}

int
pa_futex_wake_bitset(uint32_t *word, int n, uint32_t bit)
{
	long r;

	if (n <= 0)
		return 0;
	r = syscall(SYS_futex, word, FUTEX_WAKE_BITSET, n, NULL, NULL, bit);
	return r < 0 ? -1 : (int)r;
}
