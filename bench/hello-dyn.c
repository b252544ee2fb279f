/*
 * hello-dyn: the ordinary per-connection program of the benchmarks.
 * An ordinary dynamically linked C program (libc start-up and stdio):
 * writes a fixed response to stdout (the connection) and exits 0.
 */
#include <stdio.h>

int
main(void)
{
	fputs("HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n", stdout);
	return fflush(stdout) == 0 ? 0 : 111;
}
