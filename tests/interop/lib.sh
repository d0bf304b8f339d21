# tests/interop/lib.sh - what the DKIM and ARC test scripts share (sourced)
#
# Owns the hermetic DNS data every verifier gets the same way (a RECORDS
# file of "name record" lines: unbound local-data for authtag, a dnsfunc
# for dkimpy, a resolver for mailauth), applying authtag-check's output
# to a message (the message the milter passes on), and unfolding header
# lines for the checks. Scripts set $tmp and $PY first.

# it_dns_conf RECORDS OUT - an unbound.conf serving RECORDS (TXT values
# cut into 255-octet strings) in a static root: nothing else exists
it_dns_conf() {
	{
		echo "server:"
		echo '    local-zone: "." static'
		while read -r _name _rec; do
			printf "    local-data: '%s. 300 IN TXT" "$_name"
			_v=$_rec
			while [ -n "$_v" ]; do
				printf ' "%s"' "$(printf %s "$_v" | cut -c1-255)"
				_v=$(printf %s "$_v" | cut -c256-)
			done
			printf "'\n"
		done <"$1"
	} >"$2"
}

# it_unfold - stdin's header lines unfolded, as procmail and Sieve see them
it_unfold() {
	awk '/^[ \t]/ { sub(/^[ \t]+/, " "); line = line $0; next } { if (NR > 1) print line; line = $0 } END { if (NR) print line }'
}

# it_helpers - $tmp/apply.py, $tmp/dkimpy.py and $tmp/mailauth.js
it_helpers() {
	cat >"$tmp/apply.py" <<'PYEOF'
# apply.py OUT MSG - the message as the milter passes it on: authtag-check's
# header lines prepended, its "# remove: Name[N]" lines applied
import re, sys
out = open(sys.argv[1], "rb").read().decode()
msg = open(sys.argv[2], "rb").read()
head, sep, body = msg.partition(b"\n\n")
fields = []
for line in head.split(b"\n"):
    if line[:1] in (b" ", b"\t") and fields:
        fields[-1] += b"\n" + line
    else:
        fields.append(line)
for name, n in re.findall(r"^# remove: ([^\[]+)\[(\d+)\]$", out, re.M):
    seen = 0
    for i, f in enumerate(fields):
        if f.split(b":", 1)[0].strip().lower() == name.lower().encode():
            seen += 1
            if seen == int(n):
                del fields[i]
                break
added = [l for l in out.split("\n") if l and not l.startswith("#")]
sys.stdout.buffer.write("\n".join(added).encode() + b"\n" + b"\n".join(fields) + sep + body)
PYEOF
	cat >"$tmp/dkimpy.py" <<'PYEOF'
# dkimpy.py RECORDS MSG - dkimpy's verdict on every DKIM-Signature, in
# order ("pass,fail"), or "none"
import sys, dkim
keys = {}
for line in open(sys.argv[1]):
    name, rec = line.rstrip("\n").split(" ", 1)
    keys[name.encode() + b"."] = rec.encode()
def dnsfunc(name, timeout=5):
    return keys.get(name if name.endswith(b".") else name + b".")
d = dkim.DKIM(open(sys.argv[2], "rb").read())
n = sum(1 for f in d.headers if f[0].lower() == b"dkim-signature")
def one(i):
    try:
        return "pass" if d.verify(idx=i, dnsfunc=dnsfunc) else "fail"
    except dkim.DKIMException:  # a body hash mismatch is raised
        return "fail"
print(",".join(one(i) for i in range(n)) or "none")
PYEOF
	cat >"$tmp/mailauth.js" <<'JSEOF'
// mailauth.js DIR RECORDS MSG - mailauth's dkimVerify results, in order
const fs = require('fs');
const { dkimVerify } = require(process.argv[2] + '/lib/dkim/verify');
const keys = {};
for (const line of fs.readFileSync(process.argv[3], 'utf8').split('\n')) {
    if (!line) continue;
    const i = line.indexOf(' ');
    keys[line.slice(0, i)] = line.slice(i + 1);
}
const resolver = async (name, rr) => {
    if (rr === 'TXT' && keys[name]) return [[keys[name]]];
    const e = new Error('not found'); e.code = 'ENOTFOUND'; throw e;
};
dkimVerify(fs.readFileSync(process.argv[4]), { resolver })
    .then(r => console.log(r.results.map(x => x.status.result).join(',')))
    .catch(e => { console.log('error ' + e.message); });
JSEOF
}
