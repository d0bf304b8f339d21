#!/bin/bash
# dns-timeouts.sh - authtag's memory over many messages whose DNS lookups
# time out (issue 13, item 4)
#
# Builds the bench corpus (mkcorpus), serves its zone to authtag as
# libunbound local data, and rewrites the envelope sender of every 20th
# message to a name under slow.example, whose queries go to a UDP port
# that reads and never answers: 5% of the messages wait ResolverTimeout
# and get spf=temperror. miltergen then sends NMSG messages (default
# 200,000) in ten equal rounds; after each round the script prints
# authtag's VmRSS. libunbound keeps the state of every query that never got
# an answer (a repeated name joins the state already there, so each name
# must be new); before the fix RSS grew ~11 KB per timed-out name without
# bound. The line to look at is "growth after round 1".
#
# Usage (from the build directory, after make and make tests/bench/miltergen
# tests/bench/mkcorpus):  sh tests/bench/dns-timeouts.sh [AUTHTAG_BINARY]
# Environment: DT_MSGS (200000), DT_CONC (64), DT_ROUNDS (10).
# Needs python3 (the silent port). Everything started is stopped by PID.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$PWD
AUTHTAG=${1:-$BUILD/authtag}
NMSG=${DT_MSGS:-200000}
CONC=${DT_CONC:-64}
ROUNDS=${DT_ROUNDS:-10}
GEN=$BUILD/tests/bench/miltergen
. "$SRC/tests/bench/lib.sh"

for f in "$AUTHTAG" "$GEN" "$BUILD/tests/bench/mkcorpus"; do
	[ -x "$f" ] || die "$f is missing: build it first"
done
W=$(mktemp -d /tmp/authtag-dnsto.XXXXXX) || exit 1
mkdir -p "$W/sock"
: >"$W/pids"

# cleanup - stop what we started, by PID, and remove the work directory
cleanup() {
	for pid in $(awk '{print $1}' "$W/pids" | tac); do
		stop_pid "$pid"
	done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

log "corpus"
"$BUILD/tests/bench/mkcorpus" -o "$W/corpus" -k "$SRC/tests/bench/keys" \
	>/dev/null || die "mkcorpus failed"
# every 20th message: an envelope domain whose lookups time out
awk '{ if (NR % 20 == 0) { $4 = "bounce@m{seq}.slow.example"; $6 = "temperror" } print }' \
	"$W/corpus/index" >"$W/corpus/index.new" &&
	mv "$W/corpus/index.new" "$W/corpus/index"

SILENT=$(pick_port 5390)
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    s.recvfrom(65535)
' "$SILENT" &
remember $! silent

cat >"$W/dns.conf" <<EOF
server:
    # the corpus zone; nothing else exists, except slow.example
    local-zone: "." static
    include: "$W/corpus/zone.conf"
    local-zone: "slow.example." transparent
forward-zone:
    name: "slow.example."
    forward-addr: 127.0.0.1@$SILENT
EOF
cat >"$W/authtag.conf" <<EOF
AuthservID       mx.bench.example
ResolverConfig   $W/dns.conf
Resolver         127.0.0.1@9
ResolverTimeout  1
TrustedNetworks  192.0.2.255/32
RulesDir         $SRC/rules
Syslog           no
UMask            000
EOF
"$AUTHTAG" -f -c "$W/authtag.conf" -p "unix:$W/sock/authtag.sock" \
	>"$W/authtag.log" 2>&1 &
PID=$!
remember $PID authtag
wait_sock "$W/sock/authtag.sock" || die "authtag did not start"

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status"; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$PID/status"; }
per=$((NMSG / ROUNDS))
log "$NMSG messages in $ROUNDS rounds of $per, 5% with DNS timeouts, c=$CONC"
echo "start: RSS $(rss) kB"
first=
for r in $(seq 1 "$ROUNDS"); do
	"$GEN" -s "unix:$W/sock/authtag.sock" -d "$W/corpus" -c "$CONC" \
		-n "$per" -T 1800 -l "round$r" >"$W/round$r.log" 2>&1 ||
		die "miltergen failed in round $r: $(tail -3 "$W/round$r.log")"
	kill -0 "$PID" 2>/dev/null || die "authtag died (see $W/authtag.log)"
	res=$(grep '^RESULT' "$W/round$r.log")
	ok=$(echo "$res" | sed -n 's/.* ok=\([0-9]*\).*/\1/p')
	err=$(echo "$res" | sed -n 's/.* errors=\([0-9]*\).*/\1/p')
	temp=$(sed -n 's/^AR .*spf=temperror:\([0-9]*\).*/\1/p' "$W/round$r.log")
	now=$(rss)
	[ -n "$first" ] || first=$now
	echo "round $r: ok=$ok errors=$err spf=temperror ${temp:-0}" \
		"RSS $now kB threads $(threads)"
done
echo "growth after round 1: $((now - first)) kB over $((NMSG - per)) messages"
