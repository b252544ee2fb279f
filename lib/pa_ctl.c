/*
 * The control protocol between pa-ctl and pa-spawn: the request parser,
 * the default socket path, and the pool's figures computed from a
 * region.  The region is shared with handlers, so it is untrusted input:
 * every index is checked against what the mapping really holds and every
 * field is copied out before it is used.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"

static const struct {
	const char	*name;
	enum pa_ctl_cmd	 cmd;
	int		 amin, amax;	/* arguments */
	uint32_t	 nmin;		/* smallest number argument */
} cmds[] = {
	{ "bounds",	PA_CTL_BOUNDS,	2, 2, 0 },
	{ "down",	PA_CTL_DOWN,	0, 1, 1 },
	{ "help",	PA_CTL_HELP,	0, 0, 0 },
	{ "list",	PA_CTL_LIST,	0, 0, 0 },
	{ "restart",	PA_CTL_RESTART,	0, 0, 0 },
	{ "set",	PA_CTL_SET,	1, 1, 0 },
	{ "stat",	PA_CTL_STAT,	0, 0, 0 },
	{ "stop",	PA_CTL_STOP,	0, 0, 0 },
	{ "top",	PA_CTL_TOP,	0, 0, 0 },
	{ "up",		PA_CTL_UP,	0, 1, 1 },
};
#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

/* A decimal number of digits only, nmin to PA_CTL_NUM_MAX. */
static int
number(const char *w, size_t len, uint32_t nmin, uint32_t *v)
{
	char buf[16];
	const char *errstr;
	long long n;
	size_t i;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)w[i]))
			return -1;
	memcpy(buf, w, len);
	buf[len] = '\0';
	n = strtonum(buf, nmin, PA_CTL_NUM_MAX, &errstr);
	if (errstr != NULL)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

enum pa_ctl_err
pa_ctl_parse(const char *line, size_t len, struct pa_ctl_req *req)
{
	const char *w[4];
	size_t wl[4], i, j, nw = 0;
	int k;

	if (len >= PA_CTL_LINE_MAX)
		return PA_CTL_ELONG;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if (ch != '\t' && (ch < 0x20 || ch > 0x7e))
			return PA_CTL_EBINARY;
	}
	/* Split into words; more than the longest command takes is too many. */
	for (i = 0; i < len; ) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		for (j = i; j < len && line[j] != ' ' && line[j] != '\t'; j++)
			;
		if (nw == sizeof(w) / sizeof(w[0]))
			return PA_CTL_EARGS;
		w[nw] = line + i;
		wl[nw++] = j - i;
		i = j;
	}
	if (nw == 0)
		return PA_CTL_EEMPTY;
	for (i = 0; i < NCMDS; i++)
		if (strlen(cmds[i].name) == wl[0] &&
		    memcmp(cmds[i].name, w[0], wl[0]) == 0)
			break;
	if (i == NCMDS)
		return PA_CTL_EUNKNOWN;
	if ((int)nw - 1 < cmds[i].amin || (int)nw - 1 > cmds[i].amax)
		return PA_CTL_EARGS;
	memset(req, 0, sizeof(*req));
	req->cmd = cmds[i].cmd;
	req->nargs = (int)nw - 1;
	if (req->nargs == 0 && cmds[i].amax > 0)
		req->args[0] = 1;
	for (k = 0; k < req->nargs; k++)
		if (number(w[k + 1], wl[k + 1], cmds[i].nmin,
		    &req->args[k]) == -1)
			return PA_CTL_ENUMBER;
	return PA_CTL_OK;
}

const char *
pa_ctl_str(enum pa_ctl_err e)
{
	switch (e) {
	case PA_CTL_OK:
		return "ok";
	case PA_CTL_EEMPTY:
		return "empty request";
	case PA_CTL_EUNKNOWN:
		return "unknown command";
	case PA_CTL_EARGS:
		return "wrong number of arguments";
	case PA_CTL_ENUMBER:
		return "argument is not a number in range";
	case PA_CTL_EBINARY:
		return "control or non-ASCII bytes in request";
	case PA_CTL_ELONG:
		return "request line too long";
	}
	return "invalid error";
}

const char *
pa_ctl_cmd_name(enum pa_ctl_cmd c)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (cmds[i].cmd == c)
			return cmds[i].name;
	return "invalid";
}

int
pa_ctl_default_path(char *buf, size_t len)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	int n;

	if (dir != NULL && dir[0] == '/')
		n = snprintf(buf, len, "%s/pa-spawn.ctl", dir);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/pa-spawn.ctl");
	else
		n = snprintf(buf, len, "/tmp/pa-spawn.%lu.ctl",
		    (unsigned long)geteuid());
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

#define K(name, metric, kind, field, help) \
	{ name, metric, kind, offsetof(struct pa_ctl_stat, field), help }
#define LOST(cause, i) \
	K("lost_" cause, "pa_accept_failures_total", PA_CTL_COUNTER, \
	    c.lost[i], "Failed accepts by cause (lost races, resource shortages).")

/*
 * Every figure of "stat", in the order it is shown.  The names are
 * stable: scripts and the JSON output depend on them.
 */
const struct pa_ctl_key pa_ctl_keys[] = {
	K("pid", "pa_spawner_pid", PA_CTL_GAUGE, pid,
	    "Process id of pa-spawn."),
	K("address", "pa_info", PA_CTL_TEXT, address,
	    "The listening address."),
	K("uptime", "pa_uptime_seconds", PA_CTL_SECONDS, uptime_ms,
	    "Seconds since the pool was created."),
	K("stopping", "pa_stopping", PA_CTL_GAUGE, stopping,
	    "1 while the pool drains to exit."),
	K("generation", "pa_generation", PA_CTL_GAUGE, generation,
	    "Handler generation, bumped by each rolling restart."),
	K("target", "pa_target", PA_CTL_GAUGE, target,
	    "Handler processes wanted."),
	K("handlers", "pa_handlers", PA_CTL_GAUGE, handlers,
	    "Handler processes alive and not retiring."),
	K("retiring", "pa_retiring", PA_CTL_GAUGE, retiring,
	    "Handler processes asked to exit, not yet gone."),
	K("ceiling", "pa_ceiling", PA_CTL_GAUGE, ceiling,
	    "Most handler processes the pool can hold."),
	K("min", "pa_min", PA_CTL_GAUGE, min,
	    "Autoscaling lower bound on handler processes."),
	K("max", "pa_max", PA_CTL_GAUGE, max,
	    "Autoscaling upper bound on handler processes (0: autoscaling off)."),
	K("spare_lo", "pa_spare_lo", PA_CTL_GAUGE, spare_lo,
	    "Autoscaling low mark of idle handler threads."),
	K("spare_hi", "pa_spare_hi", PA_CTL_GAUGE, spare_hi,
	    "Autoscaling high mark of idle handler threads."),
	K("idle_timeout", "pa_idle_timeout_seconds", PA_CTL_GAUGE, idle_timeout,
	    "Seconds after which an idle handler is retired (0: never)."),
	K("grace", "pa_grace_seconds", PA_CTL_GAUGE, grace,
	    "Seconds a retiring handler may take to finish."),
	K("slots", "pa_slots", PA_CTL_GAUGE, slots,
	    "Handler thread slots in the shared region."),
	K("idle", "pa_idle", PA_CTL_GAUGE, idle,
	    "Handler threads waiting for a connection."),
	K("busy", "pa_busy", PA_CTL_GAUGE, busy,
	    "Handler threads serving a connection."),
	K("starting", "pa_starting", PA_CTL_GAUGE, starting,
	    "Handler threads starting up."),
	K("draining", "pa_draining", PA_CTL_GAUGE, draining,
	    "Handler threads finishing their last connection."),
	K("gone", "pa_gone", PA_CTL_GAUGE, gone,
	    "Slots whose owner died, not yet reclaimed."),
	K("empty", "pa_empty", PA_CTL_GAUGE, empty,
	    "Unused slots."),
	K("waiting", "pa_waiting", PA_CTL_GAUGE, waiting,
	    "Handler threads asleep on the notification word."),
	K("accepted", "pa_accepted_total", PA_CTL_COUNTER, c.accepted,
	    "Connections accepted."),
	K("futile_wakeups", "pa_futile_wakeups_total", PA_CTL_COUNTER, c.futile,
	    "Wake-ups whose first accept found nothing."),
	K("wakeups", "pa_wakeups_total", PA_CTL_COUNTER, c.wakeups,
	    "Wake-ups of handler threads."),
	LOST("eagain", PA_AE_EAGAIN),
	LOST("econnaborted", PA_AE_ECONNABORTED),
	LOST("eproto", PA_AE_EPROTO),
	LOST("eintr", PA_AE_EINTR),
	LOST("emfile", PA_AE_EMFILE),
	LOST("enfile", PA_AE_ENFILE),
	LOST("enobufs", PA_AE_ENOBUFS),
	LOST("enomem", PA_AE_ENOMEM),
	LOST("other", PA_AE_OTHER),
	K("proxy_dropped", "pa_proxy_dropped_total", PA_CTL_COUNTER,
	    c.proxy_dropped,
	    "Connections dropped for their PROXY header (pa-handler -P)."),
	K("queue", "pa_queue", PA_CTL_GAUGE, queue,
	    "Connections in the accept queue at the last event."),
	K("queue_peak", "pa_queue_peak", PA_CTL_GAUGE, queue_peak,
	    "Longest accept queue seen."),
	K("maxed", "pa_maxed_total", PA_CTL_COUNTER, maxed,
	    "Listener events that found no idle handler."),
	K("max_reached", "pa_max_reached_total", PA_CTL_COUNTER, max_reached,
	    "Times autoscaling wanted more handlers than its maximum."),
	K("spawned", "pa_spawned_total", PA_CTL_COUNTER, spawned,
	    "Handler processes started."),
	K("exited", "pa_exited_total", PA_CTL_COUNTER, exited,
	    "Handler processes reaped."),
	K("events", "pa_events_total", PA_CTL_COUNTER, events,
	    "Listener events seen by pa-spawn."),
	K("woken", "pa_woken_total", PA_CTL_COUNTER, woken,
	    "Handler threads woken by pa-spawn."),
	K("deaf_periods", "pa_deaf_periods_total", PA_CTL_COUNTER, deaf_periods,
	    "Times pa-spawn stopped watching the listener: no handler slept."),
};
const size_t pa_ctl_nkeys = sizeof(pa_ctl_keys) / sizeof(pa_ctl_keys[0]);

const struct pa_ctl_key *
pa_ctl_key_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < pa_ctl_nkeys; i++)
		if (strlen(pa_ctl_keys[i].name) == len &&
		    memcmp(pa_ctl_keys[i].name, name, len) == 0)
			return &pa_ctl_keys[i];
	return NULL;
}

/* Bytes of the mapping from the start of p on, or 0 if p is outside. */
static size_t
room(const struct pa_region *r, const void *p)
{
	const char *b = (const char *)r->hdr, *q = p;

	if (r->hdr == NULL || q < b || q > b + r->size)
		return 0;
	return r->size - (size_t)(q - b);
}

uint32_t
pa_ctl_nslots(const struct pa_region *r)
{
	uint32_t n;
	size_t fit;

	if (r->hdr == NULL || r->slots == NULL)
		return 0;
	n = PA_LOAD(&r->hdr->nslots);
	fit = room(r, r->slots) / sizeof(struct pa_slot);
	return n < fit ? n : (uint32_t)fit;
}

uint32_t
pa_ctl_nprocs(const struct pa_region *r)
{
	uint32_t n;
	size_t fit;

	if (r->hdr == NULL || r->procs == NULL)
		return 0;
	n = PA_LOAD(&r->hdr->nprocs);
	fit = room(r, r->procs) / sizeof(struct pa_proc);
	return n < fit ? n : (uint32_t)fit;
}

static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

int
pa_ctl_slot_copy(const struct pa_region *r, uint32_t i, struct pa_ctl_slot *o)
{
	const struct pa_slot *s;
	size_t k;

	if (i >= pa_ctl_nslots(r)) {
		errno = ERANGE;
		return -1;
	}
	s = &r->slots[i];
	memset(o, 0, sizeof(*o));
	o->index = i;
	o->state = PA_LOAD(&s->state);
	if (o->state > PA_SLOT_GONE)
		o->state = PA_SLOT_GONE;
	o->proc = __atomic_load_n(&s->proc, __ATOMIC_RELAXED);
	o->pid = __atomic_load_n(&s->pid, __ATOMIC_RELAXED);
	o->since_ns = __atomic_load_n(&s->since_ns, __ATOMIC_RELAXED);
	o->c.accepted = __atomic_load_n(&s->accepted, __ATOMIC_RELAXED);
	o->c.futile = __atomic_load_n(&s->futile, __ATOMIC_RELAXED);
	o->c.wakeups = __atomic_load_n(&s->wakeups, __ATOMIC_RELAXED);
	for (k = 0; k < PA_AE_COUNT; k++)
		o->c.lost[k] = __atomic_load_n(&s->acc_err[k],
		    __ATOMIC_RELAXED);
	o->c.proxy_dropped = __atomic_load_n(&s->proxy_dropped,
	    __ATOMIC_RELAXED);
	if (o->state == PA_SLOT_BUSY || o->state == PA_SLOT_DRAINING) {
		pa_slot_get_peer(s, o->peer, sizeof(o->peer));
		printable(o->peer);
	}
	return 0;
}

void
pa_ctl_counts_add(struct pa_ctl_counts *d, const struct pa_ctl_counts *s)
{
	size_t k;

	d->accepted += s->accepted;
	d->futile += s->futile;
	d->wakeups += s->wakeups;
	for (k = 0; k < PA_AE_COUNT; k++)
		d->lost[k] += s->lost[k];
	d->proxy_dropped += s->proxy_dropped;
}

int
pa_ctl_stat_region(const struct pa_region *r, struct pa_ctl_stat *st)
{
	const struct pa_region_hdr *h = r->hdr;
	struct pa_ctl_slot s;
	uint64_t now, start;
	uint32_t i, n;

	if (h == NULL || r->size < sizeof(*h) ||
	    PA_LOAD(&h->magic) != PA_REGION_MAGIC) {
		errno = EINVAL;
		return -1;
	}
	now = pa_now_ns();
	start = h->start_ns;
	st->uptime_ms = now > start ? (now - start) / 1000000 : 0;
	n = pa_ctl_nslots(r);
	st->slots = n;
	st->idle = st->busy = st->starting = st->draining = 0;
	st->gone = st->empty = 0;
	for (i = 0; i < n; i++) {
		if (pa_ctl_slot_copy(r, i, &s) == -1)
			break;
		switch (s.state) {
		case PA_SLOT_EMPTY:
			st->empty++;
			continue;
		case PA_SLOT_STARTING:
			st->starting++;
			break;
		case PA_SLOT_IDLE:
			st->idle++;
			break;
		case PA_SLOT_BUSY:
			st->busy++;
			break;
		case PA_SLOT_DRAINING:
			st->draining++;
			break;
		default:
			st->gone++;
			break;
		}
		pa_ctl_counts_add(&st->c, &s.c);
	}
	st->waiting = PA_LOAD(&h->waiting);
	st->queue = PA_LOAD(&h->queue);
	st->queue_peak = PA_LOAD(&h->queue_peak);
	st->maxed = PA_LOAD(&h->maxed);
	st->spawned = PA_LOAD(&h->spawned);
	st->exited = PA_LOAD(&h->exited);
	st->events = PA_LOAD(&h->events);
	st->woken = PA_LOAD(&h->woken);
	st->deaf_periods = PA_LOAD(&h->deaf_periods);
	return 0;
}

int
pa_ctl_stat_format(const struct pa_ctl_stat *st, char *buf, size_t len)
{
	const struct pa_ctl_key *k;
	const char *base = (const char *)st;
	char text[sizeof(st->address)];
	size_t i, off = 0;
	uint64_t v;
	int n;

	for (i = 0; i < pa_ctl_nkeys; i++) {
		k = &pa_ctl_keys[i];
		if (k->kind == PA_CTL_TEXT) {
			strlcpy(text, base + k->off, sizeof(text));
			printable(text);
			n = snprintf(buf + off, len - off, "%s: %s\n", k->name,
			    text[0] != '\0' ? text : "-");
		} else {
			memcpy(&v, base + k->off, sizeof(v));
			if (k->kind == PA_CTL_SECONDS)
				n = snprintf(buf + off, len - off,
				    "%s: %llu.%03llu\n", k->name,
				    (unsigned long long)(v / 1000),
				    (unsigned long long)(v % 1000));
			else
				n = snprintf(buf + off, len - off, "%s: %llu\n",
				    k->name, (unsigned long long)v);
		}
		if (n < 0 || (size_t)n >= len - off) {
			errno = ENOSPC;
			return -1;
		}
		off += (size_t)n;
	}
	return (int)off;
}
