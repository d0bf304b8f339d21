#!/bin/sh
# arc_seal.sh - ARC chains that authtag seals, other implementations
# validate, and the other way round
#
# A message passes three hops: authtag-check as a mailing list
# (ARCSign, lists.example.org), authtag-check as a forwarder
# (fwd.example.net), then dkimpy's arc_sign (relay.example.com). After
# each hop the message as delivered (authtag-check's header lines
# prepended, its "# remove:" lines applied) is validated by dkimpy
# (dkim.arc_verify), by mailauth (npm, its authenticate(); where
# installed, required when AUTHTAG_REQUIRE_MAILAUTH=1) and by authtag
# itself (arc= in its Authentication-Results): all must say pass, with
# as many instances as hops. A body changed after sealing must fail
# everywhere. Keys are made here; DNS is hermetic (dkimpy's dnsfunc,
# mailauth's resolver, unbound local-data for authtag).
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
check="$top_builddir/authtag-check"
[ -n "${AUTHTAG_VALGRIND:-}" ] && check="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $check"
PY=/usr/bin/python3
MAILAUTH_DIR=${MAILAUTH_DIR:-/opt/authtag-npm/node_modules/mailauth}
$PY -c 'import dkim' 2>/dev/null || { echo "SKIP: python3-dkim missing"; exit 77; }
mailauth=no
if command -v node >/dev/null && [ -d "$MAILAUTH_DIR" ]; then
	mailauth=yes
elif [ "${AUTHTAG_REQUIRE_MAILAUTH:-}" = 1 ]; then
	echo "mailauth is required but not found in $MAILAUTH_DIR"; exit 1
else
	echo "note: mailauth not installed ($MAILAUTH_DIR): dkimpy and authtag only"
fi

. "$top_srcdir/tests/interop/lib.sh"
tmp=$(mktemp -d /tmp/authtag-arcseal.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }

for k in list fwd relay; do
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/$k.pem" 2>/dev/null
	chmod 600 "$tmp/$k.pem"
done
{
	echo "arc1._domainkey.lists.example.org v=DKIM1; k=rsa; p=$(openssl pkey -in "$tmp/list.pem" -pubout -outform DER | base64 -w0)"
	echo "arc2._domainkey.fwd.example.net v=DKIM1; k=rsa; p=$(openssl pkey -in "$tmp/fwd.pem" -pubout -outform DER | base64 -w0)"
	echo "arc3._domainkey.relay.example.com v=DKIM1; k=rsa; p=$(openssl pkey -in "$tmp/relay.pem" -pubout -outform DER | base64 -w0)"
} >"$tmp/records"
it_dns_conf "$tmp/records" "$tmp/dns.conf"
# conf NAME ID DOMAIN SELECTOR KEY - a sealing hop
conf() {
	cat >"$tmp/$1.conf" <<CONF
AuthservID     $2
ResolverConfig $tmp/dns.conf
Resolver       127.0.0.1@9
ResolverTimeout 2
RulesDir       $top_srcdir/rules
ARCSign        yes
ARCSignDomain  $3
ARCSignSelector $4
ARCSignKeyFile $tmp/$5.pem
CONF
}
conf list lists.example.org lists.example.org arc1 list
# the forwarder names its key in its KeyTable (ARCSignKey), as opendkim
# sites keep their keys
printf 'arckey fwd.example.net:arc2:%s/fwd.pem\n' "$tmp" >"$tmp/KeyTable"
printf '*@fwd.example.net arckey\n' >"$tmp/SigningTable"
cat >"$tmp/fwd.conf" <<CONF
AuthservID     fwd.example.net
ResolverConfig $tmp/dns.conf
Resolver       127.0.0.1@9
ResolverTimeout 2
RulesDir       $top_srcdir/rules
KeyTable       $tmp/KeyTable
SigningTable   refile:$tmp/SigningTable
ARCSign        yes
ARCSignKey     arckey
CONF
cat >"$tmp/plain.conf" <<CONF
AuthservID     mx.example.org
ResolverConfig $tmp/dns.conf
Resolver       127.0.0.1@9
ResolverTimeout 2
RulesDir       $top_srcdir/rules
CONF

it_helpers
cat >"$tmp/arcpy.py" <<'PYEOF'
# arcpy.py RECORDS MSG [sign KEY DOMAIN SELECTOR SRVID] - arc_verify's
# "cv N" of MSG, or MSG with dkimpy's ARC set prepended
import sys, dkim
keys = {}
for line in open(sys.argv[1]):
    name, rec = line.rstrip("\n").split(" ", 1)
    keys[name.encode() + b"."] = rec.encode()
def dnsfunc(name, timeout=5):
    return keys.get(name if name.endswith(b".") else name + b".")
msg = open(sys.argv[2], "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
if len(sys.argv) > 3 and sys.argv[3] == "sign":
    key = open(sys.argv[4], "rb").read()
    # dkimpy takes cv= from the arc= of the srv-id's A-R, as a sealer
    # that has just verified the message does
    hdrs = dkim.ARC(msg).sign(sys.argv[6].encode(), sys.argv[5].encode(), key,
                              sys.argv[7].encode())
    sys.stdout.buffer.write(b"".join(hdrs).replace(b"\r\n", b"\n") + msg.replace(b"\r\n", b"\n"))
else:
    cv, results, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
    print(cv.decode(), len(results))
PYEOF
cat >"$tmp/arcmailauth.js" <<'JSEOF'
const fs = require('fs');
const { authenticate } = require(process.argv[2]);
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
authenticate(fs.readFileSync(process.argv[4]), { resolver, ip: '192.0.2.1',
    helo: 'client.example.net', sender: 'alice@example.com', trustReceived: false })
    .then(r => console.log(r.arc.status.result, r.arc.i || 0))
    .catch(e => console.log('error ' + e.message));
JSEOF

# judge NAME FILE WANT N - dkimpy, mailauth and authtag on FILE
judge() {
	name=$1 file=$2 want=$3 n=$4
	got=$($PY "$tmp/arcpy.py" "$tmp/records" "$file" 2>&1)
	case $want in
	pass) [ "$got" = "pass $n" ] ;;
	*) [ "${got%% *}" = fail ] ;;
	esac && ok "dkimpy: $name: $got" || not_ok "dkimpy: $name: want $want ($n sets), got $got"
	if [ "$mailauth" = yes ]; then
		got=$(node "$tmp/arcmailauth.js" "$MAILAUTH_DIR" "$tmp/records" "$file" 2>&1)
		case $want in
		pass) [ "$got" = "pass $n" ] ;;
		*) [ "${got%% *}" = fail ] ;;
		esac && ok "mailauth: $name: $got" || not_ok "mailauth: $name: want $want ($n sets), got $got"
	fi
	$check -c "$tmp/plain.conf" --client-ip 192.0.2.1 "$file" >"$tmp/own" 2>&1 ||
	not_ok "authtag-check exit status $? (valgrind: 99)"
	got=$(it_unfold <"$tmp/own" |
		grep '^Authentication-Results:' | grep -oE 'arc=[a-z]+ \([^)]*\)' | head -1)
	case $got in
	"arc=$want (i=$n "*) ok "authtag: $name: $got" ;;
	*) not_ok "authtag: $name: want arc=$want with i=$n first, got '$got'"; sed 's/^/    | /' "$tmp/own" ;;
	esac
}

printf 'From: Alice <alice@example.com>\nTo: list@lists.example.org\nSubject: [list] hello\nDate: Sat, 05 Dec 2026 12:00:00 +0000\nMessage-ID: <arc-1@example.com>\n\nHello list,\n\nthis goes through three hops.\n' >"$tmp/m0"

# hop 1: authtag as the list (inbound from the author's server)
$check -c "$tmp/list.conf" --client-ip 192.0.2.1 --mail-from alice@example.com "$tmp/m0" >"$tmp/o1" 2>&1 ||
	not_ok "authtag-check exit status $? (valgrind: 99)"
grep -q '^# sealed: i=1 cv=none$' "$tmp/o1" && ok "hop 1: authtag-check seals i=1 cv=none" ||
	{ not_ok "hop 1: no seal"; sed 's/^/    | /' "$tmp/o1"; }
grep -n '' "$tmp/o1" | grep -E '^[0-9]+:(ARC-Seal|ARC-Message-Signature|ARC-Authentication-Results|Authentication-Results):' |
	cut -d: -f2 | paste -sd' ' - | grep -qx 'ARC-Seal ARC-Message-Signature ARC-Authentication-Results Authentication-Results' &&
	ok "hop 1: the set above our A-R, seal first" || not_ok "hop 1: field order"
grep -A3 '^ARC-Authentication-Results:' "$tmp/o1" | grep -q '(' && not_ok "hop 1: comments in the AAR (ARCAuthResComments no)" ||
	ok "hop 1: no comments in the AAR"
$PY "$tmp/apply.py" "$tmp/o1" "$tmp/m0" >"$tmp/m1"
judge "1 hop (authtag)" "$tmp/m1" pass 1

# hop 2: authtag as a forwarder (its key from the KeyTable)
$check -c "$tmp/fwd.conf" --client-ip 198.51.100.7 --mail-from list@lists.example.org "$tmp/m1" >"$tmp/o2" 2>&1 ||
	not_ok "authtag-check exit status $? (valgrind: 99)"
grep -q '^# sealed: i=2 cv=pass$' "$tmp/o2" && ok "hop 2: authtag-check seals i=2 cv=pass" ||
	{ not_ok "hop 2: no seal"; sed 's/^/    | /' "$tmp/o2"; }
$PY "$tmp/apply.py" "$tmp/o2" "$tmp/m1" >"$tmp/m2"
judge "2 hops (authtag, authtag)" "$tmp/m2" pass 2

# hop 3: dkimpy, after authtag verified the message for it (its A-R,
# with arc=pass, is what dkimpy seals on)
sed 's/^AuthservID .*/AuthservID relay.example.com/' "$tmp/plain.conf" >"$tmp/relay.conf"
$check -c "$tmp/relay.conf" --client-ip 192.0.2.77 "$tmp/m2" >"$tmp/o3" 2>&1 ||
	not_ok "authtag-check exit status $? (valgrind: 99)"
$PY "$tmp/apply.py" "$tmp/o3" "$tmp/m2" >"$tmp/m2v"
$PY "$tmp/arcpy.py" "$tmp/records" "$tmp/m2v" sign "$tmp/relay.pem" relay.example.com arc3 relay.example.com >"$tmp/m3"
judge "3 hops (authtag, authtag, dkimpy)" "$tmp/m3" pass 3

# dkimpy first, then authtag seals on top
$check -c "$tmp/relay.conf" --client-ip 192.0.2.1 "$tmp/m0" >"$tmp/o0" 2>&1 ||
	not_ok "authtag-check exit status $? (valgrind: 99)"
$PY "$tmp/apply.py" "$tmp/o0" "$tmp/m0" >"$tmp/m0v"
$PY "$tmp/arcpy.py" "$tmp/records" "$tmp/m0v" sign "$tmp/relay.pem" relay.example.com arc3 relay.example.com >"$tmp/d1"
$check -c "$tmp/list.conf" --client-ip 203.0.113.9 "$tmp/d1" >"$tmp/od" 2>&1 ||
	not_ok "authtag-check exit status $? (valgrind: 99)"
grep -q '^# sealed: i=2 cv=pass$' "$tmp/od" && ok "dkimpy then authtag: i=2 cv=pass" ||
	{ not_ok "dkimpy then authtag: no seal"; sed 's/^/    | /' "$tmp/od"; }
$PY "$tmp/apply.py" "$tmp/od" "$tmp/d1" >"$tmp/d2"
judge "2 hops (dkimpy, authtag)" "$tmp/d2" pass 2

# changed after sealing
sed 's/three hops/four hops/' "$tmp/m2" >"$tmp/f2"
judge "body changed after 2 hops" "$tmp/f2" fail 2

echo "arc sealing interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
