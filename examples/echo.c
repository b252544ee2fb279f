/*
 * echo: a line-echo server on libpa, one connection at a time.
 *
 *	pa-listen 127.0.0.1:7000 pa-spawn -n 4 examples/echo
 *
 * Each line a client sends comes back to it.  TERM (pa-spawn retiring
 * this handler) ends the connection in hand after its current line.
 */
#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <pa.h>

static struct pa_pool *pool;

static void
stop(int sig)
{
	(void)sig;
	pa_pool_stop(pool, PA_WHY_STOP);	/* async-signal-safe */
}

static void
serve(struct pa_worker *w, int fd)
{
	char line[4096];
	FILE *in;

	if ((in = fdopen(dup(fd), "r")) == NULL)
		return;
	while (!pa_worker_leaving(w) && fgets(line, sizeof(line), in) != NULL)
		if (send(fd, line, strlen(line), MSG_NOSIGNAL) == -1)
			break;
	fclose(in);
}

int
main(void)
{
	struct sigaction sa = { .sa_handler = stop };
	struct pa_worker *w;
	struct pa_conn c;
	enum pa_next r;
	char why[256];

	if ((pool = pa_pool_attach(1, why, sizeof(why))) == NULL)
		errx(100, "%s", why);
	/* No SA_RESTART: TERM interrupts a read that waits for a line. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((w = pa_worker_start(pool)) == NULL)
		err(111, "no slot");
	while ((r = pa_worker_accept(w, &c)) != PA_NEXT_EXIT) {
		if (r == PA_NEXT_ERROR)
			err(111, "accept");
		if (r != PA_NEXT_CONN)
			continue;	/* PA_NEXT_WARN, PA_NEXT_DROP */
		serve(w, c.fd);
		close(c.fd);
		pa_worker_done(w);
	}
	pa_worker_end(w);
	pa_pool_detach(pool);
	return 0;
}
