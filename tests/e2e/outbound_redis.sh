#!/bin/sh
# tests/e2e/outbound_redis.sh - two authtag instances, one Redis: one
# quota, one learned list
#
# Two daemons (two MX or submission hosts) with StateStore redis:// on
# one real redis-server, OutboundQuota 10/1h, LearnWelcome yes. Driven
# by miltertest (libmilter's own client) the way Postfix's sendmail(1)
# path talks to a milter:
#  1. www-data submits 6 through host A (none held), then 6 through
#     host B: B holds the last 2 - they counted together (12 > 10);
#  2. authtag-quota status (reading the same Redis) shows 12 of 10 and
#     the 2 held queue ids, B's;
#  3. a pair learned on A (alice writes to bob) is listed by
#     authtag-welcome, and forgotten for both.
# Needs root, redis-server and miltertest (tests/deps.sh installs them).
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"
MT_DIR=${top_srcdir:-.}/tests/miltertest

e2e_init oredis
e2e_need redis-server redis-cli miltertest ss
QUOTA=$E2E_BUILD/authtag-quota
WELCOME=$E2E_BUILD/authtag-welcome
[ -x "$QUOTA" ] && [ -x "$WELCOME" ] || e2e_skip "authtag-quota/-welcome not built"
REDIS_PORT=$(free_port)
redis_start || exit 1
STORE=redis://127.0.0.1:$REDIS_PORT/5

# host NAME - its configuration (DNS: none needed, local mail only)
host() {
	authtag_conf "$E2E_T/$1.conf" "mx-$1.dest.example.org" 9 \
		"StateStore $STORE" "OutboundQuota 10/1h" "LearnWelcome yes"
}
host a
host b
PA=$(free_port)
authtag_start "$E2E_T/a.conf" "inet:$PA@127.0.0.1" "$E2E_T/a.log" || exit 1
PID_A=$AT_PID
PB=$(free_port)
authtag_start "$E2E_T/b.conf" "inet:$PB@127.0.0.1" "$E2E_T/b.log" || exit 1

# mt PORT PREFIX N - N local submissions from www-data; prints "held K of N"
mt() {
	timeout 120 miltertest -s "$MT_DIR/quota.lua" -D "sock=inet:$1@127.0.0.1" \
		-D "src=$MT_DIR" -D "id=mx.dest.example.org" -D "n=$3" -D "prefix=$2" \
		-D "sender=www-data@dest.example.org" >"$E2E_T/mt-$2.out" 2>&1 ||
		e2e_fail "miltertest $2: $(tail -n 3 "$E2E_T/mt-$2.out")"
	grep '^held ' "$E2E_T/mt-$2.out"
}
_a=$(mt "$PA" HOSTA 6)
_b=$(mt "$PB" HOSTB 6)
[ "$_a" = "held 0 of 6" ] && [ "$_b" = "held 2 of 6" ] &&
	e2e_ok "6 through host A (none held), 6 through host B: B holds 2 (counted together)" ||
	e2e_fail "A: $_a, B: $_b"
grep -q "HOSTB5: held: outbound quota: user www-data sent 11 of 10" "$E2E_T/b.log" &&
	grep -q "HOSTB6: held: outbound quota: user www-data sent 12 of 10" "$E2E_T/b.log" &&
	e2e_ok "B's log: HOSTB5 and HOSTB6 held as the 11th and 12th" ||
	e2e_fail "B's log: $(grep held: "$E2E_T/b.log")"
"$QUOTA" -c "$E2E_T/a.conf" status www-data >"$E2E_T/status" 2>&1
grep -q "^count www-data: 12 of 10" "$E2E_T/status" &&
	[ "$(grep -c '^held HOSTB[56]: user www-data' "$E2E_T/status")" = 2 ] &&
	e2e_ok "authtag-quota status on host A's configuration: 12 of 10, B's 2 held" ||
	e2e_fail "status: $(cat "$E2E_T/status")"

# a pair learned on A: an authenticated message from alice to bob
cat >"$E2E_T/learn.lua" <<EOF2
dofile(src .. "/lib.lua")
local conn = T.connect()
T.ok(mt.conninfo(conn, "client.example.net", "127.0.0.10"), "conninfo")
T.ok(mt.helo(conn, "client.example.net"), "helo")
T.ok(mt.macro(conn, SMFIC_MAIL, "i", "LEARN1", "{auth_authen}", "alice"), "macro")
T.ok(mt.mailfrom(conn, "<alice@dest.example.org>"), "mailfrom")
T.ok(mt.rcptto(conn, "<Bob@Partner.example.com>"), "rcptto")
T.message(conn, { { "From", " <alice@dest.example.org>" } }, "x\r\n")
T.check(T.eom(conn) == SMFIR_ACCEPT, "accepted")
mt.disconnect(conn)
EOF2
timeout 60 miltertest -s "$E2E_T/learn.lua" -D "sock=inet:$PA@127.0.0.1" \
	-D "src=$MT_DIR" >"$E2E_T/learn.out" 2>&1 || e2e_fail "learn.lua: $(tail -n 3 "$E2E_T/learn.out")"
"$WELCOME" -c "$E2E_T/b.conf" list alice@dest.example.org >"$E2E_T/wl" 2>&1
grep -q "^alice@dest.example.org wrote to bob@partner.example.com" "$E2E_T/wl" &&
	e2e_ok "a pair learned on host A is in the shared list (read with B's configuration)" ||
	e2e_fail "list: $(cat "$E2E_T/wl")"
"$WELCOME" -c "$E2E_T/b.conf" forget alice >"$E2E_T/wl2" 2>&1
"$WELCOME" -c "$E2E_T/a.conf" list alice >"$E2E_T/wl3" 2>&1
grep -q "^1 pair forgotten" "$E2E_T/wl2" && grep -q "^0 pairs" "$E2E_T/wl3" &&
	e2e_ok "forget alice (every pair) on B: gone for A too" ||
	e2e_fail "forget: $(cat "$E2E_T/wl2" "$E2E_T/wl3")"

authtag_stop
[ "$AT_RC" = 0 ] || e2e_fail "host B: exit status $AT_RC"
AT_PID=$PID_A
authtag_stop
[ "$AT_RC" = 0 ] || e2e_fail "host A: exit status $AT_RC"
e2e_log "$E2E_CHECKS checks, $E2E_FAILED failed"
[ "$E2E_FAILED" = 0 ]
