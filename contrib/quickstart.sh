#!/bin/sh
# quickstart.sh - the README's first command: install what building
# authtag needs from Debian, build it, run authtag-check on the shipped
# example, then start the authtag daemon in the foreground on the same
# example configuration.
#
# Run from the top of the source tree, as root (or with sudo available).
# It installs Debian packages only (no MTA, no service); nothing is
# downloaded from elsewhere.
set -eu

cd "$(dirname "$0")/.."

# What building authtag and its tests needs, and the data files it reads
# (the Public Suffix List, the DNSSEC root key). Nothing here is an MTA,
# a service or a replacement for an installed package: this is safe on a
# live mail server. The end-to-end tests' own packages (Postfix, unbound,
# spamd, Redis, opendkim, Sendmail's .debs, ...) are installed by the
# README's second command, "make check" (tests/deps.sh), which refuses to
# touch a host whose MTA is configured unless AUTHTAG_TEST_INSTALL=yes.
PACKAGES="build-essential autoconf automake pkg-config
  libunbound-dev libssl-dev libpcre2-dev
  libsqlite3-dev libhiredis-dev zlib1g-dev
  libcmocka-dev libyaml-dev valgrind publicsuffix dns-root-data
  iproute2 procps"

if [ "${AUTHTAG_SKIP_INSTALL:-}" != yes ]; then
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -q
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q -o DPkg::Lock::Timeout=900 \
		--no-install-recommends $PACKAGES
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
