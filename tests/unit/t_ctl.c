/*
 * Unit tests of lib/pa_ctl.c: the request parser (every command, argument
 * counts, numbers out of range, binary and over-long lines), the default
 * socket path, the table of stat keys, and the figures computed from a
 * region, including a hostile one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"
#include "t.h"

static enum pa_ctl_err
parse(const char *s, struct pa_ctl_req *r)
{
	return pa_ctl_parse(s, strlen(s), r);
}

static void
test_parse(void)
{
	struct pa_ctl_req r;
	char big[PA_CTL_LINE_MAX + 8];
	static const struct {
		const char *line;
		enum pa_ctl_cmd cmd;
		int nargs;
		uint32_t a0, a1;
	} good[] = {
		{ "stat", PA_CTL_STAT, 0, 0, 0 },
		{ "list", PA_CTL_LIST, 0, 0, 0 },
		{ "top", PA_CTL_TOP, 0, 0, 0 },
		{ "up", PA_CTL_UP, 0, 1, 0 },
		{ "up 3", PA_CTL_UP, 1, 3, 0 },
		{ "down", PA_CTL_DOWN, 0, 1, 0 },
		{ "down 1024", PA_CTL_DOWN, 1, 1024, 0 },
		{ "set 0", PA_CTL_SET, 1, 0, 0 },
		{ "set 17", PA_CTL_SET, 1, 17, 0 },
		{ "bounds 2 8", PA_CTL_BOUNDS, 2, 2, 8 },
		{ "bounds 0 0", PA_CTL_BOUNDS, 2, 0, 0 },
		{ "restart", PA_CTL_RESTART, 0, 0, 0 },
		{ "stop", PA_CTL_STOP, 0, 0, 0 },
		{ "help", PA_CTL_HELP, 0, 0, 0 },
		{ "  stat  ", PA_CTL_STAT, 0, 0, 0 },
		{ "stat\r", PA_CTL_STAT, 0, 0, 0 },
		{ "\tset\t007", PA_CTL_SET, 1, 7, 0 },
	};
	static const struct {
		const char *line;
		enum pa_ctl_err err;
	} bad[] = {
		{ "", PA_CTL_EEMPTY },
		{ "   \t ", PA_CTL_EEMPTY },
		{ "\r", PA_CTL_EEMPTY },
		{ "STAT", PA_CTL_EUNKNOWN },
		{ "stats", PA_CTL_EUNKNOWN },
		{ "sta", PA_CTL_EUNKNOWN },
		{ "GET / HTTP/1.0", PA_CTL_EUNKNOWN },
		{ "stat 1", PA_CTL_EARGS },
		{ "list x", PA_CTL_EARGS },
		{ "top 1", PA_CTL_EARGS },
		{ "up 1 2", PA_CTL_EARGS },
		{ "down 1 2", PA_CTL_EARGS },
		{ "set", PA_CTL_EARGS },
		{ "set 1 2", PA_CTL_EARGS },
		{ "bounds", PA_CTL_EARGS },
		{ "bounds 1", PA_CTL_EARGS },
		{ "bounds 1 2 3", PA_CTL_EARGS },
		{ "restart now", PA_CTL_EARGS },
		{ "stop 1", PA_CTL_EARGS },
		{ "help me", PA_CTL_EARGS },
		{ "set 1 2 3 4 5 6 7", PA_CTL_EARGS },
		{ "up 0", PA_CTL_ENUMBER },
		{ "down 0", PA_CTL_ENUMBER },
		{ "up 1025", PA_CTL_ENUMBER },
		{ "set 1025", PA_CTL_ENUMBER },
		{ "set -1", PA_CTL_ENUMBER },
		{ "set +1", PA_CTL_ENUMBER },
		{ "set 1x", PA_CTL_ENUMBER },
		{ "set 0x10", PA_CTL_ENUMBER },
		{ "set 99999999999999999999", PA_CTL_ENUMBER },
		{ "bounds 1 x", PA_CTL_ENUMBER },
		{ "bounds 2000 1", PA_CTL_ENUMBER },
		{ "stat\n", PA_CTL_EBINARY },
		{ "st\x01" "at", PA_CTL_EBINARY },
		{ "stat\x7f", PA_CTL_EBINARY },
		{ "stat \xc3\xa9", PA_CTL_EBINARY },
		{ "\x16\x03\x01\x02", PA_CTL_EBINARY },
		{ "stat\r\r", PA_CTL_EBINARY },
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(&r, 0xa5, sizeof(r));
		CHECK(parse(good[i].line, &r) == PA_CTL_OK);
		CHECK(r.cmd == good[i].cmd);
		CHECK(r.nargs == good[i].nargs);
		CHECK(r.args[0] == good[i].a0);
		if (good[i].nargs == 2)
			CHECK(r.args[1] == good[i].a1);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].line, &r) != bad[i].err)
			fprintf(stderr, "bad[%zu] \"%s\"\n", i, bad[i].line);
		CHECK(parse(bad[i].line, &r) == bad[i].err);
	}

	/* A NUL inside the line is binary, not the end of it. */
	CHECK(pa_ctl_parse("stat\0x", 6, &r) == PA_CTL_EBINARY);
	CHECK(pa_ctl_parse("stat\0", 5, &r) == PA_CTL_EBINARY);

	/* The longest line that fits, and one byte more. */
	memset(big, ' ', sizeof(big));
	memcpy(big, "stat", 4);
	CHECK(pa_ctl_parse(big, PA_CTL_LINE_MAX - 1, &r) == PA_CTL_OK);
	CHECK(pa_ctl_parse(big, PA_CTL_LINE_MAX, &r) == PA_CTL_ELONG);
	memset(big, 'x', sizeof(big));
	CHECK(pa_ctl_parse(big, sizeof(big), &r) == PA_CTL_ELONG);
	memset(big, '\xff', sizeof(big));
	CHECK(pa_ctl_parse(big, sizeof(big), &r) == PA_CTL_ELONG);

	/* Every error and command has words. */
	for (i = PA_CTL_OK; i <= PA_CTL_ELONG; i++)
		CHECK(strcmp(pa_ctl_str((enum pa_ctl_err)i), "invalid error") != 0);
	CHECK(strcmp(pa_ctl_str((enum pa_ctl_err)99), "invalid error") == 0);
	for (i = PA_CTL_STAT; i <= PA_CTL_HELP; i++) {
		const char *n = pa_ctl_cmd_name((enum pa_ctl_cmd)i);

		CHECK(strcmp(n, "invalid") != 0);
		/* A command's name parses back to it (with its arguments). */
		snprintf(big, sizeof(big), "%s%s", n,
		    i == PA_CTL_SET ? " 1" : i == PA_CTL_BOUNDS ? " 1 2" : "");
		CHECK(parse(big, &r) == PA_CTL_OK && r.cmd == (enum pa_ctl_cmd)i);
	}
}

static void
test_path(void)
{
	char buf[256], small[8], want[64];
	char *saved = getenv("XDG_RUNTIME_DIR");

	saved = saved != NULL ? strdup(saved) : NULL;
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	CHECK(pa_ctl_default_path(buf, sizeof(buf)) == 0);
	CHECK(strcmp(buf, "/run/user/1000/pa-spawn.ctl") == 0);
	CHECK(pa_ctl_default_path(small, sizeof(small)) == -1 &&
	    errno == ENAMETOOLONG);
	/* A relative or empty XDG_RUNTIME_DIR is ignored. */
	setenv("XDG_RUNTIME_DIR", "run", 1);
	CHECK(pa_ctl_default_path(buf, sizeof(buf)) == 0);
	CHECK(strstr(buf, "run/pa-spawn.ctl") == NULL || buf[0] == '/');
	setenv("XDG_RUNTIME_DIR", "", 1);
	CHECK(pa_ctl_default_path(buf, sizeof(buf)) == 0);
	unsetenv("XDG_RUNTIME_DIR");
	CHECK(pa_ctl_default_path(buf, sizeof(buf)) == 0);
	if (geteuid() == 0)
		snprintf(want, sizeof(want), "/run/pa-spawn.ctl");
	else
		snprintf(want, sizeof(want), "/tmp/pa-spawn.%lu.ctl",
		    (unsigned long)geteuid());
	CHECK(strcmp(buf, want) == 0);
	if (saved != NULL) {
		setenv("XDG_RUNTIME_DIR", saved, 1);
		free(saved);
	}
}

static void
test_keys(void)
{
	size_t i, j;
	const struct pa_ctl_key *k;

	CHECK(pa_ctl_nkeys > 30);
	for (i = 0; i < pa_ctl_nkeys; i++) {
		k = &pa_ctl_keys[i];
		CHECK(k->off + (k->kind == PA_CTL_TEXT ? 1 : 8) <=
		    sizeof(struct pa_ctl_stat));
		CHECK(strncmp(k->metric, "pa_", 3) == 0);
		CHECK(k->help[0] != '\0');
		/* Counters end in _total, nothing else does. */
		j = strlen(k->metric);
		CHECK((k->kind == PA_CTL_COUNTER) ==
		    (j > 6 && strcmp(k->metric + j - 6, "_total") == 0));
		CHECK(pa_ctl_key_find(k->name, strlen(k->name)) == k);
		for (j = 0; j < i; j++)
			CHECK(strcmp(pa_ctl_keys[j].name, k->name) != 0);
	}
	/* The keys the documentation promises. */
	CHECK(pa_ctl_key_find("target", 6) != NULL);
	CHECK(pa_ctl_key_find("handlers", 8) != NULL);
	CHECK(pa_ctl_key_find("idle", 4) != NULL);
	CHECK(pa_ctl_key_find("busy", 4) != NULL);
	CHECK(pa_ctl_key_find("accepted", 8) != NULL);
	CHECK(pa_ctl_key_find("futile_wakeups", 14) != NULL);
	CHECK(pa_ctl_key_find("queue", 5) != NULL);
	CHECK(pa_ctl_key_find("queue_peak", 10) != NULL);
	CHECK(pa_ctl_key_find("lost_eagain", 11) != NULL);
	CHECK(pa_ctl_key_find("queue_", 6) == NULL);
	CHECK(pa_ctl_key_find("", 0) == NULL);
}

static void
test_region(void)
{
	struct pa_region r, fake;
	struct pa_ctl_stat st;
	struct pa_ctl_slot s;
	char buf[4096], small[64];
	int i0, i1, i2, n;

	CHECK(pa_region_create(&r, 4, 8) == 0);
	memset(&st, 0, sizeof(st));
	CHECK(pa_ctl_stat_region(&r, &st) == 0);
	CHECK(st.slots == 8 && st.empty == 8 && st.idle == 0);

	i0 = pa_slot_claim(&r, 0, 100, 100);
	i1 = pa_slot_claim(&r, 0, 100, 101);
	i2 = pa_slot_claim(&r, 1, 200, 200);
	CHECK(i0 == 0 && i1 == 1 && i2 == 2);
	pa_slot_set(&r.slots[i0], PA_SLOT_IDLE);
	pa_slot_set(&r.slots[i1], PA_SLOT_BUSY);
	pa_slot_set_peer(&r.slots[i1], "127.0.0.1:5555");
	r.slots[i0].accepted = 5;
	r.slots[i0].futile = 2;
	r.slots[i1].accepted = 7;
	r.slots[i1].acc_err[PA_AE_EAGAIN] = 3;
	r.slots[i2].acc_err[PA_AE_EMFILE] = 1;
	r.hdr->queue = 4;
	r.hdr->queue_peak = 9;
	r.hdr->maxed = 1;
	r.hdr->spawned = 2;

	/* Counters add to what st->c held: the totals of handlers gone. */
	memset(&st, 0, sizeof(st));
	st.c.accepted = 100;
	CHECK(pa_ctl_stat_region(&r, &st) == 0);
	CHECK(st.idle == 1 && st.busy == 1 && st.starting == 1);
	CHECK(st.empty == 5 && st.draining == 0 && st.gone == 0);
	CHECK(st.c.accepted == 112 && st.c.futile == 2);
	CHECK(st.c.lost[PA_AE_EAGAIN] == 3 && st.c.lost[PA_AE_EMFILE] == 1);
	CHECK(st.queue == 4 && st.queue_peak == 9 && st.maxed == 1);
	CHECK(st.spawned == 2);

	CHECK(pa_ctl_slot_copy(&r, 1, &s) == 0);
	CHECK(s.state == PA_SLOT_BUSY && s.pid == 100 && s.c.accepted == 7);
	CHECK(strcmp(s.peer, "127.0.0.1:5555") == 0);
	CHECK(pa_ctl_slot_copy(&r, 0, &s) == 0 && s.peer[0] == '\0');
	CHECK(pa_ctl_slot_copy(&r, 8, &s) == -1 && errno == ERANGE);
	CHECK(pa_ctl_slot_copy(&r, UINT32_MAX, &s) == -1);

	/* A hostile peer text comes out printable, without blanks. */
	pa_slot_set_peer(&r.slots[i1], "a b\nc\x1b[2J\xff");
	CHECK(pa_ctl_slot_copy(&r, 1, &s) == 0);
	CHECK(strcmp(s.peer, "a?b?c?[2J?") == 0);

	/* A state out of range is shown as gone, and still counted. */
	r.slots[i2].state = 77;
	CHECK(pa_ctl_slot_copy(&r, 2, &s) == 0 && s.state == PA_SLOT_GONE);
	memset(&st, 0, sizeof(st));
	CHECK(pa_ctl_stat_region(&r, &st) == 0 && st.gone == 1);

	/* A header announcing more slots than the mapping holds. */
	r.hdr->nslots = PA_SLOTS_MAX;
	CHECK(pa_ctl_nslots(&r) < PA_SLOTS_MAX);
	CHECK((char *)&r.slots[pa_ctl_nslots(&r)] <= (char *)r.hdr + r.size);
	CHECK(pa_ctl_nprocs(&r) == 4);
	r.hdr->nprocs = UINT32_MAX;
	CHECK((char *)&r.procs[pa_ctl_nprocs(&r)] <= (char *)r.hdr + r.size);
	memset(&st, 0, sizeof(st));
	CHECK(pa_ctl_stat_region(&r, &st) == 0);
	CHECK(st.slots == pa_ctl_nslots(&r));
	CHECK(pa_ctl_slot_copy(&r, (uint32_t)st.slots, &s) == -1);
	r.hdr->nslots = 8;
	r.hdr->nprocs = 4;

	/* Not a region at all. */
	memset(&fake, 0, sizeof(fake));
	CHECK(pa_ctl_stat_region(&fake, &st) == -1 && errno == EINVAL);
	CHECK(pa_ctl_nslots(&fake) == 0);
	r.hdr->magic = 0;
	CHECK(pa_ctl_stat_region(&r, &st) == -1);
	r.hdr->magic = PA_REGION_MAGIC;

	/* The text form: one "key: value" line per key, in table order. */
	memset(&st, 0, sizeof(st));
	st.target = 3;
	st.uptime_ms = 12345;
	st.c.futile = 42;
	strlcpy(st.address, "127.0.0.1:80\n", sizeof(st.address));
	n = pa_ctl_stat_format(&st, buf, sizeof(buf));
	CHECK(n > 0 && (size_t)n == strlen(buf));
	CHECK(strstr(buf, "\ntarget: 3\n") != NULL);
	CHECK(strstr(buf, "\nuptime: 12.345\n") != NULL);
	CHECK(strstr(buf, "\nfutile_wakeups: 42\n") != NULL);
	CHECK(strstr(buf, "\naddress: 127.0.0.1:80?\n") != NULL);
	CHECK(strncmp(buf, "pid: 0\n", 7) == 0);
	{
		size_t lines = 0;
		const char *p;

		for (p = buf; *p != '\0'; p++)
			lines += *p == '\n';
		CHECK(lines == pa_ctl_nkeys);
	}
	st.address[0] = '\0';
	CHECK(pa_ctl_stat_format(&st, buf, sizeof(buf)) > 0);
	CHECK(strstr(buf, "\naddress: -\n") != NULL);
	CHECK(pa_ctl_stat_format(&st, small, sizeof(small)) == -1 &&
	    errno == ENOSPC);
	CHECK(pa_ctl_stat_format(&st, small, 0) == -1);

	pa_region_unmap(&r);
	close(r.fd);
}

int
main(void)
{
	test_parse();
	test_path();
	test_keys();
	test_region();
	T_DONE();
}
