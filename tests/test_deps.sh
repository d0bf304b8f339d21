#!/bin/sh
# tests/test_deps.sh - make check's install step leaves a live mail
# server alone
#
# Runs tests/deps.sh with a package that is not installed and an /etc
# (AUTHTAG_DEPS_ETC) holding an Exim or Postfix configuration, with
# apt-get replaced on PATH by a recorder: it must say why and install
# nothing; with AUTHTAG_TEST_INSTALL=yes it must ask apt-get; without
# root it must install nothing either.
top=${top_srcdir:-.}
W=$(mktemp -d /tmp/authtag-deps.XXXXXX)
trap 'rm -rf "$W"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
mkdir -p "$W/bin" "$W/etc/exim4" "$W/etc2/postfix" "$W/debs"
for c in apt-get debconf-set-selections systemctl; do
	printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$c" "$W" >"$W/bin/$c"
	chmod 755 "$W/bin/$c"
done
touch "$W/debs/sendmail-bin_8.17.deb"
: >"$W/etc/exim4/update-exim4.conf.conf"
: >"$W/etc2/postfix/main.cf"
run() {
	PATH="$W/bin:$PATH" AUTHTAG_DEPS_PACKAGES=authtag-no-such-package \
		AUTHTAG_SENDMAIL_DEBS="$W/debs" "$@" sh "$top/tests/deps.sh" 2>&1
}
if [ "$(id -u)" -eq 0 ]; then
	: >"$W/calls"
	out=$(run env -u AUTHTAG_TEST_INSTALL AUTHTAG_DEPS_ETC="$W/etc")
	[ ! -s "$W/calls" ] && printf '%s' "$out" | grep -q 'MTA is configured ( Exim)' &&
		ok "configured Exim: says why, installs nothing" || bad "Exim: $out / $(cat "$W/calls")"
	: >"$W/calls"
	out=$(run env -u AUTHTAG_TEST_INSTALL AUTHTAG_DEPS_ETC="$W/etc2")
	[ ! -s "$W/calls" ] && printf '%s' "$out" | grep -q 'MTA is configured ( Postfix)' &&
		ok "configured Postfix: installs nothing" || bad "Postfix: $out"
	: >"$W/calls"
	before=$(md5sum /usr/sbin/policy-rc.d 2>/dev/null)
	out=$(run env AUTHTAG_DEPS_ETC="$W/etc" AUTHTAG_TEST_INSTALL=yes)
	grep -q 'apt-get install .*authtag-no-such-package' "$W/calls" &&
		ok "AUTHTAG_TEST_INSTALL=yes: installs what is missing" || bad "told to: $(cat "$W/calls")"
	[ "$(md5sum /usr/sbin/policy-rc.d 2>/dev/null)" = "$before" ] &&
		ok "policy-rc.d as it was before (none left behind)" || bad "policy-rc.d changed"
fi
: >"$W/calls"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	out=$(PATH="$W/bin:$PATH" AUTHTAG_DEPS_PACKAGES=authtag-no-such-package \
		AUTHTAG_SENDMAIL_DEBS="$W/debs" setpriv --reuid=65534 --regid=65534 --clear-groups \
		sh "$top/tests/deps.sh" 2>&1)
else
	out=$(run env)
fi
[ ! -s "$W/calls" ] && printf '%s' "$out" | grep -q 'not root' &&
	ok "not root: installs nothing, says so" || bad "not root: $out"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
