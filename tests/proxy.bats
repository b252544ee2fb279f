#!/usr/bin/env bats
# The PROXY protocol through the whole chain: pa-listen ... pa-spawn ...
# pa-handler -P PROG.  PROG reports its addresses and the first bytes of
# its stdin, which must be the client's first bytes after the header.

# shellcheck disable=SC2016,SC2154 # inner shells expand; run sets output
bats_require_minimum_version 1.5.0
load helper

T=$BATS_TEST_TMPDIR

# What PROG says: the UCSPI addresses, then 5 bytes of its stdin.
REPORT='echo "R=$TCPREMOTEIP:$TCPREMOTEPORT L=$TCPLOCALIP:$TCPLOCALPORT"
printf "in=%s\n" "$(head -c 5)"'

SIG='\r\n\r\n\x00\r\nQUIT\n'
# v2 PROXY TCP4 192.0.2.1:56324 -> 198.51.100.2:443
V2_4="$SIG"'\x21\x11\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\xdc\x04\x01\xbb'
# v2 PROXY TCP6 2001:db8::1 port 1 -> 2001:db8::2 port 2, and a NOOP TLV
Z11='\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
V2_6="$SIG"'\x21\x21\x00\x2a\x20\x01\x0d\xb8'"$Z11"'\x01\x20\x01\x0d\xb8'"$Z11"'\x02\x00\x01\x00\x02\x04\x00\x03abc'
# v2 LOCAL (a health check): the connection's own addresses
V2_LOCAL="$SIG"'\x20\x00\x00\x00'

# proxy NAME [PA-HANDLER OPTIONS...]: the chain with -P; sets port.
proxy() {
	local name=$1
	shift
	pa_start "$name" pa-listen -1 127.0.0.1:0 pa-spawn -c "$T/$name.ctl" \
	    -n 2 pa-handler -P "$@" sh -c "$REPORT"
	port=$(wait_port "$name")
	wait_for 5 idle "$name" 2
}

idle() {
	[ "$(pa-ctl -c "$T/$1.ctl" stat 2>/dev/null | sed -n 's/^idle: //p')" = "$2" ]
}

# served: the pool still answers a good header.
served() {
	run -0 p-send.sh 127.0.0.1 "$port" 'PROXY TCP4 10.9.8.7 10.0.0.1 4000 80\r\nhello'
	[ "${lines[0]}" = "R=10.9.8.7:4000 L=10.0.0.1:80" ]
	[ "${lines[1]}" = "in=hello" ]
}

@test "pa-handler -P: a v1 TCP4 header gives PROG the client's addresses, stdin starts after it" {
	proxy V1
	run -0 p-send.sh 127.0.0.1 "$port" 'PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nhello'
	echo "$output"
	[ "${lines[0]}" = "R=192.0.2.1:56324 L=198.51.100.2:443" ]
	[ "${lines[1]}" = "in=hello" ]
	run -0 p-send.sh 127.0.0.1 "$port" 'PROXY TCP6 2001:db8::7 ::1 40000 8443\r\nabcde'
	echo "$output"
	[ "${lines[0]}" = "R=2001:db8::7:40000 L=::1:8443" ]
	[ "${lines[1]}" = "in=abcde" ]
}

@test "pa-handler -P: a header arriving in pieces is read whole, nothing more" {
	proxy P
	run -0 p-send.sh 127.0.0.1 "$port" 'PROXY TCP4 192.0' '.2.1 198.51.100.2 5' '6324 443\r' '\nhe' 'llo'
	echo "$output"
	[ "${lines[0]}" = "R=192.0.2.1:56324 L=198.51.100.2:443" ]
	[ "${lines[1]}" = "in=hello" ]
}

@test "pa-handler -P: v2 headers, TCP4 and TCP6 with a TLV, binary payload intact" {
	proxy V2
	run -0 p-send.sh 127.0.0.1 "$port" "$V2_4"'PROXY'
	echo "$output"
	[ "${lines[0]}" = "R=192.0.2.1:56324 L=198.51.100.2:443" ]
	[ "${lines[1]}" = "in=PROXY" ]
	run -0 p-send.sh 127.0.0.1 "$port" "$V2_6"'12345'
	echo "$output"
	[ "${lines[0]}" = "R=2001:db8::1:1 L=2001:db8::2:2" ]
	[ "${lines[1]}" = "in=12345" ]
}

@test "pa-handler -P: v2 LOCAL and v1 UNKNOWN keep the connection's own addresses" {
	proxy L
	run -0 p-send.sh 127.0.0.1 "$port" "$V2_4"'first'
	[ "${lines[0]}" = "R=192.0.2.1:56324 L=198.51.100.2:443" ]
	run -0 p-send.sh 127.0.0.1 "$port" "$V2_LOCAL"'local'
	echo "$output"
	[[ ${lines[0]} =~ ^R=127\.0\.0\.1:[0-9]+\ L=127\.0\.0\.1:$port$ ]]
	[ "${lines[1]}" = "in=local" ]
	run -0 p-send.sh 127.0.0.1 "$port" 'PROXY UNKNOWN\r\nunkno'
	[[ ${lines[0]} =~ ^R=127\.0\.0\.1:[0-9]+\ L=127\.0\.0\.1:$port$ ]]
	[ "${lines[1]}" = "in=unkno" ]
}

@test "pa-handler -P: malformed headers are dropped and logged, the pool keeps serving" {
	proxy M
	local bad
	for bad in 'GET / HTTP/1.0\r\n\r\n' 'PROXY TCP4 1.2.3 1.2.3.4 1 2\r\nhello' \
	    'PROXY TCP4 1.2.3.4 1.2.3.4 1 2  \r\nhello' "$SIG"'\x31\x11\x00\x00hello' \
	    "$SIG"'\x21\x11\x00\x0e\x01\x02\x03\x04\x01\x02\x03\x04\x00\x01\x00\x02\x04\x00'; do
		run -0 p-send.sh 127.0.0.1 "$port" "$bad"
		echo "$output"
		[ -z "$output" ]
	done
	served
	wait_for 5 grep -q 'proxy: dropped 127.0.0.1:[0-9]*: no PROXY header' "$T/M.err"
	[ "$(field M accepted)" -ge 6 ]
	# pa-ctl counts the five drops.
	[ "$(field M proxy_dropped)" -eq 5 ]
}

@test "pa-handler -P -w 1: a slow or silent header is dropped at the time limit" {
	proxy S -w 1
	# Half a header, then nothing: closed by pa-handler, not by the client.
	run -0 timeout 10 p-send.sh 127.0.0.1 "$port" 'PROXY TCP4 192.0.2.1 '
	[ -z "$output" ]
	run -0 timeout 10 p-send.sh 127.0.0.1 "$port"
	[ -z "$output" ]
	wait_for 5 grep -q 'header time limit reached' "$T/S.err"
	served
}

@test "pa-handler -P -p: only the allowed peers may send a header" {
	proxy A -p 10.0.0.0/8 -p ::1
	run -0 p-send.sh 127.0.0.1 "$port" 'PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nhello'
	[ -z "$output" ]
	wait_for 5 grep -q 'peer not allowed' "$T/A.err"
	pa_start B pa-listen -1 127.0.0.1:0 pa-spawn -c "$T/B.ctl" \
	    -n 1 pa-handler -P -p 127.0.0.0/8 sh -c "$REPORT"
	port=$(wait_port B)
	wait_for 5 idle B 1
	served
}

@test "pa-handler: -p and -w need -P, and bad values are usage errors" {
	run -100 pa-handler -p 10.0.0.0/8 true
	[[ $output == *"-p needs -P"* ]]
	run -100 pa-handler -w 2 true
	[[ $output == *"-w needs -P"* ]]
	run -100 pa-handler -P -p 10.0.0.0/33 true
	run -100 pa-handler -P -p example.org true
	run -100 pa-handler -P -w 0 true
}

field() {
	pa-ctl -c "$T/$1.ctl" stat 2>/dev/null | sed -n "s/^$2: //p"
}
