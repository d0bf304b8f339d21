#!/bin/sh
# test_signing.sh - signing as an opendkim site configures it, checked the
# way its administrator would: authtag-check's output applied to the
# message (headers prepended, "# remove:" lines applied) must verify with
# dkimpy, with opendkim's own verifier (opendkim -t, keys from its
# TestDNSData) and with mailauth where installed; mail that is not ours
# is not signed and "# signed: no(why)" says why; `authtag -n` names the
# file and line of table errors and compares each selector's published
# key with the private key.
#
# Keys: RSA from opendkim-genkey (PKCS#1 PEM) when installed, else
# openssl; ed25519 as PKCS#8 PEM. DNS: the same records given to dkimpy
# (dnsfunc), opendkim (TestDNSData), mailauth (resolver) and authtag
# (unbound local-data).
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
check="$top_builddir/authtag-check"
daemon="$top_builddir/authtag"
if [ -n "${AUTHTAG_VALGRIND:-}" ]; then
	vg="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99"
	check="$vg $check" daemon="$vg $daemon"
fi
PY=/usr/bin/python3
MAILAUTH_DIR=${MAILAUTH_DIR:-/opt/authtag-npm/node_modules/mailauth}
$PY -c 'import dkim' 2>/dev/null || { echo "SKIP: python3-dkim missing"; exit 77; }
odkim=$(command -v opendkim || true)
[ -z "$odkim" ] && [ -x /usr/sbin/opendkim ] && odkim=/usr/sbin/opendkim
if [ -z "$odkim" ]; then
	[ "${AUTHTAG_REQUIRE_OPENDKIM:-}" = 1 ] && { echo "opendkim is required but not installed"; exit 1; }
	echo "note: opendkim not installed: dkimpy and mailauth only"
fi
mailauth=no
if command -v node >/dev/null && [ -d "$MAILAUTH_DIR" ]; then
	mailauth=yes
elif [ "${AUTHTAG_REQUIRE_MAILAUTH:-}" = 1 ]; then
	echo "mailauth is required but not found in $MAILAUTH_DIR"; exit 1
fi

. "$top_srcdir/tests/interop/lib.sh"
tmp=$(mktemp -d /tmp/authtag-signing.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; [ -f "$tmp/out" ] && sed 's/^/    | /' "$tmp/out"; }

mkdir "$tmp/keys"
if command -v opendkim-genkey >/dev/null; then
	(cd "$tmp/keys" && opendkim-genkey -b 2048 -d example.com -s rsa1) || exit 1
	mv "$tmp/keys/rsa1.private" "$tmp/keys/rsa1.pem"
else
	openssl genrsa -traditional -out "$tmp/keys/rsa1.pem" 2048 2>/dev/null
fi
openssl genpkey -algorithm ed25519 -out "$tmp/keys/ed1.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/keys/rsa2.pem" 2>/dev/null
# a key per domain for the '%' key path: example.net's
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$tmp/keys/example.net.pem" 2>/dev/null
chmod 600 "$tmp"/keys/*.pem

pub_rsa() { openssl pkey -in "$1" -pubout -outform DER | base64 -w0; }
pub_ed() { openssl pkey -in "$1" -pubout -outform DER | tail -c 32 | base64 -w0; }
{
	echo "rsa1._domainkey.example.com v=DKIM1; k=rsa; p=$(pub_rsa "$tmp/keys/rsa1.pem")"
	echo "ed1._domainkey.example.com v=DKIM1; k=ed25519; p=$(pub_ed "$tmp/keys/ed1.pem")"
	echo "rsa2._domainkey.example.com v=DKIM1; k=rsa; p=$(pub_rsa "$tmp/keys/rsa2.pem")"
	echo "net._domainkey.example.net v=DKIM1; k=rsa; p=$(pub_rsa "$tmp/keys/example.net.pem")"
	# published wrong: rsa2's record under the name of a rotated selector
	echo "rotated._domainkey.example.com v=DKIM1; k=rsa; p=$(pub_rsa "$tmp/keys/rsa2.pem")"
} >"$tmp/records"

it_dns_conf "$tmp/records" "$tmp/dns.conf"

it_helpers
printf 'Mode v\nSyslog no\nAlwaysAddARHeader yes\nTestDNSData %s\nMinimumKeyBits 1024\n' "$tmp/records" >"$tmp/opendkim.conf"

# conf NAME LINES... - an authtag.conf with the resolver and these lines
conf() {
	f="$tmp/$1.conf"; shift
	{
		echo "AuthservID mx.example.org"
		echo "ResolverConfig $tmp/dns.conf"
		echo "Resolver 127.0.0.1@9"
		echo "ResolverTimeout 2"
		echo "RulesDir $top_srcdir/rules"
		echo "Socket inet:9999@127.0.0.1"
		for l in "$@"; do echo "$l"; done
	} >"$f"
}

printf 'From: Alice <alice@example.com>\nTo: bob@example.org\nSubject: outbound\nDate: Sat, 05 Dec 2026 12:00:00 +0000\nMessage-ID: <o-1@example.com>\nX-Spam-Flag: YES\n\nHello Bob,\n\nthis is ours.\n' >"$tmp/m1"
sed 's/alice@example.com/carol@example.com/' "$tmp/m1" >"$tmp/m-carol"
sed 's/alice@example.com/dave@sub.example.com/' "$tmp/m1" >"$tmp/m-sub"
sed 's/alice@example.com/erin@example.net/' "$tmp/m1" >"$tmp/m-net"
sed 's/alice@example.com/frank@example.org/' "$tmp/m1" >"$tmp/m-org"

# sign NAME CONF MSG ARGS... - run authtag-check; the delivered form in $tmp/d
sign() {
	name=$1 c=$2 m=$3; shift 3
	$check -c "$tmp/$c.conf" "$@" "$tmp/$m" >"$tmp/raw" 2>"$tmp/err"
	[ $? -eq 0 ] || not_ok "$name: authtag-check exit status (valgrind: 99)"
	# the checks read header fields unfolded, as procmail does
	it_unfold <"$tmp/raw" >"$tmp/out"
	cat "$tmp/err" >>"$tmp/out"
	$PY "$tmp/apply.py" "$tmp/raw" "$tmp/$m" >"$tmp/d"
}
# expect NAME ERE... - each must match the output
expect() {
	name=$1; shift
	for re in "$@"; do
		grep -Eq -- "$re" "$tmp/out" || { echo "    missing: $re"; not_ok "$name"; return; }
	done
	ok "$name"
}
refuse() {
	name=$1; shift
	for re in "$@"; do
		grep -Eq -- "$re" "$tmp/out" && { echo "    unexpected: $re"; not_ok "$name"; return; }
	done
	ok "$name"
}
# verified NAME WANT [MAILAUTH_WANT] - every verifier's verdicts on $tmp/d
# (e.g. pass,pass); mailauth calls a body hash mismatch "neutral"
verified() {
	name=$1 want=$2 mwant=${3:-$2}
	got=$($PY "$tmp/dkimpy.py" "$tmp/records" "$tmp/d" 2>&1)
	[ "$got" = "$want" ] && ok "dkimpy: $name: $got" || not_ok "dkimpy: $name: want $want, got $got"
	if [ -n "$odkim" ]; then
		# opendkim adds one A-R with a dkim= result per signature
		got=$($odkim -x "$tmp/opendkim.conf" -vvv -t "$tmp/d" 2>&1 |
			grep -oE 'dkim=[a-z]+' | sed 's/dkim=//' | paste -sd, -)
		[ "$got" = "$want" ] && ok "opendkim: $name: $got" || not_ok "opendkim: $name: want $want, got $got"
	fi
	if [ "$mailauth" = yes ]; then
		got=$(node "$tmp/mailauth.js" "$MAILAUTH_DIR" "$tmp/records" "$tmp/d" 2>&1)
		[ "$got" = "$mwant" ] && ok "mailauth: $name: $got" || not_ok "mailauth: $name: want $mwant, got $got"
	fi
}

# 1. KeyTable + refile: SigningTable, MultipleSignatures: RSA and ed25519
cat >"$tmp/KeyTable" <<EOF
# key name                  domain:selector:key
rsa1._domainkey.example.com example.com:rsa1:$tmp/keys/rsa1.pem
ed1._domainkey.example.com  example.com:ed1:$tmp/keys/ed1.pem
rsa2 example.com:rsa2:$tmp/keys/rsa2.pem
net  %:net:$tmp/keys/%.pem
EOF
cat >"$tmp/SigningTable" <<EOF
*@example.com rsa1._domainkey.example.com
*@example.com ed1._domainkey.example.com
*@example.net net
EOF
conf dual "KeyTable $tmp/KeyTable" "SigningTable refile:$tmp/SigningTable" "MultipleSignatures yes"
sign "auth" dual m1 --client-ip 192.0.2.1 --auth-user alice
expect "authenticated: two signatures, RSA and ed25519, above the A-R" \
	'^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;' \
	'a=ed25519-sha256' '^# signed: example.com:rsa1,example.com:ed1$'
[ "$(grep -n '' "$tmp/out" | grep -E '^[0-9]+:(DKIM-Signature|Authentication-Results):' | cut -d: -f2 | paste -sd' ' -)" = \
	"DKIM-Signature DKIM-Signature Authentication-Results" ] &&
	ok "order: the signatures first, then our A-R" || not_ok "order: the signatures first, then our A-R"
expect "From oversigned (OversignHeaders default From)" 'h=from:.*:from;'
expect "the incoming X-Spam-Flag is removed" '^# remove: X-Spam-Flag\[1\]$'
verified "RSA + ed25519, relaxed/relaxed" pass,pass
sed 's/this is ours/this is forged/' "$tmp/d" >"$tmp/d2" && mv "$tmp/d2" "$tmp/d"
verified "body changed after signing" fail,fail neutral,neutral

sign "external" dual m1 --client-ip 192.0.2.1
refuse "outside client: not signed" '^DKIM-Signature:'
expect "outside client: the log says who used our domain" '^# signed: no\(external client sent mail as example.com\)$'
sign "inbound" dual m-org --client-ip 192.0.2.1
refuse "inbound mail for another domain: nothing about signing" '^DKIM-Signature:' '^# signed:'
sign "trusted" dual m1 --client-ip 127.0.0.1
expect "TrustedNetworks client (InternalHosts default): signed" '^# signed: example.com:rsa1,example.com:ed1$'
sign "local" dual m1 --local
expect "local submission (sendmail(1)): signed" '^# signed: example.com:rsa1,example.com:ed1$'
verified "local submission" pass,pass
sign "percent" dual m-net --auth-user erin
expect "'%' domain and key path: d= and key file from the From domain" 'd=example.net;' 's=net;' '^# signed: example.net:net$'
verified "'%' key path" pass
sign "no match" dual m-org --auth-user frank
expect "authenticated, no table match: says so" '^# signed: no\(no signing table match for example.org\)$'
refuse "authenticated, no table match: not signed" '^DKIM-Signature:'

# 2. opendkim's order for a plain SigningTable: user@host first, one key
cat >"$tmp/SigningTable.plain" <<EOF
alice@example.com ed1._domainkey.example.com
example.com       rsa1._domainkey.example.com
.example.com      rsa2:@%
EOF
conf plain "KeyTable $tmp/KeyTable" "SigningTable $tmp/SigningTable.plain" \
	"Canonicalization simple/simple" "SignatureTTL 3600" "OversignHeaders From,Subject" \
	"SignHeaders *,+X-Spam-Flag,+X-Mailer"
sign "plain alice" plain m1 --auth-user alice
expect "file table: user@host wins, one signature" '^# signed: example.com:ed1$' 'c=simple/simple'
verified "simple/simple, ed25519" pass
t=$(grep -oE ' t=[0-9]+' "$tmp/out" | cut -d= -f2); x=$(grep -oE ' x=[0-9]+' "$tmp/out" | cut -d= -f2)
[ -n "$t" ] && [ -n "$x" ] && [ $((x - t)) -eq 3600 ] && ok "SignatureTTL 3600: x= is t= + 3600" || not_ok "SignatureTTL 3600: x= is t= + 3600 (t=$t x=$x)"
expect "OversignHeaders From,Subject: both once more at the end of h=" 'h=from:[^;]*: ?from: ?subject;'
refuse "a removed X-Spam-Flag is not signed, even when SignHeaders lists it" 'x-spam-flag'
sign "plain carol" plain m-carol --auth-user carol
expect "file table: the domain entry" '^# signed: example.com:rsa1$'
verified "simple/simple, RSA from opendkim-genkey" pass
sign "plain sub" plain m-sub --auth-user dave
expect "file table: .parent entry, i= from the table's signer field" '^# signed: example.com:rsa2$' 'i=@sub.example.com;'
verified ".parent entry with i=" pass

# 3. Domain + Selector + KeyFile, SubDomains; csl: lists
conf keyfile "Domain example.com" "Selector rsa1" "KeyFile $tmp/keys/rsa1.pem" "SubDomains yes" \
	"InternalHosts csl:192.0.2.0/24,!192.0.2.9,mail.example.com"
sign "keyfile sub" keyfile m-sub --client-ip 192.0.2.5
expect "KeyFile mode, SubDomains: d= is the listed domain" '^# signed: example.com:rsa1$'
verified "KeyFile mode" pass
sign "internal excluded" keyfile m1 --client-ip 192.0.2.9
expect "InternalHosts '!192.0.2.9' inside 192.0.2.0/24: not internal" '^# signed: no\(external client sent mail as example.com\)$'
sign "internal by name" keyfile m1 --client-ip 198.51.100.7 --client-name mail.example.com
expect "InternalHosts host name entry: signed" '^# signed: example.com:rsa1$'
conf csl "KeyTable csl:k1=example.com:rsa1:$tmp/keys/rsa1.pem" "SigningTable csl:example.com=k1" \
	"PeerList 203.0.113.0/24" "ExternalIgnoreList 198.51.100.0/24"
sign "csl" csl m1 --auth-user alice
expect "csl: inline KeyTable and SigningTable" '^# signed: example.com:rsa1$'
sign "peer" csl m1 --client-ip 203.0.113.4
expect "PeerList: not processed at all" '^# peer: 203.0.113.4 is in PeerList'
refuse "PeerList: no A-R, no signature" '^Authentication-Results:' '^DKIM-Signature:'
sign "ignored" csl m1 --client-ip 198.51.100.3
refuse "ExternalIgnoreList: no 'external client' line" '^# signed:'

# 4. SigningRequireAuthDomain
conf authdom "KeyTable $tmp/KeyTable" "SigningTable refile:$tmp/SigningTable" "SigningRequireAuthDomain yes"
sign "authdom other" authdom m1 --auth-user mallory@example.org
expect "SigningRequireAuthDomain: another domain's login may not sign" \
	"^# signed: no\\(From domain example.com is not the login's domain \\(SigningRequireAuthDomain\\)\\)$"
refuse "SigningRequireAuthDomain: not signed" '^DKIM-Signature:'
sign "authdom own" authdom m1 --auth-user alice@example.com
expect "SigningRequireAuthDomain: own domain signs" '^# signed: example.com:rsa1$'

# 5. authtag -n: table errors with file and line, key checks against DNS
# checkconf NAME WANT_RC ERE...
checkconf() {
	name=$1 want=$2; shift 2
	$daemon -n -c "$tmp/n.conf" >"$tmp/out" 2>&1
	rc=$?
	[ "$rc" = "$want" ] || { echo "    exit $rc, want $want"; not_ok "authtag -n: $name"; return; }
	expect "authtag -n: $name" "$@"
}
printf 'k1 example.com:rsa1:%s\nk2 example.com-no-selector\n' "$tmp/keys/rsa1.pem" >"$tmp/KT.bad"
printf '*@example.com k1\n' >"$tmp/ST.ok"
conf n "KeyTable $tmp/KT.bad" "SigningTable refile:$tmp/ST.ok"
checkconf "KeyTable syntax error" 2 "KT.bad:2: k2: expected domain:selector:keypath"
printf 'k1 example.com:rsa1:%s\n' "$tmp/keys/rsa1.pem" >"$tmp/KT.ok"
printf '*@example.com k1\n*@example.org k9\n' >"$tmp/ST.bad"
conf n "KeyTable $tmp/KT.ok" "SigningTable refile:$tmp/ST.bad"
checkconf "SigningTable names a missing key" 2 "ST.bad:2: key name k9 is not in the KeyTable"
printf 'k1 example.com:rsa1:%s/keys/missing.pem\n' "$tmp" >"$tmp/KT.missing"
conf n "KeyTable $tmp/KT.missing" "SigningTable refile:$tmp/ST.ok"
checkconf "missing key file" 2 "KT.missing:1: .*missing.pem: No such file"
cp "$tmp/keys/rsa1.pem" "$tmp/keys/open.pem" && chmod 644 "$tmp/keys/open.pem"
printf 'k1 example.com:rsa1:%s/keys/open.pem\n' "$tmp" >"$tmp/KT.open"
conf n "KeyTable $tmp/KT.open" "SigningTable refile:$tmp/ST.ok"
checkconf "key readable by others: warning" 0 "warning: .*KT.open:1: key file .*open.pem is readable" "OK$"
conf n "KeyTable $tmp/KT.open" "SigningTable refile:$tmp/ST.ok" "RequireSafeKeys yes"
checkconf "RequireSafeKeys yes: error" 2 "RequireSafeKeys yes"
printf 'k1 example.com:rsa1:%s/keys/rsa1.pem\nk2 example.com:rotated:%s/keys/rsa1.pem\nk3 example.com:unpublished:%s/keys/ed1.pem\n' \
	"$tmp" "$tmp" "$tmp" >"$tmp/KT.dns"
conf n "KeyTable $tmp/KT.dns" "SigningTable refile:$tmp/ST.ok"
checkconf "published keys compared" 0 \
	'KT.dns:1: rsa1._domainkey.example.com: published key matches' \
	"warning: .*KT.dns:2: rotated._domainkey.example.com: published key is not this private key's public half; publish: v=DKIM1; k=rsa; p=" \
	'warning: .*KT.dns:3: unpublished._domainkey.example.com TXT: .*; publish: v=DKIM1; k=ed25519; p='
conf n "Domain example.com" "Selector rsa1"
checkconf "Domain without KeyFile" 2 "KeyFile is missing"
conf n "SigningTable refile:$tmp/ST.ok"
checkconf "SigningTable without KeyTable" 2 "SigningTable is set but KeyTable is not"
conf n "KeyTable db:$tmp/keys.db" "SigningTable refile:$tmp/ST.ok"
checkconf "unsupported dataset type named" 2 "dataset type db: is not supported"
conf n "InternalHosts 192.0.2.0/24,not/a/net"
checkconf "bad InternalHosts entry" 2 "InternalHosts: item 2 \\(not/a/net\\)"

echo "signing: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
