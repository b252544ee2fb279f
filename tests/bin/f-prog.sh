#!/bin/sh
# f-prog.sh: a PROG for tests/faults.bats that misbehaves on request.
# It reads one line from the connection and then:
#   hello   answers "got hello"
#   big     writes 4 MB, then "end"
#   crash   dies of SIGSEGV
#   hang    sleeps for an hour
#   ignore  ignores SIGTERM (the disposition survives exec), sleeps an hour
#   close   closes its stdin and stdout, then lingers a while
#   (else)  answers "unknown" (also when the client sent nothing at all)
IFS= read -r cmd || cmd=
case $cmd in
hello) echo "got hello" ;;
big) head -c 4000000 /dev/zero && echo end ;;
crash) kill -SEGV $$ ;;
hang) exec sleep 3600 ;;
ignore) trap '' TERM && exec sleep 3600 ;;
close) exec <&- >&- && sleep 0.5 ;;
*) echo unknown ;;
esac
