#!/usr/bin/env python3
"""convpeer.py: Python peers for the conversation-speed path (direct.bats).

  gen SEED N LMAX          prints N lines of seeded random bytes (1 to LMAX
                           bytes each, every byte but NUL and newline)
  echo PORT SEED OUT       listens on 127.0.0.1:PORT, takes one client and
                           sends back everything it receives, in seeded
                           random pieces (1 B to 8 KiB) with random pauses
                           of up to 2 ms; at the client's end writes "eof"
                           to OUT and closes
  lines PORT N SEED GO [HOLD]
                           listens, takes one client, waits for the file GO
                           (60 s at most), then sends the lines 1..N in
                           random pieces and pauses; then closes (with
                           HOLD, once the file HOLD exists: 60 s at most)
  client PORT SEED N LMAX OUT
                           connects to a server that answers each line with
                           the same line; N times sends a random line (as
                           gen makes them) in random pieces and reads the
                           answer; writes "ok N" to OUT, or "mismatch I"
  bye PORT HOW OUT         listens, takes one client, reads one line, writes
                           "got" to OUT, sends "bye" and a newline, then
                           ends the connection: HOW fin (close) or rst
                           (SO_LINGER 0: a reset)

Every socket operation has a timeout; every peer ends within 120 s.
"""
import os
import random
import socket
import struct
import sys
import time

TIMEOUT = 120


def rand_line(rng, lmax):
    n = rng.randint(1, lmax)
    return rng.randbytes(n).replace(b"\n", b"x").replace(b"\0", b"y")


def listen_one(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1)
    ls.settimeout(TIMEOUT)
    c, _ = ls.accept()
    ls.close()
    c.settimeout(TIMEOUT)
    return c


def send_pieces(s, rng, data):
    i = 0
    while i < len(data):
        k = rng.randint(1, 8192)
        s.sendall(data[i : i + k])
        i += k
        if rng.random() < 0.2:
            time.sleep(rng.random() * 0.002)


def cmd_gen(seed, n, lmax):
    rng = random.Random(int(seed))
    out = sys.stdout.buffer
    for _ in range(int(n)):
        out.write(rand_line(rng, int(lmax)) + b"\n")
    out.flush()


def cmd_echo(port, seed, out):
    rng = random.Random(int(seed))
    c = listen_one(int(port))
    while True:
        b = c.recv(65536)
        if not b:
            break
        send_pieces(c, rng, b)
    with open(out, "w") as f:
        f.write("eof\n")
    c.close()


def wait_file(path):
    end = time.monotonic() + 60
    while not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.01)


def cmd_lines(port, n, seed, go, hold=None):
    rng = random.Random(int(seed))
    c = listen_one(int(port))
    wait_file(go)
    data = b"".join(b"%d\n" % i for i in range(1, int(n) + 1))
    send_pieces(c, rng, data)
    if hold is not None:
        wait_file(hold)
    c.close()


def cmd_client(port, seed, n, lmax, out):
    rng = random.Random(int(seed))
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
    buf = b""
    for i in range(int(n)):
        line = rand_line(rng, int(lmax)) + b"\n"
        send_pieces(s, rng, line)
        while b"\n" not in buf:
            b = s.recv(65536)
            if not b:
                break
            buf += b
        got, _, buf = buf.partition(b"\n")
        if got + b"\n" != line:
            with open(out, "w") as f:
                f.write("mismatch %d\n" % i)
            return 1
    with open(out, "w") as f:
        f.write("ok %s\n" % n)
    s.close()
    return 0


def cmd_bye(port, how, out):
    c = listen_one(int(port))
    buf = b""
    while b"\n" not in buf:
        b = c.recv(4096)
        if not b:
            break
        buf += b
    with open(out, "w") as f:
        f.write("got\n")
    c.sendall(b"bye\n")
    if how == "rst":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {
        "gen": cmd_gen,
        "echo": cmd_echo,
        "lines": cmd_lines,
        "client": cmd_client,
        "bye": cmd_bye,
    }[cmd]
    sys.exit(fn(*args) or 0)


if __name__ == "__main__":
    main()
