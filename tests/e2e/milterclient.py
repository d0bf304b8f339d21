"""milterclient.py - the MTA side of the milter protocol, for the tests

Shared by fdlimit.py and workers.py: one connection offering what
Postfix 3.7 offers (version 6, every action and step), the steps of one
message from 203.0.113.9 whose envelope and From domain is the caller's,
and the reply and Authentication-Results value it gets back.
"""
import socket
import struct

# the no-reply step flags (the protocol's SMFIP_NR_*)
NR = {"C": 0x1000, "H": 0x2000, "M": 0x4000, "R": 0x8000, "L": 0x80,
      "N": 0x40000, "B": 0x80000}


def recv(s, n):
    """exactly n bytes, or EOFError"""
    d = b""
    while len(d) < n:
        c = s.recv(n - len(d))
        if not c:
            raise EOFError
        d += c
    return d


def frame(s):
    """one reply frame: command byte and data"""
    return recv(s, struct.unpack(">I", recv(s, 4))[0])


def connect(port, timeout):
    """a negotiated connection and the steps agreed"""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(struct.pack(">I", 13) + b"O" +
              struct.pack(">III", 6, 0x1FF, 0x1FFFFF))
    return s, struct.unpack(">III", frame(s)[1:13])[2]


def step(s, steps, cmd, data=b""):
    """send a step; read its reply unless none was agreed"""
    s.sendall(struct.pack(">I", len(data) + 1) + cmd.encode() + data)
    if not (cmd in NR and steps & NR[cmd]):
        frame(s)


def message(port, dom, timeout):
    """one message from dom: (final reply, our A-R value), or
    ("no reply", "") when the connection failed"""
    try:
        s, steps = connect(port, timeout)
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
                s.close()
                return chr(d[0]), ar
    except (OSError, EOFError):
        return "no reply", ""
