#!/bin/bash
# connects.sh - 2,000 milter connections at once against the daemon
#
# usage (from the build directory, after make):
#   bash tests/bench/connects.sh            # or: sudo bash ...
#
# For each listen backlog in CONNECTS_BACKLOGS (default: "default 128",
# i.e. ListenBacklog unset = the system's somaxconn, then ListenBacklog
# 128) it starts ./authtag in the foreground on a free loopback port
# with hermetic DNS (contrib/example/sample-dns.conf answers example.com;
# Resolver 127.0.0.1@9, nothing else is asked), opens CONNECTS_N (2000)
# TCP connections in one burst with connects.py (each: milter
# negotiation, then one DKIM-signed message, held open until all are
# done, then SMFIC_QUIT), and reports: connected, negotiation and
# end-of-message replies, failures by kind, times, the kernel's listen
# queue overflow and SYN retransmit counters, the daemon's peak RSS,
# threads and descriptors, its limits, and that it is alive and tags a
# fresh message afterwards. The daemon is stopped by its PID.
#
# As root (and with unshare(1)) it runs in a private network namespace,
# so the TcpExt counters are this test's alone; otherwise they are the
# machine's. Descriptors: "ulimit -n 65536" (as LimitNOFILE= would) for
# the daemon and the client alike. Not part of make check.
#
# Threads: Debian's libmilter (8.17) is built with _FFR_WORKERS_POOL: a
# controller thread poll()s the idle sessions and a worker thread runs
# only while a session's callback runs (threads = busy sessions plus a
# few idle ones), so the thread peak is the number of sessions inside a
# callback at once, not the number connected. A failed thread creation
# is only logged there (to syslog: "LAUNCH_WORKER error"), and that
# session is never served; the daemon keeps running.
#
# Knobs: CONNECTS_N, CONNECTS_SECONDS (bound of one burst, 120),
# CONNECTS_BACKLOGS (e.g. "default 128 16"), CONNECTS_NETNS=no,
# CONNECTS_KEEP=1 (keep the work directory), AUTHTAG (./authtag),
# CONNECTS_TLD_NXDOMAIN=1 (see below).
#
# DNS: with sample-dns.conf alone every message waits ResolverTimeout
# (2 s) once: its DMARC check asks _dmarc.com, which no local zone
# answers, and 127.0.0.1@9 never replies. So end-of-message times include
# 2 s and all sessions wait on DNS together. CONNECTS_TLD_NXDOMAIN=1 adds
# 'local-zone: "com." static' (an include of sample-dns.conf plus that
# line) so the query is answered NXDOMAIN at once and the times are the
# daemon's own.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
AUTHTAG=${AUTHTAG:-./authtag}
N=${CONNECTS_N:-2000}
SECS=${CONNECTS_SECONDS:-120}
BACKLOGS=${CONNECTS_BACKLOGS:-default 128}
PY=/usr/bin/python3
CLIENT=$top_srcdir/tests/bench/connects.py
EML=$top_srcdir/contrib/example/sample.eml

say() { printf '%s\n' "$*"; }
die() {
	say "connects: ERROR: $*" >&2
	exit 1
}

[ -x "$AUTHTAG" ] || die "$AUTHTAG not built (run from the build directory)"
[ -x "$PY" ] || die "$PY not found"

# a private network namespace (root): lo only, counters our own
if [ -z "${CONNECTS_INNER:-}" ] && [ "${CONNECTS_NETNS:-yes}" = yes ] &&
	[ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1; then
	CONNECTS_INNER=1 exec unshare -n -- bash "$0" "$@"
fi
if [ -n "${CONNECTS_INNER:-}" ]; then
	ip link set lo up || die "cannot bring lo up in the new namespace"
	NS="private network namespace (unshare -n)"
else
	NS="the machine's network namespace (TcpExt counters include other traffic)"
fi

# the descriptors of a LimitNOFILE=65536 unit; the hard limit if lower
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((N + 64)) ] ||
	die "ulimit -n is $(ulimit -n): $N connections need more"

W=$(mktemp -d /tmp/authtag-connects.XXXXXX)
AT_PID=""
cleanup() {
	rc=$?
	trap - EXIT
	stop_daemon
	if [ -n "${CONNECTS_KEEP:-}" ]; then say "kept $W"; else rm -rf "$W"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# stop_daemon - SIGTERM by PID, wait (bounded: 40 s), then SIGKILL
stop_daemon() {
	[ -n "$AT_PID" ] || return 0
	AT_RC=""
	if kill -0 "$AT_PID" 2>/dev/null; then
		kill -TERM "$AT_PID"
		i=0
		while kill -0 "$AT_PID" 2>/dev/null && [ $i -lt 400 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -0 "$AT_PID" 2>/dev/null && kill -KILL "$AT_PID"
	fi
	wait "$AT_PID" 2>/dev/null
	AT_RC=$?
	AT_PID=""
}

free_port() {
	$PY -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# tcp_counters - ListenOverflows ListenDrops TCPSynRetrans RetransSegs
tcp_counters() {
	awk '$1 == "TcpExt:" || $1 == "Tcp:" {
		if (!(($1) in hdr)) { hdr[$1] = 1; for (i = 2; i <= NF; i++) k[$1, i] = $i }
		else for (i = 2; i <= NF; i++) v[k[$1, i]] = $i
	}
	END { printf "%d %d %d %d\n", v["ListenOverflows"], v["ListenDrops"],
		v["TCPSynRetrans"], v["RetransSegs"] }' /proc/net/netstat /proc/net/snmp
}

# threads_fds PID - "threads descriptors" of a running process
threads_fds() {
	printf '%s %s\n' "$(awk '/^Threads:/ {print $2}' "/proc/$1/status" 2>/dev/null)" \
		"$(ls "/proc/$1/fd" 2>/dev/null | wc -l)"
}

# run_one BACKLOG - one daemon, one burst, one report
run_one() {
	bl=$1
	d=$W/$bl
	mkdir -p "$d"
	dnsconf=$top_srcdir/contrib/example/sample-dns.conf
	if [ -n "${CONNECTS_TLD_NXDOMAIN:-}" ]; then
		# the DMARC tree walk's _dmarc.com query answered at once
		# (NXDOMAIN) instead of waiting ResolverTimeout for 127.0.0.1@9
		dnsconf=$d/dns.conf
		printf 'include: "%s"\nserver:\n    local-zone: "com." static\n' \
			"$top_srcdir/contrib/example/sample-dns.conf" >"$dnsconf"
	fi
	{
		say "AuthservID mx.example.org"
		say "ResolverConfig $dnsconf"
		say "Resolver 127.0.0.1@9"
		say "ResolverTimeout 2"
		say "RulesDir $top_srcdir/rules"
		say "Syslog no"
		[ "$bl" = default ] || say "ListenBacklog $bl"
	} >"$d/authtag.conf"
	port=$(free_port)
	"$AUTHTAG" -f -c "$d/authtag.conf" -p "inet:$port@127.0.0.1" \
		>"$d/authtag.log" 2>&1 &
	AT_PID=$!
	i=0
	while kill -0 "$AT_PID" 2>/dev/null && [ $i -lt 300 ] &&
		! grep -q 'listening on' "$d/authtag.log"; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q 'listening on' "$d/authtag.log" ||
		die "authtag did not start: $(tail -n 5 "$d/authtag.log")"
	# for a listening socket ss shows the accept queue's bound as Send-Q
	qmax=$(ss -Hltn "sport = :$port" | awk '{print $3; exit}')
	lim() { awk -v k="$1" 'index($0, k) == 1 {print $(NF - 2) "/" $(NF - 1)}' \
		"/proc/$AT_PID/limits"; }

	say ""
	say "== ListenBacklog $bl: authtag PID $AT_PID on inet:$port@127.0.0.1 ($NS)"
	say "listen queue bound (ss Send-Q): $qmax   somaxconn: $(cat /proc/sys/net/core/somaxconn)   tcp_max_syn_backlog: $(cat /proc/sys/net/ipv4/tcp_max_syn_backlog)   syncookies: $(cat /proc/sys/net/ipv4/tcp_syncookies)"
	say "daemon limits (soft/hard): open files $(lim 'Max open files')  processes $(lim 'Max processes')  stack $(lim 'Max stack size') bytes; kernel threads-max $(cat /proc/sys/kernel/threads-max)  vm.max_map_count $(cat /proc/sys/vm/max_map_count)"
	read -r th0 fd0 <<<"$(threads_fds "$AT_PID")"
	read -r o0 d0 s0 r0 <<<"$(tcp_counters)"
	timeout $((SECS + 30)) "$PY" "$CLIENT" "$port" "$N" "$SECS" "$AT_PID" \
		"$EML" >"$d/client.out" 2>&1
	crc=$?
	read -r o1 d1 s1 r1 <<<"$(tcp_counters)"
	sed 's/^/  /' "$d/client.out"
	say "  kernel: ListenOverflows +$((o1 - o0))  ListenDrops +$((d1 - d0))  TCPSynRetrans +$((s1 - s0))  RetransSegs +$((r1 - r0))"
	# the sessions end after QUIT: threads and descriptors come back
	i=0
	read -r th fd <<<"$(threads_fds "$AT_PID")"
	while { [ "${th:-0}" -gt "$th0" ] || [ "${fd:-0}" -gt "$fd0" ]; } &&
		[ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
		read -r th fd <<<"$(threads_fds "$AT_PID")"
	done
	say "  daemon after QUIT: threads ${th:-?}  descriptors ${fd:-?}  RSS $(awk '/^VmRSS:/ {print $2}' "/proc/$AT_PID/status" 2>/dev/null) kB"
	"$PY" "$CLIENT" "$port" 1 20 "$AT_PID" "$EML" >"$d/fresh.out" 2>&1
	if kill -0 "$AT_PID" 2>/dev/null &&
		grep -qx 'tagged_pass 1' "$d/fresh.out"; then
		say "  afterwards: daemon alive (PID $AT_PID), a fresh connection was negotiated and its message tagged spf=pass dkim=pass dmarc=pass"
		fresh=ok
	else
		say "  afterwards: FAILED: alive=$(kill -0 "$AT_PID" 2>/dev/null && echo yes || echo no); $(tr '\n' ';' <"$d/fresh.out")"
		fresh=bad
	fi
	say "  daemon log: $(grep -c . "$d/authtag.log") lines, $(grep -c -E ' (error|warning|crit|alert):' "$d/authtag.log") warnings/errors$(grep -m 3 -E ' (error|warning|crit|alert):' "$d/authtag.log" | sed 's/^/; /' | tr -d '\n')"
	stop_daemon
	say "  SIGTERM: exit status $AT_RC"
	[ "$crc" -eq 0 ] && [ "$fresh" = ok ] && [ "$AT_RC" -eq 0 ]
}

say "connects: $N simultaneous milter connections, $(nproc) CPUs, $(uname -r), ulimit -n $(ulimit -n)"
status=0
for b in $BACKLOGS; do
	run_one "$b" || status=1
done
exit $status
