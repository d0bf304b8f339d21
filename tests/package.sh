#!/bin/sh
# tests/package.sh - the Debian package: builds, is lintian clean,
# installs, runs, and leaves nothing behind when purged (issue 11)
#
# Usage: tests/package.sh TARBALL   (as root; .ci/run runs it after make
# distcheck, with debhelper and lintian installed). It builds the .deb
# from the release tarball with dpkg-buildpackage -us -uc -b, runs
# lintian (no error allowed), installs it with apt-get (which brings its
# Depends), checks what an administrator relies on (authtag -n reads
# /etc/authtag.conf, a conffile; the authtag user owns /var/lib/authtag;
# the systemd units name the installed paths; the daemon runs as authtag
# and listens), removes it (the configuration stays), purges it, and
# compares the file system with what it was before: nothing left.
set -u
tarball=${1:?usage: tests/package.sh TARBALL}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
for c in dpkg-buildpackage lintian apt-get; do
	command -v $c >/dev/null || { echo "SKIP: $c not installed"; exit 77; }
done
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
W=$(mktemp -d /tmp/authtag-pkg.XXXXXX)
trap 'rm -rf "$W"' EXIT
tar -C "$W" -xzf "$tarball" || { echo "cannot unpack $tarball"; exit 1; }
src=$(ls -d "$W"/authtag-*/)

# the file system, less what changes by itself
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /tmp -o -path /run \
		-o -path /var/cache -o -path /var/log -o -path /var/lib/apt \
		-o -path /var/lib/dpkg -o -path /var/lib/systemd -o -path /root \
		-o -path /home -o -path /work -o -path /opt \) -prune -o -print 2>/dev/null | sort
}

(cd "$src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) >"$W/build.log" 2>&1 &&
	ok "dpkg-buildpackage -us -uc -b" || { bad "dpkg-buildpackage: $(tail -n 20 "$W/build.log")"; }
deb=$(ls "$W"/authtag_*_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] && ok "built $(basename "$deb")" || { bad "no .deb"; echo "$pass passed, $fail failed"; exit 1; }
lintian --allow-root --fail-on error "$deb" >"$W/lintian.log" 2>&1 &&
	ok "lintian: no errors ($(grep -c '^[EW]:' "$W/lintian.log") tags)" ||
	bad "lintian: $(cat "$W/lintian.log")"

snapshot >"$W/before"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb" >"$W/install.log" 2>&1 &&
	ok "installs (apt-get install ./$(basename "$deb"))" || bad "install: $(tail -n 10 "$W/install.log")"
out=$(/usr/sbin/authtag -n 2>&1)
[ $? -eq 0 ] && printf '%s' "$out" | grep -q 'configuration /etc/authtag.conf OK' &&
	ok "authtag -n reads /etc/authtag.conf" || bad "authtag -n: $out"
dpkg-query -W -f='${Conffiles}\n' authtag | grep -q '/etc/authtag.conf' &&
	ok "/etc/authtag.conf is a conffile" || bad "not a conffile"
[ "$(stat -c %U /var/lib/authtag 2>/dev/null)" = authtag ] &&
	ok "/var/lib/authtag belongs to the authtag user" || bad "/var/lib/authtag: $(ls -ld /var/lib/authtag 2>&1)"
grep -q '^ExecStart=/usr/sbin/authtag -c /etc/authtag.conf$' /lib/systemd/system/authtag.service &&
	grep -q '^User=authtag$' /lib/systemd/system/authtag.service &&
	grep -q '^ExecStart=/usr/sbin/authtag-report -c /etc/authtag.conf$' /lib/systemd/system/authtag-report.service &&
	[ -f /lib/systemd/system/authtag-report.timer ] &&
	grep -q '^ExecStart=/usr/sbin/authtag-quota -c /etc/authtag.conf release$' /lib/systemd/system/authtag-quota.service &&
	[ -f /lib/systemd/system/authtag-quota.timer ] &&
	ok "systemd units with the installed paths, the report and quota timers" ||
	bad "units: $(grep -h '^Exec\|^User' /lib/systemd/system/authtag*.service 2>&1)"
# as systemd would run it: user authtag, RuntimeDirectory /run/authtag
mkdir -p /run/authtag && chown authtag:authtag /run/authtag
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
runuser -u authtag -- /usr/sbin/authtag -c /etc/authtag.conf -p "inet:$port@127.0.0.1" >"$W/run.log" 2>&1
pid=$(cat /run/authtag/authtag.pid 2>/dev/null)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && ss -Hltn "sport = :$port" | grep -q .; then
	ok "the daemon runs as authtag (pid $pid) and listens"
	kill -TERM "$pid"
	n=0
	while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	[ ! -e /run/authtag/authtag.pid ] && ok "stopped, PID file removed" || bad "PID file left"
else
	bad "the daemon did not start: $(cat "$W/run.log")"
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
fi
rm -rf /run/authtag # systemd's RuntimeDirectory goes with the service
# the tools as root (the quota timer's service runs as root): the
# store's files they make must stay the daemon's user's
/usr/sbin/authtag-welcome list alice >"$W/welcome.log" 2>&1 &&
	/usr/sbin/authtag-quota status >>"$W/welcome.log" 2>&1 &&
	/usr/sbin/authtag-quota release >>"$W/welcome.log" 2>&1 &&
	[ -f /var/lib/authtag/state.db ] && [ -z "$(find /var/lib/authtag ! -user authtag)" ] &&
	ok "authtag-welcome, authtag-quota run as root: the store's files belong to authtag" ||
	bad "tools as root: $(cat "$W/welcome.log"; ls -la /var/lib/authtag)"

dpkg -r authtag >"$W/remove.log" 2>&1 && [ ! -e /usr/sbin/authtag ] && [ -f /etc/authtag.conf ] &&
	ok "dpkg -r: the programs go, the configuration stays" || bad "dpkg -r: $(tail -n 5 "$W/remove.log")"
dpkg --purge authtag >"$W/purge.log" 2>&1 && ok "dpkg --purge" || bad "purge: $(tail -n 5 "$W/purge.log")"
! getent passwd authtag >/dev/null && ok "purge: the authtag user is gone" || bad "user authtag left"
snapshot >"$W/after"
if diff "$W/before" "$W/after" >"$W/diff"; then
	ok "purge leaves nothing behind"
else
	bad "left or changed: $(cat "$W/diff")"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
