#!/bin/sh
# tests/e2e/metrics.sh - Prometheus scrapes authtag during an e2e run
#
# A private Postfix + authtag with MetricsSocket on a loopback port, and
# a real Prometheus (Debian's package) on another, scraping it every
# second. Five messages go through (3 DMARC pass, 2 DMARC fail); what
# Prometheus stored must match them: results by method and result,
# messages by action, the latency histogram's count, up == 1. The
# exposition passes "promtool check metrics". Every server is stopped by
# its PID. Needs root and the packages make check's tests/deps.sh installs.
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_init metrics
e2e_need postfix postconf unbound unbound-checkconf dig prometheus promtool curl ss

DNS_PORT=$(free_port)
SMTP_PORT=$(free_port)
MILTER_PORT=$(free_port)
MPORT=$(free_port)
PPORT=$(free_port)
CONF=$E2E_T/authtag.conf
LOG=$E2E_T/authtag.log
MAILDIR=$E2E_T/pf/mail/box/new

dns_setup "$E2E_T/dns" "$DNS_PORT" || exit 1
dns_start "$E2E_T/dns" "$DNS_PORT" || exit 1
authtag_conf "$CONF" mx.dest.example.org "$DNS_PORT" "MetricsSocket inet:$MPORT@127.0.0.1"
authtag_start "$CONF" "inet:$MILTER_PORT@127.0.0.1" "$LOG" || exit 1
pf_setup "$E2E_T/pf" "$SMTP_PORT" "inet:127.0.0.1:$MILTER_PORT"
pf_start "$SMTP_PORT" || { echo "postfix did not start"; exit 1; }

cat >"$E2E_T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: authtag
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
YML
promtool check config "$E2E_T/prometheus.yml" >/dev/null 2>&1 ||
	e2e_fail "promtool check config"
prometheus --config.file="$E2E_T/prometheus.yml" \
	--storage.tsdb.path="$E2E_T/prom" --web.listen-address="127.0.0.1:$PPORT" \
	>"$E2E_T/prometheus.log" 2>&1 &
PROM_PID=$!
e2e_track $PROM_PID
wait_until 30 curl -sf "http://127.0.0.1:$PPORT/-/ready" ||
	{ echo "prometheus did not start"; tail -n 20 "$E2E_T/prometheus.log"; exit 1; }

for b in "pass.example.com 3 pass" "reject.example.org 2 fail"; do
	set -- $b
	$PY "$E2E_DIR/smtpbatch.py" --server "127.0.0.1:$SMTP_PORT" --source 127.0.0.10 \
		--mail-from "a@$1" --count "$2" --prefix "m-$3" --rcpt bob@dest.example.org \
		--deadline 60 >"$E2E_T/batch-$3.out" 2>&1 || e2e_fail "batch $3"
done
wait_until 60 sh -c "[ \$(find '$MAILDIR' -type f | wc -l) -ge 5 ]" || e2e_fail "not all delivered"

# q EXPR - the value Prometheus has for EXPR now ("" when none)
q() {
	curl -sf -G "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" |
		$PY -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")'
}
# want EXPR VALUE - Prometheus stored VALUE for EXPR (waits for a scrape)
want() {
	if wait_until 20 sh -c "[ \"\$(curl -sf -G 'http://127.0.0.1:$PPORT/api/v1/query' --data-urlencode 'query=$1' | $PY -c 'import json,sys; r=json.load(sys.stdin)[\"data\"][\"result\"]; print(r[0][\"value\"][1] if r else \"\")')\" = '$2' ]"; then
		e2e_ok "Prometheus: $1 = $2"
	else
		e2e_fail "Prometheus: $1 = '$(q "$1")', want $2"
	fi
}
want 'up{job="authtag"}' 1
want 'authtag_results_total{method="dmarc",result="pass"}' 3
want 'authtag_results_total{method="dmarc",result="fail"}' 2
want 'authtag_results_total{method="spf",result="pass"}' 3
want 'authtag_results_total{method="spf",result="fail"}' 2
want 'authtag_messages_total{action="tagged"}' 5
want 'authtag_message_seconds_count' 5
want 'authtag_spam_total' 2
want 'authtag_connections_open' 0
_dq=$(q 'authtag_dns_queries_total')
[ -n "$_dq" ] && [ "$_dq" -gt 0 ] && e2e_ok "Prometheus: DNS queries counted ($_dq)" ||
	e2e_fail "DNS queries: '$_dq'"
curl -sf "http://127.0.0.1:$MPORT/metrics" >"$E2E_T/metrics.txt" &&
	promtool check metrics <"$E2E_T/metrics.txt" >"$E2E_T/promtool.out" 2>&1 &&
	e2e_ok "promtool check metrics: clean" || e2e_fail "promtool: $(cat "$E2E_T/promtool.out")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/other")" = 404 ] &&
	e2e_ok "anything but /metrics: 404" || e2e_fail "not 404"

e2e_stop_pid "$PROM_PID" 10
e2e_untrack "$PROM_PID"
authtag_stop
[ "$AT_RC" -eq 0 ] || e2e_fail "stop: exit status $AT_RC"
pf_stop
e2e_finish
