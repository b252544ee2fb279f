#!/usr/bin/env bash
# bench/inproc.sh: handlers that serve in-process (libpa's
# examples/hello-http under pa-spawn) against nginx (Debian's nginx-light,
# return 200, two worker processes) and against a raw blocking-accept
# loop in two processes (bench/inproc-accept), same HTTP/1.0 request and a
# connection per request, side by side (make bench-inproc).
#
# For each concurrency and repetition, each server in turn (interleaved),
# bench/load for BENCH_SECS seconds; server CPU from /proc for the
# server's session (sessstat) before and after.  Prints a markdown report
# and keeps it, with the raw lines, in $BENCH_OUT (default build/bench):
# inproc.md and inproc-raw.txt.  Every process it starts, it stops.
#
# Environment:
#   BENCH_QUICK=1      a smoke run (1 repetition of 1 s)
#   BENCH_REPS=N       repetitions (default 3; quick: 1)
#   BENCH_SECS=N       seconds per load (default 2; quick: 1)
#   BENCH_CONC="1 8 64"        concurrencies
#   BENCH_INPROC_SERVERS="pa pa-many nginx accept"  (also: pa-t, pa-4, and
#                      the alternatives below by name)
#   BENCH_INPROC_N=N   processes of pa, nginx and the accept loop (default 2)
#   BENCH_INPROC_MANY=N  processes of pa-many: a pool larger than the
#                      machine, against the same nginx (default 16)
#   BENCH_INPROC_ALT=PATH  also run pa with this handler program instead
#                      of examples/hello-http ("pa-alt"): an A/B of a change
#   BENCH_INPROC_SPAWN_ALT=PATH  also run pa with this pa-spawn ("pa-spawn-alt");
#                      with BENCH_INPROC_ALT too, also both together ("pa-both")
#   BENCH_INPROC_DEFER=1  every server with TCP_DEFER_ACCEPT (pa-listen -d 1,
#                      nginx's deferred, inproc-accept -d 1)
#   BENCH_OUT=DIR      where results go
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BB=$ROOT/build/opt/bench
OUT=${BENCH_OUT:-$ROOT/build/bench}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	REPS=${BENCH_REPS:-1}
	SECS=${BENCH_SECS:-1}
else
	REPS=${BENCH_REPS:-3}
	SECS=${BENCH_SECS:-2}
fi
CONCS=${BENCH_CONC:-1 8 64}
SERVERS=${BENCH_INPROC_SERVERS:-pa pa-many nginx accept}
N=${BENCH_INPROC_N:-2}
MANY=${BENCH_INPROC_MANY:-16}
DEFER=()
DEFERRED=
DNOTE=
if [ "${BENCH_INPROC_DEFER:-0}" = 1 ]; then
	DEFER=(-d 1)
	DEFERRED=' deferred'
	DNOTE=', TCP_DEFER_ACCEPT'
fi
HOST=127.0.0.1
REQ=$'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n'

mkdir -p "$OUT"
T=$(mktemp -d /tmp/pa-inproc.XXXXXX)
chmod 755 "$T"
RAW=$OUT/inproc-raw.txt
REPORT=$OUT/inproc.md
: >"$RAW"
PIDS=()
# shellcheck source=bench/lib.sh
. bench/lib.sh

# The alternatives join the default list; a list given names its own.
if [ -z "${BENCH_INPROC_SERVERS:-}" ]; then
	if [ -n "${BENCH_INPROC_ALT:-}" ]; then
		SERVERS=$(echo " $SERVERS " | sed 's/ pa / pa pa-alt /')
	fi
	if [ -n "${BENCH_INPROC_SPAWN_ALT:-}" ]; then
		SERVERS=$(echo " $SERVERS " | sed 's/ pa / pa pa-spawn-alt /')
		if [ -n "${BENCH_INPROC_ALT:-}" ]; then
			SERVERS=$(echo " $SERVERS " | sed 's/ pa-spawn-alt / pa-spawn-alt pa-both /')
		fi
	fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if ! [ -x "$NGINX" ]; then
	say "nginx is not installed (sh scripts/deps.sh bench): left out"
	SERVERS=$(echo " $SERVERS " | sed 's/ nginx / /')
fi

# start_server NAME: start it in a session of its own; sets SPID, SPORT.
start_server() {
	local name=$1 port='' cmd
	case $name in
	pa)
		cmd=("$ROOT/bin/pa-listen" -1 "${DEFER[@]}" "$HOST:0" "$ROOT/bin/pa-spawn"
		    -q -c "$T/$name.ctl" -n "$N" "$ROOT/examples/hello-http") ;;
	pa-t)	# one process, N threads
		cmd=("$ROOT/bin/pa-listen" -1 "${DEFER[@]}" "$HOST:0" "$ROOT/bin/pa-spawn"
		    -q -c "$T/$name.ctl" -n 1 "$ROOT/examples/hello-http" -t "$N") ;;
	pa-many)	# more processes than processors
		cmd=("$ROOT/bin/pa-listen" -1 "${DEFER[@]}" "$HOST:0" "$ROOT/bin/pa-spawn"
		    -q -c "$T/$name.ctl" -n "$MANY" "$ROOT/examples/hello-http") ;;
	pa-4)	# twice the processes
		cmd=("$ROOT/bin/pa-listen" -1 "${DEFER[@]}" "$HOST:0" "$ROOT/bin/pa-spawn"
		    -q -c "$T/$name.ctl" -n "$((2 * N))" "$ROOT/examples/hello-http") ;;
	pa-alt)
		cmd=("$ROOT/bin/pa-listen" -1 "${DEFER[@]}" "$HOST:0" "$ROOT/bin/pa-spawn"
		    -q -c "$T/$name.ctl" -n "$N" "$BENCH_INPROC_ALT") ;;
	pa-spawn-alt)
		cmd=("$ROOT/bin/pa-listen" -1 "${DEFER[@]}" "$HOST:0" "$BENCH_INPROC_SPAWN_ALT"
		    -q -c "$T/$name.ctl" -n "$N" "$ROOT/examples/hello-http") ;;
	pa-both)
		cmd=("$ROOT/bin/pa-listen" -1 "${DEFER[@]}" "$HOST:0" "$BENCH_INPROC_SPAWN_ALT"
		    -q -c "$T/$name.ctl" -n "$N" "$BENCH_INPROC_ALT") ;;
	accept)
		cmd=("$BB/inproc-accept" -1 "${DEFER[@]}" -n "$N" "$HOST" 0) ;;
	nginx)
		port=$(free_port)
		sed -e "s|@DIR@|$T|g" -e "s|@PORT@|$port|g" \
		    -e "s|@DEFERRED@|$DEFERRED|" \
		    -e "s|^worker_processes 2;|worker_processes $N;|" \
		    bench/nginx/nginx.conf.in >"$T/nginx.conf"
		cmd=("$NGINX" -p "$T" -c "$T/nginx.conf") ;;
	*)
		say "unknown server $name"
		return 1 ;;
	esac
	start "$name" "${cmd[@]}"
	await_server "$name" "$port" "$REQ"
}

# own_ms PID: CPU time of the process PID alone (utime + stime), in ms.
HZ=$(getconf CLK_TCK)
own_ms() {
	awk -v hz="$HZ" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"
}

# measure SERVER C REP PID PORT: one load run, one raw line.  For pa, the
# session leader is pa-spawn (pa-listen executes it): its own share too.
measure() {
	local name=$1 c=$2 rep=$3 pid=$4 port=$5 pre post res own0 own1
	pre=$("$BB/sessstat" "$pid")
	own0=$(own_ms "$pid")
	res=$("$BB/load" -c "$c" -d "$SECS" -r "$REQ" "$HOST" "$port")
	own1=$(own_ms "$pid")
	post=$("$BB/sessstat" "$pid")
	echo "server=$name c=$c rep=$rep $res" \
	    "srv_cpu_ms=$(($(field cpu_ms "$post") - $(field cpu_ms "$pre")))" \
	    "srv_ctxsw=$(($(field ctxsw "$post") - $(field ctxsw "$pre")))" \
	    "lead_cpu_ms=$((own1 - own0))" >>"$RAW"
}

# The table: medians over the repetitions (min-max), ratios of the
# medians to nginx and to the accept loop at the same concurrency.
# shellcheck disable=SC2016 # the dollars are awk's
TABLE='
function med(k, m,   a, i, j, t) {
	for (i = 1; i <= m; i++)
		a[i] = val[k, i]
	for (i = 2; i <= m; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	lo = a[1]; hi = a[m]
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
{
	delete v
	for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		v[kv[1]] = kv[2]
	}
	k = v["server"] SUBSEP v["c"]
	n[k]++
	val["r" k, n[k]] = v["rate"]
	val["p" k, n[k]] = v["p99_us"]
	cpu[k] += v["srv_cpu_ms"]
	lead[k] += v["lead_cpu_ms"]
	sw[k] += v["srv_ctxsw"]
	cn[k] += v["conns"]
	if (!(v["c"] in seen)) {
		seen[v["c"]] = 1
		cs[++nc] = v["c"]
	}
}
END {
	ns = split(servers, sv, " ")
	print "| server | c | conn/s | p99 ms | server CPU µs/conn | of which pa-spawn | switches/conn | vs nginx | vs accept |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (ci = 1; ci <= nc; ci++) {
		c = cs[ci]
		for (si = 1; si <= ns; si++) {
			k = sv[si] SUBSEP c
			if (!(k in n))
				continue
			r[sv[si]] = med("r" k, n[k])
		}
		for (si = 1; si <= ns; si++) {
			s = sv[si]
			k = s SUBSEP c
			if (!(k in n))
				continue
			rate = med("r" k, n[k]); rlo = lo; rhi = hi
			p = med("p" k, n[k]); plo = lo; phi = hi
			rn = ("nginx" in r) && r["nginx"] > 0 ? sprintf("%.2f", rate / r["nginx"]) : "-"
			ra = ("accept" in r) && r["accept"] > 0 ? sprintf("%.2f", rate / r["accept"]) : "-"
			ld = s ~ /^pa/ && cn[k] > 0 ? sprintf("%.1f", lead[k] * 1000 / cn[k]) : "-"
			printf "| %s | %s | %.0f (%.0f-%.0f) | %.2f (%.2f-%.2f) | %.1f | %s | %.2f | %s | %s |\n",
			    s, c, rate, rlo, rhi, p / 1000, plo / 1000, phi / 1000,
			    (cn[k] > 0 ? cpu[k] * 1000 / cn[k] : 0), ld,
			    (cn[k] > 0 ? sw[k] / cn[k] : 0), rn, ra
		}
		delete r
	}
}'

START=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD0=$(cut -d ' ' -f 1-3 /proc/loadavg)
t0=$SECONDS
declare -A SP=() SPT=()
live=()
for s in $SERVERS; do
	if start_server "$s"; then
		SP[$s]=$SPID
		SPT[$s]=$SPORT
		live+=("$s")
	else
		say "$s left out"
	fi
done
say "serving: ${live[*]}"
for c in $CONCS; do
	for ((rep = 1; rep <= REPS; rep++)); do
		for s in "${live[@]}"; do
			measure "$s" "$c" "$rep" "${SP[$s]}" "${SPT[$s]}"
		done
		say "c=$c rep $rep/$REPS done ($((SECONDS - t0)) s)"
	done
done
for pid in "${PIDS[@]}"; do
	stop "$pid"
done
PIDS=()

{
	echo "## In-process handlers ($START)"
	echo
	echo "Machine: Linux $(uname -r), $(nproc) cores" \
	    "($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1))."
	echo "Command: \`make bench-inproc\` (BENCH_QUICK=${BENCH_QUICK:-0}," \
	    "$REPS repetitions of $SECS s, concurrency $CONCS, $N processes" \
	    "each$DNOTE; pa-many: $MANY processes), $((SECONDS - t0)) s in all."
	echo "Load average (1, 5, 15 min) before the run: $LOAD0; after it:" \
	    "$(cut -d ' ' -f 1-3 /proc/loadavg)."
	echo
	awk -v servers="${live[*]}" "$TABLE" "$RAW"
} >"$REPORT"
cat "$REPORT"
