#!/bin/bash
# p-send.sh HOST PORT PIECE...: connect to HOST:PORT, write each PIECE (a
# printf format, \xHH for any byte, NUL included) in turn with a pause of
# 0.2 s between pieces, then print what comes back until the server closes.
# Exits 0 even when the server drops the connection.
host=$1 port=$2
shift 2
# A server that drops the connection unread must not kill us with SIGPIPE.
trap '' PIPE
exec 5<>"/dev/tcp/$host/$port" || exit 1
first=1
for piece; do
	[ "$first" = 1 ] || sleep 0.2
	first=0
	# shellcheck disable=SC2059 # the piece is the format, on purpose
	printf "$piece" >&5 2>/dev/null || break
done
cat <&5 2>/dev/null
exit 0
