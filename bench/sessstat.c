/*
 * sessstat: what the processes of one session cost, from /proc alone.
 *
 * usage: sessstat [-l] [-m] sid
 *
 * Sums over every process whose session id is sid (the benchmarks start
 * each server with setsid(1), so its session is its whole process tree):
 * CPU time, its own and that of the children it has reaped (utime, stime,
 * cutime and cstime of /proc/PID/stat: a program run per connection and
 * reaped by the server is counted there), and the context switches of the
 * live threads (/proc/PID/task/TID/status).  With -m also memory from
 * /proc/PID/smaps_rollup: proportional (Pss) and private (Private_Clean +
 * Private_Dirty).  One line:
 *
 *   procs=N cpu_ms=N ctxsw=N [pss_kib=N priv_kib=N]
 *
 * -l adds a line per process before it: "pid comm cpu_ms ctxsw [pss priv]".
 * Exit status: 0, 100 usage, 111 /proc unreadable.
 */
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: sessstat [-l] [-m] sid\n");
	exit(100);
}

/* Sum the fields named in keys (e.g. "Pss:") of a /proc status-like file. */
static long long
sumkeys(const char *path, const char *const *keys)
{
	char line[256];
	long long sum = 0;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		for (const char *const *k = keys; *k != NULL; k++)
			if (strncmp(line, *k, strlen(*k)) == 0)
				sum += atoll(line + strlen(*k));
	fclose(f);
	return sum;
}

static long long
ctxsw(const char *pid)
{
	static const char *const keys[] = { "voluntary_ctxt_switches:",
	    "nonvoluntary_ctxt_switches:", NULL };
	char path[1024];
	struct dirent *de;
	long long sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%s/task", pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task/%s/status", pid,
		    de->d_name);
		sum += sumkeys(path, keys);
	}
	closedir(d);
	return sum;
}

int
main(int argc, char *argv[])
{
	static const char *const pss[] = { "Pss:", NULL };
	static const char *const priv[] = { "Private_Clean:",
	    "Private_Dirty:", NULL };
	char path[1024], buf[1024], comm[64], *p;
	struct dirent *de;
	const char *errstr;
	long long sid, tps, n = 0, cpu = 0, cs = 0, ps = 0, pv = 0;
	long long s, t[4], c, a, b;
	int ch, lflag = 0, mflag = 0;
	size_t len;
	FILE *f;
	DIR *d;

	while ((ch = getopt(argc, argv, "+lm")) != -1) {
		switch (ch) {
		case 'l':
			lflag = 1;
			break;
		case 'm':
			mflag = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	sid = strtonum(argv[0], 1, 1LL << 30, &errstr);
	if (errstr != NULL)
		errx(100, "sid %s: %s", argv[0], errstr);
	tps = sysconf(_SC_CLK_TCK);

	if ((d = opendir("/proc")) == NULL)
		err(111, "opendir /proc");
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		/* The command name may hold anything: parse after its ')'. */
		if ((p = strrchr(buf, ')')) == NULL)
			continue;
		if (sscanf(p + 2, "%*c %*d %*d %lld %*d %*d %*u %*u %*u %*u "
		    "%*u %lld %lld %lld %lld", &s, &t[0], &t[1], &t[2],
		    &t[3]) != 5 || s != sid)
			continue;
		n++;
		c = (t[0] + t[1] + t[2] + t[3]) * 1000 / tps;
		cpu += c;
		a = ctxsw(de->d_name);
		cs += a;
		if (lflag) {
			char *q = strchr(buf, '(');

			*p = '\0';
			strlcpy(comm, q != NULL ? q + 1 : "?", sizeof(comm));
			printf("%s %s %lld %lld", de->d_name, comm, c, a);
		}
		if (mflag) {
			snprintf(path, sizeof(path), "/proc/%s/smaps_rollup",
			    de->d_name);
			a = sumkeys(path, pss);
			b = sumkeys(path, priv);
			ps += a;
			pv += b;
			if (lflag)
				printf(" %lld %lld", a, b);
		}
		if (lflag)
			printf("\n");
	}
	closedir(d);
	printf("procs=%lld cpu_ms=%lld ctxsw=%lld", n, cpu, cs);
	if (mflag)
		printf(" pss_kib=%lld priv_kib=%lld", ps, pv);
	printf("\n");
	return 0;
}
