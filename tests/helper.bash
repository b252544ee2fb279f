# shellcheck shell=bash
# helper.bash: start, wait-for-ready and stop helpers shared by the suites.
#
# Every process a test starts goes through pa_start, which runs it in a
# session of its own and records its pid; teardown ends each session
# (TERM, then KILL after a deadline) and reaps it.  Waits are loops on a
# readiness sign with a deadline, never bare sleeps.

PA_BIN=${PA_BIN:-$BATS_TEST_DIRNAME/../bin}
PA_UNITDIR=${PA_UNITDIR:-$BATS_TEST_DIRNAME/../build/opt/unit}
PATH="$PA_BIN:$BATS_TEST_DIRNAME/bin:$PATH"
PA_PIDS=()

# pa_start NAME CMD...: run CMD in the background in its own session,
# stdout to $BATS_TEST_TMPDIR/NAME.out, stderr to NAME.err; sets PA_PID.
pa_start() {
	local name=$1
	shift
	setsid "$@" >"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" </dev/null &
	PA_PID=$!
	PA_PIDS+=("$PA_PID")
	echo "$PA_PID" >"$BATS_TEST_TMPDIR/$name.pid"
}

# wait_for SECONDS CMD...: run CMD until it succeeds, for at most SECONDS.
wait_for() {
	local limit=$1 end
	shift
	end=$((SECONDS + limit))
	until "$@"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "wait_for: timed out after ${limit}s: $*" >&2
			return 1
		fi
		sleep 0.02
	done
}

# file_has_line FILE: FILE holds at least one complete line.
file_has_line() {
	[ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]
}

# wait_port NAME: wait for the -1 line of process NAME; prints it.
wait_port() {
	wait_for 5 file_has_line "$BATS_TEST_TMPDIR/$1.out" || return 1
	head -n 1 "$BATS_TEST_TMPDIR/$1.out"
}

# alive PID: PID exists and is not a zombie.
alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case "$st" in Z*) return 1 ;; esac
}

dead() { ! alive "$1"; }

# stop_pid PID: TERM the session of PID, KILL it after 5 s, reap it.
stop_pid() {
	local pid=$1
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
	if ! wait_for 5 dead "$pid" 2>/dev/null; then
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || true
}

# Teardown of every suite: end whatever pa_start started, session by session.
pa_teardown() {
	local pid
	for pid in "${PA_PIDS[@]}"; do
		stop_pid "$pid"
		# Whatever is left of the session (handlers, PROGs) goes too.
		kill -KILL -- "-$pid" 2>/dev/null || true
	done
	PA_PIDS=()
}

teardown() {
	pa_teardown
}

# run_unit NAME: run a C unit test program from $PA_UNITDIR.
# shellcheck disable=SC2154 # bats' run sets output and status
run_unit() {
	run timeout 60 "$PA_UNITDIR/$1"
	echo "$output"
	[ "$status" -eq 0 ]
}

# tcp_get HOST PORT [DATA]: connect, send DATA (if any), print the reply.
tcp_get() {
	local data=${3-}
	# shellcheck disable=SC2016 # expanded by the inner shell
	timeout 5 bash -c 'exec 5<>"/dev/tcp/$1/$2" || exit 1
		[ -n "$3" ] && printf "%s" "$3" >&5
		cat <&5' _ "$1" "$2" "$data"
}

# unix_get PATH [DATA]: the same over a unix socket.
unix_get() {
	printf '%s' "${2-}" | timeout 5 nc -N -U "$1"
}

# free_port: a port free a moment ago (for programs that cannot bind port
# 0 and say which); the caller retries if it is taken meanwhile.
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
