#!/bin/sh
# workers.sh - a message waiting for DNS does not hold up the others
#
# The daemon runs its steps in a pool of workers of which only as many
# as cores wait for MTA connections; the others stand by for when those
# are all stuck in a step. Here the DNS server answers nothing and
# ResolverTimeout is 2 s, so each message waits about 4 s (its SPF
# lookups time out). 16 messages sent at once (workers.py) must all be
# tagged spf=temperror in about one such wait with Workers 32 (under
# 10 s), about two with Workers 8 (under 14 s): one at a time they take
# 64 s, and with only the workers that watch for events (as many as
# cores) 32 s on two cores. The Workers 8 round runs on one core
# (taskset), where one worker watches: the others must still step in.
. "${top_srcdir:-.}/tests/e2e/lib.sh"
e2e_init workers
for _w in 32 8; do
	cat >"$E2E_T/authtag.conf" <<EOT
AuthservID mx.example.org
Resolver 127.0.0.1@$(free_port)
ResolverTimeout 2
RulesDir $top_srcdir/rules
Syslog no
StateStore none
Workers $_w
EOT
	DNS=$(sed -n 's/^Resolver 127.0.0.1@//p' "$E2E_T/authtag.conf")
	PORT=$(free_port)
	# Workers 8 runs on one core (taskset): one worker waits for work,
	# the rest step in as the DNS waits pile up
	_wrap=${AUTHTAG_WRAPPER:-}
	[ "$_w" = 8 ] && AUTHTAG_WRAPPER="taskset -c 0 $_wrap"
	authtag_start "$E2E_T/authtag.conf" "inet:$PORT@127.0.0.1" \
		"$E2E_T/authtag.$_w.log" || exit 1
	AUTHTAG_WRAPPER=$_wrap
	_watch=$([ "$_w" = 8 ] && echo 1 || nproc)
	grep -q "$_w workers, $_watch of them waiting for work" "$E2E_T/authtag.$_w.log" &&
		e2e_ok "Workers $_w: $_watch of them wait for work (the cores it may run on)" ||
		e2e_fail "Workers $_w: $(grep 'listening on' "$E2E_T/authtag.$_w.log")"
	timeout 120 python3 "$top_srcdir/tests/e2e/workers.py" "$PORT" "$DNS" 16 \
		>"$E2E_T/client.$_w.out" 2>&1
	_rc=$?
	_took=$(sed -n 's/^TOOK //p' "$E2E_T/client.$_w.out")
	_max=$([ "$_w" = 32 ] && echo 10 || echo 14)
	if [ "$_rc" -eq 0 ] && [ -n "$_took" ] &&
		awk -v t="$_took" -v m="$_max" 'BEGIN { exit !(t < m) }'; then
		e2e_ok "Workers $_w: 16 messages each waiting for DNS, all tagged in ${_took} s (< $_max s)"
	else
		e2e_fail "Workers $_w: $(head -n 1 "$E2E_T/client.$_w.out") (rc $_rc)"
		cat "$E2E_T/client.$_w.out"
	fi
	authtag_stop
	[ "$AT_RC" -eq 0 ] && e2e_ok "Workers $_w: SIGTERM, exit 0" ||
		e2e_fail "Workers $_w: SIGTERM: exit status $AT_RC"
done
e2e_finish
