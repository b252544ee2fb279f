#!/usr/bin/env bash
# bench/syscalls.sh: system calls per connection, counted with strace(1)
# (run by bench/run.sh, or alone).
#
# For pa (one handler), prefork (one process) and tcpserver, serving
# hello-static, strace -f follows the server's processes through N
# sequential connections and the calls are sorted out by process: the
# server's own (pa: pa-spawn and pa-handler apart), those of each child
# from its birth to its execve (the cost of starting the program: signal
# resets, descriptor moves), and the program's own after execve (the same
# two calls for every server).  Counts are exact; strace's slowdown does
# not change them.  Markdown on stdout.
#
# Environment: BENCH_SYSCALL_CONNS (default 200).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BB=$ROOT/build/opt/bench
HOST=127.0.0.1
N=${BENCH_SYSCALL_CONNS:-200}
PROG=$BB/hello-static
T=$(mktemp -d /tmp/pa-sys.XXXXXX)
PIDS=()
# shellcheck source=bench/lib.sh
. bench/lib.sh

command -v strace >/dev/null || { say "strace is not installed"; exit 0; }

# attached TRACER PID...: every PID is traced by TRACER.
attached() {
	local tracer=$1 p
	shift
	for p; do
		grep -q "^TracerPid:[[:space:]]*$tracer\$" "/proc/$p/status" ||
		    return 1
	done
}

# trace NAME: strace the processes of the server's session through N
# connections; one table row.
trace() {
	local name=$1 sid=$SPID port=$SPORT pids spid i
	# Every thread: strace reports calls by thread id.
	pids=$(ps -L -o lwp= -s "$sid" | xargs)
	"$BB/load" -c 1 -n 20 "$HOST" "$port" >/dev/null	# warm-up
	strace -f -qq -o "$T/$name.st" -p "${pids// /,}" 2>"$T/$name.strace-err" &
	spid=$!
	PIDS+=("$spid")
	# Wait until every process is attached (its TracerPid is set).
	for ((i = 0; i < 250; i++)); do
		# shellcheck disable=SC2086
		attached "$spid" $pids && break
		sleep 0.02
	done
	"$BB/load" -c 1 -n "$N" "$HOST" "$port" >"$T/$name.load"
	kill -INT "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	awk -v n="$N" -v name="$name" -v servers="$pids" -v names="$(
	    ps -L -o lwp=,comm= -s "$sid" | xargs)" '
	BEGIN {
		ns = split(servers, s, " ")
		for (i = 1; i <= ns; i++) srv[s[i]] = 1
		nn = split(names, nm, " ")
		for (i = 1; i + 1 <= nn; i += 2) comm[nm[i]] = nm[i + 1]
	}
	$2 ~ /^<\.\.\./ || $2 ~ /^\+\+\+/ || $2 ~ /^---/ { next }
	{
		pid = $1; call = $2; sub(/\(.*/, "", call)
		if (pid in srv) {
			own[comm[pid]]++
			top[call]++
		} else if (!(pid in execd)) {
			child++
			ctop[call]++
			if (call == "execve") execd[pid] = 1
		} else
			prog++
	}
	function best(a,    k, b, bk, out, j) {
		out = ""
		for (j = 0; j < 3; j++) {
			b = 0; bk = ""
			for (k in a) if (a[k] > b) { b = a[k]; bk = k }
			if (bk == "") break
			out = out (out == "" ? "" : ", ") sprintf("%s %.1f", bk, b / n)
			delete a[bk]
		}
		return out
	}
	END {
		o = ""
		for (c in own) o = o (o == "" ? "" : " + ") sprintf("%s %.1f", c, own[c] / n)
		printf "| %s | %s | %s | %.1f | %s | %.1f |\n", name, o, best(top), \
		    child / n, best(ctop), prog / n
	}' "$T/$name.st"
}

echo "### System calls per connection ($N sequential connections, hello-static, strace -f)"
echo
echo "| server | server processes | most frequent | child before its exec | most frequent | program |"
echo "|---|---|---|---:|---|---:|"
for name in pa prefork tcpserver; do
	case $name in
	pa)
		[ -x bin/pa-listen ] || continue
		start pa "$ROOT/bin/pa-listen" -1 "$HOST:0" "$ROOT/bin/pa-spawn" \
		    -c "$T/pa.ctl" -n 1 "$ROOT/bin/pa-handler" "$PROG" ;;
	prefork)
		start prefork "$BB/prefork" -1 -n 1 "$HOST" 0 "$PROG" ;;
	tcpserver)
		command -v tcpserver >/dev/null || continue
		start tcpserver tcpserver -1 -H -R -l 0 "$HOST" 0 "$PROG" ;;
	esac
	if SPORT=$(first_line "$T/$name.out") && ready "$SPORT"; then
		trace "$name"
	else
		say "$name does not serve"
	fi
	stop "$SPID"
	PIDS=()
done
echo
echo "Calls counted at their start; a child is counted from its birth to its"
echo "execve (inclusive), the program after it."
