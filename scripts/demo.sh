#!/bin/sh
# demo.sh PORT HANDLERS: run the demo service in the foreground through the
# whole chain, pa-listen -> pa-spawn -> pa-handler -> examples/greet.sh.
set -eu
port=${1:-8080}
n=${2:-4}
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/bin
ctl=${TMPDIR:-/tmp}/pa-demo.$(id -u).ctl

cat <<TXT
pa demo: serving examples/greet.sh on 127.0.0.1:$port with $n handlers.
  talk to it:    curl http://127.0.0.1:$port/
                 printf 'hi\\n' | nc -N 127.0.0.1 $port
  watch it:      $bin/pa-ctl -c $ctl top -w 1
  scale it:      $bin/pa-ctl -c $ctl up 2;  $bin/pa-ctl -c $ctl down 1
                 $bin/pa-ctl -c $ctl set 8; $bin/pa-ctl -c $ctl -j stat
  stop it:       Ctrl-C here, or $bin/pa-ctl -c $ctl stop (drains first)
TXT
exec "$bin/pa-listen" "127.0.0.1:$port" \
    "$bin/pa-spawn" -v -c "$ctl" -n "$n" \
    "$bin/pa-handler" -v "$top/examples/greet.sh"
