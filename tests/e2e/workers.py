#!/usr/bin/python3
"""workers.py - messages waiting for DNS do not hold up each other

usage: workers.py MILTER-PORT DNS-PORT N

Binds a DNS "server" on 127.0.0.1:DNS-PORT (UDP and TCP) that takes
queries and never answers, then sends N messages at once over N milter
connections, each from its own envelope domain (no cached answer helps),
so each waits for its SPF lookup to time out (the daemon's
ResolverTimeout). Prints how long all of them took and how each was
tagged; exit status 0 when every one was accepted with spf=temperror.
The caller compares the time with N times the timeout.
"""
import socket
import struct
import sys
import threading
import time

PORT, DNS_PORT, N = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
NR = {"C": 0x1000, "H": 0x2000, "M": 0x4000, "R": 0x8000, "L": 0x80,
      "N": 0x40000, "B": 0x80000}

# the silent DNS: queries are received by the kernel and left there
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", DNS_PORT))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", DNS_PORT))
tcp.listen(64)


def recv(s, n):
    d = b""
    while len(d) < n:
        c = s.recv(n - len(d))
        if not c:
            raise EOFError
        d += c
    return d


def frame(s):
    return recv(s, struct.unpack(">I", recv(s, 4))[0])


def step(s, steps, cmd, data=b""):
    s.sendall(struct.pack(">I", len(data) + 1) + cmd.encode() + data)
    if not (cmd in NR and steps & NR[cmd]):
        frame(s)


def message(i, out):
    dom = "wait%d.example.net" % i
    try:
        s = socket.create_connection(("127.0.0.1", PORT), timeout=60)
        s.sendall(struct.pack(">I", 13) + b"O" +
                  struct.pack(">III", 6, 0x1FF, 0x1FFFFF))
        steps = struct.unpack(">III", frame(s)[1:13])[2]
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
            d = frame(s)
            if chr(d[0]) in "him":
                name, value = d[5:].split(b"\0")[:2]
                if name == b"Authentication-Results":
                    ar = value.decode()
            else:
                out[i] = (chr(d[0]), ar)
                s.close()
                return
    except (OSError, EOFError) as e:
        out[i] = ("error %s" % e, "")


out = {}
t0 = time.time()
threads = [threading.Thread(target=message, args=(i, out)) for i in range(N)]
for t in threads:
    t.start()
for t in threads:
    t.join(120)
took = time.time() - t0
ok = sum(1 for r, ar in out.values() if r == "a" and "spf=temperror" in ar)
print("%d messages at once, each waiting for DNS: %.1f s, %d tagged "
      "spf=temperror" % (N, took, ok))
for i in sorted(out):
    if not (out[i][0] == "a" and "spf=temperror" in out[i][1]):
        print("message %d: %s %s" % (i, out[i][0], out[i][1][:80]))
print("TOOK %.1f" % took)
sys.exit(0 if ok == N else 1)
