# tests/e2e/cases.sh - the end-to-end cases both MTAs are put through
# (sourced after lib.sh)
#
# Owns the test messages (the engine's DMARC matrix, forged headers,
# trusted and authenticated clients) and what the delivered copy of each
# must carry. The MTA scripts (postfix.sh, sendmail.sh) provide send_smtp
# and MAILDIR and call cases_send, then cases_check. Expected results
# come from the RFCs: SPF (RFC 7208) against the zones in zones.conf,
# DKIM (RFC 6376) against the key made at test time, DMARC (RFC 9989)
# alignment and policy, and RFC 8601 for the header and its place.

CASES_ID=mx.dest.example.org # the AuthservID the cases expect
CASES_N=0                    # messages the cases send
CASES_MTA=mx.dest.example.org # the receiving MTA's name in Received

# make_msg CASE FROM-FIELD [HEADER...] - a test message in $E2E_T/msg;
# FROM-FIELD "" means no From header at all
make_msg() {
	_case=$1
	_from=$2
	shift 2
	mkdir -p "$E2E_T/msg"
	{
		[ -n "$_from" ] && printf 'From: %s\n' "$_from"
		printf 'To: Bob <bob@dest.example.org>\n'
		printf 'Subject: e2e case %s\n' "$_case"
		printf 'Date: Thu, 01 Jan 2026 00:00:00 +0000\n'
		printf 'Message-ID: <%s@e2e.example.net>\n' "$_case"
		for _h in "$@"; do printf '%s\n' "$_h"; done
		printf '\nThe body of case %s.\n\n-- \nA signature line.\n' "$_case"
	} >"$E2E_T/msg/$_case.eml"
}

# sign CASE DOMAIN [dkimsign options] - DKIM-sign the message with sel1
sign() {
	_case=$1
	_dom=$2
	shift 2
	dkimsign "$@" sel1 "$_dom" "$E2E_T/dns/sel1.key" \
		<"$E2E_T/msg/$_case.eml" >"$E2E_T/msg/$_case.signed" &&
		mv "$E2E_T/msg/$_case.signed" "$E2E_T/msg/$_case.eml"
}

# case_send CASE MAIL-FROM [SOURCE-IP] [swaks options] - send and count
case_send() {
	_case=$1
	_mf=$2
	_src=${3:-127.0.0.10}
	shift 2
	[ $# -gt 0 ] && shift
	if send_smtp "$_src" "$_mf" "$E2E_T/msg/$_case.eml" "$@" \
		>"$E2E_T/swaks-$_case.log" 2>&1; then
		CASES_N=$((CASES_N + 1))
	else
		e2e_fail "$_case: not accepted over SMTP"
		tail -n 5 "$E2E_T/swaks-$_case.log"
	fi
}

# cases_send - the matrix, the forged headers, trust and authentication
cases_send() {
	# DMARC pass with SPF and DKIM aligned; with relaxed/simple
	make_msg pass 'Alice <alice@pass.example.com>'
	sign pass pass.example.com
	case_send pass bounce@pass.example.com

	# only SPF aligned (not signed)
	make_msg spfonly 'Alice <alice@spfonly.example.com>'
	case_send spfonly alice@spfonly.example.com

	# only DKIM aligned: the envelope is another domain's
	make_msg dkimonly 'Alice <alice@dkimonly.example.com>'
	sign dkimonly dkimonly.example.com
	case_send dkimonly list@bounce.example.net

	# failures under p=reject, p=quarantine and p=none
	make_msg reject 'Mallory <ceo@reject.example.org>'
	case_send reject ceo@reject.example.org
	make_msg quarantine 'Mallory <ceo@quarantine.example.org>'
	case_send quarantine ceo@quarantine.example.org
	make_msg pnone 'Mallory <ceo@pnone.example.org>'
	case_send pnone ceo@pnone.example.org

	# a sub-domain with no record: the parent's sp=quarantine applies
	make_msg subdomain 'Sub <alice@sub.parent.example.net>'
	case_send subdomain alice@sub.parent.example.net

	# no DMARC record anywhere
	make_msg norecord 'Nora <nora@norecord.example.org>'
	case_send norecord nora@norecord.example.org

	# no From header at all
	make_msg nofrom ''
	case_send nofrom alice@spfonly.example.com

	# simple/simple: header values must reach the verifier exactly as
	# sent (SMFIP_HDR_LEADSPC), odd spacing and folding included
	make_msg simple 'Alice <alice@pass.example.com>' \
		'X-Spacing:   three spaces before, two after  ' \
		'X-Folded: first line' '	second line after a tab'
	sign simple pass.example.com --hcanon simple --bcanon simple
	case_send simple bounce@pass.example.com

	# forged A-R headers claiming our id, between foreign ones: two...
	make_msg forged2 'Alice <alice@spfonly.example.com>' \
		"Authentication-Results: $CASES_ID; dmarc=pass header.from=forged2-a" \
		'Authentication-Results: other.example.net; spf=pass smtp.mailfrom=keep2-a' \
		"Authentication-Results: MX.Dest.Example.ORG; dkim=pass header.d=forged2-b" \
		'Authentication-Results: other.example.net; dkim=pass header.d=keep2-b'
	case_send forged2 alice@spfonly.example.com
	# ...and three, two of them adjacent, with a look-alike id kept
	make_msg forged3 'Alice <alice@spfonly.example.com>' \
		'Authentication-Results: first.example.org; spf=none smtp.mailfrom=keep3-a' \
		"Authentication-Results: $CASES_ID; dmarc=pass header.from=forged3-a" \
		"Authentication-Results: (comment) $CASES_ID;" \
		'	dkim=pass header.d=forged3-b' \
		"Authentication-Results: $CASES_ID.evil.example; dkim=pass header.d=keep3-b" \
		"Authentication-Results: $CASES_ID 1; spf=pass smtp.mailfrom=forged3-c" \
		'Authentication-Results: last.example.org; none'
	case_send forged3 alice@spfonly.example.com

	# a p=reject forgery with a second author domain that passes, in
	# one From field and in a second one: still the bank's fail
	make_msg twofrom 'Mallory <ceo@reject.example.org>, <a@pass.example.com>'
	sign twofrom pass.example.com
	case_send twofrom bounce@pass.example.com
	make_msg from2 'Mallory <ceo@reject.example.org>' 'From: <a@pass.example.com>'
	sign from2 pass.example.com
	case_send from2 bounce@pass.example.com

	# a trusted client (127.0.0.1 in TrustedNetworks): no SPF or DMARC
	make_msg trusted 'Mallory <ceo@reject.example.org>'
	case_send trusted ceo@reject.example.org 127.0.0.1
}

# ar_has A-R WORD - the header carries result/property WORD
ar_has() {
	printf '%s\n' "$1" | grep -qiE "(^|[ ;(])$2([ ;)]|\$)"
}

# ar_ours FILE - our A-R fields of FILE, unfolded, one a line
ar_ours() {
	hdr "$1" Authentication-Results |
		grep -iE "^(\([^)]*\) *)?$CASES_ID( [0-9]+)?;" || true
}

# check_case CASE [!]WORD... - the delivered copy: our header is the
# first field above the MTA's Received, alone, and has each WORD
check_case() {
	_case=$1
	shift
	wait_until 30 mail_present "$MAILDIR" "$_case@e2e.example.net"
	_f=$(mail_file "$MAILDIR" "$_case@e2e.example.net")
	if [ -z "$_f" ]; then
		e2e_fail "$_case: not delivered"
		return
	fi
	_ar=$(ar_ours "$_f")
	_n=$(printf '%s' "$_ar" | grep -c . || true)
	if [ "$_n" -ne 1 ]; then
		e2e_fail "$_case: $_n Authentication-Results headers of ours"
		printf '%s\n' "$_ar"
		return
	fi
	# at the top: above the receiving MTA's own Received, with only the
	# other fields authtag adds (X-Spam-*) in between
	_above=$(hdr "$_f" --all | awk -v id="$CASES_ID" -v mta="$CASES_MTA" '
		tolower($0) ~ "^received: (.* )?by " mta " " { print ours; exit }
		index(tolower($0), "authentication-results: " id ";") == 1 {
			ours = "ours"; next }
		ours == "ours" && tolower($0) !~ /^x-spam-/ { ours = "gap: " $0 }')
	if [ "$_above" != ours ]; then
		e2e_fail "$_case: our header is not at the top: ${_above:-absent}"
		return
	fi
	for _w in "$@"; do
		case "$_w" in
		!*)
			if printf '%s\n' "$_ar" | grep -qiE "(^|[ ;(])${_w#!}"; then
				e2e_fail "$_case: has ${_w#!}: $_ar"
				return
			fi
			;;
		*)
			if ! ar_has "$_ar" "$_w"; then
				e2e_fail "$_case: no $_w in: $_ar"
				return
			fi
			;;
		esac
	done
	e2e_ok "$_case: $_ar"
}

# check_forged CASE KEPT... - only our new header claims our id, and the
# foreign ones (each marked with a keep-token) are all there, in order
check_forged() {
	_case=$1
	shift
	wait_until 30 mail_present "$MAILDIR" "$_case@e2e.example.net"
	_f=$(mail_file "$MAILDIR" "$_case@e2e.example.net")
	[ -n "$_f" ] || {
		e2e_fail "$_case: not delivered"
		return
	}
	_all=$(hdr "$_f" Authentication-Results)
	if printf '%s\n' "$_all" | grep -q 'forged'; then
		e2e_fail "$_case: a forged header survived: $_all"
		return
	fi
	_kept=$(printf '%s\n' "$_all" | grep -o 'keep[0-9]-[a-z]' | tr '\n' ' ')
	if [ "$_kept" != "$* " ]; then
		e2e_fail "$_case: foreign headers kept: '$_kept', want '$* '"
		return
	fi
	if [ "$(ar_ours "$_f" | grep -c .)" -ne 1 ] ||
		[ "$(printf '%s\n' "$_all" | head -n 1 | cut -d';' -f1)" != "$CASES_ID" ]; then
		e2e_fail "$_case: our header is not the single first one: $_all"
		return
	fi
	e2e_ok "$_case: forged removed, kept $*"
}

# cases_check - what each delivered message must carry
cases_check() {
	check_case pass spf=pass dkim=pass dmarc=pass header.from=pass.example.com
	check_case spfonly spf=pass dkim=none dmarc=pass
	check_case dkimonly spf=pass dkim=pass header.d=dkimonly.example.com dmarc=pass
	check_case reject spf=fail dkim=none dmarc=fail dis=reject
	check_case quarantine spf=fail dmarc=fail dis=quarantine
	check_case pnone spf=fail dmarc=fail dis=none
	check_case subdomain spf=none dmarc=fail dis=quarantine \
		header.from=sub.parent.example.net
	check_case norecord spf=pass dmarc=none
	check_case nofrom spf=pass dmarc=none
	check_case simple dkim=pass dmarc=pass
	check_case twofrom dkim=pass dmarc=fail dis=reject header.from=reject.example.org
	check_case from2 dkim=pass dmarc=fail dis=reject header.from=reject.example.org
	check_forged forged2 keep2-a keep2-b
	check_forged forged3 keep3-a keep3-b
	check_case trusted '!spf=' '!dmarc='
}
