#!/usr/bin/env bash
# c-load.sh HOST PORT STOPFILE: connect to HOST:PORT over and over, each
# time reading the reply's first line, until STOPFILE exists (60 s at
# most); then print "ok N failed M".  A connection fails when it cannot
# be made or brings no reply within 10 s.
host=$1 port=$2 stop=$3
ok=0 failed=0 end=$((SECONDS + 60))
while [ ! -e "$stop" ] && [ "$SECONDS" -lt "$end" ]; do
	line=
	if exec 5<>"/dev/tcp/$host/$port"; then
		IFS= read -r -t 10 line <&5
		exec 5<&-
	fi 2>/dev/null
	if [ -n "$line" ]; then
		ok=$((ok + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "ok $ok failed $failed"
