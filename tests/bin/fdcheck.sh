#!/bin/sh
# fdcheck.sh [wait]: describe what this process inherited, one fact a line,
# for tests/pa-listen.bats:
#   fds: 0 1 2 3                  its open descriptors (not the script's own)
#   LISTEN_FDS=1 ...              the socket-activation variables
#   LISTEN_PID=self               (or LISTEN_PID=N pid=M when it differs)
#   fd3: tcp 127.0.0.1:PORT LISTEN, tcp6 HEX:PORT LISTEN, unix PATH LISTEN stream
# With "wait" it then sleeps, holding fd 3, until it is killed.
self=$(readlink -f "$0")
# ls runs as a child with its output in a file, so the listing is of this
# shell alone: no pipe or directory of the check's own shows up in it.
tmp=${TMPDIR:-/tmp}/fdcheck.$$
(exec ls -l "/proc/$$/fd" >"$tmp")
fds=$(awk -v self="$self" 'NF >= 11 && $11 != self { print $9 }' "$tmp" |
    sort -n | tr '\n' ' ' | sed 's/ $//')
rm -f "$tmp"
echo "fds: $fds"
for v in LISTEN_FDS LISTEN_FDNAMES LISTEN_PIDFDID; do
	eval "echo \"$v=\${$v-<unset>}\""
done
if [ "${LISTEN_PID-}" = "$$" ]; then
	echo "LISTEN_PID=self"
else
	echo "LISTEN_PID=${LISTEN_PID-<unset>} pid=$$"
fi

ino=$(readlink /proc/$$/fd/3 | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')
if [ -z "$ino" ]; then
	echo "fd3: $(readlink /proc/$$/fd/3 || echo closed)"
else
	# /proc/net/tcp: sl local rem st ... uid timeout inode
	awk -v ino="$ino" '$10 == ino { print $2, $4 }' /proc/net/tcp |
	while read -r local st; do
		a=${local%:*}
		p=$(printf '%d' "0x${local#*:}")
		ip=$(printf '%d.%d.%d.%d' "0x$(echo "$a" | cut -c7-8)" \
		    "0x$(echo "$a" | cut -c5-6)" "0x$(echo "$a" | cut -c3-4)" \
		    "0x$(echo "$a" | cut -c1-2)")
		[ "$st" = 0A ] && st=LISTEN
		echo "fd3: tcp $ip:$p $st"
	done
	awk -v ino="$ino" '$10 == ino { print $2, $4 }' /proc/net/tcp6 |
	while read -r local st; do
		p=$(printf '%d' "0x${local#*:}")
		[ "$st" = 0A ] && st=LISTEN
		echo "fd3: tcp6 ${local%:*}:$p $st"
	done
	# /proc/net/unix: Num RefCount Protocol Flags Type St Inode Path
	awk -v ino="$ino" '$7 == ino {
		print "fd3: unix", $8, ($4 == "00010000" ? "LISTEN" : "flags=" $4),
		    ($5 == "0001" ? "stream" : "type=" $5) }' /proc/net/unix
fi
echo "end"
if [ "${1-}" = wait ]; then
	exec sleep 60
fi
