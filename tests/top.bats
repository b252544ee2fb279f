#!/usr/bin/env bats
# pa-ctl top as a person watches it: in a terminal (tmux, 80 columns)
# against a pool under load, the last minute drawn as sparklines that
# pa-spawn's own samples feed; plain text when stdout is not a terminal.

# shellcheck disable=SC2154 # bats' run sets output and lines
bats_require_minimum_version 1.5.0
load helper
load ctlpool

T=$BATS_TEST_TMPDIR
TMUX_SOCK=

# load_start N: N client loops against the pool, until $T/stop-load.
load_start() {
	local i
	for ((i = 0; i < $1; i++)); do
		pa_start "load$i" c-load.sh 127.0.0.1 "$PORT" "$T/stop-load"
	done
	NLOAD=$1
}

# load_stop: end the loops; fails unless every connection was served.
load_stop() {
	local i out
	touch "$T/stop-load"
	for ((i = 0; i < NLOAD; i++)); do
		wait_for 20 file_has_line "$T/load$i.out"
		out=$(cat "$T/load$i.out")
		echo "load$i: $out"
		[[ "$out" =~ ^ok\ [1-9][0-9]*\ failed\ 0$ ]]
	done
}

# tmux_top ENV...: pa-ctl -w 1 top in a detached tmux of 80x40 with a
# server of its own (its pid recorded for teardown), ENV set for it.
tmux_top() {
	TMUX_SOCK=pa-top-$$-$RANDOM
	tmux -u -L "$TMUX_SOCK" -f /dev/null new-session -d -x 80 -y 40 \
	    env "$@" pa-ctl -c "$CTL" -w 1 top
	PA_PIDS+=("$(tmux -L "$TMUX_SOCK" display-message -p '#{pid}')")
	tmux -L "$TMUX_SOCK" set-option -g remain-on-exit on >/dev/null
}

# screen: the pane as a person sees it, wrapped lines joined back (-J),
# so that a line longer than the terminal shows as one.
screen() {
	tmux -L "$TMUX_SOCK" capture-pane -p -J >"$T/screen"
	cat "$T/screen"
}

# row LABEL: the sparkline of row LABEL on the screen (60 columns).
row() {
	screen | python3 -c '
import sys
for l in sys.stdin.read().splitlines():
    if l.startswith(sys.argv[1].ljust(7)):
        print(l[7:67])
        break' "$1"
}

# rising LABEL: row LABEL has a full block (its maximum) and a lowest one.
rising() {
	local r
	r=$(row "$1")
	[[ "$r" == *"$2"* && "$r" == *"$3" ]]
}

# fits: every line of the last screen is at most 80 columns wide.
fits() {
	python3 -c '
import sys, unicodedata
for l in open(sys.argv[1], encoding="utf-8").read().splitlines():
    w = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in l)
    assert w <= 80, (w, l)' "$T/screen"
}

# on_screen RE: a line of the screen matches RE.
on_screen() {
	screen | grep -q "$1"
}

# top_shows RE: a line of pa-ctl top through a pipe matches RE.
top_shows() {
	pa-ctl -c "$CTL" top | grep -q "$1"
}

at_least() {
	[ "$(fig "$1")" -ge "$2" ]
}

teardown() {
	if [ -n "$TMUX_SOCK" ]; then
		tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
	fi
	pa_teardown
}

@test "top in an 80-column UTF-8 terminal: the last minute as sparklines that rise under load, every line fits" {
	pool P -n 4 pa-handler c-slow.sh 0.1
	tmux_top LANG=C.UTF-8 LC_ALL=C.UTF-8
	wait_for 10 on_screen '^       the last minute, one column a second  *now   max$'
	grep -q '^conn/s ' "$T/screen"
	grep -q '^queue  ' "$T/screen"
	grep -q '^busy   ' "$T/screen"
	fits
	local before
	before=$(grep '^pa-spawn' "$T/screen")
	load_start 3
	# Under load the rows rise: a full block where the most was.
	wait_for 15 rising conn/s █ ''
	wait_for 15 rising busy █ ''
	screen >/dev/null
	fits
	load_stop
	# After the load the newest columns fall back to the lowest mark:
	# the conn/s row is not flat, it shows the burst and its end.
	wait_for 10 rising conn/s █ ▁
	screen
	fits
	# The screen is refreshed (-w 1): the uptime moved.
	[ "$(grep '^pa-spawn' "$T/screen")" != "$before" ]
	# The numbers beside the row: the maximum is what pa-spawn counted.
	[ "$(awk '/^conn\/s / { print $NF }' "$T/screen")" -ge 1 ]
	[ "$(awk '/^conn\/s / { print $(NF - 1) }' "$T/screen")" -eq 0 ]
}

@test "top in a terminal without UTF-8 draws in ASCII" {
	pool P -n 2 pa-handler c-slow.sh 0.1
	tmux_top LANG=C LC_ALL=C
	load_start 2
	wait_for 15 rising conn/s '#' ''
	load_stop
	screen
	fits
	run ! env LC_ALL=C grep -q $'[\x80-\xff]' "$T/screen"
	grep -q '^       the last minute' "$T/screen"
}

@test "top through a pipe: plain text, and the minute before pa-ctl started is there" {
	pool P -n 2 pa-handler c-slow.sh 0.1
	load_start 2
	# No pa-ctl runs meanwhile: the samples are pa-spawn's.
	wait_for 20 at_least accepted 40
	load_stop
	wait_for 5 top_shows '^conn/s  now 0,'
	run -0 pa-ctl -c "$CTL" top
	echo "$output"
	[[ "$output" != *$'\e'* ]]
	local out=$output
	run ! env LC_ALL=C grep -q $'[\x80-\xff]' <<<"$out"
	output=$out
	line=$(grep '^conn/s ' <<<"$output")
	[[ "$line" =~ ^conn/s\ \ now\ 0,\ mean\ [0-9]+\.[0-9],\ max\ ([0-9]+)\ over\ the\ last\ ([0-9]+)\ s$ ]]
	[ "${BASH_REMATCH[1]}" -ge 1 ]
	[ "${BASH_REMATCH[2]}" -ge 2 ] && [ "${BASH_REMATCH[2]}" -le 60 ]
	grep -Eq '^busy    now [0-9]+, mean [0-9.]+, max [1-9][0-9]* over' <<<"$output"
	grep -q '^queue   now ' <<<"$output"
	while IFS= read -r l; do
		[ "${#l}" -le 80 ] || { echo "too wide: $l"; false; }
	done <<<"$output"
	# -j gives the samples as arrays of numbers, of one length.
	run -0 pa-ctl -c "$CTL" -j top
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
v = d["trend_accepted"]
assert all(isinstance(x, int) for x in v), v
assert 1 <= len(v) <= 60 and max(v) >= 1, v
assert len(d["trend_queue"]) == len(v) == len(d["trend_busy"]), d
assert max(d["trend_busy"]) >= 1, d
' "$output"
}

