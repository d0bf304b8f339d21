#!/bin/sh
# tests/e2e/sendmail.sh - authtag in a real Sendmail 8.17, end to end
#
# Debian's sendmail-bin conflicts with postfix, so Sendmail is not
# installed: contrib/quickstart.sh fetches its .debs (apt-get download)
# and this test unpacks them (dpkg-deb -x) into a temporary directory,
# builds a sendmail.cf from a test .mc that carries the INPUT_MAIL_FILTER
# line of contrib/sendmail/authtag.mc, and runs everything inside
# "unshare -n -u -p -f --mount-proc": a network namespace of its own where
# only lo exists (Sendmail otherwise stalls qualifying its host name, and
# nothing can leave the machine), a host name of its own, and a PID
# namespace that ends every process with the test. There: unbound
# serving the test zones, authtag, Sendmail on 127.0.0.1, and Postfix's
# smtp-sink writing each relayed message to a file. The same cases as
# the Postfix test (cases.sh), local submission through Sendmail's MSP
# (submit.cf), RejectFailures (550 and Sendmail's quarantine), a reload
# during a batch, authtag stopped, and authtag killed with SIGKILL during
# a 200-message batch and restarted.
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"
. "${top_srcdir:-.}/tests/e2e/cases.sh"
SM_DEBS=${AUTHTAG_SENDMAIL_DEBS:-/var/cache/authtag-tests/sendmail}

# ---- outside: unpack Sendmail, build the .cf, enter the namespace ----
if [ -z "${E2E_INNER:-}" ]; then
	E2E_START=$(date +%s)
	[ "$(id -u)" -eq 0 ] || e2e_skip "needs root (unshare, Sendmail)"
	[ -x "$AUTHTAG" ] || e2e_skip "$AUTHTAG not built"
	e2e_need unshare ip hostname m4 dpkg-deb swaks smtp-source smtp-sink \
		unbound dig openssl dkimsign
	ls "$SM_DEBS"/sendmail-bin_*.deb >/dev/null 2>&1 ||
		e2e_skip "no Sendmail .debs in $SM_DEBS (contrib/quickstart.sh fetches them)"
	unshare -n -u -p -f --mount-proc true 2>/dev/null ||
		e2e_skip "unshare -n -u -p -f --mount-proc is not allowed here (needs CAP_SYS_ADMIN)"
	T=$(mktemp -d /tmp/authtag-sendmail.XXXXXX)
	chmod 755 "$T"
	trap '[ -n "${E2E_KEEP:-}" ] && echo "kept $T" || rm -rf "$T"' EXIT
	trap 'exit 1' INT TERM HUP
	for _d in "$SM_DEBS"/sendmail-bin_*.deb "$SM_DEBS"/sendmail-base_*.deb \
		"$SM_DEBS"/sendmail-cf_*.deb; do
		dpkg-deb -x "$_d" "$T/root" || exit 1
	done
	SMBIN=$T/root/usr/libexec/sendmail/sendmail
	[ -x "$SMBIN" ] || {
		echo "no sendmail binary in the .debs"
		exit 1
	}
	# which shared libraries the unpacked binary lacks, if any
	if ldd "$SMBIN" | grep -q 'not found'; then
		e2e_skip "sendmail needs: $(ldd "$SMBIN" | grep 'not found' | tr -d '\t')"
	fi
	# -p -f: a PID namespace too, so that whatever Sendmail forks ends
	# (and is reaped) with the test; --mount-proc gives it its own /proc
	# (which LeakSanitizer reads at exit in --enable-sanitizers builds)
	E2E_INNER=1 E2E_T=$T E2E_START=$E2E_START \
		unshare -n -u -p -f --mount-proc sh "$0"
	exit $?
fi

# ---- inside the namespace ----
trap e2e_cleanup EXIT
trap 'exit 1' INT TERM HUP
ip link set lo up
hostname mx.dest.example.org
SMBIN=$E2E_T/root/usr/libexec/sendmail/sendmail
CFDIR=$E2E_T/root/usr/share/sendmail/cf
SM=$E2E_T/sm
mkdir -p "$SM/queue" "$SM/mqueue" "$E2E_T/sink"
chmod 700 "$SM/queue"
chown nobody "$E2E_T/sink"
DNS_PORT=$(free_port)
SMTP_PORT=$(free_port)
SINK_PORT=$(free_port)
MILTER_PORT=$(free_port)
MAILDIR=$E2E_T/sink
CONF=$E2E_T/authtag.conf
LOG=$E2E_T/authtag.log
SOCK=inet:$MILTER_PORT@127.0.0.1

printf 'hosts files\naliases files\n' >"$SM/service.switch"
printf '127.0.0.1 mx.dest.example.org localhost\n127.0.0.10 client.example.net\n' >"$SM/hosts"
: >"$SM/aliases"
# the test MTA: 127.0.0.1:SMTP_PORT, everything for dest.example.org
# relayed to smtp-sink, names from a hosts file, no DNS at all
cat >"$SM/test.mc" <<EOF
divert(-1)
# sendmail.mc of the authtag end-to-end test (written by sendmail.sh)
divert(0)dnl
VERSIONID(\`authtag-e2e')dnl
OSTYPE(\`linux')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confDOMAIN_NAME', \`mx.dest.example.org')dnl
define(\`QUEUE_DIR', \`$SM/queue')dnl
define(\`STATUS_FILE', \`$SM/statistics')dnl
define(\`confPID_FILE', \`$SM/sendmail.pid')dnl
define(\`ALIAS_FILE', \`$SM/aliases')dnl
define(\`confHELP_FILE', \`')dnl
define(\`confLOG_LEVEL', \`9')dnl
define(\`confTO_IDENT', \`0')dnl
define(\`confDELIVERY_MODE', \`background')dnl
define(\`confPRIVACY_FLAGS', \`goaway')dnl
define(\`confDEF_USER_ID', \`nobody:nogroup')dnl
define(\`confDONT_BLAME_SENDMAIL', \`GroupWritableDirPathSafe,GroupReadableKeyFile')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SM/service.switch')dnl
define(\`confHOSTS_FILE', \`$SM/hosts')dnl
define(\`confMIN_QUEUE_AGE', \`0')dnl
define(\`SMART_HOST', \`[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SINK_PORT')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $SINK_PORT')dnl
define(\`SMTP_MAILER_ARGS', \`TCP \$h $SINK_PORT')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`no_default_msa')dnl
RELAY_DOMAIN(\`dest.example.org')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=$SMTP_PORT, Addr=127.0.0.1')dnl
EOF
# the shipped INPUT_MAIL_FILTER line, pointed at this test's authtag
sed -n "/^INPUT_MAIL_FILTER/s|inet:8891@127.0.0.1|$SOCK|p" \
	"${top_srcdir:-.}/contrib/sendmail/authtag.mc" >>"$SM/test.mc"
printf 'MAILER(`local'"'"')dnl\nMAILER(`smtp'"'"')dnl\n' >>"$SM/test.mc"
m4 -D_CF_DIR_="$CFDIR/" "$CFDIR/m4/cf.m4" "$SM/test.mc" >"$SM/test.cf" || exit 1
grep -q "^Xauthtag, S=$SOCK" "$SM/test.cf" || {
	echo "the .cf has no authtag filter"
	exit 1
}

# wait_batch PREFIX N - until N distinct messages of the batch arrived
wait_batch() {
	wait_until 120 sh -c "[ \$(cat '$MAILDIR'/* 2>/dev/null |
		grep -ic '^Message-ID: <$1-') -ge $2 ]"
}

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

e2e_log "in a private namespace: dns $DNS_PORT smtp $SMTP_PORT sink $SINK_PORT milter $MILTER_PORT"
dns_setup "$E2E_T/dns" "$DNS_PORT" || exit 1
dns_start "$E2E_T/dns" "$DNS_PORT" || exit 1
new_conf "$CASES_ID"
authtag_start "$CONF" "$SOCK" "$LOG" || exit 1
smtp-sink -u nobody -d "$MAILDIR/%H%M%S." "127.0.0.1:$SINK_PORT" 256 \
	>"$E2E_T/sink.log" 2>&1 &
e2e_track $!
"$SMBIN" -C "$SM/test.cf" -bD -q5s >"$E2E_T/sendmail.log" 2>&1 &
SM_PID=$!
e2e_track $SM_PID
wait_until 20 port_listening "$SMTP_PORT" || {
	echo "sendmail did not start"
	cat "$E2E_T/sendmail.log"
	exit 1
}
e2e_log "$("$SMBIN" -C "$SM/test.cf" -d0.1 -bt </dev/null 2>&1 | grep -m1 'Version')"

# ---- the cases ----
cases_send
e2e_log "checking the cases"
cases_check
if grep -qE ': client=127.0.0.10 mailfrom=pass.example.com from=pass.example.com rcpts=1 spf=pass dkim=pass:pass.example.com dmarc=pass\(p=reject\) score=[-0-9.]+/5.0 tagged' "$LOG" &&
	! grep -q 'NOQUEUE: client=127.0.0.10 mailfrom=pass.example.com' "$LOG"; then
	e2e_ok "summary line with Sendmail's queue id"
else
	e2e_fail "no summary line with a queue id for the pass case"
fi

# ---- local submission through the MSP (submit.cf), as sendmail(1) does ----
cat >"$SM/submit.mc" <<EOF
divert(0)dnl
VERSIONID(\`authtag-e2e-submit')dnl
define(\`confCF_VERSION', \`Submit')dnl
define(\`__OSTYPE__', \`')dnl
define(\`confDOMAIN_NAME', \`mx.dest.example.org')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SM/service.switch')dnl
define(\`confHOSTS_FILE', \`$SM/hosts')dnl
define(\`confPID_FILE', \`$SM/submit.pid')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confDONT_BLAME_SENDMAIL', \`GroupWritableDirPathSafe')dnl
define(\`MSP_QUEUE_DIR', \`$SM/mqueue')dnl
define(\`STATUS_FILE', \`$SM/submit.st')dnl
define(\`confRUN_AS_USER', \`nobody:nogroup')dnl
define(\`confTRUSTED_USER', \`root')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SMTP_PORT')dnl
FEATURE(\`msp', \`[127.0.0.1]', \`$SMTP_PORT')dnl
EOF
m4 -D_CF_DIR_="$CFDIR/" "$CFDIR/m4/cf.m4" "$SM/submit.mc" >"$SM/submit.cf" || exit 1
chown nobody "$SM/mqueue"
make_msg localcmd 'Carol <carol@dest.example.org>'
"$SMBIN" -C "$SM/submit.cf" -odi -f carol@dest.example.org bob@dest.example.org \
	<"$E2E_T/msg/localcmd.eml" >"$E2E_T/localcmd.log" 2>&1 ||
	e2e_fail "localcmd: sendmail(1) failed: $(cat "$E2E_T/localcmd.log")"
# Sendmail runs milters on SMTP input only: the MSP relays local mail to
# the MTA over SMTP from 127.0.0.1, a trusted client
check_case localcmd '!spf=' '!dmarc='
grep -q ': client=127.0.0.1 trusted mailfrom=dest.example.org from=dest.example.org' "$LOG" &&
	e2e_ok "localcmd: logged as a trusted client" ||
	e2e_fail "localcmd: no log line"

# the outbound quota (authtag-quota(8), "Sendmail"): the MSP hands local
# mail to the MTA over SMTP from 127.0.0.1, which the milter cannot tell
# from another local SMTP client, so it is not counted: 1 per hour lets
# both of these through, and nothing is counted
new_conf "$CASES_ID" "OutboundQuota 1/1h" "StateStore sqlite:$E2E_T/state.db"
_gen=$(grep -c 'reloaded configuration' "$LOG")
kill -HUP "$AT_PID"
wait_until 10 sh -c "[ \$(grep -c 'reloaded configuration' '$LOG') -gt $_gen ]"
for _i in 1 2; do
	make_msg "mspquota$_i" 'Carol <carol@dest.example.org>'
	"$SMBIN" -C "$SM/submit.cf" -odi -f carol@dest.example.org bob@dest.example.org \
		<"$E2E_T/msg/mspquota$_i.eml" >>"$E2E_T/mspquota.log" 2>&1 ||
		e2e_fail "mspquota$_i: sendmail(1) failed"
done
wait_until 30 mail_present "$MAILDIR" mspquota2@e2e.example.net
if mail_present "$MAILDIR" mspquota1@e2e.example.net &&
	mail_present "$MAILDIR" mspquota2@e2e.example.net &&
	! grep -q 'quota: \|held: ' "$LOG"; then
	e2e_ok "OutboundQuota 1/1h: two MSP submissions delivered, not counted (SMTP from 127.0.0.1)"
else
	e2e_fail "MSP and the quota: $(grep 'quota: \|held: ' "$LOG")"
fi

# ---- RejectFailures ----
e2e_log "RejectFailures"
new_conf "$CASES_ID" "RejectFailures yes"
_gen=$(grep -c 'reloaded configuration' "$LOG")
kill -HUP "$AT_PID"
wait_until 10 sh -c "[ \$(grep -c 'reloaded configuration' '$LOG') -gt $_gen ]"
make_msg rf-reject 'Mallory <ceo@reject.example.org>'
send_smtp 127.0.0.10 ceo@reject.example.org "$E2E_T/msg/rf-reject.eml" \
	>"$E2E_T/swaks-rf-reject.log" 2>&1
grep -q '<\*\* *550 5.7.1 .*DMARC policy of reject.example.org' "$E2E_T/swaks-rf-reject.log" &&
	e2e_ok "RejectFailures: p=reject failure answered 550 5.7.1" ||
	e2e_fail "RejectFailures: $(grep '^<' "$E2E_T/swaks-rf-reject.log" | tail -n 2)"
make_msg rf-quarantine 'Mallory <ceo@quarantine.example.org>'
case_send rf-quarantine ceo@quarantine.example.org
make_msg rf-pnone 'Mallory <ceo@pnone.example.org>'
case_send rf-pnone ceo@pnone.example.org
check_case rf-pnone dmarc=fail dis=none
# Sendmail keeps a quarantined message in its queue as an hf file
# (not qf: no queue run delivers it) with the reason on a "q" line
wait_until 10 sh -c "grep -l '^qquarantined by the DMARC policy of quarantine.example.org' '$SM/queue'/[hq]f* 2>/dev/null | grep -q ."
if grep -q '^qquarantined by the DMARC policy of quarantine.example.org' "$SM/queue"/hf* 2>/dev/null &&
	! mail_present "$MAILDIR" rf-quarantine@e2e.example.net; then
	e2e_ok "RejectFailures: p=quarantine failure quarantined in Sendmail's queue"
else
	e2e_fail "RejectFailures: p=quarantine failure not quarantined"
fi
new_conf "$CASES_ID"
kill -HUP "$AT_PID"

# ---- reload during a batch ----
e2e_log "reload during a batch"
$PY "$E2E_DIR/smtpbatch.py" --server "127.0.0.1:$SMTP_PORT" --prefix reload \
	--count 60 --conns 4 --per-conn 5 --progress "$E2E_T/reload.progress" \
	--deadline 120 >"$E2E_T/batch-reload.log" 2>&1 &
_batch=$!
e2e_track $_batch
wait_until 60 sh -c "[ \$(wc -l < '$E2E_T/reload.progress' 2>/dev/null || echo 0) -ge 20 ]"
new_conf mx2.dest.example.org
kill -HUP "$AT_PID"
kill -USR1 "$AT_PID"
wait "$_batch" || e2e_fail "reload batch: $(tail -n 2 "$E2E_T/batch-reload.log")"
e2e_untrack $_batch
wait_until 30 grep -q 'AuthservID mx2.dest.example.org' "$LOG" ||
	e2e_fail "no reload logged"
$PY "$E2E_DIR/smtpbatch.py" --server "127.0.0.1:$SMTP_PORT" --prefix after \
	--count 10 --conns 2 --per-conn 5 >>"$E2E_T/batch-reload.log" 2>&1 ||
	e2e_fail "after-reload batch not accepted"
wait_batch reload 60
wait_batch after 10
check_batch reload 60
check_batch after 10
_bad=0
for _f in $(grep -l -i '^Message-ID: <reload-' "$MAILDIR"/*); do
	[ "$(hdr "$_f" Authentication-Results | grep -ciE '^mx2?\.dest\.example\.org;')" -eq 1 ] ||
		_bad=$((_bad + 1))
done
[ "$_bad" -eq 0 ] && e2e_ok "reload: every batch message tagged once" ||
	e2e_fail "reload: $_bad batch messages not tagged exactly once"
_old=$(grep -l -i '^Message-ID: <after-' "$MAILDIR"/* |
	while read -r _f; do hdr "$_f" Authentication-Results | head -n 1; done |
	grep -vc '^mx2\.dest\.example\.org;')
[ "$_old" -eq 0 ] && e2e_ok "reload: later messages carry the new AuthservID" ||
	e2e_fail "reload: $_old later messages without the new AuthservID"
CASES_ID=mx2.dest.example.org

# ---- nothing lost ----
e2e_log "authtag stopped"
authtag_stop
[ "$AT_RC" -eq 0 ] && e2e_ok "SIGTERM: exit 0" || e2e_fail "SIGTERM: exit status $AT_RC"
for _c in down1 down2 down3; do
	make_msg "$_c" 'Alice <alice@spfonly.example.com>'
	case_send "$_c" alice@spfonly.example.com
done
_down=0
for _c in down1 down2 down3; do
	wait_until 30 mail_present "$MAILDIR" "$_c@e2e.example.net"
	_f=$(mail_file "$MAILDIR" "$_c@e2e.example.net")
	[ -n "$_f" ] && [ -z "$(ar_ours "$_f")" ] && _down=$((_down + 1))
done
[ "$_down" -eq 3 ] && e2e_ok "authtag down: 3 of 3 delivered untagged" ||
	e2e_fail "authtag down: $_down of 3 delivered"

e2e_log "SIGKILL during a 200-message batch"
authtag_start "$CONF" "$SOCK" "$LOG" || exit 1
$PY "$E2E_DIR/smtpbatch.py" --server "127.0.0.1:$SMTP_PORT" --prefix kill \
	--count 200 --conns 6 --per-conn 10 --progress "$E2E_T/kill.progress" \
	--deadline 180 >"$E2E_T/batch-kill.log" 2>&1 &
_batch=$!
e2e_track $_batch
wait_until 60 sh -c "[ \$(wc -l < '$E2E_T/kill.progress' 2>/dev/null || echo 0) -ge 50 ]"
kill -KILL "$AT_PID"
wait "$AT_PID" 2>/dev/null
e2e_untrack "$AT_PID"
_at_kill=$(wc -l <"$E2E_T/kill.progress")
authtag_start "$CONF" "$SOCK" "$LOG" || exit 1
e2e_log "killed after $_at_kill accepted, restarted"
wait "$_batch" || e2e_fail "kill batch: $(tail -n 2 "$E2E_T/batch-kill.log")"
e2e_untrack $_batch
wait_batch kill 200
check_batch kill 200
make_msg afterkill 'Alice <alice@spfonly.example.com>'
case_send afterkill alice@spfonly.example.com
check_case afterkill spf=pass dmarc=pass
authtag_stop
[ "$AT_RC" -eq 0 ] || e2e_fail "final stop: exit status $AT_RC"
e2e_finish
