#!/usr/bin/env python3
"""c-flood.py PATH N MODE: open N control connections at once, all held
open together, then in MODE (silent: say nothing; garbage: send random
bytes and a newline; stat: a valid request) read each reply.  Prints one
line per distinct first line of the replies, "COUNT<TAB>LINE", sorted;
a connection that could not be made or read shows as "failed: WHY"."""
import os
import socket
import sys

path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks, counts = [], {}


def count(key):
    counts[key] = counts.get(key, 0) + 1


for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)         # blocking: waits while the backlog is full
    except OSError as e:
        count("failed: connect %s" % e.strerror)
        s.close()
        continue
    s.settimeout(10)
    socks.append(s)

for s in socks:
    try:
        if mode == "garbage":
            s.sendall(os.urandom(64).replace(b"\n", b"x") + b"\n")
        elif mode == "stat":
            s.sendall(b"stat\n")
    except OSError:
        pass                    # it may have answered and closed already

for s in socks:
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except OSError as e:
        if not data:
            data = ("failed: recv %s" % e.strerror).encode()
    count(data.split(b"\n")[0].decode("ascii", "replace"))
    s.close()

for k in sorted(counts):
    print("%d\t%s" % (counts[k], k))
