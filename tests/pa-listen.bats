#!/usr/bin/env bats
# pa-listen: the address forms it binds, what the exec'd program inherits
# (fd 3, LISTEN_FDS, LISTEN_PID, nothing else), and every error path with
# its exit code and message.  The exec'd program is tests/bin/fdcheck.sh,
# which describes its descriptors and environment one fact a line.

bats_require_minimum_version 1.5.0
load helper

# listen_check NAME ARGS...: start pa-listen ARGS... fdcheck.sh wait with
# only fds 0-2, wait for its -1 line (in $port) and for fdcheck's report.
listen_check() {
	local name=$1
	shift
	pa_start "$name" closefds.sh pa-listen -1 "$@" fdcheck.sh wait
	port=$(wait_port "$name")
	wait_for 5 grep -qx end "$BATS_TEST_TMPDIR/$name.out"
	cat "$BATS_TEST_TMPDIR/$name.out"
}

# has NAME LINE: the output of NAME holds LINE exactly.
has() {
	grep -qxF -- "$2" "$BATS_TEST_TMPDIR/$1.out" || {
		echo "no line '$2' in $1.out:" >&2
		cat "$BATS_TEST_TMPDIR/$1.out" >&2
		return 1
	}
}

# connects HOST PORT: a TCP connection to HOST:PORT is accepted.
connects() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	timeout 5 bash -c 'exec 5<>"/dev/tcp/$1/$2"' _ "$1" "$2"
}

need_ipv6() {
	if ! grep -qs '^0*1 ' /proc/net/if_inet6; then
		skip "no IPv6 loopback"
	fi
}

@test "127.0.0.1: fd 3 is the listening socket, LISTEN_FDS=1, LISTEN_PID is the program's pid" {
	listen_check L 127.0.0.1:0
	[[ $port =~ ^[0-9]+$ ]]
	[ "$port" -gt 0 ]
	has L "fds: 0 1 2 3"
	has L "LISTEN_FDS=1"
	has L "LISTEN_PID=self"
	has L "LISTEN_FDNAMES=<unset>"
	has L "fd3: tcp 127.0.0.1:$port LISTEN"
	# The program runs under pa-listen's pid: exec, no fork.
	alive "$PA_PID"
	connects 127.0.0.1 "$port"
}

@test "::1: fd 3 is an IPv6 listener on the loopback address" {
	need_ipv6
	listen_check L6 '[::1]:0'
	has L6 "fds: 0 1 2 3"
	has L6 "LISTEN_PID=self"
	has L6 "fd3: tcp6 00000000000000000000000001000000:$port LISTEN"
	connects ::1 "$port"
}

@test "tcp4: and a wildcard bind 0.0.0.0; -4 with a name picks IPv4" {
	listen_check W tcp4:*:0
	has W "fd3: tcp 0.0.0.0:$port LISTEN"
	connects 127.0.0.1 "$port"
	listen_check N -4 localhost:0
	has N "fd3: tcp 127.0.0.1:$port LISTEN"
}

@test "a unix path: fd 3 is a listening stream socket there, -1 prints the path, -m sets the mode" {
	local sock=$BATS_TEST_TMPDIR/s.sock
	listen_check U -m 600 "unix:$sock"
	[ "$port" = "$sock" ]
	has U "fds: 0 1 2 3"
	has U "LISTEN_FDS=1"
	has U "LISTEN_PID=self"
	has U "fd3: unix $sock LISTEN stream"
	[ "$(stat -c %a "$sock")" = 600 ]
	[ -S "$sock" ]
	timeout 5 nc -z -U "$sock"
}

@test "-u and -g set the owner and group of a unix socket" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to give a file away"
	local sock=$BATS_TEST_TMPDIR/own.sock
	listen_check G -u nobody -g nogroup -m 0660 "$sock"
	[ "$(stat -c '%U:%G %a' "$sock")" = "nobody:nogroup 660" ]
	has G "fd3: unix $sock LISTEN stream"
}

@test "unix:@name is an abstract socket, with no file" {
	local name=pa-listen-test-$$
	listen_check A "unix:@$name"
	[ "$port" = "@$name" ]
	has A "fd3: unix @$name LISTEN stream"
}

@test "a path starting with ./ is a unix socket too" {
	cd "$BATS_TEST_TMPDIR"
	listen_check R ./rel.sock
	[ "$port" = ./rel.sock ]
	has R "fd3: unix ./rel.sock LISTEN stream"
}

@test "whatever the caller had on fd 3 is replaced; other inherited fds pass through" {
	local fport
	pa_start F closefds.sh sh -c \
	    'exec 3</dev/null 7</dev/null; exec pa-listen -1 127.0.0.1:0 fdcheck.sh wait'
	fport=$(wait_port F)
	wait_for 5 grep -qx end "$BATS_TEST_TMPDIR/F.out"
	has F "fds: 0 1 2 3 7"
	has F "fd3: tcp 127.0.0.1:$fport LISTEN"
}

@test "-N sets LISTEN_FDNAMES; stale LISTEN_ variables from the caller are replaced or removed" {
	pa_start E closefds.sh env LISTEN_PID=1 LISTEN_FDS=5 LISTEN_FDNAMES=old \
	    LISTEN_PIDFDID=42 pa-listen -1 -N web 127.0.0.1:0 fdcheck.sh wait
	wait_port E >/dev/null
	wait_for 5 grep -qx end "$BATS_TEST_TMPDIR/E.out"
	has E "LISTEN_FDS=1"
	has E "LISTEN_PID=self"
	has E "LISTEN_FDNAMES=web"
	has E "LISTEN_PIDFDID=<unset>"
	pa_start E2 closefds.sh env LISTEN_FDNAMES=old pa-listen -1 127.0.0.1:0 \
	    fdcheck.sh wait
	wait_for 5 grep -qx end "$BATS_TEST_TMPDIR/E2.out"
	has E2 "LISTEN_FDNAMES=<unset>"
}

@test "options after the program belong to the program (getopt stops at the address)" {
	run -0 --separate-stderr pa-listen 127.0.0.1:0 sh -c 'echo "$*"' sh -1 -b 5 -x
	[ "$output" = "-1 -b 5 -x" ]
	[ -z "$stderr" ]
}

@test "-r, -d, -b and -i on are applied to the socket" {
	need_ipv6
	listen_check O -r -d 5 -b 7 -i on '[::]:0'
	has O "fd3: tcp6 00000000000000000000000000000000:$port LISTEN"
	# IPV6_V6ONLY on: the IPv4 loopback does not reach it.
	run ! connects 127.0.0.1 "$port"
	connects ::1 "$port"
	# SO_REUSEPORT on both: a second listener on the same port is fine.
	listen_check O2 -r -i on "[::]:$port"
	[ "$port" -gt 0 ]
	# ss shows the backlog of a listener in Send-Q.
	run -0 ss -Hltn "sport = :$port"
	[[ $output == *" 7 "* ]]
}

@test "-v -v says where it listens; -b above somaxconn warns" {
	run -0 --separate-stderr pa-listen -vv -b 2147483647 127.0.0.1:0 true
	[[ $stderr == *"pa-listen: -b 2147483647: the kernel caps it at net.core.somaxconn"* ]]
	[[ $stderr == *"pa-listen: listening on 127.0.0.1:"*", exec true"* ]]
}

@test "-q silences warnings" {
	run -0 --separate-stderr pa-listen -q -b 2147483647 127.0.0.1:0 true
	[ -z "$stderr" ]
}

@test "-h prints the usage and the options on stdout and exits 0" {
	run -0 --separate-stderr pa-listen -h
	[[ ${lines[0]} == "usage: pa-listen [-146hqrv] "* ]]
	[[ $output == *"-N name"* ]]
	[ -z "$stderr" ]
}

@test "usage errors exit 100" {
	run -100 --separate-stderr pa-listen
	[[ $stderr == "usage: pa-listen "* ]]
	run -100 --separate-stderr pa-listen 127.0.0.1:0
	[[ $stderr == "usage: pa-listen "* ]]
	run -100 --separate-stderr pa-listen -Z 127.0.0.1:0 true
	[[ $stderr == *"usage: pa-listen "* ]]
	run -100 --separate-stderr pa-listen -b 0 127.0.0.1:0 true
	[ "$stderr" = "pa-listen: -b 0: too small" ]
	run -100 --separate-stderr pa-listen -b x 127.0.0.1:0 true
	[ "$stderr" = "pa-listen: -b x: invalid" ]
	run -100 --separate-stderr pa-listen -d 99999 127.0.0.1:0 true
	[ "$stderr" = "pa-listen: -d 99999: too large" ]
	run -100 --separate-stderr pa-listen -m 888 unix:/nonexistent/s true
	[ "$stderr" = "pa-listen: -m 888: not an octal mode 0-0777" ]
	run -100 --separate-stderr pa-listen -i maybe '[::1]:0' true
	[ "$stderr" = "pa-listen: -i maybe: on or off" ]
	run -100 --separate-stderr pa-listen -N a:b 127.0.0.1:0 true
	[[ $stderr == "pa-listen: -N a:b: "* ]]
	run -100 --separate-stderr pa-listen -4 -6 127.0.0.1:0 true
	[ "$stderr" = "pa-listen: -4 and -6 exclude each other" ]
	run -100 --separate-stderr pa-listen -m 600 127.0.0.1:0 true
	[ "$stderr" = "pa-listen: 127.0.0.1:0: -g, -m and -u apply to unix sockets only" ]
	run -100 --separate-stderr pa-listen -r unix:/nonexistent/s true
	[ "$stderr" = "pa-listen: /nonexistent/s: -d, -i and -r apply to TCP addresses only" ]
	run -100 --separate-stderr pa-listen -i on 127.0.0.1:0 true
	[ "$stderr" = "pa-listen: 127.0.0.1:0: -i applies to IPv6 addresses only" ]
	run -100 --separate-stderr pa-listen -u no-such-user-here unix:/nonexistent/s true
	[ "$stderr" = "pa-listen: -u no-such-user-here: no such user" ]
}

@test "malformed addresses exit 100 and name the address and the fault" {
	local long
	long=/$(printf 'x%.0s' {1..120})
	run -100 --separate-stderr pa-listen 127.0.0.1 true
	[ "$stderr" = "pa-listen: address 127.0.0.1: missing :PORT" ]
	run -100 --separate-stderr pa-listen 127.0.0.1:65536 true
	[ "$stderr" = "pa-listen: address 127.0.0.1:65536: port is not a number 0-65535 nor a known service" ]
	run -100 --separate-stderr pa-listen 127.0.0.1:80x true
	[[ $stderr == "pa-listen: address 127.0.0.1:80x: port is not"* ]]
	run -100 --separate-stderr pa-listen '[::1:80' true
	[ "$stderr" = "pa-listen: address [::1:80: unbalanced [ ] around an IPv6 address" ]
	run -100 --separate-stderr pa-listen ::1:80 true
	[ "$stderr" = "pa-listen: address ::1:80: IPv6 address without [brackets]" ]
	run -100 --separate-stderr pa-listen unix: true
	[ "$stderr" = "pa-listen: address unix:: empty unix socket path" ]
	run -100 --separate-stderr pa-listen "$long" true
	[ "$stderr" = "pa-listen: address $long: unix socket path too long" ]
	run -100 --separate-stderr pa-listen -6 127.0.0.1:0 true
	[ "$stderr" = "pa-listen: address 127.0.0.1:0: address does not match the family asked for" ]
	run -100 --separate-stderr pa-listen '' true
	[ "$stderr" = "pa-listen: address : empty address" ]
}

@test "an address in use exits 111 and says so" {
	listen_check A 127.0.0.1:0
	run -111 --separate-stderr pa-listen "127.0.0.1:$port" true
	[ "$stderr" = "pa-listen: bind 127.0.0.1:$port: Address already in use" ]
	alive "$PA_PID"
}

@test "a privileged port as an unprivileged user exits 111 (EACCES)" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to switch to nobody"
	[ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" -gt 1 ] ||
		skip "every port is unprivileged here"
	run -111 --separate-stderr setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups "$PA_BIN/pa-listen" 127.0.0.1:1 true
	[ "$stderr" = "pa-listen: bind 127.0.0.1:1: Permission denied" ]
}

@test "a missing program exits 127, a non-executable one 126; a unix socket made for it is removed" {
	run -127 --separate-stderr pa-listen 127.0.0.1:0 no-such-program-here
	[ "$stderr" = "pa-listen: exec no-such-program-here: No such file or directory" ]
	printf 'echo hi\n' >"$BATS_TEST_TMPDIR/noexec"
	chmod 644 "$BATS_TEST_TMPDIR/noexec"
	run -126 --separate-stderr pa-listen 127.0.0.1:0 "$BATS_TEST_TMPDIR/noexec"
	[ "$stderr" = "pa-listen: exec $BATS_TEST_TMPDIR/noexec: Permission denied" ]
	run -127 --separate-stderr pa-listen "$BATS_TEST_TMPDIR/x.sock" no-such-program-here
	[ ! -e "$BATS_TEST_TMPDIR/x.sock" ]
}

@test "a stale unix socket (nothing answers) is replaced" {
	local sock=$BATS_TEST_TMPDIR/stale.sock
	# The program exits at once: the socket file stays, nobody listens.
	run -0 pa-listen "$sock" true
	[ -S "$sock" ]
	run ! timeout 5 nc -z -U "$sock"
	listen_check S "$sock"
	has S "fd3: unix $sock LISTEN stream"
	timeout 5 nc -z -U "$sock"
}

@test "a live unix socket is not replaced: exit 111, the first server keeps it" {
	local sock=$BATS_TEST_TMPDIR/live.sock
	listen_check S1 "$sock"
	run -111 --separate-stderr pa-listen "$sock" true
	[ "$stderr" = "pa-listen: bind $sock: Address already in use (a server answers on it, not replaced)" ]
	[ -S "$sock" ]
	timeout 5 nc -z -U "$sock"
}

@test "a path that is not a socket is never replaced: exit 111" {
	local f=$BATS_TEST_TMPDIR/file
	echo precious >"$f"
	run -111 --separate-stderr pa-listen "unix:$f" true
	[ "$stderr" = "pa-listen: bind $f: File exists (path exists and is not a socket, not replaced)" ]
	[ "$(cat "$f")" = precious ]
	run -111 --separate-stderr pa-listen "$BATS_TEST_TMPDIR/no/such/dir/s" true
	[ "$stderr" = "pa-listen: bind $BATS_TEST_TMPDIR/no/such/dir/s: No such file or directory" ]
}
