#!/bin/sh
# test_arc_override.sh - a mailing list breaks the author's DKIM; ARC
# rescues DMARC only when the list is a trusted sealer (RFC 8617 7.2)
#
# The author (example.com, DMARC p=reject) signs with dkimpy; the list
# host verifies it (authtag-check as lists.example.org: dkim=pass,
# dmarc=pass), rewrites the Subject and adds a footer (the author's
# signature no longer verifies), and seals with dkimpy's arc_sign, whose
# ARC-Authentication-Results copies the list's results. Our MX
# (authtag-check with the list's IP as client):
#   - without ARCTrustedSealers: dmarc=fail dis=reject, arc=pass,
#     X-Spam-Flag: YES (the spam folder, as before);
#   - with ARCTrustedSealers lists.example.org: dmarc=fail with "arc
#     override by lists.example.org" and dis=none, not spam, and
#     RejectFailures does not reject it;
#   - a trusted list whose AAR is altered after sealing: arc=fail, no
#     override; an untrusted sealer: no override.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
check="$top_builddir/authtag-check"
[ -n "${AUTHTAG_VALGRIND:-}" ] && check="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $check"
PY=/usr/bin/python3
$PY -c 'import dkim' 2>/dev/null || { echo "SKIP: python3-dkim missing"; exit 77; }

. "$top_srcdir/tests/interop/lib.sh"
tmp=$(mktemp -d /tmp/authtag-arcov.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; sed 's/^/    | /' "$tmp/out"; }

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/author.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/list.pem" 2>/dev/null
{
	echo "sel._domainkey.example.com v=DKIM1; k=rsa; p=$(openssl pkey -in "$tmp/author.pem" -pubout -outform DER | base64 -w0)"
	echo "arc._domainkey.lists.example.org v=DKIM1; k=rsa; p=$(openssl pkey -in "$tmp/list.pem" -pubout -outform DER | base64 -w0)"
	echo "_dmarc.example.com v=DMARC1; p=reject"
	echo "example.com v=spf1 ip4:192.0.2.1 -all"
	echo "lists.example.org v=spf1 ip4:198.51.100.10 -all"
} >"$tmp/records"
it_dns_conf "$tmp/records" "$tmp/dns.conf"
# conf NAME ID LINES... - an authtag.conf
conf() {
	f=$tmp/$1.conf id=$2
	shift 2
	{
		echo "AuthservID $id"
		echo "ResolverConfig $tmp/dns.conf"
		echo "Resolver 127.0.0.1@9"
		echo "ResolverTimeout 2"
		echo "RulesDir $top_srcdir/rules"
		for l in "$@"; do echo "$l"; done
	} >"$f"
}
conf list lists.example.org
# the list's own authtag sealing what its list manager resubmits, with the
# results it wrote on arrival (ARCSealArrivalResults)
conf listseal lists.example.org "ARCSign yes" "ARCSignDomain lists.example.org" \
	"ARCSignSelector arc" "ARCSignKeyFile $tmp/list.pem" "ARCSealMail submitted" \
	"ARCSealArrivalResults yes"
conf mx mx.example.net
conf mxtrust mx.example.net "ARCTrustedSealers lists.example.org" "RejectFailures yes"
conf mxother mx.example.net "ARCTrustedSealers other.example.org"

it_helpers
cat >"$tmp/arcsign.py" <<'PYEOF'
# arcsign.py KEY MSG - MSG with dkimpy's ARC set for lists.example.org
import sys, dkim
msg = open(sys.argv[2], "rb").read().replace(b"\n", b"\r\n")
hdrs = dkim.ARC(msg).sign(b"arc", b"lists.example.org", open(sys.argv[1], "rb").read(),
                          b"lists.example.org")
sys.stdout.buffer.write((b"".join(hdrs) + msg).replace(b"\r\n", b"\n"))
PYEOF

printf 'From: Alice <alice@example.com>\nTo: list@lists.example.org\nSubject: hello\nDate: Sat, 05 Dec 2026 12:00:00 +0000\nMessage-ID: <ov-1@example.com>\n\nHello list.\n' >"$tmp/m0"
$PY /usr/bin/dkimsign sel example.com "$tmp/author.pem" <"$tmp/m0" >"$tmp/m1"
# the list host receives it from the author's server
$check -c "$tmp/list.conf" --client-ip 192.0.2.1 --mail-from alice@example.com "$tmp/m1" >"$tmp/out" 2>&1
grep -q 'dmarc=pass' "$tmp/out" && ok "list host: dmarc=pass on arrival" || not_ok "list host: dmarc=pass on arrival"
$PY "$tmp/apply.py" "$tmp/out" "$tmp/m1" |
	sed -e 's/^Subject: hello/Subject: [list] hello/' >"$tmp/m2"
printf -- '-- \nThe list footer.\n' >>"$tmp/m2"
$PY "$tmp/arcsign.py" "$tmp/list.pem" "$tmp/m2" >"$tmp/m3"
grep -q '^ARC-Seal:' "$tmp/m3" && ok "list host: sealed (dkimpy)" || not_ok "list host: sealed (dkimpy)"

# unfold OUT - the Authentication-Results and X-Spam lines, unfolded
run() {
	$check -c "$tmp/$1.conf" --client-ip 198.51.100.10 --mail-from bounce@lists.example.org "$2" >"$tmp/raw" 2>&1 ||
		echo "authtag-check exit status $?" >>"$tmp/raw"
	it_unfold <"$tmp/raw" >"$tmp/out"
}
expect() {
	name=$1; shift
	for re in "$@"; do
		case $re in
		!*) grep -Eq -- "${re#!}" "$tmp/out" && { echo "    unexpected: ${re#!}"; not_ok "$name"; return; } ;;
		*) grep -Eq -- "$re" "$tmp/out" || { echo "    missing: $re"; not_ok "$name"; return; } ;;
		esac
	done
	ok "$name"
}

run mx "$tmp/m3"
expect "list not trusted: dmarc=fail dis=reject, arc=pass, spam" \
	'dkim=fail' 'arc=pass \(i=1 lists.example.org\)' 'dmarc=fail \(p=reject sp=reject dis=reject' \
	'^X-Spam-Flag: YES' '!arc override'
run mxtrust "$tmp/m3"
expect "list trusted: dmarc=fail overridden, dis=none, not spam, not rejected" \
	'arc=pass' 'dmarc=fail \(p=reject sp=reject dis=none;[^)]*arc override by lists.example.org\)' \
	'AUTHTAG_ARC_OVERRIDE' '!^X-Spam-Flag: YES' '!^# reject' '!^# quarantine'
run mxother "$tmp/m3"
expect "another sealer trusted: no override" 'dmarc=fail \(p=reject sp=reject dis=reject' '!arc override'
sed 's/dmarc=pass/dmarc=pass (forged)/' "$tmp/m3" | sed '0,/^ARC-Authentication-Results: i=1; lists.example.org/s//ARC-Authentication-Results: i=1; lists.example.org; x=1/' >"$tmp/m4"
run mxtrust "$tmp/m4"
expect "trusted list, AAR altered after sealing: arc=fail, no override, rejected" \
	'arc=fail' '!arc override' '^# reject: 550 5.7.1'

# the list host is authtag too: the list manager resubmits the rewritten
# message (sendmail(1): --local) and authtag seals it with the results it
# wrote on arrival, which the message still carries
$check -c "$tmp/listseal.conf" --local "$tmp/m2" >"$tmp/out" 2>&1
if grep -q '^# sealed: i=1 cv=none$' "$tmp/out" &&
	it_unfold <"$tmp/out" | grep -E '^ARC-Authentication-Results: i=1; lists.example.org;' | grep -q 'dmarc=pass'; then
	ok "list host resubmission: sealed by authtag, the AAR has the arrival results (dmarc=pass)"
else
	not_ok "list host resubmission: sealed by authtag, the AAR has the arrival results (dmarc=pass)"
fi
$PY "$tmp/apply.py" "$tmp/out" "$tmp/m2" >"$tmp/m5"
run mxtrust "$tmp/m5"
expect "authtag as the list's sealer, trusted: overridden, not spam" \
	'arc=pass \(i=1 lists.example.org\)' 'dmarc=fail \(p=reject sp=reject dis=none;[^)]*arc override by lists.example.org\)' \
	'!^X-Spam-Flag: YES' '!^# reject'
sed 's/^ARCSealArrivalResults yes/ARCSealArrivalResults no/' "$tmp/listseal.conf" >"$tmp/listown.conf"
$check -c "$tmp/listown.conf" --local "$tmp/m2" >"$tmp/out" 2>&1
$PY "$tmp/apply.py" "$tmp/out" "$tmp/m2" >"$tmp/m6"
run mxtrust "$tmp/m6"
expect "without ARCSealArrivalResults the AAR has no author result: no override" \
	'arc=pass' '!arc override' '^X-Spam-Flag: YES'

echo "arc override: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
