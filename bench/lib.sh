# shellcheck shell=bash
# bench/lib.sh: helpers shared by the benchmark scripts (run.sh, herd.sh,
# syscalls.sh, inproc.sh).  The caller sets BB (the benchmark programs),
# HOST and T (a scratch directory), and keeps the pids it starts in PIDS.
# Sourcing it arranges that every one of them is stopped and T removed
# when the script exits.

say() { printf 'bench: %s\n' "$*" >&2; }

# stop PID: TERM it, KILL its process group after 3 s, reap it.
stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		# A zombie child of ours still answers kill -0: reap it.
		case "$(ps -o stat= -p "$pid" 2>/dev/null)" in Z*) break ;; esac
		sleep 0.02
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# start NAME CMD...: run CMD in a session of its own (setsid: its session
# is its process tree), output in $T/NAME.out and .err; sets SPID.
start() {
	local name=$1
	shift
	# Empty the files here: the child's redirection happens later, and a
	# reader must not see what an earlier process of that name wrote.
	: >"$T/$name.out"
	: >"$T/$name.err"
	setsid "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null &
	SPID=$!
	PIDS+=("$SPID")
}

# free_port: a TCP port of 127.0.0.1 outside the ephemeral range, unused.
NEXTPORT=$((20000 + RANDOM % 8000))
free_port() {
	while [ -n "$(ss -Htan "( sport = :$NEXTPORT )" 2>/dev/null)" ]; do
		NEXTPORT=$((NEXTPORT + 1))
	done
	echo "$NEXTPORT"
	NEXTPORT=$((NEXTPORT + 1))
}

# field KEY LINE: the value of KEY=value (or "KEY: value" lines) in LINE.
field() {
	local kv
	for kv in $2; do
		case $kv in "$1"=*) echo "${kv#*=}"; return ;; esac
	done
	echo 0
}

# ready PORT [REQUEST]: wait (5 s at most) until one connection (sending
# REQUEST, if given) gets its response.
ready() {
	local i req=()
	[ -n "${2-}" ] && req=(-r "$2")
	for ((i = 0; i < 100; i++)); do
		case "$("$BB/load" -n 1 -t 1000 "${req[@]}" "$HOST" "$1" 2>/dev/null)" in
		conns=1\ *) return 0 ;;
		esac
		sleep 0.05
	done
	return 1
}

# first_line FILE: wait (5 s at most) for a line in FILE; print it.
first_line() {
	local i
	for ((i = 0; i < 100; i++)); do
		# A whole line: its newline written.
		if [ "$(head -n 1 "$1" | wc -l)" -gt 0 ]; then
			head -n 1 "$1"
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# await_server NAME PORT [REQUEST]: NAME, just started, serves: its port
# is PORT or (PORT empty) the first line it printed; sets SPORT, warms it
# up with 300 connections.
await_server() {
	local name=$1 port=$2 req=()
	[ -n "${3-}" ] && req=(-r "$3")
	if [ -z "$port" ]; then
		port=$(first_line "$T/$name.out") || {
			say "$name printed no port: $(head -c 300 "$T/$name.err")"
			return 1
		}
	fi
	# shellcheck disable=SC2034 # the caller's
	SPORT=$port
	if ! ready "$port" "${3-}"; then
		say "$name does not serve on port $port: $(head -c 300 "$T/$name.err")"
		return 1
	fi
	"$BB/load" -c 8 -n 300 "${req[@]}" "$HOST" "$port" >/dev/null	# warm-up
}

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		stop "$pid"
	done
	PIDS=()
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
