#!/bin/sh
# dkim_sign.sh - what authtag signs, other DKIM implementations verify
#
# Signs messages with lib/auth/dkim_sign.c (tests/unit/dkim_sign_tool):
# rsa-sha256 and ed25519-sha256, every header/body canonicalization, LF
# and CRLF files, i=, folded and odd white space; then verifies each with
# dkimpy (dkim.verify, keys handed over by its dnsfunc) and with mailauth
# (npm; its dkimVerify with a resolver giving the same keys). A changed
# body must fail in both (the checks can fail). dkimpy is required;
# mailauth is used where it is installed (MAILAUTH_DIR, default
# /opt/authtag-npm/node_modules/mailauth) and required when
# AUTHTAG_REQUIRE_MAILAUTH=1 (.ci/run installs it).
set -u
top_builddir=${top_builddir:-.}
tool="$top_builddir/tests/unit/dkim_sign_tool"
vg=
[ -n "${AUTHTAG_VALGRIND:-}" ] && vg="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99"
PY=/usr/bin/python3
MAILAUTH_DIR=${MAILAUTH_DIR:-/opt/authtag-npm/node_modules/mailauth}
$PY -c 'import dkim' 2>/dev/null || { echo "SKIP: python3-dkim missing"; exit 77; }
[ -x "$tool" ] || { echo "build $tool first (make check does)"; exit 1; }
tool="$vg $tool"
mailauth=no
if command -v node >/dev/null && [ -d "$MAILAUTH_DIR" ]; then
	mailauth=yes
elif [ "${AUTHTAG_REQUIRE_MAILAUTH:-}" = 1 ]; then
	echo "mailauth is required but not found in $MAILAUTH_DIR"; exit 1
else
	echo "note: mailauth not installed ($MAILAUTH_DIR): dkimpy only"
fi

. "${top_srcdir:-.}/tests/interop/lib.sh"
tmp=$(mktemp -d /tmp/authtag-dkimsign.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$tmp/ed.pem" 2>/dev/null
spki=$(openssl pkey -in "$tmp/rsa.pem" -pubout -outform DER | base64 -w0)
edraw=$(openssl pkey -in "$tmp/ed.pem" -pubout -outform DER | tail -c 32 | base64 -w0)
printf 'rsa._domainkey.example.com v=DKIM1; k=rsa; p=%s\ned._domainkey.example.com v=DKIM1; k=ed25519; p=%s\n' \
	"$spki" "$edraw" >"$tmp/keys"

it_helpers

# check NAME FILE WANT [MAILAUTH_WANT] - both verifiers' verdict on FILE
check() {
	name=$1 file=$2 want=$3 mwant=${4:-$3}
	got=$($PY "$tmp/dkimpy.py" "$tmp/keys" "$file" 2>&1)
	if [ "$got" = "$want" ]; then
		passed=$((passed + 1)); echo "ok - dkimpy: $name: $got"
	else
		failed=$((failed + 1)); echo "not ok - dkimpy: $name: want $want, got $got"
		head -12 "$file" | sed 's/^/    | /'
	fi
	[ "$mailauth" = yes ] || return 0
	got=$(node "$tmp/mailauth.js" "$MAILAUTH_DIR" "$tmp/keys" "$file" 2>&1)
	if [ "$got" = "$mwant" ]; then
		passed=$((passed + 1)); echo "ok - mailauth: $name: $got"
	else
		failed=$((failed + 1)); echo "not ok - mailauth: $name: want $mwant, got $got"
	fi
}

printf 'From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: signed by authtag\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <s-1@example.com>\r\n\r\nHello Bob,\r\n\r\nthis is signed.\r\n' >"$tmp/m1"
printf 'From: Alice <alice@example.com>\nTo: bob@example.org,\n\tcarol@example.org\nSubject:   folded   \n  subject \t\nDate: Sat, 05 Dec 2026 10:00:00 +0000\n\ntrailing space   \n\ttabbed\tline\n\n\n' >"$tmp/m2"
printf 'From: alice@example.com\r\nSubject: no final CRLF\r\n\r\nfirst\r\n\r\nlast line' >"$tmp/m3"

for m in m1 m2 m3; do
	for key in rsa ed; do
		for hc in simple relaxed; do
			for bc in simple relaxed; do
				$tool "$tmp/$key.pem" example.com $key $hc $bc <"$tmp/$m" >"$tmp/s" ||
					{ failed=$((failed + 1)); echo "not ok - signing $m $key $hc/$bc"; continue; }
				check "$key $hc/$bc $m" "$tmp/s" pass
			done
		done
	done
done
$tool "$tmp/rsa.pem" example.com rsa relaxed relaxed alice@mail.example.com <"$tmp/m1" >"$tmp/s"
check "i= in a subdomain" "$tmp/s" pass
sed 's/this is signed/this is forged/' "$tmp/s" >"$tmp/f"
# mailauth reports a body hash mismatch as "neutral"
check "body changed after signing" "$tmp/f" fail neutral

echo "dkim signing interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
