#!/bin/sh
# tests/e2e/signing.sh - outbound signing in a real Postfix, end to end
#
# A private Postfix with SMTP AUTH (Cyrus SASL, sasldb) and authtag as
# smtpd_milters and non_smtpd_milters; authtag signs with a KeyTable and
# a refile: SigningTable (MultipleSignatures: an opendkim-genkey RSA key
# and an ed25519 key). Checks on the delivered copies:
#  1. SMTP AUTH submission and sendmail(1) local submission arrive with
#     two DKIM-Signature fields at the very top, above our A-R, and both
#     verify with dkimpy and with opendkim (-t); the log line says
#     signed=d:s,d:s;
#  2. the same From domain from an unauthenticated outside client is not
#     signed and the log says an external client used our domain; mail
#     signed elsewhere and relayed in keeps its signature only, dkim=pass;
#  3. a reload with a changed KeyTable (another RSA key and selector)
#     signs the next message with the new key, and it verifies.
# Needs root and the packages contrib/quickstart.sh installs.
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"
. "${top_srcdir:-.}/tests/e2e/cases.sh"
. "${top_srcdir:-.}/tests/interop/lib.sh"

e2e_init signing
e2e_need postfix postconf postqueue sendmail swaks unbound unbound-checkconf \
	dig openssl dkimsign saslpasswd2 ss
$PY -c 'import dkim' 2>/dev/null || e2e_skip "python3-dkim not installed"
ODKIM=$(command -v opendkim || echo /usr/sbin/opendkim)
[ -x "$ODKIM" ] || ODKIM=
if [ -z "$ODKIM" ] && [ "${AUTHTAG_REQUIRE_OPENDKIM:-}" = 1 ]; then
	e2e_fail "opendkim is required but not installed"
	e2e_finish
fi

DNS_PORT=$(free_port)
SMTP_PORT=$(free_port)
MILTER_PORT=$(free_port)
MAILDIR=$E2E_T/pf/mail/box/new
CONF=$E2E_T/authtag.conf
LOG=$E2E_T/authtag.log
SOCK=inet:$MILTER_PORT@127.0.0.1
K=$E2E_T/keys
D=dest.example.org

mkdir -p "$K"
if command -v opendkim-genkey >/dev/null; then
	(cd "$K" && opendkim-genkey -b 2048 -d $D -s rsa1 && mv rsa1.private rsa1.pem) || exit 1
else
	openssl genrsa -traditional -out "$K/rsa1.pem" 2048 2>/dev/null
fi
openssl genpkey -algorithm ed25519 -out "$K/ed1.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa2.pem" 2>/dev/null
chmod 600 "$K"/*.pem
{
	echo "rsa1._domainkey.$D v=DKIM1; k=rsa; p=$(openssl pkey -in "$K/rsa1.pem" -pubout -outform DER | base64 -w0)"
	echo "ed1._domainkey.$D v=DKIM1; k=ed25519; p=$(openssl pkey -in "$K/ed1.pem" -pubout -outform DER | tail -c 32 | base64 -w0)"
	echo "rsa2._domainkey.$D v=DKIM1; k=rsa; p=$(openssl pkey -in "$K/rsa2.pem" -pubout -outform DER | base64 -w0)"
} >"$K/records"
cat >"$K/KeyTable" <<EOF
rsa  $D:rsa1:$K/rsa1.pem
ed   $D:ed1:$K/ed1.pem
EOF
printf '*@%s rsa\n*@%s ed\n' $D $D >"$K/SigningTable"
printf 'Mode v\nSyslog no\nAlwaysAddARHeader yes\nTestDNSData %s\n' "$K/records" >"$K/opendkim.conf"

tmp=$E2E_T it_helpers

# verified CASE WANT - dkimpy's and opendkim's verdicts on the delivered copy
verified() {
	_f=$(mail_file "$MAILDIR" "$1@e2e.example.net")
	[ -n "$_f" ] || { e2e_fail "$1: not delivered"; return; }
	_got=$($PY "$E2E_T/dkimpy.py" "$K/records" "$_f" 2>&1)
	[ "$_got" = "$2" ] && e2e_ok "$1: dkimpy: $_got" || e2e_fail "$1: dkimpy: want $2, got $_got"
	[ -n "$ODKIM" ] || return 0
	_got=$("$ODKIM" -x "$K/opendkim.conf" -vvv -t "$_f" 2>&1 |
		grep -oE 'dkim=[a-z]+' | sed 's/dkim=//' | paste -sd, -)
	[ "$_got" = "$2" ] && e2e_ok "$1: opendkim: $_got" || e2e_fail "$1: opendkim: want $2, got $_got"
}
# top CASE WANT - the names of the delivered copy's first fields, after
# the ones the delivery agent adds (Return-Path, X-Original-To,
# Delivered-To)
top() {
	_f=$(mail_file "$MAILDIR" "$1@e2e.example.net")
	_got=$(hdr "$_f" | grep -viE '^(Return-Path|X-Original-To|Delivered-To)$' |
		head -n "$(echo "$2" | wc -w)" | paste -sd' ' -)
	[ "$_got" = "$2" ] && e2e_ok "$1: first fields: $_got" || e2e_fail "$1: first fields: want '$2', got '$_got'"
}
# logged CASE ERE - authtag's summary line for the case's queue id matches
logged() {
	_qid=$(grep -F "message-id=<$1@e2e.example.net>" "$E2E_T/pf/log/postfix.log" |
		head -n 1 | sed -n 's/.*: \([0-9A-F]*\): message-id=.*/\1/p')
	if [ -n "$_qid" ] && grep "$_qid: " "$LOG" | grep -qE -- "$2"; then
		e2e_ok "$1: log: $2"
	else
		e2e_fail "$1: no log line for '$_qid' matching $2"
		grep "${_qid:-none}: " "$LOG" | tail -n 2
	fi
}
# wait_mail CASE - until the case is delivered (30 s at most)
wait_mail() {
	wait_until 30 mail_present "$MAILDIR" "$1@e2e.example.net" ||
		e2e_fail "$1: not delivered in 30 s"
}

e2e_log "ports: dns $DNS_PORT smtp $SMTP_PORT milter $MILTER_PORT"
dns_setup "$E2E_T/dns" "$DNS_PORT" || exit 1
dns_start "$E2E_T/dns" "$DNS_PORT" || exit 1
new_conf "$CASES_ID" "KeyTable $K/KeyTable" "SigningTable refile:$K/SigningTable" \
	"MultipleSignatures yes"
authtag_start "$CONF" "$SOCK" "$LOG" || exit 1
pf_setup "$E2E_T/pf" "$SMTP_PORT" "inet:127.0.0.1:$MILTER_PORT" sasl
pf_start "$SMTP_PORT" || {
	echo "postfix did not start"
	exit 1
}

# ---- 1. SMTP AUTH and local submission: signed ----
make_msg auth "Alice <alice@$D>"
case_send auth "alice@$D" 127.0.0.10 \
	--auth PLAIN --auth-user "alice@$D" --auth-password secret123
make_msg local "Carol <carol@$D>"
sendmail -C "$E2E_T/pf/etc" -f "carol@$D" "bob@$D" <"$E2E_T/msg/local.eml" ||
	e2e_fail "local: sendmail(1) failed"
# ---- 2. outside clients: not signed ----
make_msg outside "Alice <alice@$D>"
case_send outside "alice@$D" 127.0.0.10
make_msg relayed 'Alice <alice@pass.example.com>'
sign relayed pass.example.com
case_send relayed bounce@pass.example.com 127.0.0.10
for _c in auth local outside relayed; do wait_mail $_c; done

top auth "DKIM-Signature DKIM-Signature Authentication-Results"
verified auth pass,pass
logged auth "auth=alice@$D .* signed=$D:rsa1,$D:ed1 tagged"
top local "DKIM-Signature DKIM-Signature Authentication-Results"
verified local pass,pass
logged local "local \\(sendmail\\).* signed=$D:rsa1,$D:ed1 tagged"
top outside "Authentication-Results"
verified outside none
logged outside "signed=no\\(external client sent mail as $D\\) tagged"
check_case relayed dkim=pass header.d=pass.example.com
_f=$(mail_file "$MAILDIR" "relayed@e2e.example.net")
[ "$(hdr "$_f" DKIM-Signature | grep -c .)" = 1 ] && e2e_ok "relayed: only the sender's signature" ||
	e2e_fail "relayed: $(hdr "$_f" DKIM-Signature | grep -c .) signatures"

# ---- 3. reload with a changed KeyTable ----
e2e_log "reload with a new key"
printf 'rsa  %s:rsa2:%s/rsa2.pem\ned   %s:ed1:%s/ed1.pem\n' $D "$K" $D "$K" >"$K/KeyTable.new"
mv "$K/KeyTable.new" "$K/KeyTable"
_before=$(grep -c 'reloaded configuration' "$LOG")
kill -HUP "$AT_PID"
wait_until 20 sh -c "[ \$(grep -c 'reloaded configuration' '$LOG') -gt $_before ]" ||
	e2e_fail "no reload logged"
make_msg rotated "Alice <alice@$D>"
case_send rotated "alice@$D" 127.0.0.10 \
	--auth PLAIN --auth-user "alice@$D" --auth-password secret123
wait_mail rotated
logged rotated "signed=$D:rsa2,$D:ed1 tagged"
verified rotated pass,pass
_f=$(mail_file "$MAILDIR" "rotated@e2e.example.net")
hdr "$_f" DKIM-Signature | head -n 1 | grep -q ' s=rsa2;' &&
	e2e_ok "rotated: the new selector in s=" || e2e_fail "rotated: no s=rsa2"

# a KeyTable broken on reload: the running keys stay, the error is logged
printf 'rsa  %s:rsa2\n' $D >"$K/KeyTable"
_before=$(grep -c 'reload failed' "$LOG")
kill -HUP "$AT_PID"
wait_until 20 sh -c "[ \$(grep -c 'reload failed' '$LOG') -gt $_before ]" &&
	grep 'reload failed' "$LOG" | tail -n 1 | grep -q "KeyTable:1: rsa: expected domain:selector:keypath" &&
	e2e_ok "broken KeyTable on reload: refused with file and line" ||
	e2e_fail "broken KeyTable on reload: $(grep 'reload failed' "$LOG" | tail -n 1)"
make_msg afterbad "Alice <alice@$D>"
case_send afterbad "alice@$D" 127.0.0.10 \
	--auth PLAIN --auth-user "alice@$D" --auth-password secret123
wait_mail afterbad
verified afterbad pass,pass

authtag_stop
[ "$AT_RC" -eq 0 ] || e2e_fail "stop: exit status $AT_RC"
e2e_finish
