# lib.sh - helpers of the benchmark (sourced by bench.sh; POSIX sh + bash)
#
# Owns: free-port choice, starting and stopping every server the bench
# runs (each by its PID, recorded in $W/pids), the DNS server and the
# configuration of authtag and of each peer. Every server listens on
# 127.0.0.1 or a unix socket under $W/sock; peers that only read
# /etc/resolv.conf run in their own mount+network namespace (ns_main)
# with their own unbound on 127.0.0.1:53 and a bind-mounted resolv.conf,
# so the machine's resolver configuration is never touched.

# log - one progress line on stderr
log() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# die - stop with a message (the EXIT trap cleans up)
die() { log "ERROR: $*"; exit 1; }

# port_free - nobody listens on this TCP or UDP port of this namespace
port_free() { ! ss -Hltun "sport = :$1" 2>/dev/null | grep -q .; }

# pick_port - the first free port from $1 on (bounded search)
pick_port() {
	p=$1
	while [ "$p" -lt $(($1 + 200)) ]; do
		port_free "$p" && { echo "$p"; return 0; }
		p=$((p + 1))
	done
	die "no free port near $1"
}

# remember - record a PID we started, so cleanup stops exactly those
remember() { echo "$1 $2" >>"$W/pids"; }

# stop_pid - stop one process we started, wait (bounded), then KILL
stop_pid() {
	pid=$1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -9 "$pid" 2>/dev/null || true
}

# stop_named - stop the processes recorded under one name
stop_named() {
	[ -f "$W/pids" ] || return 0
	for pid in $(awk -v n="$1" '$2 == n {print $1}' "$W/pids"); do
		stop_pid "$pid"
	done
	awk -v n="$1" '$2 != n' "$W/pids" >"$W/pids.new"
	mv "$W/pids.new" "$W/pids"
}

# wait_sock - wait (bounded) until a unix socket exists
wait_sock() {
	i=0
	while [ ! -S "$1" ] && [ $i -lt ${2:-300} ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ -S "$1" ]
}

# unbound_conf - an unbound.conf serving the corpus zone on $2:$3
unbound_conf() {
	cat >"$1" <<EOF
server:
    interface: $2
    port: $3
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$(dirname "$1")"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 0
    num-threads: 1
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    outgoing-interface: 127.0.0.1
    # names outside the corpus zone: NXDOMAIN, never a query off the box
    local-zone: "." static
    include: "$W/corpus/zone.conf"
remote-control:
    control-enable: no
EOF
}

# start_dns - the benchmark's DNS: unbound on 127.0.0.1:$DNS_PORT
start_dns() {
	mkdir -p "$W/dns"
	unbound_conf "$W/dns/unbound.conf" 127.0.0.1 "$DNS_PORT"
	unbound-checkconf "$W/dns/unbound.conf" >/dev/null ||
		die "unbound-checkconf failed"
	port_free "$DNS_PORT" || die "port $DNS_PORT is taken: refusing to start"
	unbound -d -c "$W/dns/unbound.conf" >"$W/dns/unbound.log" 2>&1 &
	remember $! dns
	i=0
	until dig +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 \
	    e2e.example TXT +short 2>/dev/null | grep -q spf1; do
		i=$((i + 1)); [ $i -lt 50 ] || die "unbound did not come up"
		sleep 0.1
	done
}

# authtag_conf - authtag's configuration for the bench
authtag_conf() {
	cat >"$1" <<EOF
# authtag for the benchmark: the corpus' DNS, nothing trusted (the
# Postfix run comes from 127.0.0.1 and must be checked like the rest)
AuthservID       mx.bench.example
Resolver         127.0.0.1@$DNS_PORT
TrustedNetworks  192.0.2.255/32
RulesDir         $SRC/rules
Syslog           no
UMask            000
Socket           unix:$W/sock/authtag.sock
# DMARC report rows (every corpus policy has rua=): the default, measured
# against StateStore none (authtag_norep) in micro
StateStore       sqlite:$W/state.db
# DKIM signing on (issue 12) as an MX that also relays its users' mail
# runs it: keys loaded, every message's From looked up in the
# SigningTable; the corpus comes from outside (InternalHosts is one
# other host), so it is verified, not signed. authtag_signall (the same
# with every client internal) signs every message too (RSA-2048)
KeyTable         $W/keys/KeyTable
SigningTable     refile:$W/keys/SigningTable
InternalHosts    192.0.2.254/32
# Prometheus metrics served (and scraped every second by bench.sh while
# it measures), as a monitored site runs it
MetricsSocket    inet:$METRICS_PORT@127.0.0.1
EOF
	mkdir -p "$W/keys"
	cp "$SRC/tests/bench/keys/rsa0.pem" "$W/keys/sign.pem"
	chmod 600 "$W/keys/sign.pem"
	echo "bench bench.example:sign:$W/keys/sign.pem" >"$W/keys/KeyTable"
	echo "* bench" >"$W/keys/SigningTable"
	# one /metrics endpoint: the other instances leave the port alone
	sed -e 's|^StateStore .*|StateStore       none|' -e '/^MetricsSocket/d' \
	    "$1" >"${1%.conf}-norep.conf"
	sed -e 's|^InternalHosts .*|InternalHosts    0.0.0.0/0, ::/0|' \
	    -e '/^MetricsSocket/d' "$1" >"${1%.conf}-signall.conf"
	# a build from before MetricsSocket existed refuses the key
	grep -v '^MetricsSocket' "$1" >"${1%.conf}-before.conf"
}

# start_authtag - authtag in the foreground on unix:$W/sock/NAME.sock
# ($1 NAME, $2 extra command prefix such as "taskset -c 0", $3 the binary,
# default the build's, $4 the configuration, default authtag.conf)
start_authtag() {
	rm -f "$W/sock/$1.sock"
	${2:-} "${3:-$BUILD/authtag}" -f -c "${4:-$W/authtag.conf}" -p "unix:$W/sock/$1.sock" \
	    >>"$W/$1.log" 2>&1 &
	remember $! "$1"
	eval "PID_$1=$!"
	wait_sock "$W/sock/$1.sock" || die "$1 did not start (see $W/$1.log)"
}

# start_null - the null milter ($1 NAME, $2 options)
start_null() {
	rm -f "$W/sock/$1.sock"
	# umask 000: Postfix (its own user) connects to the socket too
	(umask 000; exec "$BUILD/tests/bench/nullmilter" $2 -p "unix:$W/sock/$1.sock") \
	    >>"$W/$1.log" 2>&1 &
	remember $! "$1"
	eval "PID_$1=$!"
	wait_sock "$W/sock/$1.sock" || die "$1 did not start"
}

# start_nullserver - the null filter on authtag's milter server ($1 NAME,
# $2 options)
start_nullserver() {
	rm -f "$W/sock/$1.sock"
	(umask 000; exec "$BUILD/tests/bench/nullserver" ${2:-} -p "unix:$W/sock/$1.sock") \
	    >>"$W/$1.log" 2>&1 &
	remember $! "$1"
	eval "PID_$1=$!"
	wait_sock "$W/sock/$1.sock" || die "$1 did not start"
}

# peer_confs - the configuration files of every peer, under $W/peers
peer_confs() {
	P=$W/peers
	mkdir -p "$P/rspamd/run" "$P/rspamd/db" "$P/dkimpy"
	echo "192.0.2.254" >"$P/nobody.hosts" # no internal or ignored host
	cat >"$P/opendkim.conf" <<EOF
Syslog             no
Background         no
Mode               v
Socket             local:$W/sock/opendkim.sock
UMask              000
AuthservID         mx.bench.example
AlwaysAddARHeader  yes
InternalHosts      $P/nobody.hosts
Nameservers        127.0.0.1
PidFile            $P/opendkim.pid
EOF
	cat >"$P/opendmarc.conf" <<EOF
Syslog              false
Background          false
Socket              local:$W/sock/opendmarc.sock
UMask               000
AuthservID          mx.bench.example
TrustedAuthservIDs  mx.bench.example
IgnoreHosts         $P/nobody.hosts
SPFSelfValidate     true
SPFIgnoreResults    true
RejectFailures      false
RequiredHeaders     false
PublicSuffixList    /usr/share/publicsuffix/public_suffix_list.dat
PidFile             $P/opendmarc.pid
EOF
	cat >"$P/dkimpy-milter.conf" <<EOF
Syslog         no
Mode           v
Socket         local:$W/sock/dkimpy.sock
UMask          000
AuthservID     mx.bench.example
InternalHosts  $P/nobody.hosts
PidFile        $P/dkimpy.pid
UserID         root
EOF
	# rspamd: its own minimal main config, so that only the SPF, DKIM
	# and DMARC modules (and the A-R header writer) are configured
	cat >"$P/rspamd/rspamd.conf" <<EOF
options {
    pidfile = "$P/rspamd/run/rspamd.pid";
    filters = "dkim";
    dns { nameserver = ["127.0.0.1:53"]; timeout = 2s; retransmits = 2; }
}
logging { type = "file"; filename = "$P/rspamd/rspamd.log"; level = "error"; }
modules { path = "\${PLUGINSDIR}"; }
dkim { }
spf { }
dmarc { }
milter_headers {
    use = ["authentication-results"];
    authenticated_headers = ["authentication-results"];
}
worker "rspamd_proxy" {
    bind_socket = "$W/sock/rspamd.sock mode=0666";
    milter = yes;
    timeout = 120s;
    upstream "local" { default = yes; self_scan = yes; }
    count = 2;
}
EOF
	unbound_conf "$P/unbound.conf" 127.0.0.1 53
	echo "nameserver 127.0.0.1" >"$P/resolv.conf"
}

# ns_main - inside "unshare -m -n": loopback, DNS on :53, then the peers
ns_main() {
	P=$W/peers
	ip link set lo up
	mount --bind "$P/resolv.conf" /etc/resolv.conf
	unbound -d -c "$P/unbound.conf" >"$P/unbound.log" 2>&1 &
	echo "$! ns-dns" >"$P/ns.pids"
	for i in $(seq 50); do
		dig +time=1 +tries=1 @127.0.0.1 e2e.example TXT +short 2>/dev/null |
		    grep -q spf1 && break
		sleep 0.1
	done
	opendkim -f -x "$P/opendkim.conf" >"$P/opendkim.log" 2>&1 &
	echo "$! opendkim" >>"$P/ns.pids"
	opendmarc -f -c "$P/opendmarc.conf" >"$P/opendmarc.log" 2>&1 &
	echo "$! opendmarc" >>"$P/ns.pids"
	rspamd -f -i -c "$P/rspamd/rspamd.conf" \
	    --var=DBDIR="$P/rspamd/db" --var=RUNDIR="$P/rspamd/run" \
	    --var=LOGDIR="$P/rspamd" >"$P/rspamd/stdout.log" 2>&1 &
	echo "$! rspamd" >>"$P/ns.pids"
	dkimpy-milter "$P/dkimpy-milter.conf" >"$P/dkimpy.log" 2>&1 &
	echo "$! dkimpy" >>"$P/ns.pids"
	wait
}

# start_peers - the peers' namespace; sets PID_opendkim etc.
start_peers() {
	peer_confs
	rm -f "$W/peers/ns.pids" "$W"/peers/*.pid "$W/sock/opendkim.sock" \
	    "$W/sock/opendmarc.sock" "$W/sock/rspamd.sock" "$W/sock/dkimpy.sock"
	unshare -m -n --propagation private \
	    bash -c ". '$SRC/tests/bench/lib.sh'; W='$W'; ns_main" \
	    >"$W/peers/ns.log" 2>&1 &
	remember $! ns
	for s in opendkim opendmarc rspamd dkimpy; do
		wait_sock "$W/sock/$s.sock" 300 ||
		    log "peer $s did not start: see $W/peers/"
	done
	[ -f "$W/peers/ns.pids" ] || die "the peers' namespace did not start"
	while read -r pid name; do
		eval "PID_${name%%-*}=$pid"
		remember "$pid" "$name"
	done <"$W/peers/ns.pids"
}

# start_scraper - fetch authtag's /metrics once a second for the whole
# run, as Prometheus would (bounded: at most 4 hours), recorded by PID;
# the last scrape is kept in $W/metrics.txt
start_scraper() {
	(
		i=0
		while [ $i -lt 14400 ]; do
			# bash's own TCP client: a python3 or curl started every
			# second costs the Postfix runs several percent of the
			# machine (perf saw python3 + pyenv at 0.25 ms/msg)
			if timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
			    printf "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 &&
			    cat <&3' scrape "$METRICS_PORT" >"$W/metrics.new" 2>/dev/null &&
			    grep -q '^HTTP/1\.[01] 200' "$W/metrics.new"; then
				sed '1,/^\r*$/d' "$W/metrics.new" >"$W/metrics.txt"
			fi
			sleep 1
			i=$((i + 1))
		done
	) &
	remember $! scraper
}
