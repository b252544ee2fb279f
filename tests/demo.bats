#!/usr/bin/env bats
# The demo service of `make run` (scripts/demo.sh): the whole chain serving
# examples/greet.sh, and the pa-ctl commands it prints.

bats_require_minimum_version 1.5.0
load helper

T=$BATS_TEST_TMPDIR
top=$BATS_TEST_DIRNAME/..

up_or_gone() {
	curl -sf "http://127.0.0.1:$port/" >/dev/null || dead "$PA_PID"
}

@test "make run's demo serves greet.sh on 127.0.0.1:PORT, and its pa-ctl lines work" {
	local try ctl
	for try in 1 2 3; do
		port=$(free_port)
		pa_start D env TMPDIR="$T" sh "$top/scripts/demo.sh" "$port" 2
		wait_for 10 up_or_gone
		alive "$PA_PID" && break
		echo "port $port taken (try $try)" >&2
	done
	alive "$PA_PID"
	run -0 curl -sf "http://127.0.0.1:$port/hello"
	[[ "$output" == *"hello from pa: client 127.0.0.1:"* ]]
	[[ "$output" == *"request: GET /hello HTTP/1.1"* ]]
	run -0 sh -c "printf 'hi\n' | timeout 5 nc -N 127.0.0.1 $port"
	[[ "$output" == *"request: hi"* ]]

	# The instructions it printed name the control socket it uses.
	ctl=$T/pa-demo.$(id -u).ctl
	grep -q "pa-ctl -c $ctl top -w 1" "$T/D.out"
	run -0 pa-ctl -c "$ctl" up 2
	run -0 pa-ctl -c "$ctl" -j stat
	[[ "$output" == *'"target": 4'* || "$output" == *'"target":4'* ]]
	run -0 pa-ctl -c "$ctl" stop
	wait_for 10 dead "$PA_PID"
}
