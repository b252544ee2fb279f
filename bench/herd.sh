#!/usr/bin/env bash
# bench/herd.sh: the thundering-herd benchmark (run by bench/run.sh, or alone).
#
# 8, 64 and 256 waiting handlers, under sequential load (one connection at
# a time) and concurrent load (16 at a time), each connection running
# hello-static.  For each pool:
#   pa          pa-spawn and pa-handler: FUTEX_WAKE(queue length)
#   pa-threads  the same with handlers of 8 threads (-t 8)
#   wake-all    the same pa-handler under bench/herdspawn -a: every
#               listener event wakes every waiting handler (reference)
#   accept      bench/prefork: processes blocking in plain accept(2), the
#               kernel's exclusive wake-up (reference)
# it reports per accepted connection the futile wake-ups (woken, first
# accept found nothing) and wake-ups, the context switches of the pool's
# live threads (/proc: the programs run per connection are not counted),
# and the spread of connections over handlers (max/mean).  Markdown on
# stdout.
#
# Environment: BENCH_QUICK=1 (shorter loads, 8 and 256 only),
# BENCH_HERD_SIZES (default "8 64 256"), BENCH_HERD_SECS (seconds per load, default 2; quick 1),
# BENCH_HERD_CONC (the concurrent load, default 16).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BB=$ROOT/build/opt/bench
HOST=127.0.0.1
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	SIZES=${BENCH_HERD_SIZES:-8 256}
	SECS=${BENCH_HERD_SECS:-1}
else
	SIZES=${BENCH_HERD_SIZES:-8 64 256}
	SECS=${BENCH_HERD_SECS:-2}
fi
CONC=${BENCH_HERD_CONC:-16}
PROG=$BB/hello-static
T=$(mktemp -d /tmp/pa-herd.XXXXXX)
PIDS=()
# shellcheck source=bench/lib.sh
. bench/lib.sh

# usr1 NAME PID: ask PID for its counters (USR1), print the line it adds.
usr1() {
	local n i
	n=$(wc -l <"$T/$1.out")
	kill -USR1 "$2"
	for ((i = 0; i < 100; i++)); do
		if [ "$(wc -l <"$T/$1.out")" -gt "$n" ]; then
			tail -n 1 "$T/$1.out"
			return 0
		fi
		sleep 0.02
	done
	return 1
}

# counters KIND NAME PID: one line "accepted=N futile=N wakeups=N slots=a,b,..."
counters() {
	local line
	case $1 in
	pa*)
		line=$("$ROOT/bin/pa-ctl" -c "$T/$2.ctl" stat | sed -n \
		    -e 's/^accepted: /accepted=/p' \
		    -e 's/^futile_wakeups: /futile=/p' \
		    -e 's/^wakeups: /wakeups=/p' | tr '\n' ' ')
		echo "$line slots=$("$ROOT/bin/pa-ctl" -c "$T/$2.ctl" list |
		    awk 'NR > 1 { printf "%s%s", s, $5; s = "," }')"
		;;
	wake-all)
		usr1 "$2" "$3"
		;;
	accept)
		usr1 "$2" "$3" | awk '{ s = 0; l = ""
		    for (i = 2; i <= NF; i++) { s += $i; l = l (i > 2 ? "," : "") $i }
		    print "accepted=" s " futile=- wakeups=- slots=" l }'
		;;
	esac
}

# switches PID: "ALL SPAWNER", the context switches of the live threads of
# PID's session, and of PID itself (the spawner; prefork's parent, which
# only waits for its children, for the accept reference).
switches() {
	"$BB/sessstat" -l "$1" | awk -v p="$1" '
	    $1 == p { own = $4 }
	    /^procs=/ { for (i = 1; i <= NF; i++) if ($i ~ /^ctxsw=/) all = substr($i, 7) }
	    END { print all + 0, own + 0 }'
}

# waiting KIND NAME PID H: all H handlers wait (5 s at most).
waiting() {
	local i w
	for ((i = 0; i < 250; i++)); do
		case $1 in
		pa*)
			w=$("$ROOT/bin/pa-ctl" -c "$T/$2.ctl" stat 2>/dev/null |
			    sed -n 's/^waiting: //p') ;;
		wake-all)
			w=$(field waiting "$(usr1 "$2" "$3")") ;;
		accept)
			w=$(($(field procs "$("$BB/sessstat" "$3")") - 1)) ;;
		esac
		[ "${w:-0}" -ge "$4" ] && return 0
		sleep 0.02
	done
	say "$2: only ${w:-0} of $4 handlers waiting"
	return 1
}

# one KIND H: start the pool, run both loads, print two table rows.
one() {
	local kind=$1 h=$2 name=$1-$2 pid port c label pre post x0 x1 res
	case $kind in
	pa)
		start "$name" "$ROOT/bin/pa-listen" -1 "$HOST:0" \
		    "$ROOT/bin/pa-spawn" -c "$T/$name.ctl" -n "$h" \
		    "$ROOT/bin/pa-handler" "$PROG" ;;
	pa-threads)
		start "$name" "$ROOT/bin/pa-listen" -1 "$HOST:0" \
		    "$ROOT/bin/pa-spawn" -c "$T/$name.ctl" -n $((h / 8)) \
		    "$ROOT/bin/pa-handler" -t 8 "$PROG" ;;
	wake-all)
		start "$name" "$ROOT/bin/pa-listen" -1 "$HOST:0" \
		    "$BB/herdspawn" -a -n "$h" "$ROOT/bin/pa-handler" "$PROG" ;;
	accept)
		start "$name" "$BB/prefork" -1 -n "$h" "$HOST" 0 "$PROG" ;;
	esac
	pid=$SPID
	if ! { port=$(first_line "$T/$name.out") && ready "$port" &&
	    waiting "$kind" "$name" "$pid" "$h"; }; then
		say "$name does not serve: $(head -c 300 "$T/$name.err")"
		stop "$pid"
		PIDS=()
		return 0
	fi
	for c in 1 "$CONC"; do
		label=sequential
		[ "$c" = 1 ] || label="$c concurrent"
		waiting "$kind" "$name" "$pid" "$h" || true
		pre=$(counters "$kind" "$name" "$pid")
		x0=$(switches "$pid")
		res=$("$BB/load" -c "$c" -d "$SECS" "$HOST" "$port")
		x1=$(switches "$pid")
		post=$(counters "$kind" "$name" "$pid")
		echo "$h $kind $label|$res|$pre|$post|$((${x1% *} - ${x0% *}))|$((${x1#* } - ${x0#* }))"
	done
	stop "$pid"
	PIDS=()
}

rows=$T/rows
: >"$rows"
for h in $SIZES; do
	for kind in pa pa-threads wake-all accept; do
		one "$kind" "$h" >>"$rows"
	done
	say "herd: $h handlers done"
done

echo "### Herd ($SECS s per load, hello-static per connection)"
echo
echo "| handlers | pool | load | conn/s | futile wake-ups/conn | wake-ups/conn | context switches/conn | of which the spawner's | spread max/mean |"
echo "|---:|---|---|---:|---:|---:|---:|---:|---:|"
awk -F'|' '
function kv(s, a,    n, f, i, p) {
	n = split(s, f, " ")
	for (i = 1; i <= n; i++)
		if ((p = index(f[i], "=")) > 0)
			a[substr(f[i], 1, p - 1)] = substr(f[i], p + 1)
}
function per(x, y, n) { return (x == "-" || n == 0) ? "n/a" : sprintf("%.3f", (y - x) / n) }
{
	split($1, h, " ")
	label = $1; sub(/^[^ ]+ [^ ]+ /, "", label)
	delete r; delete a; delete b
	kv($2, r); kv($3, a); kv($4, b)
	n = b["accepted"] - a["accepted"]
	ns = split(a["slots"], sa, ","); split(b["slots"], sb, ",")
	max = 0; sum = 0
	for (i = 1; i <= ns; i++) {
		d = sb[i] - sa[i]; sum += d
		if (d > max) max = d
	}
	spread = (sum > 0 && ns > 0) ? sprintf("%.2f", max / (sum / ns)) : "n/a"
	printf "| %s | %s | %s | %.0f | %s | %s | %s | %s | %s |\n", h[1], h[2], label, \
	    r["rate"], per(a["futile"], b["futile"], n), per(a["wakeups"], b["wakeups"], n), \
	    (n ? sprintf("%.2f", $5 / n) : "n/a"), (n ? sprintf("%.2f", $6 / n) : "n/a"), spread
}' "$rows"
echo
echo "futile and wake-ups: pa's own counters (pa-ctl stat; herdspawn reads the"
echo "same region).  n/a for plain accept(2): the kernel wakes one waiter per"
echo "connection and nothing counts it.  Context switches: the pool's live"
echo "threads only (spawner and handlers), voluntary and involuntary; the"
echo "spawner's share is pa-spawn's (herdspawn's; for accept, prefork's parent,"
echo "which only waits for its children)."
