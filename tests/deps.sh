#!/bin/sh
# tests/deps.sh - the packages the end-to-end tests drive; the first step
# of "make check" (the README's second command)
#
# The tests start private instances of Postfix, Sendmail, unbound, spamd,
# Redis, Prometheus and opendkim on loopback; they never touch the host's own. Their
# packages are installed here, not by contrib/quickstart.sh, because some
# of them are MTAs: on a host whose MTA is configured (Postfix, Exim or
# Sendmail), installing Postfix would replace it. So this step installs
# only what is missing, as root, and on such a host only when told to:
# AUTHTAG_TEST_INSTALL=yes (.ci/run sets it). Otherwise it says what is
# missing and the tests that need it are skipped (automake SKIP). New
# services are kept from starting (policy-rc.d, removed again however the
# install ends) and disabled; Postfix gets "No configuration". Sendmail
# 8.17's .debs are only fetched (they conflict with Postfix), for the
# Sendmail test to unpack into a namespace of its own.
set -u
PACKAGES=${AUTHTAG_DEPS_PACKAGES:-"postfix swaks unbound bind9-dnsutils miltertest python3
  python3-dkim openssl sasl2-bin libsasl2-modules iproute2 procps m4
  libwrap0 liblockfile1 spamassassin spamd spamc netcat-openbsd procmail
  opendkim opendkim-tools redis-server sqlite3 libxml2-utils bc prometheus
  curl"}
SENDMAIL_DEBS="sendmail-bin sendmail-base sendmail-cf"
SENDMAIL_CACHE=${AUTHTAG_SENDMAIL_DEBS:-/var/cache/authtag-tests/sendmail}

missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
have_debs=yes
ls "$SENDMAIL_CACHE"/sendmail-bin_*.deb >/dev/null 2>&1 || have_debs=
if [ -z "$missing" ] && [ -n "$have_debs" ]; then
	exit 0
fi
debs_note=
[ -n "$have_debs" ] || debs_note=" and Sendmail's .debs"
echo "tests/deps.sh: the end-to-end tests need:${missing}${debs_note}"
if [ "${AUTHTAG_SKIP_INSTALL:-}" = yes ]; then
	echo "tests/deps.sh: AUTHTAG_SKIP_INSTALL=yes: not installing; those tests are skipped"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "tests/deps.sh: not root: not installing; those tests are skipped"
	exit 0
fi
# (AUTHTAG_DEPS_ETC: another /etc, for tests/test_deps.sh)
etc=${AUTHTAG_DEPS_ETC:-/etc}
configured=
[ -f "$etc/postfix/main.cf" ] && configured="$configured Postfix"
[ -f "$etc/exim4/update-exim4.conf.conf" ] && configured="$configured Exim"
[ -f "$etc/mail/sendmail.cf" ] && configured="$configured Sendmail"
if [ -n "$configured" ] && [ "${AUTHTAG_TEST_INSTALL:-}" != yes ]; then
	cat <<MSG
tests/deps.sh: this host's MTA is configured ($configured): installing the
test packages could replace it (Postfix conflicts with every other MTA).
Nothing installed; the tests that need them are skipped. On a machine
meant for testing, run:  AUTHTAG_TEST_INSTALL=yes make check
MSG
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
fresh=
for p in postfix unbound opendkim redis-server spamd prometheus; do
	dpkg -s "$p" >/dev/null 2>&1 || fresh="$fresh $p"
done
made_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	made_policy=yes
	# a failed install must not leave every service blocked
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT INT TERM HUP
fi
printf '%s\n' \
	"postfix postfix/main_mailer_type select No configuration" \
	"postfix postfix/mailname string localhost" | debconf-set-selections
rc=0
if [ -n "$missing" ]; then
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q -o DPkg::Lock::Timeout=900 \
		--no-install-recommends $missing || rc=1
fi
if [ -n "$made_policy" ]; then
	rm -f /usr/sbin/policy-rc.d
	trap - EXIT INT TERM HUP
fi
if [ -n "$fresh" ] && [ -d /run/systemd/system ]; then
	# shellcheck disable=SC2086
	systemctl disable --now $fresh >/dev/null 2>&1 || true
fi
if [ -z "$have_debs" ]; then
	mkdir -p "$SENDMAIL_CACHE"
	# shellcheck disable=SC2086
	(cd "$SENDMAIL_CACHE" && apt-get download -q $SENDMAIL_DEBS) || rc=1
fi
exit $rc
