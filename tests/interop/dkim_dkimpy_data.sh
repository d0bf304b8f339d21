#!/bin/sh
# dkim_dkimpy_data.sh - authtag's DKIM code against dkimpy's own test data
#
# dkimpy (Debian python3-dkim 1.1.4, zlib-style licence) ships its test
# data in /usr/lib/python3/dist-packages/dkim/tests/data/; this script
# reads it from there (.ci/run installs python3-dkim) and skips (77)
# when dkimpy or that directory is missing. The DNS name -> key record
# mapping of each case is the one dkimpy's tests (dkim/tests/test_dkim*.py)
# use, and so is the result they expect.
#
# 1. Verification: every pre-signed message of the data (the RFC 8463
#    appendix A examples, an Exim ed25519 signature, a Gmail signature
#    with degenerate folding, a d= that is not a domain, message.mbox)
#    and the unsigned ones go through authtag-check with those keys in
#    hermetic DNS (unbound local-data), the dkim= results of its
#    Authentication-Results (one per signature, top first) are checked,
#    and dkimpy's own verdict on each signature (DKIM.verify(idx=...)
#    with the same keys) must agree: pass is True, anything else False.
#    The RSA example is also checked against each key record variant of
#    the data (no k=, bad v=, unknown k=, damaged p=, s=tlsrpt), and
#    each passing message once more with its body or a signed header
#    changed (dkim=fail).
# 2. Signing: every private key of the data (PEM PKCS#1 and PKCS#8 RSA,
#    dkimpy's raw base64 ed25519) is loaded by tests/unit/dkim_sign_tool
#    (lib/auth/dkim_sign.c), which signs test.message relaxed/relaxed and
#    simple/simple; dkimpy must verify each with the matching public
#    record of the data (each checked first against openssl's derivation
#    from the private key; the RFC 8032 7.1 key's record is derived), and
#    authtag-check too. A changed body must fail in both. The data has no
#    RSA key under 1024 bits (the 512-bit key of dkimpy's tests lives in
#    their Python code only).
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
check="$top_builddir/authtag-check"
tool="$top_builddir/tests/unit/dkim_sign_tool"
vg=
[ -n "${AUTHTAG_VALGRIND:-}" ] && vg="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99"
PY=/usr/bin/python3
DATA=/usr/lib/python3/dist-packages/dkim/tests/data
$PY -c 'import dkim' 2>/dev/null || { echo "SKIP: python3-dkim missing"; exit 77; }
[ -d "$DATA" ] || { echo "SKIP: $DATA missing (python3-dkim's test data)"; exit 77; }
[ -x "$tool" ] || { echo "build $tool first (make check does)"; exit 1; }
[ -x "$check" ] || { echo "build $check first"; exit 1; }
check="$vg $check"
tool="$vg $tool"

. "$top_srcdir/tests/interop/lib.sh"
tmp=$(mktemp -d /tmp/authtag-dkimpydata.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
notok() { failed=$((failed + 1)); echo "not ok - $*"; }

# a data file's content (without its final newline, used as $(data F))
data() { cat "$DATA/$1" 2>/dev/null; }
# each file used must be there: a missing one fails
for f in rfc6376.signed.msg rfc6376.signed.rsa.msg ed25519test2.msg \
	test2.message test.message.baddomain message.mbox test.message \
	rfc6376.msg rfc6376.w1258.msg ed25519test.msg test_extra.message \
	test_nofrom.message test.txt test2.txt badversion.txt badk.txt \
	test_bad.txt test_tlsrpt.txt eximtest.dns ed25519test.dns \
	1024_testkey_wo_markers.pub.txt 1024_testkey_wo_markers.pub.rsa.txt \
	2048_testkey_wo_markers.pub.txt 2048_testkey_wo_markers.pub.rsa.txt \
	2048_testkey_PKCS8.key.pub.txt test.private test2.private \
	1024_testkey.key 2048_testkey.key 2048_testkey_PKCS8.key \
	ed25519test.key rfc8032_7_1.key; do
	[ -f "$DATA/$f" ] || notok "data file $f missing from $DATA"
done

# key records of dkimpy's tests that are not data files: Gmail's
# 20120113 key (test_dkim.py dnsfunc, for test2.message), the RFC 8463
# example key (dnsfunc5, brisbane._domainkey.football.example.com) and
# dnsfunc6's damaged 512-bit key (a "c" is missing from its p=)
gmail='k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1Kd87/UeJjenpabgbFwh+eBCsSTrqmwIYYvywlbhbqoo2DymndFkbjOVIPIldNs/m40KF+yzMn1skyoxcTUGCQs8g3FgD2Ap3ZB5DekAo5wMmk4wimDO+U8QzI3SD07y2+07wlNWwIt8svnxgdxGkVbbhzY8i+RQ9DpSVpPbF7ykQxtKXkv/ahW3KjViiAH+ghvvIhkx4xYSIc9oSwVmAl5OctMEeWUwg8Istjqz8BZeTWbf41fbNhte7Y+YqZOwq1Sd0DbvYAD9NOZK9vlfuac0598HY+vtSBczUiKERHv1yRbcaQtZFh5wtiRrN04BLUTD21MycBX5jYchHjPY/wIDAQAB'
rfc8463_pub=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
brisbane="v=DKIM1; k=ed25519; p=$rfc8463_pub"
damaged='k=rsa; p=MFwwDQYJKoZIhvNAQEBBQADSwAwSAJBANmBe10IgY+u7h3enWTukkqtUD5PR52Tb/mPfjC0QJTocVBq6Za/PlzfV+Py92VaCak19F4WrbVTK5Gg5tW220MCAwEAAQ=='

# keys NAME RECORD [NAME RECORD]... - the key records of the next case:
# $tmp/keys for dkimpy's dnsfunc, $tmp/dns.conf for authtag's resolver
keys() {
	: >"$tmp/keys"
	: >"$tmp/published"
	while [ $# -ge 2 ]; do
		printf '%s %s\n' "$1" "$2" >>"$tmp/keys"
		# a name that is no DNS name (test.message.baddomain's d=)
		# cannot be published, and must not be looked up anyway
		case $1 in
		*[!A-Za-z0-9._-]*) ;;
		*) printf '%s %s\n' "$1" "$2" >>"$tmp/published" ;;
		esac
		shift 2
	done
	it_dns_conf "$tmp/published" "$tmp/dns.conf"
}
cat >"$tmp/authtag.conf" <<CONF
AuthservID       mx.example.org
ResolverConfig   $tmp/dns.conf
Resolver         127.0.0.1@9
ResolverTimeout  2
RulesDir         $top_srcdir/rules
CONF

# dkimpy's verdict on each DKIM-Signature of a message, top first ("none"
# without any), with the keys of $tmp/keys
cat >"$tmp/dkimpy.py" <<'PYEOF'
import sys, dkim
keys = {}
for line in open(sys.argv[1]):
    name, rec = line.rstrip("\n").split(" ", 1)
    keys[name.encode() + b"."] = rec.encode()
def dnsfunc(name, timeout=5):
    return keys.get(name if name.endswith(b".") else name + b".")
msg = open(sys.argv[2], "rb").read()
n = len([h for h in dkim.DKIM(msg).headers if h[0].lower() == b"dkim-signature"])
out = []
for i in range(n):
    try:
        out.append("pass" if dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc) else "fail")
    except dkim.DKIMException as e:
        out.append("fail")
    except Exception as e:
        out.append("error(%s)" % e)
print(" ".join(out) if out else "none")
PYEOF

# the dkim= results of authtag-check's Authentication-Results, top first:
# line 1 "RESULT D S; ..." ("none" alone), line 2 the same with the reasons
cat >"$tmp/ar.awk" <<'AWKEOF'
function keep() { if (ar == "" && cur ~ /^Authentication-Results:/) ar = cur }
/^[ \t]/ { sub(/^[ \t]+/, " "); cur = cur $0; next }
{ keep(); cur = $0 }
END {
	keep()
	# split at the ";" outside comments and quoted strings
	n = 1; cl[1] = ""; depth = 0; q = 0
	for (i = 1; i <= length(ar); i++) {
		ch = substr(ar, i, 1)
		if (ch == "\\") { cl[n] = cl[n] substr(ar, i, 2); i++; continue }
		if (ch == "\"" && depth == 0) q = !q
		else if (!q && ch == "(") depth++
		else if (!q && ch == ")" && depth > 0) depth--
		else if (!q && depth == 0 && ch == ";") { cl[++n] = ""; continue }
		cl[n] = cl[n] ch
	}
	for (i = 2; i <= n; i++) {
		c = cl[i]
		sub(/^ +/, "", c)
		if (c !~ /^dkim=/)
			continue
		res = c
		sub(/^dkim=/, "", res)
		sub(/[ (].*/, "", res)
		why = ""
		if (match(c, /^dkim=[a-z]+ \(.*\) header\./))
			why = " " substr(c, 7 + length(res), RLENGTH - 14 - length(res))
		d = s = ""
		m = split(c, w, " ")
		for (j = 1; j <= m; j++) {
			if (w[j] ~ /^header\.d=/) d = substr(w[j], 10)
			if (w[j] ~ /^header\.s=/) s = substr(w[j], 10)
		}
		gsub(/"/, "", d)
		gsub(/"/, "", s)
		ds = d != "" ? " " d " " s : ""
		out = out (out == "" ? "" : "; ") res ds
		long = long (long == "" ? "" : "; ") res why ds
	}
	print out
	print long
}
AWKEOF

# authtag FILE - run authtag-check on FILE; $got and $gotlong are the
# dkim= results (see ar.awk), $gotclass authtag's verdicts as dkimpy's
# booleans (pass, none, or fail for anything else)
authtag() {
	$check -c "$tmp/authtag.conf" "$1" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	awk -f "$tmp/ar.awk" "$tmp/out" >"$tmp/ar"
	got=$(sed -n 1p "$tmp/ar")
	gotlong=$(sed -n 2p "$tmp/ar")
	[ $rc -eq 0 ] || got="authtag-check exit $rc: $got"
	gotclass=$(printf '%s\n' "$got" | tr ';' '\n' |
		awk '{ r = $1 == "pass" || $1 == "none" ? $1 : "fail"; o = o (o == "" ? "" : " ") r } END { print o }')
}

# verify NAME FILE WANT PYWANT [WHY] - authtag-check's dkim= results for
# FILE must be WANT, dkimpy's verdicts PYWANT (what dkimpy's tests
# expect), and the two must agree unless WHY says why they differ
verify() {
	name=$1 file=$2 want=$3 pywant=$4 why=${5:-}
	authtag "$file"
	if [ "$got" = "$want" ]; then
		ok "verify $name: authtag dkim=$gotlong"
	else
		notok "verify $name: authtag: want dkim=$want, got dkim=$gotlong"
		sed 's/^/    | /' "$tmp/out" "$tmp/err"
	fi
	pygot=$($PY "$tmp/dkimpy.py" "$tmp/keys" "$file" 2>"$tmp/pyerr")
	if [ "$pygot" != "$pywant" ]; then
		notok "verify $name: dkimpy: want $pywant, got $pygot"
		sed 's/^/    | /' "$tmp/pyerr"
	elif [ -z "$why" ] && [ "$pygot" = "$gotclass" ]; then
		ok "verify $name: dkimpy $pygot, agrees"
	elif [ -n "$why" ] && [ "$pygot" != "$gotclass" ]; then
		ok "verify $name: dkimpy $pygot, authtag differs: $why"
	else
		notok "verify $name: dkimpy $pygot, authtag $gotclass${why:+ (expected to differ: $why)}"
	fi
}

# change FILE SED - FILE edited by sed, in $tmp/changed
change() { sed "$2" "$1" >"$tmp/changed"; cmp -s "$1" "$tmp/changed" && echo "edit $2 changed nothing" >&2; }

## 1. verification of the data's signed (and unsigned) messages

d=$DATA
test_txt=$(data test.txt)
fb=football.example.com

# RFC 8463 appendix A: an ed25519 and an rsa-sha256 signature
# (test_dkim.py test_double_previous_verifies, dnsfunc5;
# test_dkim_ed25519.py test_rfc8032_previous_verifies)
keys brisbane._domainkey.$fb "$brisbane" test._domainkey.$fb "$test_txt"
verify "rfc6376.signed.msg" "$d/rfc6376.signed.msg" \
	"pass $fb brisbane; pass $fb test" "pass pass"
change "$d/rfc6376.signed.msg" 's/We lost the game/We won the game/'
verify "rfc6376.signed.msg, body changed" "$tmp/changed" \
	"fail $fb brisbane; fail $fb test" "fail fail"
change "$d/rfc6376.signed.msg" 's/^Subject: Is dinner ready?/Subject: Is lunch ready?/'
verify "rfc6376.signed.msg, Subject changed" "$tmp/changed" \
	"fail $fb brisbane; fail $fb test" "fail fail"
# test_dkim_ed25519.py's dnsfunc has the ed25519 key only: the rsa-sha256
# signature has no key (RFC 6376 6.1.2 step 3: PERMFAIL, RFC 8601 2.7.1
# permerror), the ed25519 one still passes
keys brisbane._domainkey.$fb "$brisbane"
verify "rfc6376.signed.msg, ed25519 key only" "$d/rfc6376.signed.msg" \
	"pass $fb brisbane; permerror $fb test" "pass fail"

# the rsa-sha256 example alone, with each key record variant of the data
keys test._domainkey.$fb "$test_txt"
verify "rfc6376.signed.rsa.msg, test.txt" "$d/rfc6376.signed.rsa.msg" \
	"pass $fb test" "pass"
change "$d/rfc6376.signed.rsa.msg" 's/^Joe\.$/Jane./'
verify "rfc6376.signed.rsa.msg, body changed" "$tmp/changed" \
	"fail $fb test" "fail"
# no k=: rsa is the default (RFC 6376 3.6.1; test_dkim.py test_implicit_k)
keys test._domainkey.$fb "$(data test2.txt)"
verify "rfc6376.signed.rsa.msg, test2.txt (no k=)" "$d/rfc6376.signed.rsa.msg" \
	"pass $fb test" "pass"
# the rest are key records a verifier must not use (RFC 6376 6.1.2,
# PERMFAIL: RFC 8601 2.7.1 permerror); dkimpy just says False.
# "v=DKIM1:" - v= must be exactly DKIM1, else the record is discarded
# (RFC 6376 3.6.1; test_bad_version)
keys test._domainkey.$fb "$(data badversion.txt)"
verify "rfc6376.signed.rsa.msg, badversion.txt" "$d/rfc6376.signed.rsa.msg" \
	"permerror $fb test" "fail"
# k=ed25519-sha256 - an unknown key type (RFC 6376 3.6.1, 6.1.2 step 8;
# test_unknown_k)
keys test._domainkey.$fb "$(data badk.txt)"
verify "rfc6376.signed.rsa.msg, badk.txt" "$d/rfc6376.signed.rsa.msg" \
	"permerror $fb test" "fail"
# p= whose DER is cut short (RFC 6376 6.1.2 steps 5/8; test_crypto.py
# test_parse_public_key rejects it)
keys test._domainkey.$fb "$(data test_bad.txt)"
verify "rfc6376.signed.rsa.msg, test_bad.txt" "$d/rfc6376.signed.rsa.msg" \
	"permerror $fb test" "fail"
# p= that is not base64 of a key (dnsfunc6; test_catch_bad_key)
keys test._domainkey.$fb "$damaged"
verify "rfc6376.signed.rsa.msg, dnsfunc6's damaged key" "$d/rfc6376.signed.rsa.msg" \
	"permerror $fb test" "fail"
# s=tlsrpt - not for email: a verifier must ignore the record (RFC 6376
# 3.6.1 s=; test_dkim_tlsrpt.py test_ignores_tlsrptsvc)
keys test._domainkey.$fb "$(data test_tlsrpt.txt)"
verify "rfc6376.signed.rsa.msg, test_tlsrpt.txt" "$d/rfc6376.signed.rsa.msg" \
	"permerror $fb test" "fail"

# signed by Exim's ed25519 prototype, CRLF, d= folded before its ";"
# (test_dkim_ed25519.py test_verify_third_party)
keys sed._domainkey.test.ex "$(data eximtest.dns)"
verify "ed25519test2.msg (Exim)" "$d/ed25519test2.msg" "pass test.ex sed" "pass"
change "$d/ed25519test2.msg" 's/^content/contents/'
verify "ed25519test2.msg, body changed" "$tmp/changed" "fail test.ex sed" "fail"
change "$d/ed25519test2.msg" 's/^From: nobody@/From: somebody@/'
verify "ed25519test2.msg, From changed" "$tmp/changed" "fail test.ex sed" "fail"

# Gmail, degenerate folding of h= and a space inside b= (Debian bug
# #711751; test_dkim.py test_degenerate_folding)
keys 20120113._domainkey.gmail.com "$gmail"
verify "test2.message (Gmail)" "$d/test2.message" "pass gmail.com 20120113" "pass"
change "$d/test2.message" 's/^Hello, DKIM/Hello, DKIM!/'
verify "test2.message, body changed" "$tmp/changed" "fail gmail.com 20120113" "fail"
change "$d/test2.message" 's/^Subject: DKIM test mail #1/Subject: DKIM test mail #2/'
verify "test2.message, Subject changed" "$tmp/changed" "fail gmail.com 20120113" "fail"

# d=legitimate.com(.attacker.com: d= must be a domain-name (RFC 6376 3.5),
# else the signature is ignored, PERMFAIL (signature syntax error, RFC
# 6376 6.1.1), RFC 8601 permerror (dnsfunc7; test_invalid_domain_verify)
keys 'test._domainkey.legitimate.com(.attacker.com' "$test_txt"
verify "test.message.baddomain" "$d/test.message.baddomain" \
	"permerror legitimate.com(.attacker.com test" "fail"

# message.mbox (kitterman.com, s=2007-00): no dnsfunc of dkimpy's tests
# has its key (they only sign it), so neither can verify: no key record,
# RFC 6376 6.1.2 step 3 PERMFAIL, RFC 8601 permerror
keys
verify "message.mbox (no key in dkimpy's tests)" "$d/message.mbox" \
	"permerror kitterman.com 2007-00" "fail"

# unsigned messages: dkim=none (RFC 8601 2.7.1; test_verifies_nosig)
for m in test.message rfc6376.msg rfc6376.w1258.msg ed25519test.msg test_extra.message test_nofrom.message; do
	verify "$m (unsigned)" "$d/$m" none none
done

## 2. signing with the data's private keys; dkimpy verifies

# pubkey KEYFILE spki|pkcs1|ed25519 - the base64 public key openssl
# derives from a private key file (dkimpy's raw ed25519 form: the 32-octet
# seed, put in a PKCS#8 envelope for openssl)
pubkey() {
	case $2 in
	spki) openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | base64 -w0 ;;
	pkcs1) openssl rsa -in "$1" -RSAPublicKey_out -outform DER 2>/dev/null | base64 -w0 ;;
	ed25519)
		{ printf '\060\056\002\001\000\060\005\006\003\053\145\160\004\042\004\040'
		  base64 -d "$1"; } >"$tmp/ed.der"
		openssl pkey -inform DER -in "$tmp/ed.der" -pubout -outform DER 2>/dev/null |
			tail -c 32 | base64 -w0 ;;
	esac
}

# sign KEY FORM DOMAIN SELECTOR RECORD [MESSAGE] - RECORD (a key record)
# must hold KEY's public key in FORM; dkim_sign_tool signs MESSAGE
# (test.message) with KEY relaxed/relaxed and simple/simple, dkimpy and
# authtag-check verify it with RECORD as DOMAIN's SELECTOR, and a changed
# body fails
sign() {
	key=$1 form=$2 dom=$3 sel=$4 rec=$5 msg=${6:-test.message}
	derived=$(pubkey "$DATA/$key" "$form")
	if [ -n "$derived" ] && printf '%s\n' "$rec" | grep -q "p=$derived\$"; then
		ok "key $key: its $form public key is the record's p="
	else
		notok "key $key: openssl derives $form ${derived:-nothing}, record: $rec"
	fi
	if [ "$form" = ed25519 ]; then
		bits=ed25519
	else
		bits=$(openssl pkey -in "$DATA/$key" -noout -text 2>/dev/null | sed -n 's/.*(\([0-9]*\) bit.*/\1/p' | head -1)
		[ "${bits:-0}" -lt 1024 ] && echo "note: $key is a $bits-bit RSA key, under RFC 8301's 1024"
		bits="$bits-bit"
	fi
	keys "$sel._domainkey.$dom" "$rec"
	for c in relaxed simple; do
		what="sign $key ($bits) $c/$c $msg, d=$dom s=$sel"
		if ! $tool "$DATA/$key" "$dom" "$sel" $c $c <"$DATA/$msg" >"$tmp/s" 2>"$tmp/err"; then
			notok "$what: dkim_sign_tool failed"
			sed 's/^/    | /' "$tmp/err"
			continue
		fi
		pygot=$($PY "$tmp/dkimpy.py" "$tmp/keys" "$tmp/s" 2>"$tmp/pyerr")
		if [ "$pygot" = pass ]; then
			ok "$what: dkimpy pass"
		else
			notok "$what: dkimpy: want pass, got $pygot"
			sed 's/^/    | /' "$tmp/s" "$tmp/pyerr"
		fi
		authtag "$tmp/s"
		if [ "$got" = "pass $dom $sel" ]; then
			ok "$what: authtag dkim=$gotlong"
		else
			notok "$what: authtag: want dkim=pass $dom $sel, got dkim=$gotlong"
			sed 's/^/    | /' "$tmp/out" "$tmp/err"
		fi
		[ $c = relaxed ] || continue
		change "$tmp/s" "\$s/\$/ changed/"
		pygot=$($PY "$tmp/dkimpy.py" "$tmp/keys" "$tmp/changed" 2>/dev/null)
		authtag "$tmp/changed"
		if [ "$pygot" = fail ] && [ "$got" = "fail $dom $sel" ]; then
			ok "$what, body changed: dkimpy fail, authtag dkim=$gotlong"
		else
			notok "$what, body changed: want dkimpy fail and authtag fail, got dkimpy $pygot, authtag dkim=$gotlong"
		fi
	done
}

# the key -> record pairs of test_dkim.py (dnsfunc, dnsfunc2),
# test_dkim_rsavariants.py, test_dkim_ed25519.py
sign test.private spki example.com test "$test_txt"
sign test2.private spki example.com test "$(data test2.txt)"
sign 1024_testkey.key spki example.com test "$(data 1024_testkey_wo_markers.pub.txt)"
sign 1024_testkey.key pkcs1 example.com test2 "$(data 1024_testkey_wo_markers.pub.rsa.txt)"
sign 2048_testkey.key spki example.com test3 "$(data 2048_testkey_wo_markers.pub.txt)"
sign 2048_testkey.key pkcs1 example.com test4 "$(data 2048_testkey_wo_markers.pub.rsa.txt)"
sign 2048_testkey_PKCS8.key spki example.com test5 "$(data 2048_testkey_PKCS8.key.pub.txt)"
sign ed25519test.key ed25519 example.net test "$(data ed25519test.dns)"
# RFC 8032 7.1 test 1 = the RFC 8463 example key: its public key is the
# one the RFC publishes (test_rfc8032_verifies signs rfc6376.msg)
sign rfc8032_7_1.key ed25519 $fb brisbane "$brisbane"
sign rfc8032_7_1.key ed25519 $fb brisbane "$brisbane" rfc6376.msg

echo "dkim dkimpy data: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
