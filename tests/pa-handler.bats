#!/usr/bin/env bats
# pa-handler: the worker.  Alone under pa-listen, and in the whole chain
# pa-listen -> pa-spawn -> pa-handler -> PROG.
# shellcheck disable=SC2016,SC2154 # PROG scripts are single-quoted on purpose; run sets stderr

bats_require_minimum_version 1.5.0
load helper

# alone NAME ADDRESS HANDLER-ARGS...: pa-listen -1 ADDRESS pa-handler ...;
# sets PORT (the -1 line) and HPID.
alone() {
	local name=$1 addr=$2
	shift 2
	pa_start "$name" pa-listen -1 "$addr" pa-handler "$@"
	HPID=$PA_PID
	PORT=$(wait_port "$name")
}

# pool NAME ADDRESS N HANDLER-ARGS...: the whole chain with N handlers
# (control socket in the test's directory); sets PORT and SPID (pa-spawn's
# pid, the session leader).
pool() {
	local name=$1 addr=$2 n=$3
	shift 3
	pa_start "$name" pa-listen -1 "$addr" \
	    pa-spawn -c "$BATS_TEST_TMPDIR/$name.ctl" -n "$n" pa-handler "$@"
	SPID=$PA_PID
	PORT=$(wait_port "$name")
}

# handlers PID: the pids of PID's children, one a line.
handlers() {
	ps -o pid= --ppid "$1" | tr -d ' '
}

# nhandlers_are PID N: PID has N children.
nhandlers_are() {
	[ "$(handlers "$1" | grep -c .)" -eq "$2" ]
}

# ucspi FILE: the UCSPI and pa lines of h-env.sh output, names only
# for the per-connection values.
ucspi_names() {
	grep -E '^(PROTO|TCP[A-Z]*|UNIX[A-Z]*|PA_[A-Z_]*|LISTEN_[A-Z]*|NOTIFY_SOCKET)=' "$1" |
	    sed 's/=.*//' | LC_ALL=C sort | tr '\n' ' '
}

# check_prog_sees FILE: no pa descriptor, empty mask, default dispositions.
check_clean_prog() {
	sed -n '/^PROTO=/p; /^TCP/p; /^UNIX/p; /^fd /p; /^sig/p' "$1"
	run grep -E '^fd ' "$1"
	[ "$output" = "$(printf 'fd 0\nfd 1\nfd 2')" ]
	grep -qx 'sigblk 0000000000000000' "$1"
	grep -qx 'sigign 0000000000000000' "$1"
}

# inside DIR: how many h-wait.sh are inside.
inside() {
	find "$1" -name 'in.*' | wc -l
}

# inside_is DIR N: N h-wait.sh are inside.
inside_is() {
	[ "$(inside "$1")" -eq "$2" ]
}

# lines_at_least FILE PATTERN N: FILE has at least N lines matching.
lines_at_least() {
	[ "$(grep -c -- "$2" "$1")" -ge "$3" ]
}

# queued PORT N: the listener on PORT has N connections in its accept queue.
queued() {
	[ "$(ss -Hltn "sport = :$1" | awk '{ print $2 }')" = "$2" ]
}

@test "alone under pa-listen: PROG sees exactly the UCSPI environment over TCP v4" {
	NOTIFY_SOCKET=/nonexistent LISTEN_FDNAMES=x alone h 127.0.0.1:0 h-env.sh
	tcp_get 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/env"
	[ "$(ucspi_names "$BATS_TEST_TMPDIR/env")" = \
	    "PROTO TCPLOCALIP TCPLOCALPORT TCPREMOTEIP TCPREMOTEPORT " ]
	grep -qx 'PROTO=TCP' "$BATS_TEST_TMPDIR/env"
	grep -qx 'TCPLOCALIP=127.0.0.1' "$BATS_TEST_TMPDIR/env"
	grep -qx "TCPLOCALPORT=$PORT" "$BATS_TEST_TMPDIR/env"
	grep -qx 'TCPREMOTEIP=127.0.0.1' "$BATS_TEST_TMPDIR/env"
	grep -qxE 'TCPREMOTEPORT=[1-9][0-9]*' "$BATS_TEST_TMPDIR/env"
	grep -qx 'HOME=.*' "$BATS_TEST_TMPDIR/env"
	check_clean_prog "$BATS_TEST_TMPDIR/env"
	alive "$HPID"
}

@test "alone: PROG starts with default dispositions though pa-handler inherited ignored ones" {
	# sh's trap '' leaves HUP, INT, USR1 and PIPE ignored across its exec.
	pa_start h sh -c "trap '' HUP INT USR1 PIPE; exec pa-listen -1 127.0.0.1:0 pa-handler h-env.sh"
	local hpid port ign
	hpid=$PA_PID
	port=$(wait_port h)
	# The handler itself does ignore them (the test is not vacuous):
	# HUP 1, INT 2, USR1 10, PIPE 13 (and what else the shell ignored).
	ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' "/proc/$hpid/status")
	[ $((0x$ign & 0x1203)) -eq $((0x1203)) ]
	tcp_get 127.0.0.1 "$port" >"$BATS_TEST_TMPDIR/env"
	check_clean_prog "$BATS_TEST_TMPDIR/env"
	alive "$hpid"
}

@test "alone: IPv6 ::1 in normal text form, and -l sets TCPLOCALHOST" {
	alone h '[::1]:0' -l www.example.org h-env.sh
	tcp_get ::1 "$PORT" >"$BATS_TEST_TMPDIR/env"
	[ "$(ucspi_names "$BATS_TEST_TMPDIR/env")" = \
	    "PROTO TCPLOCALHOST TCPLOCALIP TCPLOCALPORT TCPREMOTEIP TCPREMOTEPORT " ]
	grep -qx 'TCPLOCALIP=::1' "$BATS_TEST_TMPDIR/env"
	grep -qx 'TCPREMOTEIP=::1' "$BATS_TEST_TMPDIR/env"
	grep -qx 'TCPLOCALHOST=www.example.org' "$BATS_TEST_TMPDIR/env"
	check_clean_prog "$BATS_TEST_TMPDIR/env"
}

@test "alone: a unix socket gives PROTO=UNIX and the peer's credentials" {
	local sock=$BATS_TEST_TMPDIR/s
	alone h "unix:$sock" h-env.sh
	unix_get "$sock" >"$BATS_TEST_TMPDIR/env"
	[ "$(ucspi_names "$BATS_TEST_TMPDIR/env")" = \
	    "PROTO UNIXLOCALPATH UNIXREMOTEEGID UNIXREMOTEEUID UNIXREMOTEPID " ]
	grep -qx 'PROTO=UNIX' "$BATS_TEST_TMPDIR/env"
	grep -qx "UNIXLOCALPATH=$sock" "$BATS_TEST_TMPDIR/env"
	grep -qx "UNIXREMOTEEUID=$(id -u)" "$BATS_TEST_TMPDIR/env"
	grep -qx "UNIXREMOTEEGID=$(id -g)" "$BATS_TEST_TMPDIR/env"
	grep -qxE 'UNIXREMOTEPID=[1-9][0-9]*' "$BATS_TEST_TMPDIR/env"
	check_clean_prog "$BATS_TEST_TMPDIR/env"
}

@test "alone: -v logs tcpserver's pid, ok and end lines for one pid" {
	alone h 127.0.0.1:0 -v -l here sh -c 'echo hi; exit 3'
	run tcp_get 127.0.0.1 "$PORT"
	[ "$output" = hi ]
	wait_for 5 grep -q 'end ' "$BATS_TEST_TMPDIR/h.err"
	local pid
	pid=$(sed -n 's/^pa-handler: pid \([0-9]*\) from 127\.0\.0\.1$/\1/p' \
	    "$BATS_TEST_TMPDIR/h.err")
	[ -n "$pid" ]
	grep -qE "^pa-handler: ok $pid here:127\.0\.0\.1:$PORT :127\.0\.0\.1::[0-9]+\$" \
	    "$BATS_TEST_TMPDIR/h.err"
	# The wait status as tcpserver prints it: exit 3 is 768.
	grep -qx "pa-handler: end $pid status 768" "$BATS_TEST_TMPDIR/h.err"
}

@test "alone: the banner comes before PROG's output" {
	alone h 127.0.0.1:0 -B 'hello there
' echo prog
	run tcp_get 127.0.0.1 "$PORT"
	[ "$output" = "$(printf 'hello there\nprog')" ]
}

@test "alone: a missing PROG is logged, the connection closed, the handler lives on" {
	alone h 127.0.0.1:0 /nonexistent/prog
	run tcp_get 127.0.0.1 "$PORT"
	[ "$output" = "" ]
	wait_for 5 grep -q 'exec /nonexistent/prog: No such file' "$BATS_TEST_TMPDIR/h.err"
	run tcp_get 127.0.0.1 "$PORT"
	[ "$(grep -c 'exec /nonexistent/prog' "$BATS_TEST_TMPDIR/h.err")" -eq 2 ]
	alive "$HPID"
}

@test "alone: a crashing PROG and exit 127 are seen as such, and serving goes on" {
	# The first connection crashes, the others exit 127.
	alone h 127.0.0.1:0 -v sh -c \
	    'if mkdir "$0" 2>/dev/null; then kill -SEGV $$; fi; exit 127' \
	    "$BATS_TEST_TMPDIR/crashed"
	tcp_get 127.0.0.1 "$PORT" || true
	tcp_get 127.0.0.1 "$PORT" || true
	tcp_get 127.0.0.1 "$PORT" || true
	wait_for 5 lines_at_least "$BATS_TEST_TMPDIR/h.err" ' end ' 3
	grep -qE 'end [0-9]+ status (11|139)$' "$BATS_TEST_TMPDIR/h.err"
	grep -qE 'end [0-9]+ status 32512$' "$BATS_TEST_TMPDIR/h.err"
	alive "$HPID"
}

@test "alone: -T kills PROG at the time limit and logs it" {
	alone h 127.0.0.1:0 -T 1 sh -c 'echo start; exec sleep 30'
	SECONDS=0
	run tcp_get 127.0.0.1 "$PORT"
	[ "$output" = start ]
	[ "$SECONDS" -lt 5 ]
	wait_for 5 grep -q 'time limit of 1s reached: killed' "$BATS_TEST_TMPDIR/h.err"
	alive "$HPID"
}

@test "alone: -m exits 0 after that many connections" {
	alone h 127.0.0.1:0 -m 3 echo x
	tcp_get 127.0.0.1 "$PORT"
	tcp_get 127.0.0.1 "$PORT"
	alive "$HPID"
	tcp_get 127.0.0.1 "$PORT"
	wait_for 5 dead "$HPID"
	run wait "$HPID"
	[ "$status" -eq 0 ]
}

@test "alone: -t 2 serves two connections at the same time" {
	local w=$BATS_TEST_TMPDIR/w c1 c2
	mkdir "$w"
	alone h 127.0.0.1:0 -t 2 h-wait.sh "$w" 2
	tcp_get 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/r1" &
	c1=$!
	tcp_get 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/r2" &
	c2=$!
	wait_for 5 inside_is "$w" 2
	touch "$w/release"
	wait "$c1" "$c2"
	[ "$(cat "$BATS_TEST_TMPDIR/r1")" = "inside 2" ]
	[ "$(cat "$BATS_TEST_TMPDIR/r2")" = "inside 2" ]
}

@test "alone: TERM lets the connection in hand finish, then exits 0" {
	mkdir "$BATS_TEST_TMPDIR/w"
	alone h 127.0.0.1:0 h-wait.sh "$BATS_TEST_TMPDIR/w" 1
	tcp_get 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/reply" &
	local client=$!
	wait_for 5 inside_is "$BATS_TEST_TMPDIR/w" 1
	kill -TERM "$HPID"
	touch "$BATS_TEST_TMPDIR/w/release"
	wait "$client"
	[ "$(cat "$BATS_TEST_TMPDIR/reply")" = "inside 1" ]
	wait_for 5 dead "$HPID"
	run wait "$HPID"
	[ "$status" -eq 0 ]
}

@test "alone: out of descriptors it backs off, warns once, and serves when it can" {
	alone h 127.0.0.1:0 echo ok
	# A soft limit at its lowest free descriptor: accept gets EMFILE.
	local n=0
	while [ -e "/proc/$HPID/fd/$n" ]; do
		n=$((n + 1))
	done
	prlimit --pid "$HPID" --nofile="$n:"
	tcp_get 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/reply" &
	local client=$!
	wait_for 5 grep -q 'accept (backing off): Too many open files' \
	    "$BATS_TEST_TMPDIR/h.err"
	alive "$HPID"
	prlimit --pid "$HPID" --nofile=64:
	wait "$client"
	[ "$(cat "$BATS_TEST_TMPDIR/reply")" = ok ]
	[ "$(grep -c 'backing off' "$BATS_TEST_TMPDIR/h.err")" -eq 1 ]
}

@test "usage: -h prints the options and exits 0; errors exit 100" {
	run -0 pa-handler -h
	[[ "${lines[0]}" == "usage: pa-handler "* ]]
	run -100 pa-handler
	run -100 pa-handler -t 0 true
	run -100 pa-handler -Z true
	run -100 --separate-stderr pa-handler true
	[[ "$stderr" == *"not a listening socket"* ]]
	run -100 --separate-stderr env PA_REGION_FD=x pa-handler true
	[[ "$stderr" == *"PA_REGION_FD is no fd number"* ]]
	run -100 --separate-stderr env PA_REGION_FD=0 PA_HANDLER=0 pa-handler true
	[[ "$stderr" == *"fd 0 is no pa region"* ]]
}

# ---------------------------------------------------------------- the pool

@test "pool: PROG sees exactly the UCSPI environment over v4, v6 and unix, nothing of pa's" {
	pool p4 127.0.0.1:0 2 h-env.sh
	tcp_get 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/env4"
	[ "$(ucspi_names "$BATS_TEST_TMPDIR/env4")" = \
	    "PROTO TCPLOCALIP TCPLOCALPORT TCPREMOTEIP TCPREMOTEPORT " ]
	grep -qx 'TCPREMOTEIP=127.0.0.1' "$BATS_TEST_TMPDIR/env4"
	check_clean_prog "$BATS_TEST_TMPDIR/env4"

	pool p6 '[::1]:0' 2 -t 2 h-env.sh
	tcp_get ::1 "$PORT" >"$BATS_TEST_TMPDIR/env6"
	[ "$(ucspi_names "$BATS_TEST_TMPDIR/env6")" = \
	    "PROTO TCPLOCALIP TCPLOCALPORT TCPREMOTEIP TCPREMOTEPORT " ]
	grep -qx 'TCPLOCALIP=::1' "$BATS_TEST_TMPDIR/env6"
	grep -qx 'TCPREMOTEIP=::1' "$BATS_TEST_TMPDIR/env6"
	check_clean_prog "$BATS_TEST_TMPDIR/env6"

	pool pu "unix:$BATS_TEST_TMPDIR/s" 2 h-env.sh
	unix_get "$BATS_TEST_TMPDIR/s" >"$BATS_TEST_TMPDIR/envu"
	[ "$(ucspi_names "$BATS_TEST_TMPDIR/envu")" = \
	    "PROTO UNIXLOCALPATH UNIXREMOTEEGID UNIXREMOTEEUID UNIXREMOTEPID " ]
	grep -qx "UNIXREMOTEEUID=$(id -u)" "$BATS_TEST_TMPDIR/envu"
	check_clean_prog "$BATS_TEST_TMPDIR/envu"
}

@test "pool: 2 handlers x 2 threads serve 4 at once; the 5th waits in the queue, then is served" {
	local w=$BATS_TEST_TMPDIR/w i clients=()
	mkdir "$w"
	pool p 127.0.0.1:0 2 -t 2 h-wait.sh "$w" 4
	for i in 1 2 3 4; do
		tcp_get 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/r$i" &
		clients+=($!)
	done
	wait_for 10 inside_is "$w" 4
	tcp_get 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/r5" &
	local fifth=$!
	# Deferred, not refused: it sits in the kernel's accept queue.
	wait_for 5 queued "$PORT" 1
	[ "$(inside "$w")" -eq 4 ]
	touch "$w/release"
	wait "$fifth" "${clients[@]}"
	for i in 1 2 3 4 5; do
		[ "$(cat "$BATS_TEST_TMPDIR/r$i")" = "inside 4" ]
	done
}

@test "pool: a missing or crashing PROG does not hurt the pool" {
	# The first connection crashes, the others exec a missing program.
	pool p 127.0.0.1:0 2 -v sh -c \
	    'if mkdir "$0" 2>/dev/null; then kill -SEGV $$; fi; exec /nonexistent/prog' \
	    "$BATS_TEST_TMPDIR/crashed"
	local before i
	before=$(handlers "$SPID" | sort | tr '\n' ' ')
	for i in 1 2 3 4 5 6; do
		tcp_get 127.0.0.1 "$PORT" || true
	done
	wait_for 5 lines_at_least "$BATS_TEST_TMPDIR/p.err" ' end ' 6
	grep -qE 'end [0-9]+ status (11|139)$' "$BATS_TEST_TMPDIR/p.err"
	[ "$(handlers "$SPID" | sort | tr '\n' ' ')" = "$before" ]
}

@test "pool: -m recycles a handler, pa-spawn replaces it, no connection fails" {
	pool p 127.0.0.1:0 1 -m 2 sh -c 'echo $PPID'
	local i
	for i in 1 2 3 4 5 6; do
		tcp_get 127.0.0.1 "$PORT" >>"$BATS_TEST_TMPDIR/pids"
	done
	[ "$(grep -c . "$BATS_TEST_TMPDIR/pids")" -eq 6 ]
	[ "$(sort -u "$BATS_TEST_TMPDIR/pids" | grep -c .)" -eq 3 ]
}

@test "pool: handlers exit when pa-spawn dies" {
	pool p 127.0.0.1:0 3 echo x
	wait_for 5 nhandlers_are "$SPID" 3
	local hs h
	hs=$(handlers "$SPID")
	kill -KILL "$SPID"
	for h in $hs; do
		wait_for 5 dead "$h"
	done
}

@test "pool: herd: 64 waiting handlers, 500 sequential connections, futile wake-ups per connection below 0.05, the turn goes round" {
	pool p 127.0.0.1:0 64 -v echo x
	wait_for 20 lines_at_least "$BATS_TEST_TMPDIR/p.err" 'in the pool' 64
	local i
	for ((i = 0; i < 500; i++)); do
		exec 5<>"/dev/tcp/127.0.0.1/$PORT"
		cat <&5 >/dev/null
		exec 5<&-
	done
	# The region's counters as pa-ctl reads them...
	run -0 pa-ctl -c "$BATS_TEST_TMPDIR/p.ctl" stat
	echo "$output"
	local cacc cfut
	cacc=$(echo "$output" | sed -n 's/^accepted: //p')
	cfut=$(echo "$output" | sed -n 's/^futile_wakeups: //p')
	[ "$cacc" -eq 500 ]
	[ $((cfut * 20)) -lt "$cacc" ]
	# ... and as each handler logs its slots when TERM drains the pool.
	kill -TERM "$SPID"
	wait_for 20 dead "$SPID"
	[ "$(grep -c ': accepted ' "$BATS_TEST_TMPDIR/p.err")" -eq 64 ]
	read -r acc fut < <(sed -n 's/.*: accepted \([0-9]*\) wakeups [0-9]* futile \([0-9]*\).*/\1 \2/p' \
	    "$BATS_TEST_TMPDIR/p.err" | awk '{ a += $1; f += $2 } END { print a, f }')
	echo "accepted $acc futile $fut"
	[ "$acc" -eq 500 ]
	[ $((fut * 20)) -lt "$acc" ]
	# Spread: no handler took more than twice its share (7.8).
	local most
	most=$(sed -n 's/.*: accepted \([0-9]*\) .*/\1/p' "$BATS_TEST_TMPDIR/p.err" | sort -n | tail -1)
	echo "most $most"
	[ $((most * 64)) -le $((500 * 2)) ]
}
