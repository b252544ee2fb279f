#!/usr/bin/env bats
# pa under systemd, without an init: the example units of contrib/ pass
# systemd-analyze verify, and pa-spawn runs socket-activated by
# systemd-socket-activate (LISTEN_FDS) with its readiness and stopping
# sent to a NOTIFY_SOCKET that a test receiver reads.

# shellcheck disable=SC2016,SC2154 # inner shells expand; run sets output
bats_require_minimum_version 1.5.0
load helper

T=$BATS_TEST_TMPDIR
TOP=$BATS_TEST_DIRNAME/..

REPORT='echo "R=$TCPREMOTEIP L=$TCPLOCALIP:$TCPLOCALPORT"
env | grep -E "^(LISTEN_|NOTIFY_SOCKET|PA_)" || true'

# activate NAME ARGS...: systemd-socket-activate on a free port running
# ARGS, with NOTIFY_SOCKET read by p-notify.py into NAME.notify; sets port.
activate() {
	local name=$1 try
	shift
	pa_start "$name.n" p-notify.py "$T/$name.sock" "$T/$name.notify"
	wait_for 5 grep -qs listening "$T/$name.notify"
	for try in 1 2 3 4 5; do
		port=$(free_port)
		pa_start "$name" systemd-socket-activate -l "127.0.0.1:$port" \
		    -E NOTIFY_SOCKET="$T/$name.sock" "$@"
		wait_for 5 bound_or_gone "$name" "$PA_PID"
		if grep -q "Listening on 127.0.0.1:$port" "$T/$name.err"; then
			return 0
		fi
		echo "port $port taken (try $try)" >&2
	done
	return 1
}

bound_or_gone() {
	grep -q "Listening on" "$T/$1.err" || dead "$2"
}

notified() {
	grep -qx "$2" "$T/$1.notify"
}

@test "systemd: the contrib units pass systemd-analyze verify" {
	if ! command -v systemd-analyze >/dev/null; then
		skip "systemd-analyze is not installed"
	fi
	local f
	# The units name /usr/local/bin (make install); check against bin/.
	for f in pa@.socket pa@.service; do
		sed "s|/usr/local/bin/|$PA_BIN/|g" "$TOP/contrib/$f" >"$T/$f"
	done
	run -0 --separate-stderr systemd-analyze verify --man=no \
	    "$T/pa@8080.socket" "$T/pa@8080.service"
	echo "$output$stderr"
	[ -z "$output$stderr" ]
	grep -qx 'Type=notify' "$T/pa@.service"
	grep -qx 'Accept=no' "$T/pa@.socket"
	grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$T/pa@.service"
	# A broken unit fails: the check can fail.
	sed 's|^ExecStart=.*|ExecStart=/nonexistent/pa-spawn|' "$T/pa@.service" \
	    >"$T/pa@.service.bad"
	mv "$T/pa@.service.bad" "$T/pa@.service"
	run ! systemd-analyze verify --man=no "$T/pa@8080.service"
}

@test "systemd: socket-activated pa-spawn serves, sends READY=1, drains on TERM with STOPPING=1" {
	activate A pa-spawn -c "$T/A.ctl" -n 2 pa-handler sh -c "$REPORT"
	# systemd-socket-activate starts pa-spawn on the first connection,
	# which waits in the queue meanwhile and is served.
	run -0 tcp_get 127.0.0.1 "$port"
	echo "$output"
	[ "$output" = "R=127.0.0.1 L=127.0.0.1:$port" ]
	wait_for 5 notified A 'READY=1'
	grep -q '^STATUS=2 handlers on' "$T/A.notify"
	run -0 tcp_get 127.0.0.1 "$port"
	[ "$output" = "R=127.0.0.1 L=127.0.0.1:$port" ]
	# ExecReload: HUP replaces the handlers, the socket keeps serving.
	kill -HUP "$PA_PID"
	run -0 tcp_get 127.0.0.1 "$port"
	[ "$output" = "R=127.0.0.1 L=127.0.0.1:$port" ]
	run notified A 'STOPPING=1'
	[ "$status" -ne 0 ]
	kill -TERM "$PA_PID"
	wait_for 10 notified A 'STOPPING=1'
	wait_for 10 dead "$PA_PID"
	run -0 wait "$PA_PID"
}

@test "systemd: socket-activated pa-handler -P behind a PROXY-speaking balancer" {
	activate P pa-spawn -c "$T/P.ctl" -n 1 pa-handler -P sh -c "$REPORT"
	run -0 p-send.sh 127.0.0.1 "$port" 'PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n'
	echo "$output"
	[ "$output" = "R=192.0.2.1 L=198.51.100.2:443" ]
	wait_for 5 notified P 'READY=1'
}

@test "systemd: a restarted pa-spawn on the socket systemd keeps serves at once (the drain's filter is taken off)" {
	# The socket outlives each pa-spawn, as with a .socket unit: the
	# first drains on TERM (dropping new SYNs meanwhile), the second
	# starts on the same socket and must not inherit that.
	pa_start S s-twice.py "$T/port" pa-spawn -c "$T/S.ctl" -n 1 pa-handler echo served
	wait_for 5 test -s "$T/port"
	port=$(cat "$T/port")
	wait_for 10 eval '[ "$(pa-ctl -c "$T/S.ctl" stat 2>/dev/null | sed -n "s/^idle: //p")" = 1 ]'
	run -0 tcp_get 127.0.0.1 "$port"
	[ "$output" = served ]
	local first
	first=$(pa-ctl -c "$T/S.ctl" stat | sed -n 's/^pid: //p')
	kill -TERM "$first"
	wait_for 10 dead "$first"
	wait_for 10 eval '[ "$(pa-ctl -c "$T/S.ctl" stat 2>/dev/null | sed -n "s/^pid: //p")" != "" ]'
	local second
	second=$(pa-ctl -c "$T/S.ctl" stat | sed -n 's/^pid: //p')
	[ "$second" != "$first" ]
	wait_for 10 eval '[ "$(pa-ctl -c "$T/S.ctl" stat 2>/dev/null | sed -n "s/^idle: //p")" = 1 ]'
	# A SYN dropped by a left-over filter would be retried after 1 s and
	# more: the 0.9 s limit tells the two apart.
	run -0 timeout 0.9 bash -c 'exec 5<>"/dev/tcp/127.0.0.1/$1" && cat <&5' _ "$port"
	[ "$output" = served ]
	kill -TERM "$second"
	wait_for 10 dead "$second"
	wait_for 10 dead "$PA_PID"
}
