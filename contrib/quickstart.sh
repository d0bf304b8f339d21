#!/bin/sh
# quickstart.sh - the README's first command: install what authtag needs
# from Debian, build it, and run it on the shipped example.
#
# Run from the top of the source tree, as root (or with sudo available).
# It installs Debian packages only; nothing is downloaded from elsewhere.
set -eu

cd "$(dirname "$0")/.."

# Build and run-time libraries, the tools the test suite drives, and the
# Public Suffix List and DNSSEC root key that authtag reads.
PACKAGES="build-essential autoconf automake pkg-config
  libmilter-dev libopendkim-dev libopendmarc-dev libunbound-dev libssl-dev
  libpcre2-dev libcmocka-dev libyaml-dev publicsuffix dns-root-data
  valgrind spamassassin spamd spamc netcat-openbsd"

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
[ -f Makefile ] || ./configure
make -j"$(nproc)"

echo
echo "== authtag-check on the shipped example (contrib/example/sample.eml):"
echo
./authtag-check -c contrib/example/authtag-example.conf \
	--client-ip 192.0.2.25 --helo mail.example.com \
	--mail-from alice@example.com --rcpt bob@example.org \
	contrib/example/sample.eml
