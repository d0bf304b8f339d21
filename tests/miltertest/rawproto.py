#!/usr/bin/python3
"""rawproto.py - milter protocol cases miltertest cannot produce

usage: rawproto.py PORT AUTHSERV-ID DATA-DIR [reject]

miltertest always fills in the steps a script skips (it sends an
end-of-header and a default body before end of message) and overflows
its own stack on header values over a few KB. This client speaks the
wire protocol itself (4-byte length, command byte, data), offering what
Postfix 3.7 offers, to check: a body with no header and no end-of-header,
frames that arrive in pieces (a header cut inside its length, a body
chunk in three writes),
end of message right after RCPT, a signed message with no body chunk at
all, commands out of order (libmilter aborts the message and ignores
them), header values of 60,000-65,000 bytes and of 64 KiB (libmilter
drops that connection, and only that one), a connection cut mid-body, a
command nobody knows. With "reject" (a daemon with RejectFailures yes):
the 550 5.7.1 reply and its text. Prints "ok - ..." or "FAIL - ..." per
check; exit status 1 if any failed.
"""
import socket
import struct
import sys
import time

PORT = int(sys.argv[1])
AUTHSERV = sys.argv[2]
FAILED = 0

NR = {  # the no-reply step flags (libmilter/mfdef.h)
    "C": 0x1000, "H": 0x2000, "M": 0x4000, "R": 0x8000,
    "L": 0x80, "N": 0x40000, "B": 0x80000,
}


def check(cond, what):
    global FAILED
    print(("ok - " if cond else "FAIL - ") + what)
    if not cond:
        FAILED += 1


class Milter:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", PORT), timeout=20)
        # offer what Postfix 3.7 offers: version 6, all actions and steps
        self.send("O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF))
        cmd, data = self.read()
        assert cmd == "O", cmd
        _, self.actions, self.steps = struct.unpack(">III", data[:12])

    def send(self, cmd, data=b""):
        self.s.sendall(struct.pack(">I", len(data) + 1) + cmd.encode() + data)

    def read(self):
        head = self.recvn(4)
        data = self.recvn(struct.unpack(">I", head)[0])
        return chr(data[0]), data[1:]

    def recvn(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        return buf

    def step(self, cmd, data=b""):
        """send a step; read its reply unless we agreed on none"""
        self.send(cmd, data)
        if cmd in NR and self.steps & NR[cmd]:
            return None
        return self.read()[0]

    def connect(self, ip="127.0.0.10"):
        return self.step("C", b"client.example.net\0" + b"4" +
                         struct.pack(">H", 25000) + ip.encode() + b"\0")

    def mail(self, addr):
        return self.step("M", addr.encode() + b"\0")

    def header(self, name, value):
        return self.step("L", name.encode() + b"\0" + value.encode() + b"\0")

    def eom(self):
        """end of message: the edits asked for, then the final reply"""
        self.send("E")
        edits = []
        while True:
            cmd, data = self.read()
            if cmd in "him":
                index = struct.unpack(">I", data[:4])[0]
                name, value = data[4:].split(b"\0")[:2]
                edits.append((cmd, index, name.decode(), value.decode()))
            elif cmd in "q":
                edits.append((cmd, 0, "", data.decode(errors="replace")))
            else:
                return cmd, edits

    def send_split(self, cmd, data, cuts):
        """one frame in pieces, cut at these offsets, 50 ms apart"""
        frame = struct.pack(">I", len(data) + 1) + cmd.encode() + data
        last = 0
        for cut in list(cuts) + [len(frame)]:
            self.s.sendall(frame[last:cut])
            last = cut
            time.sleep(0.05)

    def close(self):
        try:
            self.send("Q")
        except OSError:
            pass
        self.s.close()


def ours(edits):
    """the A-R headers authtag inserted at the top"""
    return [e for e in edits if e[0] == "i" and e[1] == 0 and
            e[2] == "Authentication-Results" and
            e[3].startswith(" " + AUTHSERV + ";")]


def envelope(m, mail="<alice@spfonly.example.com>"):
    m.mail(mail)
    m.step("R", b"<bob@dest.example.org>\0")


def tagged(final, edits, *words):
    """accepted, one A-R of ours carrying each word"""
    ar = ours(edits)
    return (final in "ac" and len(ar) == 1 and
            all(w in ar[0][3] for w in words))


def read_message(path):
    """(name, value as sent) pairs and the CRLF body of a message file"""
    with open(path, "rb") as fp:
        text = fp.read().replace(b"\r\n", b"\n").decode()
    head, _, body = text.partition("\n\n")
    fields = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1][1] += "\n" + line
        elif ":" in line:
            fields.append(line.split(":", 1))
    return fields, body.replace("\n", "\r\n")


def tag_cases(data):
    m = Milter()
    check(m.steps & 0x00100000, "SMFIP_HDR_LEADSPC agreed")
    m.connect()
    envelope(m)
    m.step("B", b"a body with no header and no end-of-header\r\n")
    final, edits = m.eom()
    check(tagged(final, edits, "spf=pass", "dmarc=none"),
          "body with no header and no end-of-header: tagged")

    envelope(m)
    final, edits = m.eom()
    check(tagged(final, edits, "spf=pass"),
          "end of message right after RCPT: tagged")

    # a header, then a body without end-of-header: libmilter aborts the
    # message and ignores the body and end of message (no reply)
    envelope(m)
    m.header("From", " <alice@spfonly.example.com>")
    m.send("B", b"out of order\r\n")
    m.send("E")
    envelope(m, "<ceo@reject.example.org>")
    m.header("From", " <ceo@reject.example.org>")
    m.step("N")
    final, edits = m.eom()
    check(tagged(final, edits, "spf=fail", "dmarc=fail",
                 "header.from=reject.example.org") and
          "spfonly" not in ours(edits)[0][3],
          "after an out-of-order message: the next one is tagged alone")

    # a signed message with an empty body and no body chunk at all
    fields, body = read_message(data + "/empty.eml")
    check(body == "", "the signed test message has an empty body")
    envelope(m, "<bounce@pass.example.com>")
    for name, value in fields:
        m.header(name, value)
    m.step("N")
    final, edits = m.eom()
    check(tagged(final, edits, "dkim=pass", "dmarc=pass"),
          "empty body, no body chunk: dkim=pass")

    # basic.lua's message, where miltertest cannot see indexes: forged
    # A-R headers claiming our id (case and a comment before the id)
    # around a foreign one: exactly #3 and #1 go, highest first
    fields, body = read_message(data + "/pass.eml")
    fields = [["Authentication-Results", " %s; dmarc=pass" % AUTHSERV],
              ["Authentication-Results", " other.example.net; spf=pass"]] \
        + fields + [["Authentication-Results",
                     " (c) MT.Example.Org; dkim=pass"]]
    envelope(m, "<bounce@pass.example.com>")
    for name, value in fields:
        m.header(name, value)
    m.step("N")
    m.step("B", body.encode())
    final, edits = m.eom()
    removed = [(e[1], e[2], e[3]) for e in edits if e[0] == "m"]
    check(tagged(final, edits, "dkim=pass", "dmarc=pass") and
          removed == [(3, "Authentication-Results", ""),
                      (1, "Authentication-Results", "")],
          "forged A-R #3 and #1 removed, highest first; foreign #2 kept")

    # frames that arrive in pieces: the first header cut inside its
    # length field and again inside its value, the body chunk in three
    # writes (authtag streams it to the checks): the message verifies
    fields, body = read_message(data + "/pass.eml")
    envelope(m, "<bounce@pass.example.com>")
    name, value = fields[0]
    m.send_split("L", name.encode() + b"\0" + value.encode() + b"\0",
                 [2, 9])
    for name, value in fields[1:]:
        m.header(name, value)
    m.step("N")
    raw = body.encode()
    m.send_split("B", raw, [3, 7, 5 + len(raw) // 2])
    final, edits = m.eom()
    check(tagged(final, edits, "dkim=pass", "dmarc=pass"),
          "header and body frames in pieces: dkim=pass")

    # header values just under libmilter's 64 KiB packet
    envelope(m)
    m.header("From", " <alice@spfonly.example.com>")
    m.header("Authentication-Results", " %s; dkim=pass %s"
             % (AUTHSERV, "y" * 60000))
    m.header("Authentication-Results", " other.example.net; spf=pass")
    m.header("X-Big", " " + "x" * 65000)
    m.step("N")
    m.step("B", b"big headers\r\n")
    final, edits = m.eom()
    removed = [e for e in edits if e[0] == "m"]
    check(tagged(final, edits, "spf=pass", "dmarc=pass") and
          len(ours(edits)[0][3]) < 1000,
          "65,000-byte header: tagged, our header short")
    check([(e[1], e[2], e[3]) for e in removed] ==
          [(1, "Authentication-Results", "")],
          "60,000-byte forged header removed (index 1), foreign kept")
    m.close()

    # 64 KiB: libmilter refuses the packet and drops the connection
    m = Milter()
    m.connect()
    envelope(m)
    m.header("X-Huge", " " + "z" * 65536)
    try:
        m.step("N")
        final, _ = m.eom()
        check(final not in "rt", "64 KiB header: not rejected")
    except (EOFError, OSError):
        check(True, "64 KiB header: libmilter dropped the connection")
    m.s.close()

    # a connection cut in the middle of a body
    m = Milter()
    m.connect()
    envelope(m)
    m.header("From", " <alice@spfonly.example.com>")
    m.step("N")
    m.send("B", b"half a bo")
    m.s.close()

    # a command nobody knows
    m = Milter()
    m.connect()
    m.send("Z", b"nonsense")
    try:
        m.read()
    except (EOFError, OSError):
        pass
    m.s.close()

    m = Milter()
    m.connect()
    envelope(m, "<ceo@reject.example.org>")
    m.header("From", " <ceo@reject.example.org>")
    m.step("N")
    final, edits = m.eom()
    check(tagged(final, edits, "dmarc=fail"),
          "after huge, cut and unknown: the daemon still tags")
    m.close()


def reject_cases():
    m = Milter()
    m.connect()
    envelope(m, "<ceo@reject.example.org>")
    m.header("From", " <ceo@reject.example.org>")
    m.step("N")
    final, edits = m.eom()
    check(final == "y", "RejectFailures: a reply code, not a plain reject")
    m.close()
    m = Milter()
    m.connect()
    envelope(m, "<ceo@reject.example.org>")
    m.header("From", " <ceo@reject.example.org>")
    m.step("N")
    m.send("E")
    while True:
        cmd, data = m.read()
        if cmd not in "himq":
            break
    text = data.rstrip(b"\0").decode()
    check(cmd == "y" and text.startswith("550 5.7.1 ") and
          "DMARC policy of reject.example.org" in text,
          "RejectFailures: " + text)
    m.close()


def main():
    if len(sys.argv) > 4 and sys.argv[4] == "reject":
        reject_cases()
    else:
        tag_cases(sys.argv[3])
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
