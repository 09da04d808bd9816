#!/usr/bin/env python3
"""poolpeer.py: peers for the pool's data-connection tests (tests/pool.bats).

  relay LPORT PORT CHAL GATE
        a delaying relay for one master's control connection: listens on
        127.0.0.1:LPORT, prints "listening", accepts one connection and
        relays it to 127.0.0.1:PORT (the pool); writes the pool's challenge
        (hex) to file CHAL as it passes, and holds back the pool's answers
        from the first PORT answer on until file GATE exists (30 s at most):
        the latency that lets a third party reach an announced port first.
  mac KEY CHAL SEQ NAME
        prints the MAC of a data connection's proof (lib/pool.h): hex of
        HMAC-SHA256(KEY, "bashsock/1 attach CHAL SEQ NAME").
  attack PORT LINE...
        connects to 127.0.0.1:PORT, sends each LINE (escapes \\n \\xHH
        decoded) followed by a newline, then waits for the server to close
        the connection: prints "dropped" when it did (end of file or reset),
        "kept" when it was still open after 10 s ("refused" when nothing
        listens there).
  master KEY PORT NAME... -- ACTION...
        a master of its own: authenticates to the pool at 127.0.0.1:PORT
        with KEY, asks for each NAME, prints "NAME PORT" for each answer and
        "chal CHAL"; then runs each ACTION, in order:
          send TO SEQ NAME DATA  connects to TO's port, sends the proof of
                               request SEQ for NAME then DATA (escapes
                               decoded) in the same segment, and closes
          proof TO SEQ NAME    connects to TO's port, sends the proof of
                               request SEQ for NAME, waits as attack does,
                               prints the result
        then sends END and expects BYE.

Every socket operation has a timeout.
"""
import codecs
import hashlib
import hmac
import os
import select
import socket
import sys
import time

TIMEOUT = 30


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def unescape(text):
    return codecs.escape_decode(text.encode())[0]


def connect(port):
    return socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)


def mac(key, chal, seq, name):
    msg = "bashsock/1 attach %s %d %s" % (chal, int(seq), name)
    return hmac.new(key.encode(), msg.encode(), hashlib.sha256).hexdigest()


def wait_closed(s, secs=10):
    """'dropped' once the peer closes s, 'kept' after secs."""
    s.settimeout(secs)
    end = time.monotonic() + secs
    try:
        while time.monotonic() < end:
            if s.recv(4096) == b"":
                return "dropped"
    except ConnectionResetError:
        return "dropped"
    except socket.timeout:
        pass
    return "kept"


def readline(s):
    buf = b""
    while not buf.endswith(b"\n"):
        b = s.recv(1)
        if b == b"":
            raise EOFError("connection closed")
        buf += b
        if len(buf) > 512:
            raise ValueError("line too long")
    return buf[:-1].decode()


def cmd_relay(lport, port, chalfile, gate):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(lport)))
    ls.listen(1)
    ls.settimeout(TIMEOUT)
    say("listening")
    m, _ = ls.accept()
    ls.close()
    p = connect(port)
    held = False
    end = time.monotonic() + 60
    while time.monotonic() < end:
        r, _, _ = select.select([m, p], [], [], 0.05)
        if m in r:
            d = m.recv(65536)
            if not d:
                break
            p.sendall(d)
        if p in r:
            d = p.recv(65536)
            if not d:
                break
            if b"CHALLENGE" in d:
                chal = d.split(b"\n")[0].split()[-1].decode()
                with open(chalfile + ".tmp", "w") as f:
                    f.write(chal + "\n")
                os.rename(chalfile + ".tmp", chalfile)
            if b"PORT" in d and not held:
                held = True
                gate_end = time.monotonic() + 30
                while not os.path.exists(gate) and time.monotonic() < gate_end:
                    time.sleep(0.02)
            m.sendall(d)
    m.close()
    p.close()


def cmd_attack(port, *lines):
    try:
        s = connect(port)
    except ConnectionRefusedError:
        say("refused")
        return
    s.sendall(b"".join(unescape(x) + b"\n" for x in lines))
    say(wait_closed(s))
    s.close()


def cmd_master(key, port, *rest):
    sep = rest.index("--")
    names, actions = rest[:sep], rest[sep + 1:]
    c = connect(port)
    ch = readline(c).split()
    assert ch[:3] == ["BASHSOCK/1", "CHALLENGE", "pool"], ch
    chal = ch[3]
    nonce = os.urandom(32).hex()
    proof = hmac.new(key.encode(),
                     ("bashsock/1 client pool %s %s" % (chal, nonce)).encode(),
                     hashlib.sha256).hexdigest()
    c.sendall(("BASHSOCK/1 PROOF %s %s\n" % (proof, nonce)).encode())
    ok = readline(c).split()
    assert ok[:2] == ["BASHSOCK/1", "OK"], ok
    say("chal " + chal)
    ports = {}
    for n in names:
        c.sendall(("POOL/1 DAEMON %s\n" % n).encode())
    for n in names:
        a = readline(c).split()
        assert a[:2] == ["POOL/1", "PORT"], a
        ports[n] = int(a[2])
        say("%s %s" % (n, a[2]))
    i = 0
    while i < len(actions):
        kind = actions[i]
        if kind == "send":
            to, seq, name, data = actions[i + 1:i + 5]
            i += 5
            s = connect(ports[to])
            line = "BASHSOCK/1 ATTACH %s\n" % mac(key, chal, seq, name)
            s.sendall(line.encode() + unescape(data))
            s.close()
        elif kind == "proof":
            to, seq, name = actions[i + 1:i + 4]
            i += 4
            s = connect(ports[to])
            line = "BASHSOCK/1 ATTACH %s\n" % mac(key, chal, seq, name)
            s.sendall(line.encode())
            say(wait_closed(s))
            s.close()
        else:
            raise ValueError("unknown action " + kind)
    c.sendall(b"POOL/1 END\n")
    assert readline(c) == "POOL/1 BYE"
    c.close()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "mac":
        say(mac(*args))
        return
    {"relay": cmd_relay, "attack": cmd_attack, "master": cmd_master}[cmd](*args)


if __name__ == "__main__":
    main()
