#!/usr/bin/env bash
# bench/run.sh: pa against the peers, side by side, in one run (make bench).
#
# For each per-connection program (hello-static, hello-dyn), starts every
# server on its own port of 127.0.0.1 (pa, a bare prefork loop, tcpserver
# with a raised backlog and with its defaults, tcpsvd, socat, xinetd), then
# for each concurrency and repetition runs the same load against each in
# turn (interleaved: A B C ... A B C ...), with the raw spawn limit
# (spawnloop, no network: posix_spawn, and vfork+execve) in the same
# rotation.  Server CPU is read from
# /proc for the server's session (sessstat) before and after each load.
# Prints a markdown report on stdout and keeps it, with the raw lines, in
# $BENCH_OUT (default build/bench).  Every process it starts, it stops.
#
# Environment:
#   BENCH_QUICK=1      a smoke run of about a minute (1 repetition of 1 s)
#   BENCH_REPS=N       repetitions (default 3; quick: 1)
#   BENCH_SECS=N       seconds per load (default 2; quick: 1)
#   BENCH_CONC="1 8 64"        concurrencies
#   BENCH_PROGS="hello-static hello-dyn"
#   BENCH_SERVERS="pa prefork tcpserver tcpserver-default tcpsvd socat xinetd"
#   BENCH_HANDLERS=N   pool size of pa and prefork (default: what pa-spawn
#                      picks without -n, the number of CPUs but at least 4)
#   BENCH_PA_ALT=PATH  also run pa with this handler instead of pa-handler
#                      ("pa-alt" in the tables): an A/B of a change
#   BENCH_HERD=0       skip the herd benchmark
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
PROGS=${BENCH_PROGS:-hello-static hello-dyn}
SERVERS=${BENCH_SERVERS:-pa prefork tcpserver tcpserver-default tcpsvd socat xinetd}
NCPU=$(nproc)
HANDLERS=${BENCH_HANDLERS:-$((NCPU > 4 ? NCPU : 4))}
HOST=127.0.0.1

mkdir -p "$OUT"
T=$(mktemp -d /tmp/pa-bench.XXXXXX)
RAW=$OUT/raw.txt
MEM=$OUT/mem.txt
REPORT=$OUT/report.md
: >"$RAW"
: >"$MEM"
rm -f "$OUT/herd.md" "$OUT/syscalls.md"
PIDS=()
# shellcheck source=bench/lib.sh
. bench/lib.sh

# The peers, from Debian's packages (as root; otherwise it says what to
# install and the peers it lacks are left out).
sh scripts/deps.sh bench || say "peers missing: those not installed are left out"

# start_server NAME PROG: start server NAME running PROG per connection in
# a session of its own; sets SPID and SPORT.
start_server() {
	local name=$1 prog=$2 port='' cmd
	case $name in
	pa)
		cmd=("$ROOT/bin/pa-listen" -1 "$HOST:0" "$ROOT/bin/pa-spawn"
		    -c "$T/pa.ctl" -n "$HANDLERS" "$ROOT/bin/pa-handler" "$prog") ;;
	pa-alt)
		cmd=("$ROOT/bin/pa-listen" -1 "$HOST:0" "$ROOT/bin/pa-spawn"
		    -c "$T/pa-alt.ctl" -n "$HANDLERS" "$BENCH_PA_ALT" "$prog") ;;
	prefork)
		cmd=("$BB/prefork" -1 -n "$HANDLERS" "$HOST" 0 "$prog") ;;
	tcpserver)
		cmd=(tcpserver -1 -H -R -l 0 -b 1024 "$HOST" 0 "$prog") ;;
	tcpserver-default)
		cmd=(tcpserver -1 -H -R -l 0 "$HOST" 0 "$prog") ;;
	tcpsvd)
		port=$(free_port)
		cmd=(tcpsvd -l 0 -b 1024 "$HOST" "$port" "$prog") ;;
	socat)
		port=$(free_port)
		cmd=(socat "TCP-LISTEN:$port,bind=$HOST,reuseaddr,fork,backlog=1024"
		    "EXEC:$prog,nofork") ;;
	xinetd)
		port=$(free_port)
		cat >"$T/xinetd.conf" <<EOF
service pa-bench
{
	type		= UNLISTED
	id		= pa-bench
	port		= $port
	bind		= $HOST
	socket_type	= stream
	protocol	= tcp
	wait		= no
	user		= $(id -un)
	server		= $prog
	instances	= UNLIMITED
	per_source	= UNLIMITED
	cps		= 1000000 1
	log_on_success	=
	log_on_failure	=
}
EOF
		cmd=(xinetd -dontfork -f "$T/xinetd.conf" -pidfile "$T/xinetd.pid") ;;
	*)
		say "unknown server $name"
		return 1 ;;
	esac
	start "$name" "${cmd[@]}"
	await_server "$name" "$port"
}

have_pa() {
	[ -x bin/pa-listen ] && [ -x bin/pa-spawn ] && [ -x bin/pa-handler ]
}

# measure PROG SERVER C REP PID PORT: one load run, one raw line.
measure() {
	local prog=$1 name=$2 c=$3 rep=$4 pid=$5 port=$6 pre post res
	pre=$("$BB/sessstat" "$pid")
	res=$("$BB/load" -c "$c" -d "$SECS" "$HOST" "$port")
	post=$("$BB/sessstat" "$pid")
	echo "prog=$prog server=$name c=$c rep=$rep $res" \
	    "srv_cpu_ms=$(($(field cpu_ms "$post") - $(field cpu_ms "$pre")))" \
	    "srv_ctxsw=$(($(field ctxsw "$post") - $(field ctxsw "$pre")))" \
	    >>"$RAW"
}

# spawn_limit PROG C REP: the raw spawn rate, C programs at a time, with
# posix_spawn (server "spawn") and with vfork+execve ("vspawn").
spawn_limit() {
	local res
	res=$("$BB/spawnloop" -j "$2" -d "$SECS" "$1")
	echo "prog=$(basename "$1") server=spawn c=$2 rep=$3 $res" >>"$RAW"
	res=$("$BB/spawnloop" -v -j "$2" -d "$SECS" "$1")
	echo "prog=$(basename "$1") server=vspawn c=$2 rep=$3 $res" >>"$RAW"
}

command -v tcpserver >/dev/null || SERVERS=${SERVERS//tcpserver-default/}
for s in tcpserver tcpsvd socat xinetd; do
	if ! command -v "$s" >/dev/null && ! [ -x "/usr/sbin/$s" ]; then
		say "$s is not installed (sh scripts/deps.sh bench): left out"
		SERVERS=$(echo " $SERVERS " | sed "s/ $s / /")
	fi
done
if [ -n "${BENCH_PA_ALT:-}" ]; then
	SERVERS=$(echo " $SERVERS " | sed 's/ pa / pa pa-alt /')
fi
if ! have_pa; then
	say "bin/pa-* missing: pa left out of this run"
	SERVERS=$(echo " $SERVERS " | sed 's/ pa / /; s/ pa-alt / /')
fi
PATH=$PATH:/usr/sbin

START=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD0=$(cut -d ' ' -f 1-3 /proc/loadavg)
t0=$SECONDS
for prog in $PROGS; do
	path=$BB/$prog
	declare -A SP=() SPT=()
	live=()
	for s in $SERVERS; do
		if start_server "$s" "$path"; then
			SP[$s]=$SPID
			SPT[$s]=$SPORT
			live+=("$s")
		else
			say "$s left out for $prog"
		fi
	done
	say "$prog: serving: ${live[*]}"
	for c in $CONCS; do
		for ((rep = 1; rep <= REPS; rep++)); do
			for s in "${live[@]}"; do
				measure "$prog" "$s" "$c" "$rep" "${SP[$s]}" "${SPT[$s]}"
			done
			spawn_limit "$path" "$c" "$rep"
			say "$prog c=$c rep $rep/$REPS done ($((SECONDS - t0)) s)"
		done
	done
	# Memory, idle after the load: whole session, and per process.
	for s in "${live[@]}"; do
		echo "prog=$prog server=$s $("$BB/sessstat" -m "${SP[$s]}")" >>"$MEM"
		"$BB/sessstat" -l -m "${SP[$s]}" | sed '$d' |
		    sed "s/^/proc prog=$prog server=$s /" >>"$MEM"
	done
	# Every server started for this program, serving or not.
	for pid in "${PIDS[@]}"; do
		stop "$pid"
	done
	PIDS=()
	unset SP SPT
done

if [ "${BENCH_HERD:-1}" = 1 ] && have_pa; then
	bash bench/herd.sh >"$OUT/herd.md" || say "herd benchmark failed"
fi
bash bench/syscalls.sh >"$OUT/syscalls.md" || say "system call count failed"
# In-process handlers (libpa) against nginx, in the same run.
if [ "${BENCH_INPROC:-1}" = 1 ] && have_pa; then
	BENCH_OUT=$OUT bash bench/inproc.sh >/dev/null ||
	    say "in-process benchmark failed"
fi

{
	echo "## Results ($START)"
	echo
	echo "Machine: Linux $(uname -r), $(nproc) cores" \
	    "($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1))."
	echo "Command: \`make bench\` (BENCH_QUICK=${BENCH_QUICK:-0}," \
	    "$REPS repetitions of $SECS s, concurrency $CONCS," \
	    "$HANDLERS handlers for pa and prefork), $((SECONDS - t0)) s in all."
	echo "Load average (1, 5, 15 min) before the run: $LOAD0; after it:" \
	    "$(cut -d ' ' -f 1-3 /proc/loadavg)."
	echo
	awk -f bench/report.awk "$RAW" "$MEM"
	for f in herd syscalls inproc; do
		if [ -s "$OUT/$f.md" ]; then
			cat "$OUT/$f.md"
			echo
		fi
	done
} >"$REPORT"
cat "$REPORT"
