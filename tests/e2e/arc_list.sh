#!/bin/sh
# tests/e2e/arc_list.sh - a mailing list on a Postfix + authtag host,
# our MX on another Postfix + authtag: ARC end to end, no other sealer
#
# The list host (private Postfix "lpf", its authtag with ARCSign,
# ARCSealMail submitted, ARCSealArrivalResults yes) receives the author's
# signed message (author.example, DMARC p=reject) from 127.0.0.20 and
# delivers it to the list's mailbox; the list manager (this script)
# rewrites the Subject, adds a footer and resubmits it with the list
# host's sendmail(1); the list host's authtag seals it with the results
# it wrote on arrival, and Postfix relays it from 127.0.0.30 to our MX
# (private Postfix "pf", authtag with ARCTrustedSealers
# lists.example.org, procmail filing X-Spam-Flag: YES into .Spam):
#   list      the list's message: arc=pass, dmarc=fail overridden, inbox
#   direct    the same rewrite sent straight from the list's address, no
#             chain: dmarc=fail dis=reject, .Spam (what ARC is for)
#   forged    the list's message resent with its AAR altered: arc=fail,
#             no override, .Spam
# Both Postfix instances and both authtag daemons are stopped by PID.
# Needs root, dkimpy's dkimsign and procmail.
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"
. "${top_srcdir:-.}/tests/interop/lib.sh"

e2e_init arclist
e2e_need postfix postconf postqueue sendmail swaks unbound \
	unbound-checkconf dig openssl dkimsign procmail ss

DNS_PORT=$(free_port)
LIST_PORT=$(free_port)
MX_PORT=$(free_port)
MILTER_L=$(free_port)
MILTER_M=$(free_port)
ID=mx.dest.example.org
K=$E2E_T/keys
MAIL=$E2E_T/pf/mail
LBOX=$E2E_T/lpf/mail/box/new

mkdir -p "$K" "$E2E_T/msg"
for k in author list; do
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/$k.pem" 2>/dev/null
done
pub() { openssl pkey -in "$K/$1.pem" -pubout -outform DER | base64 -w0; }
{
	echo "sel._domainkey.author.example v=DKIM1; k=rsa; p=$(pub author)"
	echo "_dmarc.author.example v=DMARC1; p=reject"
	echo "author.example v=spf1 ip4:127.0.0.20 -all"
	echo "arc._domainkey.lists.example.org v=DKIM1; k=rsa; p=$(pub list)"
	echo "lists.example.org v=spf1 ip4:127.0.0.30 -all"
} >"$E2E_T/records"
it_dns_conf "$E2E_T/records" "$E2E_T/records.conf"
{ cat "$E2E_DIR/zones.conf"; tail -n +3 "$E2E_T/records.conf"; } >"$E2E_T/zones.conf"
dns_setup "$E2E_T/dns" "$DNS_PORT" "$E2E_T/zones.conf" || exit 1
dns_start "$E2E_T/dns" "$DNS_PORT" || exit 1

# the list host: its authtag, then its Postfix (kept running by PID while
# E2E_PF moves on to the MX)
authtag_conf "$E2E_T/list.conf" lists.example.org "$DNS_PORT" \
	"ARCSign yes" "ARCSignDomain lists.example.org" "ARCSignSelector arc" \
	"ARCSignKeyFile $K/list.pem" "ARCSealMail submitted" \
	"ARCSealArrivalResults yes"
authtag_start "$E2E_T/list.conf" "inet:$MILTER_L@127.0.0.1" "$E2E_T/authtag-list.log" || exit 1
LIST_AT=$AT_PID
pf_setup "$E2E_T/lpf" "$LIST_PORT" "inet:127.0.0.1:$MILTER_L"
postconf -c "$E2E_T/lpf/etc" -e "myhostname = lists.example.org" \
	"virtual_mailbox_domains = lists.example.org" \
	"transport_maps = inline:{dest.example.org=smtp:[127.0.0.1]:$MX_PORT}" \
	"smtp_bind_address = 127.0.0.30"
pf_start "$LIST_PORT" || {
	echo "the list host's postfix did not start"
	exit 1
}
e2e_track "$(cat "$E2E_T/lpf/spool/pid/master.pid" | tr -d ' ')"

# our MX
authtag_conf "$E2E_T/mx.conf" "$ID" "$DNS_PORT" "ARCTrustedSealers lists.example.org"
authtag_start "$E2E_T/mx.conf" "inet:$MILTER_M@127.0.0.1" "$E2E_T/authtag-mx.log" || exit 1
pf_setup "$E2E_T/pf" "$MX_PORT" "inet:127.0.0.1:$MILTER_M"
cat >"$E2E_T/procmailrc" <<EOF
MAILDIR=$MAIL/\$USER/
DEFAULT=\$MAILDIR
LOGFILE=$MAIL/procmail.log
INCLUDERC=$(cd "${top_srcdir:-.}" && pwd)/contrib/procmail/spam-flag.rc
EOF
pf_procmail "$E2E_T/procmailrc"
mkdir -p "$MAIL/bob" "$MAIL/carol"
chown -R 65534:65534 "$MAIL"
pf_start "$MX_PORT" || {
	echo "the MX postfix did not start"
	exit 1
}

# the author's message to the list
printf 'From: Alice <alice@author.example>\nTo: list@lists.example.org\nSubject: meeting notes\nDate: Thu, 01 Jan 2026 00:00:00 +0000\nMessage-ID: <list@e2e.example.net>\n\nHello list,\n\nthe notes are below.\n' |
	dkimsign sel author.example "$K/author.pem" >"$E2E_T/msg/author.eml"
swaks --server "127.0.0.1:$LIST_PORT" --local-interface 127.0.0.20 \
	--helo mail.author.example --from alice@author.example \
	--to list@lists.example.org --data "@$E2E_T/msg/author.eml" \
	>"$E2E_T/swaks-author.out" 2>&1 || e2e_fail "the list host did not accept the author's message"
wait_until 30 sh -c "ls '$LBOX'/* >/dev/null 2>&1" || e2e_fail "nothing in the list's mailbox"
_arrived=$(ls "$LBOX"/* 2>/dev/null | head -n 1)
hdr "$_arrived" Authentication-Results | grep -q '^lists.example.org;.*dmarc=pass' &&
	e2e_ok "list host: the author's message arrived with dmarc=pass" ||
	e2e_fail "list host: no dmarc=pass on arrival: $(hdr "$_arrived" Authentication-Results)"

# rewrite MSGID - the list manager's copy: delivery fields gone, Subject
# tagged, a footer, this Message-ID
rewrite() {
	sed -e '/^Return-Path:/d' -e '/^Delivered-To:/d' -e '/^X-Original-To:/d' \
	    -e 's/^Subject: /Subject: [list] /' \
	    -e "s/^Message-ID: <list@/Message-ID: <$1@/" "$_arrived"
	printf -- '-- \nThe list footer.\n'
}
rewrite list >"$E2E_T/msg/list.eml"
sendmail -C "$E2E_T/lpf/etc" -f bounce@lists.example.org bob@dest.example.org \
	<"$E2E_T/msg/list.eml" || e2e_fail "list: sendmail(1) on the list host failed"
# the same rewrite, straight from the list's address, no chain (the
# list's arrival A-R stays in it: another AuthservID than ours)
rewrite direct >"$E2E_T/msg/direct.eml"
swaks --server "127.0.0.1:$MX_PORT" --local-interface 127.0.0.30 \
	--helo lists.example.org --from bounce@lists.example.org \
	--to bob@dest.example.org --data "@$E2E_T/msg/direct.eml" \
	>"$E2E_T/swaks-direct.out" 2>&1 || e2e_fail "direct: not accepted"

# where USER MSGID - inbox, .Spam or none; file_of USER MSGID
where() {
	if grep -lqi "^Message-ID: <$2>" "$MAIL/$1/new"/* 2>/dev/null; then
		echo inbox
	elif grep -lqi "^Message-ID: <$2>" "$MAIL/$1/.Spam/new"/* 2>/dev/null; then
		echo .Spam
	else
		echo none
	fi
}
file_of() {
	grep -li "^Message-ID: <$2>" "$MAIL/$1"/new/* "$MAIL/$1"/.Spam/new/* 2>/dev/null | head -n 1
}
# row CASE FOLDER ERE... - the delivered copy's folder and our A-R (the
# forged copy keeps the list message's Message-ID: it went to carol)
row() {
	_c=$1 _want=$2 _u=bob _id=$1
	shift 2
	[ "$_c" = forged ] && _u=carol _id=list
	wait_until 30 sh -c "grep -lqi '^Message-ID: <$_id@' '$MAIL'/$_u/new/* '$MAIL'/$_u/.Spam/new/* 2>/dev/null"
	_dir=$(where "$_u" "$_id@e2e.example.net")
	_f=$(file_of "$_u" "$_id@e2e.example.net")
	_ar=$(hdr "$_f" Authentication-Results | grep -i "^$ID;")
	printf '%-7s %-6s %s\n' "$_c" "$_dir" "$(printf '%s' "$_ar" | grep -oE 'arc=[a-z]+( \([^)]*\))?|dmarc=[a-z]+ \([^)]*\)' | paste -sd' ' -)"
	[ "$_dir" = "$_want" ] || { e2e_fail "$_c: in $_dir, want $_want"; return; }
	for _re in "$@"; do
		case $_re in
		!*) printf '%s\n' "$_ar" | grep -Eq -- "${_re#!}" && { e2e_fail "$_c: A-R has ${_re#!}: $_ar"; return; } ;;
		*) printf '%s\n' "$_ar" | grep -Eq -- "$_re" || { e2e_fail "$_c: A-R lacks $_re: $_ar"; return; } ;;
		esac
	done
	e2e_ok "$_c: $_dir"
}
e2e_log "case    folder results"
row list inbox 'arc=pass \(i=1 lists.example.org\)' \
	'dmarc=fail \([^)]*dis=none;[^)]*arc override by lists.example.org\)'
row direct .Spam 'arc=none' 'dmarc=fail \([^)]*dis=reject' '!arc override'
grep -q 'signed=\|sealed=i=1 cv=none' "$E2E_T/authtag-list.log" &&
	e2e_ok "list host: its log says sealed=i=1 cv=none" ||
	e2e_fail "list host: no sealed= line in its log"

# the list's message as it reached us, only its AAR altered, sent again
# (to carol: the Message-ID is signed, so it stays the same)
_f=$(file_of bob "list@e2e.example.net")
sed -e '/^Return-Path:/d' -e '/^Delivered-To:/d' -e '/^X-Original-To:/d' \
    -e 's/^\(ARC-Authentication-Results: i=1; lists.example.org\)/\1; x=forged/' \
    "$_f" >"$E2E_T/msg/forged.eml"
swaks --server "127.0.0.1:$MX_PORT" --local-interface 127.0.0.30 \
	--helo lists.example.org --from bounce@lists.example.org \
	--to carol@dest.example.org --data "@$E2E_T/msg/forged.eml" \
	>"$E2E_T/swaks-forged.out" 2>&1 || e2e_fail "forged: not accepted"
row forged .Spam 'arc=fail \(i=1 lists.example.org; seal did not verify in set 1\)' '!arc override'

authtag_stop
[ "$AT_RC" -eq 0 ] || e2e_fail "MX authtag stop: exit status $AT_RC"
AT_PID=$LIST_AT
authtag_stop
[ "$AT_RC" -eq 0 ] || e2e_fail "list authtag stop: exit status $AT_RC"
e2e_finish
