#!/bin/sh
# tests/e2e/arc.sh - ARC end to end: a mailing list breaks the author's
# DKIM, our MX (a private Postfix + authtag + procmail) decides
#
# The author (author.example, DMARC p=reject) signs; the list host
# verifies on arrival (authtag-check as the list's authtag, AuthservID
# lists.example.org, against the same unbound), rewrites the Subject,
# adds a footer and seals (dkimpy's arc_sign, whose AAR copies the
# list's results); it relays from its own address 127.0.0.30. Our MX
# trusts lists.example.org (ARCTrustedSealers) and files spam with the
# shipped procmail recipe (X-Spam-Flag: YES to .Spam). Three rows:
#   trusted   the list's chain: dmarc=fail overridden, arc=pass, inbox
#   untrusted the same through other.example.net: dmarc=fail, arc=pass,
#             .Spam (as before ARC)
#   forged    the trusted list's chain with its AAR altered after
#             sealing: arc=fail, no override, .Spam
# Needs root, dkimpy and procmail (contrib/quickstart.sh installs them).
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"
. "${top_srcdir:-.}/tests/interop/lib.sh"

e2e_init arc
e2e_need postfix postconf swaks unbound unbound-checkconf dig openssl \
	dkimsign procmail ss
$PY -c 'import dkim' 2>/dev/null || e2e_skip "python3-dkim not installed"

DNS_PORT=$(free_port)
SMTP_PORT=$(free_port)
MILTER_PORT=$(free_port)
ID=mx.dest.example.org
CONF=$E2E_T/authtag.conf
LOG=$E2E_T/authtag.log
MAIL=$E2E_T/pf/mail
K=$E2E_T/keys
CHECK=$E2E_BUILD/authtag-check

mkdir -p "$K" "$E2E_T/msg"
for k in author list other; do
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/$k.pem" 2>/dev/null
done
pub() { openssl pkey -in "$K/$1.pem" -pubout -outform DER | base64 -w0; }
{
	echo "sel._domainkey.author.example v=DKIM1; k=rsa; p=$(pub author)"
	echo "_dmarc.author.example v=DMARC1; p=reject"
	echo "author.example v=spf1 ip4:127.0.0.20 -all"
	echo "arc._domainkey.lists.example.org v=DKIM1; k=rsa; p=$(pub list)"
	echo "lists.example.org v=spf1 ip4:127.0.0.30 -all"
	echo "arc._domainkey.other.example.net v=DKIM1; k=rsa; p=$(pub other)"
} >"$E2E_T/records"
it_dns_conf "$E2E_T/records" "$E2E_T/records.conf"
# the e2e zones, and these records (without their own "server:" and root)
{ cat "$E2E_DIR/zones.conf"; tail -n +3 "$E2E_T/records.conf"; } >"$E2E_T/zones.conf"

dns_setup "$E2E_T/dns" "$DNS_PORT" "$E2E_T/zones.conf" || exit 1
dns_start "$E2E_T/dns" "$DNS_PORT" || exit 1
authtag_conf "$CONF" "$ID" "$DNS_PORT" "ARCTrustedSealers lists.example.org"
authtag_start "$CONF" "inet:$MILTER_PORT@127.0.0.1" "$LOG" || exit 1
pf_setup "$E2E_T/pf" "$SMTP_PORT" "inet:127.0.0.1:$MILTER_PORT"
cat >"$E2E_T/procmailrc" <<EOF
MAILDIR=$MAIL/\$USER/
DEFAULT=\$MAILDIR
LOGFILE=$MAIL/procmail.log
INCLUDERC=$(cd "${top_srcdir:-.}" && pwd)/contrib/procmail/spam-flag.rc
EOF
pf_procmail "$E2E_T/procmailrc"
mkdir -p "$MAIL/bob"
chown -R 65534:65534 "$MAIL"
pf_start "$SMTP_PORT" || {
	echo "postfix did not start"
	exit 1
}

tmp=$E2E_T it_helpers
cat >"$E2E_T/arcsign.py" <<'PYEOF'
# arcsign.py KEY DOMAIN MSG - MSG with dkimpy's ARC set by DOMAIN
import sys, dkim
msg = open(sys.argv[3], "rb").read().replace(b"\n", b"\r\n")
d = sys.argv[2].encode()
hdrs = dkim.ARC(msg).sign(b"arc", d, open(sys.argv[1], "rb").read(), d)
sys.stdout.buffer.write((b"".join(hdrs) + msg).replace(b"\r\n", b"\n"))
PYEOF

# through_list NAME LIST-DOMAIN KEY - the author's message as the list
# relays it: verified on arrival, changed, sealed
through_list() {
	authtag_conf "$E2E_T/$2.conf" "$2" "$DNS_PORT"
	"$CHECK" -c "$E2E_T/$2.conf" --client-ip 127.0.0.20 --mail-from alice@author.example \
		"$E2E_T/msg/author.eml" >"$E2E_T/msg/$1.check" 2>&1 ||
		e2e_fail "$1: the list's check failed"
	$PY "$E2E_T/apply.py" "$E2E_T/msg/$1.check" "$E2E_T/msg/author.eml" |
		sed -e 's/^Subject: /Subject: [list] /' \
		    -e "s/^Message-ID: <author@/Message-ID: <$1@/" >"$E2E_T/msg/$1.mod"
	printf -- '-- \nThe list footer.\n' >>"$E2E_T/msg/$1.mod"
	$PY "$E2E_T/arcsign.py" "$K/$3.pem" "$2" "$E2E_T/msg/$1.mod" >"$E2E_T/msg/$1.eml"
}

printf 'From: Alice <alice@author.example>\nTo: list@lists.example.org\nSubject: meeting notes\nDate: Thu, 01 Jan 2026 00:00:00 +0000\nMessage-ID: <author@e2e.example.net>\n\nHello list,\n\nthe notes are below.\n' |
	dkimsign sel author.example "$K/author.pem" >"$E2E_T/msg/author.eml"
through_list trusted lists.example.org list
through_list untrusted other.example.net other
# the trusted list's chain, its AAR changed after sealing
sed 's/^\(ARC-Authentication-Results: i=1; lists.example.org\)/\1; x=forged/' \
	"$E2E_T/msg/trusted.eml" | sed 's/^Message-ID: <trusted@/Message-ID: <forged@/' >"$E2E_T/msg/forged.eml"

for _c in trusted untrusted forged; do
	swaks --server "127.0.0.1:$SMTP_PORT" --local-interface 127.0.0.30 \
		--helo lists.example.org --from bounce@lists.example.org \
		--to bob@dest.example.org --data "@$E2E_T/msg/$_c.eml" \
		>"$E2E_T/swaks-$_c.out" 2>&1 || e2e_fail "$_c: not accepted"
done

# where MSGID - inbox or .Spam (or none)
where() {
	if grep -lq -i "^Message-ID: <$1>" "$MAIL/bob/new"/* 2>/dev/null; then
		echo inbox
	elif grep -lq -i "^Message-ID: <$1>" "$MAIL/bob/.Spam/new"/* 2>/dev/null; then
		echo .Spam
	else
		echo none
	fi
}
# row CASE FOLDER ERE... - the delivered copy's folder and our A-R
row() {
	_c=$1 _want=$2
	shift 2
	wait_until 30 sh -c "grep -lqi '^Message-ID: <$_c@' '$MAIL'/bob/new/* '$MAIL'/bob/.Spam/new/* 2>/dev/null"
	_dir=$(where "$_c@e2e.example.net")
	_f=$(grep -l -i "^Message-ID: <$_c@" "$MAIL"/bob/new/* "$MAIL"/bob/.Spam/new/* 2>/dev/null | head -n 1)
	_ar=$(hdr "$_f" Authentication-Results | grep -i "^$ID;")
	printf '%-9s %-6s %s\n' "$_c" "$_dir" "$(printf '%s' "$_ar" | grep -oE 'arc=[a-z]+|dmarc=[a-z]+ \([^)]*\)' | paste -sd' ' -)"
	[ "$_dir" = "$_want" ] || { e2e_fail "$_c: in $_dir, want $_want"; return; }
	for _re in "$@"; do
		case $_re in
		!*) printf '%s\n' "$_ar" | grep -Eq -- "${_re#!}" && { e2e_fail "$_c: A-R has ${_re#!}: $_ar"; return; } ;;
		*) printf '%s\n' "$_ar" | grep -Eq -- "$_re" || { e2e_fail "$_c: A-R lacks $_re: $_ar"; return; } ;;
		esac
	done
	e2e_ok "$_c: $_dir"
}
e2e_log "case     folder results"
row trusted inbox 'arc=pass \(i=1 lists.example.org\)' 'dmarc=fail \([^)]*dis=none;[^)]*arc override by lists.example.org\)'
row untrusted .Spam 'arc=pass \(i=1 other.example.net\)' 'dmarc=fail \([^)]*dis=reject' '!arc override'
row forged .Spam 'arc=fail' '!arc override'

authtag_stop
[ "$AT_RC" -eq 0 ] || e2e_fail "stop: exit status $AT_RC"
e2e_finish
