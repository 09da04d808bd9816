#!/usr/bin/python3
"""streamgen.py: seeded stream generator, sink and checkers for the
"nothing lost, nothing stuck" tests (integrity.bats, stress.bats).
Standard library only; run it with /usr/bin/python3.

  send PORT SEED SIZE KIND [REPORT]
      connects to 127.0.0.1:PORT and sends SIZE bytes of seeded content in
      random chunks (1 B to 300 KB, with random pauses of at most 20 ms,
      5 s in all), then closes. KIND: binary (random bytes, NUL and
      newlines included), text (printable lines of 0-200 bytes), nonl
      (printable, no newline at all), long (lines of 100 KB to 2 MB).
      Prints "SHA256 LENGTH" of what it sent (to REPORT when given,
      written once everything was sent).

  lines PORT SEED NAME COUNT [--long BYTES [--long-at SEQ] [--pause SECS]]
        [--stall BYTES --hold FLAG] [--report FILE]
      one client of a shared binding: sends COUNT tagged lines
      "NAME SEQ CRC PAYLOAD\\n" (CRC: crc32 of "NAME SEQ PAYLOAD", 8 hex
      digits), payloads random printable of 0-300 bytes, in random chunks
      that cut lines. --long: line SEQ's (default 0) payload is BYTES
      long; --pause: half of that line goes at once, the rest after
      SECS. --stall: the client instead sends one line of BYTES payload bytes WITHOUT its
      newline, then holds the connection, silent, until file FLAG exists
      (60 s at most) and closes. The report (NAME COUNT) is written once
      everything was sent (for --stall: once the partial line was sent).

  check FILE REPORT...
      FILE must hold the lines of every REPORT's client, each whole and
      intact (crc), each client's in order, none missing, none extra, and
      nothing else. A --stall client's line counts as whole when it is
      ended by a newline it did not send.

  sink PORT OUT [--rcvbuf BYTES] [--slow] [--die-after BYTES] [--halfclose]
       [--ready FLAG]
      listens on 127.0.0.1:PORT (SO_REUSEADDR), touches FLAG once it
      listens, accepts one connection and writes what arrives to OUT
      (unbuffered) until the end of the stream. --slow: reads at most
      4 KiB every 5 ms. --halfclose: shutdown(SHUT_WR) right after the
      accept, then reads everything. --die-after: once BYTES have arrived
      it stops reading; once the sender is held back by the closed window
      (its send queue, from /proc/net/tcp, at least 64 KiB and our
      receive queue stable), it records what the kernel has already
      acknowledged but we have not read (MSG_PEEK), and kills itself
      with SIGKILL: OUT then holds at least what the peer's kernel got
      acknowledged, and everything not acknowledged is lost with the
      connection (reset). Before dying it writes "ACKED RECORDED" to
      OUT.acked: the peer's bytes_acked (ss -ti) and the size of OUT; the
      test means something only when ACKED <= RECORDED (more is recorded
      when an ACK had not gone out yet: those bytes come again).

  numbered COUNT FILE[:cut]...
      checks output-test files: each whole line must be "line N CK"
      (N in 1..COUNT, CK = N * 2654435761 % 4294967291); every N in
      1..COUNT appears in some file at least once. A file marked :cut may
      end with a piece of a line (what a killed peer got); no other
      broken, joined or extra line is allowed. Prints a summary.
"""
import argparse
import hashlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import zlib

TIMEOUT = 60
PRINTABLE = bytes(range(0x21, 0x7F))


def say(text, report=None):
    if report:
        tmp = report + ".tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.rename(tmp, report)
    else:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def connect(port):
    return socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)


TO_PRINTABLE = bytes(PRINTABLE[b % len(PRINTABLE)] for b in range(256))


def printable(rnd, n):
    return rnd.randbytes(n).translate(TO_PRINTABLE)


def content(rnd, size, kind):
    """Yields the stream in pieces (not the chunks it is sent in)."""
    left = size
    while left > 0:
        if kind == "binary":
            piece = rnd.randbytes(min(left, 65536))
        elif kind == "nonl":
            piece = printable(rnd, min(left, 65536))
        elif kind == "text":
            n = rnd.randint(0, 200)
            piece = (printable(rnd, n) + b"\n")[:left]
        elif kind == "long":
            n = rnd.randint(100 << 10, 2 << 20)
            piece = (printable(rnd, n) + b"\n")[:left]
        else:
            raise SystemExit("unknown kind %r" % kind)
        left -= len(piece)
        yield piece


class Pacer:
    """Random chunk sizes (1 B to 300 KB, most small) and small pauses,
    at most 5 s of pauses in all."""

    def __init__(self, rnd):
        self.rnd = rnd
        self.paused = 0.0

    def chunk(self):
        r = self.rnd.random()
        if r < 0.3:
            return self.rnd.randint(1, 64)
        if r < 0.7:
            return self.rnd.randint(1, 8192)
        if r < 0.9:
            return self.rnd.randint(1, 65536)
        return self.rnd.randint(1, 300000)

    def pause(self):
        if self.rnd.random() < 0.05 and self.paused < 5.0:
            d = self.rnd.random() * 0.02
            self.paused += d
            time.sleep(d)


def send_all(s, data, pacer):
    off = 0
    while off < len(data):
        n = pacer.chunk()
        s.sendall(data[off:off + n])
        off += n
        pacer.pause()


def cmd_send(a):
    rnd = random.Random(a.seed)
    pacer = Pacer(random.Random(a.seed + 1))
    h = hashlib.sha256()
    total = 0
    s = connect(a.port)
    buf = b""
    for piece in content(rnd, a.size, a.kind):
        h.update(piece)
        total += len(piece)
        buf += piece
        if len(buf) >= 600000:
            send_all(s, buf, pacer)
            buf = b""
    send_all(s, buf, pacer)
    s.close()
    say("%s %d" % (h.hexdigest(), total), a.report)


def tagged(name, seq, payload):
    body = b"%s %d %s" % (name.encode(), seq, payload)
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return b"%s %d %08x %s" % (name.encode(), seq, crc, payload)


def cmd_lines(a):
    rnd = random.Random("%s/%s" % (a.seed, a.name))
    pacer = Pacer(random.Random("%s/%s/pace" % (a.seed, a.name)))
    s = connect(a.port)
    if a.stall:
        partial = tagged(a.name, 0, printable(rnd, a.stall))
        s.sendall(partial)
        say("%s 1 %d" % (a.name, len(partial) + 1), a.report)
        end = time.monotonic() + 60
        while not os.path.exists(a.hold) and time.monotonic() < end:
            time.sleep(0.02)
        s.close()
        return
    out = []
    size = total = 0
    for seq in range(a.count):
        n = a.long if (seq == a.long_at and a.long) else rnd.randint(0, 300)
        line = tagged(a.name, seq, printable(rnd, n)) + b"\n"
        if a.pause and n == a.long and seq == a.long_at:
            # Half the long line, a pause, then the rest.
            send_all(s, b"".join(out), pacer)
            out, size = [], 0
            s.sendall(line[:len(line) // 2])
            time.sleep(a.pause)
            line = line[len(line) // 2:]
        out.append(line)
        size += len(line)
        total += len(line)
        if size >= 600000:
            send_all(s, b"".join(out), pacer)
            out, size = [], 0
    send_all(s, b"".join(out), pacer)
    s.close()
    say("%s %d %d" % (a.name, a.count, total), a.report)


LINE = re.compile(rb"([A-Za-z0-9_]+) (\d+) ([0-9a-f]{8}) ([\x21-\x7e]*)")


def cmd_check(a):
    want = {}
    for rep in a.reports:
        with open(rep) as f:
            name, count, _ = f.read().split()
        want[name] = int(count)
    got = dict.fromkeys(want, 0)
    bad = 0
    lines = 0
    with open(a.file, "rb") as f:
        for raw in f:
            lines += 1
            m = LINE.fullmatch(raw.rstrip(b"\n"))
            ok = raw.endswith(b"\n") and m is not None
            if ok:
                name, seq = m.group(1).decode(), int(m.group(2))
                body = b"%s %d %s" % (m.group(1), seq, m.group(4))
                ok = ("%08x" % (zlib.crc32(body) & 0xFFFFFFFF)).encode() == \
                    m.group(3) and name in got and seq == got[name]
            if not ok:
                bad += 1
                if bad <= 5:
                    print("line %d: broken, mixed or out of turn "
                          "(%d bytes): %r...%r" %
                          (lines, len(raw), raw[:80], raw[-40:]))
                continue
            got[name] += 1
    short = ["%s %d/%d" % (n, got[n], want[n]) for n in want
             if got[n] != want[n]]
    print("%d lines, %d bad; clients short: %s" % (lines, bad, short or "none"))
    sys.exit(1 if bad or short else 0)


def tx_queue_of(local, peer):
    """The send queue of the socket local -> peer (/proc/net/tcp{,6})."""
    def hexaddr(addr, v6):
        ip, port = addr[0], addr[1]
        if v6:
            raw = socket.inet_pton(socket.AF_INET6, ip)
            h = "".join("%08X" % int.from_bytes(raw[k:k + 4], "little")
                        for k in range(0, 16, 4))
        else:
            h = "%08X" % int.from_bytes(socket.inet_aton(ip), "little")
        return "%s:%04X" % (h, port)
    for path, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            rows = open(path).read().splitlines()[1:]
        except OSError:
            continue
        want = (hexaddr(local, v6), hexaddr(peer, v6))
        for row in rows:
            f = row.split()
            if (f[1], f[2]) == want:
                return int(f[4].split(":")[0], 16)
    return -1


def cmd_sink(a):
    import fcntl
    import termios
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.rcvbuf:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    ls.bind(("127.0.0.1", int(a.port)))
    ls.listen(1)
    if a.ready:
        open(a.ready, "w").close()
    ls.settimeout(TIMEOUT)
    c, peer = ls.accept()
    ls.close()
    c.settimeout(TIMEOUT)
    if a.halfclose:
        c.shutdown(socket.SHUT_WR)
    fd = os.open(a.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    got = 0
    while a.die_after is None or got < a.die_after:
        want = 65536
        if a.die_after is not None:
            want = min(want, a.die_after - got)
        if a.slow:
            want = min(want, 4096)
            time.sleep(0.005)
        b = c.recv(want)
        if not b:
            os.close(fd)
            return
        os.write(fd, b)
        got += len(b)
    # Stop reading; wait until the peer is held back by our full window.
    local = c.getsockname()
    end = time.monotonic() + 30
    last = -1
    while time.monotonic() < end:
        q = fcntl.ioctl(c.fileno(), termios.FIONREAD, b"\0\0\0\0")
        q = int.from_bytes(q, sys.byteorder)
        if q == last and tx_queue_of(peer, local) >= 65536:
            break
        last = q
        time.sleep(0.02)
    else:
        sys.stderr.write("sink: the peer was never held back\n")
    q = fcntl.ioctl(c.fileno(), termios.FIONREAD, b"\0\0\0\0")
    q = int.from_bytes(q, sys.byteorder)
    if q > 0:
        got += os.write(fd, c.recv(q, socket.MSG_PEEK))
    os.close(fd)
    # What the peer's kernel counts as acknowledged (ss: bytes_acked,
    # the SYN included), beside what OUT holds: the test compares them.
    ss = subprocess.run(["ss", "-tinH", "src", "%s:%d" % peer[:2],
                         "dst", "%s:%d" % local[:2]],
                        capture_output=True, text=True, timeout=10).stdout
    m = re.search(r"bytes_acked:(\d+)", ss)
    say("%d %d" % (int(m.group(1)) - 1 if m else -1, got), a.out + ".acked")
    os.kill(os.getpid(), signal.SIGKILL)


def numbered_ck(n):
    return n * 2654435761 % 4294967291


def cmd_numbered(a):
    seen = bytearray(a.count + 1)
    bad = 0
    dup = 0
    pat = re.compile(rb"line (\d+) (\d+)")
    for spec in a.files:
        path, _, flag = spec.partition(":")
        with open(path, "rb") as f:
            data = f.read()
        parts = data.split(b"\n")
        tail = parts.pop()  # after the last newline: a piece, or empty
        if tail and flag != "cut":
            parts.append(tail)  # a piece where none may be: counted bad
        for k, raw in enumerate(parts):
            m = pat.fullmatch(raw)
            if m is None or not 1 <= int(m.group(1)) <= a.count or \
                    int(m.group(2)) != numbered_ck(int(m.group(1))):
                bad += 1
                if bad <= 5:
                    print("%s line %d: broken or joined: %r" %
                          (path, k + 1, raw[:120]))
                continue
            n = int(m.group(1))
            dup += seen[n]
            seen[n] = 1
    missing = [n for n in range(1, a.count + 1) if not seen[n]]
    print("%d bad, %d twice, %d missing%s" %
          (bad, dup, len(missing),
           (" (first: %s)" % missing[:10]) if missing else ""))
    sys.exit(1 if bad or missing else 0)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("port", type=int)
    s.add_argument("seed", type=int)
    s.add_argument("size", type=int)
    s.add_argument("kind", choices=["binary", "text", "nonl", "long"])
    s.add_argument("report", nargs="?")
    s.set_defaults(fn=cmd_send)
    s = sub.add_parser("lines")
    s.add_argument("port", type=int)
    s.add_argument("seed", type=int)
    s.add_argument("name")
    s.add_argument("count", type=int)
    s.add_argument("--long", type=int, default=0)
    s.add_argument("--long-at", type=int, default=0)
    s.add_argument("--pause", type=float, default=0.0)
    s.add_argument("--stall", type=int, default=0)
    s.add_argument("--hold")
    s.add_argument("--report")
    s.set_defaults(fn=cmd_lines)
    s = sub.add_parser("check")
    s.add_argument("file")
    s.add_argument("reports", nargs="+")
    s.set_defaults(fn=cmd_check)
    s = sub.add_parser("sink")
    s.add_argument("port", type=int)
    s.add_argument("out")
    s.add_argument("--rcvbuf", type=int, default=0)
    s.add_argument("--slow", action="store_true")
    s.add_argument("--die-after", type=int)
    s.add_argument("--halfclose", action="store_true")
    s.add_argument("--ready")
    s.set_defaults(fn=cmd_sink)
    s = sub.add_parser("numbered")
    s.add_argument("count", type=int)
    s.add_argument("files", nargs="+")
    s.set_defaults(fn=cmd_numbered)
    a = p.parse_args()
    if a.cmd == "lines" and a.stall and not a.hold:
        p.error("--stall needs --hold FLAG")
    a.fn(a)


if __name__ == "__main__":
    main()
