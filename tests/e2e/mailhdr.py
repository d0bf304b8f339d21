#!/usr/bin/python3
"""mailhdr.py - header fields of a delivered message, for the e2e tests

usage: mailhdr.py FILE NAME   every NAME field's value, unfolded, one a line
       mailhdr.py FILE --all  every field as "Name: value", unfolded
       mailhdr.py FILE        every field's name, in order, one a line

Reads the header section only (up to the first empty line), as bytes, so
that what the MTA delivered is what is checked: no MIME decoding, and
folding turned into single spaces.
"""
import re
import sys


def fields(path):
    """(name, unfolded value) for each header field of the message"""
    out = []
    with open(path, "rb") as fp:
        for raw in fp:
            line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
            if line == "":
                break
            if line[0] in " \t" and out:
                out[-1][1] += " " + line.strip()
            elif ":" in line:
                name, value = line.split(":", 1)
                out.append([name.strip(), value.strip()])
    return [(n, re.sub(r"\s+", " ", v)) for n, v in out]


def main():
    if len(sys.argv) == 2:
        for name, _ in fields(sys.argv[1]):
            print(name)
    elif len(sys.argv) == 3 and sys.argv[2] == "--all":
        for name, value in fields(sys.argv[1]):
            print("%s: %s" % (name, value))
    elif len(sys.argv) == 3:
        for name, value in fields(sys.argv[1]):
            if name.lower() == sys.argv[2].lower():
                print(value)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
