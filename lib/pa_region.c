/*
 * The shared region: a header, one entry per handler process and one
 * slot per handler thread, in a memfd that only inherited descriptors
 * reach.  Every reader treats it as untrusted input.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pa.h"

_Static_assert(sizeof(struct pa_slot) == 256, "slot layout");
_Static_assert(sizeof(struct pa_proc) == 24, "proc layout");
_Static_assert(sizeof(struct pa_region_hdr) % 64 == 0 ||
    sizeof(struct pa_region_hdr) > 0, "header layout");

uint64_t
pa_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t
hdr_size(void)
{
	/* The proc table starts on its own cache line. */
	return (sizeof(struct pa_region_hdr) + 63) & ~(size_t)63;
}

static size_t
procs_size(uint32_t nprocs)
{
	return ((size_t)nprocs * sizeof(struct pa_proc) + 63) & ~(size_t)63;
}

size_t
pa_region_size(uint32_t nprocs, uint32_t nslots)
{
	size_t sz, pg = (size_t)sysconf(_SC_PAGESIZE);

	sz = hdr_size() + procs_size(nprocs) +
	    (size_t)nslots * sizeof(struct pa_slot);
	return (sz + pg - 1) / pg * pg;
}

static void
region_layout(struct pa_region *r, void *base, size_t size, uint32_t nprocs)
{
	r->hdr = base;
	r->procs = (struct pa_proc *)((char *)base + hdr_size());
	r->slots = (struct pa_slot *)((char *)base + hdr_size() +
	    procs_size(nprocs));
	r->size = size;
}

int
pa_region_create(struct pa_region *r, uint32_t nprocs, uint32_t nslots)
{
	void *base;
	size_t size;
	int fd, saved;

	if (nprocs == 0 || nprocs > PA_PROCS_MAX || nslots == 0 ||
	    nslots > PA_SLOTS_MAX) {
		errno = EINVAL;
		return -1;
	}
	size = pa_region_size(nprocs, nslots);
	if ((fd = memfd_create("pa-region", MFD_CLOEXEC)) == -1)
		return -1;
	if (ftruncate(fd, (off_t)size) == -1)
		goto fail;
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		goto fail;
	region_layout(r, base, size, nprocs);
	r->fd = fd;
	r->hdr->version = PA_REGION_VERSION;
	r->hdr->nprocs = nprocs;
	r->hdr->nslots = nslots;
	r->hdr->slot_size = sizeof(struct pa_slot);
	r->hdr->proc_size = sizeof(struct pa_proc);
	r->hdr->spawner_pid = (int32_t)getpid();
	r->hdr->start_ns = pa_now_ns();
	PA_STORE(&r->hdr->magic, PA_REGION_MAGIC);
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
pa_region_check(const struct pa_region_hdr *h, size_t len)
{
	if (len < sizeof(*h) || h->magic != PA_REGION_MAGIC ||
	    h->version != PA_REGION_VERSION ||
	    h->slot_size != sizeof(struct pa_slot) ||
	    h->proc_size != sizeof(struct pa_proc) ||
	    h->nprocs == 0 || h->nprocs > PA_PROCS_MAX ||
	    h->nslots == 0 || h->nslots > PA_SLOTS_MAX ||
	    pa_region_size(h->nprocs, h->nslots) > len) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
pa_region_map(struct pa_region *r, int fd)
{
	struct stat st;
	struct pa_region_hdr h;
	void *base;
	size_t size;

	if (fstat(fd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size < sizeof(h)) {
		errno = EINVAL;
		return -1;
	}
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -1;
	if (pa_region_check(&h, (size_t)st.st_size) == -1)
		return -1;
	size = pa_region_size(h.nprocs, h.nslots);
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return -1;
	region_layout(r, base, size, h.nprocs);
	/* The header is shared and writable: trust the copy we checked. */
	if (r->hdr->nprocs != h.nprocs || r->hdr->nslots != h.nslots) {
		munmap(base, size);
		errno = EINVAL;
		return -1;
	}
	r->fd = fd;
	return 0;
}

void
pa_region_unmap(struct pa_region *r)
{
	if (r->hdr != NULL)
		munmap(r->hdr, r->size);
	r->hdr = NULL;
	r->procs = NULL;
	r->slots = NULL;
}

/*
 * The slots the header announces and the mapping really holds: any
 * handler can write the header, so its nslots is never trusted alone.
 */
static uint32_t
slots_mapped(const struct pa_region *r)
{
	size_t off = (size_t)((const char *)r->slots - (const char *)r->hdr);
	size_t fit = r->size > off ? (r->size - off) / sizeof(struct pa_slot) :
	    0;
	uint32_t n = PA_LOAD(&r->hdr->nslots);

	return n < fit ? n : (uint32_t)fit;
}

int
pa_slot_claim(struct pa_region *r, uint32_t proc, pid_t pid, pid_t tid)
{
	uint32_t i, n = slots_mapped(r), expect;
	struct pa_slot *s;

	for (i = 0; i < n; i++) {
		s = &r->slots[i];
		expect = PA_SLOT_EMPTY;
		if (!__atomic_compare_exchange_n(&s->state, &expect,
		    PA_SLOT_STARTING, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		s->proc = proc;
		s->pid = (int32_t)pid;
		s->tid = (int32_t)tid;
		s->since_ns = pa_now_ns();
		s->accepted = 0;
		s->futile = 0;
		s->wakeups = 0;
		memset(s->acc_err, 0, sizeof(s->acc_err));
		s->peer_seq = 0;
		s->peer[0] = '\0';
		return (int)i;
	}
	errno = ENOSPC;
	return -1;
}

void
pa_slot_set(struct pa_slot *s, enum pa_slot_state st)
{
	s->since_ns = pa_now_ns();
	PA_STORE(&s->state, (uint32_t)st);
}

void
pa_slot_set_peer(struct pa_slot *s, const char *peer)
{
	PA_ADD(&s->peer_seq, 1);
	strlcpy(s->peer, peer, sizeof(s->peer));
	PA_ADD(&s->peer_seq, 1);
}

int
pa_slot_get_peer(const struct pa_slot *s, char *buf, size_t len)
{
	uint32_t a, b;
	int tries;
	size_t n;

	for (tries = 0; tries < 8; tries++) {
		a = PA_LOAD(&s->peer_seq);
		if (a & 1)
			continue;
		n = len - 1 < sizeof(s->peer) - 1 ? len - 1 : sizeof(s->peer) - 1;
		memcpy(buf, s->peer, n);
		buf[n] = '\0';
		b = PA_LOAD(&s->peer_seq);
		if (a == b)
			return 0;
	}
	buf[0] = '\0';
	return -1;
}

void
pa_slot_release_proc(struct pa_region *r, uint32_t proc)
{
	uint32_t i, n = slots_mapped(r), st;

	for (i = 0; i < n; i++) {
		st = PA_LOAD(&r->slots[i].state);
		if (st != PA_SLOT_EMPTY && r->slots[i].proc == proc) {
			pa_notify_slot_gone(r->hdr, &r->slots[i], st);
			r->slots[i].peer[0] = '\0';
			PA_STORE(&r->slots[i].state, PA_SLOT_EMPTY);
		}
	}
}

char
pa_slot_char(uint32_t st)
{
	static const char c[] = ".S_WGX";

	return st < sizeof(c) - 1 ? c[st] : '?';
}

const char *
pa_slot_state_str(uint32_t st)
{
	static const char *const n[] = {
		"empty", "starting", "idle", "busy", "draining", "gone"
	};

	return st < sizeof(n) / sizeof(n[0]) ? n[st] : "invalid";
}

const char *
pa_acc_err_str(enum pa_acc_err e)
{
	static const char *const n[PA_AE_COUNT] = {
		"eagain", "econnaborted", "eproto", "eintr", "emfile",
		"enfile", "enobufs", "enomem", "other"
	};

	return (unsigned)e < PA_AE_COUNT ? n[e] : "invalid";
}

enum pa_acc_err
pa_acc_err_from_errno(int e)
{
	switch (e) {
	case EAGAIN:
		return PA_AE_EAGAIN;
	case ECONNABORTED:
		return PA_AE_ECONNABORTED;
	case EPROTO:
		return PA_AE_EPROTO;
	case EINTR:
		return PA_AE_EINTR;
	case EMFILE:
		return PA_AE_EMFILE;
	case ENFILE:
		return PA_AE_ENFILE;
	case ENOBUFS:
		return PA_AE_ENOBUFS;
	case ENOMEM:
		return PA_AE_ENOMEM;
	default:
		return PA_AE_OTHER;
	}
}
