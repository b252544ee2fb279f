/*
 * f-scribble: a hostile "handler" for tests/faults.bats.  Started by
 * pa-spawn in place of pa-handler, it maps the region on fd 4 and
 * scribbles over everything a handler can write: the header's table
 * sizes and counters, every process entry and every slot (states out of
 * range, foreign process indexes, unterminated peers, a peer sequence
 * stuck odd), then exits so that pa-spawn reaps it and reads the slots.
 * pa-spawn and pa-ctl must survive all of it.
 *
 *	f-scribble [seed]
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"

static uint64_t x = 88172645463325252ull;

static uint64_t
rnd(void)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

int
main(int argc, char *argv[])
{
	struct pa_region r;
	struct pa_region_hdr *h;
	uint32_t i, nprocs, nslots;

	if (argc > 1)
		x ^= strtoull(argv[1], NULL, 10);
	if (pa_region_map(&r, PA_REGION_FD) == -1)
		return 100;
	h = r.hdr;
	nprocs = h->nprocs;
	nslots = h->nslots;
	for (i = 0; i < nslots; i++) {
		struct pa_slot *s = &r.slots[i];

		s->state = (uint32_t)rnd() % 9;	/* 6, 7, 8 are no state */
		s->proc = (uint32_t)rnd() % 4 == 0 ? (uint32_t)rnd() :
		    (uint32_t)rnd() % (nprocs + 2);
		s->pid = (int32_t)rnd();
		s->tid = (int32_t)rnd();
		s->since_ns = rnd();
		s->accepted = UINT64_MAX - (rnd() & 0xff);
		s->futile = rnd();
		s->wakeups = rnd();
		memset(s->acc_err, 0xff, sizeof(s->acc_err));
		s->peer_seq = (uint32_t)rnd() | 1;
		memset(s->peer, 'A' + (int)(rnd() % 26), sizeof(s->peer));
		memset(s->pad, 0xee, sizeof(s->pad));
	}
	for (i = 0; i < nprocs; i++) {
		r.procs[i].ready = (uint32_t)rnd();
		r.procs[i].started_ns = rnd();
	}
	h->events = rnd();
	h->woken = UINT64_MAX;
	h->queue = rnd();
	h->queue_peak = rnd();
	h->idle = (uint32_t)rnd();
	h->waiting = (uint32_t)rnd();
	h->start_ns = rnd();
	/* Last, the sizes every reader might trust. */
	h->nslots = 0xffffffffu;
	h->nprocs = 0xffffffffu;
	h->slot_size = 1;
	h->proc_size = 0;
	return 3;
}
