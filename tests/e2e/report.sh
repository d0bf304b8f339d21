#!/bin/sh
# tests/e2e/report.sh - DMARC aggregate reports end to end (SQLite store)
#
# A private Postfix + authtag (StateStore sqlite) receives a batch from
# several client addresses; the test keeps its own tally of what it sent.
#  1. the store holds one row per reportable message (sqlite3 reads it);
#  2. authtag-report --dry-run writes RFC 9990 XML that validates against
#     the schema (tests/data/dmarc-report/dmarc-2.0.xsd), with the tally's counts;
#  3. authtag-report mails the reports through the same Postfix
#     (SendmailPath) into the Maildir: one per policy domain, Subject and
#     attachment name as RFC 9990 has them, the gzip'd XML (unpacked
#     with Python's email and gzip modules) valid and counted again; an
#     external destination without its _report._dmarc record gets
#     nothing, ReportSuppress is honoured; a rerun sends nothing;
#  4. crash safety: a sendmail that fails, then one killed with
#     authtag-report (its process group, SIGKILL) in the middle of the
#     second destination: each rerun sends only what is missing, each
#     destination ends with exactly one copy, with the same Report-ID;
#  5. SIGKILL of the daemon in the middle of a batch: the store keeps every
#     row written before (at least the first wave), never more rows than
#     tagged messages;
#  6. a StateStore that cannot be written: mail still tagged and
#     delivered, one log line (not one per message).
# Needs root and the packages contrib/quickstart.sh installs.
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_init report
e2e_need postfix postconf sendmail swaks unbound unbound-checkconf dig \
	openssl dkimsign sqlite3 xmllint ss setsid
$PY -c 'import dkim' 2>/dev/null || e2e_skip "python3-dkim not installed"

DNS_PORT=$(free_port)
SMTP_PORT=$(free_port)
MILTER_PORT=$(free_port)
MAILDIR=$E2E_T/pf/mail/box/new
CONF=$E2E_T/authtag.conf
LOG=$E2E_T/authtag.log
SOCK=inet:$MILTER_PORT@127.0.0.1
REPORT=$E2E_BUILD/authtag-report
XSD=$(cd "${top_srcdir:-.}" && pwd)/tests/data/dmarc-report/dmarc-2.0.xsd
ID=mx.dest.example.org
TOMORROW=$(($(date +%s) / 86400 * 86400 + 86400))
[ -x "$REPORT" ] || e2e_skip "$REPORT not built"

# the e2e zones, and the report domains of this test
{
	cat "$E2E_DIR/zones.conf"
	cat <<'EOF'
    local-data: 'rep.example.com. 300 IN TXT "v=spf1 ip4:127.0.0.20 -all"'
    local-data: 'sel1._domainkey.rep.example.com. 300 IN TXT "v=DKIM1; k=rsa; p=@KEY1@" "@KEY2@"'
    local-data: '_dmarc.rep.example.com. 300 IN TXT "v=DMARC1; p=reject; fo=1; rua=mailto:dmarc@dest.example.org"'
    local-data: 'rep.example.com._report._dmarc.dest.example.org. 300 IN TXT "v=DMARC1"'
    local-data: '_dmarc.dest.example.org. 300 IN TXT "v=DMARC1; p=none"'
    local-data: 'shop.dest.example.org. 300 IN TXT "v=spf1 ip4:127.0.0.20 -all"'
    local-data: '_dmarc.shop.dest.example.org. 300 IN TXT "v=DMARC1; p=quarantine; t=y; adkim=s; rua=mailto:shop-dmarc@dest.example.org"'
    local-data: 'noauth.example.com. 300 IN TXT "v=spf1 ip4:127.0.0.20 -all"'
    local-data: '_dmarc.noauth.example.com. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@dest.example.org"'
    local-data: 'supp.example.com. 300 IN TXT "v=spf1 ip4:127.0.0.20 -all"'
    local-data: '_dmarc.supp.example.com. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:supp@supp.example.com"'
    local-data: 'norua.example.com. 300 IN TXT "v=spf1 ip4:127.0.0.20 -all"'
    local-data: '_dmarc.norua.example.com. 300 IN TXT "v=DMARC1; p=reject"'
    local-data: 'two.dest.example.org. 300 IN TXT "v=spf1 ip4:127.0.0.20 -all"'
    local-data: '_dmarc.two.dest.example.org. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:first@dest.example.org,mailto:second@dest.example.org"'
EOF
} >"$E2E_T/zones.conf"
dns_setup "$E2E_T/dns" "$DNS_PORT" "$E2E_T/zones.conf" || exit 1
dns_start "$E2E_T/dns" "$DNS_PORT" || exit 1

# SendmailPath: this test's Postfix, through its own configuration
cat >"$E2E_T/sendmail" <<EOF
#!/bin/sh
exec /usr/sbin/sendmail -C $E2E_T/pf/etc "\$@"
EOF
chmod 755 "$E2E_T/sendmail"

# conf DB [LINE...] - the daemon's and authtag-report's configuration
conf() {
	_db=$1
	shift
	authtag_conf "$CONF" "$ID" "$DNS_PORT" "StateStore sqlite:$_db" \
		"ReportFlushInterval 1" "ReportEmail dmarc-reports@dest.example.org" \
		"ReportOrgName authtag e2e" "ReportSuppress supp.example.com" \
		"SendmailPath $E2E_T/sendmail" "$@"
}

conf "$E2E_T/state.db"
authtag_start "$CONF" "$SOCK" "$LOG" || exit 1
pf_setup "$E2E_T/pf" "$SMTP_PORT" "inet:127.0.0.1:$MILTER_PORT"
pf_start "$SMTP_PORT" || {
	echo "postfix did not start"
	exit 1
}

# batch SOURCE FROM-ADDR COUNT PREFIX [sign] - COUNT messages from SOURCE
batch() {
	$PY "$E2E_DIR/smtpbatch.py" --server "127.0.0.1:$SMTP_PORT" \
		--source "$1" --mail-from "$2" --count "$3" --prefix "$4" \
		--rcpt bob@dest.example.org --deadline 120 >"$E2E_T/batch-$4.out" 2>&1 ||
		e2e_fail "batch $4 not all accepted: $(tail -n 3 "$E2E_T/batch-$4.out")"
}

# signed SOURCE N - N messages from rep.example.com signed with sel1
signed() {
	for _i in $(seq 1 "$2"); do
		printf 'From: Rep <news@rep.example.com>\nTo: bob@dest.example.org\nSubject: signed %s\nMessage-ID: <signed-%s-%s@rep.example.com>\nDate: Thu, 01 Jan 2026 00:00:00 +0000\n\nsigned body %s\n' \
			"$_i" "$1" "$_i" "$_i" |
			dkimsign sel1 rep.example.com "$E2E_T/dns/sel1.key" >"$E2E_T/signed.eml"
		send_smtp "$1" news@rep.example.com "$E2E_T/signed.eml" >/dev/null 2>&1 ||
			e2e_fail "signed message from $1 not accepted"
	done
}

e2e_log "sending the batch"
# the tally: policy domain, source, messages, DMARC result
batch 127.0.0.20 a@rep.example.com 6 rep-pass   # SPF aligned: pass
batch 127.0.0.21 a@rep.example.com 4 rep-fail   # SPF fail: fail
signed 127.0.0.21 3                              # SPF fail, DKIM pass
batch 127.0.0.20 a@shop.dest.example.org 3 shop-pass
batch 127.0.0.22 a@shop.dest.example.org 2 shop-fail # t=y
batch 127.0.0.20 a@noauth.example.com 2 noauth  # recorded, not authorised
batch 127.0.0.20 a@supp.example.com 2 supp      # recorded, suppressed
batch 127.0.0.20 a@norua.example.com 2 norua    # no rua=: not recorded
batch 127.0.0.1 a@rep.example.com 2 trusted     # TrustedNetworks: not recorded
wait_until 60 sh -c "[ \$(find '$MAILDIR' -type f | wc -l) -ge 26 ]" ||
	e2e_fail "only $(mail_count "$MAILDIR") of 26 messages delivered"
# the 24 from outside carry our results (the trusted 2 are not checked)
_tagged=$(grep -L 'trusted-' "$MAILDIR"/* | xargs grep -l "^Authentication-Results: $ID;.*" | wc -l)
[ "$_tagged" -ge 24 ] && e2e_ok "26 messages delivered, the 24 from outside tagged" ||
	e2e_fail "$_tagged of 24 tagged"


# 1. the store, after a flush (1 s) and after SIGTERM
authtag_stop
[ "$AT_RC" -eq 0 ] || e2e_fail "stop: exit status $AT_RC"
q() { sqlite3 "$E2E_T/state.db" "$1"; }
_rows=$(q "SELECT grp || ' ' || SUM(count) FROM rows GROUP BY grp ORDER BY grp" | paste -sd' ' -)
if [ "$_rows" = "noauth.example.com 2 rep.example.com 13 shop.dest.example.org 5 supp.example.com 2" ]; then
	e2e_ok "store: one row per reportable message ($_rows)"
else
	e2e_fail "store rows: $_rows"
fi
q "SELECT row FROM rows" | grep -q 'a@\|bob@' &&
	e2e_fail "a local part is in the store" || e2e_ok "no local part in the store"

# xml_counts FILE - "ip:count:disposition:dkim:spf" of each record, sorted
xml_counts() {
	$PY - "$1" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
ns = {"d": "urn:ietf:params:xml:ns:dmarc-2.0"}
t = ET.parse(sys.argv[1]).getroot()
out = []
for r in t.findall("d:record", ns):
    row = r.find("d:row", ns)
    pe = row.find("d:policy_evaluated", ns)
    reasons = ",".join(x.findtext("d:type", "", ns) for x in pe.findall("d:reason", ns))
    out.append("%s:%s:%s:%s:%s%s" % (row.findtext("d:source_ip", "", ns), row.findtext("d:count", "", ns),
        pe.findtext("d:disposition", "", ns), pe.findtext("d:dkim", "", ns), pe.findtext("d:spf", "", ns),
        (":" + reasons) if reasons else ""))
print(" ".join(sorted(out)))
PYEOF
}
# the tally, as records: source:count:disposition:dkim:spf[:reasons]
WANT_REP="127.0.0.20:6:pass:fail:pass 127.0.0.21:3:pass:pass:fail 127.0.0.21:4:none:fail:fail:local_policy"
WANT_SHOP="127.0.0.20:3:pass:fail:pass 127.0.0.22:2:none:fail:fail:policy_test_mode"

# 2. a dry run: the XML, validated and counted; nothing marked
mkdir -p "$E2E_T/dry"
"$REPORT" -c "$CONF" --period-end "$TOMORROW" --dry-run "$E2E_T/dry" -v \
	>"$E2E_T/dry.log" 2>&1 || e2e_fail "dry run: exit $? ($(tail -n 3 "$E2E_T/dry.log"))"
_n=$(ls "$E2E_T/dry" | wc -l)
[ "$_n" -eq 4 ] && e2e_ok "dry run: 4 reports" || e2e_fail "dry run wrote $_n files: $(ls "$E2E_T/dry")"
_bad=0
for _f in "$E2E_T/dry"/*; do
	xmllint --noout --schema "$XSD" "$_f" >"$E2E_T/xmllint.out" 2>&1 || {
		_bad=1
		e2e_fail "$(basename "$_f") does not validate: $(tail -n 3 "$E2E_T/xmllint.out")"
	}
done
[ $_bad -eq 0 ] && e2e_ok "dry run: every report validates against the RFC 9990 schema"
_f=$(ls "$E2E_T/dry"/*'!rep.example.com!'* 2>/dev/null | head -n 1)
_got=$(xml_counts "$_f")
[ "$_got" = "$WANT_REP" ] && e2e_ok "dry run: rep.example.com records match the tally" ||
	e2e_fail "rep.example.com records: $_got, want $WANT_REP"
[ "$(q "SELECT COUNT(*) FROM buckets WHERE state != 0")" = 0 ] &&
	e2e_ok "dry run: nothing claimed or marked" || e2e_fail "dry run marked buckets"

# 3. the real run, through Postfix
_before=$(mail_count "$MAILDIR")
"$REPORT" -c "$CONF" --period-end "$TOMORROW" -v >"$E2E_T/report1.log" 2>&1
_rc=$?
[ "$_rc" -eq 0 ] && e2e_ok "authtag-report: exit 0" ||
	e2e_fail "authtag-report: exit $_rc: $(tail -n 5 "$E2E_T/report1.log")"
grep -q 'report sent: domain=rep.example.com .*records=3 messages=13 rua=mailto:dmarc@dest.example.org' "$E2E_T/report1.log" &&
	grep -q 'report sent: domain=shop.dest.example.org .*records=2 messages=5' "$E2E_T/report1.log" &&
	e2e_ok "one log line per report sent" ||
	e2e_fail "log: $(grep 'report sent' "$E2E_T/report1.log")"
grep -q 'noauth.example.com: dest.example.org did not authorise' "$E2E_T/report1.log" &&
	e2e_ok "external destination without _report._dmarc: not sent, said so" ||
	e2e_fail "noauth: $(grep noauth "$E2E_T/report1.log")"
grep -q 'supp.example.com: in ReportSuppress' "$E2E_T/report1.log" &&
	e2e_ok "ReportSuppress: not sent, said so" || e2e_fail "supp: $(grep supp "$E2E_T/report1.log")"
wait_until 60 sh -c "[ \$(find '$MAILDIR' -type f | wc -l) -ge $((_before + 2)) ]"

# reports_in - the report mails delivered: "domain report-id file" lines
reports_in() {
	for _m in "$MAILDIR"/*; do
		grep -q '^Subject: Report Domain:' "$_m" || continue
		_s=$(hdr "$_m" Subject)
		echo "$(echo "$_s" | sed -n 's/.*Domain: *\([^ ]*\).*/\1/p') $(echo "$_s" | sed -n 's/.*Report-ID: *\(.*\)$/\1/p') $_m"
	done
}
reports_in >"$E2E_T/reports.txt"
[ "$(wc -l <"$E2E_T/reports.txt")" -eq 2 ] &&
	e2e_ok "two report mails delivered (rep.example.com, shop.dest.example.org)" ||
	e2e_fail "report mails: $(cut -d' ' -f1,2 "$E2E_T/reports.txt")"

# unpack MAIL DIR - the report attachment's file into DIR; prints its name
cat >"$E2E_T/unpack.py" <<'PYEOF'
import email, gzip, os, re, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
for part in m.walk():
    if part.get_content_type() == "application/gzip":
        name = part.get_filename()
        data = gzip.decompress(part.get_payload(decode=True))
        open(os.path.join(sys.argv[2], name[:-3]), "wb").write(data)
        print(name)
        break
PYEOF
mkdir -p "$E2E_T/got"
while read -r _dom _rid _m; do
	_name=$($PY "$E2E_T/unpack.py" "$_m" "$E2E_T/got")
	echo "$_name" | grep -Eq "^$ID!$_dom![0-9]+![0-9]+![A-Za-z0-9]+\.xml\.gz\$" &&
		e2e_ok "$_dom: attachment $_name (RFC 9990 file name)" ||
		e2e_fail "$_dom: attachment name '$_name'"
	_x="$E2E_T/got/${_name%.gz}"
	xmllint --noout --schema "$XSD" "$_x" >/dev/null 2>&1 &&
		e2e_ok "$_dom: the mailed report validates" || e2e_fail "$_dom: the mailed report does not validate"
	_want=$WANT_REP
	[ "$_dom" = shop.dest.example.org ] && _want=$WANT_SHOP
	_got=$(xml_counts "$_x")
	[ "$_got" = "$_want" ] && e2e_ok "$_dom: counts match the tally ($_got)" ||
		e2e_fail "$_dom: $_got, want $_want"
	grep -q "<report_id>$(echo "$_rid" | tr -d '<>')</report_id>" "$_x" &&
		e2e_ok "$_dom: Subject Report-ID is the report's report_id" ||
		e2e_fail "$_dom: Report-ID $_rid not in the XML"
done <"$E2E_T/reports.txt"

# a rerun sends nothing
"$REPORT" -c "$CONF" --period-end "$TOMORROW" -v >"$E2E_T/report2.log" 2>&1 ||
	e2e_fail "rerun: exit $?"
grep -q '0 reports finished, 0 mails sent' "$E2E_T/report2.log" &&
	e2e_ok "a rerun sends nothing" || e2e_fail "rerun: $(tail -n 2 "$E2E_T/report2.log")"
sleep 2
[ "$(reports_in | wc -l)" -eq 2 ] && e2e_ok "still two report mails" ||
	e2e_fail "$(reports_in | wc -l) report mails after the rerun"

# 4. crash safety, on a second store: two destinations (first@, second@)
conf "$E2E_T/crash.db"
authtag_start "$CONF" "$SOCK" "$LOG" || exit 1
batch 127.0.0.20 a@two.dest.example.org 3 two
authtag_stop
# a sendmail that takes the mail for first@ and fails for second@
cat >"$E2E_T/sendmail-fail" <<EOF
#!/bin/sh
for a; do last=\$a; done
case \$last in second@*) cat >/dev/null; exit 75 ;; esac
echo "\$last" >>"$E2E_T/sent.log"
exec $E2E_T/sendmail "\$@"
EOF
# a sendmail that hangs on second@ (the test kills it with the report tool)
cat >"$E2E_T/sendmail-hang" <<EOF
#!/bin/sh
for a; do last=\$a; done
case \$last in second@*) echo started >"$E2E_T/hang.started"; sleep 60; exit 1 ;; esac
echo "\$last" >>"$E2E_T/sent.log"
exec $E2E_T/sendmail "\$@"
EOF
cat >"$E2E_T/sendmail-log" <<EOF
#!/bin/sh
for a; do last=\$a; done
echo "\$last" >>"$E2E_T/sent.log"
exec $E2E_T/sendmail "\$@"
EOF
chmod 755 "$E2E_T/sendmail-fail" "$E2E_T/sendmail-hang" "$E2E_T/sendmail-log"
: >"$E2E_T/sent.log"
sed -i "s|^SendmailPath .*|SendmailPath $E2E_T/sendmail-fail|" "$CONF"
"$REPORT" -c "$CONF" --period-end "$TOMORROW" >"$E2E_T/crash1.log" 2>&1
_rc=$?
[ "$_rc" -eq 1 ] && grep -q 'second@dest.example.org: .*exited 75; trying again next run' "$E2E_T/crash1.log" &&
	e2e_ok "a failing sendmail: exit 1, the destination left for the next run" ||
	e2e_fail "failing sendmail: exit $_rc, $(tail -n 3 "$E2E_T/crash1.log")"
# the next run hangs in second@ again and is killed, sendmail with it
sed -i "s|^SendmailPath .*|SendmailPath $E2E_T/sendmail-hang|" "$CONF"
rm -f "$E2E_T/hang.started"
setsid "$REPORT" -c "$CONF" --period-end "$TOMORROW" >"$E2E_T/crash2.log" 2>&1 &
_rp=$!
wait_until 30 test -f "$E2E_T/hang.started"
kill -KILL -- -"$_rp" 2>/dev/null
wait "$_rp" 2>/dev/null
# and a rerun with a working sendmail finishes the report
sed -i "s|^SendmailPath .*|SendmailPath $E2E_T/sendmail-log|" "$CONF"
"$REPORT" -c "$CONF" --period-end "$TOMORROW" -v >"$E2E_T/crash3.log" 2>&1 ||
	e2e_fail "the rerun after the kill: exit $?"
_sent=$(sort "$E2E_T/sent.log" | uniq -c | awk '{print $2 "=" $1}' | paste -sd' ' -)
[ "$_sent" = "first@dest.example.org=1 second@dest.example.org=1" ] &&
	e2e_ok "after a failure and a SIGKILL: each destination sent once ($_sent)" ||
	e2e_fail "sent: $_sent"
wait_until 30 sh -c "[ \$(grep -l '^Subject: Report Domain: two.dest.example.org' '$MAILDIR'/* | wc -l) -ge 2 ]"
_ids=$(for _m in $(grep -l '^Subject: Report Domain: two.dest.example.org' "$MAILDIR"/*); do
	hdr "$_m" Subject | sed -n 's/.*Report-ID: *//p'
done | sort -u | wc -l)
_n=$(grep -l '^Subject: Report Domain: two.dest.example.org' "$MAILDIR"/* | wc -l)
[ "$_n" -eq 2 ] && [ "$_ids" -eq 1 ] &&
	e2e_ok "two copies delivered (one per destination), one Report-ID" ||
	e2e_fail "$_n copies, $_ids Report-IDs"

# 5. SIGKILL of the daemon in the middle of a batch
conf "$E2E_T/kill.db"
authtag_start "$CONF" "$SOCK" "$LOG" || exit 1
batch 127.0.0.20 a@rep.example.com 40 wave1
sleep 3 # the writer adds a batch every second
$PY "$E2E_DIR/smtpbatch.py" --server "127.0.0.1:$SMTP_PORT" --source 127.0.0.20 \
	--mail-from a@rep.example.com --count 200 --prefix wave2 --conns 4 \
	--rcpt bob@dest.example.org --deadline 120 >"$E2E_T/batch-wave2.out" 2>&1 &
_bp=$!
wait_until 30 sh -c "[ \$(grep -l 'wave2-' '$MAILDIR'/* 2>/dev/null | wc -l) -ge 40 ]"
kill -KILL "$AT_PID"
wait "$AT_PID" 2>/dev/null
e2e_untrack "$AT_PID"
wait "$_bp" # milter_default_action = accept: the rest arrive untagged
wait_until 60 sh -c "[ \$(grep -l 'wave2-' '$MAILDIR'/* 2>/dev/null | wc -l) -ge 200 ]"
_tagged=$(grep -l 'wave[12]-' "$MAILDIR"/* | xargs grep -l "^Authentication-Results: $ID;" | wc -l)
_stored=$(sqlite3 "$E2E_T/kill.db" "SELECT COALESCE(SUM(count), 0) FROM rows")
e2e_log "killed mid-batch: $_tagged tagged, $_stored rows stored"
[ "$_stored" -ge 40 ] && [ "$_stored" -le "$_tagged" ] &&
	e2e_ok "SIGKILL mid-batch: the first wave kept ($_stored of $_tagged tagged; the rest were in memory, at most ReportFlushInterval's worth)" ||
	e2e_fail "SIGKILL mid-batch: $_stored stored, $_tagged tagged"
sqlite3 "$E2E_T/kill.db" "PRAGMA integrity_check" | grep -qx ok &&
	e2e_ok "the store is intact after the kill" || e2e_fail "integrity_check failed"

# 6. a store that cannot be written: tagged anyway, one log line
conf /nonexistent/authtag/state.db
: >"$LOG"
authtag_start "$CONF" "$SOCK" "$LOG" || exit 1
batch 127.0.0.20 a@rep.example.com 3 down1
sleep 2
batch 127.0.0.21 a@rep.example.com 3 down2
sleep 2
_down=$(grep -l 'down[12]-' "$MAILDIR"/* | xargs grep -l "^Authentication-Results: $ID;" | wc -l)
[ "$_down" -eq 6 ] && e2e_ok "store unwritable: 6 messages tagged and delivered" ||
	e2e_fail "store unwritable: $_down of 6 tagged"
_lines=$(grep -c 'state store sqlite:/nonexistent/authtag/state.db: .*holding report rows' "$LOG")
[ "$_lines" -eq 1 ] && e2e_ok "store unwritable: one log line, not one per message or batch" ||
	e2e_fail "store unwritable: $_lines log lines"
authtag_stop
grep -q 'still away at stop; report rows of 6 messages not recorded' "$LOG" &&
	e2e_ok "at stop: the rows that could not be written are counted in the log" ||
	e2e_fail "stop: $(tail -n 3 "$LOG")"

pf_stop
e2e_finish
