#!/usr/bin/env bats
# Whole command lines: pa-listen ADDRESS pa-spawn ... pa-handler ... PROG,
# over TCP v4, v6 and unix, with other chain loaders slotted in between,
# and a rolling restart that picks up a rebuilt handler.

# shellcheck disable=SC2016,SC2154 # inner shells expand; run sets output
bats_require_minimum_version 1.5.0
load helper

T=$BATS_TEST_TMPDIR

# What PROG reports: its environment, signal mask and descriptors
# ("fd N" lines), from tests/bin/h-env.sh.
REPORT='exec h-env.sh'

# chain NAME ADDRESS [PA-SPAWN ARGS...]: the whole chain on ADDRESS with
# PROG reporting, once its handlers wait; sets port (the -1 line).
chain() {
	local name=$1 addr=$2
	shift 2
	# -d 1: an empty line after the port once every handler waits.
	pa_start "$name" pa-listen -1 "$addr" pa-spawn -c "$T/$name.ctl" -d 1 \
	    "$@" pa-handler sh -c "$REPORT"
	port=$(wait_port "$name")
	wait_for 5 lines "$T/$name.out" 2
}

# lines FILE N: FILE has N lines.
lines() {
	[ "$(wc -l <"$1")" -eq "$2" ]
}

# idle NAME N: N handler threads of pool NAME are idle.
idle() {
	[ "$(pa-ctl -c "$T/$1.ctl" stat 2>/dev/null | sed -n 's/^idle: //p')" = "$2" ]
}

field() {
	pa-ctl -c "$T/$1.ctl" stat 2>/dev/null | sed -n "s/^$2: //p"
}

has_field() {
	[ "$(field "$1" "$2")" = "$3" ]
}

getport() {
	port=$(wait_port "$1")
}

need_ipv6() {
	if ! grep -qs '^0*1 ' /proc/net/if_inet6; then
		skip "no IPv6 loopback"
	fi
}

# nothing_of_pa: PROG inherited no pa descriptor or variable.
nothing_of_pa() {
	[ "$(grep '^fd ' <<<"$output" | tr '\n' ' ')" = "fd 0 fd 1 fd 2 " ]
	[[ $output != *PA_* ]]
	[[ $output != *LISTEN_* ]]
	[[ $output != *NOTIFY_SOCKET* ]]
}

@test "the chain serves TCP on 127.0.0.1 with the UCSPI environment" {
	chain V4 127.0.0.1:0 -n 2
	run -0 tcp_get 127.0.0.1 "$port"
	echo "$output"
	[[ $output == *"PROTO=TCP"* ]]
	[[ $output == *"TCPLOCALIP=127.0.0.1"* ]]
	[[ $output == *"TCPLOCALPORT=$port"* ]]
	[[ $output == *"TCPREMOTEIP=127.0.0.1"* ]]
	[[ $output =~ TCPREMOTEPORT=[0-9]+ ]]
	nothing_of_pa
}

@test "the chain serves TCP on ::1" {
	need_ipv6
	chain V6 '[::1]:0' -n 2
	run -0 tcp_get ::1 "$port"
	echo "$output"
	[[ $output == *"PROTO=TCP"* ]]
	[[ $output == *"TCPLOCALIP=::1"* ]]
	[[ $output == *"TCPREMOTEIP=::1"* ]]
	[[ $output == *"TCPLOCALPORT=$port"* ]]
	nothing_of_pa
}

@test "the chain serves a unix socket with the peer's credentials" {
	chain U "unix:$T/s.sock" -n 2
	[ "$port" = "$T/s.sock" ]
	run -0 unix_get "$T/s.sock"
	echo "$output"
	[[ $output == *"PROTO=UNIX"* ]]
	[[ $output == *"UNIXLOCALPATH=$T/s.sock"* ]]
	[[ $output == *"UNIXREMOTEEUID=$(id -u)"* ]]
	[[ $output == *"UNIXREMOTEEGID=$(id -g)"* ]]
	[[ $output =~ UNIXREMOTEPID=[0-9]+ ]]
	nothing_of_pa
}

@test "connections beyond the pool's capacity wait in the queue and are all served" {
	chain Q 127.0.0.1:0 -n 2
	local i
	for i in $(seq 12); do
		pa_start "c$i" s-get.sh 127.0.0.1 "$port"
	done
	for i in $(seq 12); do
		wait_for 10 grep -q "PROTO=TCP" "$T/c$i.out"
	done
	[ "$(field Q accepted)" -eq 12 ]
}

@test "other chain loaders fit in between: env, setpriv and nice before pa-spawn" {
	pa_start S pa-listen -1 127.0.0.1:0 env FOO=bar setpriv --no-new-privs \
	    nice -n 5 pa-spawn -c "$T/S.ctl" -n 2 pa-handler sh -c \
	    'echo "$FOO $(sed -n "s/^NoNewPrivs:[[:space:]]*//p" /proc/$$/status) $(ps -o ni= -p $$)"'
	getport S
	wait_for 5 idle S 2
	run -0 tcp_get 127.0.0.1 "$port"
	[[ $output =~ ^bar\ 1\ +5$ ]]
}

@test "HUP picks up a rebuilt handler with no failed connection" {
	printf '#!/bin/sh\necho 1 >"$0.$$"\nexec pa-handler sh -c "echo ok"\n' >"$T/handler"
	chmod +x "$T/handler"
	pa_start H pa-listen -1 127.0.0.1:0 pa-spawn -c "$T/H.ctl" -n 3 "$T/handler"
	getport H
	local spawner=$PA_PID h
	wait_for 5 idle H 3
	for h in $(pgrep -P "$spawner"); do
		[ "$(cat "$T/handler.$h")" = 1 ]
	done
	pa_start L s-loop.sh 127.0.0.1 "$port" "$T/stop" "$T/loop"
	wait_for 10 test -s "$T/loop"
	# The rebuilt handler replaces the old one in place.
	printf '#!/bin/sh\necho 2 >"${0%%.new}.$$"\nexec pa-handler sh -c "echo ok"\n' >"$T/handler.new"
	chmod +x "$T/handler.new"
	mv "$T/handler.new" "$T/handler"
	kill -HUP "$spawner"
	wait_for 10 has_field H generation 1
	wait_for 10 all_version "$spawner" 2
	touch "$T/stop"
	wait_for 15 grep -qx 'done' "$T/loop"
	cat "$T/loop"
	grep -q " 0 failed" "$T/loop"
}

# all_version PID V: PID has 3 handlers, all started from version V.
all_version() {
	local h n=0
	for h in $(pgrep -P "$1"); do
		[ "$(cat "$T/handler.$h" 2>/dev/null)" = "$2" ] || return 1
		n=$((n + 1))
	done
	[ "$n" -eq 3 ]
}

@test "HUP to a broken rebuilt handler keeps the old handlers serving, and finishes once it is fixed" {
	printf '#!/bin/sh\necho 1 >"$0.$$"\nexec pa-handler sh -c "echo ok"\n' >"$T/handler"
	chmod +x "$T/handler"
	pa_start B pa-listen -1 127.0.0.1:0 pa-spawn -c "$T/B.ctl" -n 2 "$T/handler"
	getport B
	local spawner=$PA_PID before
	wait_for 5 idle B 2
	before=$(pgrep -P "$spawner" | sort)
	printf '#!/bin/sh\nexit 1\n' >"$T/handler.new"
	chmod +x "$T/handler.new"
	mv "$T/handler.new" "$T/handler"
	kill -HUP "$spawner"
	wait_for 10 grep -q "before it was ready; rolling restart paused" "$T/B.err"
	[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
	[ "$(pgrep -P "$spawner" | sort | grep -cxF "$before")" -eq 2 ]
	# Fixed: the restart goes on to the end.
	printf '#!/bin/sh\necho 2 >"$0.$$"\nexec pa-handler sh -c "echo ok"\n' >"$T/handler.new"
	chmod +x "$T/handler.new"
	mv "$T/handler.new" "$T/handler"
	wait_for 15 all_version2 "$spawner"
	[ "$(tcp_get 127.0.0.1 "$port")" = ok ]
}

# all_version2 PID: PID has 2 handlers, both started from version 2.
all_version2() {
	local h n=0
	for h in $(pgrep -P "$1"); do
		[ "$(cat "$T/handler.$h" 2>/dev/null)" = 2 ] || return 1
		n=$((n + 1))
	done
	[ "$n" -eq 2 ]
}

@test "the notification wakes one handler per queued connection, never the whole pool" {
	chain W 127.0.0.1:0 -n 16
	idle W 16
	local i
	for i in $(seq 60); do
		tcp_get 127.0.0.1 "$port" >/dev/null
	done
	wait_for 5 has_field W accepted 60
	local events woken futile
	events=$(field W events)
	woken=$(field W woken)
	futile=$(field W futile_wakeups)
	echo "events $events woken $woken futile $futile"
	[ "$events" -ge 1 ]
	# Sequential clients queue one connection at a time.
	[ "$woken" -le "$events" ]
	[ $((futile * 10)) -lt 60 ]
}
