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
import sys
import time

from milterclient import connect, message

PORT, HOLD = int(sys.argv[1]), int(sys.argv[2])


held = []
for i in range(HOLD):  # until the daemon cannot take one more
    try:
        held.append(connect(PORT, 2)[0])
    except (OSError, EOFError):
        break
# one slot back: the next connection is accepted, but the first DNS
# query of the daemon's life finds no descriptor for its socket
if held:
    held.pop().close()
time.sleep(0.5)
print("holding %d connections" % len(held))
r, ar = message(PORT, "full.example.net", 10)
print("table full: reply %s, %s" % (
    r, "tagged spf=temperror" if "spf=temperror" in ar else ar[:60]))
for s in held:
    s.close()
time.sleep(1)
r, ar = message(PORT, "after.example.net", 20)
ok = r == "a" and "spf=temperror" in ar
print("after: reply %s, %s" % (r, "tagged spf=temperror" if ok else ar[:60]))
sys.exit(0 if ok else 1)
