#!/bin/sh
# tests/e2e/postfix.sh - authtag in a real Postfix, end to end
#
# A private Postfix (own config and queue directories under a temporary
# directory, SMTP on 127.0.0.1:<free port>, smtpd_milters and
# non_smtpd_milters set from contrib/postfix/main.cf.authtag) delivers to
# a Maildir; Debian's unbound on 127.0.0.1:<free port> serves the test
# zones; authtag's Resolver points at it. Checks, in order:
#  1. the DMARC matrix, forged headers, trusted, SMTP AUTH and local
#     (sendmail(1)) mail: the A-R header each delivered copy carries;
#  2. a reload during a batch: none lost or untagged, the new
#     AuthservID on later messages, a bad file ignored;
#  3. RejectFailures: 550 for p=reject, hold for p=quarantine and t=y;
#  4. nothing lost: authtag stopped, then killed with SIGKILL during a
#     200-message batch and restarted: every Message-ID delivered once.
# Needs root and the packages contrib/quickstart.sh installs.
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"
. "${top_srcdir:-.}/tests/e2e/cases.sh"

e2e_init postfix
e2e_need postfix postconf postqueue sendmail swaks unbound unbound-checkconf \
	dig openssl dkimsign saslpasswd2 ss

DNS_PORT=$(free_port)
SMTP_PORT=$(free_port)
MILTER_PORT=$(free_port)
MAILDIR=$E2E_T/pf/mail/box/new
CONF=$E2E_T/authtag.conf
LOG=$E2E_T/authtag.log
SOCK=inet:$MILTER_PORT@127.0.0.1

# check_batch PREFIX N - each of N Message-IDs delivered exactly once
check_batch() {
	_ids=$(delivered_ids "$1")
	_distinct=$(printf '%s\n' "$_ids" | grep -c .)
	_dups=$(printf '%s\n' "$_ids" | awk '$1 > 1' | grep -c .)
	if [ "$_distinct" -eq "$2" ] && [ "$_dups" -eq 0 ]; then
		e2e_ok "$1: all $2 messages delivered exactly once"
	else
		e2e_fail "$1: $_distinct of $2 delivered, $_dups more than once"
	fi
}

# wait_batch PREFIX N - until N distinct messages of a batch are
# delivered and the queue is empty (90 s at most)
wait_batch() {
	wait_until 90 sh -c "[ \$(cat '$MAILDIR'/* 2>/dev/null |
		grep -ic '^Message-ID: <$1-') -ge $2 ]"
	wait_until 30 pf_queue_empty
}

# batch_wait_progress FILE N - until N messages of a batch were accepted
batch_wait_progress() {
	wait_until 60 sh -c "[ \$(wc -l < '$1' 2>/dev/null || echo 0) -ge $2 ]"
}

e2e_log "ports: dns $DNS_PORT smtp $SMTP_PORT milter $MILTER_PORT"
dns_setup "$E2E_T/dns" "$DNS_PORT" || exit 1
dns_start "$E2E_T/dns" "$DNS_PORT" || exit 1
new_conf "$CASES_ID"
authtag_start "$CONF" "$SOCK" "$LOG" || exit 1
pf_setup "$E2E_T/pf" "$SMTP_PORT" "inet:127.0.0.1:$MILTER_PORT" sasl
pf_start "$SMTP_PORT" || {
	echo "postfix did not start"
	exit 1
}

# ---- 1. the cases, SMTP AUTH, local submission ----
e2e_log "sending the cases"
cases_send
make_msg auth 'Mallory <ceo@reject.example.org>'
case_send auth ceo@reject.example.org 127.0.0.10 \
	--auth PLAIN --auth-user alice@dest.example.org --auth-password secret123
make_msg local 'Carol <carol@dest.example.org>'
if sendmail -C "$E2E_T/pf/etc" -f carol@dest.example.org bob@dest.example.org \
	<"$E2E_T/msg/local.eml"; then
	CASES_N=$((CASES_N + 1))
else
	e2e_fail "local: sendmail(1) failed"
fi
e2e_log "checking the cases"
cases_check
check_case auth auth=pass smtp.auth=alice@dest.example.org '!spf=' '!dmarc='
check_case local '!spf=' '!dmarc='
# the local message's queue id, from Postfix's log, in authtag's
_qid=$(grep -F 'message-id=<local@e2e.example.net>' "$E2E_T/pf/log/postfix.log" |
	head -n 1 | sed -n 's/.*: \([0-9A-F]*\): message-id=.*/\1/p')
if [ -n "$_qid" ] && grep -q "$_qid: local (sendmail)" "$LOG"; then
	e2e_ok "local: logged as local submission ($_qid)"
else
	e2e_fail "local: no 'local (sendmail)' log line for queue id '$_qid'"
fi
# over SMTP Postfix sends {i} only from DATA on: authtag asks for it at
# end of header, so no line may say NOQUEUE
if grep -qE ': [0-9A-F]+: client=127.0.0.10 mailfrom=pass.example.com from=pass.example.com rcpts=1 spf=pass dkim=pass:pass.example.com dmarc=pass\(p=reject\) score=[-0-9.]+/5.0 tagged' "$LOG" &&
	! grep -q 'NOQUEUE' "$LOG"; then
	e2e_ok "summary line: queue id, client, domains and results"
else
	e2e_fail "no summary line for the pass case"
fi

# ---- 2. reload during a batch ----
e2e_log "reload during a batch"
_pid_before=$AT_PID
$PY "$E2E_DIR/smtpbatch.py" --server "127.0.0.1:$SMTP_PORT" --prefix reload \
	--count 100 --conns 4 --per-conn 5 --progress "$E2E_T/reload.progress" \
	--deadline 120 >"$E2E_T/batch-reload.log" 2>&1 &
_batch=$!
e2e_track $_batch
batch_wait_progress "$E2E_T/reload.progress" 30
new_conf mx2.dest.example.org
# several signals at once must still give one working daemon
kill -HUP "$AT_PID"
kill -USR1 "$AT_PID"
kill -HUP "$AT_PID"
wait "$_batch"
_brc=$?
e2e_untrack $_batch
[ "$_brc" -eq 0 ] || e2e_fail "reload batch: $(tail -n 2 "$E2E_T/batch-reload.log")"
wait_until 30 grep -q 'AuthservID mx2.dest.example.org' "$LOG" ||
	e2e_fail "no reload logged"
# later messages, on new connections, get the new id
$PY "$E2E_DIR/smtpbatch.py" --server "127.0.0.1:$SMTP_PORT" --prefix after \
	--count 10 --conns 2 --per-conn 5 >>"$E2E_T/batch-reload.log" 2>&1 ||
	e2e_fail "after-reload batch not accepted"
wait_batch reload 100
wait_batch after 10
check_batch reload 100
check_batch after 10
_untagged=0
_new=0
for _f in $(grep -l -i '^Message-ID: <reload-' "$MAILDIR"/*); do
	_ars=$(hdr "$_f" Authentication-Results | grep -ciE '^mx2?\.dest\.example\.org;')
	[ "$_ars" -eq 1 ] || _untagged=$((_untagged + 1))
	hdr "$_f" Authentication-Results | grep -qi '^mx2\.' && _new=$((_new + 1))
done
[ "$_untagged" -eq 0 ] && e2e_ok "reload: every batch message tagged once ($_new with the new id)" ||
	e2e_fail "reload: $_untagged batch messages not tagged exactly once"
_old_after=$(grep -l -i '^Message-ID: <after-' "$MAILDIR"/* |
	while read -r _f; do hdr "$_f" Authentication-Results | head -n 1; done |
	grep -vc '^mx2\.dest\.example\.org;')
[ "$_old_after" -eq 0 ] && e2e_ok "reload: all later messages carry the new AuthservID" ||
	e2e_fail "reload: $_old_after later messages without the new AuthservID"
[ "$AT_PID" = "$_pid_before" ] && kill -0 "$AT_PID" &&
	e2e_ok "reload: the same daemon still runs" || e2e_fail "reload: daemon gone"

# a broken file is logged and ignored
printf 'AuthservID mx3.dest.example.org\nNoSuchKey 1\n' >"$CONF"
kill -HUP "$AT_PID"
wait_until 10 grep -q 'reload failed' "$LOG" && e2e_ok "bad reload logged" ||
	e2e_fail "bad reload not logged"
make_msg afterbad 'Alice <alice@spfonly.example.com>'
CASES_ID=mx2.dest.example.org
case_send afterbad alice@spfonly.example.com
check_case afterbad spf=pass dmarc=pass

# ---- 3. RejectFailures ----
e2e_log "RejectFailures"
new_conf mx2.dest.example.org "RejectFailures yes"
_gen=$(grep -c 'reloaded configuration' "$LOG")
kill -HUP "$AT_PID"
wait_until 10 sh -c "[ \$(grep -c 'reloaded configuration' '$LOG') -gt $_gen ]"
make_msg rf-reject 'Mallory <ceo@reject.example.org>'
send_smtp 127.0.0.10 ceo@reject.example.org "$E2E_T/msg/rf-reject.eml" \
	>"$E2E_T/swaks-rf-reject.log" 2>&1
if grep -q '<\*\* *550 5.7.1 .*DMARC policy of reject.example.org' "$E2E_T/swaks-rf-reject.log"; then
	e2e_ok "RejectFailures: p=reject failure answered 550 5.7.1"
else
	e2e_fail "RejectFailures: p=reject not rejected: $(grep '^<' "$E2E_T/swaks-rf-reject.log" | tail -n 2)"
fi
_held0=$(find "$E2E_T/pf/spool/hold" -type f | wc -l)
for _c in quarantine testing; do
	make_msg "rf-$_c" "Mallory <ceo@$_c.example.org>"
	case_send "rf-$_c" "ceo@$_c.example.org"
done
make_msg rf-pnone 'Mallory <ceo@pnone.example.org>'
case_send rf-pnone ceo@pnone.example.org
make_msg rf-trusted 'Mallory <ceo@reject.example.org>'
case_send rf-trusted ceo@reject.example.org 127.0.0.1
wait_until 20 sh -c "[ \$(find '$E2E_T/pf/spool/hold' -type f | wc -l) -ge $((_held0 + 2)) ]"
_held=$(($(find "$E2E_T/pf/spool/hold" -type f | wc -l) - _held0))
[ "$_held" -eq 2 ] && e2e_ok "RejectFailures: p=quarantine and p=reject t=y held" ||
	e2e_fail "RejectFailures: $_held messages held, want 2"
check_case rf-pnone dmarc=fail dis=none
check_case rf-trusted '!dmarc='
new_conf mx2.dest.example.org
kill -HUP "$AT_PID"

# ---- 4. nothing lost ----
e2e_log "authtag stopped"
authtag_stop
[ "$AT_RC" -eq 0 ] && grep -q 'stopped' "$LOG" && e2e_ok "SIGTERM: exit 0" ||
	e2e_fail "SIGTERM: exit status $AT_RC"
for _c in down1 down2 down3; do
	make_msg "$_c" 'Alice <alice@spfonly.example.com>'
	case_send "$_c" alice@spfonly.example.com
done
make_msg downlocal 'Carol <carol@dest.example.org>'
sendmail -C "$E2E_T/pf/etc" -f carol@dest.example.org bob@dest.example.org \
	<"$E2E_T/msg/downlocal.eml" || e2e_fail "downlocal: sendmail(1) failed"
_down=0
for _c in down1 down2 down3 downlocal; do
	wait_until 30 mail_present "$MAILDIR" "$_c@e2e.example.net"
	_f=$(mail_file "$MAILDIR" "$_c@e2e.example.net")
	[ -n "$_f" ] && [ -z "$(ar_ours "$_f")" ] && _down=$((_down + 1))
done
[ "$_down" -eq 4 ] && e2e_ok "authtag down: 4 of 4 delivered untagged" ||
	e2e_fail "authtag down: $_down of 4 delivered"

e2e_log "SIGKILL during a 200-message batch"
wait_until 10 sh -c "! ss -Hltn 'sport = :$MILTER_PORT' | grep -q ."
authtag_start "$CONF" "$SOCK" "$LOG" || exit 1
$PY "$E2E_DIR/smtpbatch.py" --server "127.0.0.1:$SMTP_PORT" --prefix kill \
	--count 200 --conns 6 --per-conn 10 --progress "$E2E_T/kill.progress" \
	--deadline 180 >"$E2E_T/batch-kill.log" 2>&1 &
_batch=$!
e2e_track $_batch
batch_wait_progress "$E2E_T/kill.progress" 50
kill -KILL "$AT_PID"
wait "$AT_PID" 2>/dev/null
e2e_untrack "$AT_PID"
_at_kill=$(wc -l <"$E2E_T/kill.progress")
authtag_start "$CONF" "$SOCK" "$LOG" || exit 1
e2e_log "killed after $_at_kill accepted, restarted"
wait "$_batch"
_brc=$?
e2e_untrack $_batch
[ "$_brc" -eq 0 ] || e2e_fail "kill batch: $(tail -n 2 "$E2E_T/batch-kill.log")"
wait_batch kill 200
check_batch kill 200
make_msg afterkill 'Alice <alice@spfonly.example.com>'
case_send afterkill alice@spfonly.example.com
check_case afterkill spf=pass dmarc=pass
authtag_stop
[ "$AT_RC" -eq 0 ] || e2e_fail "final stop: exit status $AT_RC"
e2e_finish
