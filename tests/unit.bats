#!/usr/bin/env bats
# The C unit tests of lib/: one bats test per program in tests/unit/.

bats_require_minimum_version 1.5.0
load helper

@test "unit: the shared region, slots and futex" {
	run_unit t_region
}

@test "unit: receiving the listening socket (LISTEN_FDS, fd 0)" {
	run_unit t_sd
}

@test "unit: the control protocol parser and the pool figures" {
	run_unit t_ctl
}

@test "unit: address parsing, formatting and listening sockets" {
	run_unit t_addr
}

@test "unit: the UCSPI environment over TCP v4, v6, wildcard, dual stack and unix" {
	run_unit t_ucspi
}

@test "unit: the handler protocol: attach, slot states, readiness, futile wake-ups, stop, retire, drain, alone" {
	run_unit t_handler
}

@test "unit: the PROXY protocol v1 and v2 parser, the exact header reader, peer networks" {
	run_unit t_proxy
}

@test "unit: libpa's connection API: attach errors, both addresses, PROXY headers, drops, leaving, threads alone, the slot's peer" {
	run_unit t_worker
}

@test "unit: the head of a scraper's HTTP request: whole, cut at every byte, malformed, binary" {
	run_unit t_http
}

@test "unit: the notification: a thread counted asleep but not yet in FUTEX_WAIT misses no connection (the lost wake-up, with pauses at the racy points)" {
	run_unit t_notify
}
