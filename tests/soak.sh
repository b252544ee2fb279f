#!/usr/bin/env bash
# tests/soak.sh [CONNECTIONS]: the long run behind `make soak` (never part
# of make check).  One pool, pa-listen 127.0.0.1:0 pa-spawn -n 4 -g 10
# pa-handler -t 2 -m 5000 echo served, takes CONNECTIONS (default
# 200000, or $SOAK_CONNS) from f-load with 16 clients at once, while a
# loop scales it with pa-ctl set between 2 and 12 handlers every 0.3 s
# (and -m recycles each handler after about 5000 connections).  Before
# (after a warm-up) and after (the pool settled back at 4 handlers) it
# measures the descriptors and RSS of pa-spawn and of every handler, the
# zombies, the slots in use and the counters, and checks:
#
#   - every attempt served: attempted = ok, no failure of any cause;
#   - accepted (pa-ctl) grew by exactly ok + failed-with-cause;
#   - pa-spawn's descriptors the same, its RSS within 10% + 512 kB;
#   - each handler's descriptors the same as a fresh one's, the largest
#     handler RSS within 10% + 512 kB of the largest at the start;
#   - no zombie below pa-spawn or a handler;
#   - slots in use = handlers x threads, none starting, draining or gone;
#   - spawned - exited = handlers alive.
#
# Prints the figures as a Markdown table; exits 0 if every check holds.
# shellcheck disable=SC2317 # functions called through trap and wait_until
set -u
cd "$(dirname "$0")/.." || exit 111
top=$PWD
conns=${1:-${SOAK_CONNS:-200000}}
fbin=${PA_UNITDIR:-$top/build/opt/unit}
fbin=${fbin%/unit}/fbin
export PATH="$top/bin:$fbin:$top/tests/bin:$PATH"
command -v f-load >/dev/null || { echo "soak: no f-load (make fbins)" >&2; exit 111; }

dir=$(mktemp -d /tmp/pa-soak.XXXXXX)
ctl=$dir/ctl
pool=
scaler=
cleanup() {
	[ -n "$scaler" ] && kill "$scaler" 2>/dev/null
	if [ -n "$pool" ]; then
		kill -TERM "$pool" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$pool" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- "-$pool" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

fail=0
check() {
	local what=$1
	shift
	if "$@"; then
		echo "soak: ok: $what"
	else
		echo "soak: FAILED: $what" >&2
		fail=1
	fi
}

fig() {
	sed -n "s/^$2: //p" "$1"
}

stat_to() {
	pa-ctl -c "$ctl" stat >"$1"
}

# settled N: N handlers, each thread idle, nothing starting, draining, gone.
settled() {
	local s
	s=$(pa-ctl -c "$ctl" stat 2>/dev/null) || return 1
	[ "$(sed -n 's/^target: //p' <<<"$s")" = "$1" ] &&
	    [ "$(sed -n 's/^handlers: //p' <<<"$s")" = "$1" ] &&
	    [ "$(sed -n 's/^retiring: //p' <<<"$s")" = 0 ] &&
	    [ "$(sed -n 's/^idle: //p' <<<"$s")" = $(($1 * 2)) ] &&
	    [ "$(sed -n 's/^starting: //p' <<<"$s")" = 0 ] &&
	    [ "$(sed -n 's/^draining: //p' <<<"$s")" = 0 ] &&
	    [ "$(sed -n 's/^gone: //p' <<<"$s")" = 0 ]
}

wait_until() {
	local limit=$1 end
	shift
	end=$((SECONDS + limit))
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}

nfd() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

rss() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"
}

handlers() {
	pgrep -P "$pool" | sort -n
}

# measure PREFIX: pa-spawn's fds and RSS, the handlers' fd counts (one
# line, sorted unique) and their largest RSS, into PREFIX.*.
measure() {
	local h
	nfd "$pool" >"$1.spawn_fd"
	rss "$pool" >"$1.spawn_rss"
	: >"$1.h_fd"
	: >"$1.h_rss"
	for h in $(handlers); do
		nfd "$h" >>"$1.h_fd"
		rss "$h" >>"$1.h_rss"
	done
	sort -un "$1.h_fd" | tr '\n' ' ' >"$1.h_fds"
	sort -n "$1.h_rss" | tail -1 >"$1.h_maxrss"
}

# zombies: defunct children of pa-spawn or of any handler.
zombies() {
	local parents
	parents=$( (echo "$pool"; handlers) | paste -sd,)
	pgrep -c -r Z -P "$parents" || true
}

setsid pa-listen -1 127.0.0.1:0 pa-spawn -c "$ctl" -n 4 -g 10 \
    pa-handler -t 2 -m 5000 echo served >"$dir/pool.out" 2>"$dir/pool.err" &
pool=$!
wait_until 10 test -s "$dir/pool.out" || { echo "soak: no port" >&2; exit 111; }
port=$(head -1 "$dir/pool.out")
wait_until 20 settled 4 || { echo "soak: the pool did not start" >&2; exit 111; }

echo "soak: warm-up: 2000 connections"
f-load -c 4 -n 2000 -e served 127.0.0.1 "$port" >/dev/null
wait_until 20 settled 4
stat_to "$dir/stat0"
measure "$dir/m0"
t0=$SECONDS

# The scaler: set 2..12 every 0.3 s while the load runs.
(
	sizes=(2 8 3 12 5 2 10 4 6 12 2 7)
	i=0
	while :; do
		pa-ctl -c "$ctl" set "${sizes[i % ${#sizes[@]}]}" >/dev/null 2>&1
		i=$((i + 1))
		sleep 0.3
	done
) &
scaler=$!

echo "soak: $conns connections, 16 clients, pa-ctl set 2..12 every 0.3 s"
f-load -c 16 -n "$conns" -T 30000 -e served 127.0.0.1 "$port" >"$dir/load"
kill "$scaler" 2>/dev/null
wait "$scaler" 2>/dev/null
scaler=
t1=$SECONDS
pa-ctl -c "$ctl" set 4 >/dev/null 2>&1
wait_until 30 settled 4 || echo "soak: the pool did not settle at 4" >&2
stat_to "$dir/stat1"
measure "$dir/m1"
z=$(zombies)

res=$(cat "$dir/load")
n() {
	awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$res"
}
attempted=$(n attempted)
ok=$(n ok)
failed=$((attempted - ok))
acc0=$(fig "$dir/stat0" accepted)
acc1=$(fig "$dir/stat1" accepted)
spawned=$(fig "$dir/stat1" spawned)
exited=$(fig "$dir/stat1" exited)
handlers_now=$(handlers | wc -l)
slots_used=$(($(fig "$dir/stat1" idle) + $(fig "$dir/stat1" busy) +
    $(fig "$dir/stat1" starting) + $(fig "$dir/stat1" draining) +
    $(fig "$dir/stat1" gone)))
sfd0=$(cat "$dir/m0.spawn_fd") sfd1=$(cat "$dir/m1.spawn_fd")
srss0=$(cat "$dir/m0.spawn_rss") srss1=$(cat "$dir/m1.spawn_rss")
hfd0=$(cat "$dir/m0.h_fds") hfd1=$(cat "$dir/m1.h_fds")
hrss0=$(cat "$dir/m0.h_maxrss") hrss1=$(cat "$dir/m1.h_maxrss")
secs=$((t1 - t0))

cat <<EOF

| figure | start | end |
|---|---|---|
| connections attempted / ok / failed | | $attempted / $ok / $failed |
| client outcomes | | $res |
| accepted (pa-ctl) | $acc0 | $acc1 (+$((acc1 - acc0))) |
| handlers spawned / exited / alive | $(fig "$dir/stat0" spawned) / $(fig "$dir/stat0" exited) / 4 | $spawned / $exited / $handlers_now |
| pa-spawn descriptors | $sfd0 | $sfd1 |
| pa-spawn RSS (kB) | $srss0 | $srss1 |
| handler descriptors (each) | $hfd0 | $hfd1 |
| largest handler RSS (kB) | $hrss0 | $hrss1 |
| slots in use / gone | $(($(fig "$dir/stat0" idle) + $(fig "$dir/stat0" busy))) / $(fig "$dir/stat0" gone) | $slots_used / $(fig "$dir/stat1" gone) |
| zombies | | $z |
| lost_eagain / econnaborted / emfile | | $(fig "$dir/stat1" lost_eagain) / $(fig "$dir/stat1" lost_econnaborted) / $(fig "$dir/stat1" lost_emfile) |
| futile wake-ups / wake-ups | | $(fig "$dir/stat1" futile_wakeups) / $(fig "$dir/stat1" wakeups) |
| queue_peak / maxed | | $(fig "$dir/stat1" queue_peak) / $(fig "$dir/stat1" maxed) |
| seconds, connections a second | | $secs, $((attempted / (secs > 0 ? secs : 1))) |

EOF

check "all $conns attempted" test "$attempted" -eq "$conns"
check "every attempt served (failed: $failed)" test "$failed" -eq 0
check "accepted grew by ok + failed" test $((acc1 - acc0)) -eq "$attempted"
check "pa-spawn descriptors flat ($sfd0 -> $sfd1)" test "$sfd0" -eq "$sfd1"
check "pa-spawn RSS flat ($srss0 -> $srss1 kB)" \
    test "$srss1" -le $((srss0 + srss0 / 10 + 512))
check "handler descriptors flat ($hfd0-> $hfd1)" test "$hfd0" = "$hfd1"
check "handler RSS flat ($hrss0 -> $hrss1 kB)" \
    test "$hrss1" -le $((hrss0 + hrss0 / 10 + 512))
check "no zombie ($z)" test "$z" -eq 0
check "slots in use = 4 handlers x 2 threads ($slots_used)" test "$slots_used" -eq 8
check "spawned - exited = alive ($spawned - $exited = $handlers_now)" \
    test $((spawned - exited)) -eq "$handlers_now"
if grep -vE 'handler [0-9]+ pid [0-9]+ (exited 0|retired)|^$' "$dir/pool.err" | grep -q .; then
	echo "soak: pa-spawn said:" >&2
	sort "$dir/pool.err" | uniq -c | sort -rn | head -10 >&2
fi
exit $fail
