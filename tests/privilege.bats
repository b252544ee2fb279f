#!/usr/bin/env bats
# Privilege and isolation: -u and -U really drop (every uid and gid, the
# supplementary groups, the capabilities, as PROG itself sees them in
# /proc/self/status); a failure to drop is fatal; the region is a memfd
# reached only through inherited descriptors (nothing in /dev/shm); the
# control socket is its creator's, 0600, and PROG inherits neither.
# Most tests need root.
# shellcheck disable=SC2016,SC2030,SC2031,SC2154 # inner shells expand; per-test globals; run sets output

bats_require_minimum_version 1.5.0
load helper
load ctlpool

T=$BATS_TEST_TMPDIR

# PROG: print the identity lines of its own /proc status.
IDPROG=(sh -c 'grep -E "^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapAmb):" /proc/self/status')

needs_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	command -v setpriv >/dev/null || skip "no setpriv"
}

# ids FILE UID GID: the status lines in FILE say uid UID and gid GID for
# real, effective, saved and filesystem ids, no supplementary group and
# no capability.
ids() {
	grep -E "^Uid:[[:space:]]+$2[[:space:]]+$2[[:space:]]+$2[[:space:]]+$2\$" "$1" &&
	    grep -E "^Gid:[[:space:]]+$3[[:space:]]+$3[[:space:]]+$3[[:space:]]+$3\$" "$1" &&
	    grep -E '^Groups:[[:space:]]*$' "$1" &&
	    grep -E '^CapPrm:[[:space:]]+0+$' "$1" &&
	    grep -E '^CapEff:[[:space:]]+0+$' "$1" &&
	    grep -E '^CapAmb:[[:space:]]+0+$' "$1"
}

@test "-u user:group drops every id, the caller's supplementary groups and all capabilities, in pa-spawn, handlers and PROG" {
	needs_root
	# The caller has supplementary groups: none may survive.
	CTL=$T/U.ctl
	pa_start U setpriv --groups=4,20,27 pa-listen -1 127.0.0.1:0 \
	    pa-spawn -c "$CTL" -n 2 -u daemon:nogroup pa-handler "${IDPROG[@]}"
	POOL=$PA_PID
	PORT=$(wait_port U)
	wait_for 10 is idle 2
	local uid gid h
	uid=$(id -u daemon)
	gid=$(getent group nogroup | cut -d: -f3)
	tcp_get 127.0.0.1 "$PORT" >"$T/prog"
	cat "$T/prog"
	ids "$T/prog" "$uid" "$gid"
	ids "/proc/$POOL/status" "$uid" "$gid"
	for h in $(pgrep -P "$POOL"); do
		ids "/proc/$h/status" "$uid" "$gid"
	done
	# The control socket was made before the drop: root's, 0600.
	[ "$(stat -c '%u %a' "$CTL")" = "0 600" ]
	run -0 pa-ctl -c "$CTL" stat
}

@test "-U takes UID and GID as numbers with no passwd entry" {
	needs_root
	! getent passwd 4242 >/dev/null || skip "uid 4242 exists"
	CTL=$T/N.ctl
	pa_start N env UID=4242 GID=4343 pa-listen -1 127.0.0.1:0 \
	    pa-spawn -c "$CTL" -U -n 1 pa-handler "${IDPROG[@]}"
	POOL=$PA_PID
	PORT=$(wait_port N)
	wait_for 10 is idle 1
	tcp_get 127.0.0.1 "$PORT" >"$T/prog"
	ids "$T/prog" 4242 4343
	ids "/proc/$POOL/status" 4242 4343
}

@test "a failure to drop privileges is fatal (111) and no handler starts" {
	needs_root
	local dir
	dir=$(mktemp -d /tmp/pa-priv.XXXXXX)
	chmod 0777 "$dir"
	# Not root: setgroups is refused.
	run -111 --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    pa-listen 127.0.0.1:0 pa-spawn -c "$dir/a.ctl" -u daemon \
	    sh -c 'touch "$0"' "$dir/started"
	echo "$stderr"
	[[ "$stderr" == *"setgroups"* ]]
	# Root without CAP_SETGID: the same.
	run -111 --separate-stderr setpriv --bounding-set=-setgid \
	    pa-listen 127.0.0.1:0 pa-spawn -c "$dir/b.ctl" -u daemon \
	    sh -c 'touch "$0"' "$dir/started"
	echo "$stderr"
	[[ "$stderr" == *"setgroups"* || "$stderr" == *"setgid"* ]]
	# Root without CAP_SETUID: the groups go, the uid cannot: fatal.
	run -111 --separate-stderr setpriv --bounding-set=-setuid \
	    pa-listen 127.0.0.1:0 pa-spawn -c "$dir/c.ctl" -u daemon \
	    sh -c 'touch "$0"' "$dir/started"
	echo "$stderr"
	[[ "$stderr" == *"setuid"* ]]
	[ ! -e "$dir/started" ]
	# Unknown names are usage errors.
	run -100 pa-listen 127.0.0.1:0 pa-spawn -c "$dir/d.ctl" -u no-such-user-here true
	run -100 pa-listen 127.0.0.1:0 pa-spawn -c "$dir/e.ctl" -u daemon:no-such-group-here true
	rm -rf "$dir"
}

@test "the region is a memfd reached only by inherited descriptors: nothing in /dev/shm, no path to open" {
	local before after h
	before=$(find /dev/shm -mindepth 1 2>/dev/null | sort)
	pool R -n 2 pa-handler -t 2 sh -c \
	    'find /proc/$$/fd -mindepth 1 -printf "fd %f -> %l\n"; cat /proc/$$/maps'
	wait_for 10 is idle 4
	after=$(find /dev/shm -mindepth 1 2>/dev/null | sort)
	[ "$before" = "$after" ]
	# pa-spawn maps it from a memfd ...
	grep -q '/memfd:pa-region (deleted)$' "/proc/$POOL/maps"
	run ! grep -q /dev/shm "/proc/$POOL/maps"
	for h in $(pgrep -P "$POOL"); do
		# ... each handler too, through descriptor 4, and nothing else.
		[ "$(readlink "/proc/$h/fd/4")" = "/memfd:pa-region (deleted)" ]
		grep -q '/memfd:pa-region (deleted)$' "/proc/$h/maps"
		[ "$(find "/proc/$h/fd" -mindepth 1 -lname '/memfd:*' | wc -l)" -eq 1 ]
	done
	# PROG has neither the region nor any socket but its connection.
	tcp_get 127.0.0.1 "$PORT" >"$T/prog"
	run ! grep -q memfd "$T/prog"
	cat "$T/prog"
	[ "$(grep -c '^fd ' "$T/prog")" -eq 3 ]
	[ "$(grep '^fd ' "$T/prog" | cut -d' ' -f2 | sort -n | tr '\n' ' ')" = "0 1 2 " ]
}

@test "the control socket: 0600 and its owner's; a PROG of another user cannot reach it" {
	needs_root
	local dir
	dir=$(mktemp -d /tmp/pa-priv.XXXXXX)
	chmod 0711 "$dir"
	CTL=$dir/ctl
	pa_start C pa-listen -1 127.0.0.1:0 pa-spawn -c "$CTL" -n 1 -u daemon \
	    pa-handler sh -c 'pa-ctl -c "$0" set 5 2>&1; echo "status $?"' "$CTL"
	POOL=$PA_PID
	PORT=$(wait_port C)
	wait_for 10 is idle 1
	[ "$(stat -c '%u %a' "$CTL")" = "0 600" ]
	run -0 tcp_get 127.0.0.1 "$PORT"
	echo "$output"
	[[ "$output" == *"Permission denied"* ]]
	[[ "$output" == *"status 111"* ]]
	[ "$(fig target)" = 1 ]
	pa_teardown
	rm -rf "$dir"
}
