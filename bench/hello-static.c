/*
 * hello-static: the minimal per-connection program of the benchmarks.
 * Static, no libc and no start-up code (built with -nostdlib -static):
 * two system calls, write(1, response) and exit(0), so that a server's own
 * cost per connection is not hidden behind the program's.  x86-64 Linux.
 */
#if !defined(__x86_64__) || !defined(__linux__)
#error "hello-static is written for x86-64 Linux"
#endif

static const char resp[] =
    "HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n";

void	_start(void) __attribute__((noreturn, used));

static long
sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile ("syscall"
	    : "=a" (ret)
	    : "a" (nr), "D" (a), "S" (b), "d" (c)
	    : "rcx", "r11", "memory");
	return ret;
}

void
_start(void)
{
	long r;

	r = sys3(1, 1, (long)resp, sizeof(resp) - 1);	/* write */
	sys3(60, r == (long)sizeof(resp) - 1 ? 0 : 111, 0, 0);	/* exit */
	for (;;)
		;
}
