#!/usr/bin/python3
"""fdlimit.py - the daemon with its descriptor table full

usage: fdlimit.py PORT MAX

Opens milter connections (at most MAX) and keeps them until the daemon
cannot take another (each costs it a descriptor), gives one back, sends
a message whose envelope domain needs a DNS query (no socket can be had
for it: the daemon's first query meets a full table), then closes the
held connections and sends one more. Prints one line per
message: the reply and whether our A-R says spf=temperror, or "no
reply" when the daemon could not take the connection (the MTA then
applies milter_default_action). Exit status 0 when the last message was
tagged; the caller checks the daemon is still alive.
"""
import socket
import struct
import sys
import time

PORT, HOLD = int(sys.argv[1]), int(sys.argv[2])
NR = {"C": 0x1000, "H": 0x2000, "M": 0x4000, "R": 0x8000, "L": 0x80,
      "N": 0x40000, "B": 0x80000}


def recv(s, n):
    d = b""
    while len(d) < n:
        c = s.recv(n - len(d))
        if not c:
            raise EOFError
        d += c
    return d


def conn(timeout):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    s.sendall(struct.pack(">I", 13) + b"O" +
              struct.pack(">III", 6, 0x1FF, 0x1FFFFF))
    d = recv(s, struct.unpack(">I", recv(s, 4))[0])
    return s, struct.unpack(">III", d[1:13])[2]


def step(s, steps, cmd, data=b""):
    s.sendall(struct.pack(">I", len(data) + 1) + cmd.encode() + data)
    if cmd in NR and steps & NR[cmd]:
        return
    recv(s, struct.unpack(">I", recv(s, 4))[0])


def message(dom, timeout):
    try:
        s, steps = conn(timeout)
        step(s, steps, "C", b"x\x004" + struct.pack(">H", 25) +
             b"203.0.113.9\x00")
        step(s, steps, "M", ("<a@%s>\x00" % dom).encode())
        step(s, steps, "R", b"<b@example.org>\x00")
        step(s, steps, "L", ("From\x00 <a@%s>\x00" % dom).encode())
        step(s, steps, "N")
        step(s, steps, "B", b"hi\r\n")
        s.sendall(struct.pack(">I", 1) + b"E")
        ar = ""
        while True:
            d = recv(s, struct.unpack(">I", recv(s, 4))[0])
            if chr(d[0]) in "him":
                name, value = d[5:].split(b"\0")[:2]
                if name == b"Authentication-Results":
                    ar = value.decode()
            else:
                s.close()
                return chr(d[0]), ar
    except (OSError, EOFError):
        return "no reply", ""


held = []
for i in range(HOLD):  # until the daemon cannot take one more
    try:
        held.append(conn(2)[0])
    except (OSError, EOFError):
        break
# one slot back: the next connection is accepted, but the first DNS
# query of the daemon's life finds no descriptor for its socket
if held:
    held.pop().close()
time.sleep(0.5)
print("holding %d connections" % len(held))
r, ar = message("full.example.net", 10)
print("table full: reply %s, %s" % (
    r, "tagged spf=temperror" if "spf=temperror" in ar else ar[:60]))
for s in held:
    s.close()
time.sleep(1)
r, ar = message("after.example.net", 20)
ok = r == "a" and "spf=temperror" in ar
print("after: reply %s, %s" % (r, "tagged spf=temperror" if ok else ar[:60]))
sys.exit(0 if ok else 1)
