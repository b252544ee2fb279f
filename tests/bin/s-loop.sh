#!/bin/bash
# s-loop.sh HOST PORT STOPFILE OUT: connect to HOST:PORT again and again
# until STOPFILE exists, expecting the reply "ok" each time.  Writes
# "N ok, M failed" to OUT when it stops (and after every 20 attempts).
host=$1 port=$2 stop=$3 out=$4
ok=0 bad=0
while [ ! -e "$stop" ]; do
	# shellcheck disable=SC2016 # expanded by the inner shell
	r=$(timeout 5 bash -c 'exec 5<>"/dev/tcp/$1/$2" || exit 1
		cat <&5' _ "$host" "$port" 2>/dev/null)
	if [ "$r" = ok ]; then
		ok=$((ok + 1))
	else
		bad=$((bad + 1))
		echo "failed: '$r'" >&2
	fi
	if [ $(((ok + bad) % 20)) -eq 0 ]; then
		echo "$ok ok, $bad failed" >"$out.tmp" && mv "$out.tmp" "$out"
	fi
done
echo "$ok ok, $bad failed" >"$out.tmp" && mv "$out.tmp" "$out"
echo 'done' >>"$out"
