#!/bin/sh
# spamd.sh - the spamd scorer against a real spamd on 127.0.0.1
#
# Starts Debian's spamd (SpamAssassin 4.0.1) on a free loopback port with
# a private site config (offline, -L, plus one test rule) and virtual
# users (-x --virtual-config-dir, so no system accounts), runs
# score_tool through the spamd scorer, then stops spamd by its PID and
# checks that a down spamd costs only its score. Skips (77) without spamd.
set -u
: "${top_srcdir:=.}" "${top_builddir:=.}"
command -v spamd >/dev/null 2>&1 && command -v nc >/dev/null 2>&1 || {
	echo "SKIP: spamd or nc is not installed"
	exit 77
}
tool=$top_builddir/tests/unit/score_tool
work=$(mktemp -d "${TMPDIR:-/tmp}/authtag-spamd.XXXXXX") || exit 99
launcher=
cleanup() {
	[ -s "$work/spamd.pid" ] && kill "$(cat "$work/spamd.pid")" 2>/dev/null
	[ -n "$launcher" ] && kill "$launcher" 2>/dev/null
	[ -n "$launcher" ] && wait "$launcher" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
chmod 755 "$work"
mkdir -p "$work/site" "$work/users/bob" "$work/msgs"
cp /etc/spamassassin/*.pre "$work/site/"
cat >"$work/site/local.cf" <<'EOF'
dns_available no
skip_rbl_checks 1
use_razor2 0
use_pyzor 0
use_bayes 0
bayes_auto_learn 0
required_score 5.0
body     TEST_SPAM_MARKER  /XJS\*C4JDBQADN1\.NSBN3\*2IDNEN\*GTUBE-TEST-MARKER/
score    TEST_SPAM_MARKER  7.3
EOF
printf 'welcomelist_from *@friends.example\nrequired_score 9.0\n' \
	>"$work/users/bob/user_prefs"
chmod -R a+rX "$work/users"

# a free port: the first of a few candidates nothing listens on
port=
for p in $(($$ % 2000 + 17000)) $(($$ % 2000 + 19000)) 21783 23783; do
	nc -z 127.0.0.1 "$p" 2>/dev/null || {
		port=$p
		break
	}
done
[ -n "$port" ] || { echo "no free port"; exit 99; }
asuser=
[ "$(id -u)" = 0 ] && asuser="-u nobody"
# no -d: spamd stays in the foreground, so $! is its master
# shellcheck disable=SC2086
spamd -L -4 --listen="127.0.0.1:$port" --allowed-ips=127.0.0.1 \
	--siteconfigpath="$work/site" -C /usr/share/spamassassin \
	--max-children=2 --min-children=1 --min-spare=1 \
	-x --virtual-config-dir="$work/users/%u" $asuser \
	--pidfile="$work/spamd.pid" -s "$work/spamd.log" \
	>"$work/spamd.out" 2>&1 &
launcher=$!
up=0
for i in $(seq 300); do
	if [ "$(printf 'PING SPAMC/1.5\r\n\r\n' | nc -q1 -w2 127.0.0.1 "$port" \
		2>/dev/null | tr -d '\r')" = "SPAMD/1.5 0 PONG" ]; then
		up=1
		break
	fi
	kill -0 "$launcher" 2>/dev/null || break
	sleep 0.1
done
if [ "$up" = 0 ]; then
	echo "FAIL spamd did not start"
	cat "$work/spamd.out" "$work/spamd.log" 2>/dev/null
	exit 1
fi
echo "spamd up on 127.0.0.1:$port after ${i}00 ms"

printf 'From: Friend <pal@friends.example>\nTo: bob@test.example\nSubject: hi\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nMessage-ID: <1@friends.example>\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-TEST-MARKER\n' \
	>"$work/msgs/marker.eml"
"$tool" --gen "$work/msgs" >/dev/null || exit 99
spamd_at="inet:$port@127.0.0.1"
fail=0
pass=0

# check NAME OUTPUT PATTERN... - every pattern must be a line of OUTPUT
check() {
	name=$1
	out=$2
	shift 2
	for want; do
		if ! printf '%s\n' "$out" | grep -qx -- "$want"; then
			echo "FAIL $name: no line '$want' in:"
			printf '%s\n' "$out" | sed 's/^/    /'
			fail=$((fail + 1))
			return
		fi
	done
	echo "PASS $name"
	pass=$((pass + 1))
}

out=$("$tool" -s spamd -S "$spamd_at" -r "$top_srcdir/rules" \
	"$work/msgs/marker.eml")
check "spamd scores the test marker (no User:)" "$out" \
	'spam=yes' 'hit TEST_SPAM_MARKER 0.000' 'X-Spam-Flag: YES' \
	'score=7.[0-9]*'

out=$("$tool" -s spamd -S "$spamd_at" --rcpt "Bob+lists@test.example" \
	-u "$work/users/%u/user_prefs" "$work/msgs/marker.eml")
check "User: bob gets bob's user_prefs (welcomelist, required 9)" "$out" \
	'spam=no' 'hit USER_IN_WELCOMELIST 0.000' 'required=9.000' \
	'score=-9[0-9.]*'

alone=$("$tool" -s spamd -S "$spamd_at" "$work/msgs/bank-forgery.eml" |
	sed -n 's/^score=//p')
out=$("$tool" -s rules,spamd -S "$spamd_at" -r "$top_srcdir/rules" \
	"$work/msgs/bank-forgery.eml")
sum=$(awk -v a="$alone" 'BEGIN { printf "%.3f", a + 7.5 }')
first=$(printf '%s\n' "$out" | sed -n 's/^hit //p' | head -1)
check "rules then spamd: scores add (7.5 + $alone)" "$out" \
	'spam=yes' 'hit AUTHTAG_DMARC_REJECT 6.000' "score=$sum"
case $first in
AUTHTAG_*) echo "PASS rule names in scorer order: $first first" ;;
*)
	echo "FAIL first hit is $first, not one of the rules scorer's"
	fail=$((fail + 1))
	;;
esac

# spamd stopped: the message still gets the rules scorer's score
kill "$(cat "$work/spamd.pid")"
wait "$launcher" 2>/dev/null
launcher=
rm -f "$work/spamd.pid"
out=$("$tool" -s rules,spamd -S "$spamd_at" -r "$top_srcdir/rules" \
	"$work/msgs/bank-forgery.eml")
check "spamd down: rules score kept, problem named" "$out" \
	'score=7.500' 'spam=yes' \
	"problems=spamd: connect 127.0.0.1:$port: Connection refused"

echo "spamd: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
