#!/usr/bin/env python3
"""l-hold.py HOST PORT GO FIRST REST: connect, send FIRST, wait (10 s at
most) until the file GO exists, send REST (a peer already gone is no
error), close the sending side and print all that comes back until end of
file.  FIRST and REST take \\n and \\r escapes."""
import os
import socket
import sys
import time

host, port, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def unescape(s):
    return s.replace("\\r", "\r").replace("\\n", "\n").encode()


first, rest = unescape(sys.argv[4]), unescape(sys.argv[5])
s = socket.create_connection((host, port), timeout=10)
s.sendall(first)
end = time.monotonic() + 10
while not os.path.exists(go) and time.monotonic() < end:
    time.sleep(0.02)
try:
    if rest:
        s.sendall(rest)
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass
got = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
except OSError as e:
    got += ("[%s]" % e.strerror).encode()
sys.stdout.write(got.decode(errors="replace"))
