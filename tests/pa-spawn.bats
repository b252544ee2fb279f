#!/usr/bin/env bats
# pa-spawn: the socket it takes, what each handler inherits, readiness,
# keeping the pool at its target (replacement, throttled crash loops),
# the signals (TERM drains, INT stops, HUP rolls, TTIN/TTOU scale),
# scale-down order, privileges, pidfile.  Handlers are the real
# pa-handler unless a test needs a handler that misbehaves.

# shellcheck disable=SC2016,SC2154 # inner shells expand; run sets stderr
bats_require_minimum_version 1.5.0
load helper

T=$BATS_TEST_TMPDIR

# pool NAME [PA-SPAWN ARGS...]: pa-listen on 127.0.0.1:0 running
# pa-spawn -c NAME.ctl ARGS...; sets port.
pool() {
	local name=$1
	shift
	pa_start "$name" pa-listen -1 127.0.0.1:0 pa-spawn -c "$T/$name.ctl" "$@"
	port=$(wait_port "$name")
}

# field NAME KEY: the value of KEY in pa-ctl stat of pool NAME.
field() {
	pa-ctl -c "$T/$1.ctl" stat 2>/dev/null | sed -n "s/^$2: //p"
}

# is NAME KEY VALUE: field KEY of pool NAME is VALUE.
is() {
	[ "$(field "$1" "$2")" = "$3" ]
}

# kids PID: the pids of the children of PID (handlers), sorted.
kids() {
	pgrep -P "$1" | sort -n
}

# is_kid PID CHILD: CHILD is a child of PID.
is_kid() {
	kids "$1" | grep -qx "$2"
}

# getport NAME: wait for the -1 line of NAME into port.
getport() {
	port=$(wait_port "$1")
}

nkids() {
	[ "$(kids "$1" | wc -l)" -eq "$2" ]
}

# log NAME: stderr of NAME.
log() {
	cat "$T/$1.err"
}

haslog() {
	grep -qE -- "$2" "$T/$1.err"
}

# starts NAME N: pool NAME logged N handler starts or more (-vv).
starts() {
	[ "$(grep -c ' started$' "$T/$1.err")" -ge "$2" ]
}

# queued PORT N: N connections wait in the accept queue of 127.0.0.1:PORT.
queued() {
	[ "$(ss -Htln "sport = :$1" | awk '{print $2}')" -eq "$2" ]
}

# exits PID: PID ends within 10 s with status 0 (it is our child).
exits0() {
	local rc=0
	wait_for 10 dead "$1" || return 1
	wait "$1" || rc=$?
	[ "$rc" -eq 0 ] || { echo "exit status $rc" >&2; return 1; }
}

@test "without operands it prints its usage and exits 100" {
	run -100 --separate-stderr pa-spawn
	[[ $stderr == "usage: pa-spawn "* ]]
}

@test "-h prints the usage and one line per option on stdout, exit 0" {
	run -0 pa-spawn -h
	[[ ${lines[0]} == "usage: pa-spawn "* ]]
	[[ $output == *"-n count"* ]]
	[[ $output == *"-g grace"* ]]
}

@test "bad numbers and conflicting options are usage errors (100)" {
	run -100 --separate-stderr pa-spawn -n many true
	[[ $stderr == *"-n many: invalid"* ]]
	run -100 --separate-stderr pa-spawn -n 2000 true
	[[ $stderr == *"-n 2000: too large"* ]]
	run -100 --separate-stderr pa-spawn -m 2 true
	[[ $stderr == *"-m needs -M"* ]]
	run -100 --separate-stderr pa-spawn -m 4 -M 8 -n 2 true
	[[ $stderr == *"-n 2 is outside -m 4 to -M 8"* ]]
	run -100 --separate-stderr pa-spawn -u nobody -U true
	[[ $stderr == *"-u and -U exclude each other"* ]]
	run -100 --separate-stderr pa-spawn -u no-such-user-here true
	[[ $stderr == *"no such user"* ]]
	run -100 --separate-stderr pa-spawn -s 5:2 true
	[[ $stderr == *"lo above hi"* ]]
}

@test "no listening socket: exit 100 saying what it found instead" {
	run -100 --separate-stderr pa-spawn true </dev/null
	[[ $stderr == "pa-spawn: no listening socket: no LISTEN_FDS and fd 0 is not a socket" ]]
}

@test "LISTEN_PID of another process: exit 100 naming both pids" {
	run -100 --separate-stderr env LISTEN_PID=1 LISTEN_FDS=1 pa-spawn true
	[[ $stderr == *"no listening socket: LISTEN_PID=1 is not this process"* ]]
}

@test "serves through pa-listen: the pool answers, handlers are its children" {
	pool P -n 3 pa-handler sh -c 'echo ok'
	wait_for 5 is P idle 3
	[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
	[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
	nkids "$PA_PID" 3
	is P handlers 3
	is P accepted 2
	# The notification counted the events and woke the handlers.
	[ "$(field P events)" -ge 1 ]
	[ "$(field P woken)" -ge 1 ]
}

@test "each handler gets fds 0-5 only, the PA_ variables, no LISTEN_ or NOTIFY_SOCKET" {
	# perl -e: it holds nothing open of its own while it looks (a shell
	# may hold its script, pipe ends or saved descriptors).
	h='my $d = "$ARGV[0]/h$ENV{PA_HANDLER}";
	my @fds = grep { defined readlink("/proc/self/fd/$_") } 0 .. 1023;
	sub put { open(my $f, ">", $_[0]) or die; print $f $_[1]; close $f }
	put("$d.fds", "@fds\n");
	put("$d.env", join("", map { "$_=$ENV{$_}\n" } sort keys %ENV));
	open(my $i, "<", "/proc/self/fdinfo/3") or die;
	put("$d.fl3", join("", map { /^flags:\s*(\d+)/ ? "$1\n" : () } <$i>));
	close $i;
	exec "pa-handler", "sh", "-c", "echo ok" or die;'
	pa_start E env NOTIFY_SOCKET="$T/nowhere" pa-listen -1 127.0.0.1:0 \
	    pa-spawn -c "$T/E.ctl" -n 2 perl -e "$h" "$T"
	getport E
	wait_for 5 is E idle 2
	for h in 0 1; do
		[ "$(cat "$T/h$h.fds")" = "0 1 2 3 4 5" ]
		grep -qx "PA_HANDLER=$h" "$T/h$h.env"
		grep -qx "PA_REGION_FD=4" "$T/h$h.env"
		grep -qx "PA_READY_FD=5" "$T/h$h.env"
		run ! grep -qE '^(LISTEN_|NOTIFY_SOCKET)' "$T/h$h.env"
		# fd 3 is non-blocking (O_NONBLOCK, octal 04000).
		[ $((0$(cat "$T/h$h.fl3") & 04000)) -ne 0 ]
	done
	[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
}

@test "each handler starts with an empty signal mask and default dispositions" {
	pool Q -n 1 sleep 30
	wait_for 5 nkids "$PA_PID" 1
	local kid
	kid=$(kids "$PA_PID")
	wait_for 5 grep -q '^Name:.sleep$' "/proc/$kid/status"
	# Shown if the test fails.
	grep -E '^(Name|Pid|PPid|Sig[A-Za-z]+):' "/proc/$kid/status"
	grep -qx "SigBlk:.0000000000000000" "/proc/$kid/status"
	grep -qx "SigIgn:.0000000000000000" "/proc/$kid/status"
}

@test "readiness: no newline on -d FD while a first handler has not reported" {
	cat >"$T/h.sh" <<-'EOF'
	[ "$PA_HANDLER" = 0 ] && exec pa-handler sh -c 'echo ok'
	exec sleep 30
	EOF
	: >"$T/ready"
	pa_start R sh -c 'exec pa-listen -1 127.0.0.1:0 pa-spawn -vv -c "$1/R.ctl" -d 7 -n 2 sh "$1/h.sh" 7>"$1/ready"' _ "$T"
	getport R
	wait_for 5 haslog R "handler 0 pid [0-9]+ ready"
	[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
	[ ! -s "$T/ready" ]
	run ! haslog R "ready: "
}

@test "readiness: -d FD gets one newline once the first handlers wait" {
	: >"$T/ready"
	pa_start R sh -c 'exec pa-listen -1 127.0.0.1:0 pa-spawn -c "$1/R.ctl" -d 7 -n 3 pa-handler -t 2 sh -c "echo ok" 7>"$1/ready"' _ "$T"
	getport R
	wait_for 5 test -s "$T/ready"
	[ "$(od -An -c "$T/ready" | tr -d ' ')" = '\n' ]
	# By then every thread of the three handlers was idle.
	[ "$(field R idle)" -eq 6 ]
	[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
}

@test "readiness: READY=1 to \$NOTIFY_SOCKET, STOPPING=1 on TERM" {
	pa_start N socat -u UNIX-RECV:"$T/notify" STDOUT
	wait_for 5 test -S "$T/notify"
	pa_start S env NOTIFY_SOCKET="$T/notify" pa-listen -1 127.0.0.1:0 \
	    pa-spawn -c "$T/S.ctl" -n 2 pa-handler sh -c 'echo ok'
	getport S
	wait_for 5 grep -qx READY=1 "$T/N.out"
	grep -q "^STATUS=2 handlers on 127.0.0.1:$port" "$T/N.out"
	[ "$(field S idle)" -eq 2 ]
	kill -TERM "$PA_PID"
	wait_for 5 grep -qx STOPPING=1 "$T/N.out"
	exits0 "$PA_PID"
}

@test "readiness: an abstract \$NOTIFY_SOCKET (@name) works too" {
	local name=pa-spawn-test-$$-$RANDOM
	pa_start N socat -u ABSTRACT-RECV:"$name" STDOUT
	wait_for 5 grep -q "@$name" /proc/net/unix
	pa_start S env NOTIFY_SOCKET="@$name" pa-listen -1 127.0.0.1:0 \
	    pa-spawn -c "$T/S.ctl" -n 1 pa-handler sh -c 'echo ok'
	wait_port S >/dev/null
	wait_for 5 grep -qx READY=1 "$T/N.out"
}

@test "works under systemd-socket-activate on 127.0.0.1:PORT" {
	local p
	# A port the kernel just handed out (pa-listen -1 prints it, true exits).
	p=$(pa-listen -1 127.0.0.1:0 true)
	pa_start A systemd-socket-activate -l "127.0.0.1:$p" \
	    pa-spawn -c "$T/A.ctl" -n 2 pa-handler sh -c 'echo ok'
	wait_for 5 grep -q "Listening on" "$T/A.err"
	# The first connection makes it exec pa-spawn, which serves it.
	[ "$(s-get.sh 127.0.0.1 "$p")" = ok ]
	wait_for 5 is A idle 2
	[ "$(s-get.sh 127.0.0.1 "$p")" = ok ]
	is A address "127.0.0.1:$p"
	kill -TERM "$PA_PID"
	exits0 "$PA_PID"
}

@test "works under systemd-socket-activate on a unix path" {
	pa_start A systemd-socket-activate -l "$T/sock" \
	    pa-spawn -c "$T/A.ctl" -n 2 pa-handler sh -c 'echo ok'
	wait_for 5 test -S "$T/sock"
	[ "$(s-get.sh unix "$T/sock")" = ok ]
	wait_for 5 is A idle 2
	[ "$(s-get.sh unix "$T/sock")" = ok ]
}

@test "a listening socket on fd 0 (inetd wait style) is taken too" {
	pa_start Z sh -c 'exec pa-listen -1 127.0.0.1:0 sh -c "exec env -u LISTEN_PID -u LISTEN_FDS -u LISTEN_FDNAMES pa-spawn -c \"\$1\" -n 1 pa-handler sh -c \"echo ok\" <&3 3<&-" _ "$1/Z.ctl"' _ "$T"
	getport Z
	wait_for 5 is Z idle 1
	[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
}

@test "a handler killed with SIGKILL is replaced, logged, and the pool keeps serving" {
	pool K -n 2 pa-handler sh -c 'echo ok'
	wait_for 5 is K idle 2
	local victim
	victim=$(kids "$PA_PID" | head -1)
	kill -KILL "$victim"
	wait_for 5 haslog K "handler [0-9] pid $victim killed by signal 9 \(Killed\)"
	wait_for 5 is K idle 2
	run ! is_kid "$PA_PID" "$victim"
	nkids "$PA_PID" 2
	for _ in 1 2 3 4; do
		[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
	done
	[ "$(field K exited)" -eq 1 ]
	[ "$(field K spawned)" -eq 3 ]
}

@test "a crash loop is throttled to one start per entry per second and costs little CPU" {
	local t0 t1 n ticks
	t0=$(date +%s%N)
	pool C -vv -n 2 sh -c 'exit 3'
	wait_for 15 starts C 8
	t1=$(date +%s%N)
	n=$(grep -c ' started$' "$T/C.err")
	# Two entries, one start each per second: 8 starts take 3 s at least.
	[ $(((t1 - t0) / 1000000)) -ge 2900 ]
	[ "$n" -le 10 ]
	haslog C "handler [01] pid [0-9]+ exited 3 after"
	haslog C "restarting in a second \([0-9]+ quick failures in a row\)"
	# pa-spawn itself used under half a second of CPU in that time.
	ticks=$(awk '{print $14 + $15}' "/proc/$PA_PID/stat")
	[ "$ticks" -lt $(($(getconf CLK_TCK) / 2)) ]
}

@test "a crash-looping entry does not hurt a healthy handler" {
	cat >"$T/h.sh" <<-'EOF'
	[ "$PA_HANDLER" = 0 ] && exec pa-handler sh -c 'echo ok'
	exit 3
	EOF
	pool H -n 2 sh "$T/h.sh"
	wait_for 5 is H idle 1
	local healthy
	healthy=$(kids "$PA_PID" | head -1)
	for _ in 1 2 3 4 5 6; do
		[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
	done
	wait_for 5 haslog H "exited 3"
	kids "$PA_PID" | grep -qx "$healthy"
}

@test "a handler that cannot be executed exits 127, is logged, and retried" {
	pool X -n 1 /nonexistent/handler
	wait_for 5 haslog X "exec /nonexistent/handler: No such file"
	wait_for 5 haslog X "handler 0 pid [0-9]+ exited 127"
	alive "$PA_PID"
}

@test "PROG missing or crashing does not hurt the pool" {
	pool M -n 2 pa-handler /nonexistent/prog
	wait_for 5 is M idle 2
	local before
	before=$(kids "$PA_PID")
	tcp_get 127.0.0.1 "$port" || true
	tcp_get 127.0.0.1 "$port" || true
	pool C -n 2 pa-handler sh -c 'kill -SEGV $$'
	wait_for 5 is C idle 2
	local cbefore
	cbefore=$(kids "$PA_PID")
	tcp_get 127.0.0.1 "$port" || true
	tcp_get 127.0.0.1 "$port" || true
	wait_for 5 is C accepted 2
	wait_for 5 is C idle 2
	[ "$(kids "$PA_PID")" = "$cbefore" ]
	wait_for 5 is M idle 2
	[ "$(kids "$(cat "$T/M.pid")")" = "$before" ]
	is M accepted 2
}

@test "TERM with connections queued and in flight serves them all, then exits 0" {
	pool D -n 2 -g 20 pa-handler sh -c \
	    'while [ ! -e "$0" ]; do sleep 0.05; done; echo done' "$T/gate"
	wait_for 5 is D idle 2
	local i
	for i in 1 2 3 4 5; do
		pa_start "c$i" s-get.sh 127.0.0.1 "$port"
	done
	# Two in service, three in the accept queue.
	wait_for 5 is D busy 2
	wait_for 5 queued "$port" 3
	kill -TERM "$(cat "$T/D.pid")"
	wait_for 5 is D stopping 1
	touch "$T/gate"
	for i in 1 2 3 4 5; do
		wait_for 10 grep -qx 'done' "$T/c$i.out"
	done
	exits0 "$(cat "$T/D.pid")"
	run ! grep -q "still queued" "$T/D.err"
}

@test "TERM: the grace period bounds the drain, and the exit line says what was left" {
	pool G -n 1 -g 1 pa-handler sh -c 'sleep 30'
	wait_for 5 is G idle 1
	pa_start c1 s-get.sh 127.0.0.1 "$port"
	pa_start c2 s-get.sh 127.0.0.1 "$port"
	wait_for 5 is G busy 1
	wait_for 5 queued "$port" 1
	kill -TERM "$(cat "$T/G.pid")"
	exits0 "$(cat "$T/G.pid")"
	grep -q "grace period of 1s over: killed 1 handlers (1 connections in service)" "$T/G.err"
	grep -q "exiting with 1 connections still queued" "$T/G.err"
}

@test "INT stops now: handlers are told to go, exit 0 within seconds" {
	pool I -n 2 pa-handler sh -c 'echo ok'
	wait_for 5 is I idle 2
	local hs
	hs=$(kids "$PA_PID")
	kill -INT "$PA_PID"
	exits0 "$PA_PID"
	for h in $hs; do
		wait_for 5 dead "$h"
	done
}

@test "HUP under a client loop fails no connection and replaces every handler" {
	pool H -n 3 pa-handler sh -c 'echo ok'
	wait_for 5 is H idle 3
	local before after h
	before=$(kids "$PA_PID")
	local spawner=$PA_PID
	pa_start L s-loop.sh 127.0.0.1 "$port" "$T/stop" "$T/loop"
	wait_for 10 test -s "$T/loop"
	kill -HUP "$spawner"
	wait_for 10 is H generation 1
	for h in $before; do
		wait_for 10 eval '! is_kid "$spawner" "$h"'
	done
	wait_for 5 is H idle 3
	after=$(kids "$spawner")
	[ "$(echo "$after" | wc -l)" -eq 3 ]
	for h in $after; do
		run ! grep -qx "$h" <<<"$before"
	done
	touch "$T/stop"
	wait_for 15 grep -qx 'done' "$T/loop"
	cat "$T/loop"
	grep -q " 0 failed" "$T/loop"
	[ "$(head -1 "$T/loop" | cut -d' ' -f1)" -gt 20 ]
}

@test "HUP with a handler that never gets ready: killed after the grace period, the old ones serve on, the restart ends once it can" {
	# The handler command: a new generation hangs before it is ready
	# while $T/broken exists.
	printf '#!/bin/sh\n[ -e "%s/broken" ] && exec sleep 3600\nexec pa-handler echo served\n' "$T" >"$T/handler"
	chmod +x "$T/handler"
	pool N -v -n 2 -g 1 "$T/handler"
	wait_for 5 is N idle 2
	local spawner=$PA_PID before h
	before=$(kids "$spawner")
	touch "$T/broken"
	kill -HUP "$spawner"
	wait_for 10 haslog N 'not ready after 1s: killed'
	wait_for 10 haslog N 'before it was ready; rolling restart paused'
	# The old handlers are the ones serving, and they still do.
	run -0 tcp_get 127.0.0.1 "$port"
	[ "$output" = served ]
	for h in $before; do
		is_kid "$spawner" "$h"
	done
	rm "$T/broken"
	wait_for 20 haslog N 'rolling restart done: generation 1'
	for h in $before; do
		wait_for 10 eval '! is_kid "$spawner" "$h"'
	done
	wait_for 5 is N idle 2
	run -0 tcp_get 127.0.0.1 "$port"
	[ "$output" = served ]
}

@test "HUP keeps a target changed at run time" {
	pool H -n 2 pa-handler sh -c 'echo ok'
	wait_for 5 is H idle 2
	kill -TTIN "$PA_PID"
	wait_for 5 is H idle 3
	kill -HUP "$PA_PID"
	wait_for 10 is H generation 1
	wait_for 10 is H retiring 0
	wait_for 5 is H idle 3
	is H target 3
	nkids "$PA_PID" 3
}

@test "TTIN adds a handler, TTOU removes one" {
	pool S -n 2 pa-handler sh -c 'echo ok'
	wait_for 5 is S idle 2
	kill -TTIN "$PA_PID"
	wait_for 5 nkids "$PA_PID" 3
	kill -TTIN "$PA_PID"
	wait_for 5 nkids "$PA_PID" 4
	is S target 4
	# Signals of one kind do not queue: one at a time.
	kill -TTOU "$PA_PID"
	wait_for 5 is S target 3
	kill -TTOU "$PA_PID"
	wait_for 5 is S target 2
	kill -TTOU "$PA_PID"
	wait_for 5 nkids "$PA_PID" 1
	is S target 1
	[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
}

@test "scale-down retires idle handlers, never the busy one, whose client is served" {
	pool B -n 3 -vv pa-handler sh -c \
	    'echo $PPID >"$0.pid"; while [ ! -e "$0" ]; do sleep 0.05; done; echo served' "$T/gate"
	wait_for 5 is B idle 3
	local spawner=$PA_PID busy
	pa_start c1 s-get.sh 127.0.0.1 "$port"
	wait_for 5 test -s "$T/gate.pid"
	busy=$(cat "$T/gate.pid")
	kill -TTOU "$spawner"
	wait_for 5 is B target 2
	kill -TTOU "$spawner"
	wait_for 5 nkids "$spawner" 1
	[ "$(kids "$spawner")" = "$busy" ]
	touch "$T/gate"
	wait_for 5 grep -qx served "$T/c1.out"
	alive "$busy"
}

@test "scale-down retires the handler idle longest first" {
	pool O -n 3 -vv pa-handler sh -c 'echo $PPID; echo ok'
	wait_for 5 is O idle 3
	# Serve two connections: the handlers that served them were idle
	# for less time than the third.
	local a b third
	a=$(tcp_get 127.0.0.1 "$port" | head -1)
	b=$(tcp_get 127.0.0.1 "$port" | head -1)
	wait_for 5 is O idle 3
	third=$(kids "$PA_PID" | grep -vx "$a" | grep -vx "$b" | head -1)
	[ -n "$third" ]
	kill -TTOU "$PA_PID"
	wait_for 5 nkids "$PA_PID" 2
	run ! is_kid "$PA_PID" "$third"
}

@test "-u nobody: pa-spawn and PROG run as nobody, no supplementary groups" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	pool U -n 2 -u nobody pa-handler sh -c 'id -u; id -G; grep ^Groups: /proc/$$/status'
	wait_for 5 is U idle 2
	run tcp_get 127.0.0.1 "$port"
	[ "${lines[0]}" = "$(id -u nobody)" ]
	[ "${lines[1]}" = "$(id -g nobody)" ]
	[[ ${lines[2]} =~ ^Groups:[[:space:]]*$ ]]
	[ "$(ps -o uid= -p "$PA_PID" | tr -d ' ')" = "$(id -u nobody)" ]
}

@test "-U runs as \$UID and \$GID" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	pa_start U env UID=65534 GID=65534 pa-listen -1 127.0.0.1:0 \
	    pa-spawn -c "$T/U.ctl" -U -n 1 pa-handler sh -c 'echo "$(id -u):$(id -g)"'
	getport U
	wait_for 5 is U idle 1
	[ "$(tcp_get 127.0.0.1 "$port")" = 65534:65534 ]
}

@test "-p writes a locked pidfile, refuses a second instance (111), removes it at exit" {
	pool P -p "$T/pa.pid" -n 1 pa-handler sh -c 'echo ok'
	wait_for 5 is P idle 1
	[ "$(cat "$T/pa.pid")" = "$PA_PID" ]
	run -111 --separate-stderr pa-listen 127.0.0.1:0 pa-spawn -c "$T/P2.ctl" -p "$T/pa.pid" true
	[[ $stderr == *"already running as pid $PA_PID"* ]]
	kill -TERM "$PA_PID"
	exits0 "$PA_PID"
	[ ! -e "$T/pa.pid" ]
}

@test "-a pins handlers to processors, round robin" {
	[ "$(nproc)" -ge 2 ] || skip "one processor"
	cat >"$T/h.sh" <<-'EOF'
	sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/$$/status >"$1/cpu$PA_HANDLER"
	exec pa-handler sh -c 'echo ok'
	EOF
	pool A -a -n 2 sh "$T/h.sh" "$T"
	wait_for 5 is A idle 2
	local c0 c1
	c0=$(cat "$T/cpu0")
	c1=$(cat "$T/cpu1")
	[[ $c0 =~ ^[0-9]+$ ]]
	[[ $c1 =~ ^[0-9]+$ ]]
	[ "$c0" != "$c1" ]
}

@test "a busy handler asked to go is killed once the grace period is over" {
	pool G -n 1 -g 1 pa-handler sh -c 'sleep 30'
	wait_for 5 is G idle 1
	local spawner=$PA_PID
	pa_start c1 s-get.sh 127.0.0.1 "$port"
	wait_for 5 is G busy 1
	kill -TTOU "$spawner"
	wait_for 5 haslog G "handler 0 pid [0-9]+ still busy after 1s: killed"
	wait_for 5 nkids "$spawner" 0
	is G target 0
	alive "$spawner"
}

@test "-n 0 starts an empty pool that is ready at once and grows with TTIN" {
	: >"$T/ready"
	pa_start Z sh -c 'exec pa-listen -1 127.0.0.1:0 pa-spawn -c "$1/Z.ctl" -d 7 -n 0 pa-handler sh -c "echo ok" 7>"$1/ready"' _ "$T"
	getport Z
	wait_for 5 test -s "$T/ready"
	nkids "$PA_PID" 0
	kill -TTIN "$PA_PID"
	wait_for 5 is Z idle 1
	[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
}

@test "HUP at the ceiling (-m 2 -M 2 -n 2) retires first and still replaces every handler" {
	pool C -m 2 -M 2 -n 2 pa-handler sh -c 'echo ok'
	wait_for 5 is C idle 2
	local spawner=$PA_PID before h
	before=$(kids "$spawner")
	kill -HUP "$spawner"
	wait_for 10 is C generation 1
	for h in $before; do
		wait_for 10 eval '! is_kid "$spawner" "$h"'
	done
	wait_for 5 is C idle 2
	nkids "$spawner" 2
	[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
}

@test "USR2 executes a rebuilt pa-spawn in place: same pid, socket and handlers, no failed connection" {
	cp "$PA_BIN/pa-spawn" "$T/pa-spawn"
	pa_start R pa-listen -1 127.0.0.1:0 "$T/pa-spawn" -c "$T/R.ctl" \
	    -p "$T/R.pidfile" -n 2 pa-handler sh -c 'echo ok'
	getport R
	local spawner=$PA_PID before
	wait_for 5 is R idle 2
	kill -TTIN "$spawner"
	wait_for 5 is R idle 3
	before=$(kids "$spawner")
	pa_start L s-loop.sh 127.0.0.1 "$port" "$T/stop" "$T/loop"
	wait_for 10 test -s "$T/loop"
	# A rebuilt binary replaces the old one on disk.
	cp "$PA_BIN/pa-spawn" "$T/pa-spawn.new"
	mv "$T/pa-spawn.new" "$T/pa-spawn"
	[[ $(readlink "/proc/$spawner/exe") == *"(deleted)" ]]
	kill -USR2 "$spawner"
	wait_for 5 test "/proc/$spawner/exe" -ef "$T/pa-spawn"
	wait_for 5 is R target 3
	[ "$(kids "$spawner")" = "$before" ]
	[ "$(cat "$T/R.pidfile")" = "$spawner" ]
	touch "$T/stop"
	wait_for 15 grep -qx 'done' "$T/loop"
	cat "$T/loop"
	grep -q " 0 failed" "$T/loop"
	kill -TERM "$spawner"
	exits0 "$spawner"
}

@test "USR2 after -u is refused with a warning; the pool goes on" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	pool U -n 1 -u nobody pa-handler sh -c 'echo ok'
	wait_for 5 is U idle 1
	kill -USR2 "$PA_PID"
	wait_for 5 haslog U "USR2: re-exec needs the privileges given up"
	[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
}

@test "USR2 after a handler scribbled over the region: the new image repairs it and adopts the pool" {
	local scribble=$PA_UNITDIR/../fbin/f-scribble
	[ -x "$scribble" ] || skip "no $scribble (make fbins)"
	cat >"$T/h.sh" <<-EOF
	if [ "\$PA_HANDLER" = 1 ] && mkdir "$T/once" 2>/dev/null; then
		exec "$scribble" "\$\$"
	fi
	exec pa-handler sh -c 'echo ok'
	EOF
	pool W -vv -n 2 sh "$T/h.sh"
	local spawner=$PA_PID
	wait_for 10 haslog W "handler 1 pid [0-9]+ exited 3"
	# Handlers started now cannot map the region (its sizes are junk).
	kill -USR2 "$spawner"
	wait_for 5 haslog W "executed afresh: [12] handlers"
	alive "$spawner"
	[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
	# Repaired: the next start of entry 1 maps it and waits.
	wait_for 10 haslog W "handler 1 pid [0-9]+ ready"
	nkids "$spawner" 2
	is W target 2
	kill -TERM "$spawner"
	exits0 "$spawner"
}
