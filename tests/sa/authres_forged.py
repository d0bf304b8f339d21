#!/usr/bin/python3
"""authres_forged.py - forged Authentication-Results against SpamAssassin

For each way a forger can write a header that claims authtag's
authserv-id (white space of every class before the id, comments, quotes,
case, a trailing dot, an ARC-Authentication-Results), builds a forgery
of a p=reject domain carrying that header with dmarc=pass, runs
authtag-check on it, builds the message as the milter would deliver it
(authtag's header lines on top, the "# remove:" lines applied), and runs
it through SpamAssassin 4 with its AuthRes plugin trusting our id, as
rules/spamassassin-authres.cf configures it. Passes when, for every
variant, SpamAssassin's parsed results hold no dmarc=pass; also shows
that SpamAssassin does trust the forged header when it is left in, so
the check can fail. Prints a table: variant, removed by authtag,
SpamAssassin's dmarc result as delivered, and with the forgery left in.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

top_src = os.environ.get("top_srcdir", ".")
top_build = os.environ.get("top_builddir", ".")
if shutil.which("spamassassin") is None:
    print("SKIP: spamassassin is not installed")
    sys.exit(77)
ID = b"mx.example.org"
VARIANTS = [
    ("plain", b"Authentication-Results", b" mx.example.org; dmarc=pass"),
    ("VT before id", b"Authentication-Results", b"\x0bmx.example.org; dmarc=pass"),
    ("FF before id", b"Authentication-Results", b"\x0cmx.example.org; dmarc=pass"),
    ("VT FF TAB SP", b"Authentication-Results", b" \x0b\x0c\tmx.example.org; dmarc=pass"),
    ("NBSP (Latin-1)", b"Authentication-Results", b"\xa0mx.example.org; dmarc=pass"),
    ("NBSP (UTF-8)", b"Authentication-Results", b" \xc2\xa0mx.example.org; dmarc=pass"),
    ("comment first", b"Authentication-Results", b" (c) mx.example.org; dmarc=pass"),
    ("quoted id", b"Authentication-Results", b" \"mx.example.org\"; dmarc=pass"),
    ("upper case", b"Authentication-Results", b" MX.EXAMPLE.ORG; dmarc=pass"),
    ("trailing dot", b"Authentication-Results", b" mx.example.org.; dmarc=pass"),
    ("lower-case name", b"authentication-results", b" mx.example.org; dmarc=pass"),
    ("folded", b"Authentication-Results", b"\n\tmx.example.org;\n\tdmarc=pass"),
    ("ARC i=1", b"ARC-Authentication-Results", b" i=1; mx.example.org; dmarc=pass"),
    ("ARC VT", b"ARC-Authentication-Results", b" i=1;\x0bmx.example.org; dmarc=pass"),
]

work = tempfile.mkdtemp(prefix="authtag-saforged.")
site = os.path.join(work, "site")
os.mkdir(site)
for f in os.listdir("/etc/spamassassin"):
    if f.endswith(".pre"):
        shutil.copy(os.path.join("/etc/spamassassin", f), site)
with open(os.path.join(site, "local.cf"), "w") as f:
    f.write("dns_available no\nskip_rbl_checks 1\nuse_bayes 0\n"
            "use_razor2 0\nuse_pyzor 0\n")
    f.write(open(os.path.join(top_src, "rules/spamassassin-authres.cf"))
            .read())
conf = os.path.join(work, "authtag.conf")
with open(conf, "w") as f:
    f.write("AuthservID mx.example.org\n"
            "ResolverConfig %s/contrib/example/sample-dns.conf\n"
            "Resolver 127.0.0.1@9\nResolverTimeout 2\nRulesDir %s/rules\n"
            % (top_src, top_src))


def fields(msg):
    """the header fields of msg as [name, raw bytes incl. folding]"""
    head = msg.split(b"\n\n", 1)[0]
    out = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and out:
            out[-1][1] += b"\n" + line
        else:
            out.append([line.split(b":", 1)[0], line])
    return out


def deliver(msg, check_out):
    """msg as the milter passes it on: our lines on top, removals done"""
    ours = [l for l in check_out.split(b"\n")
            if l and not l.startswith(b"#")]
    fl = fields(msg)
    for l in check_out.split(b"\n"):
        m = re.match(rb"# remove: ([^\[]+)\[(\d+)\]$", l)
        if not m:
            continue
        name, n = m.group(1).lower(), int(m.group(2))
        seen = 0
        for i, (fname, _) in enumerate(fl):
            if fname.lower() == name:
                seen += 1
                if seen == n:
                    del fl[i]
                    break
    body = msg.split(b"\n\n", 1)[1]
    return b"\n".join(ours + [f[1] for f in fl]) + b"\n\n" + body


def sa_dmarc(msg):
    """SpamAssassin's AuthRes result for dmarc, or 'none'"""
    p = subprocess.run(
        ["spamassassin", "--siteconfigpath=" + site, "-x", "-L", "-t",
         "-D", "authres"], input=msg, capture_output=True, timeout=120)
    m = re.findall(rb"authres: results: (.*)", p.stderr)
    if not m:
        return "none"
    got = dict(w.split(b"=", 1) for w in m[-1].split() if b"=" in w)
    return got.get(b"dmarc", b"none").decode()


fails = 0
rows = []
for what, name, value in VARIANTS:
    msg = (name + b":" + value + b"\nFrom: Bank <ceo@example.com>\n"
           b"To: bob@example.org\nSubject: forged\n"
           b"Message-ID: <f@example.com>\n\nPay now.\n")
    path = os.path.join(work, "m.eml")
    with open(path, "wb") as f:
        f.write(msg)
    p = subprocess.run([os.path.join(top_build, "authtag-check"), "-c", conf,
                        "--client-ip", "203.0.113.9", "--mail-from",
                        "ceo@example.com", path], capture_output=True)
    removed = (b"# remove: " + name) in p.stdout or \
        (b"# remove: " + name.title()) in p.stdout or \
        re.search(rb"# remove: (?i:" + re.escape(name) + rb")\[",
                  p.stdout) is not None
    delivered = sa_dmarc(deliver(msg, p.stdout))
    ours_only = [l for l in p.stdout.split(b"\n")
                 if l and not l.startswith(b"#")]
    left_in = sa_dmarc(b"\n".join(ours_only) + b"\n" + msg)
    ok = removed and delivered != "pass" and p.returncode == 0
    fails += not ok
    rows.append((what, "yes" if removed else "NO", delivered, left_in))
    print("%s - %s: removed=%s, SpamAssassin dmarc=%s as delivered "
          "(with the forgery left in: %s)" % (
              "ok" if ok else "FAIL", what, removed, delivered, left_in))
trusted_when_left = sum(1 for r in rows if r[3] == "pass")
print("%s - SpamAssassin trusts %d of the %d forgeries when they are left "
      "in (the check above can fail)" % (
          "ok" if trusted_when_left > 0 else "FAIL", trusted_when_left,
          len(rows)))
fails += trusted_when_left == 0
print("\n%-16s %-8s %-22s %s" % ("variant", "removed", "SA dmarc (delivered)",
                                 "SA dmarc (forgery left in)"))
for r in rows:
    print("%-16s %-8s %-22s %s" % r)
shutil.rmtree(work)
print("%d passed, %d failed" % (len(rows) + 1 - fails, fails))
sys.exit(1 if fails else 0)
