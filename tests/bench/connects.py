#!/usr/bin/python3
"""connects.py - N milter connections opened at once against one daemon

usage: connects.py PORT N SECONDS DAEMON_PID MESSAGE.eml

Starts N non-blocking TCP connects to 127.0.0.1:PORT in one burst (no
pause between them), then drives every connection through one event
loop (epoll): the milter negotiation (SMFIC_OPTNEG, version 6, all
actions, all protocol steps offered), then one message as Postfix sends
it (connect from 192.0.2.25, HELO, MAIL FROM:<alice@example.com>, RCPT,
each header of MESSAGE.eml, end of headers, the body, end of message),
honouring the SMFIP_NO* and SMFIP_NR_* steps the daemon agreed to. A
connection that got its end-of-message reply is held open until every
connection is done (so the daemon has all N sessions, and a thread for
each, at the same time), then all are sent SMFIC_QUIT and closed.

Everything is bounded by SECONDS: what is not done by then is counted
as timed out. While the loop runs, /proc/DAEMON_PID is sampled every
0.1 s (RSS, threads, open descriptors) for the peaks.

Prints "key value" lines (parsed by connects.sh). Exit status 0 when
every connection got its negotiation and end-of-message replies.
"""
import errno
import os
import selectors
import socket
import struct
import sys
import time

PORT, N, BUDGET, DPID = (int(sys.argv[1]), int(sys.argv[2]),
                         float(sys.argv[3]), int(sys.argv[4]))
EML = sys.argv[5]

# SMFIP_* protocol flags (libmilter/mfdef.h)
NOCONNECT, NOHELO, NOMAIL, NORCPT = 0x1, 0x2, 0x4, 0x8
NOBODY, NOHDRS, NOEOH = 0x10, 0x20, 0x40
LEADSPC = 0x100000
NR = {"C": 0x1000, "H": 0x2000, "M": 0x4000, "R": 0x8000, "L": 0x80,
      "N": 0x40000, "B": 0x80000}
SKIP_IF = {"C": NOCONNECT, "H": NOHELO, "M": NOMAIL, "R": NORCPT,
           "L": NOHDRS, "N": NOEOH, "B": NOBODY}
FINAL = set(b"acrtdy")  # accept continue reject tempfail discard replycode


def pkt(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd.encode() + data


def load_message(path):
    """(headers as [(name, value-after-colon)], body with CRLF)"""
    raw = open(path, "rb").read().replace(b"\r\n", b"\n")
    head, _, body = raw.partition(b"\n\n")
    hdrs = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and hdrs:
            hdrs[-1][1] += b"\n" + line  # folds joined with "\n" (Postfix)
        else:
            name, _, value = line.partition(b":")
            hdrs.append([name, value])
    return hdrs, body.replace(b"\n", b"\r\n")


HDRS, BODY = load_message(EML)
OPTNEG = pkt("O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF))


def steps_for(proto):
    """the message as (cmd, data, wants_reply) for the agreed steps"""
    seq = [("C", b"client.example.com\x004" + struct.pack(">H", 25) +
            b"192.0.2.25\x00"),
           ("H", b"client.example.com\x00"),
           ("M", b"<alice@example.com>\x00"),
           ("R", b"<bob@example.org>\x00")]
    for name, value in HDRS:
        v = value if proto & LEADSPC else value.lstrip(b" \t")
        seq.append(("L", name + b"\x00" + v + b"\x00"))
    seq.append(("N", b""))
    for i in range(0, len(BODY), 65535):
        seq.append(("B", BODY[i:i + 65535]))
    out = [(c, d, not (proto & NR.get(c, 0)))
           for c, d in seq if not proto & SKIP_IF[c]]
    out.append(("E", b"", True))
    return out


class Conn:
    __slots__ = ("sock", "state", "inbuf", "outbuf", "steps", "i",
                 "t_conn", "t_opt", "t_eom", "ar", "why", "final")

    def __init__(self, sock):
        self.sock = sock
        self.state = "connecting"
        self.inbuf = b""
        self.outbuf = b""
        self.steps = []
        self.i = 0
        self.t_conn = self.t_opt = self.t_eom = None
        self.ar = b""
        self.why = ""
        self.final = ""


def proc_sample(peak, fds=True):
    try:
        with open("/proc/%d/status" % DPID) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    peak[k] = max(peak.get(k, 0), int(v.split()[0]))
                elif k == "Threads":
                    peak["Threads"] = max(peak.get("Threads", 0), int(v))
        if fds:
            peak["fds"] = max(peak.get("fds", 0),
                              len(os.listdir("/proc/%d/fd" % DPID)))
    except OSError:
        peak["gone"] = 1


sel = selectors.DefaultSelector()
conns = []
peak = {}
proc_sample(peak)
base = dict(peak)
t0 = time.monotonic()
deadline = t0 + BUDGET
for _ in range(N):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    c = Conn(s)
    conns.append(c)
    rc = s.connect_ex(("127.0.0.1", PORT))
    if rc not in (0, errno.EINPROGRESS):
        c.state, c.why = "failed", "connect:" + errno.errorcode.get(rc, rc)
        s.close()
        continue
    sel.register(s, selectors.EVENT_WRITE, c)
t_issued = time.monotonic() - t0


def fail(c, why):
    c.state, c.why = "failed", why
    try:
        sel.unregister(c.sock)
    except (KeyError, ValueError):
        pass
    c.sock.close()


def flush(c):
    while c.outbuf:
        try:
            n = c.sock.send(c.outbuf)
        except BlockingIOError:
            break
        c.outbuf = c.outbuf[n:]
    ev = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.outbuf else 0)
    sel.modify(c.sock, ev, c)


def advance(c):
    """queue every step up to and including the next one with a reply"""
    while c.i < len(c.steps):
        cmd, data, wants = c.steps[c.i]
        c.outbuf += pkt(cmd, data)
        c.i += 1
        if wants:
            return


def on_packet(c, cmd, data, now):
    if c.state == "optneg":
        if cmd != ord("O") or len(data) < 12:
            return fail(c, "optneg-reply:" + chr(cmd))
        c.t_opt = now
        c.steps = steps_for(struct.unpack(">III", data[:12])[2])
        c.state = "message"
        return advance(c)
    # a reply to the step just sent (c.i - 1)
    cmd_sent = c.steps[c.i - 1][0]
    if cmd_sent != "E":
        if cmd in (ord("c"), ord("s")):  # continue, skip (body)
            return advance(c)
        c.final, c.t_eom, c.state = "early-" + chr(cmd), now, "held"
        return
    if cmd in (ord("h"), ord("i")):
        body = data[4:] if cmd == ord("i") else data
        name, value = (body.split(b"\x00") + [b"", b""])[:2]
        if name == b"Authentication-Results":
            c.ar = value
    elif cmd in FINAL:
        c.final, c.t_eom, c.state = chr(cmd), now, "held"


def on_event(c, mask, now):
    if c.state == "connecting":
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            return fail(c, "connect:" + errno.errorcode.get(err, str(err)))
        c.t_conn = now
        c.state = "optneg"
        c.outbuf = OPTNEG
        return flush(c)
    if mask & selectors.EVENT_READ:
        try:
            d = c.sock.recv(65536)
        except BlockingIOError:
            d = None
        except OSError as e:
            return fail(c, errno.errorcode.get(e.errno, str(e.errno)))
        if d == b"":
            return fail(c, "eof-in-" + c.state)
        if d:
            c.inbuf += d
            while len(c.inbuf) >= 4:
                ln = struct.unpack(">I", c.inbuf[:4])[0]
                if len(c.inbuf) < 4 + ln:
                    break
                p, c.inbuf = c.inbuf[4:4 + ln], c.inbuf[4 + ln:]
                on_packet(c, p[0], p[1:], now)
                if c.state in ("failed", "held"):
                    break
    if c.state == "held":
        sel.modify(c.sock, selectors.EVENT_READ, c)
    elif c.state != "failed":
        flush(c)


active = sum(1 for c in conns if c.state != "failed")
last = last_t = 0.0
pending = active
while time.monotonic() < deadline and pending:
    for key, mask in sel.select(timeout=0.05):
        c = key.data
        if c.state == "held":  # a held session should get nothing more
            try:
                if c.sock.recv(1, socket.MSG_PEEK) == b"":
                    fail(c, "closed-while-held")
            except BlockingIOError:
                pass
            except OSError as e:
                fail(c, errno.errorcode.get(e.errno, str(e.errno)))
            continue
        on_event(c, mask, time.monotonic() - t0)
    now = time.monotonic()
    if now - last_t >= 0.02:  # threads and RSS: cheap, often
        proc_sample(peak, fds=False)
        last_t = now
    if now - last >= 0.1:
        proc_sample(peak)
        last = now
        pending = sum(1 for c in conns if c.state not in ("held", "failed"))
t_end = time.monotonic() - t0
proc_sample(peak)  # every session held open: the daemon's peak
held_n = sum(1 for c in conns if c.state == "held")

for c in conns:
    if c.state == "held":
        try:
            c.sock.send(pkt("Q"))
        except OSError:
            pass
    if c.state != "failed":
        c.sock.close()
sel.close()


def pct(v, q):
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


def line(k, v):
    print("%s %s" % (k, v))


conn_t = sorted(c.t_conn for c in conns if c.t_conn is not None)
opt_t = sorted(c.t_opt for c in conns if c.t_opt is not None)
eom_t = sorted(c.t_eom for c in conns if c.t_eom is not None)
why = {}
for c in conns:
    if c.state != "held":
        k = c.why or ("timeout-in-" + c.state)
        why[k] = why.get(k, 0) + 1
finals = {}
for c in conns:
    if c.final:
        finals[c.final] = finals.get(c.final, 0) + 1
tagged = sum(1 for c in conns if b"spf=pass" in c.ar and b"dkim=pass" in c.ar
             and b"dmarc=pass" in c.ar)
line("connections", N)
line("issued_s", "%.3f" % t_issued)
line("connected", len(conn_t))
line("optneg_replies", len(opt_t))
line("eom_replies", len(eom_t))
line("final_replies", " ".join("%s=%d" % kv for kv in sorted(finals.items()))
     or "-")
line("tagged_pass", tagged)
line("held_at_end", held_n)
refused = sum(n for k, n in why.items() if "ECONNREFUSED" in k)
reset = sum(n for k, n in why.items() if "ECONNRESET" in k or "EPIPE" in k)
timed = sum(n for k, n in why.items() if k.startswith("timeout-in-"))
line("refused_reset_timedout_other", "%d %d %d %d" % (
    refused, reset, timed, sum(why.values()) - refused - reset - timed))
line("failures", " ".join("%s=%d" % kv for kv in sorted(why.items())) or "-")
for name, v in (("connect", conn_t), ("optneg", opt_t), ("eom", eom_t)):
    line(name + "_s_p50_p99_max", "%.3f %.3f %.3f" % (
        pct(v, .5), pct(v, .99), v[-1] if v else float("nan")))
line("optneg_after_1s", sum(1 for t in opt_t if t >= 1.0))


def by_second(v):
    h = {}
    for t in v:
        h[int(t)] = h.get(int(t), 0) + 1
    return " ".join("%ds:%d" % kv for kv in sorted(h.items())) or "-"


line("connect_by_second", by_second(conn_t))
line("optneg_by_second", by_second(opt_t))
line("eom_by_second", by_second(eom_t))
line("all_served_s", "%.3f" % (eom_t[-1] if len(eom_t) == N else t_end))
line("daemon_base_rss_kb_threads_fds", "%d %d %d" % (
    base.get("VmRSS", 0), base.get("Threads", 0), base.get("fds", 0)))
line("daemon_peak_rss_kb_threads_fds", "%d %d %d" % (
    peak.get("VmHWM", peak.get("VmRSS", 0)), peak.get("Threads", 0),
    peak.get("fds", 0)))
sys.exit(0 if len(opt_t) == N and len(eom_t) == N else 1)
