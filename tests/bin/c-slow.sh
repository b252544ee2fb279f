#!/bin/sh
# c-slow.sh [SECONDS]: a PROG that takes its time (0.2 s by default),
# then answers one line.
sleep "${1:-0.2}"
echo served
