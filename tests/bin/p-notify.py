#!/usr/bin/env python3
# p-notify.py PATH OUT: receive sd_notify(3) datagrams on the unix socket
# PATH (what NOTIFY_SOCKET names) and append each to OUT, one line per
# assignment, as they come, until killed.
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    print("listening", file=f)
    while True:
        msg = s.recv(4096).decode(errors="replace")
        for line in msg.splitlines():
            print(line, file=f)
        os.fsync(f.fileno())
