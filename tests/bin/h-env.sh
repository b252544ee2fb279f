#!/bin/sh
# h-env.sh: a PROG for the pa-handler tests.  Prints its environment
# (sorted), then one line per open descriptor ("fd N") and its signal
# mask and ignored set as the shell started with them ("sigblk HEX",
# "sigign HEX").  The fds are listed by an exec'd perl that opens nothing
# before it looks (the shell holds its script open).
# The mask first, with builtins only: the shell blocks every signal for
# a moment whenever it forks, and a child reading it then would see that.
while read -r name value; do
	case $name in
	SigBlk:) sigblk=$value ;;
	SigIgn:) sigign=$value ;;
	esac
done <"/proc/$$/status"
env | LC_ALL=C sort
echo "sigblk $sigblk"
echo "sigign $sigign"
exec perl -e '
	for my $n (0 .. 1023) {
		print "fd $n\n" if defined readlink("/proc/self/fd/$n");
	}'
