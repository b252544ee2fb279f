#!/bin/sh
# greet.sh: the demo PROG.  Reads the client's first line (an HTTP request
# line, or anything typed into nc) and answers with a small HTTP/1.0 reply
# naming the client and the process that served it, from the UCSPI
# environment pa-handler provides.
IFS= read -r line || line=
line=$(printf '%s' "$line" | tr -d '\r')
case "$line" in
*HTTP/*)
	# Skip the request headers, up to the empty line.
	while IFS= read -r h; do
		case "$h" in "" | "$(printf '\r')") break ;; esac
	done
	;;
esac
body="hello from pa: client ${TCPREMOTEIP:-${UNIXREMOTEPID:-?}}:${TCPREMOTEPORT:-} served by pid $$
request: $line
"
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "${#body}" "$body"
