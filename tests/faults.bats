#!/usr/bin/env bats
# Faults under load: handlers and pa-spawn killed, TERM, descriptor
# exhaustion, slow and hostile clients, misbehaving PROGs, a handler that
# scribbles over the region, hostile control requests.  Each scenario
# runs f-load, a client loop that counts every attempt and its outcome
# (ok, refused, conntime, reset, empty, timeout, bad, error), so that
# "nothing lost" is a number; the figures go to $BATS_TEST_TMPDIR/*.res
# and, with PA_FAULTS_LOG set, are appended to that file (RELIABILITY.md).
# shellcheck disable=SC2016,SC2154 # inner shells expand; run sets output

bats_require_minimum_version 1.5.0
load helper
load ctlpool

T=$BATS_TEST_TMPDIR
PATH="${PA_UNITDIR%/unit}/fbin:$PATH"

setup() {
	command -v f-load >/dev/null || skip "f-load not built (make fbins)"
}

# ge KEY N: the figure KEY is N or more.
ge() {
	local v
	v=$(fig "$1")
	[ -n "$v" ] && [ "$v" -ge "$2" ]
}

# at_target N: N handlers alive, all their threads idle or busy, none
# starting, draining or gone.
at_target() {
	local s
	s=$(pa-ctl -c "$CTL" stat 2>/dev/null) || return 1
	[ "$(sed -n 's/^handlers: //p' <<<"$s")" = "$1" ] &&
	    [ "$(sed -n 's/^starting: //p' <<<"$s")" = 0 ] &&
	    [ "$(sed -n 's/^draining: //p' <<<"$s")" = 0 ] &&
	    [ "$(sed -n 's/^gone: //p' <<<"$s")" = 0 ] &&
	    [ "$(($(sed -n 's/^idle: //p' <<<"$s") +
	        $(sed -n 's/^busy: //p' <<<"$s")))" -ge "$1" ]
}

# handlers POOLPID: the pids of its handler processes.
handlers() {
	pgrep -P "$1" | sort -n
}

# client NAME F-LOAD-ARGS...: a client loop in the background, stopped by
# $T/NAME.stop, its counts in $T/NAME.res.
client() {
	local name=$1
	shift
	pa_start "$name" f-load -o "$T/$name.res" -s "$T/$name.stop" "$@"
}

# client_end NAME: stop it and wait for its counts.
client_end() {
	touch "$T/$1.stop"
	wait_for 30 test -s "$T/$1.res"
	cat "$T/$1.res"
}

# n FILE KEY: the count KEY in a result line.
n() {
	awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$1"
}

# record SCENARIO FILE [NOTE]: print the counts; keep them in
# $PA_FAULTS_LOG as a table row when that is set: scenario, attempted,
# ok, refused, reset, empty, timeout, other (conntime, bad, error), note.
record() {
	echo "$1: $(cat "$2") ${3-}"
	if [ -n "${PA_FAULTS_LOG-}" ]; then
		# shellcheck disable=SC2016 # awk's own fields
		awk -v s="$1" -v note="${3-}" '{
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			    s, $2, $4, $6, $10, $12, $14, $8 + $16 + $18, note
			}' "$2" >>"$PA_FAULTS_LOG"
	fi
}

# cpu PID: user + system clock ticks of PID, all its threads.
cpu() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

queued() {
	[ "$(ss -Htln "sport = :$PORT" | awk '{print $2}')" -ge "$1" ]
}

@test "clients just above the pool size: no connection waits for a handler's bounded wait" {
	# One more client than handler threads keeps threads going to sleep
	# while others finish and a connection is queued: the moments where
	# a wake-up can be lost.  A lost one holds a connection until a
	# thread's one-second wait ends: -T 700 counts that as a timeout.
	# In-process handlers (examples/hello-http) make the most of these
	# moments a second; a wake-up lost one time in 50,000 fails this
	# test about every other run.
	local cfg n t c hello=$BATS_TEST_DIRNAME/../examples/hello-http
	[ -x "$hello" ] || skip "examples/hello-http not built"
	for cfg in "2 1" "3 1" "2 2"; do
		read -r n t <<<"$cfg"
		c=$((n * t + 1))
		pool "p$n$t" -n "$n" "$hello" -t "$t"
		wait_for 10 is waiting $((n * t))
		run -0 f-load -c "$c" -n 20000 -T 700 -e 'HTTP/1.0 200' \
		    -w $'GET / HTTP/1.0\r\n\r\n' 127.0.0.1 "$PORT"
		echo "n=$n t=$t c=$c: ${lines[-1]}"
		[ "${lines[-1]}" = "attempted 20000 ok 20000 refused 0 conntime 0 reset 0 empty 0 timeout 0 bad 0 error 0" ]
		stop_pid "$POOL"
	done
}

@test "SIGKILL to handlers under load: only what a killed handler held fails, the pool is back at target within 2 s" {
	pool K -n 4 -g 5 pa-handler echo served
	wait_for 10 at_target 4
	client L -c 8 -T 10000 -e served 127.0.0.1 "$PORT"
	local i victim t0 ms worst=0 slow=0 kills=10
	for ((i = 1; i <= kills; i++)); do
		wait_for 5 ge accepted $((i * 50))
		victim=$(handlers "$POOL" | shuf -n 1)
		t0=$(date +%s%N)
		kill -KILL "$victim"
		wait_for 10 ge exited "$i"
		wait_for 10 at_target 4
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ "$ms" -le "$worst" ] || worst=$ms
		[ "$ms" -le 2000 ] || slow=$((slow + 1))
	done
	client_end L
	local res=$T/L.res fail
	fail=$(($(n "$res" reset) + $(n "$res" empty)))
	record "SIGKILL a handler 10 times, 4 handlers, 8 clients" "$res" \
	    "$fail reset or empty (at most 1 per kill); back at target within ${worst} ms"
	[ "$(n "$res" attempted)" -gt 500 ]
	[ "$fail" -le "$kills" ]
	[ "$(n "$res" ok)" -eq $(($(n "$res" attempted) - fail)) ]
	# Never a refusal, a timeout or a wrong reply.
	[ "$(n "$res" refused)" -eq 0 ]
	[ "$(n "$res" timeout)" -eq 0 ]
	[ "$(n "$res" conntime)" -eq 0 ]
	[ "$(n "$res" bad)" -eq 0 ]
	[ "$(fig spawned)" -eq $((4 + kills)) ]
	# Back at target within 2 s every time but once (a slow machine).
	[ "$slow" -le 1 ]
	# Every connection the handlers took was accepted in a slot.
	[ "$(fig accepted)" -ge "$(n "$res" ok)" ]
}

@test "SIGKILL to pa-spawn: handlers finish what they serve and exit; then the port refuses, no black hole" {
	pool S -n 2 pa-handler sh -c \
	    'while [ ! -e "$0" ]; do sleep 0.05; done; echo done' "$T/gate"
	wait_for 10 at_target 2
	local hs
	hs=$(handlers "$POOL")
	client IN -c 2 -n 2 -T 20000 -e 'done' 127.0.0.1 "$PORT"
	wait_for 5 is busy 2
	client Q -c 1 -n 1 -T 20000 -e 'done' 127.0.0.1 "$PORT"
	wait_for 5 queued 1
	kill -KILL "$POOL"
	wait_for 5 dead "$POOL"
	# The handlers stay for the connections they serve ...
	for h in $hs; do alive "$h"; done
	touch "$T/gate"
	wait_for 20 test -s "$T/IN.res"
	record "SIGKILL pa-spawn, 2 connections in service" "$T/IN.res"
	[ "$(n "$T/IN.res" ok)" -eq 2 ]
	# ... then go, and nothing keeps the port.
	for h in $hs; do wait_for 5 dead "$h"; done
	wait_for 5 test -z "$(ss -Htln "sport = :$PORT")"
	run -0 f-load -n 3 127.0.0.1 "$PORT"
	[[ "$output" == "attempted 3 ok 0 refused 3 "* ]]
	# The one left in the queue was told (a reset), not left hanging.
	wait_for 20 test -s "$T/Q.res"
	record "SIGKILL pa-spawn, 1 connection queued" "$T/Q.res" "queued: reset when the socket closed"
	[ "$(n "$T/Q.res" timeout)" -eq 0 ]
	[ "$(n "$T/Q.res" conntime)" -eq 0 ]
}

@test "TERM under load: every queued connection is served, later ones refused, exit 0 long before the grace period" {
	pool D -n 4 -g 20 pa-handler sh -c 'sleep 0.05; echo served'
	wait_for 10 at_target 4
	# More clients than handlers: the accept queue is never empty.
	client L -c 12 -T 20000 -e served 127.0.0.1 "$PORT"
	wait_for 10 ge accepted 100
	wait_for 5 queued 4
	local rc=0 t0 ms
	t0=$(date +%s%N)
	kill -TERM "$POOL"
	wait_for 10 dead "$POOL"
	ms=$((($(date +%s%N) - t0) / 1000000))
	wait "$POOL" || rc=$?
	client_end L
	[ "$rc" -eq 0 ]
	local res=$T/L.res
	record "TERM under load, 4 handlers, 12 clients" "$res" \
	    "drained in $ms ms; refused: new connections once TERM came"
	# Served, or refused: never reset, cut short or left hanging.
	[ "$(n "$res" ok)" -gt 100 ]
	[ "$(n "$res" reset)" -eq 0 ]
	[ "$(n "$res" empty)" -eq 0 ]
	[ "$(n "$res" timeout)" -eq 0 ]
	[ "$(n "$res" conntime)" -eq 0 ]
	[ "$(n "$res" bad)" -eq 0 ]
	[ "$(n "$res" error)" -eq 0 ]
	run ! grep -E 'still queued|grace period' "$T/D.err"
}

@test "out of descriptors: no busy loop, counted, logged at a bounded rate, full service after" {
	pool E -n 2 pa-handler -t 2 echo served
	wait_for 10 at_target 2
	local hs h free soft c0 c1 t0 t1
	hs=$(handlers "$POOL")
	# Each handler's limit drops to its lowest free descriptor number:
	# accept4 gets EMFILE while the connections wait in the queue.
	for h in $hs; do
		free=0
		while [ -e "/proc/$h/fd/$free" ]; do free=$((free + 1)); done
		soft=$(prlimit --pid "$h" --nofile --output SOFT --noheadings)
		prlimit --pid "$h" --nofile="$free:"
	done
	c0=0
	for h in $hs; do c0=$((c0 + $(cpu "$h"))); done
	t0=$(date +%s%N)
	client L -c 4 -n 8 -T 30000 -e served 127.0.0.1 "$PORT"
	wait_for 10 ge lost_emfile 20
	wait_for 10 ge lost_emfile 60
	c1=0
	for h in $hs; do c1=$((c1 + $(cpu "$h"))); done
	t1=$(date +%s%N)
	[ "$(fig accepted)" -eq 0 ]
	# 4 threads backing off 100 ms: about 40 failed accepts a second,
	# not a spin.  CPU of both handlers together: under 10% of the time.
	echo "cpu ticks $((c1 - c0)) in $(((t1 - t0) / 1000000)) ms"
	[ $(((c1 - c0) * 10 * 100)) -le $(((t1 - t0) / 1000000)) ]
	# Logged once per thread in 10 s, not once per failure.
	grep -c 'accept (backing off)' "$T/E.err"
	[ "$(grep -c 'accept (backing off)' "$T/E.err")" -le 4 ]
	for h in $hs; do
		prlimit --pid "$h" --nofile="$soft:"
	done
	wait_for 20 test -s "$T/L.res"
	record "descriptors exhausted, then restored" "$T/L.res" \
	    "$(fig lost_emfile) accepts failed with EMFILE meanwhile; handlers' CPU $((c1 - c0)) ticks in $(((t1 - t0) / 1000000)) ms; $(grep -c 'accept (backing off)' "$T/E.err") log lines"
	[ "$(n "$T/L.res" ok)" -eq 8 ]
	[ "$(fig accepted)" -eq 8 ]
	[ "$(fig spawned)" -eq 2 ]
}

@test "slow and hostile clients: the time limit frees the handlers, the others wait in the queue and are served" {
	pool H -n 2 pa-handler -T 1 f-prog.sh
	wait_for 10 at_target 2
	# Silent ones and a trickle of one byte a second take both handlers.
	client SIL -c 3 -n 3 -m silent -T 20000 127.0.0.1 "$PORT"
	client TRI -c 2 -n 2 -m trickle -w 'hello
' -T 20000 127.0.0.1 "$PORT"
	wait_for 5 is busy 2
	run -0 f-load -c 2 -n 20 -T 30000 -w 'hello
' -e 'got hello' 127.0.0.1 "$PORT"
	echo "$output" >"$T/OK.res"
	# Some reset mid-reply, some vanish at once.
	run -0 f-load -c 2 -n 10 -m reset -w 'big
' -T 20000 127.0.0.1 "$PORT"
	echo "$output" >"$T/RST.res"
	run -0 f-load -c 4 -n 40 -m vanish 127.0.0.1 "$PORT"
	echo "$output" >"$T/VAN.res"
	wait_for 20 test -s "$T/SIL.res"
	wait_for 20 test -s "$T/TRI.res"
	record "silent clients, -T 1" "$T/SIL.res" "empty: closed at the time limit"
	record "one byte a second, -T 1" "$T/TRI.res" "reset: closed at the time limit with input unread"
	record "well-behaved clients meanwhile" "$T/OK.res"
	record "reset after the first byte of 4 MB" "$T/RST.res"
	record "vanish after connect" "$T/VAN.res"
	[ "$(n "$T/OK.res" ok)" -eq 20 ]
	[ "$(n "$T/SIL.res" empty)" -eq 3 ]
	# Killed while the client still sends: a reset, or the end.
	[ $(($(n "$T/TRI.res" empty) + $(n "$T/TRI.res" reset))) -eq 2 ]
	[ "$(n "$T/RST.res" ok)" -eq 10 ]
	[ "$(n "$T/VAN.res" ok)" -eq 40 ]
	[ "$(grep -c 'time limit of 1s reached' "$T/H.err")" -ge 5 ]
	wait_for 10 at_target 2
	[ "$(fig spawned)" -eq 2 ]
	[ "$(fig exited)" -eq 0 ]
	[ "$(fig accepted)" -eq 75 ]
}

@test "PROG crashes, hangs, ignores TERM, closes stdout early, writes megabytes: the handler survives, the pool keeps its size" {
	pool P -n 2 pa-handler -T 1 f-prog.sh
	wait_for 10 at_target 2
	local m
	for m in crash hang ignore close big hello; do
		run -0 f-load -c 2 -n 4 -T 20000 -w "$m
" 127.0.0.1 "$PORT"
		echo "$output" >"$T/$m.res"
		record "PROG: $m" "$T/$m.res"
	done
	[ "$(n "$T/crash.res" empty)" -eq 4 ]
	[ "$(n "$T/hang.res" empty)" -eq 4 ]
	[ "$(n "$T/ignore.res" empty)" -eq 4 ]
	[ "$(n "$T/close.res" empty)" -eq 4 ]
	[ "$(n "$T/big.res" ok)" -eq 4 ]
	[ "$(n "$T/hello.res" ok)" -eq 4 ]
	# TERM ignored: KILL a second later.
	[ "$(grep -c 'time limit of 1s reached' "$T/P.err")" -ge 8 ]
	wait_for 10 at_target 2
	[ "$(fig spawned)" -eq 2 ]
	[ "$(fig exited)" -eq 0 ]
	[ "$(fig accepted)" -eq 24 ]
	# No PROG left behind.
	run ! pgrep -f 'sleep 3600'
}

@test "a handler that scribbles over the whole region crashes neither pa-spawn nor pa-ctl; the pool heals" {
	cat >"$T/h.sh" <<-'EOF'
	if [ "$PA_HANDLER" = 1 ]; then exec f-scribble "$$"; fi
	exec pa-handler echo served
	EOF
	pool W -n 2 sh "$T/h.sh"
	# The scribbler exits at once, is reaped (its slots released) and
	# restarted once a second, scribbling again: a few rounds.
	wait_for 10 grep -q 'handler 1 .* exited 3' "$T/W.err"
	wait_for 10 ge spawned 5
	alive "$POOL"
	run -0 pa-ctl -c "$CTL" stat
	run -0 pa-ctl -c "$CTL" top
	run -0 pa-ctl -c "$CTL" list
	run -0 pa-ctl -c "$CTL" -j list
	run -0 pa-ctl -c "$CTL" -p stat
	run -0 pa-ctl -c "$CTL" set 3
	alive "$POOL"
	kill -TERM "$POOL"
	wait_for 10 dead "$POOL"
	local rc=0
	wait "$POOL" || rc=$?
	[ "$rc" -eq 0 ]

	# Scribbled once: pa-spawn puts the header back before each start,
	# so the replacements map the region and the pool serves again.
	cat >"$T/h1.sh" <<-EOF
	if [ "\$PA_HANDLER" = 1 ] && mkdir "$T/once" 2>/dev/null; then
		exec f-scribble "\$\$"
	fi
	exec pa-handler echo served
	EOF
	pool V -n 2 sh "$T/h1.sh"
	wait_for 10 grep -q 'handler 1 .* exited 3' "$T/V.err"
	wait_for 10 is handlers 2
	run -0 pa-ctl -c "$CTL" set 3
	wait_for 10 is handlers 3
	run -0 f-load -n 20 -e served 127.0.0.1 "$PORT"
	echo "$output"
	[[ "$output" == "attempted 20 ok 20 "* ]]
}

@test "hostile control requests: errors or timeouts, and none changes the pool" {
	pool C -n 2 pa-handler echo served
	wait_for 10 at_target 2
	local before after
	snap() {
		pa-ctl -c "$CTL" stat | grep -E '^(target|handlers|retiring|min|max|generation|stopping|spawned|exited|grace):'
	}
	before=$(snap)
	# A request cut off by a reset, one cut off by silence, one buried
	# in an over-long line, one behind binary bytes, one split by a NUL,
	# and a flood of half-open connections.
	run -0 python3 - "$CTL" <<-'EOF'
	import socket, struct, sys, time
	path = sys.argv[1]
	def conn():
	    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	    s.connect(path)
	    s.settimeout(6)
	    return s
	def reply(s):
	    try:
	        return s.recv(4096).decode(errors="replace").split("\n")[0]
	    except OSError as e:
	        return "failed: %s" % e
	out = []
	s = conn(); s.send(b"set 1"); time.sleep(0.2)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
	s.close()
	s = conn(); s.send(b"set 1"); out.append(("half line, silence", reply(s))); s.close()
	s = conn(); s.send(b"A" * 600 + b"\nstop\n"); out.append(("600 bytes, then stop", reply(s))); s.close()
	s = conn(); s.send(b"\x00stop\n"); out.append(("NUL, stop", reply(s))); s.close()
	s = conn(); s.send(b"set\x001\n"); out.append(("set NUL 1", reply(s))); s.close()
	s = conn(); s.send("set １\n".encode()); out.append(("set fullwidth 1", reply(s))); s.close()
	s = conn(); s.send(b"set 1\r\r\n"); out.append(("set 1 CR CR", reply(s))); s.close()
	s = conn(); s.send(b"stop" + b" " * 600 + b"\n"); out.append(("stop, 600 blanks", reply(s))); s.close()
	s = conn(); s.send(b"up 99999999999999999999\n"); out.append(("up huge", reply(s))); s.close()
	s = conn(); s.send(b"down -1\n"); out.append(("down -1", reply(s))); s.close()
	half = []
	for i in range(20):
	    s = conn(); s.send(b"restart"); half.append(s)
	for s in half:
	    out.append(("restart, half-open", reply(s)))
	for what, r in out:
	    print("%s: %s" % (what, r))
	EOF
	echo "$output"
	[ "$(grep -c ': error: ' <<<"$output")" -eq "${#lines[@]}" ]
	grep -qx 'half line, silence: error: timeout' <<<"$output"
	grep -qx '600 bytes, then stop: error: request line too long' <<<"$output"
	[ "$(grep -c '^restart, half-open: error: timeout$' <<<"$output")" -eq 20 ]
	after=$(snap)
	diff <(echo "$before") <(echo "$after")
	alive "$POOL"
	run -0 f-load -n 10 -e served 127.0.0.1 "$PORT"
	[[ "$output" == "attempted 10 ok 10 "* ]]
}
