#!/bin/sh
# test_check.sh - authtag-check end to end on message files, as an
# administrator would run it: the printed headers, the removals, the exit
# codes. DNS comes from the shipped example's hermetic data.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
check="$top_builddir/authtag-check"
[ -n "${AUTHTAG_VALGRIND:-}" ] && check="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $check"
ex="$top_srcdir/contrib/example"
tmp=$(mktemp -d /tmp/authtag-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# the example config names its DNS file relative to the source top
cd "$top_srcdir"

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; sed 's/^/    | /' "$tmp/out"; }
# expect NAME PATTERN...: every extended regex must match the output
expect() {
	name=$1; shift
	for re in "$@"; do
		grep -Eq -- "$re" "$tmp/out" || { echo "    missing: $re"; not_ok "$name"; return; }
	done
	ok "$name"
}
# refuse NAME PATTERN...: none may match
refuse() {
	name=$1; shift
	for re in "$@"; do
		grep -Eq -- "$re" "$tmp/out" && { echo "    unexpected: $re"; not_ok "$name"; return; }
	done
	ok "$name"
}
# unfold: join folded header lines, as procmail and Sieve see a header
unfold() { awk '/^[ \t]/ { sub(/^[ \t]+/, " "); line = line $0; next } { if (NR > 1) print line; line = $0 } END { if (NR) print line }'; }
run() {
	$check -c "$ex/authtag-example.conf" "$@" > "$tmp/raw" 2> "$tmp/err"
	echo $? > "$tmp/rc"
	unfold < "$tmp/raw" > "$tmp/out"
	cat "$tmp/err" >> "$tmp/out"
}
rc() { cat "$tmp/rc"; }

# 1. the shipped example: everything passes
run --client-ip 192.0.2.25 --helo mail.example.com --mail-from alice@example.com "$ex/sample.eml"
expect "example: one A-R header with our authserv-id" '^Authentication-Results: mx\.example\.org;'
expect "example: spf=pass for the full MAIL FROM" 'spf=pass .*smtp\.mailfrom=alice@example\.com'
expect "example: dkim=pass with d= s= a= b=" 'dkim=pass .*header\.d=example\.com' 'header\.s=sample' 'header\.a=rsa-sha256' 'header\.b=[A-Za-z0-9+/]{8}'
expect "example: 2048-bit key comment" 'dkim=pass \(2048-bit key'
expect "example: dmarc=pass with policy comment" 'dmarc=pass \(p=reject.*\) header\.from=example\.com'
[ "$(rc)" = 0 ] && ok "example: exit 0" || not_ok "example: exit 0"
[ "$(grep -c '^Authentication-Results:' "$tmp/out")" = 1 ] && ok "example: exactly one header" || not_ok "example: exactly one header"
awk 'length > 998 { exit 1 }' "$tmp/raw" && ok "example: no line over 998" || not_ok "example: no line over 998"

# 2. CRLF input gives the same header
sed 's/$/\r/' "$ex/sample.eml" > "$tmp/crlf.eml"
run --client-ip 192.0.2.25 --helo mail.example.com --mail-from alice@example.com "$tmp/crlf.eml"
expect "CRLF input: dkim and dmarc pass" 'dkim=pass' 'dmarc=pass'
# and from stdin
$check -c "$ex/authtag-example.conf" --client-ip 192.0.2.25 --mail-from alice@example.com < "$ex/sample.eml" 2>&1 | unfold > "$tmp/out"
expect "stdin input: dkim pass" 'dkim=pass'

# 3. a forgery: wrong client, body changed
sed 's/Hello Bob/Hello Eve/' "$ex/sample.eml" > "$tmp/forged.eml"
run --client-ip 198.51.100.7 --helo evil.example.net --mail-from alice@example.com "$tmp/forged.eml"
expect "forgery: spf=fail, dkim=fail, dmarc=fail under p=reject" 'spf=fail .*smtp\.mailfrom=alice@example\.com' 'dkim=fail' 'dmarc=fail \(p=reject'
refuse "forgery: nothing passes" '(spf|dkim|dmarc)=pass'
expect "forgery: scored as spam" '^X-Spam-Flag: YES$' '^X-Spam-Status: Yes, score=[0-9.]+ required=5\.0 tests=.*AUTHTAG_'

# 4. forged A-R headers claiming our authserv-id are removed, others kept
{
	printf 'Authentication-Results: other.example.net; dkim=pass header.d=example.com\n'
	printf 'Authentication-Results: MX.Example.Org;\n\tdmarc=pass header.from=example.com\n'
	printf 'Received: from x by y; Sun, 22 Nov 2026 10:00:00 +0000\n'
	printf 'Authentication-Results: (comment) mx.example.org 1; spf=pass\n'
	printf 'Authentication-Results: mx.example.org.evil.test; spf=pass\n'
	cat "$ex/sample.eml"
} > "$tmp/ar.eml"
run --client-ip 192.0.2.25 --mail-from alice@example.com "$tmp/ar.eml"
expect "forged A-R: ours removed, highest index first" '^# remove: Authentication-Results\[3\]$' '^# remove: Authentication-Results\[2\]$'
refuse "forged A-R: foreign ones kept" 'Authentication-Results\[1\]' 'Authentication-Results\[4\]'
[ "$(grep -n 'remove:' "$tmp/out" | head -1 | grep -c '\[3\]')" = 1 ] && ok "forged A-R: order 3 then 2" || not_ok "forged A-R: order 3 then 2"

# 4b. a sender cannot pre-mark a message as clean
{ printf 'X-Spam-Flag: NO\nX-Spam-Status: No, score=-100.0\nX-Spam-Flag: NO\n'; cat "$tmp/forged.eml"; } > "$tmp/premarked.eml"
run --client-ip 198.51.100.7 --mail-from alice@example.com "$tmp/premarked.eml"
expect "incoming X-Spam-* removed, highest index first" '^# remove: X-Spam-Flag\[2\]$' '^# remove: X-Spam-Flag\[1\]$' '^# remove: X-Spam-Status\[1\]$' '^X-Spam-Flag: YES$'
run --client-ip 192.0.2.25 --mail-from alice@example.com "$ex/sample.eml"
expect "authenticated message: not spam" '^X-Spam-Status: No, score=' '^X-Spam-Score: '
refuse "authenticated message: no spam flag" '^X-Spam-Flag'

# 5. null sender: the HELO identity, postmaster@helo
run --client-ip 192.0.2.25 --helo mail.example.com --mail-from '<>' "$ex/sample.eml"
expect "null sender: postmaster@HELO" 'smtp\.mailfrom=postmaster@mail\.example\.com'

# 6. authenticated submission: auth=pass, no SPF/DMARC
run --client-ip 198.51.100.7 --auth-user alice --mail-from alice@example.com "$ex/sample.eml"
expect "authenticated: auth=pass smtp.auth=alice" 'auth=pass .*smtp\.auth=alice' 'dkim=pass'
refuse "authenticated: no spf/dmarc" 'spf=' 'dmarc='

# 7. trusted network (default 127.0.0.0/8): no SPF/DMARC
run --client-ip 127.0.0.1 --mail-from alice@example.com "$ex/sample.eml"
refuse "trusted client: no spf/dmarc" 'spf=' 'dmarc='
refuse "trusted client: not scored" '^X-Spam-'

run --client-ip IPv6:::1 --mail-from alice@example.com "$ex/sample.eml"
refuse "trusted IPv6:::1 client (Sendmail's form): no spf/dmarc" 'spf=' 'dmarc='

# 8. From domain trying to inject a result
sed 's/^From: .*/From: x@evil.test; dmarc=pass/' "$ex/sample.eml" > "$tmp/inject.eml"
run --client-ip 198.51.100.7 --mail-from x@evil.test "$tmp/inject.eml"
[ "$(grep -o 'dmarc=' "$tmp/out" | wc -l)" = 1 ] && ok "injection: exactly one dmarc= result" || not_ok "injection: exactly one dmarc= result"
refuse "injection: no dmarc=pass" 'dmarc=pass'

# 9. exit codes and messages
$check -c /nonexistent.conf "$ex/sample.eml" > "$tmp/out" 2>&1; r=$?
[ $r = 2 ] && grep -q '/nonexistent.conf' "$tmp/out" && ok "missing config: exit 2 naming the file" || not_ok "missing config: exit 2 naming the file"
printf 'AuthservID x\nBogusKey 1\n' > "$tmp/bad.conf"
$check -c "$tmp/bad.conf" "$ex/sample.eml" > "$tmp/out" 2>&1; r=$?
[ $r = 2 ] && grep -q 'bad.conf:2: BogusKey: unknown key' "$tmp/out" && ok "bad config: exit 2, file:line: key" || not_ok "bad config: exit 2, file:line: key"
$check -c "$ex/authtag-example.conf" /nonexistent.eml > "$tmp/out" 2>&1; r=$?
[ $r = 1 ] && ok "unreadable message: exit 1" || not_ok "unreadable message: exit 1"
$check --no-such-option > "$tmp/out" 2>&1; r=$?
[ $r = 2 ] && grep -q usage "$tmp/out" && ok "bad option: exit 2 with usage" || not_ok "bad option: exit 2 with usage"

# 10. garbage never crashes: binary junk, no headers, 10,000 headers
head -c 200000 /dev/urandom > "$tmp/junk.eml" 2>/dev/null || dd if=/dev/urandom of="$tmp/junk.eml" bs=1000 count=200 2>/dev/null
run --client-ip 198.51.100.7 --mail-from a@example.com "$tmp/junk.eml"
[ "$(rc)" = 0 ] && grep -q '^Authentication-Results:' "$tmp/out" && ok "binary junk: a header, exit 0" || not_ok "binary junk: a header, exit 0"
expect "binary junk: SPF still judged, no From found" 'spf=fail \(example\.com matched' 'dmarc=none \(no From header field\)' 'dkim=none'
refuse "binary junk: nothing passes" '(dkim|dmarc)=pass'
[ "$(grep -c '^Authentication-Results:' "$tmp/out")" = 1 ] && ok "binary junk: exactly one A-R" || not_ok "binary junk: exactly one A-R"
awk 'BEGIN { for (i = 0; i < 10000; i++) printf "X-H%d: v\n", i; print "From: a@example.com"; print ""; print "b" }' > "$tmp/many.eml"
run --client-ip 198.51.100.7 --mail-from a@example.com "$tmp/many.eml"
[ "$(rc)" = 0 ] && ok "10,000 headers: exit 0" || not_ok "10,000 headers: exit 0"
expect "10,000 headers: the From after them found, p=reject fail" 'dmarc=fail \(p=reject.*dis=reject' 'header\.from=example\.com' '^X-Spam-Flag: YES$' '^X-Spam-Status: Yes, score=8\.0 '
: > "$tmp/empty.eml"
run --client-ip 198.51.100.7 --mail-from a@example.com "$tmp/empty.eml"
expect "empty message: dmarc for a message with no From is not pass" '^Authentication-Results:' 'dmarc=none \(no From header field\)' 'spf=fail'
refuse "empty message: nothing passes" 'dmarc=pass'

# 11. a sender hiding things behind 1 MB of filler headers (past what the
# engine keeps for scoring): forged A-R headers and a second From must
# still be seen
filler() { awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "X-Filler-%d: %0200d\n", i, 0 }'; }
{ filler 6000; printf 'Authentication-Results: mx.example.org; dmarc=pass\n'; cat "$ex/sample.eml"; } > "$tmp/late.eml"
run --client-ip 192.0.2.25 --mail-from alice@example.com "$tmp/late.eml"
expect "forged A-R after 1 MB of filler: removed" '^# remove: Authentication-Results\[1\]$'
{ printf 'Authentication-Results: other.example.net; spf=pass\n'; filler 6000; printf 'Authentication-Results: mx.example.org; dmarc=pass\n'; cat "$ex/sample.eml"; } > "$tmp/late2.eml"
run --client-ip 192.0.2.25 --mail-from alice@example.com "$tmp/late2.eml"
expect "forged A-R after filler: the right index" '^# remove: Authentication-Results\[2\]$'
refuse "forged A-R after filler: foreign one kept" 'Authentication-Results\[1\]'
{ sed -n '1,/^$/p' "$ex/sample.eml" | sed '$d'; filler 6000; printf 'From: "Bank" <ceo@bank.example>\n\n'; sed '1,/^$/d' "$ex/sample.eml"; } > "$tmp/hidden.eml"
run --client-ip 192.0.2.25 --mail-from alice@example.com "$tmp/hidden.eml"
expect "second From after filler: both author domains evaluated" 'dmarc=(permerror|temperror) \([^)]*author domains: example\.com pass'
refuse "second From after filler: no dmarc=pass" 'dmarc=pass'

# 12. scorers see the Received line the MTA is about to add (SpamAssassin
# needs it to find the relay), with the client's HELO made safe
mkdir -p "$tmp/rules"
cp rules/authtag.cf "$tmp/rules/"
cat > "$tmp/rules/probe.cf" <<'EOF'
header PROBE_RCVD Received =~ /^\s*from mail_example\.com__x_ \(\[192\.0\.2\.25\]\)\s+by mx\.example\.org with ESMTP; /
score PROBE_RCVD 0.5
EOF
sed "s#^RulesDir.*#RulesDir $tmp/rules#" "$ex/authtag-example.conf" > "$tmp/probe.conf"
$check -c "$tmp/probe.conf" --client-ip 192.0.2.25 --helo 'mail example.com (x)' --mail-from alice@example.com "$ex/sample.eml" 2>&1 | unfold > "$tmp/out"
expect "scorers see our MTA's Received line" 'tests=.*PROBE_RCVD'

# 13. the action is the engine's: with RejectFailures, authtag-check says
# what the milter will do, after the header and removal lines
{ cat "$ex/sample-dns.conf"
  echo '    local-zone: "quar.example.net." static'
  echo "    local-data: '_dmarc.quar.example.net. 300 IN TXT \"v=DMARC1; p=quarantine\"'"
} > "$tmp/act-dns.conf"
sed -e "s#^ResolverConfig.*#ResolverConfig $tmp/act-dns.conf#" "$ex/authtag-example.conf" > "$tmp/act.conf"
printf 'RejectFailures yes\n' >> "$tmp/act.conf"
printf 'Authentication-Results: mx.example.org; dmarc=pass\nFrom: <ceo@example.com>\nSubject: forged\n\nhi\n' > "$tmp/forged.eml"
$check -c "$tmp/act.conf" --client-ip 203.0.113.9 --mail-from ceo@example.com "$tmp/forged.eml" > "$tmp/out" 2>&1
[ "$(tail -n 1 "$tmp/out")" = "# reject: 550 5.7.1 Message rejected by the DMARC policy of example.com" ] &&
	ok "RejectFailures, p=reject fail: '# reject: 550 5.7.1 ...' as the last line" || not_ok "RejectFailures: reject line"
[ "$(grep -n '^# remove: Authentication-Results\[1\]$' "$tmp/out" | cut -d: -f1)" -lt "$(wc -l < "$tmp/out")" ] 2>/dev/null &&
	ok "RejectFailures: removals come before the action" || not_ok "RejectFailures: order"
printf 'From: <ceo@quar.example.net>\nSubject: forged\n\nhi\n' > "$tmp/quar.eml"
$check -c "$tmp/act.conf" --client-ip 203.0.113.9 --mail-from ceo@example.com "$tmp/quar.eml" > "$tmp/out" 2>&1
[ "$(tail -n 1 "$tmp/out")" = "# quarantine: quarantined by the DMARC policy of quar.example.net" ] &&
	ok "RejectFailures, p=quarantine fail: '# quarantine: ...' line" || not_ok "RejectFailures: quarantine line"
$check -c "$tmp/act.conf" --client-ip 127.0.0.1 --mail-from ceo@example.com "$tmp/forged.eml" > "$tmp/out" 2>&1
refuse "RejectFailures: a trusted client is never rejected" '^# (reject|quarantine|tempfail):'
$check -c "$ex/authtag-example.conf" --client-ip 203.0.113.9 --mail-from ceo@example.com "$tmp/forged.eml" > "$tmp/out" 2>&1
expect "without RejectFailures: tagged dmarc=fail" 'dmarc=fail'
refuse "without RejectFailures: no action line" '^# (reject|quarantine|tempfail):'

# 14. DNS trouble is not a DMARC fail (issue 13 item 2): the SPF record
# of the MAIL FROM domain and the DKIM key of a legitimate p=reject
# sender cannot be fetched: dmarc=temperror, never a reject; a 451 only
# with DMARCTempError tempfail
# (a refuse zone still answers its local-data: the key line goes)
{ grep -v '^ *local-data: .sample._domainkey' "$ex/sample-dns.conf"
  echo '    local-zone: "bounce.example.com." refuse'
  echo '    local-zone: "sample._domainkey.example.com." refuse'
} > "$tmp/temp-dns.conf"
sed -e "s#^ResolverConfig.*#ResolverConfig $tmp/temp-dns.conf#" "$ex/authtag-example.conf" > "$tmp/temp.conf"
printf 'RejectFailures yes\n' >> "$tmp/temp.conf"
$check -c "$tmp/temp.conf" --client-ip 192.0.2.25 --mail-from alice@bounce.example.com "$ex/sample.eml" 2>&1 | unfold > "$tmp/out"
expect "DNS trouble: spf and dkim temperror, dmarc=temperror" 'spf=temperror' 'dkim=temperror' 'dmarc=temperror'
refuse "DNS trouble: never rejected (RejectFailures yes)" '^# (reject|quarantine|tempfail):' 'dmarc=fail'
printf 'DMARCTempError tempfail\n' >> "$tmp/temp.conf"
$check -c "$tmp/temp.conf" --client-ip 192.0.2.25 --mail-from alice@bounce.example.com "$ex/sample.eml" > "$tmp/out" 2>&1
[ "$(tail -n 1 "$tmp/out")" = "# tempfail: 451 4.4.3 DNS error checking the DMARC policy of example.com, try again later" ] &&
	ok "DMARCTempError tempfail: '# tempfail: 451 4.4.3 ...' line" || not_ok "DMARCTempError tempfail line"

# 15. a second author domain (issue 13 item 6): a From field for a
# p=reject domain put above a genuine signed message (DKIM signs the
# lowest From, so the signature still verifies) is that domain's fail:
# scored as the forgery alone, and rejected under RejectFailures
{ cat "$ex/sample-dns.conf"
  echo '    local-zone: "bank.example.net." static'
  echo "    local-data: '_dmarc.bank.example.net. 300 IN TXT \"v=DMARC1; p=reject\"'"
} > "$tmp/bank-dns.conf"
sed -e "s#^ResolverConfig.*#ResolverConfig $tmp/bank-dns.conf#" "$ex/authtag-example.conf" > "$tmp/bank.conf"
{ printf 'From: Bank <ceo@bank.example.net>\n'; cat "$ex/sample.eml"; } > "$tmp/bank.eml"
run_bank() { $check -c "$tmp/bank.conf" --client-ip 192.0.2.25 --mail-from alice@example.com "$tmp/bank.eml" 2>&1 | unfold > "$tmp/out"; }
run_bank
expect "second From above a signed message: the bank's fail, scored" 'dkim=pass' 'dmarc=fail \(p=reject [^)]*dis=reject[^)]*other author domains: example\.com pass\) header\.from=bank\.example\.net' 'tests=[^ ]*AUTHTAG_DMARC_REJECT'
refuse "second From above a signed message: no dmarc=pass" 'dmarc=pass'
printf 'RejectFailures yes\n' >> "$tmp/bank.conf"
run_bank
[ "$(tail -n 1 "$tmp/out")" = "# reject: 550 5.7.1 Message rejected by the DMARC policy of bank.example.net" ] &&
	ok "second From, RejectFailures: rejected" || not_ok "second From, RejectFailures: rejected"

echo "authtag-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
