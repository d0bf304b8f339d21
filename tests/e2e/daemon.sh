#!/bin/sh
# tests/e2e/daemon.sh - authtag as a process: options, detaching, PID
# file, unix socket, privileges, signals
#
# Checks -V (every library's version), -n (0 for a good configuration,
# 2 for each kind of bad one), start-up errors reported by the parent
# with the child's status, and a detached daemon on a unix socket:
# stale socket file replaced, UMask applied, socket and process owned by
# UserID, PID file right, a second instance refused while the first
# runs, a storm of SIGHUP/SIGUSR1 survived, a message tagged over the
# socket (miltertest), SIGTERM ending it and removing PID file and
# socket. Needs root (UserID) and miltertest.
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"
MT_DIR=${top_srcdir:-.}/tests/miltertest

e2e_init daemon
e2e_need miltertest id ps stat
RUN=$E2E_T/run
mkdir -p "$RUN"
chown nobody "$RUN"

# ---- -V ----
_v=$("$AUTHTAG" -V)
_rc=$?
_missing=""
for _lib in "authtag " "milter protocol 6" "libunbound " "OpenSSL "; do
	printf '%s\n' "$_v" | grep -q "^$_lib" || _missing="$_missing $_lib"
done
[ "$_rc" -eq 0 ] && [ -z "$_missing" ] && e2e_ok "-V names every library and the milter protocol" ||
	e2e_fail "-V: rc $_rc, missing:$_missing"
# libopendmarc is not used, so neither linked nor listed
# the milter protocol is authtag's own (milter/proto.c, server.c)
if ldd "$AUTHTAG" | grep -q libmilter; then
	e2e_fail "authtag still links libmilter"
else
	e2e_ok "authtag does not link libmilter"
fi
if printf '%s\n' "$_v" | grep -qi opendmarc || ldd "$AUTHTAG" | grep -qi opendmarc; then
	e2e_fail "-V or ldd still names libopendmarc"
else
	e2e_ok "no libopendmarc in -V or ldd"
fi

# ---- -n ----
printf 'server:\n    local-zone: "." static\n' >"$E2E_T/dns.conf"
sed -e 's|@KEY1@||' -e 's|@KEY2@||' "$E2E_DIR/zones.conf" >>"$E2E_T/dns.conf"
_base="AuthservID mx.dest.example.org
ResolverConfig $E2E_T/dns.conf
Resolver 127.0.0.1@9
ResolverTimeout 2
TrustedNetworks 127.0.0.1/32
RulesDir $E2E_RULES
Syslog no
StateStore none"
printf '%s\nSocket unix:%s/authtag.sock\n' "$_base" "$RUN" >"$E2E_T/good.conf"
# n_check NAME WANT-STATUS WANT-TEXT CONF-LINES - one -n case
n_check() {
	printf '%s\n' "$4" >"$E2E_T/n.conf"
	_out=$("$AUTHTAG" -n -c "$E2E_T/n.conf" 2>&1)
	_rc=$?
	if [ "$_rc" -eq "$2" ] && printf '%s' "$_out" | grep -q -- "$3"; then
		e2e_ok "-n $1: status $_rc"
	else
		e2e_fail "-n $1: status $_rc, want $2 and '$3': $_out"
	fi
}
n_check good 0 "OK" "$(cat "$E2E_T/good.conf")"
n_check "unknown key" 2 "n.conf:2: Nonsense: unknown key" "Socket inet:1@127.0.0.1
Nonsense yes"
n_check "bad value" 2 "RejectFailures" "Socket inet:1@127.0.0.1
RejectFailures perhaps"
n_check "no socket" 2 "no Socket" "$_base"
n_check "bad socket" 2 "Socket" "Socket tcp:25"
n_check "engine error" 2 "PublicSuffixList" "Socket inet:1@127.0.0.1
DMARCStandard rfc7489
PublicSuffixList $E2E_T/no-such-file"
n_check "bad StateStore" 2 "StateStore: not none, sqlite:/PATH" "Socket inet:1@127.0.0.1
StateStore postgres://db/authtag"
n_check "StateStore unwritable" 0 "warning: StateStore sqlite:/nonexistent/authtag/state.db: .*kept in memory" "$(grep -v "^StateStore" "$E2E_T/good.conf")
StateStore sqlite:/nonexistent/authtag/state.db"
n_check "quota without a store" 2 "OutboundQuota needs a StateStore (it is none)" "$(grep -v "^StateStore" "$E2E_T/good.conf")
StateStore none
OutboundQuota 100/1h"
n_check "bad OutboundQuota" 2 "OutboundQuota: not COUNT/WINDOW" "Socket inet:1@127.0.0.1
OutboundQuota 100"
n_check "bad ReportRetention" 2 "ReportRetention: out of range" "Socket inet:1@127.0.0.1
ReportRetention 5m"
# issue 11, point 5: the reasons an administrator needs
n_check "ResolverTimeout range" 2 "ResolverTimeout: expected a whole number from 1 to 300" "Socket inet:1@127.0.0.1
ResolverTimeout 0"
n_check "RulesDir missing" 2 "RulesDir $E2E_T/no-rules: No such file" "$(grep -v '^RulesDir' "$E2E_T/good.conf")
RulesDir $E2E_T/no-rules"
n_check "no such UserID" 2 "UserID nosuchuser: no such user" "$(cat "$E2E_T/good.conf")
UserID nosuchuser"
# a file root may read but the UserID may not: the daemon would refuse it
mkdir -p "$E2E_T/private"
cp "$E2E_T/dns.conf" "$E2E_T/private/dns.conf"
chmod 700 "$E2E_T/private"
n_check "unreadable as UserID" 2 "as UserID nobody: ResolverConfig $E2E_T/private/dns.conf: Permission denied" "$(grep -v '^ResolverConfig' "$E2E_T/good.conf")
ResolverConfig $E2E_T/private/dns.conf
UserID nobody"
_out=$("$AUTHTAG" -n -c "$E2E_T/missing.conf" 2>&1)
[ $? -eq 2 ] && e2e_ok "-n missing file: status 2" || e2e_fail "-n missing file: $_out"
_out=$("$AUTHTAG" -x 2>&1)
[ $? -eq 2 ] && e2e_ok "bad option: status 2" || e2e_fail "bad option: $_out"

# ---- start-up errors come back to the shell ----
printf "%s\nSocket inet:$(free_port)@127.0.0.1\nDMARCStandard rfc7489\nPublicSuffixList %s/nope\n" \
	"$_base" "$E2E_T" >"$E2E_T/late.conf"
_out=$("$AUTHTAG" -c "$E2E_T/late.conf" 2>&1)
_rc=$?
[ "$_rc" -eq 2 ] && printf '%s' "$_out" | grep -q nope &&
	e2e_ok "error after detaching: status 2 and the reason" ||
	e2e_fail "error after detaching: status $_rc: $_out"

# ---- a detached daemon on a unix socket ----
# a socket file left by a dead process
$PY -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])' "$RUN/authtag.sock"
[ -S "$RUN/authtag.sock" ] || e2e_fail "could not make a stale socket"
printf '%s\nSocket unix:%s/authtag.sock\nPidFile %s/authtag.pid\nUserID nobody\nUMask 007\n' \
	"$_base" "$RUN" "$RUN" >"$E2E_T/daemon.conf"
_out=$("$AUTHTAG" -c "$E2E_T/daemon.conf" 2>&1)
_rc=$?
_pid=$(cat "$RUN/authtag.pid" 2>/dev/null)
if [ "$_rc" -eq 0 ] && [ -n "$_pid" ] && kill -0 "$_pid" 2>/dev/null; then
	e2e_track "$_pid"
	e2e_ok "detached: parent exit 0, PID file names a live process"
else
	e2e_fail "detached: status $_rc, pid '$_pid': $_out"
	e2e_finish
fi
[ "$(ps -o user= -p "$_pid")" = nobody ] && e2e_ok "runs as UserID nobody" ||
	e2e_fail "runs as $(ps -o user= -p "$_pid")"
[ "$(ps -o sid= -p "$_pid" | tr -d ' ')" = "$_pid" ] &&
	e2e_ok "in a session of its own" || e2e_fail "no setsid"
_st=$(stat -c '%F %U %a' "$RUN/authtag.sock" 2>&1)
[ "$_st" = "socket nobody 770" ] && e2e_ok "stale socket replaced: $_st" ||
	e2e_fail "socket: $_st"
_out=$("$AUTHTAG" -f -c "$E2E_T/daemon.conf" 2>&1)
_rc=$?
[ "$_rc" -eq 1 ] && printf '%s' "$_out" | grep -q 'another process is listening' &&
	e2e_ok "second instance refused, the first untouched" ||
	e2e_fail "second instance: status $_rc: $_out"
for _i in 1 2 3 4 5 6 7 8 9 10; do
	kill -HUP "$_pid"
	kill -USR1 "$_pid"
done
sleep 1
kill -0 "$_pid" && e2e_ok "20 reload signals survived" || e2e_fail "died on reload signals"
if timeout 60 miltertest -s "$MT_DIR/negotiate.lua" -D "sock=unix:$RUN/authtag.sock" \
	-D "data=$E2E_T" -D "src=$MT_DIR" -D id=mx.dest.example.org \
	>"$E2E_T/mt.out" 2>&1; then
	e2e_ok "a message tagged over the unix socket"
else
	e2e_fail "miltertest over the unix socket"
	cat "$E2E_T/mt.out"
fi
kill -TERM "$_pid"
wait_until 10 sh -c "! kill -0 $_pid"
if kill -0 "$_pid" 2>/dev/null; then
	e2e_fail "SIGTERM: still running"
else
	e2e_untrack "$_pid"
	e2e_ok "SIGTERM: stopped"
fi
[ ! -e "$RUN/authtag.pid" ] && e2e_ok "PID file removed" || e2e_fail "PID file left"
[ ! -e "$RUN/authtag.sock" ] && e2e_ok "socket removed" || e2e_fail "socket left"

# ---- a port in use: the reason, not just "cannot listen" ----
_port=$(free_port)
$PY -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(30)' "$_port" &
_holder=$!
e2e_track $_holder
wait_until 10 port_listening "$_port"
_out=$("$AUTHTAG" -f -c "$E2E_T/good.conf" -p "inet:$_port@127.0.0.1" 2>&1)
_rc=$?
[ "$_rc" -ne 0 ] && printf '%s' "$_out" | grep -q "cannot listen on inet:$_port@127.0.0.1: Address already in use" &&
	e2e_ok "port in use: says so (status $_rc)" || e2e_fail "port in use: status $_rc: $_out"
e2e_stop_pid "$_holder" 2
e2e_untrack "$_holder"

# ---- a PidFile UserID may not remove: the log says so at stop ----
mkdir -p "$E2E_T/rootrun"
chmod 755 "$E2E_T/rootrun"
{ cat "$E2E_T/good.conf"; echo "PidFile $E2E_T/rootrun/authtag.pid"; echo "UserID nobody"; } >"$E2E_T/pid.conf"
authtag_start "$E2E_T/pid.conf" "inet:$(free_port)@127.0.0.1" "$E2E_T/pid.log" || exit 1
authtag_stop
grep -q "PidFile $E2E_T/rootrun/authtag.pid: not removed: Permission denied" "$E2E_T/pid.log" &&
	e2e_ok "a PidFile UserID cannot remove: the log says why" ||
	e2e_fail "PidFile: $(tail -n 3 "$E2E_T/pid.log")"

# ---- detached, Syslog yes, nobody at /dev/log: the log is not lost ----
# (a private mount namespace hides the machine's /dev/log, if it has one)
if command -v unshare >/dev/null; then
	{ grep -v '^Syslog' "$E2E_T/good.conf"; echo "Syslog yes"; } >"$E2E_T/nosyslog.conf"
	_port=$(free_port)
	if [ -e /dev/log ]; then
		unshare -m sh -c "mount --bind /dev/null /dev/log && exec '$AUTHTAG' -c '$E2E_T/nosyslog.conf' -p inet:$_port@127.0.0.1" \
			2>"$E2E_T/nosyslog.err" >/dev/null
	else
		"$AUTHTAG" -c "$E2E_T/nosyslog.conf" -p "inet:$_port@127.0.0.1" 2>"$E2E_T/nosyslog.err" >/dev/null
	fi
	wait_until 10 port_listening "$_port"
	_pid=$(ss -Hltnp "sport = :$_port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1)
	[ -n "$_pid" ] && kill -TERM "$_pid" && wait_until 10 sh -c "! kill -0 $_pid"
	grep -q 'warning: no syslog daemon at /dev/log: the log goes to stderr' "$E2E_T/nosyslog.err" &&
		grep -q 'info: stopped' "$E2E_T/nosyslog.err" &&
		e2e_ok "detached without a syslog daemon: the log goes to stderr, to the end" ||
		e2e_fail "no syslog: $(cat "$E2E_T/nosyslog.err")"
fi

# ---- -f prints where it listens ----
_port=$(free_port)
authtag_start "$E2E_T/good.conf" "inet:$_port@127.0.0.1" "$E2E_T/fg.log" || exit 1
grep -q "listening on inet:$_port@127.0.0.1 (AuthservID mx.dest.example.org;" "$E2E_T/fg.log" &&
	e2e_ok "-f: -p overrides Socket, and says where it listens" ||
	e2e_fail "-f: $(cat "$E2E_T/fg.log")"
# the listen backlog: the system's maximum by default (ss shows a
# listening socket's backlog as its Send-Q)
_max=$(cat /proc/sys/net/core/somaxconn)
_q=$(ss -Hltn "sport = :$_port" | awk '{print $3}')
[ "$_q" = "$_max" ] && e2e_ok "listen backlog: the system's maximum ($_max)" ||
	e2e_fail "listen backlog $_q, not $_max"
kill -INT "$AT_PID"
wait "$AT_PID"
_rc=$?
e2e_untrack "$AT_PID"
[ "$_rc" -eq 0 ] && e2e_ok "SIGINT: exit 0" || e2e_fail "SIGINT: exit status $_rc"

# ListenBacklog set: that many
_port=$(free_port)
{ cat "$E2E_T/good.conf"; echo "ListenBacklog 77"; } >"$E2E_T/backlog.conf"
authtag_start "$E2E_T/backlog.conf" "inet:$_port@127.0.0.1" "$E2E_T/bl.log" || exit 1
_q=$(ss -Hltn "sport = :$_port" | awk '{print $3}')
[ "$_q" = 77 ] && e2e_ok "ListenBacklog 77: backlog 77" || e2e_fail "ListenBacklog 77: backlog $_q"
authtag_stop
e2e_finish
