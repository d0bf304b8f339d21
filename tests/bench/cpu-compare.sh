#!/bin/bash
# cpu-compare.sh - CPU per message of two authtag builds on the same corpus
#
# Builds the bench corpus (mkcorpus: 2,000 messages, ~78% DKIM-signed with
# RSA-2048, 14% also ed25519), serves its zone to each daemon as
# libunbound local data (no DNS server, no network), and runs miltergen at
# concurrency C over N messages against each build in turn, ROUNDS times,
# alternating, so that both see the same machine state. Prints miltergen's
# RESULT line per run (msgs/s, p50/p99, cpu_ms_msg of the daemon) and the
# median cpu_ms_msg of each.
#
# Usage (from a build directory with tests/bench/miltergen and mkcorpus
# built):  bash tests/bench/cpu-compare.sh OLD-authtag NEW-authtag
# Environment: CC_MSGS (20000), CC_CONC (8), CC_ROUNDS (3).
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$PWD
OLD=$1 NEW=$2
N=${CC_MSGS:-20000}
C=${CC_CONC:-8}
ROUNDS=${CC_ROUNDS:-3}
GEN=$BUILD/tests/bench/miltergen
. "$SRC/tests/bench/lib.sh"
W=$(mktemp -d /tmp/authtag-cpu.XXXXXX) || exit 1
mkdir -p "$W/sock"
: >"$W/pids"
cleanup() {
	for pid in $(awk '{print $1}' "$W/pids" | tac); do stop_pid "$pid"; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$BUILD/tests/bench/mkcorpus" -o "$W/corpus" -k "$SRC/tests/bench/keys" \
	>/dev/null || die "mkcorpus failed"
cat >"$W/dns.conf" <<CONF
server:
    local-zone: "." static
    include: "$W/corpus/zone.conf"
CONF
cat >"$W/authtag.conf" <<CONF
AuthservID       mx.bench.example
ResolverConfig   $W/dns.conf
Resolver         127.0.0.1@9
TrustedNetworks  192.0.2.255/32
RulesDir         $SRC/rules
Syslog           no
UMask            000
CONF
# run_one LABEL BINARY - one daemon, one miltergen run, the RESULT line
run_one() {
	rm -f "$W/sock/a.sock"
	"$2" -f -c "$W/authtag.conf" -p "unix:$W/sock/a.sock" >>"$W/$1.log" 2>&1 &
	pid=$!
	remember $pid "$1"
	wait_sock "$W/sock/a.sock" || die "$2 did not start"
	# a warm-up pass: DNS answers and parsed keys cached, as in service
	"$GEN" -s "unix:$W/sock/a.sock" -d "$W/corpus" -c "$C" -n 2000 >/dev/null 2>&1
	"$GEN" -s "unix:$W/sock/a.sock" -d "$W/corpus" -c "$C" -n "$N" \
		-P "authtag=$pid" -l "$1" 2>&1 | grep '^RESULT'
	stop_pid $pid
}
for r in $(seq 1 "$ROUNDS"); do
	run_one old "$OLD" | tee -a "$W/old.res"
	run_one new "$NEW" | tee -a "$W/new.res"
done
for k in old new; do
	med=$(sed -n 's/.* cpu_ms_msg=\([0-9.]*\).*/\1/p' "$W/$k.res" | sort -n |
		awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	echo "$k: median cpu_ms_msg=$med over $ROUNDS runs of $N messages (c=$C)"
done
