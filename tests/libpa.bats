#!/usr/bin/env bats
# libpa: handlers that serve in-process (examples/hello-http, examples/echo)
# under the whole chain: pa-listen, pa-spawn, the handler itself, with no
# program per connection; scaling, retiring a busy handler, the TERM
# drain, serving alone, and the library as installed (pa.pc, man page).

# shellcheck disable=SC2154 # run sets output and status
bats_require_minimum_version 1.5.0
load helper

T=$BATS_TEST_TMPDIR
EX=${PA_EXAMPLES:-$BATS_TEST_DIRNAME/../examples}
ROOT=$BATS_TEST_DIRNAME/..
PATH="${PA_UNITDIR%/unit}/fbin:$PATH"

# pool NAME EXAMPLE [ARGS...] -- [PA-SPAWN ARGS...]: the chain on
# 127.0.0.1 with an example as the handler, once every handler waits;
# sets port and spawner (pa-spawn's pid).
pool() {
	local name=$1 ex=$2 args=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	pa_start "$name" pa-listen -1 127.0.0.1:0 pa-spawn -v -c "$T/$name.ctl" \
	    -d 1 "$@" "$EX/$ex" "${args[@]}"
	spawner=$PA_PID
	port=$(wait_port "$name")
	wait_for 5 lines "$T/$name.out" 2
}

lines() {
	[ "$(wc -l <"$1")" -eq "$2" ]
}

field() {
	pa-ctl -c "$T/$1.ctl" stat 2>/dev/null | sed -n "s/^$2: //p"
}

has_field() {
	[ "$(field "$1" "$2")" = "$3" ]
}

# queued PORT N: N connections wait in the accept queue of 127.0.0.1:PORT.
queued() {
	[ "$(ss -Hltn "sport = :$1" | awk '{ print $2 }')" = "$2" ]
}

get() {
	curl -sS -m 5 "http://127.0.0.1:$1/"
}

@test "hello-http answers curl under the whole chain, serving in-process" {
	pool H hello-http -- -n 2
	run -0 curl -sS -m 5 -i "http://127.0.0.1:$port/hello"
	echo "$output"
	[[ $output == "HTTP/1.0 200 OK"* ]]
	[[ $output == *"Hello, world"* ]]
	run -0 get "$port"
	[ "$output" = "Hello, world" ]
	wait_for 5 has_field H accepted 2
	# No program per connection: the handlers never forked.
	[ "$(field H spawned)" = 2 ]
	local h
	for h in $(pgrep -P "$spawner"); do
		[ -z "$(pgrep -P "$h")" ]
	done
	# The slots show the peers' text while busy, the counters after.
	run -0 pa-ctl -c "$T/H.ctl" list
	echo "$output"
	[ "$(echo "$output" | grep -c ' idle ')" -eq 2 ]
}

@test "hello-http answers 400 to a header that does not end within 8 KiB" {
	pool B hello-http -- -n 1
	run -0 curl -sS -m 5 -o /dev/null -w '%{http_code}' \
	    -H "X-Long: $(head -c 9000 /dev/zero | tr '\0' a)" \
	    "http://127.0.0.1:$port/"
	[ "$output" = 400 ]
}

@test "hello-http with threads: each thread its own slot, parallel clients all served" {
	pool T hello-http -t 3 -- -n 2
	wait_for 5 has_field T idle 6
	local i
	for i in $(seq 24); do
		pa_start "c$i" curl -sS -m 10 "http://127.0.0.1:$port/"
	done
	for i in $(seq 24); do
		wait_for 10 grep -q "Hello, world" "$T/c$i.out"
	done
	wait_for 5 has_field T accepted 24
	# Two processes of three threads each, every thread its slot.
	run -0 pa-ctl -c "$T/T.ctl" list
	echo "$output"
	[ "$(echo "$output" | awk 'NR > 1 { print $3 }' | sort -u | wc -l)" -eq 2 ]
	[ "$(echo "$output" | awk 'NR > 1' | wc -l)" -eq 6 ]
}

@test "steady load: pa-spawn stops watching the listener while no handler sleeps; nothing is lost, and it listens again" {
	command -v f-load >/dev/null || skip "f-load not built (make fbins)"
	pool D hello-http -- -n 2
	wait_for 5 has_field D waiting 2
	run -0 f-load -c 8 -n 3000 -T 5000 -e 'HTTP/1.0 200' \
	    -w $'GET / HTTP/1.0\r\n\r\n' 127.0.0.1 "$port"
	echo "$output"
	[ "${lines[-1]}" = "attempted 3000 ok 3000 refused 0 conntime 0 reset 0 empty 0 timeout 0 bad 0 error 0" ]
	run -0 pa-ctl -c "$T/D.ctl" stat
	echo "$output"
	local deaf events accepted
	deaf=$(sed -n 's/^deaf_periods: //p' <<<"$output")
	events=$(sed -n 's/^events: //p' <<<"$output")
	accepted=$(sed -n 's/^accepted: //p' <<<"$output")
	[ "$accepted" -eq 3000 ]
	[ "$deaf" -gt 0 ]
	# Not woken once per connection.
	[ "$events" -lt "$accepted" ]
	# Once both handlers sleep again it watches the listener: one at a time.
	wait_for 5 has_field D waiting 2
	local i
	for i in 1 2 3 4 5; do
		run -0 get "$port"
		[ "$output" = "Hello, world" ]
	done
	wait_for 5 has_field D accepted 3005
}

@test "echo sends each line back under the chain" {
	pool E echo -- -n 2
	run -0 bash -c "printf 'one\ntwo\nthree\n' | timeout 5 nc -N 127.0.0.1 $port"
	[ "$output" = "$(printf 'one\ntwo\nthree')" ]
}

@test "scale up and down with pa-ctl: in-process handlers get ready, retire and exit 0" {
	pool S hello-http -- -n 2
	run -0 pa-ctl -c "$T/S.ctl" up 2
	wait_for 5 has_field S idle 4
	[ "$(field S handlers)" = 4 ]
	run -0 pa-ctl -c "$T/S.ctl" down 3
	wait_for 5 has_field S handlers 1
	wait_for 5 has_field S idle 1
	wait_for 5 test "$(grep -c 'exited 0' "$T/S.err")" -eq 3
	run -1 grep -E 'exited [1-9]|signal' "$T/S.err"
	run -0 get "$port"
	[ "$output" = "Hello, world" ]
}

@test "a busy in-process handler retired by pa-ctl ends its connection, exits 0; the other serves on" {
	pool R echo -- -n 2
	pa_start h1 l-hold.py 127.0.0.1 "$port" "$T/go" 'one\n' 'two\n'
	pa_start h2 l-hold.py 127.0.0.1 "$port" "$T/go" 'one\n' 'two\n'
	wait_for 5 has_field R busy 2
	run -0 pa-ctl -c "$T/R.ctl" down 1
	wait_for 5 grep -q 'exited 0' "$T/R.err"
	wait_for 5 has_field R handlers 1
	touch "$T/go"
	wait_for 5 dead "$(cat "$T/h1.pid")"
	wait_for 5 dead "$(cat "$T/h2.pid")"
	cat "$T/h1.out" "$T/h2.out"
	# The retired one's client got its first line back, then end of file;
	# the other's connection went on to the second line.
	[ "$(cat "$T/h1.out" "$T/h2.out" | sort | tr '\n' ' ')" = "one one two " ]
	run -1 grep -E 'exited [1-9]|signal' "$T/R.err"
}

@test "TERM drains: queued connections are served in-process, then pa-spawn exits 0" {
	pool D hello-http -- -n 1
	# The only handler is busy with a request whose header is unfinished.
	pa_start hold l-hold.py 127.0.0.1 "$port" "$T/go" 'GET / HTTP/1.0\r\n' '\r\n'
	wait_for 5 has_field D busy 1
	local i
	for i in 1 2 3; do
		pa_start "q$i" curl -sS -m 10 "http://127.0.0.1:$port/"
	done
	wait_for 5 queued "$port" 3
	kill -TERM "$spawner"
	wait_for 5 has_field D stopping 1
	touch "$T/go"
	wait_for 10 dead "$spawner"
	run -0 wait "$spawner"
	grep -q "Hello, world" "$T/hold.out"
	for i in 1 2 3; do
		wait_for 5 grep -q "Hello, world" "$T/q$i.out"
	done
	grep -q 'exited 0' "$T/D.err"
	grep -q 'drained' "$T/D.err"
}

@test "alone: pa-listen hands hello-http its socket, TERM ends it with 0" {
	pa_start A pa-listen -1 127.0.0.1:0 "$EX/hello-http" -t 2
	local pid=$PA_PID
	port=$(wait_port A)
	run -0 get "$port"
	[ "$output" = "Hello, world" ]
	kill -TERM "$pid"
	wait_for 5 dead "$pid"
	run -0 wait "$pid"
}

@test "the man page's example is examples/echo.c, and builds with pkg-config against the installed library" {
	# The EXAMPLES section's program, unescaped, is the example verbatim.
	awk '/^\.Sh EXAMPLES/ { ex = 1 } ex && /^\.Ed/ { exit }
	    ex && code { print } ex && /^\.Bd -literal/ { code = 1 }' \
	    "$ROOT/man/libpa.3" | sed -e 's/\\e/\\/g' -e 's/^\\&//' >"$T/echo.c"
	diff -u "$ROOT/examples/echo.c" "$T/echo.c"
	# Install into a scratch root (the built library as it stands).
	local san='' cflags=()
	if [ "${PA_MODE:-opt}" = san ]; then
		san=1
		cflags=("-fsanitize=address,undefined")
	fi
	run -0 make -s -C "$ROOT" -o all install DESTDIR="$T/root" PREFIX=/usr \
	    SANITIZE="$san"
	[ -f "$T/root/usr/lib/libpa.a" ]
	[ -f "$T/root/usr/include/pa.h" ]
	[ -f "$T/root/usr/share/man/man3/libpa.3" ]
	export PKG_CONFIG_PATH=$T/root/usr/lib/pkgconfig
	export PKG_CONFIG_SYSROOT_DIR=$T/root
	run -0 pkg-config --cflags --libs pa
	echo "$output"
	# The page's command line, warnings made errors.
	# shellcheck disable=SC2046 # pkg-config's words
	cc -Wall -Wextra -Werror "${cflags[@]}" $(pkg-config --cflags pa) \
	    -o "$T/echo" "$T/echo.c" $(pkg-config --libs pa)
	pa_start E pa-listen -1 127.0.0.1:0 "$T/echo"
	port=$(wait_port E)
	run -0 bash -c "printf 'a line\n' | timeout 5 nc -N 127.0.0.1 $port"
	[ "$output" = "a line" ]
	run -0 make -s -C "$ROOT" uninstall DESTDIR="$T/root" PREFIX=/usr
	[ ! -e "$T/root/usr/lib/libpa.a" ]
	[ ! -e "$T/root/usr/lib/pkgconfig/pa.pc" ]
}

@test "hello-http: -h, a usage error, and no socket to serve on" {
	run -0 "$EX/hello-http" -h
	[[ $output == "usage: hello-http"* ]]
	run -100 "$EX/hello-http" -x
	run -100 "$EX/hello-http" -t 0
	run -100 "$EX/hello-http" extra
	run -100 --separate-stderr "$EX/hello-http" </dev/null
	[[ $stderr == *"not a listening socket"* ]]
}
