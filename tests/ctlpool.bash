# shellcheck shell=bash
# tests/ctlpool.bash: a pool with its control socket, and its figures, for
# the suites that load it (faults, privilege) after helper.bash.  The
# suite sets T (its scratch directory).

# pool NAME [PA-SPAWN ARGS...]: pa-listen -1 127.0.0.1:0 pa-spawn -c
# NAME.ctl ARGS...; sets PORT, CTL and POOL.
# shellcheck disable=SC2034 # POOL and PORT are the suite's
pool() {
	local name=$1
	shift
	CTL=$T/$name.ctl
	pa_start "$name" pa-listen -1 127.0.0.1:0 pa-spawn -c "$CTL" "$@"
	POOL=$PA_PID
	PORT=$(wait_port "$name")
}

# fig KEY: the value of KEY in pa-ctl stat.
fig() {
	pa-ctl -c "$CTL" stat 2>/dev/null | sed -n "s/^$1: //p"
}

# is KEY VALUE: the figure KEY is VALUE.
is() {
	[ "$(fig "$1")" = "$2" ]
}
