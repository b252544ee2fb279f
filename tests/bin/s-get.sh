#!/bin/bash
# s-get.sh HOST PORT [DATA]: connect to HOST:PORT, send DATA (if any),
# print the reply; a unix socket if HOST is "unix" (PORT is the path).
# Fails if the connection fails or takes over 10 seconds.
if [ "$1" = unix ]; then
	printf '%s' "${3-}" | exec timeout 10 nc -N -U "$2"
fi
# shellcheck disable=SC2016 # expanded by the inner shell
exec timeout 10 bash -c 'exec 5<>"/dev/tcp/$1/$2" || exit 1
	[ -n "$3" ] && printf "%s" "$3" >&5
	cat <&5' _ "$1" "$2" "${3-}"
