/*
 * proxy.h: the PROXY protocol in pa-handler (-P, -p, -w): options, and
 * the header read from each connection before prog starts.
 */
#ifndef PROXY_H
#define PROXY_H

#include "pa.h"

extern int	proxyflag;	/* -P */

void	proxy_allow(const char *);	/* -p net: exits 100 if bad */
void	proxy_timeout(const char *);	/* -w seconds: exits 100 if bad */
void	proxy_check(void);		/* after getopt: -p, -w need -P */
/*
 * Read the header of connection fd (peer: its real address) and put its
 * addresses into u.  0: serve; -1: drop the connection (counted, logged
 * at most once a second when verbose >= 1).
 */
int	proxy_take(struct pa_ucspi *, int fd, const struct sockaddr *, int);

#endif
