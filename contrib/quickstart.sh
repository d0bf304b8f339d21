#!/bin/sh
# quickstart.sh - the README's first command: install what authtag needs
# from Debian, build it, run authtag-check on the shipped example, then
# start the authtag daemon in the foreground on the same example config.
#
# Run from the top of the source tree, as root (or with sudo available).
# It installs Debian packages only; nothing is downloaded from elsewhere.
# The MTA and DNS packages the end-to-end tests drive are installed with
# their services kept from starting and unconfigured (Postfix "No
# configuration": no /etc/postfix/main.cf); Sendmail's .debs are only
# fetched (it conflicts with postfix), for the tests to unpack.
set -eu

cd "$(dirname "$0")/.."

# Build and run-time libraries, the tools the test suite drives, and the
# Public Suffix List and DNSSEC root key that authtag reads.
PACKAGES="build-essential autoconf automake pkg-config
  libmilter-dev libunbound-dev libssl-dev
  libpcre2-dev libcmocka-dev libyaml-dev publicsuffix dns-root-data
  libsqlite3-dev libhiredis-dev zlib1g-dev sqlite3 redis-server
  libxml2-utils bc
  valgrind
  postfix swaks unbound bind9-dnsutils miltertest python3 python3-dkim
  openssl sasl2-bin libsasl2-modules iproute2 procps m4 libwrap0
  liblockfile1 spamassassin spamd spamc netcat-openbsd procmail
  opendkim opendkim-tools"
# Sendmail 8.17 for the end-to-end test: fetched, never installed
SENDMAIL_DEBS="sendmail-bin sendmail-base sendmail-cf"
SENDMAIL_CACHE=${AUTHTAG_SENDMAIL_DEBS:-/var/cache/authtag-tests/sendmail}

if [ "${AUTHTAG_SKIP_INSTALL:-}" != yes ]; then
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	# services that are new here must not start, now or at boot
	fresh=
	for p in postfix unbound opendkim redis-server; do
		dpkg -s "$p" >/dev/null 2>&1 || fresh="$fresh $p"
	done
	made_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
		$SUDO chmod 755 /usr/sbin/policy-rc.d
		made_policy=yes
	fi
	printf '%s\n' \
		"postfix postfix/main_mailer_type select No configuration" \
		"postfix postfix/mailname string localhost" |
		$SUDO debconf-set-selections
	$SUDO apt-get update -q
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q -o DPkg::Lock::Timeout=900 \
		--no-install-recommends $PACKAGES
	if [ -n "$made_policy" ]; then
		$SUDO rm -f /usr/sbin/policy-rc.d
	fi
	if [ -n "$fresh" ] && [ -d /run/systemd/system ]; then
		# shellcheck disable=SC2086
		$SUDO systemctl disable --now $fresh >/dev/null 2>&1 || true
	fi
	if ! ls "$SENDMAIL_CACHE"/sendmail-bin_*.deb >/dev/null 2>&1; then
		$SUDO mkdir -p "$SENDMAIL_CACHE"
		# shellcheck disable=SC2086
		(cd "$SENDMAIL_CACHE" && $SUDO apt-get download -q $SENDMAIL_DEBS)
	fi
fi

[ -x configure ] || autoreconf -fi
# shellcheck disable=SC2086
[ -f Makefile ] || ./configure ${AUTHTAG_CONFIGURE_FLAGS:-}
make -j"$(nproc)"

echo
echo "== authtag-check on the shipped example (contrib/example/sample.eml):"
echo
./authtag-check -c contrib/example/authtag-example.conf \
	--client-ip 192.0.2.25 --helo mail.example.com \
	--mail-from alice@example.com --rcpt bob@example.org \
	contrib/example/sample.eml

# The daemon on the same example configuration, in the foreground: it
# says where it listens; Ctrl-C stops it. Without a terminal (CI) it is
# started, shown to listen, and stopped again.
PORT=${AUTHTAG_PORT:-8891}
echo
echo "== the authtag daemon on the example configuration:"
echo
set -- ./authtag -f -c contrib/example/authtag-example.conf \
	-p "inet:$PORT@127.0.0.1"
if [ -t 0 ] && [ -z "${CI:-}" ]; then
	echo "(Postfix: smtpd_milters = inet:127.0.0.1:$PORT; Ctrl-C stops it)"
	exec "$@"
fi
"$@" &
pid=$!
i=0
while [ $i -lt 50 ] && kill -0 "$pid" 2>/dev/null &&
	! (ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q .); do
	sleep 0.1
	i=$((i + 1))
done
kill -TERM "$pid" 2>/dev/null || true
wait "$pid"
