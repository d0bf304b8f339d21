#!/bin/sh
# dkim_opendkim.sh - what opendkim and mailauth sign, authtag verifies
#
# opendkim signs as a milter (Debian's opendkim 2.11, started here in the
# foreground on 127.0.0.1, driven by Debian's miltertest; stopped by its
# PID): rsa-sha256 and ed25519-sha256 (its SignatureAlgorithm, one per
# configuration) under each Canonicalization an opendkim site uses. mailauth (npm, its dkimSign)
# signs with RSA and ed25519 where it is installed. authtag-check must
# say dkim=pass with the signer's d= and s= for every signature, and
# dkim=fail once the body is changed. One exception, checked as such:
# opendkim 2.11's ed25519-sha256 signatures with simple header
# canonicalization verify nowhere (authtag, dkimpy and mailauth all say
# the signature is bad; its rsa-sha256 simple/simple ones verify). (opendkim's opendkim-testmsg is not
# used: the b= it prints repeats its last characters.) Skips (77) when
# opendkim or miltertest is missing, unless AUTHTAG_REQUIRE_OPENDKIM=1.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
check="$top_builddir/authtag-check"
[ -n "${AUTHTAG_VALGRIND:-}" ] && check="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $check"
MAILAUTH_DIR=${MAILAUTH_DIR:-/opt/authtag-npm/node_modules/mailauth}
odkim=$(command -v opendkim || true)
[ -z "$odkim" ] && [ -x /usr/sbin/opendkim ] && odkim=/usr/sbin/opendkim
if [ -z "$odkim" ] || ! command -v miltertest >/dev/null; then
	[ "${AUTHTAG_REQUIRE_OPENDKIM:-}" = 1 ] && { echo "opendkim and miltertest are required"; exit 1; }
	echo "SKIP: opendkim or miltertest missing"; exit 77
fi
mailauth=no
if command -v node >/dev/null && [ -d "$MAILAUTH_DIR" ]; then
	mailauth=yes
elif [ "${AUTHTAG_REQUIRE_MAILAUTH:-}" = 1 ]; then
	echo "mailauth is required but not found in $MAILAUTH_DIR"; exit 1
fi

. "$top_srcdir/tests/interop/lib.sh"
tmp=$(mktemp -d /tmp/authtag-odkim.XXXXXX)
od_pid=
cleanup() {
	[ -n "$od_pid" ] && kill "$od_pid" 2>/dev/null && wait "$od_pid" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0

openssl genrsa -traditional -out "$tmp/rsa.pem" 2048 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$tmp/ed.pem" 2>/dev/null
chmod 600 "$tmp/rsa.pem" "$tmp/ed.pem"
spki=$(openssl pkey -in "$tmp/rsa.pem" -pubout -outform DER | base64 -w0)
edraw=$(openssl pkey -in "$tmp/ed.pem" -pubout -outform DER | tail -c 32 | base64 -w0)
printf 'rsa._domainkey.example.com v=DKIM1; k=rsa; p=%s\ned._domainkey.example.com v=DKIM1; k=ed25519; p=%s\n' \
	"$spki" "$edraw" >"$tmp/records"
it_dns_conf "$tmp/records" "$tmp/dns.conf"
cat >"$tmp/authtag.conf" <<CONF
AuthservID       mx.example.org
ResolverConfig   $tmp/dns.conf
Resolver         127.0.0.1@9
ResolverTimeout  2
RulesDir         $top_srcdir/rules
CONF

printf 'From: Alice <alice@example.com>\nTo: bob@example.org,\n\tcarol@example.org\nSubject:   signed  by\n  another   signer \t\nDate: Sat, 05 Dec 2026 12:00:00 +0000\nMessage-ID: <od-1@example.com>\n\nHello Bob,  \n\n\twith trailing space   \nand blank lines at the end\n\n\n' >"$tmp/m"

# verify NAME FILE WANT - authtag-check's dkim= results for FILE, in order,
# as "result:d:s" joined by commas
verify() {
	name=$1 file=$2 want=$3
	$check -c "$tmp/authtag.conf" "$file" >"$tmp/out" 2>"$tmp/err" ||
		{ failed=$((failed + 1)); echo "not ok - $name: authtag-check failed"; cat "$tmp/err"; return; }
	got=$(it_unfold <"$tmp/out" |
		grep '^Authentication-Results:' |
		grep -oE 'dkim=[a-z]+ (\([^)]*\) )?header\.d=[^ ]+ header\.i=[^ ]+ header\.s=[^ ;]+' |
		sed 's/^dkim=\([a-z]*\) .*header\.d=\([^ ]*\) .*header\.s=\([^ ;]*\)$/\1:\2:\3/' | paste -sd, -)
	if [ "$got" = "$want" ]; then
		passed=$((passed + 1)); echo "ok - $name: $got"
	else
		failed=$((failed + 1)); echo "not ok - $name: want $want, got $got"
		sed 's/^/    | /' "$file" | head -20
	fi
}

# opendkim as the signer, through miltertest
cat >"$tmp/sign.lua" <<'LUAEOF'
-- sign.lua - send msg through the milter at sock, write the
-- DKIM-Signature fields it adds (in the order they will stand) to out
local conn = mt.connect(sock, 40, 0.25)
assert(conn ~= nil, "cannot connect to " .. sock)
assert(mt.conninfo(conn, "localhost", "127.0.0.1") == nil)
assert(mt.mailfrom(conn, "<alice@example.com>") == nil)
assert(mt.rcptto(conn, "<bob@example.org>") == nil)
local f = assert(io.open(msg, "rb"))
local text = f:read("*a")
f:close()
local head, body = text:match("^(.-)\n\n(.*)$")
local headers = {}
for line in (head .. "\n"):gmatch("(.-)\n") do
	if line:match("^[ \t]") then
		headers[#headers][2] = headers[#headers][2] .. "\r\n" .. line
	else
		local n, v = line:match("^([^:]+):(.*)$")
		headers[#headers + 1] = { n, v }
	end
end
for _, h in ipairs(headers) do
	-- opendkim, like Postfix, gets values without the space after ':'
	assert(mt.header(conn, h[1], (h[2]:gsub("^ ", ""))) == nil)
end
assert(mt.eoh(conn) == nil)
assert(mt.bodystring(conn, (body:gsub("\n", "\r\n"))) == nil)
assert(mt.eom(conn) == nil)
local o = assert(io.open(out, "wb"))
local i = 0
while true do
	local v = mt.getheader(conn, "DKIM-Signature", i)
	if v == nil then break end
	o:write("DKIM-Signature:" .. (v:sub(1, 1) == " " and "" or " ") ..
		v:gsub("\r\n", "\n") .. "\n")
	i = i + 1
end
o:close()
mt.disconnect(conn)
LUAEOF

# opendkim signs with one algorithm per configuration (SignatureAlgorithm)
for canon in relaxed/relaxed simple/simple relaxed/simple; do
	for alg in rsa ed; do
		case $alg in
		rsa) sigalg=rsa-sha256 ;;
		ed) sigalg=ed25519-sha256 ;;
		esac
		printf 'k1 example.com:%s:%s/%s.pem\n' $alg "$tmp" $alg >"$tmp/KeyTable"
		printf '*@example.com k1\n' >"$tmp/SigningTable"
		# a port of its own per run: the previous one may linger
		port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		cat >"$tmp/opendkim.conf" <<EOF
Mode s
Syslog no
KeyTable $tmp/KeyTable
SigningTable refile:$tmp/SigningTable
SignatureAlgorithm $sigalg
InternalHosts 127.0.0.1
Canonicalization $canon
OversignHeaders From
# the keys are under /tmp, which opendkim calls unsafe (world-writable)
RequireSafeKeys false
Socket inet:$port@127.0.0.1
EOF
		"$odkim" -f -x "$tmp/opendkim.conf" >"$tmp/opendkim.log" 2>&1 &
		od_pid=$!
		rm -f "$tmp/sigs"
		miltertest -D sock="inet:$port@127.0.0.1" -D msg="$tmp/m" -D out="$tmp/sigs" \
			-s "$tmp/sign.lua" >"$tmp/mt.log" 2>&1
		kill "$od_pid"; wait "$od_pid" 2>/dev/null; od_pid=
		if [ "$(grep -c '^DKIM-Signature:' "$tmp/sigs" 2>/dev/null)" != 1 ] ||
			! grep -q "a=$sigalg;" "$tmp/sigs"; then
			failed=$((failed + 1)); echo "not ok - opendkim $sigalg $canon: no signature"
			cat "$tmp/mt.log" "$tmp/opendkim.log"; continue
		fi
		cat "$tmp/sigs" "$tmp/m" >"$tmp/s"
		if [ "$sigalg/$canon" = ed25519-sha256/simple/simple ]; then
			# opendkim 2.11's ed25519 signature with simple header
			# canonicalization does not verify anywhere: dkimpy
			# must reject it too, or the fault would be ours
			verify "opendkim $sigalg $canon (opendkim's defect)" "$tmp/s" "fail:example.com:$alg"
			got=$(/usr/bin/python3 -c 'import sys, dkim
rec = b"v=DKIM1; k=ed25519; p=" + sys.argv[1].encode()
print(dkim.verify(open(sys.argv[2], "rb").read(), dnsfunc=lambda n, timeout=5: rec))' "$edraw" "$tmp/s" 2>&1)
			if [ "$got" = False ]; then
				passed=$((passed + 1)); echo "ok - dkimpy rejects it as well"
			else
				failed=$((failed + 1)); echo "not ok - dkimpy says $got of opendkim's ed25519 simple/simple signature"
			fi
			continue
		fi
		verify "opendkim $sigalg $canon" "$tmp/s" "pass:example.com:$alg"
		sed 's/Hello Bob/Hello Eve/' "$tmp/s" >"$tmp/f"
		verify "opendkim $sigalg $canon, body changed" "$tmp/f" "fail:example.com:$alg"
	done
done

# mailauth as the signer
if [ "$mailauth" = yes ]; then
	cat >"$tmp/msign.js" <<'JSEOF'
const fs = require('fs');
const { dkimSign } = require(process.argv[2] + '/lib/dkim/sign');
const [,, , keyfile, selector, algo, canon, file] = process.argv;
dkimSign(fs.readFileSync(file), {
    canonicalization: canon,
    signatureData: [{ signingDomain: 'example.com', selector,
        privateKey: fs.readFileSync(keyfile), algorithm: algo }]
}).then(r => {
    if (r.errors.length) { console.error(JSON.stringify(r.errors)); process.exit(1); }
    process.stdout.write(r.signatures);
    process.stdout.write(fs.readFileSync(file));
}).catch(e => { console.error(e.message); process.exit(1); });
JSEOF
	for canon in relaxed/relaxed simple/simple; do
		node "$tmp/msign.js" "$MAILAUTH_DIR" "$tmp/rsa.pem" rsa rsa-sha256 "$canon" "$tmp/m" >"$tmp/s" &&
			verify "mailauth rsa-sha256 $canon" "$tmp/s" pass:example.com:rsa
		node "$tmp/msign.js" "$MAILAUTH_DIR" "$tmp/ed.pem" ed ed25519-sha256 "$canon" "$tmp/m" >"$tmp/s" &&
			verify "mailauth ed25519-sha256 $canon" "$tmp/s" pass:example.com:ed
	done
	sed 's/Hello Bob/Hello Eve/' "$tmp/s" >"$tmp/f"
	verify "mailauth, body changed" "$tmp/f" fail:example.com:ed
fi

echo "opendkim/mailauth signed, authtag verified: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
