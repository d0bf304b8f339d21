#!/bin/sh
# sweep_milter.sh - the authtag daemon under allocation failure, swept
#
# Starts authtag on 127.0.0.1:<free port> with tests/failalloc/failalloc.so
# preloaded and runs sweep_milter.py against it: one forged message per
# N, the N-th allocation made for that connection failing. Stops the
# daemon by PID and checks it exited 0. FAILALLOC_STEP (default 7) sets
# the stride over N.
. "${top_srcdir:-.}/tests/e2e/lib.sh"
e2e_init failalloc-milter
SHIM="$top_builddir/tests/failalloc/failalloc.so"
[ -f "$SHIM" ] || { echo "no $SHIM"; exit 99; }
{
	cat "$top_srcdir/contrib/example/sample-dns.conf"
	echo '    local-zone: "." static'
} >"$E2E_T/dns.conf"
cat >"$E2E_T/authtag.conf" <<EOT
AuthservID mx.example.org
ResolverConfig $E2E_T/dns.conf
Resolver 127.0.0.1@9
ResolverTimeout 1
RulesDir $top_srcdir/rules
Syslog no
EOT
echo 0 >"$E2E_T/n"
PORT=$(free_port)
AUTHTAG_WRAPPER="env LD_PRELOAD=$SHIM FAILALLOC_ARM=accept \
FAILALLOC_NFILE=$E2E_T/n FAILALLOC_REPORT=$E2E_T/count \
ASAN_OPTIONS=verify_asan_link_order=0:allocator_may_return_null=1:detect_leaks=0" \
	authtag_start "$E2E_T/authtag.conf" "inet:$PORT@127.0.0.1" \
	"$E2E_T/authtag.log" || exit 1
if timeout 900 python3 "$top_srcdir/tests/failalloc/sweep_milter.py" \
	"$PORT" mx.example.org "$E2E_T/n" "$E2E_T/count" \
	"${FAILALLOC_STEP:-7}" >"$E2E_T/sweep.out" 2>&1; then
	e2e_ok "$(tail -n 1 "$E2E_T/sweep.out" | sed 's/^ok - //')"
else
	e2e_fail "sweep"
fi
cat "$E2E_T/sweep.out"
authtag_stop
[ "$AT_RC" -eq 0 ] && e2e_ok "SIGTERM: exit 0" ||
	e2e_fail "SIGTERM: exit status $AT_RC"
e2e_finish
