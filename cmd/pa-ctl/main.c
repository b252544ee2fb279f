/*
 * pa-ctl: talk to a running pa-spawn through its control socket.
 *
 *	pa-ctl [-hHjp] [-c path] [-w seconds] command [arg ...]
 *
 * Sends the command as one line, reads the reply ("ok" or "error: WHY",
 * then the body) and shows it: as it comes, or for stat, top and list as
 * JSON (-j), for stat in the Prometheus text format (-p), for top as a
 * scoreboard with the last minute drawn, refreshed every -w seconds until
 * interrupted.  With -H (stat only) it first reads one HTTP request on
 * stdin and answers it on stdout, as a program run per connection by
 * pa-handler, tcpserver or a systemd Accept=yes socket: GET /metrics gets
 * the Prometheus text.
 *
 * Exits 0 when done, 1 when pa-spawn answered with an error, 100 on a
 * usage error, 111 when pa-spawn cannot be reached or does not answer.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pa.h"

#define TIMEOUT_MS	5000		/* for the whole exchange */
#define REPLY_MAX	(16u << 20)
#define KV_MAX		256		/* key: value lines of a reply */
#define BOARD_WIDTH	64		/* scoreboard characters a line */
#define BUSY		"error: too many clients"
#define BUSY_TRIES	30		/* 100 ms apart */
#define TOP_COLS	79		/* top's lines fit an 80-column terminal */
#define TREND_MAX	60		/* seconds of trend top draws */
#define HTTP_HEAD_MAX	8192		/* the request head -H reads */

static const char *ctlpath;
static volatile sig_atomic_t stop;
static int drawn;			/* top: sparklines (a terminal) */
static int utf8;			/* top: in Unicode block characters */
static int http_owed;			/* -H: no response sent yet */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: pa-ctl [-hHjp] [-c path] [-w seconds] "
	    "command [arg ...]\n");
	exit(100);
}

static void __attribute__((noreturn))
help(void)
{
	char def[sizeof(((struct sockaddr_un *)0)->sun_path)];

	if (pa_ctl_default_path(def, sizeof(def)) == -1)
		strlcpy(def, "(too long)", sizeof(def));
	printf("usage: pa-ctl [-hHjp] [-c path] [-w seconds] "
	    "command [arg ...]\n"
	    "  -c path     control socket (default %s)\n"
	    "  -H          stat: answer one HTTP request on stdin with -p\n"
	    "  -h          this help\n"
	    "  -j          stat, top, list: as JSON\n"
	    "  -p          stat: in the Prometheus text format\n"
	    "  -w seconds  top: refresh every seconds until interrupted\n"
	    "commands: stat top list up [N] down [N] set N bounds MIN MAX "
	    "restart stop help\n", def);
	exit(0);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
remaining(const struct timespec *deadline)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (int)ms : 0;
}

/* Wait for fd to be ready for events, within the deadline; exits 111. */
static void
await(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p;
	int r;

	p.fd = fd;
	p.events = events;
	for (;;) {
		r = poll(&p, 1, remaining(deadline));
		if (r == 1)
			return;
		if (r == 0)
			errx(111, "%s: no answer within %d s", ctlpath,
			    TIMEOUT_MS / 1000);
		if (errno != EINTR)
			err(111, "poll %s", ctlpath);
		if (stop)
			exit(0);
	}
}

/*
 * Send one request line and read the whole reply (NUL-terminated, in a
 * buffer the caller frees); exits 111 if pa-spawn cannot be reached.
 */
static char *
exchange(const char *line, size_t *lenp)
{
	struct sockaddr_un sun;
	struct timespec deadline;
	struct ucred uc;
	struct timeval tv = { TIMEOUT_MS / 1000, 0 };
	socklen_t ul = sizeof(uc);
	char *buf = NULL, *req;
	size_t len = 0, cap = 0, rl, off;
	ssize_t n;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += TIMEOUT_MS / 1000;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, ctlpath, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(100, "-c %s: path too long", ctlpath);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(111, "socket");
	/*
	 * A unix connect waits while the listener's backlog is full (a busy
	 * pa-spawn); SO_SNDTIMEO bounds that wait.  The rest is non-blocking.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		err(111, "setsockopt");
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EINTR) {
			if (stop)
				exit(0);
			continue;
		}
		if (errno == EAGAIN || errno == EINPROGRESS)
			errx(111, "%s: no answer within %d s", ctlpath,
			    TIMEOUT_MS / 1000);
		err(111, "connect %s", ctlpath);
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		err(111, "fcntl");
	/* The socket may sit in a shared directory: is it really pa-spawn's? */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == -1)
		err(111, "%s: SO_PEERCRED", ctlpath);
	if (uc.uid != 0 && uc.uid != geteuid())
		errx(111, "%s: served by uid %lu, neither root nor us", ctlpath,
		    (unsigned long)uc.uid);

	rl = strlen(line);
	if ((req = malloc(rl + 2)) == NULL)
		err(111, "malloc");
	memcpy(req, line, rl);
	memcpy(req + rl, "\n", 2);
	for (off = 0; off < rl + 1; ) {
		n = send(fd, req + off, rl + 1 - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EAGAIN)
			await(fd, POLLOUT, &deadline);
		else if (errno == EPIPE || errno == ECONNRESET)
			break;	/* it may have answered already: read it */
		else if (errno != EINTR)
			err(111, "send %s", ctlpath);
	}
	free(req);
	shutdown(fd, SHUT_WR);

	for (;;) {
		if (cap - len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			if (cap > REPLY_MAX)
				errx(111, "%s: reply too long", ctlpath);
			if ((buf = realloc(buf, cap)) == NULL)
				err(111, "realloc");
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EAGAIN)
			await(fd, POLLIN, &deadline);
		else if (errno == ECONNRESET && len > 0)
			break;
		else if (errno != EINTR)
			err(111, "recv %s", ctlpath);
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* The body of an "ok" reply; exits 1 on "error: ...", 111 on nonsense. */
static char *
body(char *reply, size_t len)
{
	char *nl;

	if ((nl = memchr(reply, '\n', len)) == NULL)
		errx(111, "%s: incomplete reply", ctlpath);
	*nl = '\0';
	if (strcmp(reply, "ok") == 0)
		return nl + 1;
	if (strncmp(reply, "error: ", 7) == 0)
		errx(1, "%s", reply + 7);
	errx(111, "%s: malformed reply", ctlpath);
}

struct kv {
	char	*k, *v;
};

/* Split "key: value" lines in place; returns how many. */
static size_t
kv_split(char *s, struct kv *kv, size_t max)
{
	char *line, *sep;
	size_t n = 0;

	while (n < max && (line = strsep(&s, "\n")) != NULL) {
		if ((sep = strstr(line, ": ")) == NULL)
			continue;
		*sep = '\0';
		kv[n].k = line;
		kv[n++].v = sep + 2;
	}
	return n;
}

static const char *
kv_get(const struct kv *kv, size_t n, const char *k)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(kv[i].k, k) == 0)
			return kv[i].v;
	return NULL;
}

static unsigned long long
kv_num(const struct kv *kv, size_t n, const char *k)
{
	const char *v = kv_get(kv, n, k);

	return v != NULL ? strtoull(v, NULL, 10) : 0;
}

/* A JSON number: digits, with an optional fraction. */
static int
numeric(const char *v)
{
	const char *p = v;

	if (!isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0';
}

static void
json_string(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* A trend line of top, digits and blanks, as a JSON array of numbers. */
static void
json_numbers(const char *v)
{
	size_t len;
	int first = 1;

	putchar('[');
	while (*(v += strspn(v, " ")) != '\0') {
		len = strspn(v, "0123456789");
		printf("%s%.*s", first ? "" : ", ", (int)len, v);
		first = 0;
		v += len;
	}
	putchar(']');
}

static void
json_value(const char *k, const char *v)
{
	const struct pa_ctl_key *key = pa_ctl_key_find(k, strlen(k));

	if ((key == NULL || key->kind != PA_CTL_TEXT) && numeric(v))
		fputs(v, stdout);
	else if (strncmp(k, "trend_", 6) == 0 && v[strspn(v, "0123456789 ")] ==
	    '\0')
		json_numbers(v);
	else
		json_string(v);
}

static void
show_json(const struct kv *kv, size_t n)
{
	size_t i;

	putchar('{');
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", stdout);
		json_string(kv[i].k);
		fputs(": ", stdout);
		json_value(kv[i].k, kv[i].v);
	}
	puts("}");
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void
prom_label(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			printf("\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else
			putchar(*s);
	}
}

static int
metric_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/*
 * The Prometheus text exposition format: the keys in table order (so a
 * family's samples are together), each family with its HELP and TYPE;
 * failed accepts are one family with a cause label; the address is a
 * label of pa_info.  Keys this pa-ctl does not know follow as gauges.
 */
static void
show_prom(const struct kv *kv, size_t n)
{
	const struct pa_ctl_key *k;
	const char *v, *last = "";
	size_t i;

	for (i = 0; i < pa_ctl_nkeys; i++) {
		k = &pa_ctl_keys[i];
		if ((v = kv_get(kv, n, k->name)) == NULL)
			continue;
		if (k->kind != PA_CTL_TEXT && !numeric(v))
			continue;
		if (strcmp(last, k->metric) != 0) {
			printf("# HELP %s %s\n# TYPE %s %s\n", k->metric,
			    k->help, k->metric,
			    k->kind == PA_CTL_COUNTER ? "counter" : "gauge");
			last = k->metric;
		}
		if (k->kind == PA_CTL_TEXT) {
			printf("%s{%s=\"", k->metric, k->name);
			prom_label(v);
			printf("\"} 1\n");
		} else if (strncmp(k->name, "lost_", 5) == 0)
			printf("%s{cause=\"%s\"} %s\n", k->metric,
			    k->name + 5, v);
		else
			printf("%s %s\n", k->metric, v);
	}
	for (i = 0; i < n; i++) {
		if (pa_ctl_key_find(kv[i].k, strlen(kv[i].k)) != NULL ||
		    !numeric(kv[i].v) || !metric_name(kv[i].k))
			continue;
		printf("# HELP pa_%s pa-spawn figure %s.\n# TYPE pa_%s gauge\n"
		    "pa_%s %s\n", kv[i].k, kv[i].k, kv[i].k, kv[i].k,
		    kv[i].v);
	}
}

/* list -j: the header names the columns; "-" is null. */
static void
show_list_json(char *s)
{
	char *line, *w, *cols[16];
	size_t nc = 0, i, rows = 0;

	if ((line = strsep(&s, "\n")) == NULL)
		return;
	while (nc < 16 && (w = strsep(&line, " ")) != NULL)
		if (*w != '\0')
			cols[nc++] = w;
	putchar('[');
	while ((line = strsep(&s, "\n")) != NULL) {
		if (*line == '\0')
			continue;
		printf("%s{", rows++ > 0 ? ",\n " : "");
		for (i = 0; i < nc && (w = strsep(&line, " ")) != NULL; ) {
			if (*w == '\0')
				continue;
			printf("%s", i > 0 ? ", " : "");
			json_string(cols[i++]);
			fputs(": ", stdout);
			if (strcmp(w, "-") == 0)
				fputs("null", stdout);
			else if (numeric(w))
				fputs(w, stdout);
			else
				json_string(w);
		}
		putchar('}');
	}
	puts("]");
}

/* top: the current line's column, for tput(). */
static size_t tcol;

/*
 * Print a piece of a top line; a piece that would pass TOP_COLS starts a
 * new line, indented (its leading blank dropped).
 */
static void __attribute__((format(printf, 1, 2)))
tput(const char *fmt, ...)
{
	char w[256];
	const char *p = w;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(w, sizeof(w), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(w))
		len = (int)sizeof(w) - 1;
	if (tcol > 0 && tcol + (size_t)len > TOP_COLS) {
		fputs("\n  ", stdout);
		tcol = 2;
		if (*p == ' ') {
			p++;
			len--;
		}
	}
	fputs(p, stdout);
	tcol += (size_t)len;
}

static void
tend(void)
{
	putchar('\n');
	tcol = 0;
}

/* The numbers of a trend line, the last TREND_MAX of them; how many. */
static size_t
trend_parse(const char *s, unsigned long long *v)
{
	char *end;
	size_t n = 0;

	while (s != NULL && *s != '\0') {
		while (*s == ' ')
			s++;
		if (!isdigit((unsigned char)*s))
			break;
		if (n == TREND_MAX) {
			memmove(v, v + 1, (TREND_MAX - 1) * sizeof(*v));
			n--;
		}
		errno = 0;
		v[n] = strtoull(s, &end, 10);
		if (errno != 0)
			v[n] = ~0ull;
		n++;
		s = end;
	}
	return n;
}

/* A figure in at most 5 columns. */
static const char *
compact(unsigned long long v, char *buf, size_t len)
{
	if (v < 100000)
		snprintf(buf, len, "%llu", v);
	else if (v < 100000000)
		snprintf(buf, len, "%lluk", v / 1000);
	else if (v < 100000000000ull)
		snprintf(buf, len, "%lluM", v / 1000000);
	else
		snprintf(buf, len, "huge");
	return buf;
}

/*
 * The last minute, one column a second, newest on the right: on a
 * terminal a sparkline each (Unicode blocks in a UTF-8 locale, ASCII
 * otherwise) scaled to its own maximum, which is printed beside it; else
 * plain lines of now, mean and maximum.
 */
static void
show_trend(const struct kv *kv, size_t n)
{
	static const char *const key[] = {
		"trend_accepted", "trend_queue", "trend_busy"
	};
	static const char *const label[] = { "conn/s", "queue", "busy" };
	static const char *const block[] = {
		"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586",
		"\u2587", "\u2588"
	};
	static const char ascii[] = "_.-:=+*#";
	unsigned long long v[TREND_MAX], max, sum;
	char a[16], b[16];
	size_t i, k, nv;
	const char *t;
	int any = 0;

	for (k = 0; k < 3; k++) {
		if ((t = kv_get(kv, n, key[k])) == NULL)
			continue;
		if (!any++ && drawn)
			printf("%-7s%-60s %5s %5s\n", "",
			    "the last minute, one column a second", "now", "max");
		nv = trend_parse(t, v);
		for (i = 0, max = 0, sum = 0; i < nv; i++) {
			if (v[i] > max)
				max = v[i];
			sum += v[i];
		}
		if (!drawn) {
			if (nv == 0)
				printf("%-7s no samples yet\n", label[k]);
			else
				printf("%-7s now %llu, mean %.1f, max %llu over "
				    "the last %zu s\n", label[k], v[nv - 1],
				    (double)sum / (double)nv, max, nv);
			continue;
		}
		printf("%-7s%*s", label[k], (int)(TREND_MAX - nv), "");
		for (i = 0; i < nv; i++) {
			/* 0 the lowest mark; any other value one of the rest. */
			size_t lv = v[i] == 0 || max == 0 ? 0 :
			    1 + (size_t)((double)v[i] * 6.0 / (double)max);

			if (lv > 7)
				lv = 7;
			if (utf8)
				fputs(block[lv], stdout);
			else
				putchar(ascii[lv]);
		}
		printf(" %5s %5s\n", nv > 0 ? compact(v[nv - 1], a, sizeof(a)) :
		    "-", compact(max, b, sizeof(b)));
	}
	if (any)
		putchar('\n');
}

static void
show_top(const struct kv *kv, size_t n)
{
	static const char *const causes[] = {
		"eagain", "econnaborted", "eproto", "eintr", "emfile",
		"enfile", "enobufs", "enomem", "other"
	};
	const char *board = kv_get(kv, n, "scoreboard"), *addr;
	unsigned long long up = kv_num(kv, n, "uptime");
	char key[32];
	size_t i, bl, used;

	addr = kv_get(kv, n, "address");
	tput("pa-spawn %llu on %s,", kv_num(kv, n, "pid"),
	    addr != NULL ? addr : "?");
	tput(" up %llud %02llu:%02llu:%02llu,", up / 86400, up / 3600 % 24,
	    up / 60 % 60, up % 60);
	tput(" generation %llu%s", kv_num(kv, n, "generation"),
	    kv_num(kv, n, "stopping") ? ", stopping" : "");
	tend();
	tput("handlers %llu (target %llu, retiring %llu, ceiling %llu);",
	    kv_num(kv, n, "handlers"), kv_num(kv, n, "target"),
	    kv_num(kv, n, "retiring"), kv_num(kv, n, "ceiling"));
	if (kv_num(kv, n, "max") > 0)
		tput(" autoscaling %llu..%llu, spare %llu:%llu",
		    kv_num(kv, n, "min"), kv_num(kv, n, "max"),
		    kv_num(kv, n, "spare_lo"), kv_num(kv, n, "spare_hi"));
	else
		tput(" autoscaling off");
	tend();
	tput("threads: %llu idle, %llu busy,", kv_num(kv, n, "idle"),
	    kv_num(kv, n, "busy"));
	tput(" %llu starting, %llu draining, %llu waiting",
	    kv_num(kv, n, "starting"), kv_num(kv, n, "draining"),
	    kv_num(kv, n, "waiting"));
	tend();
	tput("accepted %llu, queue %llu (peak %llu),",
	    kv_num(kv, n, "accepted"), kv_num(kv, n, "queue"),
	    kv_num(kv, n, "queue_peak"));
	tput(" maxed %llu, max reached %llu", kv_num(kv, n, "maxed"),
	    kv_num(kv, n, "max_reached"));
	tend();
	tput("wake-ups %llu, futile %llu;", kv_num(kv, n, "wakeups"),
	    kv_num(kv, n, "futile_wakeups"));
	tput(" spawned %llu, exited %llu", kv_num(kv, n, "spawned"),
	    kv_num(kv, n, "exited"));
	tend();
	tput("lost:");
	for (i = 0; i < sizeof(causes) / sizeof(causes[0]); i++) {
		snprintf(key, sizeof(key), "lost_%s", causes[i]);
		tput(" %s %llu", causes[i], kv_num(kv, n, key));
	}
	tend();
	putchar('\n');
	show_trend(kv, n);
	/* Up to the last line with a slot in use; the rest in a count. */
	bl = board != NULL ? strlen(board) : 0;
	for (used = bl; used > 0 && board[used - 1] == '.'; used--)
		;
	used = used == 0 ? BOARD_WIDTH : (used + BOARD_WIDTH - 1) /
	    BOARD_WIDTH * BOARD_WIDTH;
	if (used > bl)
		used = bl;
	for (i = 0; i < used; i += BOARD_WIDTH)
		printf("%.*s\n", BOARD_WIDTH, board + i);
	if (used < bl)
		printf("(%zu more empty slots)\n", bl - used);
	putchar('\n');
	tput("Scoreboard Key: \"_\" idle, \"W\" busy, \"S\" starting,");
	tput(" \"G\" draining, \"X\" gone, \".\" empty");
	tend();
}

/*
 * -H: the answer sent before the whole request was read, read what the
 * client still sends (a second and 64 KiB at most) before closing: a
 * close with unread data resets the connection, and the client might
 * lose the answer.
 */
static void
linger(void)
{
	struct timespec deadline;
	struct pollfd p;
	char junk[4096];
	size_t total = 0;
	ssize_t n;

	(void)shutdown(STDOUT_FILENO, SHUT_WR);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 1;
	p.fd = STDIN_FILENO;
	p.events = POLLIN;
	while (total < 65536 && poll(&p, 1, remaining(&deadline)) == 1) {
		if ((n = read(STDIN_FILENO, junk, sizeof(junk))) <= 0)
			break;
		total += (size_t)n;
	}
}

/* -H: a short answer, then exit 0. */
static void __attribute__((noreturn))
http_answer(const char *status, const char *extra)
{
	http_owed = 0;
	printf("HTTP/1.0 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "%sConnection: close\r\n\r\n%s\n", status, extra, status);
	if (fflush(stdout) == EOF)
		err(111, "stdout");
	linger();
	exit(0);
}

/* -H: pa-spawn gave no figures (the reason is on stderr): say 503. */
static void
http_unavailable(void)
{
	static const char m[] = "HTTP/1.0 503 Service Unavailable\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Connection: close\r\n\r\n"
	    "503 Service Unavailable: no figures from pa-spawn\n";
	ssize_t r;

	if (!http_owed)
		return;
	http_owed = 0;
	r = write(STDOUT_FILENO, m, sizeof(m) - 1);
	(void)r;
}

/*
 * -H: read the request head from stdin (HTTP_HEAD_MAX bytes, TIMEOUT_MS
 * at most) and answer anything but GET or HEAD of /metrics at once;
 * returns 1 for HEAD (no body).  The client is a stranger: nothing it
 * sends is logged.
 */
static int
http_request(void)
{
	static char buf[HTTP_HEAD_MAX];
	struct pa_http_req r;
	struct timespec deadline;
	struct pollfd p;
	enum pa_http_err e;
	size_t len = 0;
	ssize_t n;
	int pr;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += TIMEOUT_MS / 1000;
	p.fd = STDIN_FILENO;
	p.events = POLLIN;
	while ((e = pa_http_parse(buf, len, &r)) == PA_HTTP_EMORE) {
		if (len == sizeof(buf))
			http_answer("431 Request Header Fields Too Large", "");
		if ((pr = poll(&p, 1, remaining(&deadline))) == 0)
			http_answer("408 Request Timeout", "");
		if (pr == -1) {
			if (errno == EINTR && !stop)
				continue;
			if (errno == EINTR)
				exit(0);
			err(111, "poll stdin");
		}
		if ((n = read(STDIN_FILENO, buf + len, sizeof(buf) - len)) > 0)
			len += (size_t)n;
		else if (n == 0)
			exit(0);	/* the client left: nobody to answer */
		else if (errno != EINTR && errno != EAGAIN)
			err(111, "read stdin");
	}
	if (e == PA_HTTP_EVERSION)
		http_answer("505 HTTP Version Not Supported", "");
	if (e != PA_HTTP_OK)
		http_answer("400 Bad Request", "");
	if (r.method == PA_HTTP_OTHER)
		http_answer("405 Method Not Allowed", "Allow: GET, HEAD\r\n");
	if (r.pathlen != 8 || memcmp(r.path, "/metrics", 8) != 0)
		http_answer("404 Not Found", "");
	http_owed = 1;
	if (atexit(http_unavailable) != 0)
		err(111, "atexit");
	return r.method == PA_HTTP_HEAD;
}

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	struct pa_ctl_req req;
	struct kv kv[KV_MAX];
	enum pa_ctl_err e;
	const char *errstr;
	char line[PA_CTL_LINE_MAX], def[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *reply, *b;
	size_t len, off, n;
	int ch, i, hflag = 0, jflag = 0, pflag = 0, wsecs = 0, tty, frames = 0;
	int headonly = 0;

	while ((ch = getopt(argc, argv, "+c:Hhjpw:")) != -1) {
		switch (ch) {
		case 'c':
			ctlpath = optarg;
			break;
		case 'H':
			hflag = 1;
			break;
		case 'h':
			help();
		case 'j':
			jflag = 1;
			break;
		case 'p':
			pflag = 1;
			break;
		case 'w':
			wsecs = (int)strtonum(optarg, 1, 86400, &errstr);
			if (errstr != NULL)
				errx(100, "-w %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();

	/* The request line: the words joined by blanks, checked here first. */
	for (i = 0, off = 0; i < argc; i++) {
		n = strlen(argv[i]);
		if (off + n + 1 >= sizeof(line))
			errx(100, "request too long");
		if (i > 0)
			line[off++] = ' ';
		memcpy(line + off, argv[i], n);
		off += n;
	}
	line[off] = '\0';
	if ((e = pa_ctl_parse(line, off, &req)) != PA_CTL_OK)
		errx(100, "%s: %s", line, pa_ctl_str(e));
	if (jflag && pflag)
		errx(100, "-j and -p exclude each other");
	if (hflag && jflag)
		errx(100, "-H and -j exclude each other");
	if (hflag && req.cmd != PA_CTL_STAT)
		errx(100, "-H: only for stat");
	if (jflag && req.cmd != PA_CTL_STAT && req.cmd != PA_CTL_TOP &&
	    req.cmd != PA_CTL_LIST)
		errx(100, "-j: only for stat, top and list");
	if (pflag && req.cmd != PA_CTL_STAT)
		errx(100, "-p: only for stat");
	if (wsecs > 0 && req.cmd != PA_CTL_TOP)
		errx(100, "-w: only for top");

	if (ctlpath == NULL) {
		if (pa_ctl_default_path(def, sizeof(def)) == -1)
			errx(100, "default control socket path too long; use -c");
		ctlpath = def;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	tty = isatty(STDOUT_FILENO);
	if (req.cmd == PA_CTL_TOP && !jflag && tty) {
		drawn = 1;
		setlocale(LC_CTYPE, "");
		utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	}
	if (hflag)
		headonly = http_request();

	do {
		reply = exchange(line, &len);
		/* Too many clients at once: try again for a while. */
		for (i = 0; i < BUSY_TRIES && strncmp(reply, BUSY,
		    sizeof(BUSY) - 1) == 0 && !stop; i++) {
			struct timespec ts = { 0, 100000000 };

			free(reply);
			nanosleep(&ts, NULL);
			reply = exchange(line, &len);
		}
		b = body(reply, len);
		switch (req.cmd) {
		case PA_CTL_STAT:
			n = kv_split(b, kv, KV_MAX);
			if (hflag) {
				http_owed = 0;
				fputs("HTTP/1.0 200 OK\r\nContent-Type: text/plain;"
				    " version=0.0.4; charset=utf-8\r\n"
				    "Connection: close\r\n\r\n", stdout);
				if (!headonly)
					show_prom(kv, n);
			} else if (jflag)
				show_json(kv, n);
			else if (pflag)
				show_prom(kv, n);
			else
				for (i = 0; (size_t)i < n; i++)
					printf("%s: %s\n", kv[i].k, kv[i].v);
			break;
		case PA_CTL_TOP:
			n = kv_split(b, kv, KV_MAX);
			if (jflag) {
				show_json(kv, n);
				break;
			}
			if (wsecs > 0 && tty)
				fputs("\033[H\033[2J", stdout);
			else if (frames > 0)
				putchar('\n');
			show_top(kv, n);
			break;
		case PA_CTL_LIST:
			if (jflag)
				show_list_json(b);
			else
				fputs(b, stdout);
			break;
		default:
			fputs(b, stdout);
			break;
		}
		free(reply);
		frames++;
		if (fflush(stdout) == EOF)
			err(111, "stdout");
		if (wsecs > 0 && !stop) {
			struct timespec ts = { wsecs, 0 };

			while (!stop && nanosleep(&ts, &ts) == -1 &&
			    errno == EINTR)
				;
		}
	} while (wsecs > 0 && !stop);
	return 0;
}
