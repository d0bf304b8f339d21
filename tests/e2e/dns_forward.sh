#!/bin/sh
# tests/e2e/dns_forward.sh - with forwarders, every name is asked of them
#
# libunbound answers the RFC 6761 special-use names (test., invalid.,
# onion., home.arpa., ...) and the private reverse zones NXDOMAIN itself,
# without asking anyone. With "Resolver 127.0.0.1@PORT" the administrator
# chose a server: a real unbound on loopback serves shop.example.test
# (SPF, DMARC) and the PTR of 10.1.2.3, and authtag-check must get them
# from it (issue 11: it reported "no SPF record" before).
# Needs unbound and dig (contrib/quickstart.sh installs them).
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_init dnsfwd
e2e_need unbound unbound-checkconf dig
DNS_PORT=$(free_port)
CHECK=$E2E_BUILD/authtag-check
cat >"$E2E_T/zones.conf" <<'ZONES'
    local-zone: "test." static
    local-data: 'shop.example.test. 300 IN TXT "v=spf1 ip4:192.0.2.25 -all"'
    local-data: '_dmarc.shop.example.test. 300 IN TXT "v=DMARC1; p=reject"'
    local-zone: "10.in-addr.arpa." static
    local-data: '3.2.1.10.in-addr.arpa. 300 IN PTR mail.shop.example.test.'
    local-data: 'mail.shop.example.test. 300 IN A 10.1.2.3'
    local-data: 'ptr.example.test. 300 IN TXT "v=spf1 ptr:shop.example.test -all"'
    local-data: '_dmarc.ptr.example.test. 300 IN TXT "v=DMARC1; p=none"'
ZONES
dns_setup "$E2E_T/dns" "$DNS_PORT" "$E2E_T/zones.conf" || exit 1
unbound -d -c "$E2E_T/dns/unbound.conf" >"$E2E_T/unbound.log" 2>&1 &
DNS_PID=$!
e2e_track $DNS_PID
wait_until 10 dig +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 shop.example.test TXT +short ||
	{ echo "unbound did not start"; exit 1; }
authtag_conf "$E2E_T/authtag.conf" mx.dest.example.org "$DNS_PORT"
printf 'From: Alice <alice@shop.example.test>\nTo: bob@dest.example.org\nSubject: order\nMessage-ID: <o1@shop.example.test>\n\nyour order\n' >"$E2E_T/a.eml"
"$CHECK" -c "$E2E_T/authtag.conf" --client-ip 192.0.2.25 --helo mail.shop.example.test \
	--mail-from alice@shop.example.test "$E2E_T/a.eml" >"$E2E_T/a.out" 2>&1
grep -q 'spf=pass' "$E2E_T/a.out" && grep -q 'dmarc=pass' "$E2E_T/a.out" &&
	e2e_ok "a .test domain's SPF and DMARC come from the forwarder" ||
	e2e_fail ".test: $(cat "$E2E_T/a.out")"
sed 's/shop.example.test/ptr.example.test/g' "$E2E_T/a.eml" >"$E2E_T/b.eml"
"$CHECK" -c "$E2E_T/authtag.conf" --client-ip 10.1.2.3 --helo mail.shop.example.test \
	--mail-from alice@ptr.example.test "$E2E_T/b.eml" >"$E2E_T/b.out" 2>&1
grep -q 'spf=pass' "$E2E_T/b.out" &&
	e2e_ok "the PTR of a private address comes from the forwarder (SPF ptr: pass)" ||
	e2e_fail "10.in-addr.arpa: $(cat "$E2E_T/b.out")"
e2e_stop_pid "$DNS_PID" 5
e2e_untrack "$DNS_PID"
e2e_finish
