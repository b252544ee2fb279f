#!/usr/bin/env bats
# make install and make uninstall: PREFIX and DESTDIR are honoured, and
# uninstall removes what install put there.

bats_require_minimum_version 1.5.0
load helper

top=$BATS_TEST_DIRNAME/..

# mk TARGET ARGS...: make in the source tree, in the build mode under test
# (so that bin/ is not relinked under a running suite).
mk() {
	local san=
	[ "${PA_MODE:-opt}" = san ] && san=1
	timeout 120 make -s -C "$top" --no-print-directory SANITIZE="$san" "$@"
}

@test "make install puts programs, library, header, pkg-config file and pages under DESTDIR/PREFIX" {
	local d=$BATS_TEST_TMPDIR/root
	run -0 mk install DESTDIR="$d" PREFIX=/opt/pa
	for p in pa-listen pa-spawn pa-handler pa-ctl; do
		[ -x "$d/opt/pa/bin/$p" ]
		[ -f "$d/opt/pa/share/man/man1/$p.1" ]
	done
	[ -f "$d/opt/pa/share/man/man7/pa.7" ]
	[ -f "$d/opt/pa/share/man/man3/libpa.3" ]
	[ -f "$d/opt/pa/include/pa.h" ]
	[ -f "$(find "$d/opt/pa" -name libpa.a)" ]
	pc=$(find "$d/opt/pa" -name pa.pc)
	[ -f "$pc" ]
	grep -q '/opt/pa' "$pc"
	# The installed program runs and says what it is.
	run -0 "$d/opt/pa/bin/pa-ctl" -h
	[[ "$output" == *"usage: pa-ctl"* ]]
	# Nothing outside DESTDIR.
	[ ! -e /opt/pa/bin/pa-listen ]
}

@test "make uninstall removes what make install put there" {
	local d=$BATS_TEST_TMPDIR/root
	run -0 mk install DESTDIR="$d" PREFIX=/usr/local
	[ -x "$d/usr/local/bin/pa-spawn" ]
	run -0 mk uninstall DESTDIR="$d" PREFIX=/usr/local
	run find "$d" -type f
	[ -z "$output" ]
}
