#!/usr/bin/python3
"""sweep_milter.py - the authtag daemon under allocation failure

usage: sweep_milter.py PORT AUTHSERV-ID NFILE REPORT [STEP]

The daemon runs with tests/failalloc/failalloc.so preloaded
(FAILALLOC_ARM=accept, FAILALLOC_NFILE=NFILE): each accepted connection
counts its own allocations from 0 and fails the N-th, N read from NFILE.
This client measures how many allocations one message takes, then sends
the same forgery once for each N = 1, 1+STEP, ... (an A-R claiming our
authserv-id with dmarc=pass, a foreign A-R, an X-Spam-Status), speaking
the milter protocol as Postfix 3.7 does, and sorts what came back:
  tagged    the edits and reply of the run without failures (or with
            every A-R deleted, when which were forged could not be
            remembered; or with a check the resolver failed reported as
            temperror);
  untagged  the forged A-R and X-Spam-Status deleted, nothing of ours
            added, accepted;
  tempfail  a 4xx reply: the MTA keeps the message and the client
            retries;
  dropped   the connection closed without a reply: the daemon could not
            go on (the MTA then applies milter_default_action);
  wrong     anything else, e.g. accepted with the forged claim left in,
            or a partial tag; the daemon dying is wrong too.
Prints "ok - ..." / "FAIL - ..." lines; exit status 1 on any wrong.
"""
import socket
import struct
import sys
import time

PORT, AUTHSERV, NFILE, REPORT = sys.argv[1], sys.argv[2], sys.argv[3], \
    sys.argv[4]
STEP = int(sys.argv[5]) if len(sys.argv) > 5 else 1
NR = {"C": 0x1000, "H": 0x2000, "M": 0x4000, "R": 0x8000,
      "L": 0x80, "N": 0x40000, "B": 0x80000}
HEADERS = [
    ("Authentication-Results", " %s; dmarc=pass header.from=example.com"
     % AUTHSERV),
    ("Authentication-Results", " other.example; spf=pass smtp.mailfrom=x"),
    ("X-Spam-Status", " No, score=-5.0"),
    ("From", " Alice <alice@example.com>"),
    ("To", " bob@example.org"),
    ("Subject", " forged"),
    ("Message-ID", " <forged@example.com>"),
]


class Conn:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", int(PORT)),
                                          timeout=30)
        self.send("O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF))
        cmd, data = self.read()
        _, self.actions, self.steps = struct.unpack(">III", data[:12])

    def send(self, cmd, data=b""):
        self.s.sendall(struct.pack(">I", len(data) + 1) + cmd.encode() +
                       data)

    def recvn(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def read(self):
        n = struct.unpack(">I", self.recvn(4))[0]
        data = self.recvn(n)
        return chr(data[0]), data[1:]

    def step(self, cmd, data=b""):
        self.send(cmd, data)
        if cmd in NR and self.steps & NR[cmd]:
            return None
        return self.read()[0]


def one_message():
    """(final reply, edits), or ("dropped", edits)"""
    edits = []
    try:
        c = Conn()
        c.step("C", b"evil.example\0" + b"4" + struct.pack(">H", 25000) +
               b"203.0.113.9\0")
        c.step("H", b"evil.example\0")
        c.step("M", b"<alice@example.com>\0")
        c.step("R", b"<bob@example.org>\0")
        for name, value in HEADERS:
            c.step("L", name.encode() + b"\0" + value.encode() + b"\0")
        c.step("N")
        c.step("B", b"Hello.\r\n")
        c.send("E")
        while True:
            cmd, data = c.read()
            if cmd in "him":
                index = struct.unpack(">I", data[:4])[0]
                name, value = data[4:].split(b"\0")[:2]
                edits.append((cmd, index, name.decode(), value.decode()))
            elif cmd == "q":
                edits.append(("q", 0, "", data.decode(errors="replace")))
            else:
                final = cmd
                if cmd == "y":
                    final = "y" + data[:1].decode()
                break
        try:
            c.send("Q")
        except OSError:
            pass
        c.s.close()
        return final, edits
    except (EOFError, OSError):
        return "dropped", edits


def set_n(n):
    with open(NFILE, "w") as f:
        f.write("%d\n" % n)


def count():
    with open(REPORT) as f:
        return int(f.read())


FAILED = 0


def check(cond, what):
    global FAILED
    print(("ok - " if cond else "FAIL - ") + what)
    if not cond:
        FAILED += 1


set_n(0)
ref_final, ref_edits = one_message()
time.sleep(0.2)
one_message()  # its accept reports the reference connection's count
total = count()
deleted = [e for e in ref_edits if e[0] == "m" and e[3] == ""]
mine = [e for e in ref_edits if e[0] in "hi"]
check(ref_final == "a" and
      ("m", 1, "Authentication-Results", "") in deleted and
      ("m", 1, "X-Spam-Status", "") in deleted and
      any(e[2] == "Authentication-Results" and
          e[3].startswith(" %s;" % AUTHSERV) and "dmarc=fail" in e[3]
          for e in mine),
      "reference message: accepted, dmarc=fail tag added, forged A-R and "
      "X-Spam-Status deleted (%d allocations for its connection)"
      % total)

counts = {"tagged": 0, "untagged": 0, "tempfail": 0, "dropped": 0}
wrong = 0
for n in range(1, total + 1, STEP):
    set_n(n)
    final, edits = one_message()
    forged_gone = ("m", 1, "Authentication-Results", "") in edits and \
        ("m", 1, "X-Spam-Status", "") in edits
    added = [e for e in edits if e[0] in "hi"]
    if final == ref_final and sorted(edits) == sorted(ref_edits):
        counts["tagged"] += 1
    elif final == ref_final and sorted(edits) == sorted(
            ref_edits + [("m", 2, "Authentication-Results", "")]):
        counts["tagged"] += 1  # every A-R deleted
    elif final == "a" and forged_gone and \
            any(e[2] == "X-Spam-Status" for e in added) and \
            "temperror" in "".join(e[3] for e in added
                                   if e[2] == "Authentication-Results"):
        counts["tagged"] += 1  # a check the resolver failed: temperror
    elif final == "a" and forged_gone and not added:
        counts["untagged"] += 1
    elif final in ("t", "y4"):
        counts["tempfail"] += 1
    elif final == "dropped" and not edits:
        counts["dropped"] += 1
    else:
        wrong += 1
        if wrong <= 5:
            print("# N=%d: reply %s, edits %r" % (n, final, edits))
set_n(0)
final, edits = one_message()
check(final == ref_final and sorted(edits) == sorted(ref_edits),
      "after the sweep the daemon tags as before")
check(wrong == 0,
      "%d messages (N = 1..%d step %d): %d tagged as without failures, "
      "%d untagged with the forgeries deleted, %d tempfailed, %d dropped "
      "by libmilter, %d wrong" % (len(range(1, total + 1, STEP)), total,
                                   STEP, counts["tagged"],
                                   counts["untagged"], counts["tempfail"],
                                   counts["dropped"], wrong))
sys.exit(1 if FAILED else 0)
