#!/usr/bin/env python3
"""tcppeer.py: third-party TCP peers for the bashsock receive-path tests.

  send PORT [HOST]         sends stdin byte-exact, closes, exits 0
  hold PORT DATA [HOST]    connects, sends DATA (\\n, \\0, \\xHH escapes),
                           prints "connected"; then sends each line of its
                           stdin (escapes decoded, the newline not sent) and
                           prints "sent"; prints "EOF" and exits 0 when the
                           server closes the connection; exits when killed
                           (that is the disconnect)
  split PORT CLIENTS LINES CLIENTS concurrent clients, each sending LINES
                           lines in two pieces with a pause between (every
                           client holds a partial line at the same moment);
                           prints "done" when every client has finished
  expect CLIENTS LINES     prints the lines `split` sends, one a line
  listen PORT              holds a listener on [::]:PORT (dual stack),
                           prints "listening", waits until killed
  try PORT [HOST]          one connection attempt: prints "refused" or
                           "connected" (and closes)
  late PORT OUT FLAG       a slow sink: listens on 127.0.0.1:PORT with a
                           4 KiB receive buffer, accepts one connection,
                           reads nothing until file FLAG exists (60 s at
                           most), then writes all it receives to OUT until
                           the end of the stream
  crowd PORT N             opens N connections to 127.0.0.1:PORT (all at
                           once: the server's listen backlog completes
                           them whether it accepts or not), prints
                           "connected N", sends nothing and holds them
                           until killed (600 s at most)

HOST defaults to 127.0.0.1. Every socket operation has a timeout.
"""
import codecs
import os
import select
import socket
import sys
import threading
import time

TIMEOUT = 30


def connect(port, host="127.0.0.1"):
    return socket.create_connection((host, int(port)), timeout=TIMEOUT)


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def cmd_send(port, host="127.0.0.1"):
    data = sys.stdin.buffer.read()
    s = connect(port, host)
    s.sendall(data)
    s.close()


def unescape(text):
    return codecs.escape_decode(text.encode())[0]


def cmd_hold(port, data, host="127.0.0.1"):
    s = connect(port, host)
    s.sendall(unescape(data))
    say("connected")
    s.settimeout(None)
    watch = [s, 0]
    pending = b""
    while True:
        ready, _, _ = select.select(watch, [], [])
        if s in ready and not s.recv(65536):
            say("EOF")
            return
        if 0 in ready:
            chunk = os.read(0, 65536)
            if not chunk:
                watch.remove(0)
                continue
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                s.sendall(unescape(line.decode()))
                say("sent")


def split_line(k, i):
    return "client=%02d line=%03d %s|end\n" % (k, i, "x" * ((k * 7 + i) % 53))


def cmd_split(port, clients, lines):
    clients, lines = int(clients), int(lines)
    barrier = threading.Barrier(clients, timeout=TIMEOUT)
    errors = []

    def client(k):
        try:
            s = connect(port)
            barrier.wait()
            for i in range(lines):
                line = split_line(k, i).encode()
                cut = len(line) // 2
                s.sendall(line[:cut])
                barrier.wait()  # every client has a partial line out
                time.sleep(0.02)
                s.sendall(line[cut:])
            s.close()
        except Exception as e:  # noqa: BLE001
            errors.append("client %d: %r" % (k, e))
            barrier.abort()

    threads = [threading.Thread(target=client, args=(k,))
               for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
        sys.exit(1)
    say("done")


def cmd_expect(clients, lines):
    for k in range(int(clients)):
        for i in range(int(lines)):
            sys.stdout.write(split_line(k, i))


def cmd_listen(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", int(port)))
    s.listen(8)
    say("listening")
    while True:
        time.sleep(3600)


def cmd_try(port, host="127.0.0.1"):
    try:
        s = connect(port, host)
    except ConnectionRefusedError:
        say("refused")
        return
    say("connected")
    s.close()


def cmd_late(port, out, flag):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("127.0.0.1", int(port)))
    s.listen(1)
    c, _ = s.accept()
    end = time.time() + 60
    while not os.path.exists(flag) and time.time() < end:
        time.sleep(0.01)
    with open(out, "wb") as f:
        while True:
            b = c.recv(65536)
            if not b:
                break
            f.write(b)


def cmd_crowd(port, n):
    conns = [connect(port) for _ in range(int(n))]
    say("connected %d" % len(conns))
    time.sleep(600)


def main():
    cmds = {"send": cmd_send, "hold": cmd_hold, "split": cmd_split,
            "expect": cmd_expect, "listen": cmd_listen, "try": cmd_try,
            "late": cmd_late, "crowd": cmd_crowd}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.stderr.write(__doc__)
        sys.exit(2)
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
