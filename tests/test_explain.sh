#!/bin/sh
# tests/test_explain.sh - explain mode on the seed case (issue 11)
#
# A vendor (vendor.example, DMARC p=reject) sends through its ESP
# (esp.example): the envelope is the ESP's (SPF pass for esp.example),
# the DKIM signature is the ESP's (d=esp.example, pass), so DMARC fails.
# authtag-check --explain must show how: the SPF record and the mechanism
# that matched, the DNS queries, the DKIM key and body hash, the DMARC
# record found by the tree walk and why neither identifier is aligned.
# Then the daemon with LogWhy yes logs the one-line reason (miltertest).
# The DNS data is hermetic (libunbound local-data); dkimpy signs.
set -u
top=${top_srcdir:-.}
build=${top_builddir:-.}
PY=/usr/bin/python3
$PY -c 'import dkim' 2>/dev/null || { echo "SKIP: python3-dkim not installed"; exit 77; }
tmp=$(mktemp -d /tmp/authtag-explain.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$top/tests/interop/lib.sh"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/esp.pem" 2>/dev/null
pub=$(openssl pkey -in "$tmp/esp.pem" -pubout -outform DER | base64 -w0)
cat >"$tmp/records" <<REC
esp.example v=spf1 ip4:198.51.100.0/24 -all
s1._domainkey.esp.example v=DKIM1; k=rsa; p=$pub
_dmarc.vendor.example v=DMARC1; p=reject; rua=mailto:dmarc@vendor.example
vendor.example v=spf1 include:_spf.vendor.example -all
REC
it_dns_conf "$tmp/records" "$tmp/dns.conf"
cat >"$tmp/authtag.conf" <<CONF
AuthservID mx.dest.example.org
ResolverConfig $tmp/dns.conf
Resolver 127.0.0.1@9
ResolverTimeout 2
RulesDir $top/rules
StateStore none
Syslog no
CONF
printf 'From: Vendor News <news@vendor.example>\nTo: bob@dest.example.org\nSubject: our offer\nMessage-ID: <offer-1@esp.example>\nDate: Thu, 01 Jan 2026 00:00:00 +0000\n\nThis month only.\n' >"$tmp/plain.eml"
$PY - "$tmp/esp.pem" "$tmp/plain.eml" >"$tmp/seed.eml" <<'PYEOF'
import sys, dkim
msg = open(sys.argv[2], "rb").read().replace(b"\n", b"\r\n")
sig = dkim.sign(msg, b"s1", b"esp.example", open(sys.argv[1], "rb").read(),
                include_headers=[b"from", b"to", b"subject", b"message-id", b"date"])
sys.stdout.buffer.write((sig + msg).replace(b"\r\n", b"\n"))
PYEOF
"$build/authtag-check" -c "$tmp/authtag.conf" --client-ip 198.51.100.7 \
	--helo mta7.esp.example --mail-from bounce-123@esp.example \
	--rcpt bob@dest.example.org --explain "$tmp/seed.eml" >"$tmp/out" 2>&1
cat "$tmp/out"
# expect LINE-ERE WHAT
expect() {
	grep -Eq -- "$1" "$tmp/out" && ok "$2" || bad "$2: no line matching $1"
}
expect '^	dmarc=fail \(p=reject' "the A-R says dmarc=fail"
expect '^# explain: ' "an explanation follows the headers"
expect '^#   spf: check_host\(198\.51\.100\.7, esp\.example, bounce-123@esp\.example\)' "SPF: which check_host"
expect '^#   spf:   DNS TXT esp\.example: 1 record' "SPF: the DNS query"
expect '^#   spf:   esp\.example: "v=spf1 ip4:198\.51\.100\.0/24 -all"' "SPF: the record"
expect '^#   spf:     ip4:198\.51\.100\.0/24: matches' "SPF: the mechanism that matched"
expect '^#   spf: result pass .*DNS lookups 0 of 10, void lookups 0 of 2' "SPF: the result and the lookup counts"
expect '^#   dkim:   DNS TXT s1\._domainkey\.esp\.example: 1 record' "DKIM: the key query"
expect '^#   dkim:   d=esp\.example s=s1 a=rsa-sha256 c=relaxed/simple, key rsa 2048 bits' "DKIM: key type and size, canonicalisation"
expect '^#   dkim:     body hash computed ([0-9a-f]{16})\.\.\., bh= \1\.\.\.: equal' "DKIM: body hash computed vs bh="
expect '^#   dmarc:   DNS TXT _dmarc\.vendor\.example: 1 record' "DMARC: the tree walk's query"
expect '^#   dmarc:   policy record of vendor\.example: _dmarc\.vendor\.example \(RFC 9989 tree walk\); Organizational Domain vendor\.example' "DMARC: the record used and the Organizational Domain"
expect '^#   dmarc:   policy that applies: p=reject \(the domain.s own record\)' "DMARC: which of p/sp/np applied"
expect '^#   dmarc:   SPF pass for esp\.example: not aligned \(relaxed: not in the Organizational Domain vendor\.example\)' "DMARC: why SPF is not aligned"
expect '^#   dmarc:   DKIM pass for esp\.example: not aligned' "DMARC: why DKIM is not aligned"
expect '^#   dmarc: From domain vendor\.example: dmarc=fail \(no aligned identifier\); the policy asks: reject' "DMARC: the result"
expect '^#   score: AUTHTAG_DMARC_REJECT ' "scoring: the rule that hit"
# without --explain: no explanation, the same headers
"$build/authtag-check" -c "$tmp/authtag.conf" --client-ip 198.51.100.7 \
	--helo mta7.esp.example --mail-from bounce-123@esp.example \
	--rcpt bob@dest.example.org "$tmp/seed.eml" >"$tmp/plain.out" 2>&1
grep -v '^#' "$tmp/out" | cmp -s - "$tmp/plain.out" &&
	ok "the same headers with and without --explain" || bad "--explain changed the headers"
# the user_prefs line that matched: bob welcome-lists the vendor's mail
# when the ESP signed it
mkdir -p "$tmp/prefs"
echo "welcomelist_from_dkim *@vendor.example esp.example" >"$tmp/prefs/bob"
{ cat "$tmp/authtag.conf"; echo "UserPrefs $tmp/prefs/%u"; } >"$tmp/prefs.conf"
"$build/authtag-check" -c "$tmp/prefs.conf" --client-ip 198.51.100.7 \
	--helo mta7.esp.example --mail-from bounce-123@esp.example \
	--rcpt bob@dest.example.org --explain "$tmp/seed.eml" >"$tmp/out" 2>&1
expect '^#   score: USER_IN_DKIM_WELCOMELIST: user_prefs "welcomelist_from_dkim \*@vendor\.example esp\.example"' "scoring: the user_prefs line that matched"
expect '^#   score: USER_IN_DKIM_WELCOMELIST -100\.0 ' "scoring: its score"

# the daemon, LogWhy yes: one line with the reason of each non-pass
if command -v miltertest >/dev/null; then
	port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	{ cat "$tmp/authtag.conf"; echo "LogWhy yes"; } >"$tmp/why.conf"
	"$build/authtag" -f -c "$tmp/why.conf" -p "inet:$port@127.0.0.1" >"$tmp/daemon.log" 2>&1 &
	pid=$!
	n=0
	while [ $n -lt 100 ] && ! grep -q 'listening on' "$tmp/daemon.log"; do sleep 0.1; n=$((n + 1)); done
	timeout 60 miltertest -s "$top/tests/miltertest/why.lua" -D "sock=inet:$port@127.0.0.1" \
		-D "data=$tmp" -D "src=$top/tests/miltertest" -D id=mx.dest.example.org \
		>"$tmp/mt.out" 2>&1 || bad "miltertest: $(cat "$tmp/mt.out")"
	kill -TERM "$pid"
	wait "$pid"
	grep -q 'why: dmarc=fail (no aligned identifier)$' "$tmp/daemon.log" &&
		ok "LogWhy: the daemon logs why DMARC failed" ||
		bad "LogWhy: $(grep -v listening "$tmp/daemon.log" | tail -n 3)"
	# and nothing for a message without a non-pass result
	grep -c 'why:' "$tmp/daemon.log" | grep -qx 1 &&
		ok "LogWhy: one line for the one message" || bad "LogWhy lines: $(grep -c 'why:' "$tmp/daemon.log")"
elif [ "${AUTHTAG_REQUIRE_MILTERTEST:-}" = 1 ]; then
	bad "miltertest is required"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
