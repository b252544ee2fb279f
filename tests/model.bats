#!/usr/bin/env bats
# The Promela model of the notification (tests/model/notify.pml), checked
# with spin: safety in every interleaving of its threads, and the lost
# wake-up found again when the fix is taken out (-DNOFIX), which shows
# that the model can fail.  Each run is bounded in time and memory: the
# search of 3 threads is a bitstate one (part of the states, 2 MB); the
# exhaustive search of 2 threads (about 25 million states, 1 GB, half a
# minute) is run by hand, as tests/model/notify.pml says.
# shellcheck disable=SC2154 # bats' run sets output

bats_require_minimum_version 1.5.0
load helper

# pan_run DEFINES... -- PAN-FLAGS...: build the verifier in the test's
# directory and run it; its output in $output.
pan_run() {
	local defs=()
	while [ "$1" != -- ]; do
		defs+=("$1")
		shift
	done
	shift
	command -v spin >/dev/null || skip "spin is not installed (scripts/deps.sh check)"
	cp "$BATS_TEST_DIRNAME/model/notify.pml" "$BATS_TEST_TMPDIR/"
	cd "$BATS_TEST_TMPDIR" || return 1
	spin "${defs[@]}" -a notify.pml
	cc -O2 -w -DSAFETY -DMEMLIM=1024 "${defs[@]}" -o pan pan.c
	run timeout 120 ./pan -m200000 "$@"
	echo "$output" | grep -v '^Depth='
}

@test "model: 3 threads, 2 connections: no connection left queued, no count left over, futile wake-ups bounded (bitstate search)" {
	pan_run -DNT=3 -DNC=2 -DBITSTATE -- -w24
	[ "$status" -eq 0 ]
	[[ $output == *"errors: 0"* ]]
	[[ $output != *"assertion violated"* ]]
}

@test "model: with the fix taken out (no bump before the wake-up), spin finds the lost wake-up (2 threads, 2 connections)" {
	pan_run -DNOFIX -DNT=2 -DNC=2 -DCOLLAPSE -- -w22
	[[ $output == *"errors: 1"* ]]
	[[ $output == *"assertion violated (((queue==0)"* ]]
	[ -f notify.pml.trail ]
	# The trail replays: a final state with a connection still queued.
	run spin -DNOFIX -DNT=2 -DNC=2 -t -g notify.pml
	[[ $output == *"queue = 1"* ]]
}
