#!/usr/bin/env bats
# The Debian packages as an operator meets them (make check-deb, as root):
# dpkg -i the pa and libpa-dev of $PA_DEBDIR (make deb), serve a
# connection through the installed /usr/bin programs, find the pages with
# man, build a handler against the installed library, then dpkg --purge
# and check that nothing the packages installed is left.

# shellcheck disable=SC2154,SC2016,SC2030,SC2031 # run sets output and status; inner shells expand; teardown runs in the test's process
bats_require_minimum_version 1.5.0
load ../helper

T=$BATS_TEST_TMPDIR
top=$BATS_TEST_DIRNAME/../..

setup() {
	[ -n "${PA_DEBDIR:-}" ] || skip "PA_DEBDIR unset: run make check-deb"
	[ "$(id -u)" -eq 0 ] || skip "dpkg -i needs root"
	DEBS=("$PA_DEBDIR"/pa_*.deb "$PA_DEBDIR"/libpa-dev_*.deb)
	[ -f "${DEBS[0]}" ] && [ -f "${DEBS[1]}" ]
}

installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null |
	    grep -q '^install ok installed$'
}

# A path that dpkg --purge may leave: a directory another package owns.
shared_dir() {
	[ -d "$1" ] && dpkg-query -S "$1" >/dev/null 2>&1
}

@test "the packages install, serve through /usr/bin, show their pages, link, and purge without a trace" {
	if installed pa || installed libpa-dev; then
		echo "pa or libpa-dev is installed already: dpkg --purge them first" >&2
		return 1
	fi
	# Purge whatever this test installed, even when it fails half-way.
	PA_PURGE=1
	run -0 timeout 120 dpkg -i "${DEBS[@]}"
	installed pa
	installed libpa-dev
	dpkg -L pa libpa-dev | sort -u >"$T/files"
	grep -qx /usr/bin/pa-spawn "$T/files"
	grep -qx /usr/include/pa.h "$T/files"
	# The examples: the units name the installed programs.
	for f in pa@.socket pa@.service pa.env haproxy.cfg pa-alerts.yml; do
		[ -f "/usr/share/doc/pa/examples/$f" ]
	done
	grep -q '^ExecStart=/usr/bin/pa-spawn .* /usr/bin/pa-handler ' \
	    /usr/share/doc/pa/examples/pa@.service
	run ! grep -q /usr/local /usr/share/doc/pa/examples/pa@.service

	# A connection served by the installed chain, found by absolute path.
	pa_start S /usr/bin/pa-listen -1 127.0.0.1:0 /usr/bin/pa-spawn \
	    -c "$T/S.ctl" -n 2 /usr/bin/pa-handler /bin/sh -c \
	    'read -r l; echo "served $l by $TCPREMOTEIP"'
	port=$(wait_port S)
	wait_for 5 test -S "$T/S.ctl"
	run -0 tcp_get 127.0.0.1 "$port" $'hello\n'
	[ "$output" = "served hello by 127.0.0.1" ]
	run -0 /usr/bin/pa-ctl -c "$T/S.ctl" stat
	[[ "$output" == *"accepted: 1"* ]]
	spid=$(sed -n 's/^pid: //p' <<<"$output")
	[ "$(readlink "/proc/$spid/exe")" = /usr/bin/pa-spawn ]
	stop_pid "$PA_PID"

	# man finds the installed pages (man-db), by name and section.
	run -0 man -w pa-spawn
	[ "$output" = /usr/share/man/man1/pa-spawn.1.gz ]
	run -0 env MANPAGER=cat MANWIDTH=80 man pa-spawn
	[[ "$output" == *"pa-spawn"*"pool"* ]]
	run -0 man -w 7 pa
	run -0 man -w 3 libpa

	# A handler built against the installed header, library and pa.pc.
	run -0 pkg-config --cflags --libs pa
	# shellcheck disable=SC2046 # pkg-config's words
	run -0 cc -o "$T/echo" "$top/examples/echo.c" $(pkg-config --cflags --libs pa) -lpthread
	[ -x "$T/echo" ]

	run -0 timeout 120 dpkg --purge pa libpa-dev
	PA_PURGE=
	run ! installed pa
	run ! installed libpa-dev
	left=
	while read -r f; do
		[ "$f" != /. ] || continue
		[ -e "$f" ] || [ -L "$f" ] || continue
		shared_dir "$f" || left="$left $f"
	done <"$T/files"
	if [ -n "$left" ]; then
		echo "left after purge:$left" >&2
		return 1
	fi
	[ ! -e /usr/share/doc/pa ]
	[ ! -e /usr/bin/pa-ctl ]
}

teardown() {
	pa_teardown
	if [ -n "${PA_PURGE:-}" ]; then
		timeout 120 dpkg --purge pa libpa-dev >/dev/null 2>&1 || true
	fi
}
