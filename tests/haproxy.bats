#!/usr/bin/env bats
# HAProxy in front of two pa hosts, each simulated by a network namespace:
#
#   client ns C 10.200.3.1 --veth-- 10.200.3.2:8080 ns H (haproxy)
#   ns H 10.200.1.1 --veth-- 10.200.1.2:8000 ns A (pa, node a)
#   ns H 10.200.2.1 --veth-- 10.200.2.2:8000 ns B (pa, node b)
#
# HAProxy sends PROXY v2 to both (send-proxy-v2) and checks them every
# 200 ms.  The addresses live only inside these namespaces; no traffic
# leaves the machine.  Needs root (ip netns) and haproxy (scripts/deps.sh).

# shellcheck disable=SC2016,SC2154 # inner shells expand; run sets output
bats_require_minimum_version 1.5.0
load helper

T=$BATS_TEST_TMPDIR

# What PROG says: the node it runs on, its addresses, its first 5 bytes.
REPORT='echo "N=$NODE R=$TCPREMOTEIP L=$TCPLOCALIP:$TCPLOCALPORT"
printf "in=%s\n" "$(head -c 5)"'

setup() {
	NS=pa$$t${BATS_TEST_NUMBER}
	if ! command -v haproxy >/dev/null; then
		skip "haproxy is not installed (scripts/deps.sh check installs it)"
	fi
	if [ "$(id -u)" -ne 0 ] || ! ip netns add "${NS}h" 2>"$T/netns.err"; then
		skip "network namespaces cannot be made here (root and ip netns needed): $(cat "$T/netns.err" 2>/dev/null)"
	fi
	local n
	for n in c a b; do
		ip netns add "$NS$n"
	done
	for n in c h a b; do
		ip -n "$NS$n" link set lo up
	done
	link c 10.200.3.1 h 10.200.3.2
	link h 10.200.1.1 a 10.200.1.2
	link h 10.200.2.1 b 10.200.2.2
}

# link NS1 IP1 NS2 IP2: a veth pair between two namespaces, /24 each side.
link() {
	local a=$NS$1 b=$NS$3
	ip link add "${a}x$3" netns "$a" type veth peer name "${b}x$1" netns "$b"
	ip -n "$a" addr add "$2/24" dev "${a}x$3"
	ip -n "$b" addr add "$4/24" dev "${b}x$1"
	ip -n "$a" link set "${a}x$3" up
	ip -n "$b" link set "${b}x$1" up
}

teardown() {
	pa_teardown
	local n
	for n in c h a b; do
		ip netns del "$NS$n" 2>/dev/null || true
	done
}

# node NAME IP: pa on IP:8000 in namespace NAME, PROG told its node.
node() {
	pa_start "$1" ip netns exec "$NS$1" env NODE="$1" pa-listen -1 "$2:8000" \
	    pa-spawn -c "$T/$1.ctl" -n 2 pa-handler -P -p 10.200.0.0/16 \
	    sh -c "$REPORT"
	wait_port "$1" >/dev/null
	wait_for 5 idle "$1" 2
}

idle() {
	[ "$(pa-ctl -c "$T/$1.ctl" stat 2>/dev/null | sed -n 's/^idle: //p')" = "$2" ]
}

haproxy_start() {
	cat >"$T/haproxy.cfg" <<-CFG
	global
	    pidfile $T/haproxy.pid
	    stats socket $T/haproxy.sock mode 600 level admin
	    maxconn 200
	defaults
	    mode tcp
	    timeout connect 2s
	    timeout client 10s
	    timeout server 10s
	    retries 3
	    option redispatch 1
	frontend fe
	    bind 10.200.3.2:8080
	    default_backend be
	backend be
	    balance roundrobin
	    server a 10.200.1.2:8000 send-proxy-v2 check inter 200ms fall 2 rise 1
	    server b 10.200.2.2:8000 send-proxy-v2 check inter 200ms fall 2 rise 1
	CFG
	haproxy -c -q -f "$T/haproxy.cfg"
	pa_start haproxy ip netns exec "${NS}h" haproxy -db -f "$T/haproxy.cfg"
	wait_for 10 status a UP
	wait_for 10 status b UP
}

# status SERVER WORD: HAProxy's stats socket shows SERVER's status as WORD.
status() {
	[ "$(echo 'show stat' | socat -t 2 - "UNIX-CONNECT:$T/haproxy.sock" 2>/dev/null |
	    awk -F, -v s="$1" '$1 == "be" && $2 == s { print $18 }')" = "$2" ]
}

# replies WORDS N: the client loop had at least N replies holding WORDS.
replies() {
	[ "$(grep -cs "$1" "$T/loop.res.nodes")" -ge "$2" ]
}

# get: one request through HAProxy from the client namespace.
get() {
	ip netns exec "${NS}c" p-send.sh 10.200.3.2 8080 hello
}

@test "haproxy: PROG sees the real client through send-proxy-v2, both nodes serve" {
	node a 10.200.1.2
	node b 10.200.2.2
	haproxy_start
	local _ seen=
	for _ in 1 2 3 4; do
		run -0 get
		echo "$output"
		[[ ${lines[0]} =~ ^N=([ab])\ R=10\.200\.3\.1\ L=10\.200\.3\.2:8080$ ]]
		seen+=${BASH_REMATCH[1]}
		[ "${lines[1]}" = "in=hello" ]
	done
	[[ $seen == *a* && $seen == *b* ]]
	# Health checks arrive as LOCAL headers and are no drops.
	run -1 grep -q 'proxy: dropped' "$T/a.err" "$T/b.err"
}

@test "haproxy: SIGKILL of one node, once the check notices, every request succeeds on the other" {
	node a 10.200.1.2
	node b 10.200.2.2
	haproxy_start
	kill -KILL "$(cat "$T/a.pid")"
	wait_for 10 status a DOWN
	local _
	for _ in $(seq 10); do
		run -0 get
		[[ ${lines[0]} == "N=b R=10.200.3.1 L=10.200.3.2:8080" ]]
		[ "${lines[1]}" = "in=hello" ]
	done
}

@test "haproxy: TERM of one node drains it with zero failed requests" {
	node a 10.200.1.2
	node b 10.200.2.2
	haproxy_start
	pa_start loop ip netns exec "${NS}c" p-loop.sh 10.200.3.2 8080 "$T/stop" "$T/loop.res"
	wait_for 10 replies 'node N=a' 1
	wait_for 10 replies 'node N=b' 1
	local pid
	pid=$(cat "$T/a.pid")
	kill -TERM "$pid"
	wait_for 10 dead "$pid"
	wait_for 10 status a DOWN
	# Some requests after the check noticed, all on b.
	local n
	n=$(grep -c 'node N=b' "$T/loop.res.nodes")
	wait_for 10 replies 'node N=b' $((n + 5))
	touch "$T/stop"
	wait_for 20 grep -q '^done' "$T/loop.res"
	cat "$T/loop.res" "$T/loop.err"
	[[ $(head -n 1 "$T/loop.res") =~ ^[0-9]+\ ok,\ 0\ failed$ ]]
	[ "$(tail -n 6 "$T/loop.res" | grep -c 'node N=b')" -eq 5 ]
}
