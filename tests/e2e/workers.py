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
import sys
import threading
import time

from milterclient import message

PORT, DNS_PORT, N = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

# the silent DNS: queries are received by the kernel and left there
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", DNS_PORT))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", DNS_PORT))
tcp.listen(64)


def one(i, out):
    out[i] = message(PORT, "wait%d.example.net" % i, 60)


out = {}
t0 = time.time()
threads = [threading.Thread(target=one, args=(i, out)) for i in range(N)]
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
