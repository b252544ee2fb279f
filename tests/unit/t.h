/*
 * t.h: a tiny test harness for the lib/ unit tests.  CHECK() records a
 * failure with its line and goes on; T_DONE() prints the count and sets
 * the exit status.
 */
#ifndef T_H
#define T_H

#include <stdio.h>

static int t_fail, t_run;

#define CHECK(c) do {							\
	t_run++;							\
	if (!(c)) {							\
		t_fail++;						\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #c);				\
	}								\
} while (0)

#define T_DONE() do {							\
	printf("%d checks, %d failed\n", t_run, t_fail);		\
	return t_fail != 0;						\
} while (0)

#endif
