#!/bin/sh
# tests/e2e/outbound.sh - outbound quotas and learned welcome lists, end
# to end through a private Postfix (SQLite store)
#
# Local users submit through Postfix's own sendmail(1), run as that user
# (in a mount namespace where /etc/postfix is this test's configuration,
# so postdrop reads it with no -C and no change to the host). Quota
# 10 messages per 30 s window (fixed windows, aligned to the epoch).
#  1. www-data submits 15 in one window, with authtag SIGKILLed and
#     restarted after the first 6 (the count survives): 10 delivered at
#     once, 5 held in Postfix's hold queue, each with X-Authtag-Held and
#     a log line giving the reason; one alert mail in postmaster's box;
#     nobody's 3 messages and the exempt user daemon's 12 in the same
#     window all delivered;
#  2. authtag-quota release inside that window releases nothing; in the
#     next window, after www-data sent 7 more, it releases 3 (10 - 7),
#     oldest first; in the window after, the last 2; every Message-ID
#     delivered exactly once; a rerun releases nothing; status shows
#     the held mail and the counts; reset clears a count;
#  3. SMTP AUTH: not counted by default; counted with OutboundQuotaAuth
#     (OutboundQuotaUser alice 3: 3 delivered, 2 held);
#  4. learned welcome list: alice (authenticated) writes to
#     bob@partner.example.com; bob's DKIM-signed reply, 5.5 on other
#     rules, gets AUTHTAG_KNOWN_CORRESPONDENT (-3.0) and is not spam; the
#     same reply forged from an unauthorised address without the
#     signature is spam and gets no bonus; carol (who never wrote to
#     bob) gets none; authtag-welcome list/forget.
# Needs root and the packages tests/deps.sh installs.
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_init outbound
e2e_need postfix postconf sendmail postsuper postqueue swaks unbound \
	unbound-checkconf dig openssl dkimsign saslpasswd2 ss unshare runuser
$PY -c 'import dkim' 2>/dev/null || e2e_skip "python3-dkim not installed"
QUOTA=$E2E_BUILD/authtag-quota
WELCOME=$E2E_BUILD/authtag-welcome
[ -x "$QUOTA" ] && [ -x "$WELCOME" ] || e2e_skip "authtag-quota/-welcome not built"

DNS_PORT=$(free_port)
SMTP_PORT=$(free_port)
MILTER_PORT=$(free_port)
PF=$E2E_T/pf
MAILDIR=$PF/mail/box/new
CONF=$E2E_T/authtag.conf
LOG=$E2E_T/authtag.log
SOCK=inet:$MILTER_PORT@127.0.0.1
ID=mx.dest.example.org
WIN=30

{
	cat "$E2E_DIR/zones.conf"
	cat <<'EOF'
    local-data: 'partner.example.com. 300 IN TXT "v=spf1 ip4:127.0.0.20 -all"'
    local-data: 'sel1._domainkey.partner.example.com. 300 IN TXT "v=DKIM1; k=rsa; p=@KEY1@" "@KEY2@"'
    local-data: '_dmarc.partner.example.com. 300 IN TXT "v=DMARC1; p=reject"'
EOF
} >"$E2E_T/zones.conf"
dns_setup "$E2E_T/dns" "$DNS_PORT" "$E2E_T/zones.conf" || exit 1
dns_start "$E2E_T/dns" "$DNS_PORT" || exit 1

# the MTA's commands, pointed at this test's Postfix
mkdir -p "$E2E_T/bin"
for _c in sendmail:-C postsuper:-c postqueue:-c; do
	printf '#!/bin/sh\nexec /usr/sbin/%s %s %s "$@"\n' "${_c%%:*}" \
		"${_c#*:}" "$PF/etc" >"$E2E_T/bin/${_c%%:*}"
	chmod 755 "$E2E_T/bin/${_c%%:*}"
done

# the shipped rules, and one that scores a phrase 5.5 ("other rules")
mkdir -p "$E2E_T/rules"
cp "$E2E_RULES"/*.cf "$E2E_T/rules/"
cat >"$E2E_T/rules/test-offer.cf" <<'EOF'
body     TEST_OFFER /limited time offer/
describe TEST_OFFER test rule: the reply's content scores 5.5
score    TEST_OFFER 5.5
EOF

# conf [LINE...] - this test's configuration (StateStore in the test)
conf() {
	authtag_conf "$CONF.new" "$ID" "$DNS_PORT" \
		"StateStore sqlite:$E2E_T/state.db" "OutboundQuota 10/${WIN}s" \
		"OutboundQuotaExempt daemon" \
		"QuotaAlertTo postmaster@dest.example.org" \
		"SendmailPath $E2E_T/bin/sendmail" \
		"PostsuperPath $E2E_T/bin/postsuper" "LearnWelcome yes" "$@"
	sed -i "s|^RulesDir .*|RulesDir $E2E_T/rules|" "$CONF.new"
	mv "$CONF.new" "$CONF"
}
conf
authtag_start "$CONF" "$SOCK" "$LOG" || exit 1
pf_setup "$PF" "$SMTP_PORT" "inet:127.0.0.1:$MILTER_PORT" sasl
# alice's correspondent is delivered here too (no outside delivery)
postconf -c "$PF/etc" -e "virtual_mailbox_domains = dest.example.org, partner.example.com"
pf_start "$SMTP_PORT" || {
	echo "postfix did not start"
	exit 1
}

# local_send USER MSGID [SUBJECT] - one message through sendmail(1), run
# as USER (its login is the sender: no -f); waits until authtag has seen
# it, so that the order of the holds is the order of sending
local_send() {
	printf 'To: friend@dest.example.org\nSubject: %s\nMessage-ID: <%s@dest.example.org>\n\nlocal mail %s\n' \
		"${3:-local $2}" "$2" "$2" |
		unshare -m sh -c "mount --bind '$PF/etc' /etc/postfix &&
			exec runuser -u '$1' -- /usr/sbin/sendmail -i friend@dest.example.org" ||
		e2e_fail "sendmail as $1 failed for $2"
	wait_until 20 grep -q "message-id=<$2@" "$PF/log/postfix.log" ||
		e2e_fail "Postfix never picked up $2"
	_q=$(grep "message-id=<$2@" "$PF/log/postfix.log" | tail -n 1 |
		sed 's/.*: \([0-9A-F]*\): message-id=.*/\1/')
	wait_until 20 grep -q "$_q: local (sendmail)" "$LOG" ||
		e2e_fail "authtag never saw $2 ($_q)"
}

# delivered MSGID - how many copies arrived
delivered() {
	grep -l -i -E "^Message-ID: <$1@" "$MAILDIR"/* 2>/dev/null | wc -l
}

# held_ids - the queue ids in the hold queue, sorted
held_ids() {
	postqueue -c "$PF/etc" -j 2>/dev/null |
		$PY -c 'import json, sys
print("\n".join(sorted(j["queue_id"] for j in map(json.loads, sys.stdin) if j["queue_name"] == "hold")))'
}
held_count() { held_ids | grep -c . ; }

# wait_window - sleep until a new window has just begun (>= 25 s left)
wait_window() {
	_n=0
	while [ $(($(date +%s) % WIN)) -ne 0 ] && [ $_n -lt 400 ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	sleep 0.2
}

# settled N - wait until N messages were delivered in all
settled() {
	wait_until 60 sh -c "[ \$(find '$MAILDIR' -type f | wc -l) -ge $1 ]" &&
		wait_until 30 pf_queue_empty
}

# ---- 1. the flood: 15 from www-data, with a restart in the middle ----
e2e_log "window 1: 15 from www-data (authtag restarted after 6), 3 from nobody, 12 from daemon"
wait_window
W1=$(date +%s)
for _i in 1 2 3 4 5 6; do local_send www-data "q-$_i" "flood $_i"; done
wait_until 30 sh -c "[ \$(grep -c 'user www-data' '$LOG') -ge 6 ]" ||
	e2e_fail "authtag did not count the first 6"
kill -KILL "$AT_PID"
wait "$AT_PID" 2>/dev/null
e2e_untrack "$AT_PID"
authtag_start "$CONF" "$SOCK" "$LOG" || exit 1
for _i in 7 8 9 10 11 12 13 14 15; do local_send www-data "q-$_i" "flood $_i"; done
for _i in 1 2 3; do local_send nobody "o-$_i"; done
for _i in $(seq 1 12); do local_send daemon "x-$_i"; done
# 10 + 3 + 12 delivered, and the alert
settled 26 || e2e_fail "not everything settled: $(mail_count "$MAILDIR") delivered"
[ $(($(date +%s) - W1)) -lt "$WIN" ] ||
	e2e_fail "window 1 took longer than the window: the counts below may be split"
_q=0
for _i in $(seq 1 15); do [ "$(delivered "q-$_i")" = 1 ] && _q=$((_q + 1)); done
_first=$(for _i in $(seq 1 10); do delivered "q-$_i"; done | paste -sd, -)
[ "$_q" = 10 ] && [ "$_first" = "1,1,1,1,1,1,1,1,1,1" ] &&
	e2e_ok "www-data: the first 10 of 15 delivered at once (count kept across a SIGKILL and restart)" ||
	e2e_fail "www-data: $_q of 15 delivered at once, first ten: $_first"
_h=$(held_count)
[ "$_h" = 5 ] && e2e_ok "5 held in Postfix's hold queue" || e2e_fail "$_h held (want 5)"
_o=$(for _i in 1 2 3; do delivered "o-$_i"; done | paste -sd, -)
[ "$_o" = "1,1,1" ] && e2e_ok "nobody's 3 in the same window delivered" ||
	e2e_fail "nobody's: $_o"
_x=0
for _i in $(seq 1 12); do [ "$(delivered "x-$_i")" = 1 ] && _x=$((_x + 1)); done
[ "$_x" = 12 ] && e2e_ok "exempt user daemon: all 12 delivered" || e2e_fail "daemon: $_x of 12"
# the reason: in the held message, in the log
_qid=$(held_ids | head -n 1)
_hdr=$(postcat -c "$PF/etc" -h -q "$_qid" 2>/dev/null | grep '^X-Authtag-Held:')
case $_hdr in
*"user www-data sent 1"[1-5]" of 10 per 30s"*) e2e_ok "held message carries the reason: $_hdr" ;;
*) e2e_fail "X-Authtag-Held of $_qid: '$_hdr'" ;;
esac
_lines=$(grep -c "held: outbound quota: user www-data sent" "$LOG")
[ "$_lines" = 5 ] && e2e_ok "5 log lines with the reason and the queue id" ||
	e2e_fail "$_lines 'held:' log lines"
grep -q "$_qid: held: outbound quota" "$LOG" || e2e_fail "no log line names $_qid"
# one alert
_alerts=$(grep -l '^Subject: authtag: outbound quota reached by www-data' "$MAILDIR"/* 2>/dev/null | wc -l)
_af=$(grep -l '^Subject: authtag: outbound quota reached by www-data' "$MAILDIR"/* 2>/dev/null | head -n 1)
if [ "$_alerts" = 1 ] && grep -q '^To: postmaster@dest.example.org' "$_af" &&
	grep -q 'Subject:    flood 11' "$_af" && grep -q 'Sender:     www-data@dest.example.org' "$_af" &&
	grep -q "Queue id:   $(held_ids | head -n 1)\|Queue id:   [0-9A-F]" "$_af"; then
	e2e_ok "one alert to postmaster: user, window, first held message (queue id, sender, recipients, Subject)"
else
	e2e_fail "$_alerts alert mails"
	[ -n "$_af" ] && cat "$_af"
fi
grep -q "alert mailed to postmaster@dest.example.org" "$LOG" &&
	e2e_ok "the alert is logged as a warning with the hold" || e2e_fail "no alert log line"
"$QUOTA" -c "$CONF" status www-data >"$E2E_T/status1" 2>&1
if grep -q "^count www-data: 15 of 10" "$E2E_T/status1" &&
	[ "$(grep -c '^held .*user www-data.*window ends' "$E2E_T/status1")" = 5 ]; then
	e2e_ok "authtag-quota status www-data: count 15 of 10, 5 held, window not over"
else
	e2e_fail "status: $(cat "$E2E_T/status1")"
fi
# the window that held them is not over: nothing goes
PATH=$E2E_T/bin:$PATH "$QUOTA" -c "$CONF" -v release >"$E2E_T/rel0" 2>&1
[ "$(held_count)" = 5 ] && e2e_ok "release inside the holding window releases nothing" ||
	e2e_fail "release in window 1: $(held_count) held; $(cat "$E2E_T/rel0")"

# what a script passing -f can dodge, and how Postfix stops it: the
# shipped main.cf.authtag's local_login_sender_maps
printf '/^(.+)$/ $1@dest.example.org\n' >"$PF/etc/login_senders"
postconf -c "$PF/etc" -e "local_login_sender_maps = inline:{ { root = * } }, regexp:$PF/etc/login_senders"
if printf 'Subject: dodge\n\nx\n' | unshare -m sh -c "mount --bind '$PF/etc' /etc/postfix &&
	exec runuser -u www-data -- /usr/sbin/sendmail -i -f someone-else@dest.example.org friend@dest.example.org" \
	>"$E2E_T/dodge.out" 2>&1; then
	e2e_fail "local_login_sender_maps: www-data could send as someone-else"
else
	e2e_ok "with local_login_sender_maps, www-data cannot dodge its counter with -f ($(head -c 100 "$E2E_T/dodge.out"))"
fi
postconf -c "$PF/etc" -X local_login_sender_maps
# sendmail's refusal left postdrop's unfinished file (no execute bit:
# pickup never takes it); it is not mail
find "$PF/spool/maildrop" -type f ! -perm -u+x -delete

# ---- 2. window 2: 7 more, then the release has room for 3 ----
e2e_log "window 2: 7 more from www-data, then release"
wait_window
for _i in 1 2 3 4 5 6 7; do local_send www-data "r-$_i"; done
settled 33 || e2e_fail "the 7 of window 2 did not settle"
PATH=$E2E_T/bin:$PATH "$QUOTA" -c "$CONF" -v release >"$E2E_T/rel1" 2>&1
_rc=$?
settled 36
_rel=$(for _i in 11 12 13 14 15; do delivered "q-$_i"; done | paste -sd, -)
[ "$_rc" = 0 ] && [ "$_rel" = "1,1,1,0,0" ] && [ "$(held_count)" = 2 ] &&
	e2e_ok "window 2: 7 sent, release let 3 go (10 - 7), oldest first; 2 still held" ||
	e2e_fail "window 2 release: exit $_rc, q-11..15 delivered $_rel, $(held_count) held; $(cat "$E2E_T/rel1")"
grep -q "released from hold: user www-data, 10 of 10" "$LOG" "$E2E_T/rel1" 2>/dev/null &&
	e2e_ok "the release logs user, count and queue id" || e2e_fail "release log: $(cat "$E2E_T/rel1")"

# authtag-report shares the store: it must leave held mail alone
"$E2E_BUILD/authtag-report" -c "$CONF" -v >"$E2E_T/report.out" 2>&1
"$QUOTA" -c "$CONF" status www-data >"$E2E_T/status-r" 2>&1
[ "$(grep -c '^held .*user www-data' "$E2E_T/status-r")" = 2 ] &&
	e2e_ok "authtag-report on the same store leaves the held records alone" ||
	e2e_fail "after authtag-report: $(cat "$E2E_T/report.out" "$E2E_T/status-r")"

# ---- window 3: the last 2 ----
e2e_log "window 3: release the rest"
wait_window
PATH=$E2E_T/bin:$PATH "$QUOTA" -c "$CONF" -v release >"$E2E_T/rel2" 2>&1
settled 38
_all=$(for _i in $(seq 1 15); do delivered "q-$_i"; done | paste -sd, -)
_r=$(for _i in $(seq 1 7); do delivered "r-$_i"; done | paste -sd, -)
[ "$_all" = "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1" ] && [ "$_r" = "1,1,1,1,1,1,1" ] &&
	[ "$(held_count)" = 0 ] &&
	e2e_ok "window 3: the last 2 released; each of the 22 Message-IDs delivered exactly once" ||
	e2e_fail "q: $_all r: $_r held: $(held_count)"
PATH=$E2E_T/bin:$PATH "$QUOTA" -c "$CONF" -v release >"$E2E_T/rel3" 2>&1
grep -q "0 released" "$E2E_T/rel3" && settled 38 && [ "$(mail_count "$MAILDIR")" = 38 ] &&
	e2e_ok "a rerun releases nothing more" || e2e_fail "rerun: $(cat "$E2E_T/rel3")"
"$QUOTA" -c "$CONF" status www-data >"$E2E_T/status2" 2>&1
grep -q "^count www-data: 2 of 10" "$E2E_T/status2" && ! grep -q '^held ' "$E2E_T/status2" &&
	e2e_ok "status: the released 2 are counted in this window, nothing held" ||
	e2e_fail "status after: $(cat "$E2E_T/status2")"
"$QUOTA" -c "$CONF" reset www-data >"$E2E_T/reset" 2>&1
"$QUOTA" -c "$CONF" status www-data >"$E2E_T/status3" 2>&1
grep -q "reset www-data: count 2 -> 0" "$E2E_T/reset" && ! grep -q "^count www-data" "$E2E_T/status3" &&
	e2e_ok "reset www-data clears the count" || e2e_fail "reset: $(cat "$E2E_T/reset" "$E2E_T/status3")"

# ---- 3. SMTP AUTH ----
e2e_log "SMTP AUTH: not counted by default"
# auth_send MSGID - one message from alice over SMTP AUTH
auth_send() {
	swaks --server "127.0.0.1:$SMTP_PORT" --local-interface 127.0.0.10 \
		--helo client.example.net --from alice@dest.example.org \
		--to friend@dest.example.org --auth PLAIN \
		--auth-user alice@dest.example.org --auth-password secret123 \
		--header "Message-ID: <$1@dest.example.org>" --header "Subject: auth $1" \
		>"$E2E_T/swaks.out" 2>&1 || e2e_fail "swaks $1: $(tail -n 3 "$E2E_T/swaks.out")"
}
for _i in $(seq 1 12); do auth_send "a-$_i"; done
settled 50
_a=0
for _i in $(seq 1 12); do [ "$(delivered "a-$_i")" = 1 ] && _a=$((_a + 1)); done
[ "$_a" = 12 ] && [ "$(held_count)" = 0 ] &&
	e2e_ok "12 SMTP AUTH messages: not counted by default, all delivered" ||
	e2e_fail "auth default: $_a delivered, $(held_count) held"
conf "OutboundQuotaAuth yes" "OutboundQuotaUser alice@dest.example.org 3"
kill -HUP "$AT_PID"
wait_until 20 grep -q 'reloaded configuration' "$LOG" || e2e_fail "no reload"
sleep 1
wait_window
for _i in $(seq 1 5); do auth_send "b-$_i"; done
settled 53
_b=$(for _i in $(seq 1 5); do delivered "b-$_i"; done | paste -sd, -)
[ "$_b" = "1,1,1,0,0" ] && [ "$(held_count)" = 2 ] &&
	e2e_ok "OutboundQuotaAuth yes, OutboundQuotaUser alice 3: 3 delivered, 2 held" ||
	e2e_fail "auth counted: $_b, $(held_count) held"
grep -q "held: outbound quota: user alice@dest.example.org sent 4 of 3" "$LOG" &&
	e2e_ok "held under the SASL login" || e2e_fail "no hold line for alice"

# ---- 4. learned welcome list ----
e2e_log "learned welcome list"
swaks --server "127.0.0.1:$SMTP_PORT" --local-interface 127.0.0.10 \
	--helo client.example.net --from alice@dest.example.org \
	--to bob@partner.example.com --auth PLAIN \
	--auth-user alice@dest.example.org --auth-password secret123 \
	--header "Subject: lunch?" >"$E2E_T/swaks.out" 2>&1 ||
	e2e_fail "alice's mail to bob not accepted"
"$WELCOME" -c "$CONF" list alice@dest.example.org >"$E2E_T/wl1" 2>&1
grep -q "^alice@dest.example.org wrote to bob@partner.example.com, last on $(date -u +%Y-%m-%d)" "$E2E_T/wl1" &&
	e2e_ok "authtag-welcome list alice: bob@partner.example.com learned" ||
	e2e_fail "list: $(cat "$E2E_T/wl1")"
# reply FILE RCPT MSGID [sign] - bob's reply to RCPT
reply() {
	printf 'From: Bob <bob@partner.example.com>\nTo: %s\nSubject: Re: lunch?\nMessage-ID: <%s@partner.example.com>\nDate: Thu, 01 Jan 2026 00:00:00 +0000\n\nSure. Also: limited time offer on our lunch menu.\n' \
		"$2" "$3" >"$1"
	if [ "${4:-}" = sign ]; then
		dkimsign sel1 partner.example.com "$E2E_T/dns/sel1.key" <"$1" >"$1.s" && mv "$1.s" "$1"
	fi
}
# inbound SOURCE RCPT FILE - one message from outside
inbound() {
	swaks --server "127.0.0.1:$SMTP_PORT" --local-interface "$1" \
		--helo mail.partner.example.com --from bob@partner.example.com \
		--to "$2" --data "@$3" >"$E2E_T/swaks.out" 2>&1 ||
		e2e_fail "inbound to $2 not accepted"
}
reply "$E2E_T/r1.eml" alice@dest.example.org reply-alice sign
inbound 127.0.0.20 alice@dest.example.org "$E2E_T/r1.eml"
reply "$E2E_T/r2.eml" alice@dest.example.org forged-alice
inbound 127.0.0.31 alice@dest.example.org "$E2E_T/r2.eml"
reply "$E2E_T/r3.eml" carol@dest.example.org reply-carol sign
inbound 127.0.0.20 carol@dest.example.org "$E2E_T/r3.eml"
wait_until 30 sh -c "[ \$(grep -l 'partner.example.com>' '$MAILDIR'/* 2>/dev/null | wc -l) -ge 3 ]"
# spam_line MSGID - "Flag|Status" of the delivered copy
spam_line() {
	_f=$(mail_file "$MAILDIR" "$1@partner.example.com")
	[ -n "$_f" ] || { echo "not delivered"; return; }
	echo "$(hdr "$_f" X-Spam-Flag)|$(hdr "$_f" X-Spam-Status | tr -d ' \t')"
}
_s=$(spam_line reply-alice)
case $_s in
"|No,score=2.5"*AUTHTAG_KNOWN_CORRESPONDENT*TEST_OFFER*) e2e_ok "bob's signed reply to alice: known correspondent, 5.5 - 3.0 = 2.5, not spam" ;;
*) e2e_fail "bob's reply to alice: $_s" ;;
esac
_f=$(mail_file "$MAILDIR" "reply-alice@partner.example.com")
hdr "$_f" Authentication-Results | grep -q "dmarc=pass (.*known correspondent" &&
	e2e_ok "its A-R says why: dmarc=pass (... known correspondent)" ||
	e2e_fail "A-R: $(hdr "$_f" Authentication-Results)"
_s=$(spam_line forged-alice)
case $_s in
YES\|Yes*AUTHTAG_KNOWN_CORRESPONDENT*) e2e_fail "forged reply got the bonus: $_s" ;;
YES\|Yes*AUTHTAG_DMARC_REJECT*) e2e_ok "the forged reply (unsigned, unauthorised IP) is spam, no bonus" ;;
*) e2e_fail "forged reply: $_s" ;;
esac
_s=$(spam_line reply-carol)
case $_s in
*AUTHTAG_KNOWN_CORRESPONDENT*) e2e_fail "carol got the bonus: $_s" ;;
YES\|Yes,score=5.5*) e2e_ok "the same signed reply to carol (never wrote to bob): no bonus, spam at 5.5" ;;
*) e2e_fail "reply to carol: $_s" ;;
esac
"$WELCOME" -c "$CONF" forget alice@dest.example.org bob@partner.example.com >"$E2E_T/wl2" 2>&1
"$WELCOME" -c "$CONF" list alice >"$E2E_T/wl3" 2>&1
grep -q "^forgot alice@dest.example.org -> bob@partner.example.com" "$E2E_T/wl2" &&
	! grep -q "bob@partner" "$E2E_T/wl3" && grep -q "friend@dest.example.org" "$E2E_T/wl3" &&
	e2e_ok "authtag-welcome forget alice bob: gone from list alice (her other pairs kept)" ||
	e2e_fail "forget: $(cat "$E2E_T/wl2" "$E2E_T/wl3")"
reply "$E2E_T/r4.eml" alice@dest.example.org reply-again sign
inbound 127.0.0.20 alice@dest.example.org "$E2E_T/r4.eml"
wait_until 30 mail_present "$MAILDIR" "reply-again@partner.example.com"
case $(spam_line reply-again) in
*AUTHTAG_KNOWN_CORRESPONDENT*) e2e_fail "bonus after forget" ;;
YES*) e2e_ok "after forget, bob's reply gets no bonus" ;;
*) e2e_fail "after forget: $(spam_line reply-again)" ;;
esac

authtag_stop
[ "$AT_RC" = 0 ] || e2e_fail "authtag exit status $AT_RC"
e2e_log "$E2E_CHECKS checks, $E2E_FAILED failed"
[ "$E2E_FAILED" = 0 ]
