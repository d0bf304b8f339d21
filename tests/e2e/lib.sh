# tests/e2e/lib.sh - helpers shared by the end-to-end tests (sourced)
#
# Owns the life of every server a test starts: each is started here,
# its PID recorded, and stopped by that PID in e2e_cleanup (run from the
# EXIT trap), so a failing or interrupted test leaves nothing running.
# Everything listens on 127.0.0.x, on ports the kernel says are free.
# A test that lacks root or a tool exits 77 (automake's SKIP) and says
# which tool is missing (contrib/quickstart.sh installs them all).

E2E_DIR=${top_srcdir:-.}/tests/e2e
E2E_RULES=$(cd "${top_srcdir:-.}" && pwd)/rules # the shipped scoring rules
E2E_BUILD=${top_builddir:-.}
AUTHTAG=${AUTHTAG:-$E2E_BUILD/authtag}
PY=/usr/bin/python3 # Debian's, whatever python3 is first on PATH
PATH=$PATH:/usr/sbin:/sbin
export PATH

E2E_PIDS=""
E2E_FAILED=0
E2E_CHECKS=0
E2E_T=${E2E_INNER:+${E2E_T:-}} # set by the outer shell of a namespaced test
E2E_PF=""

# e2e_skip - this test cannot run here: say why, exit 77
e2e_skip() {
	echo "SKIP: $*"
	exit 77
}

# e2e_log - a progress line with the seconds since the test began
e2e_log() {
	echo "[$(($(date +%s) - E2E_START))s] $*"
}

# e2e_ok / e2e_fail - record one check
e2e_ok() {
	E2E_CHECKS=$((E2E_CHECKS + 1))
	echo "ok - $*"
}
e2e_fail() {
	E2E_CHECKS=$((E2E_CHECKS + 1))
	E2E_FAILED=$((E2E_FAILED + 1))
	echo "FAIL - $*"
}

# e2e_need - skip unless each command exists
e2e_need() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			e2e_skip "$c not found (contrib/quickstart.sh installs it)"
	done
}

# e2e_init NAME - root check, temp dir, cleanup trap
e2e_init() {
	E2E_START=$(date +%s)
	[ "$(id -u)" -eq 0 ] || e2e_skip "needs root (private Postfix/Sendmail)"
	[ -x "$AUTHTAG" ] || e2e_skip "$AUTHTAG not built"
	[ -x "$PY" ] || e2e_skip "$PY not found"
	E2E_T=$(mktemp -d "/tmp/authtag-$1.XXXXXX")
	# delivery runs as nobody and must reach the Maildir below
	chmod 755 "$E2E_T"
	trap e2e_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

# e2e_track PID - stop this process at cleanup
e2e_track() {
	E2E_PIDS="$E2E_PIDS $1"
}

# e2e_untrack PID - the test stopped it itself
e2e_untrack() {
	E2E_PIDS=$(echo "$E2E_PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# e2e_stop_pid PID [SECONDS] - SIGTERM, then SIGKILL after SECONDS
e2e_stop_pid() {
	_p=$1
	kill -0 "$_p" 2>/dev/null || return 0
	kill -TERM "$_p" 2>/dev/null
	_i=0
	while kill -0 "$_p" 2>/dev/null && [ $_i -lt $((${2:-10} * 10)) ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	kill -0 "$_p" 2>/dev/null && kill -KILL "$_p" 2>/dev/null
	wait "$_p" 2>/dev/null
	return 0
}

# e2e_cleanup - the EXIT trap: stop what we started, keep logs on failure
e2e_cleanup() {
	_rc=$?
	trap - EXIT
	[ -n "$E2E_PF" ] && pf_stop
	for _p in $E2E_PIDS; do
		e2e_stop_pid "$_p" 5
	done
	if [ -n "$E2E_T" ] && [ -d "$E2E_T" ]; then
		if [ "$_rc" -ne 0 ] && [ "$_rc" -ne 77 ]; then
			for _f in "$E2E_T"/*.log "$E2E_T"/pf/log/postfix.log; do
				[ -f "$_f" ] || continue
				echo "---- last lines of $_f"
				tail -n 40 "$_f"
			done
		fi
		if [ -n "${E2E_INNER:-}" ]; then
			: # the outer shell owns the directory
		elif [ -n "${E2E_KEEP:-}" ]; then
			echo "kept $E2E_T"
		else
			rm -rf "$E2E_T"
		fi
	fi
	exit "$_rc"
}

# e2e_finish - the summary line; exit status from the checks
e2e_finish() {
	e2e_log "$((E2E_CHECKS - E2E_FAILED)) passed, $E2E_FAILED failed"
	echo "$((E2E_CHECKS - E2E_FAILED)) passed, $E2E_FAILED failed"
	[ "$E2E_FAILED" -eq 0 ] && exit 0
	exit 1
}

# free_port - a TCP port on 127.0.0.1 nothing listens on
free_port() {
	$PY -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# wait_until SECONDS CMD... - poll CMD every 0.1 s; 1 on timeout
wait_until() {
	_n=$(($1 * 10))
	shift
	while [ "$_n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

# port_listening PORT - something listens on 127.0.0.1:PORT
port_listening() {
	ss -Hltn "sport = :$1" | grep -q .
}

# ---- DNS: Debian's unbound on 127.0.0.1 serving the test zones ----

# dns_setup DIR PORT [ZONES] - keys, zone data and unbound.conf in DIR;
# ZONES (default zones.conf here) gets the key in place of @KEY1@@KEY2@
dns_setup() {
	_d=$1
	mkdir -p "$_d"
	# the DKIM key of selector sel1, made for this run
	openssl genrsa -traditional -out "$_d/sel1.key" 2048 2>/dev/null ||
		openssl genrsa -out "$_d/sel1.key" 2048 2>/dev/null
	openssl rsa -in "$_d/sel1.key" -pubout -outform DER 2>/dev/null |
		base64 -w0 >"$_d/sel1.pub"
	_p=$(cat "$_d/sel1.pub")
	# TXT strings are at most 255 bytes: split the key
	_k1=$(echo "$_p" | cut -c1-200)
	_k2=$(echo "$_p" | cut -c201-)
	sed -e "s|@KEY1@|$_k1|" -e "s|@KEY2@|$_k2|" \
		"${3:-$E2E_DIR/zones.conf}" >"$_d/zones.conf"
	cat >"$_d/unbound.conf" <<EOF
server:
    interface: 127.0.0.1
    port: $2
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$_d"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 0
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    outgoing-interface: 127.0.0.1
    # every name the zones do not list does not exist: no recursion,
    # nothing asked of any other server
    local-zone: "." static
    include: "$_d/zones.conf"
remote-control:
    control-enable: no
EOF
	unbound-checkconf "$_d/unbound.conf" >/dev/null
}

# dns_start DIR PORT - run unbound; sets DNS_PID
dns_start() {
	unbound -d -c "$1/unbound.conf" >"$E2E_T/unbound.log" 2>&1 &
	DNS_PID=$!
	e2e_track $DNS_PID
	wait_until 10 dig +time=1 +tries=1 -p "$2" @127.0.0.1 \
		pass.example.com TXT +short ||
		{
			echo "unbound did not start"
			return 1
		}
}

# ---- Redis: a private redis-server (REDIS_PORT) ----

# redis_start - a private redis-server on 127.0.0.1:$REDIS_PORT, no
# persistence; sets REDIS_PID
redis_start() {
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
		--appendonly no --daemonize no --dir "$E2E_T" \
		>>"$E2E_T/redis.log" 2>&1 &
	REDIS_PID=$!
	e2e_track $REDIS_PID
	wait_until 20 redis-cli -p "$REDIS_PORT" ping || {
		echo "redis-server did not start"
		return 1
	}
}
# ---- spamd: Debian's SpamAssassin, offline, virtual users ----

# spamd_setup DIR [LINE...] - a site configuration in DIR/site: the
# installed plugin (*.pre) files, no network tests, Bayes, Razor or Pyzor,
# and each LINE (test rules)
spamd_setup() {
	_d=$1
	shift
	mkdir -p "$_d/site"
	cp /etc/spamassassin/*.pre "$_d/site/"
	{
		printf '%s\n' "dns_available no" "skip_rbl_checks 1" "use_razor2 0" \
			"use_pyzor 0" "use_bayes 0" "bayes_auto_learn 0" \
			"required_score 5.0"
		for _l in "$@"; do printf '%s\n' "$_l"; done
	} >"$_d/site/local.cf"
}

# spamd_start DIR PORT PREFS - spamd -L on 127.0.0.1:PORT as nobody, the
# user_prefs of "User: u" read from PREFS with %u replaced (a directory
# template, e.g. /x/prefs/%u); sets SPAMD_PID. It takes seconds to load
# its rules: spamd_wait before using it
spamd_start() {
	# no -d: spamd stays in the foreground, so $! is its master
	spamd -L -4 --listen="127.0.0.1:$2" --allowed-ips=127.0.0.1 \
		--siteconfigpath="$1/site" -C /usr/share/spamassassin \
		--max-children=2 --min-children=1 --min-spare=1 \
		-x --virtual-config-dir="$3" -u nobody \
		-s "$1/spamd.log" >"$1/spamd.out" 2>&1 &
	SPAMD_PID=$!
	e2e_track $SPAMD_PID
}

# spamd_wait DIR PORT - until spamd answers PING (60 s at most)
spamd_wait() {
	wait_until 60 spamd_up_or_dead "$2" "$SPAMD_PID"
	spamc -K -d 127.0.0.1 -p "$2" >/dev/null 2>&1 || {
		echo "spamd did not start"
		tail -n 20 "$1/spamd.out" "$1/spamd.log" 2>/dev/null
		return 1
	}
}

# spamd_up_or_dead PORT PID - spamd answers PING, or PID is gone
spamd_up_or_dead() {
	! kill -0 "$2" 2>/dev/null ||
		spamc -K -d 127.0.0.1 -p "$1" >/dev/null 2>&1
}

# spamd_stop - SIGTERM to the master (it ends its children), by its PID
spamd_stop() {
	e2e_stop_pid "$SPAMD_PID" 10
	e2e_untrack "$SPAMD_PID"
}

# ---- authtag ----

# authtag_conf FILE AUTHSERVID DNSPORT [LINE...] - a test configuration
authtag_conf() {
	_f=$1
	{
		echo "AuthservID $2"
		echo "Resolver 127.0.0.1@$3"
		echo "ResolverTimeout 3"
		echo "TrustedNetworks 127.0.0.1/32"
		echo "RulesDir $E2E_RULES"
		echo "Syslog no"
		shift 3
		# no state outside the test (the default StateStore is a
		# file under /var) unless the test names its own
		case " $* " in *" StateStore "*) ;; *) echo "StateStore none" ;; esac
		for _l in "$@"; do echo "$_l"; done
	} >"$_f"
}

# authtag_start CONF SOCKET LOG - run the daemon in the foreground;
# sets AT_PID once it listens
authtag_start() {
	_before=$(grep -c 'listening on' "$3" 2>/dev/null || true)
	${AUTHTAG_WRAPPER:-} "$AUTHTAG" -f -c "$1" -p "$2" >>"$3" 2>&1 &
	AT_PID=$!
	e2e_track $AT_PID
	wait_until 60 authtag_up_or_dead "$3" "${_before:-0}" "$AT_PID"
	if ! kill -0 "$AT_PID" 2>/dev/null ||
		[ "$(grep -c 'listening on' "$3")" -le "${_before:-0}" ]; then
		echo "authtag did not start"
		tail -n 20 "$3"
		return 1
	fi
}

# authtag_up_or_dead LOG N PID - PID logged a new "listening on" line
# (more than N in LOG), or PID is gone
authtag_up_or_dead() {
	! kill -0 "$3" 2>/dev/null ||
		[ "$(grep -c 'listening on' "$1" 2>/dev/null)" -gt "$2" ]
}

# authtag_stop - SIGTERM and wait; AT_RC gets its exit status
authtag_stop() {
	kill -TERM "$AT_PID"
	_i=0
	while kill -0 "$AT_PID" 2>/dev/null && [ $_i -lt 600 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	wait "$AT_PID"
	AT_RC=$?
	e2e_untrack "$AT_PID"
}

# ---- Maildir and header checks ----

# mail_file DIR MSGID - the delivered file carrying this Message-ID
mail_file() {
	grep -l -i -E "^Message-ID: <$2>.?\$" "$1"/* 2>/dev/null | head -n 1
}

# mail_present DIR MSGID - the message has been delivered
mail_present() {
	[ -n "$(mail_file "$1" "$2")" ]
}

# mail_count DIR - messages delivered there
mail_count() {
	find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l
}

# hdr FILE [NAME] - every NAME field of FILE, unfolded, one per line;
# without NAME, the names of all fields in order
hdr() {
	$PY "$E2E_DIR/mailhdr.py" "$@"
}

# ---- a private Postfix instance (its own config and queue in PF) ----

# pf_setup PF SMTP_PORT MILTER [sasl] - main.cf and master.cf in PF/etc;
# the milter settings are contrib/postfix/main.cf.authtag's own lines
pf_setup() {
	E2E_PF=$1
	_c="postconf -c $1/etc"
	mkdir -p "$1/etc" "$1/spool" "$1/data" "$1/mail" "$1/log"
	cp /etc/postfix/master.cf "$1/etc/master.cf"
	: >"$1/etc/main.cf"
	$_c -e \
		"queue_directory = $1/spool" \
		"data_directory = $1/data" \
		"maillog_file = $1/log/postfix.log" "maillog_file_prefixes = $1" \
		"myhostname = mx.dest.example.org" \
		"mydomain = dest.example.org" \
		"myorigin = dest.example.org" \
		"mydestination =" \
		"inet_interfaces = 127.0.0.1" \
		"inet_protocols = ipv4" \
		"mynetworks = 127.0.0.0/8" \
		"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
		"compatibility_level = 3.6" \
		"biff = no" \
		"alias_maps =" "alias_database =" \
		"smtpd_peername_lookup = no" \
		"smtp_dns_support_level = disabled" \
		"relayhost =" \
		"default_transport = error:private test instance: no outside delivery" \
		"virtual_mailbox_domains = dest.example.org" \
		"virtual_mailbox_base = $1/mail" \
		"virtual_mailbox_maps = static:box/" \
		"virtual_uid_maps = static:65534" \
		"virtual_gid_maps = static:65534" \
		"virtual_minimum_uid = 100" \
		"milter_connect_timeout = 10s" \
		"milter_command_timeout = 10s" \
		"milter_content_timeout = 30s" \
		"queue_run_delay = 5s" "minimal_backoff_time = 5s" \
		"maximal_backoff_time = 10s" "delay_warning_time = 0"
	# the shipped snippet, pointed at this test's authtag
	grep -v '^[[:space:]]*#' "${top_srcdir:-.}/contrib/postfix/main.cf.authtag" |
		grep '=' | sed "s|inet:127.0.0.1:8891|$3|" |
		while IFS= read -r _line; do $_c -e "$_line"; done
	if [ "${4:-}" = sasl ]; then
		mkdir -p "$1/etc/sasl"
		printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: %s\n' \
			"$1/etc/sasl/sasldb2" >"$1/etc/sasl/smtpd.conf"
		echo secret123 | saslpasswd2 -p -c -f "$1/etc/sasl/sasldb2" \
			-u dest.example.org alice
		chown postfix "$1/etc/sasl/sasldb2"
		$_c -e "cyrus_sasl_config_path = $1/etc/sasl" \
			"smtpd_sasl_auth_enable = yes" "smtpd_sasl_type = cyrus" \
			"smtpd_sasl_path = smtpd" \
			"smtpd_sasl_security_options = noanonymous" \
			"smtpd_tls_security_level = none"
	fi
	$_c -F '*/*/chroot = n'
	$_c -MX smtp/inet
	$_c -M "127.0.0.1:$2/inet=127.0.0.1:$2 inet n - n - - smtpd"
	chown 65534:65534 "$1/mail"
	chown postfix "$1/data"
}

# pf_procmail RCFILE - deliver through procmail (pipe(8) as nobody, one
# recipient per call) instead of virtual(8): procmail -m RCFILE, with
# USER set to the recipient's local part
pf_procmail() {
	postconf -c "$E2E_PF/etc" -e "virtual_transport = procmail" \
		"procmail_destination_recipient_limit = 1"
	postconf -c "$E2E_PF/etc" -M "procmail/unix=procmail unix - n n - - pipe flags=Rhu user=nobody argv=$(command -v procmail) -t -m USER=\${user} $1"
}

# pf_start - check and start the instance; wait for its SMTP port
pf_start() {
	postfix -c "$E2E_PF/etc" check || {
		script -qc "postfix -c $E2E_PF/etc check" /dev/null
		return 1
	}
	postfix -c "$E2E_PF/etc" start >/dev/null 2>&1 || return 1
	wait_until 20 port_listening "$1"
}

# pf_stop - stop the instance by its master PID
pf_stop() {
	_m=$(cat "$E2E_PF/spool/pid/master.pid" 2>/dev/null | tr -d ' ')
	postfix -c "$E2E_PF/etc" stop >/dev/null 2>&1
	if [ -n "$_m" ]; then
		wait_until 10 sh -c "! kill -0 $_m" || kill -KILL "$_m" 2>/dev/null
	fi
	E2E_PF=""
}

# pf_queue_empty - nothing waiting for delivery (held mail does not
# count: it waits for an administrator, not for Postfix)
pf_queue_empty() {
	[ -z "$(find "$E2E_PF/spool/maildrop" "$E2E_PF/spool/incoming" \
		"$E2E_PF/spool/active" "$E2E_PF/spool/deferred" -type f \
		2>/dev/null | head -n 1)" ]
}

# --- shared by the Postfix and Sendmail tests (they set SMTP_PORT, CONF,
# DNS_PORT and MAILDIR before calling these) ---

# send_smtp SOURCE MAIL-FROM FILE [swaks options] - one message via swaks
send_smtp() {
	_src=$1
	_mf=$2
	_file=$3
	shift 3
	swaks --server "127.0.0.1:$SMTP_PORT" --local-interface "$_src" \
		--helo client.example.net --from "$_mf" \
		--to bob@dest.example.org --data "@$_file" "$@"
}

# new_conf ID [LINE...] - replace the configuration file atomically
new_conf() {
	_id=$1
	shift
	authtag_conf "$CONF.new" "$_id" "$DNS_PORT" "$@"
	mv "$CONF.new" "$CONF"
}

# delivered_ids PREFIX - "count id" for each Message-ID of a batch
delivered_ids() {
	cat "$MAILDIR"/* 2>/dev/null | grep -i -o "^Message-ID: <$1-[0-9]*@" |
		sort | uniq -c
}
