#!/bin/bash
# p-loop.sh HOST PORT STOPFILE OUT: send "hello" to HOST:PORT again and
# again, one connection at a time, until STOPFILE exists.  A reply holding
# "in=hello" counts as served (its N= word, the node, is tallied); any
# other reply as failed.  Writes "N ok, M failed" and one "node X" line per
# reply to OUT when it stops, then "done".
host=$1 port=$2 stop=$3 out=$4
ok=0 bad=0
: >"$out.nodes"
while [ ! -e "$stop" ]; do
	r=$(timeout 10 p-send.sh "$host" "$port" hello)
	if [[ $r == *in=hello* ]]; then
		ok=$((ok + 1))
		echo "node ${r%% *}" >>"$out.nodes"
	else
		bad=$((bad + 1))
		echo "failed: '$r'" >&2
	fi
done
{ echo "$ok ok, $bad failed"; cat "$out.nodes"; } >"$out.tmp"
mv "$out.tmp" "$out"
echo "done" >>"$out"
