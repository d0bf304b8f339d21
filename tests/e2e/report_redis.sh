#!/bin/sh
# tests/e2e/report_redis.sh - two MX hosts, one Redis: one report
#
# Two private Postfix instances, each with its own authtag daemon, share
# one real redis-server (StateStore redis://127.0.0.1:PORT/3, started by
# this test on a free loopback port, stopped by its PID). Each MX gets
# part of a batch for rep.example.com; then:
#  1. authtag-report runs on both hosts at the same time: exactly one
#     report is sent, with the summed counts; the other host logs that
#     another host is sending it;
#  2. Redis is stopped while mail keeps coming: the mail is tagged and
#     delivered, the daemon logs the outage once; Redis comes back (same
#     port, empty: the rows held in memory are all there is) and the
#     held rows arrive: a second period's report (dry run) counts them.
# Needs root and the packages contrib/quickstart.sh installs.
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_init rredis
e2e_need postfix postconf sendmail unbound unbound-checkconf dig openssl \
	redis-server redis-cli xmllint ss

DNS_PORT=$(free_port)
SMTP_A=$(free_port)
SMTP_B=$(free_port)
MILTER_A=$(free_port)
MILTER_B=$(free_port)
REDIS_PORT=$(free_port)
ID=mx.dest.example.org
REPORT=$E2E_BUILD/authtag-report
XSD=$(cd "${top_srcdir:-.}" && pwd)/tests/data/dmarc-report/dmarc-2.0.xsd
TOMORROW=$(($(date +%s) / 86400 * 86400 + 86400))
[ -x "$REPORT" ] || e2e_skip "$REPORT not built"

{
	cat "$E2E_DIR/zones.conf"
	cat <<'EOF'
    local-data: 'rep.example.com. 300 IN TXT "v=spf1 ip4:127.0.0.20 -all"'
    local-data: '_dmarc.rep.example.com. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@dest.example.org"'
    local-data: 'rep.example.com._report._dmarc.dest.example.org. 300 IN TXT "v=DMARC1"'
EOF
} >"$E2E_T/zones.conf"
dns_setup "$E2E_T/dns" "$DNS_PORT" "$E2E_T/zones.conf" || exit 1
dns_start "$E2E_T/dns" "$DNS_PORT" || exit 1

redis_start || exit 1
STORE=redis://127.0.0.1:$REDIS_PORT/3

# every report goes to a file: this test counts mails, not delivery
cat >"$E2E_T/sendmail" <<EOF
#!/bin/sh
cat >"$E2E_T/sent.\$\$.\$(date +%s%N)"
EOF
chmod 755 "$E2E_T/sendmail"

# host NAME SMTP MILTER - an MX: authtag (shared store) and Postfix
host() {
	authtag_conf "$E2E_T/$1.conf" "$ID" "$DNS_PORT" "StateStore $STORE" \
		"ReportFlushInterval 1" "SendmailPath $E2E_T/sendmail"
	authtag_start "$E2E_T/$1.conf" "inet:$3@127.0.0.1" "$E2E_T/authtag-$1.log" || exit 1
	eval "AT_$1=\$AT_PID"
	pf_setup "$E2E_T/$1" "$2" "inet:127.0.0.1:$3"
	pf_start "$2" || {
		echo "postfix $1 did not start"
		exit 1
	}
	e2e_track "$(cat "$E2E_T/$1/spool/pid/master.pid" | tr -d ' ')"
}
host a "$SMTP_A" "$MILTER_A"
host b "$SMTP_B" "$MILTER_B"

# batch PORT SOURCE COUNT PREFIX
batch() {
	$PY "$E2E_DIR/smtpbatch.py" --server "127.0.0.1:$1" --source "$2" \
		--mail-from a@rep.example.com --count "$3" --prefix "$4" \
		--rcpt bob@dest.example.org --deadline 120 >"$E2E_T/batch-$4.out" 2>&1 ||
		e2e_fail "batch $4 not all accepted"
}
batch "$SMTP_A" 127.0.0.20 7 a-pass
batch "$SMTP_A" 127.0.0.21 2 a-fail
batch "$SMTP_B" 127.0.0.20 5 b-pass
batch "$SMTP_B" 127.0.0.21 4 b-fail
for h in a b; do
	wait_until 60 sh -c "[ \$(find '$E2E_T/$h/mail/box/new' -type f | wc -l) -ge $([ $h = a ] && echo 9 || echo 9) ]" ||
		e2e_fail "host $h: not all delivered"
done
sleep 3 # each writer adds its batch every second

# 1. both hosts report at once: one report, summed
"$REPORT" -c "$E2E_T/a.conf" --period-end "$TOMORROW" -v >"$E2E_T/ra.log" 2>&1 &
_ra=$!
"$REPORT" -c "$E2E_T/b.conf" --period-end "$TOMORROW" -v >"$E2E_T/rb.log" 2>&1 &
_rb=$!
wait "$_ra"
_rca=$?
wait "$_rb"
_rcb=$?
_sent=$(ls "$E2E_T"/sent.* 2>/dev/null | wc -l)
[ "$_sent" -eq 1 ] && e2e_ok "two hosts ran authtag-report together: one report sent" ||
	e2e_fail "$_sent reports sent (exit $_rca, $_rcb)"
cat "$E2E_T/ra.log" "$E2E_T/rb.log" | grep -q 'report sent: domain=rep.example.com .*records=2 messages=18' &&
	e2e_ok "the report counts both hosts' messages (18)" ||
	e2e_fail "$(cat "$E2E_T/ra.log" "$E2E_T/rb.log" | grep -E 'report sent|another host')"
_m=$(ls "$E2E_T"/sent.* 2>/dev/null | head -n 1)
if [ -n "$_m" ]; then
	$PY - "$_m" "$E2E_T/got.xml" <<'PYEOF'
import email, gzip, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
for p in m.walk():
    if p.get_content_type() == "application/gzip":
        open(sys.argv[2], "wb").write(gzip.decompress(p.get_payload(decode=True)))
PYEOF
	xmllint --noout --schema "$XSD" "$E2E_T/got.xml" >/dev/null 2>&1 &&
		e2e_ok "the report validates" || e2e_fail "the report does not validate"
	_c=$(xmllint --xpath "//*[local-name()='record']/*[local-name()='row']/*[local-name()='count']/text()" "$E2E_T/got.xml" 2>/dev/null | tr '\n' ' ')
	_ips=$(xmllint --xpath "//*[local-name()='source_ip']/text()" "$E2E_T/got.xml" 2>/dev/null | tr '\n' ' ')
	[ "$_ips$_c" = "127.0.0.20 127.0.0.21 12 6 " ] &&
		e2e_ok "records: 127.0.0.20 x12 (7+5), 127.0.0.21 x6 (2+4)" ||
		e2e_fail "records: $_ips / $_c"
fi
# a later run on either host sends nothing more
"$REPORT" -c "$E2E_T/b.conf" --period-end "$TOMORROW" >/dev/null 2>&1
[ "$(ls "$E2E_T"/sent.* | wc -l)" -eq 1 ] && e2e_ok "a rerun sends nothing" ||
	e2e_fail "a rerun sent again"

# 2. Redis goes away while mail flows
kill -TERM "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null
e2e_untrack "$REDIS_PID"
batch "$SMTP_A" 127.0.0.20 3 down1
sleep 2
batch "$SMTP_A" 127.0.0.22 2 down2
wait_until 60 sh -c "[ \$(grep -l 'down[12]-' '$E2E_T/a/mail/box/new'/* 2>/dev/null | wc -l) -ge 5 ]"
_t=$(grep -l 'down[12]-' "$E2E_T/a/mail/box/new"/* | xargs grep -l "^Authentication-Results: $ID;" | wc -l)
[ "$_t" -eq 5 ] && e2e_ok "Redis down: 5 messages tagged and delivered" ||
	e2e_fail "Redis down: $_t of 5 tagged"
_l=$(grep -c "state store redis://127.0.0.1:$REDIS_PORT/3: .*holding report rows" "$E2E_T/authtag-a.log")
[ "$_l" -eq 1 ] && e2e_ok "Redis down: one log line" || e2e_fail "Redis down: $_l log lines"
redis_start || exit 1
wait_until 20 grep -q "state store redis://127.0.0.1:$REDIS_PORT/3: back" "$E2E_T/authtag-a.log" &&
	e2e_ok "Redis back: the daemon says so" || e2e_fail "no 'back' line"
# the held rows are in the (new, empty) Redis: today's report counts 5
mkdir -p "$E2E_T/dry"
"$REPORT" -c "$E2E_T/a.conf" --period-end "$TOMORROW" --dry-run "$E2E_T/dry" >/dev/null 2>&1
_f=$(ls "$E2E_T/dry"/* 2>/dev/null | head -n 1)
_c=$([ -n "$_f" ] && xmllint --xpath "sum(//*[local-name()='count'])" "$_f" 2>/dev/null)
[ "$_c" = 5 ] && e2e_ok "the rows held while Redis was down were written when it came back (5)" ||
	e2e_fail "after Redis came back: count $_c"

for h in a b; do
	eval "AT_PID=\$AT_$h"
	authtag_stop
	postfix -c "$E2E_T/$h/etc" stop >/dev/null 2>&1
done
E2E_PF=""
e2e_finish
