/*
 * scale.c: automatic scaling, on while S.max > 0 (-M, or pa-ctl bounds).
 *
 * Once a second, count the idle handler threads and keep them between
 * the spare marks (-s LO:HI), as Apache prefork's MinSpareServers and
 * MaxSpareServers and php-fpm's dynamic mode do:
 *   - fewer than LO idle: start handlers, 1 the first second, then twice
 *     as many each second the shortage lasts (at most SCALE_RATE_MAX a
 *     second), never above MAX; wanting more at MAX is counted in
 *     S.maxed_count and logged at most once every SCALE_LOG_NS;
 *   - more than HI idle: retire one handler a second, never below MIN,
 *     and only if LO idle threads remain without it;
 *   - with an idle timeout (-i), a handler whose threads have all been
 *     idle that long is retired too, on the same conditions.
 * pool_set_target() picks which handler goes: an idle one, the longest
 * idle first.  Handlers still starting count as idle, so a shortage is
 * not answered twice.
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "spawn.h"

#define SCALE_PERIOD_NS	1000000000ull		/* one decision a second */
#define SCALE_RATE_MAX	32			/* handlers started a second */
#define SCALE_LOG_NS	(10 * 1000000000ull)	/* "MAX reached" at most */
#define SPARE_LO	1			/* marks when -s is not given */
#define SPARE_HI	4

static uint64_t	 last_ns;
static unsigned	 rate = 1;

void
scale_marks(unsigned *lo, unsigned *hi)
{
	*lo = S.spare_lo;
	*hi = S.spare_hi;
	if (*lo == 0 && *hi == 0) {
		*lo = SPARE_LO;
		*hi = SPARE_HI;
	}
	if (*hi < *lo)
		*hi = *lo;
}

struct census {
	unsigned	 idle;		/* idle threads of live handlers */
	unsigned	 threads;	/* threads of ready handlers */
	unsigned	 ready;		/* handlers waiting or serving */
	unsigned	 starting;	/* handlers not yet ready */
	unsigned	 per;		/* threads per handler, about */
	uint64_t	 idlest_ns;	/* since when the longest-idle handler is */
};

/* Where each thread is, from the region (copied out, checked). */
static void
census(struct census *k)
{
	static uint64_t *since;		/* per proc: last time a thread left idle */
	static unsigned char *busy;	/* per proc: a thread not idle */
	static unsigned nalloc;
	struct pa_ctl_slot s;
	uint32_t i, n = pa_ctl_nslots(&S.r);
	unsigned p;

	memset(k, 0, sizeof(*k));
	if (nalloc < S.nprocs) {
		free(since);
		free(busy);
		since = calloc(S.nprocs, sizeof(*since));
		busy = calloc(S.nprocs, sizeof(*busy));
		if (since == NULL || busy == NULL) {
			free(since);
			free(busy);
			since = NULL;
			busy = NULL;
			nalloc = 0;
			return;
		}
		nalloc = S.nprocs;
	}
	for (p = 0; p < S.nprocs; p++) {
		since[p] = 0;
		busy[p] = 0;
		if (S.procs[p].p_state == P_READY)
			k->ready++;
		else if (S.procs[p].p_state == P_STARTING)
			k->starting++;
	}
	for (i = 0; i < n; i++) {
		if (pa_ctl_slot_copy(&S.r, i, &s) == -1 ||
		    s.state == PA_SLOT_EMPTY || s.proc >= S.nprocs ||
		    S.procs[s.proc].p_state != P_READY)
			continue;
		k->threads++;
		if (s.state != PA_SLOT_IDLE) {
			busy[s.proc] = 1;
			continue;
		}
		k->idle++;
		if (s.since_ns > since[s.proc])
			since[s.proc] = s.since_ns;
	}
	k->per = k->ready > 0 && k->threads >= k->ready ?
	    k->threads / k->ready : 1;
	for (p = 0; p < S.nprocs; p++)
		if (S.procs[p].p_state == P_READY && !busy[p] &&
		    since[p] != 0 && (k->idlest_ns == 0 ||
		    since[p] < k->idlest_ns))
			k->idlest_ns = since[p];
}

static void
retarget(unsigned n, const char *why)
{
	char msg[256];
	unsigned old = S.target;

	msg[0] = '\0';
	if (pool_set_target(n, msg, sizeof(msg)) == -1) {
		if (S.vflag >= 1)
			warnx("autoscale: target %u: %s", n, msg);
		return;
	}
	if (S.vflag >= 2)
		warnx("autoscale: %s: target %u -> %u%s%s", why, old, n,
		    msg[0] != '\0' ? ": " : "", msg);
}

void
scale_tick(uint64_t now)
{
	struct census k;
	unsigned lo, hi, want, step, eff;

	if (S.max == 0 || S.draining || S.r.hdr == NULL) {
		rate = 1;
		return;
	}
	if (now - last_ns < SCALE_PERIOD_NS)
		return;
	last_ns = now;

	/* The bounds may have moved (pa-ctl bounds, or -n outside them). */
	want = S.target < S.min ? S.min : S.target > S.max ? S.max : S.target;
	if (want != S.target) {
		retarget(want, "bounds");
		return;
	}

	scale_marks(&lo, &hi);
	census(&k);
	eff = k.idle + k.starting * k.per;
	if (eff < lo) {
		if (S.target >= S.max) {
			S.maxed_count++;
			if (S.vflag >= 1 && (S.maxed_logged_ns == 0 ||
			    now - S.maxed_logged_ns >= SCALE_LOG_NS)) {
				S.maxed_logged_ns = now;
				warnx("autoscale: %u handlers reached (-M), %u "
				    "idle: consider raising it", S.max, k.idle);
			}
			return;
		}
		step = S.max - S.target < rate ? S.max - S.target : rate;
		retarget(S.target + step, "few idle");
		rate = rate * 2 > SCALE_RATE_MAX ? SCALE_RATE_MAX : rate * 2;
		return;
	}
	rate = 1;
	if (S.target <= S.min || S.target <= 1 || k.starting > 0 ||
	    k.idle < lo + k.per)
		return;
	if (k.idle > hi)
		retarget(S.target - 1, "many idle");
	else if (S.idle_timeout > 0 && k.idlest_ns != 0 && now > k.idlest_ns &&
	    now - k.idlest_ns >= (uint64_t)S.idle_timeout * 1000000000ull)
		retarget(S.target - 1, "idle timeout");
}
