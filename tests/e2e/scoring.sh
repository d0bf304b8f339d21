#!/bin/sh
# tests/e2e/scoring.sh - the scoring stage end to end: Postfix, authtag,
# unbound, a real spamd and procmail into two users' Maildirs
#
# Postfix delivers through procmail, whose rc file INCLUDERCs
# contrib/procmail/spam-flag.rc (X-Spam-Flag: YES to .Spam/). alice's
# user_prefs say "welcomelist_from_dkim *@vendor.example esp.example", bob
# has none; authtag (UserPrefs) and spamd (--virtual-config-dir) read the
# same files. Four messages (scoring/zones.conf), each to alice and to bob:
# a bank.example forgery, vendor.example mail via esp.example (inbox for
# alice only), a vendor.example forgery signed by another domain, and
# authenticated mail; with Scorers rules (scores from rules/README), then
# rules,spamd (spamd's logged score added), then a batch of 20 with spamd
# stopped. Prints where each landed and why. Needs root, spamd, procmail.
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_init scoring
e2e_need postfix postconf swaks unbound unbound-checkconf dig openssl \
	dkimsign spamd spamc procmail ss

DNS_PORT=$(free_port)
SMTP_PORT=$(free_port)
MILTER_PORT=$(free_port)
SPAMD_PORT=$(free_port)
ID=mx.dest.example.org
CONF=$E2E_T/authtag.conf
LOG=$E2E_T/authtag.log
MAIL=$E2E_T/pf/mail # procmail's Maildirs: $MAIL/<user>/ and .../.Spam/
PREFS=$E2E_T/prefs  # $PREFS/<user>/user_prefs, for authtag and spamd
SA=$E2E_T/sa
TABLE=$E2E_T/table
USERS="alice bob"

# spamd's own rule, so that its contribution shows by name
SPAMD_RULE=E2E_SPAMD_SAW_IT

# conf SCORERS - (re)write authtag's configuration
conf() {
	authtag_conf "$CONF.new" "$ID" "$DNS_PORT" "Scorers $1" \
		"UserPrefs $PREFS/%u/user_prefs" "SpamdUser %u" \
		"SpamdSocket inet:$SPAMD_PORT@127.0.0.1" "SpamdTimeout 10"
	mv "$CONF.new" "$CONF"
}

# msg NAME RCPT FROM-ADDR [SIGNING-DOMAIN] - a message in $E2E_T/msg
msg() {
	mkdir -p "$E2E_T/msg"
	{
		printf 'From: %s\n' "$3"
		printf 'To: %s\n' "$2"
		printf 'Subject: Your order confirmation (%s)\n' "$1"
		printf 'Date: Thu, 01 Jan 2026 00:00:00 +0000\n'
		printf 'Message-ID: <%s@e2e.example.net>\n' "$1"
		printf 'MIME-Version: 1.0\n'
		printf 'Content-Type: text/plain; charset=us-ascii\n'
		printf '\nHello,\n\nthank you for your order. It ships on Monday.\n'
		printf 'Message %s.\n\nRegards,\nthe sender\n' "$1"
	} >"$E2E_T/msg/$1.eml"
	[ $# -lt 4 ] && return
	dkimsign sel1 "$4" "$E2E_T/dns/sel1.key" <"$E2E_T/msg/$1.eml" \
		>"$E2E_T/msg/$1.signed" && mv "$E2E_T/msg/$1.signed" "$E2E_T/msg/$1.eml"
}

# send NAME SOURCE-IP MAIL-FROM RCPT - one message over SMTP
send() {
	swaks --server "127.0.0.1:$SMTP_PORT" --local-interface "$2" \
		--helo "client-$2.example.net" --from "$3" --to "$4" \
		--data "@$E2E_T/msg/$1.eml" >"$E2E_T/swaks-$1.out" 2>&1 ||
		e2e_fail "$1: not accepted: $(grep '^<' "$E2E_T/swaks-$1.out" | tail -n 1)"
}

# send_case CASE USER TAG - the case's message to USER, ids end in TAG
send_case() {
	_n=$1-$2-$3
	_to=$2@dest.example.org
	case $1 in
	bank)
		msg "$_n" "$_to" 'Bank Security <security@bank.example>'
		send "$_n" 127.0.0.66 security@bank.example "$_to"
		;;
	vendor)
		msg "$_n" "$_to" 'Vendor Orders <orders@vendor.example>' esp.example
		send "$_n" 127.0.0.20 bounce-4711@esp.example "$_to"
		;;
	vforge)
		msg "$_n" "$_to" 'Vendor Orders <orders@vendor.example>' mallory.example
		send "$_n" 127.0.0.20 bounce-6666@esp.example "$_to"
		;;
	shop)
		msg "$_n" "$_to" 'Shop News <news@shop.example>' shop.example
		send "$_n" 127.0.0.10 bounce@shop.example "$_to"
		;;
	esac
}

# where USER MSGID - "inbox", ".Spam", "none" or "N copies"
where() {
	_in=$(grep -l -i -E "^Message-ID: <$2>" "$MAIL/$1/new"/* 2>/dev/null | wc -l)
	_sp=$(grep -l -i -E "^Message-ID: <$2>" "$MAIL/$1/.Spam/new"/* 2>/dev/null | wc -l)
	if [ $((_in + _sp)) -gt 1 ]; then
		echo "$((_in + _sp)) copies"
	elif [ "$_in" -eq 1 ]; then
		echo inbox
	elif [ "$_sp" -eq 1 ]; then
		echo .Spam
	else
		echo none
	fi
}

# file_of USER MSGID - the delivered file
file_of() {
	grep -l -i -E "^Message-ID: <$2>" "$MAIL/$1/new"/* \
		"$MAIL/$1/.Spam/new"/* 2>/dev/null | head -n 1
}

# status_of FILE - its X-Spam-Status, unfolded
status_of() {
	hdr "$1" X-Spam-Status | head -n 1
}

# score_of STATUS - the score= value
score_of() {
	printf '%s\n' "$1" | sed -n 's/.*score=\([-0-9.]*\).*/\1/p'
}

# tests_of STATUS - the tests= list, one name a line
tests_of() {
	# SpamAssassin folds the list after commas: drop the white space
	printf '%s\n' "$1" | sed -n 's/.* tests=\(.*\) autolearn=.*/\1/p' |
		tr -d ' \t' | tr ',' '\n'
}

# spamd_score USER MSGID - the score spamd logged for this message
spamd_score() {
	# "[child] info: spamd: checking message <id> for user:uid", then
	# that child's "clean message (S/R)" or "identified spam (S/R)"
	awk -v mid="<$2>" -v user="$1" '
		/checking message / && index($0, mid) && index($0, "for " user ":") {
			match($0, /\[[0-9]+\] /); child = substr($0, RSTART, RLENGTH)
			next }
		child != "" && index($0, child) &&
		/(clean message|identified spam) \(/ {
			sub(/.*(clean message|identified spam) \(/, ""); sub(/\/.*/, "")
			print; exit }' "$SA/spamd.log"
}

# want_case CASE USER - expected folder, rules-only score and tests
want_case() {
	case $1-$2 in
	bank-*) echo ".Spam 8.0 AUTHTAG_DMARC_REJECT,AUTHTAG_NO_AUTH,AUTHTAG_SPF_FAIL" ;;
	vendor-alice) echo "inbox -94.0 AUTHTAG_DMARC_REJECT,USER_IN_DKIM_WELCOMELIST" ;;
	vendor-bob) echo ".Spam 6.0 AUTHTAG_DMARC_REJECT" ;;
	vforge-*) echo ".Spam 6.0 AUTHTAG_DMARC_REJECT" ;;
	shop-*) echo "inbox 0.0 " ;;
	esac
}

# sorted LIST - a comma-separated list, sorted, comma-separated
sorted() {
	printf '%s\n' "$1" | tr ',' '\n' | grep . | sort | paste -sd, -
}

# check_case CASE USER TAG SCORERS - folder, A-R, flag, score and tests
check_case() {
	_id=$1-$2-$3@e2e.example.net
	read -r _want_dir _want_score _want_tests <<EOF
$(want_case "$1" "$2")
EOF
	_dir=$(where "$2" "$_id")
	_f=$(file_of "$2" "$_id")
	_st=""
	[ -n "$_f" ] && _st=$(status_of "$_f")
	printf '%-12s %-11s %-6s %-6s %s\n' "$4" "$1" "$2" "$_dir" \
		"${_st:-(no X-Spam-Status)}" >>"$TABLE"
	_what="$4: $1 to $2"
	if [ "$_dir" != "$_want_dir" ]; then
		e2e_fail "$_what: in $_dir, want $_want_dir ($_st)"
		return
	fi
	_ar=$(hdr "$_f" Authentication-Results | grep -i "^$ID;")
	case $1 in
	bank | vendor | vforge) _dm="dmarc=fail (p=reject" ;;
	shop) _dm="dmarc=pass" ;;
	esac
	if ! printf '%s\n' "$_ar" | grep -qF "$_dm"; then
		e2e_fail "$_what: no '$_dm' in A-R: $_ar"
		return
	fi
	_flag=$(hdr "$_f" X-Spam-Flag)
	if [ "$_want_dir" = .Spam ] && [ "$_flag" != YES ] ||
		[ "$_want_dir" = inbox ] && [ -n "$_flag" ]; then
		e2e_fail "$_what: X-Spam-Flag '$_flag' in $_dir"
		return
	fi
	_score=$(score_of "$_st")
	_tests=$(sorted "$(tests_of "$_st" | grep -v '^none$' | paste -sd, -)")
	case $4 in
	rules)
		if [ "$_score" != "$_want_score" ] ||
			[ "$_tests" != "$(sorted "$_want_tests")" ]; then
			e2e_fail "$_what: score $_score tests $_tests, want $_want_score ${_want_tests:-none}"
			return
		fi
		;;
	rules,spamd)
		# every rules-only test is still there, plus spamd's, and the
		# score is the rules score plus what spamd logged for it
		for _t in $(printf '%s\n' "$_want_tests" | tr ',' ' ') $SPAMD_RULE; do
			printf '%s\n' "$_tests" | tr ',' '\n' | grep -qx "$_t" || {
				e2e_fail "$_what: no $_t in tests=$_tests"
				return
			}
		done
		_sd=$(spamd_score "$2" "$_id")
		_sum=$(awk -v a="$_want_score" -v b="${_sd:-x}" \
			'BEGIN { printf "%.1f", a + b }')
		if [ -z "$_sd" ] || [ "$_score" != "$_sum" ]; then
			e2e_fail "$_what: score $_score, want $_want_score + spamd's ${_sd:-(not logged)}"
			return
		fi
		_what="$_what (spamd added $_sd)"
		;;
	esac
	e2e_ok "$_what: $_dir, $_st"
}

# run_cases TAG SCORERS - all four messages to both users, then check
run_cases() {
	for _c in bank vendor vforge shop; do
		for _u in $USERS; do send_case "$_c" "$_u" "$1"; done
	done
	# all 8 delivered (or 60 s), then each checked
	wait_until 60 delivered "-$1@e2e" 8
	wait_until 10 pf_queue_empty
	for _c in bank vendor vforge shop; do
		for _u in $USERS; do check_case "$_c" "$_u" "$1" "$2"; done
	done
}

# delivered PATTERN N - N messages whose Message-ID has PATTERN are in
# the Maildirs
delivered() {
	[ "$(cat "$MAIL"/*/new/* "$MAIL"/*/.Spam/new/* 2>/dev/null |
		grep -i '^Message-ID: <' | grep -c -e "$1")" -ge "$2" ]
}

# ---- set-up: DNS, prefs, spamd, authtag, Postfix with procmail ----
e2e_log "ports: dns $DNS_PORT smtp $SMTP_PORT milter $MILTER_PORT spamd $SPAMD_PORT"
mkdir -p "$PREFS/alice" "$PREFS/bob" "$SA"
# the issue's line, exactly as a user would write it; bob has no file
printf '# alice trusts vendor.example mail signed by its provider\nwelcomelist_from_dkim *@vendor.example esp.example\n' \
	>"$PREFS/alice/user_prefs"
chmod -R a+rX "$PREFS"
spamd_setup "$SA" "header $SPAMD_RULE Subject =~ /./" \
	"describe $SPAMD_RULE spamd saw this message (test rule)" \
	"score $SPAMD_RULE 0.3"
# spamd takes seconds to compile its rules: start it first, wait later
spamd_start "$SA" "$SPAMD_PORT" "$PREFS/%u"
dns_setup "$E2E_T/dns" "$DNS_PORT" "$E2E_DIR/scoring/zones.conf" || exit 1
dns_start "$E2E_T/dns" "$DNS_PORT" || exit 1
conf rules
authtag_start "$CONF" "inet:$MILTER_PORT@127.0.0.1" "$LOG" || exit 1
pf_setup "$E2E_T/pf" "$SMTP_PORT" "inet:127.0.0.1:$MILTER_PORT"
cat >"$E2E_T/procmailrc" <<EOF
# the Maildir of the recipient (USER, from the pipe transport), spam
# filed by the shipped recipe
MAILDIR=$MAIL/\$USER/
DEFAULT=\$MAILDIR
LOGFILE=$MAIL/procmail.log
INCLUDERC=$(cd "${top_srcdir:-.}" && pwd)/contrib/procmail/spam-flag.rc
EOF
pf_procmail "$E2E_T/procmailrc"
# the users' Maildirs exist, as their home directories would
for _u in $USERS; do mkdir -p "$MAIL/$_u"; done
chown -R 65534:65534 "$MAIL"
pf_start "$SMTP_PORT" || {
	echo "postfix did not start"
	exit 1
}
: >"$TABLE"

# ---- 1. Scorers rules ----
e2e_log "Scorers rules"
run_cases r rules

# ---- 2. Scorers rules,spamd, after a reload ----
spamd_wait "$SA" "$SPAMD_PORT" || exit 1
e2e_log "spamd up (pid $SPAMD_PID); Scorers rules,spamd"
conf rules,spamd
_gen=$(grep -c 'reloaded configuration' "$LOG")
kill -HUP "$AT_PID"
wait_until 20 sh -c "[ \$(grep -c 'reloaded configuration' '$LOG') -gt $_gen ]" ||
	e2e_fail "reload to rules,spamd not logged"
run_cases s rules,spamd

# ---- 3. spamd stopped mid-run: a batch of 20 ----
e2e_log "spamd stopped; a batch of 20"
spamd_stop
_warn0=$(grep -c 'scoring incomplete: spamd: .*127.0.0.1' "$LOG")
$PY "$E2E_DIR/smtpbatch.py" --server "127.0.0.1:$SMTP_PORT" --prefix down-shop \
	--count 10 --conns 2 --per-conn 5 --source 127.0.0.10 \
	--mail-from batch@shop.example --rcpt alice@dest.example.org \
	--deadline 60 >"$E2E_T/batch-shop.log" 2>&1 &
_b1=$!
e2e_track $_b1
$PY "$E2E_DIR/smtpbatch.py" --server "127.0.0.1:$SMTP_PORT" --prefix down-bank \
	--count 10 --conns 2 --per-conn 5 --source 127.0.0.66 \
	--mail-from security@bank.example --rcpt bob@dest.example.org \
	--deadline 60 >"$E2E_T/batch-bank.log" 2>&1
_rc2=$?
wait $_b1
_rc1=$?
e2e_untrack $_b1
if [ "$_rc1" -ne 0 ] || [ "$_rc2" -ne 0 ]; then
	e2e_fail "batch not accepted: $(tail -q -n 1 "$E2E_T"/batch-*.log)"
fi
wait_until 60 delivered "<down-" 20
wait_until 30 pf_queue_empty

# check_batch USER PREFIX FOLDER SCORE TESTS - each of 10 once, tagged
check_batch() {
	_bad=""
	for _k in 0 1 2 3 4 5 6 7 8 9; do
		_id=$2-$_k@batch.example.net
		_dir=$(where "$1" "$_id")
		_f=$(file_of "$1" "$_id")
		_st=""
		[ -n "$_f" ] && _st=$(status_of "$_f")
		[ "$_k" -eq 0 ] && printf '%-12s %-11s %-6s %-6s %s\n' "(no spamd)" \
			"$2-*" "$1" "$_dir" "${_st:-(no X-Spam-Status)}" >>"$TABLE"
		_ar=""
		[ -n "$_f" ] && _ar=$(hdr "$_f" Authentication-Results | grep -i "^$ID;")
		if [ "$_dir" != "$3" ] || [ -z "$_ar" ] ||
			[ "$(score_of "$_st")" != "$4" ] ||
			[ "$(sorted "$(tests_of "$_st" | grep -v '^none$' | paste -sd, -)")" != "$(sorted "$5")" ]; then
			_bad="$_bad $_k($_dir: ${_st:-no X-Spam-Status})"
		fi
	done
	if [ -z "$_bad" ]; then
		e2e_ok "spamd down: $2-0..9 to $1 each once in $3, tagged, score $4 without spamd"
	else
		e2e_fail "spamd down: $2 to $1:$_bad"
	fi
}
check_batch alice down-shop inbox 0.0 ""
check_batch bob down-bank .Spam 8.0 AUTHTAG_DMARC_REJECT,AUTHTAG_NO_AUTH,AUTHTAG_SPF_FAIL
_warn=$(($(grep -c "scoring incomplete: spamd: connect 127.0.0.1:$SPAMD_PORT: Connection refused" "$LOG") - _warn0))
if [ "$_warn" -eq 20 ] && kill -0 "$AT_PID"; then
	e2e_ok "spamd down: logged unreachable for each of the 20, authtag still up"
else
	e2e_fail "spamd down: $_warn 'Connection refused' lines for 20 messages"
	grep 'scoring incomplete' "$LOG" | tail -n 3
fi

# ---- the Maildirs ----
echo
echo "The messages (each sent to alice and to bob; alice's user_prefs say"
echo "'welcomelist_from_dkim *@vendor.example esp.example', bob has none):"
echo "  bank    From bank.example (p=reject), sent by a forger: SPF and DMARC fail"
echo "  vendor  From vendor.example (p=reject) via esp.example: SPF and DKIM pass for esp.example"
echo "  vforge  From vendor.example via esp.example, signed d=mallory.example: DMARC fails"
echo "  shop    From shop.example: SPF and DKIM pass, aligned"
echo "  down-*  batches of 10 sent after spamd was stopped (shop-like to alice, bank forgery to bob)"
echo "Where each message landed, and why (X-Spam-Status as delivered):"
printf '%-12s %-11s %-6s %-6s %s\n' scorers message user folder X-Spam-Status
cat "$TABLE"
echo
for _u in $USERS; do
	echo "$_u: inbox $(mail_count "$MAIL/$_u/new"), .Spam $(mail_count "$MAIL/$_u/.Spam/new")"
done
authtag_stop
# a sanitizer build reports into the log (and, for leaks, the status)
if [ "$AT_RC" -eq 0 ] && ! grep -q -E 'Sanitizer|runtime error' "$LOG"; then
	e2e_ok "authtag stopped cleanly (exit 0, no sanitizer report)"
else
	e2e_fail "authtag exit status $AT_RC: $(grep -m 3 -E 'Sanitizer|runtime error' "$LOG")"
fi
e2e_finish
