#!/bin/bash
# bench.sh - authtag's benchmark against its peers (run by "make bench", as root)
#
# Installs what it needs from Debian (apt-get), builds the corpus and its
# DNS zone (mkcorpus), serves the zone with unbound on a free loopback
# port, starts authtag, a null milter and the peers (opendkim+opendmarc,
# rspamd, dkimpy-milter; in their own mount+network namespace), then runs
# miltergen: each peer back to back with authtag at concurrency 1, 8, 32;
# the measurements behind issue 12's targets (open-loop p99, one core vs
# two with taskset and a perf profile, RSS from 1M to 2M messages and
# with 1,000 held 10 MB messages); and Postfix end to end (smtp-source ->
# private Postfix -> smtp-sink) bare, with authtag, with
# opendkim+opendmarc. The end prints each target with its verdict.
# Everything it starts is recorded by PID and stopped by the EXIT trap.
#
# Environment: BENCH_OUT (results dir), BENCH_MSGS (2000), BENCH_PHASES
# ("micro targets e2e"; targets = open scale mem hold; also "before",
# "profile", "e2e_profile"), BENCH_OPEN_SECS (30), BENCH_MEM_MSGS
# (1000000: RSS compared after it and after twice it), BENCH_MEM_SECS (420),
# BENCH_E2E_MSGS (10000), BENCH_E2E_ROUNDS (5), BENCH_DNS_PORT (a free
# one), BENCH_KEEP=1,
# BENCH_AUTHTAG_BEFORE (another authtag binary, e.g. the previous
# commit's build: measured back to back with this one in "micro").
set -u
SRC=${BENCH_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BENCH_BUILDDIR:-$PWD}
OUT=${BENCH_OUT:-$BUILD/bench-results}
NMSG=${BENCH_MSGS:-2000}
PHASES=${BENCH_PHASES:-micro targets e2e}
MEM_MSGS=${BENCH_MEM_MSGS:-1000000}
MEM_SECS=${BENCH_MEM_SECS:-420}
E2E_MSGS=${BENCH_E2E_MSGS:-10000}
GEN=$BUILD/tests/bench/miltergen
. "$SRC/tests/bench/lib.sh"

[ "$(id -u)" = 0 ] || { echo "bench: run as root (apt-get, namespaces, Postfix)" >&2; exit 1; }
W=$(mktemp -d /tmp/authtag-bench.XXXXXX) || exit 1
chmod 755 "$W"
mkdir -p "$W/sock" "$OUT"
chmod 755 "$W/sock"
: >"$W/pids"
RAW=$OUT/raw.log
PF=
POLICY_RC=

# cleanup - stop everything we started, newest first, by PID
cleanup() {
	[ -n "$PF" ] && postfix -c "$PF/etc" stop >/dev/null 2>&1
	[ -n "$PF" ] && pf_umount
	if [ -f "$W/pids" ]; then
		tac "$W/pids" | while read -r pid name; do stop_pid "$pid"; done
	fi
	[ -n "$POLICY_RC" ] && rm -f /usr/sbin/policy-rc.d
	if [ -n "${BENCH_KEEP:-}" ]; then log "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# install - the Debian packages the bench needs, if missing
install() {
	pkgs="unbound bind9-dnsutils iproute2 util-linux postfix opendkim
	    opendmarc rspamd dkimpy-milter gnuplot-nox linux-perf strace
	    publicsuffix"
	missing=
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	log "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	if [ ! -e /usr/sbin/policy-rc.d ]; then # no service may start
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		POLICY_RC=1
	fi
	echo "postfix postfix/main_mailer_type select No configuration" |
	    debconf-set-selections
	apt-get update -q >"$W/apt.log" 2>&1
	apt-get install -y -q -o DPkg::Lock::Timeout=900 \
	    --no-install-recommends $missing >>"$W/apt.log" 2>&1 ||
	    { tail -20 "$W/apt.log"; die "apt-get install failed"; }
}

# gen - one miltergen run; its lines go to the raw log and stdout
gen() {
	${GEN_PREFIX:-} "$GEN" -d "$W/corpus" -v "$@" >"$W/gen.out" 2>&1
	rc=$?
	grep -v '^DIFF' "$W/gen.out" | tee -a "$RAW" | grep '^RESULT' |
	    sed 's/ spf_agree.*//' >&2
	if grep -q '^DIFF' "$W/gen.out"; then # which results differ, how
		sed -n 's/^RESULT label=\([^ ]*\) conc=\([0-9]*\).*/== \1 c=\2 (first 50)/p' \
		    "$W/gen.out"
		sed -n 's/^DIFF [^ ]* //p' "$W/gen.out" | sort | uniq -c | sort -rn
	fi >>"$OUT/differences.txt"
	return $rc
}

# sockets of each milter setup and the processes that do its work
sock() { echo "-s unix:$W/sock/$1.sock"; }
run_setup() { # $1 setup name, rest: miltergen options
	name=$1; shift
	case $name in
	authtag_before) gen $(sock authtag_before) -P "authtag_before=$PID_authtag_before" \
	    -l "$name" "$@" ;;
	authtag_norep) gen $(sock authtag_norep) -P "authtag_norep=$PID_authtag_norep" \
	    -l "$name" "$@" ;;
	authtag_signall) gen $(sock authtag_signall) -P "authtag_signall=$PID_authtag_signall" \
	    -l "$name" "$@" ;;
	authtag*) gen $(sock authtag) -P "authtag=$PID_authtag" -l "$name" "$@" ;;
	chain) gen $(sock opendkim) $(sock opendmarc) -P "opendkim=$PID_opendkim" \
	    -P "opendmarc=$PID_opendmarc" -l chain "$@" ;;
	rspamd) gen $(sock rspamd) -P "rspamd=$PID_rspamd" -l rspamd "$@" ;;
	dkimpy) gen $(sock dkimpy) -P "dkimpy=$PID_dkimpy" -l dkimpy "$@" ;;
	null*) gen $(sock "$name") -P "$name=$(eval echo \$PID_$name)" -l "$name" "$@" ;;
	esac
}

# micro - every setup at c = 1, 8, 32; each peer right after authtag
micro() {
	log "warm-up (fills every DNS cache)"
	for s in authtag authtag_norep authtag_signall chain rspamd dkimpy ${BENCH_AUTHTAG_BEFORE:+authtag_before}; do
		run_setup $s -c 8 -l "warm.$s" >/dev/null 2>&1
	done
	for c in 1 8 32; do
		run_setup null -c "$c" -n $((NMSG * 5))
		run_setup null_s -c "$c" -n $((NMSG * 2))
		run_setup null_o -c "$c" -n $((NMSG * 2))
		for p in chain rspamd dkimpy; do
			run_setup "authtag.vs.$p" -c "$c" -n "$NMSG"
			run_setup "$p" -c "$c" -n "$NMSG"
		done
		if [ -n "${BENCH_AUTHTAG_BEFORE:-}" ]; then
			run_setup authtag_before -c "$c" -n "$NMSG"
			run_setup authtag.vs.before -c "$c" -n "$NMSG"
		fi
		# DMARC report rows on (the default) against StateStore none
		run_setup authtag_norep -c "$c" -n "$NMSG"
		run_setup authtag.vs.norep -c "$c" -n "$NMSG"
		# every message also signed (RSA-2048), as a relay for its users
		run_setup authtag_signall -c "$c" -n "$NMSG"
	done
	log "generator ceiling: null milter, 100 messages per connection"
	run_setup null -c 8 -n $((NMSG * 25)) -m 100 -l null.m100
	dkimcost
}

# before - this build against BENCH_AUTHTAG_BEFORE only, for a change
# smaller than micro's run-to-run spread: BENCH_BEFORE_ROUNDS (7)
# alternating rounds of 5 x BENCH_MSGS messages at c = 1, 8, 32, the
# order swapped every round; prints the median CPU per message of each
before() {
	[ -n "${BENCH_AUTHTAG_BEFORE:-}" ] || die "phase before needs BENCH_AUTHTAG_BEFORE"
	rounds=${BENCH_BEFORE_ROUNDS:-7}
	for s in authtag authtag_before; do
		run_setup $s -c 8 -l "warm.$s" >/dev/null 2>&1
	done
	for c in 1 8 32; do
		r=0
		while [ $r -lt "$rounds" ]; do
			if [ $((r % 2)) = 0 ]; then order="authtag_before authtag.vs.before"
			else order="authtag.vs.before authtag_before"; fi
			for s in $order; do
				run_setup $s -c "$c" -n $((NMSG * 5)) -l "round.$s" 2>/dev/null
			done
			r=$((r + 1))
		done
		for s in authtag_before authtag.vs.before; do
			grep "^RESULT label=round.$s conc=$c " "$RAW" | tail -n "$rounds" |
			    sed 's/.* cpu_ms_msg=\([0-9.]*\).*/\1/' | sort -n |
			    awk -v s="$s" -v c="$c" '{v[NR] = $1} END {
				printf "BEFORE-PAIR %s c=%s median_cpu_ms_msg=%.4f of %d rounds (min %.4f max %.4f)\n",
				    s, c, v[int((NR + 1) / 2)], NR, v[1], v[NR] }'
		done | tee -a "$RAW" >&2
	done
}

# dkimcost - authtag's DKIM verifier against the raw OpenSSL work of the
# same signatures (tests/bench/dkimcost.c), one thread, the corpus' zone
# as local data
dkimcost() {
	log "DKIM cost against its OpenSSL floor"
	printf 'server:\n    local-zone: "." static\n    include: "%s/corpus/zone.conf"\n' \
	    "$W" >"$W/dkimcost-dns.conf"
	printf 'AuthservID mx.bench.example\nResolverConfig %s/dkimcost-dns.conf\nResolver 127.0.0.1@9\nRulesDir %s/rules\n' \
	    "$W" "$SRC" >"$W/dkimcost.conf"
	"$BUILD/tests/bench/dkimcost" "$W/dkimcost.conf" "$W/corpus" 7 2>&1 |
	    sed 's/^/DKIMCOST /' | tee -a "$RAW"
}

# perf_profile - a perf profile of authtag at c=8 into $OUT/perf-*.txt
perf_profile() {
	command -v perf >/dev/null || return 0
	perf record -F 999 --call-graph dwarf,16384 -p "$PID_authtag" \
	    -o "$W/perf.data" -- sleep 4 >"$W/perf.log" 2>&1 &
	perfpid=$!
	sleep 0.5
	run_setup authtag.perf -c 8 -n $((NMSG * 10)) -T 3
	wait "$perfpid"
	pr() { perf report -i "$W/perf.data" --stdio "$@" 2>/dev/null; }
	pr --no-children -g none --sort dso | grep '%' | head -12 \
	    >"$OUT/perf-dso.txt"
	pr --no-children -g none --sort dso,symbol --percent-limit 0.3 |
	    grep '%' | head -40 >"$OUT/perf-self.txt"
	pr --children -g none --sort symbol --percent-limit 1 |
	    grep '%' | head -80 >"$OUT/perf-children.txt"
	pr --no-children -G -S 'pthread_rwlock_rdlock@GLIBC_2.2.5,pthread_rwlock_unlock@@GLIBC_2.34,pthread_mutex_lock@@GLIBC_2.2.5,__lll_lock_wait,__pthread_mutex_unlock_usercnt' |
	    grep -v '^$' | head -150 >"$OUT/perf-locks.txt"
	rm -f "$W/perf.data"
}

# profile - only the perf profile (and system calls) of authtag at c=8
profile() {
	run_setup authtag -c 8 -l warm.authtag >/dev/null 2>&1
	perf_profile
	syscalls
}

# syscalls - system calls per message of authtag (strace -c) at c=8
syscalls() {
	command -v strace >/dev/null || return 0
	strace -c -f -p "$PID_authtag" -o "$W/strace.txt" 2>/dev/null &
	spid=$!
	sleep 1
	run_setup authtag.strace -c 8 -n 1000 >/dev/null 2>&1
	kill -INT "$spid"
	wait "$spid"
	awk 'NR > 2 && $4 ~ /^[0-9]+$/ { printf "%-16s %6.1f per message\n", $NF, $4 / 1000 }' \
	    "$W/strace.txt" | head -20 >"$OUT/syscalls.txt"
}

# targets - the measurements behind issue 12's targets 2 to 5
targets() {
	open
	scale
	mem
	hold
}

# scale - target 3: authtag on one core against two, then its profile
scale() {
	# the generator costs CPU too and has no core of its own here: ten
	# messages per connection make it cheaper (0.03-0.05 ms/msg, not
	# 0.06-0.08), each run lasts seconds, not one; report.sh says what
	# the generator's share leaves measurable
	log "target 3: authtag on one core vs two (taskset), then perf"
	stop_named authtag
	start_authtag authtag "taskset -c 0"
	run_setup authtag -c 8 -l warm.authtag >/dev/null 2>&1
	GEN_PREFIX="taskset -c 1" run_setup authtag.1core -c 32 -m 10 \
	    -n $((NMSG * 30)) -T 30
	GEN_PREFIX="taskset -c 1" scale_profile 1core
	stop_named authtag
	start_authtag authtag
	run_setup authtag -c 8 -l warm.authtag >/dev/null 2>&1
	run_setup authtag.2core -c 32 -m 10 -n $((NMSG * 30)) -T 30
	scale_profile 2core
	perf_profile
	syscalls
}

# scale_profile - where authtag's CPU goes in a run like scale's ($1: its
# label), by library and function: $OUT/perf-scale-$1.txt (its own run,
# after the measured one, so that perf costs that one nothing)
scale_profile() {
	command -v perf >/dev/null || return 0
	perf record -F 999 -p "$PID_authtag" -o "$W/perf-scale.data" \
	    >"$W/perf-scale.log" 2>&1 &
	perfpid=$!
	sleep 0.5
	run_setup "authtag.perf$1" -c 32 -m 10 -n $((NMSG * 10)) -T 10 >/dev/null 2>&1
	kill -INT "$perfpid"
	wait "$perfpid"
	perf report -i "$W/perf-scale.data" --stdio --no-children \
	    --sort dso,symbol --percent-limit 0.4 2>/dev/null | grep '%' |
	    head -50 >"$OUT/perf-scale-$1.txt"
	rm -f "$W/perf-scale.data"
}

# open - target 4: open loop at 1,000 msgs/s offered by 32 clients for
# BENCH_OPEN_SECS (30) seconds (a p99 of 30,000 messages, not of a few
# thousand), each message's latency into $OUT/open-latency.txt; then
# the chain for a shorter while (its queue grows without bound)
open() {
	secs=${BENCH_OPEN_SECS:-30}
	log "target 4: open loop at 1,000 msgs/s, 32 clients, $secs s"
	run_setup authtag -c 8 -l warm.authtag >/dev/null 2>&1
	run_setup authtag.open1000 -c 32 -r 1000 -n $((secs * 1000)) \
	    -L "$OUT/open-latency.txt"
	run_setup chain -c 32 -r 1000 -n $((NMSG * 2)) -l chain.open1000
}

# mem - target 5: RSS after BENCH_MEM_MSGS messages and after as many more
mem() {
	log "target 5: RSS after $MEM_MSGS and after twice as many messages"
	stop_named authtag
	start_authtag authtag
	run_setup authtag.mem10k -c 8 -m 10 -n 10000
	run_setup authtag.mem1m -c 8 -m 10 -n $((MEM_MSGS - 10000)) -T "$MEM_SECS"
	run_setup authtag.mem2m -c 8 -m 10 -n "$MEM_MSGS" -T "$MEM_SECS"
}

# hold - target 5: 1,000 connections each in the middle of a 10 MB body
hold() {
	log "target 5: 1,000 connections each holding a 10 MB body"
	ulimit -n 8192
	"$GEN" -d "$W/corpus" $(sock authtag) -P "authtag=$PID_authtag" \
	    -l authtag.hold1000 -c 1000 -n 1000 -B 10485760 -H 10485760 \
	    -T 300 2>&1 | grep -v '^DIFF' | tee -a "$RAW" | grep -E '^(HOLD|RESULT)' |
	    cut -c1-160 >&2
}

# cpu_now - the machine's CPU time so far, in clock ticks: "busy iowait
# steal" (busy = user, nice, system, irq, softirq; steal = what the
# hypervisor gave to others; from /proc/stat)
cpu_now() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $6, $9 }' /proc/stat
}

# proc_ticks - user + system ticks of the given PIDs (0 for none)
proc_ticks() {
	t=0
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] || continue
		t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')))
	done
	echo "$t"
}

# pf_umount - the end-to-end run's own file system away, if it has one
pf_umount() {
	[ -n "${PF_MOUNTED:-}" ] || return 0
	umount "$PF" 2>/dev/null || umount -l "$PF"
	rm -f "$W/pf.img"
	PF_MOUNTED=
}

# pf_run - one Postfix end-to-end run with the given smtpd_milters; the
# E2E line also says how busy the machine was and what the milter used:
# when the cores are full, the milter's CPU is what Postfix loses
pf_run() { # $1 label, $2 milters, $3 the milter's PIDs (none: bare)
	PF=$W/pf
	postfix -c "$PF/etc" stop >/dev/null 2>&1
	pf_umount
	rm -rf "$PF"
	mkdir -p "$PF"
	# each run on a new ext4 of its own: on one reused file system the
	# inode allocator's search past recently deleted inodes (perf:
	# recently_deleted, find_inode_bit) grew with the runs before, and
	# Postfix alone varied from 416 to 644 msgs/s
	if [ "${BENCH_E2E_FRESHFS:-1}" = 1 ]; then
		truncate -s 2G "$W/pf.img" &&
		    mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$W/pf.img" &&
		    mount -o loop "$W/pf.img" "$PF" && PF_MOUNTED=1 ||
		    log "no loop-mounted ext4 for the queue: a plain directory"
	fi
	mkdir -p "$PF/etc" "$PF/spool" "$PF/data" "$PF/log"
	cp /etc/postfix/master.cf "$PF/etc/" 2>/dev/null ||
	    cp /usr/share/postfix/master.cf.dist "$PF/etc/master.cf"
	touch "$PF/etc/main.cf"
	postconf -c "$PF/etc" -e "queue_directory = $PF/spool" \
	    "data_directory = $PF/data" "maillog_file = $PF/log/postfix.log" \
	    "maillog_file_prefixes = $PF" "myhostname = mx.bench.example" \
	    "mydomain = bench.example" "myorigin = bench.example" \
	    "mydestination =" "inet_interfaces = 127.0.0.1" \
	    "inet_protocols = ipv4" "mynetworks = 127.0.0.0/8" \
	    "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
	    "compatibility_level = 3.6" "biff = no" "alias_maps =" \
	    "alias_database =" "smtpd_peername_lookup = no" \
	    "smtp_dns_support_level = disabled" \
	    "relayhost = [127.0.0.1]:$SINK_PORT" "default_transport = smtp" \
	    "smtp_bind_address = 127.0.0.1" "smtpd_milters = $2" \
	    "milter_default_action = tempfail" "milter_protocol = 6" \
	    "queue_run_delay = 10s" "minimal_backoff_time = 10s" \
	    "maximal_backoff_time = 20s" "delay_warning_time = 0"
	postconf -c "$PF/etc" -F '*/*/chroot = n'
	postconf -c "$PF/etc" -MX smtp/inet
	postconf -c "$PF/etc" -M "127.0.0.1:$SMTP_PORT/inet=127.0.0.1:$SMTP_PORT inet n - n - - smtpd"
	chown postfix "$PF/data"
	postfix -c "$PF/etc" start >/dev/null 2>&1 ||
	    die "postfix did not start (see $PF/log/postfix.log)"
	sleep 1
	if [ -n "${E2E_PERF:-}" ]; then # the whole machine, by process name
		p0=$(date +%s.%N)
		perf record -a -F 499 -o "$W/perf-e2e.data" -- sleep 600 \
		    >"$W/perf-e2e.log" 2>&1 &
		perfpid=$!
		sleep 0.5
	fi
	c0=$(cpu_now)
	m0=$(proc_ticks ${3:-})
	t0=$(date +%s.%N)
	timeout 900 smtp-source -s 20 -m "$E2E_MSGS" -l 2048 \
	    -f bench@e2e.example -t rcpt@sink.example "127.0.0.1:$SMTP_PORT" \
	    >"$W/smtp-source.log" 2>&1 || log "smtp-source: $(tail -1 "$W/smtp-source.log")"
	t1=$(date +%s.%N)
	i=0
	while [ -n "$(find "$PF/spool/incoming" "$PF/spool/active" \
	    "$PF/spool/deferred" -type f 2>/dev/null | head -1)" ] && [ $i -lt 1500 ]; do
		sleep 0.2; i=$((i + 1))
	done
	t2=$(date +%s.%N)
	c1=$(cpu_now)
	m1=$(proc_ticks ${3:-})
	if [ -n "${E2E_PERF:-}" ]; then
		pkill -INT -P "$perfpid" sleep 2>/dev/null
		wait "$perfpid"
		p1=$(date +%s.%N)
	fi
	postfix -c "$PF/etc" stop >/dev/null 2>&1
	sleep 1
	sent=$(grep -c 'status=sent' "$PF/log/postfix.log")
	line=$(awk -v l="$1" -v n="$E2E_MSGS" -v s="$sent" -v a="$t0" -v b="$t1" -v c="$t2" \
	    -v c0="$c0" -v c1="$c1" -v m="$((m1 - m0))" -v hz="$(getconf CLK_TCK)" \
	    -v ncpu="$(nproc)" 'BEGIN { split(c0, x, " "); split(c1, y, " ")
		secs = c - a; busy = (y[1] - x[1]) / hz; io = (y[2] - x[2]) / hz
		st = (y[3] - x[3]) / hz
		printf "E2E label=%s msgs=%d sent=%d accept_s=%.2f total_s=%.2f msgs_s=%.1f busy_pct=%.0f iowait_pct=%.0f steal_pct=%.0f cpu_ms_msg=%.3f milter_cpu_ms_msg=%.3f\n",
		    l, n, s, b - a, secs, s / secs, 100 * busy / (secs * ncpu),
		    100 * io / (secs * ncpu), 100 * st / (secs * ncpu),
		    1000 * busy / s, 1000 * m / hz / s }')
	echo "$line" | tee -a "$RAW" >&2
	if [ -n "${E2E_PERF:-}" ]; then
		# samples per process name -> ms of CPU per message delivered
		perf report -i "$W/perf-e2e.data" --stdio --sort comm 2>/dev/null |
		    awk -v l="$1" -v n="$sent" -v a="$p0" -v c="$p1" -v ncpu="$(nproc)" \
		    '$1 ~ /%$/ && $2 != "swapper" { sub("%", "", $1)
			printf "E2EPERF label=%s comm=%s ms_msg=%.3f\n", l, $2, $1 / 100 * (c - a) * ncpu * 1000 / n }' \
		    >>"$RAW"
		# and Postfix's own processes by function: where a milter
		# makes Postfix work
		for c in cleanup smtpd; do
			echo "== $1: $c, by library and function (% of all samples)"
			perf report -i "$W/perf-e2e.data" --stdio --comms "$c" \
			    --sort dso,symbol --percent-limit 0.2 2>/dev/null |
			    grep '%' | head -30
		done >"$OUT/perf-e2e-${1#perf.}.txt"
		rm -f "$W/perf-e2e.data"
	fi
}

# e2e_sink - the ports of the Postfix runs and the smtp-sink they
# deliver to, once for every phase that needs them
e2e_sink() {
	[ -z "${SINK_PORT:-}" ] || return 0
	SMTP_PORT=$(pick_port 25250)
	SINK_PORT=$(pick_port $((SMTP_PORT + 1)))
	smtp-sink -u nobody -c "127.0.0.1:$SINK_PORT" 256 >"$W/sink.log" 2>&1 &
	remember $! sink
}

# e2e - Postfix bare, with authtag, with a do-nothing filter that adds
# one header, and with opendkim+opendmarc
e2e() {
	e2e_sink
	# bare, with authtag and with the do-nothing filter take turns,
	# BENCH_E2E_ROUNDS (5) times each, the order rotated every round:
	# Postfix's own speed here varies from run to run, report.sh takes
	# the median of each. The do-nothing filter (nullserver -a, on
	# authtag's own server: it skips every step and inserts one header
	# at end of message) is the cheapest tagging milter there can be:
	# what Postfix pays for any, whatever the milter does
	set -- bare authtag null-header
	r=0
	while [ $r -lt "${BENCH_E2E_ROUNDS:-5}" ]; do
		for s in "$@"; do
			case $s in
			bare) pf_run postfix-bare "" ;;
			authtag) pf_run postfix-authtag "unix:$W/sock/authtag.sock" "$PID_authtag" ;;
			null-header) pf_run postfix-null-header "unix:$W/sock/null_oa.sock" "$PID_null_oa" ;;
			esac
		done
		set -- "$2" "$3" "$1"
		r=$((r + 1))
	done
	# the same do-nothing filter on libmilter, and the chain, once each
	pf_run postfix-null-header-libmilter "unix:$W/sock/null_a.sock" "$PID_null_a"
	pf_run postfix-chain "unix:$W/sock/opendkim.sock, unix:$W/sock/opendmarc.sock" \
	    "$PID_opendkim $PID_opendmarc"
	e2e_profile
}

# e2e_profile - where the CPU of one Postfix end-to-end run goes, by
# process (perf over the whole machine): bare, with the do-nothing
# filter, with authtag; report.sh puts the table under target 2
e2e_profile() {
	command -v perf >/dev/null || return 0
	e2e_sink
	E2E_PERF=1
	pf_run perf.postfix-bare ""
	pf_run perf.postfix-null-header "unix:$W/sock/null_oa.sock" "$PID_null_oa"
	pf_run perf.postfix-authtag "unix:$W/sock/authtag.sock" "$PID_authtag"
	E2E_PERF=
}

install
command -v unshare >/dev/null || die "unshare missing"
ldd "$BUILD/authtag" | grep -q asan &&
    log "WARNING: authtag is built with sanitizers; configure without --enable-sanitizers for real numbers"
: >"$RAW"
: >"$OUT/differences.txt"
{
	echo "DATE $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "MACHINE $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GB, $(uname -sr), Debian $(cat /etc/debian_version)"
	echo "VERSIONS $("$BUILD/authtag" -V 2>&1 | head -1); $(dpkg-query -W -f='${Package} ${Version}; ' opendkim opendmarc rspamd dkimpy-milter postfix unbound)"
} >>"$RAW"
log "corpus"
"$BUILD/tests/bench/mkcorpus" -o "$W/corpus" -k "$SRC/tests/bench/keys" -n "$NMSG" ||
    die "mkcorpus failed"
DNS_PORT=${BENCH_DNS_PORT:-$(pick_port 53530)}
log "DNS: unbound on 127.0.0.1:$DNS_PORT"
start_dns
METRICS_PORT=${BENCH_METRICS_PORT:-$(pick_port 19467)}
authtag_conf "$W/authtag.conf"
start_authtag authtag
if [ -n "${BENCH_AUTHTAG_BEFORE:-}" ]; then
	echo "BEFORE $("$BENCH_AUTHTAG_BEFORE" -V 2>&1 | tr '\n' ' ')" >>"$RAW"
	start_authtag authtag_before "" "$BENCH_AUTHTAG_BEFORE" "$W/authtag-before.conf"
fi
start_authtag authtag_norep "" "" "$W/authtag-norep.conf"
start_authtag authtag_signall "" "" "$W/authtag-signall.conf"
start_scraper
start_null null ""
start_null null_s "-s"
start_null null_a "-a"
start_nullserver null_o
start_nullserver null_oa -a
case " $PHASES " in
*" micro "* | *" targets "* | *" open "* | *" e2e "*)
	log "peers (namespace)"
	start_peers ;;
esac
for p in $PHASES; do
	log "phase $p"
	$p
done
# what the scraper saw last: the metrics were served throughout
[ -f "$W/metrics.txt" ] && grep '^authtag_message_seconds_count' "$W/metrics.txt" |
    sed 's/^/METRICS last scrape: /' >>"$RAW"
sh "$SRC/tests/bench/report.sh" "$RAW" "$OUT"
# what make bench answers: each target, its value and its verdict
sed -n '/^## targets/,/^## Postfix/p' "$OUT/results.md" | grep '^- '
log "results in $OUT"
