#!/usr/bin/env python3
"""s-twice.py PORTFILE CMD [ARG...]: hold a listening socket as systemd's
socket units do (Accept=no): listen on 127.0.0.1 (an ephemeral port,
written to PORTFILE), and run CMD twice, one after the other, each time
with the socket on fd 3, LISTEN_FDS=1 and LISTEN_PID its own pid.  The
socket stays open in between.  Exits with the second run's status."""
import os
import socket
import subprocess
import sys

portfile, cmd = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(128)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
env = dict(os.environ, LISTEN_FDS="1")


def to3():
    os.dup2(s.fileno(), 3)


status = 0
for _ in range(2):
    p = subprocess.Popen(["sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh"] + cmd,
                         env=env, preexec_fn=to3, pass_fds=(3,))
    status = p.wait()
sys.exit(status if status >= 0 else 128 - status)
