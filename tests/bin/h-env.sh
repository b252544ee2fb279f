#!/bin/sh
# h-env.sh: a PROG for the pa-handler tests.  Prints its environment
# (sorted), then one line per open descriptor ("fd N") and its signal
# mask and ignored set as the shell started with them ("sigblk HEX",
# "sigign HEX").  The fds are listed by an exec'd perl that opens nothing
# before it looks (the shell holds its script open).
env | LC_ALL=C sort
sed -n 's/^SigBlk:[[:space:]]*/sigblk /p; s/^SigIgn:[[:space:]]*/sigign /p' \
    "/proc/$$/status"
exec perl -e '
	for my $n (0 .. 1023) {
		print "fd $n\n" if defined readlink("/proc/self/fd/$n");
	}'
