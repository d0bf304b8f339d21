#!/bin/sh
# tests/miltertest/run.sh - the daemon under miltertest, protocol corners
#
# Starts authtag twice (the shipped defaults with test DNS data, and the
# same with RejectFailures yes) on 127.0.0.1:<free port>, each in the
# foreground under this script's control, and runs every *.lua script
# here against it with Debian's miltertest (plus rawproto.py for what
# miltertest cannot send). Then checks the log lines and that SIGTERM
# ends each daemon with exit status 0. DNS answers come from a
# libunbound data file (ResolverConfig): no server, no network.
# AUTHTAG_VALGRIND=1 runs the daemons under valgrind.
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"
MT_DIR=${top_srcdir:-.}/tests/miltertest

E2E_START=$(date +%s)
[ -x "$AUTHTAG" ] || e2e_skip "$AUTHTAG not built"
e2e_need miltertest openssl dkimsign
[ -x "$PY" ] || e2e_skip "$PY not found"
E2E_T=$(mktemp -d /tmp/authtag-miltertest.XXXXXX)
trap e2e_cleanup EXIT
trap 'exit 1' INT TERM HUP
if [ "${AUTHTAG_VALGRIND:-}" = 1 ]; then
	e2e_need valgrind
	AUTHTAG_WRAPPER="valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=99 --log-file=$E2E_T/valgrind.%p.log"
fi

# DNS data: the e2e zones with a key made now, for libunbound
mkdir -p "$E2E_T/dns"
openssl genrsa -traditional -out "$E2E_T/dns/sel1.key" 2048 2>/dev/null ||
	openssl genrsa -out "$E2E_T/dns/sel1.key" 2048 2>/dev/null
_p=$(openssl rsa -in "$E2E_T/dns/sel1.key" -pubout -outform DER 2>/dev/null |
	base64 -w0)
{
	echo "server:"
	echo '    local-zone: "." static'
	sed -e "s|@KEY1@|$(echo "$_p" | cut -c1-200)|" \
		-e "s|@KEY2@|$(echo "$_p" | cut -c201-)|" "$E2E_DIR/zones.conf"
} >"$E2E_T/dns.conf"

# the signed messages the scripts read
printf 'From: Alice <alice@pass.example.com>\nTo: <bob@dest.example.org>\nSubject:  spaced  subject\nMessage-ID: <pass@mt.example.net>\n\nHello,\n\nsigned body.\n' |
	dkimsign sel1 pass.example.com "$E2E_T/dns/sel1.key" >"$E2E_T/pass.eml"
printf 'From: Alice <alice@pass.example.com>\nTo: <bob@dest.example.org>\nSubject: empty\nMessage-ID: <empty@mt.example.net>\n\n' |
	dkimsign sel1 pass.example.com "$E2E_T/dns/sel1.key" >"$E2E_T/empty.eml"

_conf() {
	_name=$1
	shift
	{
		echo "AuthservID mt.example.org"
		echo "ResolverConfig $E2E_T/dns.conf"
		echo "Resolver 127.0.0.1@9"
		echo "ResolverTimeout 2"
		echo "TrustedNetworks 127.0.0.1/32"
		echo "RulesDir $E2E_RULES"
		echo "Syslog no"
		echo "StateStore none"
		for _l in "$@"; do echo "$_l"; done
	} >"$E2E_T/$_name.conf"
}
_conf tag
_conf reject "RejectFailures yes"
PORT=$(free_port)
authtag_start "$E2E_T/tag.conf" "inet:$PORT@127.0.0.1" "$E2E_T/tag.log" || exit 1
TAG_PID=$AT_PID
RPORT=$(free_port)
authtag_start "$E2E_T/reject.conf" "inet:$RPORT@127.0.0.1" "$E2E_T/reject.log" || exit 1
REJECT_PID=$AT_PID

for _s in negotiate basic abort multi emptybody noeoh rcpt100 local reject; do
	_port=$PORT
	[ "$_s" = reject ] && _port=$RPORT
	if timeout 120 miltertest -s "$MT_DIR/$_s.lua" -D "sock=inet:$_port@127.0.0.1" \
		-D "data=$E2E_T" -D "src=$MT_DIR" >"$E2E_T/$_s.out" 2>&1; then
		e2e_ok "$_s.lua ($(grep -c '^ok' "$E2E_T/$_s.out") checks)"
	else
		e2e_fail "$_s.lua"
		cat "$E2E_T/$_s.out"
	fi
done
for _r in "$PORT tag" "$RPORT reject"; do
	set -- $_r
	if timeout 60 $PY "$MT_DIR/rawproto.py" "$1" mt.example.org "$E2E_T" "$2" \
		>"$E2E_T/raw-$2.out" 2>&1; then
		e2e_ok "rawproto.py $2 ($(grep -c '^ok' "$E2E_T/raw-$2.out") checks)"
	else
		e2e_fail "rawproto.py $2"
		cat "$E2E_T/raw-$2.out"
	fi
done

# the log: one summary line per message, local submission marked
grep -q '4MTLOCAL1: local (sendmail) client=127.0.0.1 mailfrom=dest.example.org from=dest.example.org rcpts=1' "$E2E_T/tag.log" &&
	e2e_ok "local submission logged as local" || e2e_fail "no local log line"
grep -q 'client=127.0.0.10 mailfrom=spfonly.example.com from=spfonly.example.com rcpts=100 spf=pass' "$E2E_T/tag.log" &&
	e2e_ok "100 recipients in the summary line" || e2e_fail "no rcpts=100 line"
grep -qE 'client=127.0.0.10 mailfrom=reject.example.org from=reject.example.org rcpts=1 spf=fail dkim=none dmarc=fail\(p=reject,dis=reject\)( score=[-0-9.]+/[0-9.]+)? rejected' "$E2E_T/reject.log" &&
	e2e_ok "rejection logged" || e2e_fail "no rejection log line"

for _p in $TAG_PID $REJECT_PID; do
	AT_PID=$_p
	authtag_stop
	[ "$AT_RC" -eq 0 ] && e2e_ok "SIGTERM: exit 0" || e2e_fail "SIGTERM: exit status $AT_RC"
done
if [ -n "${AUTHTAG_WRAPPER:-}" ]; then
	if cat "$E2E_T"/valgrind.*.log 2>/dev/null | grep -q .; then
		e2e_fail "valgrind"
		cat "$E2E_T"/valgrind.*.log
	else
		e2e_ok "valgrind: no errors, no definite leaks"
	fi
fi
e2e_finish
