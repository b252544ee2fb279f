/*
 * Unit tests of lib/pa_region.c and lib/pa_futex.c: layout, validation of
 * a hostile header, slot claiming and release, the peer seqlock, and a
 * futex wake across a fork.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"
#include "t.h"

static void
test_create_map(void)
{
	struct pa_region a, b;
	int fd2;

	CHECK(pa_region_create(&a, 0, 8) == -1 && errno == EINVAL);
	CHECK(pa_region_create(&a, 4, PA_SLOTS_MAX + 1) == -1);
	CHECK(pa_region_create(&a, 4, 16) == 0);
	CHECK(a.hdr->magic == PA_REGION_MAGIC);
	CHECK(a.size % (size_t)sysconf(_SC_PAGESIZE) == 0);
	CHECK((char *)&a.slots[16] <= (char *)a.hdr + a.size);
	CHECK((char *)&a.procs[4] <= (char *)a.slots);

	CHECK(pa_region_map(&b, a.fd) == 0);
	CHECK(b.hdr->nslots == 16 && b.hdr->nprocs == 4);
	PA_INC(&a.hdr->gen);
	CHECK(PA_LOAD(&b.hdr->gen) == 1);
	pa_region_unmap(&b);

	/* A file that is not a region: rejected, not trusted. */
	fd2 = memfd_create("t", MFD_CLOEXEC);
	CHECK(fd2 >= 0);
	CHECK(pa_region_map(&b, fd2) == -1);
	CHECK(ftruncate(fd2, 1 << 16) == 0);
	CHECK(pa_region_map(&b, fd2) == -1 && errno == EINVAL);
	close(fd2);
	CHECK(pa_region_map(&b, -1) == -1);

	/* A header claiming more slots than the file holds. */
	a.hdr->nslots = PA_SLOTS_MAX;
	CHECK(pa_region_map(&b, a.fd) == -1 && errno == EINVAL);
	a.hdr->nslots = 16;
	a.hdr->version = 99;
	CHECK(pa_region_map(&b, a.fd) == -1);
	a.hdr->version = PA_REGION_VERSION;
	a.hdr->slot_size = 1;
	CHECK(pa_region_check(a.hdr, a.size) == -1);
	a.hdr->slot_size = sizeof(struct pa_slot);
	CHECK(pa_region_check(a.hdr, a.size) == 0);
	CHECK(pa_region_check(a.hdr, 8) == -1);

	pa_region_unmap(&a);
	close(a.fd);
}

static void
test_slots(void)
{
	struct pa_region r;
	char buf[PA_PEER_MAX + 8];
	int i, s;

	CHECK(pa_region_create(&r, 2, 3) == 0);
	for (i = 0; i < 3; i++) {
		s = pa_slot_claim(&r, (uint32_t)(i % 2), 100 + i, 100 + i);
		CHECK(s == i);
		CHECK(r.slots[s].state == PA_SLOT_STARTING);
	}
	CHECK(pa_slot_claim(&r, 0, 1, 1) == -1 && errno == ENOSPC);

	pa_slot_set(&r.slots[0], PA_SLOT_IDLE);
	PA_INC(&r.hdr->idle);
	CHECK(pa_slot_char(r.slots[0].state) == '_');
	CHECK(pa_slot_char(PA_SLOT_BUSY) == 'W');
	CHECK(pa_slot_char(PA_SLOT_EMPTY) == '.');
	CHECK(pa_slot_char(PA_SLOT_STARTING) == 'S');
	CHECK(pa_slot_char(PA_SLOT_DRAINING) == 'G');
	CHECK(pa_slot_char(77) == '?');
	CHECK(strcmp(pa_slot_state_str(PA_SLOT_IDLE), "idle") == 0);
	CHECK(strcmp(pa_slot_state_str(1000), "invalid") == 0);

	/* Releasing handler 0 frees its slots 0 and 2 and the idle count. */
	pa_slot_release_proc(&r, 0);
	CHECK(r.slots[0].state == PA_SLOT_EMPTY);
	CHECK(r.slots[1].state == PA_SLOT_STARTING);
	CHECK(r.slots[2].state == PA_SLOT_EMPTY);
	CHECK(r.hdr->idle == 0);
	CHECK(pa_slot_claim(&r, 1, 5, 5) == 0);

	pa_slot_set_peer(&r.slots[1], "127.0.0.1:4242");
	CHECK(pa_slot_get_peer(&r.slots[1], buf, sizeof(buf)) == 0);
	CHECK(strcmp(buf, "127.0.0.1:4242") == 0);
	CHECK(r.slots[1].peer_seq % 2 == 0);
	/* A corrupted peer (no NUL) is still copied out terminated. */
	memset(r.slots[1].peer, 'x', PA_PEER_MAX);
	CHECK(pa_slot_get_peer(&r.slots[1], buf, sizeof(buf)) == 0);
	CHECK(strlen(buf) == PA_PEER_MAX - 1);
	/* A writer stuck mid-update: the reader gives up, empty. */
	r.slots[1].peer_seq = 7;
	CHECK(pa_slot_get_peer(&r.slots[1], buf, sizeof(buf)) == -1);
	CHECK(buf[0] == '\0');

	CHECK(pa_acc_err_from_errno(EAGAIN) == PA_AE_EAGAIN);
	CHECK(pa_acc_err_from_errno(EMFILE) == PA_AE_EMFILE);
	CHECK(pa_acc_err_from_errno(EBADF) == PA_AE_OTHER);
	CHECK(strcmp(pa_acc_err_str(PA_AE_ECONNABORTED), "econnaborted") == 0);
	pa_region_unmap(&r);
	close(r.fd);
}

static int
in_futex(pid_t pid)
{
	char path[64], buf[128];
	FILE *f;
	int yes = 0;

	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL)
		yes = strstr(buf, "futex") != NULL;
	fclose(f);
	return yes;
}

static void
test_futex(void)
{
	struct pa_region r;
	uint32_t g;
	pid_t pid;
	int st, i;

	CHECK(pa_region_create(&r, 1, 1) == 0);
	g = PA_LOAD(&r.hdr->gen);
	/* Word already changed: no sleep. */
	CHECK(pa_futex_wait(&r.hdr->gen, g + 1, 1000) == -1 && errno == EAGAIN);
	CHECK(pa_futex_wait(&r.hdr->gen, g, 10) == -1 && errno == ETIMEDOUT);
	CHECK(pa_futex_wake(&r.hdr->gen, 0) == 0);

	/* A child sleeping on the shared word is woken by the parent. */
	pid = fork();
	if (pid == 0) {
		PA_INC(&r.hdr->waiting);
		if (pa_futex_wait(&r.hdr->gen, g, 5000) == 0)
			_exit(0);
		_exit(1);
	}
	CHECK(pid > 0);
	/* Wait until the child really sleeps in the futex (bounded, 5 s). */
	for (i = 0; i < 5000 && !in_futex(pid); i++)
		usleep(1000);
	CHECK(in_futex(pid));
	PA_INC(&r.hdr->gen);
	CHECK(pa_futex_wake(&r.hdr->gen, 1) >= 0);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	pa_region_unmap(&r);
	close(r.fd);
}

int
main(void)
{
	test_create_map();
	test_slots();
	test_futex();
	T_DONE();
}
