#!/bin/sh
# fdlimit.sh - the daemon keeps running when its descriptor table is full
#
# Starts authtag with a limit of 24 descriptors (prlimit), fills the
# table with held milter connections, sends messages whose checks need
# DNS, releases the connections and sends one more (fdlimit.py). The
# daemon must still be running, must have tagged the last message with
# spf=temperror (no DNS socket could be had), and must stop cleanly.
# Before the fix, libunbound's first query started its libevent loop
# with the table full and libevent exited the process (status 1).
. "${top_srcdir:-.}/tests/e2e/lib.sh"
e2e_init fdlimit
command -v prlimit >/dev/null || { echo "SKIP: no prlimit"; exit 77; }
cat >"$E2E_T/authtag.conf" <<EOT
AuthservID mx.example.org
ResolverConfig $top_srcdir/contrib/example/sample-dns.conf
Resolver 127.0.0.1@9
ResolverTimeout 1
RulesDir $top_srcdir/rules
Syslog no
StateStore none
EOT
PORT=$(free_port)
AUTHTAG_WRAPPER="prlimit --nofile=24 --" \
	authtag_start "$E2E_T/authtag.conf" "inet:$PORT@127.0.0.1" \
	"$E2E_T/authtag.log" || exit 1
if timeout 120 python3 "$top_srcdir/tests/e2e/fdlimit.py" "$PORT" 40 \
	>"$E2E_T/client.out" 2>&1; then
	e2e_ok "descriptors full, then free: the next message tagged spf=temperror"
else
	e2e_fail "after the table was full: $(tail -n 1 "$E2E_T/client.out")"
fi
cat "$E2E_T/client.out"
kill -0 "$AT_PID" 2>/dev/null && e2e_ok "daemon still running" ||
	e2e_fail "daemon gone: $(grep -v "can't create socket" "$E2E_T/authtag.log" | tail -n 3)"
authtag_stop
[ "$AT_RC" -eq 0 ] && e2e_ok "SIGTERM: exit 0" || e2e_fail "SIGTERM: exit status $AT_RC"
e2e_finish
