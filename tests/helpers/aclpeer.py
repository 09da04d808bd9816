#!/usr/bin/env python3
"""aclpeer.py: a client of a bind-input binding that may be refused (-A).

  probe HOST PORT SRC DATA   connects to HOST:PORT from address SRC ("-":
                             any), sends DATA (\\n, \\xHH escapes), then
                             waits up to WAIT seconds (default 10) for the
                             server to end the connection: prints "closed"
                             (end of stream or reset, also when the send
                             itself failed) or "open" (still open when the
                             time was up); a connection refused prints
                             "refused". Exits 0.

Every socket operation has a timeout.
"""
import codecs
import os
import socket
import sys
import time

WAIT = float(os.environ.get("WAIT", "10"))


def probe(host, port, src, data):
    source = None if src == "-" else (src, 0)
    try:
        s = socket.create_connection((host, int(port)), timeout=WAIT,
                                     source_address=source)
    except ConnectionRefusedError:
        print("refused")
        return
    try:
        s.sendall(codecs.escape_decode(data.encode())[0])
    except OSError:
        print("closed")
        return
    deadline = time.monotonic() + WAIT
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print("open")
            return
        s.settimeout(left)
        try:
            if not s.recv(65536):
                print("closed")
                return
        except socket.timeout:
            print("open")
            return
        except OSError:
            print("closed")
            return


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "probe":
        probe(*sys.argv[2:])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
