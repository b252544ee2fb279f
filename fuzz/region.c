/*
 * Fuzz the readers of the shared region.  Any handler can write any byte
 * of it, so pa-spawn and pa-ctl must survive every header and slot:
 *
 *   - pa_region_check() and pa_region_map() on a memfd holding the raw
 *     bytes (what a handler does at start);
 *   - on a region of the real layout whose bytes are XORed with the
 *     input (a valid region for an input of zeros): the figures
 *     (pa_ctl_stat_region, pa_ctl_stat_format), every slot copied out
 *     (pa_ctl_slot_copy, pa_slot_get_peer, the scoreboard characters),
 *     the release of a reaped handler's slots (pa_slot_release_proc, in
 *     pa-spawn's reap path) and a slot claim (pa_slot_claim).
 *
 * Input: byte 0 the process entries (1-8), byte 1 the slots (1-16),
 * byte 2 how much shorter than its layout the mapping claims to be (in
 * 64-byte steps), byte 3 the entry released; the rest XORed over the
 * region from its start.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t
round64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

static void
from_fd(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct pa_region r;

	if (fd == -1 && (fd = memfd_create("fuzz-region", MFD_CLOEXEC)) == -1)
		abort();
	if (ftruncate(fd, 0) == -1 || (size > 0 &&
	    pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	if (size >= sizeof(struct pa_region_hdr))
		(void)pa_region_check((const struct pa_region_hdr *)
		    (const void *)data, size);
	memset(&r, 0, sizeof(r));
	if (pa_region_map(&r, fd) == 0) {
		/* What a handler does next: claim, set, read back. */
		if (pa_slot_claim(&r, 0, 1, 1) >= 0)
			(void)pa_ctl_nslots(&r);
		pa_region_unmap(&r);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pa_region r;
	struct pa_region_hdr *h;
	struct pa_ctl_stat st;
	struct pa_ctl_slot s;
	uint32_t nprocs, nslots, i, n;
	size_t len, shrink, k;
	unsigned char *base;
	char out[8192], peer[PA_PEER_MAX];

	if (size > 65536)
		return 0;
	from_fd(data, size);
	if (size < 4)
		return 0;
	nprocs = 1 + data[0] % 8;
	nslots = 1 + data[1] % 16;
	len = pa_region_size(nprocs, nslots);
	if ((base = aligned_alloc(4096, len)) == NULL)
		abort();
	memset(base, 0, len);
	h = (struct pa_region_hdr *)(void *)base;
	h->magic = PA_REGION_MAGIC;
	h->version = PA_REGION_VERSION;
	h->nprocs = nprocs;
	h->nslots = nslots;
	h->slot_size = sizeof(struct pa_slot);
	h->proc_size = sizeof(struct pa_proc);
	for (k = 4; k < size && k - 4 < len; k++)
		base[k - 4] ^= data[k];

	/* The layout pa-spawn created: its pointers are its own. */
	r.hdr = h;
	r.procs = (struct pa_proc *)(void *)(base + round64(sizeof(*h)));
	r.slots = (struct pa_slot *)(void *)(base + round64(sizeof(*h)) +
	    round64(nprocs * sizeof(struct pa_proc)));
	shrink = (size_t)data[2] * 64;
	r.size = shrink < len ? len - shrink : 0;
	r.fd = -1;

	(void)pa_region_check(h, r.size);
	memset(&st, 0, sizeof(st));
	if (pa_ctl_stat_region(&r, &st) == 0 &&
	    pa_ctl_stat_format(&st, out, sizeof(out)) < 0)
		abort();
	n = pa_ctl_nslots(&r);
	if ((size_t)n * sizeof(struct pa_slot) > r.size)
		abort();
	for (i = 0; i < n; i++) {
		if (pa_ctl_slot_copy(&r, i, &s) == -1)
			abort();
		if (memchr(s.peer, '\0', sizeof(s.peer)) == NULL)
			abort();
		(void)pa_slot_state_str(s.state);
		(void)pa_slot_char(PA_LOAD(&r.slots[i].state));
		(void)pa_slot_get_peer(&r.slots[i], peer, sizeof(peer));
	}
	if (pa_ctl_slot_copy(&r, n, &s) == 0)
		abort();
	(void)pa_ctl_nprocs(&r);
	/* pa-spawn reaps a handler, then one starts and claims a slot. */
	pa_slot_release_proc(&r, data[3] % (nprocs + 1));
	(void)pa_slot_claim(&r, data[3] % nprocs, 1, 1);
	free(base);
	return 0;
}
