#!/bin/sh
# h-wait.sh DIR N: a PROG for the pa-handler tests.  Marks itself inside
# (a file DIR/in.PID), waits until N are inside, then until DIR/release
# exists, and says "inside N" (or "timeout" after 20 s, so a broken test
# ends).  Proves N connections are served at the same time.
dir=$1 n=$2
: >"$dir/in.$$"
i=0
while [ "$(find "$dir" -name 'in.*' | wc -l)" -lt "$n" ] ||
    [ ! -e "$dir/release" ]; do
	i=$((i + 1))
	if [ "$i" -gt 1000 ]; then
		echo timeout
		exit 1
	fi
	sleep 0.02
done
echo "inside $n"
