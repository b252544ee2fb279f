#!/usr/bin/env bats
# pa-ctl and the control socket of pa-spawn, against the whole chain
# pa-listen -1 127.0.0.1:0 pa-spawn -c CTL ... pa-handler PROG.
# shellcheck disable=SC2154 # bats' run sets stderr

bats_require_minimum_version 1.5.0
load helper

# start_pool N [pa-spawn option ...] [-- PROG ...]: the chain with N
# handlers and its control socket at $CTLPATH (default ctl in the test's
# directory); sets CTL (the path), POOL (the pid) and PORT, and waits
# until N handlers are ready.
start_pool() {
	local n=$1 prog=(echo served)
	shift
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	[ "${1-}" = -- ] && shift && prog=("$@")
	CTL=${CTLPATH:-$BATS_TEST_TMPDIR/ctl}
	pa_start pool pa-listen -1 127.0.0.1:0 \
	    pa-spawn -c "$CTL" -n "$n" "${opts[@]}" pa-handler "${prog[@]}"
	POOL=$PA_PID
	PORT=$(wait_port pool)
	wait_for 10 figure_is handlers "$n"
	wait_for 10 figure_is idle "$n"
}

# figure KEY: the value of KEY in pa-ctl stat.
figure() {
	pa-ctl -c "$CTL" stat | sed -n "s/^$1: //p"
}

figure_is() {
	[ "$(figure "$1")" = "$2" ]
}

# The pool is where it was asked to be: handlers = target, none retiring.
settled() {
	local s t h r
	s=$(pa-ctl -c "$CTL" stat) || return 1
	t=$(sed -n 's/^target: //p' <<<"$s")
	h=$(sed -n 's/^handlers: //p' <<<"$s")
	r=$(sed -n 's/^retiring: //p' <<<"$s")
	[ "$t" = "$h" ] && [ "$r" = 0 ] &&
	    [ "$(sed -n 's/^idle: //p' <<<"$s")" -ge "$h" ]
}

# at_least KEY N, at_most KEY N: compare a figure.
at_least() {
	[ "$(figure "$1")" -ge "$2" ]
}

at_most() {
	[ "$(figure "$1")" -le "$2" ]
}

# settled_at N: target N reached and settled.
settled_at() {
	figure_is target "$1" && settled
}

# frames NAME N: the output of NAME holds at least N top frames.
frames() {
	[ "$(grep -c '^Scoreboard Key' "$BATS_TEST_TMPDIR/$1.out")" -ge "$2" ]
}

served() {
	[ "$(tcp_get 127.0.0.1 "$PORT")" = served ]
}

# load_start [N]: N client loops (1 by default) against the pool.
load_start() {
	local i
	for ((i = 0; i < ${1:-1}; i++)); do
		pa_start "load$i" c-load.sh 127.0.0.1 "$PORT" \
		    "$BATS_TEST_TMPDIR/stop-load"
	done
	NLOAD=${1:-1}
}

# load_stop: end the loops; fails unless every connection was served.
load_stop() {
	local i out
	touch "$BATS_TEST_TMPDIR/stop-load"
	for ((i = 0; i < NLOAD; i++)); do
		wait_for 20 file_has_line "$BATS_TEST_TMPDIR/load$i.out"
		out=$(cat "$BATS_TEST_TMPDIR/load$i.out")
		echo "load$i: $out"
		[[ "$out" =~ ^ok\ [1-9][0-9]*\ failed\ 0$ ]]
	done
}

XDIR=
teardown() {
	pa_teardown
	if [ -n "$XDIR" ]; then
		rm -rf "$XDIR"
	fi
}

@test "the control socket is born 0600, answers, and goes when pa-spawn exits" {
	start_pool 2
	[ -S "$CTL" ]
	[ "$(stat -c %a "$CTL")" = 600 ]
	run pa-ctl -c "$CTL" stat
	[ "$status" -eq 0 ]
	stop_pid "$POOL"
	[ ! -e "$CTL" ]
}

@test "stat: key: value lines with the figures of the pool" {
	start_pool 2
	served
	served
	served
	run -0 pa-ctl -c "$CTL" stat
	for line in "${lines[@]}"; do
		[[ "$line" =~ ^[a-z_]+:\ [^\ ].*$ ]]
	done
	for k in pid address uptime target handlers idle busy starting \
	    draining min max accepted futile_wakeups wakeups lost_eagain \
	    lost_econnaborted lost_emfile queue queue_peak maxed max_reached \
	    spawned exited; do
		grep -q "^$k: " <<<"$output"
	done
	grep -qx "address: 127.0.0.1:$PORT" <<<"$output"
	grep -qx "target: 2" <<<"$output"
	grep -qx "handlers: 2" <<<"$output"
	grep -qx "accepted: 3" <<<"$output"
	grep -qx "spawned: 2" <<<"$output"
	grep -qx "pid: $POOL" <<<"$output"
	# help lists every command.
	run -0 pa-ctl -c "$CTL" help
	for k in stat top list up down set bounds restart stop help; do
		grep -q "^$k " <<<"$output"
	done
	# The same figures over nc: the protocol is for people too.
	run -0 bash -c "echo stat | timeout 5 nc -U '$CTL'"
	[ "${lines[0]}" = ok ]
	grep -qx "target: 2" <<<"$output"
}

@test "stat -j: one JSON object, the documented keys as numbers" {
	start_pool 3
	served
	run -0 pa-ctl -c "$CTL" -j stat
	[ "${#lines[@]}" -eq 1 ]
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert isinstance(d, dict)
for k in ("target", "handlers", "idle", "busy", "accepted",
          "futile_wakeups", "queue", "queue_peak", "starting", "draining",
          "maxed", "max_reached", "spawned", "exited", "uptime",
          "lost_eagain", "lost_econnaborted", "min", "max", "pid"):
    assert isinstance(d[k], (int, float)) and not isinstance(d[k], bool), k
assert d["target"] == 3 and d["handlers"] == 3, d
assert d["accepted"] == 1, d
assert isinstance(d["address"], str) and d["address"].startswith("127.0.0.1:")
' "$output"
}

@test "stat -p: Prometheus text format, pa_ prefix, counters end in _total" {
	start_pool 2
	served
	run -0 pa-ctl -c "$CTL" -p stat
	local typed=" " name
	for line in "${lines[@]}"; do
		if [[ "$line" =~ ^#\ HELP\ (pa_[a-z_]+)\ .+$ ]]; then
			continue
		elif [[ "$line" =~ ^#\ TYPE\ (pa_[a-z_]+)\ (gauge|counter)$ ]]; then
			name=${BASH_REMATCH[1]}
			[[ "${BASH_REMATCH[2]}" != counter || "$name" == *_total ]]
			[[ "${BASH_REMATCH[2]}" != gauge || "$name" != *_total ]]
			# One TYPE per family.
			[[ "$typed" != *" $name "* ]]
			typed="$typed$name "
		elif [[ "$line" =~ ^(pa_[a-z_]+)(\{[a-z_]+=\"[^\"]*\"\})?\ [0-9]+(\.[0-9]+)?$ ]]; then
			# Every sample follows the TYPE of its family.
			[[ "$typed" == *" ${BASH_REMATCH[1]} "* ]]
		else
			echo "bad line: $line"
			false
		fi
	done
	grep -qx 'pa_accepted_total 1' <<<"$output"
	grep -qx 'pa_target 2' <<<"$output"
	grep -qx 'pa_handlers 2' <<<"$output"
	grep -qx '# TYPE pa_futile_wakeups_total counter' <<<"$output"
	grep -q '^pa_queue_peak [0-9]' <<<"$output"
	grep -q '^pa_accept_failures_total{cause="eagain"} [0-9]' <<<"$output"
	grep -q '^pa_accept_failures_total{cause="econnaborted"} [0-9]' <<<"$output"
	grep -qx "pa_info{address=\"127.0.0.1:$PORT\"} 1" <<<"$output"
	grep -q '^pa_uptime_seconds [0-9]*\.[0-9]*$' <<<"$output"
}

@test "top: a scoreboard, one character per slot, and the counters" {
	start_pool 3 -- c-slow.sh 3
	run -0 pa-ctl -c "$CTL" top
	grep -q "^pa-spawn $POOL on 127.0.0.1:$PORT, up 0d 00:00:" <<<"$output"
	grep -q '^handlers 3 (target 3' <<<"$output"
	grep -q '^accepted 0, queue 0 (peak [0-9]*)' <<<"$output"
	grep -q '^Scoreboard Key: "_" idle, "W" busy' <<<"$output"
	# The board: lines of 64 slot characters, the handlers first.
	grep -qx '___\.\{61\}' <<<"$output"
	grep -q '^([0-9]* more empty slots)$' <<<"$output"
	# A handler serving a connection shows as W.
	exec 6<>"/dev/tcp/127.0.0.1/$PORT"
	wait_for 5 figure_is busy 1
	run -0 pa-ctl -c "$CTL" top
	grep -Eqx '[_W]{3}\.{61}' <<<"$output"
	grep -q '^threads: 2 idle, 1 busy' <<<"$output"
	run -0 pa-ctl -c "$CTL" -j top
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert sorted(d["scoreboard"][:3]) == ["W", "_", "_"], d["scoreboard"]
assert set(d["scoreboard"][3:]) == {"."}
assert d["busy"] == 1 and d["idle"] == 2
' "$output"
	exec 6<&-
}

@test "top -w refreshes until interrupted, then exits 0" {
	start_pool 2
	pa_start top pa-ctl -c "$CTL" -w 1 top
	local top=$PA_PID
	wait_for 10 frames top 2
	kill -INT "$top"
	wait_for 5 dead "$top"
	run wait "$top"
	[ "$status" -eq 0 ]
	run -100 pa-ctl -c "$CTL" -w 1 stat
	run -100 pa-ctl -c "$CTL" -w 0 top
}

@test "list: one line per slot in use, with pid, state, counters, peer and time" {
	start_pool 2 -- c-slow.sh 3
	exec 6<>"/dev/tcp/127.0.0.1/$PORT"
	wait_for 5 figure_is busy 1
	run -0 pa-ctl -c "$CTL" list
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" =~ ^\ *slot\ +proc\ +pid\ +state\ +accepted\ +futile\ +peer\ +seconds$ ]]
	grep -Eq '^ +[0-9]+ +[0-9]+ +[0-9]+ busy +1 +[0-9]+ 127\.0\.0\.1:[0-9]+ +[0-9]+\.[0-9]{3}$' <<<"$output"
	grep -Eq '^ +[0-9]+ +[0-9]+ +[0-9]+ idle +0 +[0-9]+ - +[0-9]+\.[0-9]{3}$' <<<"$output"
	run -0 pa-ctl -c "$CTL" -j list
	python3 -c '
import json, sys
rows = json.loads(sys.argv[1])
assert len(rows) == 2, rows
busy = [r for r in rows if r["state"] == "busy"]
assert len(busy) == 1 and busy[0]["peer"].startswith("127.0.0.1:")
assert busy[0]["accepted"] == 1 and isinstance(busy[0]["pid"], int)
assert all(isinstance(r["seconds"], float) for r in rows)
' "$output"
	exec 6<&-
}

@test "waiting counts the threads asleep, and stays right when one is killed asleep" {
	start_pool 3
	wait_for 5 figure_is waiting 3
	local victim
	victim=$(ps -o pid= --ppid "$POOL" | head -n 1 | tr -d ' ')
	[ -n "$victim" ]
	kill -KILL "$victim"
	# The replacement comes up (restarts are throttled to one a second).
	wait_for 10 figure_is spawned 4
	wait_for 10 figure_is idle 3
	wait_for 5 figure_is waiting 3
	# A connection: served, and all three asleep again afterwards.
	run -0 tcp_get 127.0.0.1 "$PORT"
	[ "$output" = served ]
	wait_for 5 figure_is waiting 3
	figure_is accepted 1
}

@test "up, down and set change the pool and say which handlers changed" {
	start_pool 2
	run -0 pa-ctl -c "$CTL" up
	[[ "$output" =~ ^target\ 2\ -\>\ 3:\ added\ [0-9]+$ ]]
	run -0 pa-ctl -c "$CTL" up 2
	[[ "$output" =~ ^target\ 3\ -\>\ 5:\ added\ [0-9]+\ [0-9]+$ ]]
	wait_for 10 settled
	[ "$(figure handlers)" = 5 ]
	run -0 pa-ctl -c "$CTL" down 3
	[[ "$output" =~ ^target\ 5\ -\>\ 2:\ retired\ [0-9]+\ [0-9]+\ [0-9]+$ ]]
	wait_for 10 settled
	run -0 pa-ctl -c "$CTL" set 4
	[[ "$output" =~ ^target\ 2\ -\>\ 4: ]]
	wait_for 10 settled
	[ "$(figure handlers)" = 4 ]
	run -0 pa-ctl -c "$CTL" list
	[ "${#lines[@]}" -eq 5 ]
	# Out of range: an error reply, exit 1; nothing changes.
	run -1 --separate-stderr pa-ctl -c "$CTL" set 0
	[[ "$stderr" == *"out of range 1.."* ]]
	run -1 pa-ctl -c "$CTL" set 1000
	# Past a bound, up and down stop at it; at it, they are refused.
	run -0 pa-ctl -c "$CTL" down 100
	[[ "$output" =~ ^target\ 4\ -\>\ 1: ]]
	run -1 --separate-stderr pa-ctl -c "$CTL" down
	[[ "$stderr" == *"already at the minimum"* ]]
	[ "$(figure target)" = 1 ]
	served
}

@test "bounds turns autoscaling on within MIN..MAX, and off with 0 0" {
	start_pool 2
	run -0 pa-ctl -c "$CTL" bounds 1 4
	[[ "$output" == "bounds 1..4 (was off); target stays 2" ]]
	[ "$(figure min)" = 1 ]
	[ "$(figure max)" = 4 ]
	run -1 pa-ctl -c "$CTL" set 5
	run -0 pa-ctl -c "$CTL" set 4
	run -0 pa-ctl -c "$CTL" bounds 1 3
	[[ "${lines[0]}" =~ ^target\ 4\ -\>\ 3:\ retired\ [0-9]+$ ]]
	[ "${lines[1]}" = "bounds 1..3 (were 1..4)" ]
	run -1 pa-ctl -c "$CTL" bounds 3 1
	run -1 pa-ctl -c "$CTL" bounds 1 1000
	run -100 pa-ctl -c "$CTL" bounds 1 100000
	run -100 pa-ctl -c "$CTL" bounds 1
	run -0 pa-ctl -c "$CTL" bounds 0 0
	[[ "$output" == "autoscaling off"* ]]
	[ "$(figure max)" = 0 ]
}

@test "restart replaces every handler; the counters do not go backwards" {
	start_pool 2
	served
	served
	local before
	before=$(pa-ctl -c "$CTL" list | awk 'NR > 1 { print $3 }' | sort)
	run -0 pa-ctl -c "$CTL" restart
	[[ "$output" =~ ^restart:\ generation\ 0\ -\>\ 1 ]]
	wait_for 10 figure_is exited 2
	wait_for 10 settled
	after=$(pa-ctl -c "$CTL" list | awk 'NR > 1 { print $3 }' | sort)
	[ -n "$after" ]
	[ -z "$(comm -12 <(echo "$before") <(echo "$after"))" ]
	[ "$(figure accepted)" = 2 ]
	[ "$(figure generation)" = 1 ]
	served
	[ "$(figure accepted)" = 3 ]
}

@test "runtime changes survive HUP and restart" {
	start_pool 2
	run -0 pa-ctl -c "$CTL" set 3
	run -0 pa-ctl -c "$CTL" bounds 2 5
	wait_for 10 settled_at 3
	kill -HUP "$POOL"
	wait_for 10 figure_is generation 1
	wait_for 10 figure_is exited 3
	wait_for 10 settled_at 3
	run -0 pa-ctl -c "$CTL" restart
	wait_for 10 figure_is exited 6
	wait_for 10 settled_at 3
	[ "$(figure min)" = 2 ]
	[ "$(figure max)" = 5 ]
	[ "$(figure generation)" = 2 ]
	served
}

@test "figures and runtime bounds survive a re-exec of pa-spawn (USR2)" {
	start_pool 2
	served
	served
	run -0 pa-ctl -c "$CTL" restart
	wait_for 10 figure_is exited 2
	run -0 pa-ctl -c "$CTL" bounds 1 5
	wait_for 10 settled
	[ "$(figure generation)" = 1 ]
	kill -USR2 "$POOL"
	# The new image starts its generations again.
	wait_for 10 figure_is generation 0
	[ "$(figure pid)" = "$POOL" ]
	[ "$(figure accepted)" = 2 ]
	[ "$(figure min)" = 1 ]
	[ "$(figure max)" = 5 ]
	served
	[ "$(figure accepted)" = 3 ]
}

@test "stop drains the pool; pa-spawn exits 0 and removes the socket" {
	start_pool 2
	run -0 pa-ctl -c "$CTL" stop
	[[ "$output" == "stopping: draining 2 handlers" ]]
	wait_for 10 dead "$POOL"
	run wait "$POOL"
	[ "$status" -eq 0 ]
	[ ! -e "$CTL" ]
	run -111 pa-ctl -c "$CTL" stat
}

@test "exit status: 100 usage, 111 unreachable, 1 an error reply" {
	run -100 pa-ctl
	run -100 pa-ctl -x stat
	run -100 pa-ctl -c /nonexistent frobnicate
	run -100 pa-ctl -c /nonexistent set
	run -100 pa-ctl -c /nonexistent set x
	run -100 pa-ctl -c /nonexistent up 0
	run -100 pa-ctl -c /nonexistent -j -p stat
	run -100 pa-ctl -c /nonexistent -p list
	run -100 pa-ctl -c /nonexistent -j up
	run -100 pa-ctl -c "/$(printf 'x%.0s' {1..200})" stat
	run -111 --separate-stderr pa-ctl -c "$BATS_TEST_TMPDIR/none" stat
	[[ "$stderr" == *"connect $BATS_TEST_TMPDIR/none"* ]]
	run -0 pa-ctl -h
	[[ "${lines[0]}" == "usage: pa-ctl "* ]]
	start_pool 1
	run -1 --separate-stderr pa-ctl -c "$CTL" down
	[[ "$stderr" == "pa-ctl: already at the minimum"* ]]
	# A socket nobody listens on.
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
	    "$BATS_TEST_TMPDIR/dead"
	run -111 pa-ctl -c "$BATS_TEST_TMPDIR/dead" stat
}

@test "garbage, binary, over-long lines and silence each get an error; the pool goes on" {
	start_pool 2
	run -0 bash -c "printf 'frobnicate\n' | timeout 5 nc -U '$CTL'"
	[ "$output" = "error: unknown command" ]
	run -0 bash -c "printf 'set 1 2 3\n' | timeout 5 nc -U '$CTL'"
	[ "$output" = "error: wrong number of arguments" ]
	run -0 bash -c "printf 'set 99999999999\n' | timeout 5 nc -U '$CTL'"
	[ "$output" = "error: argument is not a number in range" ]
	run -0 bash -c "printf '\x16\x03\x01\x00\xff\x00stat\n' | timeout 5 nc -U '$CTL'"
	[ "$output" = "error: control or non-ASCII bytes in request" ]
	run -0 bash -c "head -c 100000 /dev/zero | tr '\0' s | timeout 5 nc -U '$CTL'"
	[ "$output" = "error: request line too long" ]
	run -0 bash -c "head -c 5000 /dev/urandom | timeout 5 nc -U '$CTL'"
	[[ "$output" == "error: "* ]]
	run -0 bash -c "printf '\n' | timeout 5 nc -U '$CTL'"
	[ "$output" = "error: empty request" ]
	# No newline, but the end of input: still a request.
	run -0 bash -c "printf 'stat' | timeout 5 nc -N -U '$CTL'"
	[ "${lines[0]}" = ok ]
	# Connects and says nothing: a timeout error after about 2 s.
	run -0 bash -c "sleep 8 | timeout 5 nc -U '$CTL'"
	[ "$output" = "error: timeout" ]
	served
	run -0 pa-ctl -c "$CTL" stat
	alive "$POOL"
}

@test "hundreds of control clients at once: each gets an answer, the pool keeps serving" {
	start_pool 2
	local mode
	for mode in silent garbage stat; do
		pa_start "flood-$mode" c-flood.py "$CTL" 300 "$mode"
		# The pool serves and pa-ctl gets through while the flood lasts.
		served
		run -0 pa-ctl -c "$CTL" stat
		wait_for 30 file_has_line "$BATS_TEST_TMPDIR/flood-$mode.out"
		wait_for 10 dead "$PA_PID"
		cat "$BATS_TEST_TMPDIR/flood-$mode.out"
		# Every reply is an error (busy, timeout, bad request) or ok.
		# shellcheck disable=SC2016 # awk's own fields
		run -0 awk -F '\t' '{ n += $1 }
		    $2 !~ /^(ok|error: (timeout|too many clients, try again|control or non-ASCII bytes in request|unknown command|empty request|wrong number of arguments))$/ { bad = 1 }
		    END { exit bad || n != 300 }' "$BATS_TEST_TMPDIR/flood-$mode.out"
	done
	grep -q '^[0-9]*	error: timeout$' "$BATS_TEST_TMPDIR/flood-silent.out"
	grep -q '^[0-9]*	ok$' "$BATS_TEST_TMPDIR/flood-stat.out"
	served
	run -0 pa-ctl -c "$CTL" stat
	alive "$POOL"
}

@test "a peer with another uid is refused, by the mode and by SO_PEERCRED" {
	command -v setpriv >/dev/null || skip "no setpriv"
	[ "$(id -u)" -eq 0 ] || skip "needs root to become nobody"
	XDIR=$(mktemp -d /tmp/pa-ctl-test.XXXXXX)
	chmod 0711 "$XDIR"
	CTLPATH=$XDIR/ctl start_pool 1
	local as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	# Mode 0600: connect fails before the spawner sees anything.
	run "${as_nobody[@]}" pa-ctl -c "$CTL" stat
	[ "$status" -eq 111 ]
	[[ "$output" == *"Permission denied"* ]]
	# Opened up by hand, the credentials check still says no.
	chmod 0666 "$CTL"
	run -0 "${as_nobody[@]}" bash -c "echo stat | timeout 5 nc -U '$CTL'"
	[ "$output" = "error: permission denied" ]
	run -1 "${as_nobody[@]}" pa-ctl -c "$CTL" stat
	[ "$(figure target)" = 1 ]
	served
}

@test "a live control socket is not taken over; a stale one is replaced" {
	start_pool 1
	# A second pa-spawn on the same path gives up: somebody answers there.
	run -111 --separate-stderr pa-listen 127.0.0.1:0 pa-spawn -c "$CTL" -n 1 pa-handler echo x
	[[ "$stderr" == *"control socket $CTL"*"in use"* ]]
	run -0 pa-ctl -c "$CTL" stat
	# Killed outright, pa-spawn leaves the socket behind ...
	kill -KILL "$POOL"
	wait_for 5 dead "$POOL"
	pa_teardown
	[ -S "$CTL" ]
	run -111 pa-ctl -c "$CTL" stat
	# ... and the next one replaces it.
	start_pool 1
	run -0 pa-ctl -c "$CTL" stat
	# Something that is not a socket is never removed.
	echo precious >"$BATS_TEST_TMPDIR/file"
	run -111 pa-listen 127.0.0.1:0 pa-spawn -c "$BATS_TEST_TMPDIR/file" -n 1 pa-handler echo x
	[ "$(cat "$BATS_TEST_TMPDIR/file")" = precious ]
}

@test "scaling by hand under load: no connection fails, the counts converge" {
	start_pool 2
	load_start 2
	local n
	for n in 5 1 4 2 6 1 3; do
		run -0 pa-ctl -c "$CTL" set "$n"
		served
	done
	run -0 pa-ctl -c "$CTL" up 2
	run -0 pa-ctl -c "$CTL" down 3
	run -0 pa-ctl -c "$CTL" restart
	load_stop
	wait_for 20 settled
	[ "$(figure target)" = 2 ]
	[ "$(figure handlers)" = 2 ]
}

@test "autoscaling grows under load and shrinks when idle, within MIN..MAX" {
	start_pool 1 -m 1 -M 6 -s 1:2 -- c-slow.sh 0.2
	[ "$(figure max)" = 6 ]
	load_start 4
	# Four clients keep about four handlers busy: more are started.
	wait_for 20 at_least handlers 4
	run -0 pa-ctl -c "$CTL" top
	echo "$output"
	load_stop
	# Idle again: one retired a second, down to the high mark.
	wait_for 30 at_most idle 2
	wait_for 30 settled
	local t
	t=$(figure target)
	[ "$t" -ge 1 ] && [ "$t" -le 2 ]
	[ "$(figure exited)" -ge 2 ]
	served
}

@test "autoscaling: MAX reached is counted, and logged at most once in 10 s" {
	start_pool 1 -m 1 -M 1 -s 2:4
	wait_for 10 at_least max_reached 2
	[ "$(figure handlers)" = 1 ]
	# Logged, but not every time it is counted.
	local logged
	logged=$(grep -c 'consider raising' "$BATS_TEST_TMPDIR/pool.err")
	[ "$logged" -ge 1 ]
	[ "$logged" -lt "$(figure max_reached)" ]
	run -1 pa-ctl -c "$CTL" up
}

@test "autoscaling: the idle timeout retires idle handlers down to MIN" {
	start_pool 4 -m 1 -M 4 -s 1:4 -i 1
	wait_for 20 settled_at 1
	[ "$(figure handlers)" = 1 ]
	served
	# A manual change within the bounds is undone by the timeout again.
	run -0 pa-ctl -c "$CTL" set 3
	[ "${lines[1]}" = "autoscaling 1..4 is on: the spare marks may move it" ]
	wait_for 20 settled_at 1
}
