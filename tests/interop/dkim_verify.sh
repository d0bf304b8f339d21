#!/bin/sh
# dkim_verify.sh - what other DKIM implementations sign, authtag verifies
#
# Signs a set of messages with dkimpy (dkimsign: rsa-sha256, ed25519-sha256
# and rsa-sha1; simple and relaxed canonicalizations; i=), publishes the
# public keys as hermetic
# DNS data (RSA as SubjectPublicKeyInfo and as bare PKCS#1 RSAPublicKey,
# ed25519 as the raw 32 octets, RFC 8463), and checks authtag-check's
# Authentication-Results: dkim=pass with the signer's d= and s= for each,
# dkim=fail after the body or a signed header is changed, and
# dkim=policy for rsa-sha1 (RFC 8301). Skips (77) when dkimpy is
# missing; .ci/run installs it. (libopendkim's opendkim-testmsg cannot
# serve as a second signer: the b= it prints repeats its last characters,
# "...jxw==MmCjxw==", measured with opendkim-tools 2.11.0~beta2.)
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
check="$top_builddir/authtag-check"
[ -n "${AUTHTAG_VALGRIND:-}" ] && check="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $check"
PY=/usr/bin/python3
$PY -c 'import dkim' 2>/dev/null || { echo "SKIP: python3-dkim missing"; exit 77; }
command -v dkimsign >/dev/null || { echo "SKIP: dkimsign missing"; exit 77; }

. "$top_srcdir/tests/interop/lib.sh"
tmp=$(mktemp -d /tmp/authtag-dkimio.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$tmp/ed.pem" 2>/dev/null
# dkimpy reads an ed25519 key as its raw 32 octets in base64 (dknewkey)
openssl pkey -in "$tmp/ed.pem" -outform DER | tail -c 32 | base64 -w0 >"$tmp/ed.dkimpy"
spki=$(openssl pkey -in "$tmp/rsa.pem" -pubout -outform DER | base64 -w0)
pkcs1=$(openssl rsa -in "$tmp/rsa.pem" -RSAPublicKey_out -outform DER 2>/dev/null | base64 -w0)
edraw=$(openssl pkey -in "$tmp/ed.pem" -pubout -outform DER | tail -c 32 | base64 -w0)
[ -n "$spki" ] && [ -n "$pkcs1" ] && [ -n "$edraw" ] || { echo "key generation failed"; exit 1; }

printf 'rsa._domainkey.example.com v=DKIM1; k=rsa; p=%s\npkcs1._domainkey.example.com v=DKIM1; k=rsa; p=%s\ned._domainkey.example.com v=DKIM1; k=ed25519; p=%s\n' \
	"$spki" "$pkcs1" "$edraw" >"$tmp/records"
it_dns_conf "$tmp/records" "$tmp/dns.conf"
cat >"$tmp/authtag.conf" <<CONF
AuthservID       mx.example.org
ResolverConfig   $tmp/dns.conf
Resolver         127.0.0.1@9
ResolverTimeout  2
RulesDir         $top_srcdir/rules
CONF

# the messages: a plain one, one with folded headers and trailing white
# space, one whose body has trailing empty lines and no final CRLF
printf 'From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: interop\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <io-1@example.com>\r\n\r\nHello Bob,\r\n\r\nthis is signed.\r\n' >"$tmp/m1"
printf 'From: Alice <alice@example.com>\r\nTo: bob@example.org,\r\n\tcarol@example.org\r\nSubject:   folded   \r\n  subject line \t\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\n\r\nline with trailing space   \r\n\ttabbed\tline\r\n\r\n\r\n' >"$tmp/m2"
printf 'From: alice@example.com\r\nSubject: no final CRLF\r\n\r\nfirst\r\n\r\nlast line' >"$tmp/m3"

# verify NAME FILE WANT D S - authtag-check's dkim= result for FILE
verify() {
	name=$1 file=$2 want=$3 d=$4 s=$5
	$check -c "$tmp/authtag.conf" "$file" >"$tmp/out" 2>"$tmp/err"
	# unfold, then the dkim= clause
	got=$(it_unfold <"$tmp/out" |
		grep '^Authentication-Results:' | grep -oE "dkim=[a-z]+( \([^)]*(\([^)]*\))?[^)]*\))? header\.d=[^ ]+ header\.i=[^ ]+ header\.s=[^ ]+" | head -1)
	case $got in
	"dkim=$want "*"header.d=$d "*"header.s=$s")
		passed=$((passed + 1)); echo "ok - $name: $got" ;;
	*)
		failed=$((failed + 1)); echo "not ok - $name: want dkim=$want d=$d s=$s, got: $got"
		sed 's/^/    | /' "$tmp/out" "$tmp/err" ;;
	esac
}

# dkimpy
for m in m1 m2 m3; do
	for hc in simple relaxed; do
		for bc in simple relaxed; do
			$PY /usr/bin/dkimsign --hcanon $hc --bcanon $bc rsa example.com "$tmp/rsa.pem" <"$tmp/$m" >"$tmp/s" &&
				verify "dkimpy rsa-sha256 $hc/$bc $m" "$tmp/s" pass example.com rsa
		done
		$PY /usr/bin/dkimsign --hcanon $hc --bcanon relaxed --signalg ed25519-sha256 ed example.com "$tmp/ed.dkimpy" <"$tmp/$m" >"$tmp/s" &&
			verify "dkimpy ed25519-sha256 $hc/relaxed $m" "$tmp/s" pass example.com ed
	done
	$PY /usr/bin/dkimsign pkcs1 example.com "$tmp/rsa.pem" <"$tmp/$m" >"$tmp/s" &&
		verify "dkimpy rsa-sha256, key published as PKCS#1 $m" "$tmp/s" pass example.com pkcs1
done
$PY /usr/bin/dkimsign --identity alice@sub.example.com rsa example.com "$tmp/rsa.pem" <"$tmp/m1" >"$tmp/s" &&
	verify "dkimpy i= in a subdomain" "$tmp/s" pass example.com rsa
$PY /usr/bin/dkimsign --signalg rsa-sha1 rsa example.com "$tmp/rsa.pem" <"$tmp/m1" >"$tmp/s" &&
	verify "dkimpy rsa-sha1 (RFC 8301)" "$tmp/s" policy example.com rsa
# changed after signing
$PY /usr/bin/dkimsign --hcanon relaxed --bcanon relaxed rsa example.com "$tmp/rsa.pem" <"$tmp/m1" >"$tmp/s"
sed 's/this is signed/this is forged/' "$tmp/s" >"$tmp/f"
verify "dkimpy, body changed" "$tmp/f" fail example.com rsa
sed 's/^Subject: interop/Subject: interop!/' "$tmp/s" >"$tmp/f"
verify "dkimpy, Subject changed" "$tmp/f" fail example.com rsa

echo "dkim interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
