/*
 * Unit tests of lib/pa_addr.c: every accepted address form, the malformed
 * ones, pa_addr_format() on each family, and pa_addr_listen() with its
 * options and the stale / live / non-socket unix path cases.
 */
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pa.h"
#include "t.h"

static struct pa_addr a;

/* op parses (with family fam) to the canonical text want. */
static int
ok(const char *op, enum pa_addr_family fam, const char *want)
{
	enum pa_addr_err e;

	e = pa_addr_parse(op, fam, &a);
	if (e != PA_ADDR_OK || strcmp(a.text, want) != 0) {
		fprintf(stderr, "  %s: got %d (%s) \"%s\", wanted \"%s\"\n", op,
		    e, pa_addr_str(e), a.text, want);
		return 0;
	}
	return 1;
}

static int
bad(const char *op, enum pa_addr_family fam, enum pa_addr_err want)
{
	enum pa_addr_err e;

	e = pa_addr_parse(op, fam, &a);
	if (e != want) {
		fprintf(stderr, "  %s: got %d (%s), wanted %d (%s)\n", op, e,
		    pa_addr_str(e), want, pa_addr_str(want));
		return 0;
	}
	return 1;
}

static void
test_parse_tcp(void)
{
	const struct sockaddr_in6 *sin6;
	struct servent *se;
	char want[64];

	CHECK(ok("127.0.0.1:8080", PA_FAMILY_ANY, "127.0.0.1:8080"));
	CHECK(a.kind == PA_ADDR_TCP && a.ss.ss_family == AF_INET);
	CHECK(a.sslen == sizeof(struct sockaddr_in));
	CHECK(ok("127.0.0.1:0", PA_FAMILY_ANY, "127.0.0.1:0"));
	CHECK(ok("127.0.0.1:65535", PA_FAMILY_ANY, "127.0.0.1:65535"));
	CHECK(ok("127.0.0.1:080", PA_FAMILY_ANY, "127.0.0.1:80"));
	CHECK(ok("[::1]:80", PA_FAMILY_ANY, "[::1]:80"));
	CHECK(a.ss.ss_family == AF_INET6);
	CHECK(ok("[2001:DB8:0:0::1]:443", PA_FAMILY_ANY, "[2001:db8::1]:443"));
	CHECK(ok("[::ffff:10.0.0.1]:1", PA_FAMILY_ANY, "10.0.0.1:1"));
	CHECK(a.ss.ss_family == AF_INET6);
	CHECK(ok("[fe80::1%1]:22", PA_FAMILY_ANY, "[fe80::1%lo]:22"));
	sin6 = (const struct sockaddr_in6 *)(const void *)&a.ss;
	CHECK(sin6->sin6_scope_id == 1);

	/* Wildcards: empty or "*"; [::] (dual-stack) unless IPv4 asked. */
	CHECK(ok(":8080", PA_FAMILY_ANY, "[::]:8080"));
	CHECK(ok("*:8080", PA_FAMILY_ANY, "[::]:8080"));
	CHECK(ok(":8080", PA_FAMILY_V4, "0.0.0.0:8080"));
	CHECK(ok("*:0", PA_FAMILY_V6, "[::]:0"));
	CHECK(ok("[::]:9", PA_FAMILY_ANY, "[::]:9"));
	CHECK(ok("0.0.0.0:9", PA_FAMILY_ANY, "0.0.0.0:9"));

	/* Prefixes. */
	CHECK(ok("tcp:127.0.0.1:1", PA_FAMILY_ANY, "127.0.0.1:1"));
	CHECK(ok("tcp4:127.0.0.1:1", PA_FAMILY_ANY, "127.0.0.1:1"));
	CHECK(ok("tcp4::1", PA_FAMILY_ANY, "0.0.0.0:1"));
	CHECK(ok("tcp6::1", PA_FAMILY_ANY, "[::]:1"));
	CHECK(ok("tcp6:[::1]:1", PA_FAMILY_V6, "[::1]:1"));
	CHECK(ok("tcp:*:7", PA_FAMILY_V4, "0.0.0.0:7"));

	/* Service names from services(5). */
	if ((se = getservbyname("http", "tcp")) != NULL) {
		snprintf(want, sizeof(want), "127.0.0.1:%d", ntohs(se->s_port));
		CHECK(ok("127.0.0.1:http", PA_FAMILY_ANY, want));
	} else
		printf("no services(5): service names not tested\n");

	/* A name, resolved once; "localhost" with a family always works. */
	CHECK(ok("localhost:25", PA_FAMILY_V4, "127.0.0.1:25"));
	CHECK(ok("tcp4:localhost:25", PA_FAMILY_ANY, "127.0.0.1:25"));
}

/* A name with addresses of both families is ambiguous without -4/-6. */
static void
test_ambiguous(void)
{
	struct addrinfo hints, *res, *ai;
	int v4 = 0, v6 = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo("localhost", NULL, &hints, &res) != 0)
		return;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		v4 += ai->ai_family == AF_INET;
		v6 += ai->ai_family == AF_INET6;
	}
	freeaddrinfo(res);
	if (v4 && v6) {
		CHECK(bad("localhost:1", PA_FAMILY_ANY, PA_ADDR_AMBIGUOUS));
		CHECK(ok("localhost:1", PA_FAMILY_V6, "[::1]:1"));
	} else {
		printf("localhost has one family here: ambiguity not tested\n");
		CHECK(pa_addr_parse("localhost:1", PA_FAMILY_ANY, &a) ==
		    PA_ADDR_OK);
	}
}

/*
 * Names with several addresses, deterministically: in a child with a
 * mount namespace of its own, a hosts(5) file of ours is bind-mounted over
 * /etc/hosts (root only; skipped otherwise).
 */
static void
test_hosts_file(void)
{
	static const char hosts[] =
	    "127.0.0.1 pa-both pa-v4\n"
	    "::1 pa-both\n"
	    "2001:db8::5 pa-v6\n"
	    "127.0.0.1 pa-two\n"
	    "127.0.0.2 pa-two\n";
	char path[] = "/tmp/t_addr.hosts.XXXXXX";
	pid_t pid;
	int fd, st;

	if ((fd = mkstemp(path)) == -1 ||
	    write(fd, hosts, sizeof(hosts) - 1) != (ssize_t)sizeof(hosts) - 1) {
		CHECK(0);
		return;
	}
	close(fd);
	chmod(path, 0644);
	if ((pid = fork()) == 0) {
		if (unshare(CLONE_NEWNS) == -1 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
		    mount(path, "/etc/hosts", NULL, MS_BIND, NULL) == -1)
			_exit(77);
		CHECK(bad("pa-both:80", PA_FAMILY_ANY, PA_ADDR_AMBIGUOUS));
		CHECK(ok("pa-both:80", PA_FAMILY_V4, "127.0.0.1:80"));
		CHECK(ok("pa-both:80", PA_FAMILY_V6, "[::1]:80"));
		CHECK(ok("tcp6:pa-both:80", PA_FAMILY_ANY, "[::1]:80"));
		CHECK(ok("tcp4:pa-both:http", PA_FAMILY_ANY, "127.0.0.1:80"));
		CHECK(ok("pa-v6:80", PA_FAMILY_ANY, "[2001:db8::5]:80"));
		CHECK(bad("pa-v6:80", PA_FAMILY_V4, PA_ADDR_FAMILY));
		CHECK(bad("pa-v4:80", PA_FAMILY_V6, PA_ADDR_FAMILY));
		CHECK(bad("pa-two:80", PA_FAMILY_ANY, PA_ADDR_AMBIGUOUS));
		CHECK(bad("pa-two:80", PA_FAMILY_V4, PA_ADDR_AMBIGUOUS));
		_exit(t_fail != 0);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	unlink(path);
	if (WEXITSTATUS(st) == 77)
		printf("no mount namespace: names from a hosts file not "
		    "tested\n");
	else
		CHECK(WEXITSTATUS(st) == 0);
}

static void
test_parse_bad(void)
{
	char path[200];

	CHECK(bad("", PA_FAMILY_ANY, PA_ADDR_EMPTY));
	CHECK(bad(NULL, PA_FAMILY_ANY, PA_ADDR_EMPTY));
	CHECK(bad("tcp:", PA_FAMILY_ANY, PA_ADDR_EMPTY));
	CHECK(bad("127.0.0.1", PA_FAMILY_ANY, PA_ADDR_NOPORT));
	CHECK(bad("127.0.0.1:", PA_FAMILY_ANY, PA_ADDR_NOPORT));
	CHECK(bad("8080", PA_FAMILY_ANY, PA_ADDR_NOPORT));
	CHECK(bad("[::1]", PA_FAMILY_ANY, PA_ADDR_NOPORT));
	CHECK(bad("[::1]:", PA_FAMILY_ANY, PA_ADDR_NOPORT));
	CHECK(bad("127.0.0.1:65536", PA_FAMILY_ANY, PA_ADDR_BADPORT));
	CHECK(bad("127.0.0.1:99999999999999999999", PA_FAMILY_ANY,
	    PA_ADDR_BADPORT));
	CHECK(bad("127.0.0.1:-1", PA_FAMILY_ANY, PA_ADDR_BADPORT));
	CHECK(bad("127.0.0.1:80x", PA_FAMILY_ANY, PA_ADDR_BADPORT));
	CHECK(bad("127.0.0.1:80 ", PA_FAMILY_ANY, PA_ADDR_BADPORT));
	CHECK(bad("127.0.0.1:80:90", PA_FAMILY_ANY, PA_ADDR_BADPORT));
	CHECK(bad("127.0.0.1:no-such-service", PA_FAMILY_ANY,
	    PA_ADDR_BADPORT));
	CHECK(bad("[::1]:80x", PA_FAMILY_ANY, PA_ADDR_BADPORT));
	CHECK(bad("[::1:80", PA_FAMILY_ANY, PA_ADDR_BRACKET));
	CHECK(bad("[::1", PA_FAMILY_ANY, PA_ADDR_BRACKET));
	CHECK(bad("[::1]x:80", PA_FAMILY_ANY, PA_ADDR_BRACKET));
	CHECK(bad("::1]:80", PA_FAMILY_ANY, PA_ADDR_BRACKET));
	CHECK(bad("[[::1]]:80", PA_FAMILY_ANY, PA_ADDR_BRACKET));
	CHECK(bad("::1:80", PA_FAMILY_ANY, PA_ADDR_NEEDBRACKET));
	CHECK(bad("fe80::1", PA_FAMILY_ANY, PA_ADDR_NEEDBRACKET));
	CHECK(bad("[127.0.0.1]:80", PA_FAMILY_ANY, PA_ADDR_NOTIPV6));
	CHECK(bad("[localhost]:80", PA_FAMILY_ANY, PA_ADDR_NOTIPV6));
	CHECK(bad("[]:80", PA_FAMILY_ANY, PA_ADDR_NOTIPV6));
	CHECK(bad("[*]:80", PA_FAMILY_ANY, PA_ADDR_NOTIPV6));
	CHECK(bad("no-such-host.invalid:80", PA_FAMILY_ANY,
	    PA_ADDR_BADHOST));
	CHECK(bad("1.2.3.4.5:80", PA_FAMILY_ANY, PA_ADDR_BADHOST));

	/* Family conflicts. */
	CHECK(bad("[::1]:80", PA_FAMILY_V4, PA_ADDR_FAMILY));
	CHECK(bad("127.0.0.1:80", PA_FAMILY_V6, PA_ADDR_FAMILY));
	CHECK(bad("tcp4:[::1]:80", PA_FAMILY_ANY, PA_ADDR_FAMILY));
	CHECK(bad("tcp6:127.0.0.1:80", PA_FAMILY_ANY, PA_ADDR_FAMILY));
	CHECK(bad("tcp4:127.0.0.1:80", PA_FAMILY_V6, PA_ADDR_FAMILY));
	CHECK(bad("unix:/tmp/x", PA_FAMILY_V4, PA_ADDR_FAMILY));

	/* Unix paths. */
	CHECK(bad("unix:", PA_FAMILY_ANY, PA_ADDR_PATHEMPTY));
	CHECK(bad("unix:@", PA_FAMILY_ANY, PA_ADDR_PATHEMPTY));
	memset(path, 'x', sizeof(path));
	path[0] = '/';
	path[sizeof(((struct sockaddr_un *)0)->sun_path)] = '\0';
	CHECK(bad(path, PA_FAMILY_ANY, PA_ADDR_PATHLONG));
	path[sizeof(((struct sockaddr_un *)0)->sun_path) - 1] = '\0';
	CHECK(ok(path, PA_FAMILY_ANY, path));

	/* Every error has words. */
	CHECK(strcmp(pa_addr_str(PA_ADDR_NOTIPV6), "unknown error") != 0);
	CHECK(strcmp(pa_addr_str((enum pa_addr_err)99), "unknown error") == 0);
}

static void
test_parse_unix(void)
{
	const struct sockaddr_un *sun;

	sun = (const struct sockaddr_un *)(const void *)&a.ss;
	CHECK(ok("unix:/run/x.sock", PA_FAMILY_ANY, "/run/x.sock"));
	CHECK(a.kind == PA_ADDR_UNIX && sun->sun_family == AF_UNIX);
	CHECK(strcmp(sun->sun_path, "/run/x.sock") == 0);
	CHECK(ok("/run/x.sock", PA_FAMILY_ANY, "/run/x.sock"));
	CHECK(ok("./x.sock", PA_FAMILY_ANY, "./x.sock"));
	CHECK(ok("../x.sock", PA_FAMILY_ANY, "../x.sock"));
	CHECK(ok("unix:x.sock", PA_FAMILY_ANY, "x.sock"));
	CHECK(ok("unix:/a:b", PA_FAMILY_ANY, "/a:b"));
	CHECK(ok("unix:@pa-test", PA_FAMILY_ANY, "@pa-test"));
	CHECK(sun->sun_path[0] == '\0' &&
	    memcmp(sun->sun_path + 1, "pa-test", 7) == 0);
	CHECK(a.sslen == offsetof(struct sockaddr_un, sun_path) + 8);
}

static void
test_format(void)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	char buf[128];
	socklen_t len;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(8080);
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	CHECK(pa_addr_format((struct sockaddr *)&sin, sizeof(sin), buf,
	    sizeof(buf)) == 0 && strcmp(buf, "192.0.2.7:8080") == 0);
	CHECK(pa_addr_format((struct sockaddr *)&sin, sizeof(sin), buf, 5) ==
	    -1 && errno == ENOSPC);
	CHECK(pa_addr_format((struct sockaddr *)&sin, 4, buf, sizeof(buf)) ==
	    -1 && errno == EINVAL);
	CHECK(pa_addr_format((struct sockaddr *)&sin, sizeof(sin), buf, 0) ==
	    -1);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(1);
	inet_pton(AF_INET6, "2001:db8::a:0:0:1", &sin6.sin6_addr);
	CHECK(pa_addr_format((struct sockaddr *)&sin6, sizeof(sin6), buf,
	    sizeof(buf)) == 0 && strcmp(buf, "[2001:db8::a:0:0:1]:1") == 0);
	inet_pton(AF_INET6, "::ffff:192.0.2.1", &sin6.sin6_addr);
	CHECK(pa_addr_format((struct sockaddr *)&sin6, sizeof(sin6), buf,
	    sizeof(buf)) == 0 && strcmp(buf, "192.0.2.1:1") == 0);
	inet_pton(AF_INET6, "fe80::2", &sin6.sin6_addr);
	sin6.sin6_scope_id = 999999;
	CHECK(pa_addr_format((struct sockaddr *)&sin6, sizeof(sin6), buf,
	    sizeof(buf)) == 0 && strcmp(buf, "[fe80::2%999999]:1") == 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, "/run/pa.sock", sizeof(sun.sun_path));
	CHECK(pa_addr_format((struct sockaddr *)&sun, sizeof(sun), buf,
	    sizeof(buf)) == 0 && strcmp(buf, "/run/pa.sock") == 0);
	/* The length as the kernel reports it: path and NUL only. */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 13);
	CHECK(pa_addr_format((struct sockaddr *)&sun, len, buf,
	    sizeof(buf)) == 0 && strcmp(buf, "/run/pa.sock") == 0);
	/* Unnamed (a connecting client): "". */
	CHECK(pa_addr_format((struct sockaddr *)&sun, sizeof(sa_family_t),
	    buf, sizeof(buf)) == 0 && buf[0] == '\0');
	/* A full sun_path with no NUL. */
	memset(sun.sun_path, 'p', sizeof(sun.sun_path));
	CHECK(pa_addr_format((struct sockaddr *)&sun, sizeof(sun), buf,
	    sizeof(buf)) == 0 && strlen(buf) == sizeof(sun.sun_path));
	memset(sun.sun_path, 0, sizeof(sun.sun_path));
	memcpy(sun.sun_path + 1, "abs", 3);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 4);
	CHECK(pa_addr_format((struct sockaddr *)&sun, len, buf,
	    sizeof(buf)) == 0 && strcmp(buf, "@abs") == 0);

	sun.sun_family = AF_APPLETALK;
	CHECK(pa_addr_format((struct sockaddr *)&sun, sizeof(sun), buf,
	    sizeof(buf)) == -1 && errno == EAFNOSUPPORT);
	CHECK(pa_addr_format(NULL, 0, buf, sizeof(buf)) == -1);
}

static int
getint(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, name, &v, &len) == -1)
		return -1;
	return v;
}

static void
test_listen_tcp(void)
{
	struct pa_listen_opts o;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char text[64];
	int fd, fd2;

	CHECK(pa_addr_somaxconn() > 0);

	pa_listen_opts_init(&o);
	CHECK(o.v6only == -1 && o.mode == -1 && o.uid == (uid_t)-1);
	CHECK(pa_addr_parse("127.0.0.1:0", PA_FAMILY_ANY, &a) == PA_ADDR_OK);
	o.reuseport = 1;
	o.defer_accept = 5;
	fd = pa_addr_listen(&a, &o);
	CHECK(fd >= 0 && o.step == NULL);
	CHECK(pa_sd_is_listener(fd) == 1);
	CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
	CHECK(getint(fd, SOL_SOCKET, SO_REUSEADDR) == 1);
	CHECK(getint(fd, SOL_SOCKET, SO_REUSEPORT) == 1);
	CHECK(getint(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT) > 0);
	CHECK(getsockname(fd, (struct sockaddr *)&ss, &len) == 0);
	CHECK(pa_addr_format((struct sockaddr *)&ss, len, text,
	    sizeof(text)) == 0 && strncmp(text, "127.0.0.1:", 10) == 0);

	/* The same port again, without SO_REUSEPORT: EADDRINUSE at bind. */
	CHECK(pa_addr_parse(text, PA_FAMILY_ANY, &a) == PA_ADDR_OK);
	pa_listen_opts_init(&o);
	CHECK(pa_addr_listen(&a, &o) == -1 && errno == EADDRINUSE);
	CHECK(o.step != NULL && strcmp(o.step, "bind") == 0);
	/* With it on both: a second listener. */
	o.reuseport = 1;
	fd2 = pa_addr_listen(&a, &o);
	CHECK(fd2 >= 0);
	close(fd2);
	close(fd);

	/* IPv6, v6only both ways (skipped where IPv6 is off). */
	CHECK(pa_addr_parse("[::]:0", PA_FAMILY_ANY, &a) == PA_ADDR_OK);
	pa_listen_opts_init(&o);
	o.v6only = 1;
	if ((fd = pa_addr_listen(&a, &o)) == -1 && errno == EAFNOSUPPORT) {
		printf("no IPv6: v6only not tested\n");
		return;
	}
	CHECK(fd >= 0 && getint(fd, IPPROTO_IPV6, IPV6_V6ONLY) == 1);
	close(fd);
	o.v6only = 0;
	fd = pa_addr_listen(&a, &o);
	CHECK(fd >= 0 && getint(fd, IPPROTO_IPV6, IPV6_V6ONLY) == 0);
	close(fd);
	o.backlog = 3;
	CHECK(pa_addr_parse("[::1]:0", PA_FAMILY_ANY, &a) == PA_ADDR_OK);
	fd = pa_addr_listen(&a, &o);
	CHECK(fd >= 0 && pa_sd_is_listener(fd) == 1);
	close(fd);
}

static void
test_listen_unix(void)
{
	struct pa_listen_opts o;
	struct stat st;
	char dir[] = "/tmp/t_addr.XXXXXX", path[160];
	int fd, fd2, c;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "unix:%s/s", dir);
	CHECK(pa_addr_parse(path, PA_FAMILY_ANY, &a) == PA_ADDR_OK);
	pa_listen_opts_init(&o);
	o.mode = 0600;
	o.uid = getuid();
	o.gid = getgid();
	fd = pa_addr_listen(&a, &o);
	CHECK(fd >= 0 && pa_sd_is_listener(fd) == 1);
	CHECK(stat(a.text, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    (st.st_mode & 07777) == 0600);

	/* Live: something answers, so the path is kept and bind fails. */
	pa_listen_opts_init(&o);
	CHECK(pa_addr_listen(&a, &o) == -1 && errno == EADDRINUSE);
	CHECK(o.note != NULL && strstr(o.note, "answers") != NULL);
	CHECK(stat(a.text, &st) == 0);

	/* Stale: the listener is gone, the file stays; it is replaced. */
	close(fd);
	CHECK(stat(a.text, &st) == 0);
	o.mode = 0660;
	fd = pa_addr_listen(&a, &o);
	CHECK(fd >= 0);
	CHECK(stat(a.text, &st) == 0 && (st.st_mode & 07777) == 0660);
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(connect(c, (struct sockaddr *)&a.ss, a.sslen) == 0);
	close(c);
	close(fd);

	/* A bound socket that is not listening yet counts as stale too. */
	unlink(a.text);
	fd2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(bind(fd2, (struct sockaddr *)&a.ss, a.sslen) == 0);
	fd = pa_addr_listen(&a, &o);
	CHECK(fd >= 0);
	close(fd);
	close(fd2);

	/* Not a socket: never replaced. */
	unlink(a.text);
	fd2 = open(a.text, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd2 >= 0);
	close(fd2);
	pa_listen_opts_init(&o);
	CHECK(pa_addr_listen(&a, &o) == -1 && errno == EEXIST);
	CHECK(o.note != NULL && strstr(o.note, "not a socket") != NULL);
	CHECK(stat(a.text, &st) == 0 && S_ISREG(st.st_mode));
	unlink(a.text);

	/* No such directory. */
	snprintf(path, sizeof(path), "%s/no/s", dir);
	CHECK(pa_addr_parse(path, PA_FAMILY_ANY, &a) == PA_ADDR_OK);
	CHECK(pa_addr_listen(&a, &o) == -1 && errno == ENOENT);
	CHECK(strcmp(o.step, "bind") == 0);

	/* Abstract names: no file, in use means in use. */
	snprintf(path, sizeof(path), "unix:@pa-t_addr-%ld", (long)getpid());
	CHECK(pa_addr_parse(path, PA_FAMILY_ANY, &a) == PA_ADDR_OK);
	fd = pa_addr_listen(&a, &o);
	CHECK(fd >= 0);
	CHECK(pa_addr_listen(&a, &o) == -1 && errno == EADDRINUSE);
	close(fd);
	rmdir(dir);
}

int
main(void)
{
	test_parse_tcp();
	test_ambiguous();
	test_hosts_file();
	test_parse_bad();
	test_parse_unix();
	test_format();
	test_listen_tcp();
	test_listen_unix();
	T_DONE();
}
