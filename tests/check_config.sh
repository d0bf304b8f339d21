#!/bin/sh
# check_config.sh - the build is what configure was asked for
#
# --enable-sanitizers / --disable-sanitizers / neither must give ASan and
# UBSan flags exactly when enabled (the first configure.ac turned them on
# for --disable-sanitizers too), and --enable-werror must add -Werror.
# Reads how this build tree was configured (config.status --config) and
# the flags its Makefile uses. .ci/run configures with the enable forms,
# and make distcheck with --disable-sanitizers.
b=${top_builddir:-.}
args=$("$b/config.status" --config 2>/dev/null) || { echo "no config.status"; exit 99; }
san=$(sed -n 's/^SANITIZE_CFLAGS = *//p' "$b/Makefile")
werr=$(sed -n 's/^WERROR_CFLAGS = *//p' "$b/Makefile")
pass=0 fail=0
check() { if eval "$1"; then pass=$((pass + 1)); echo "ok - $2"; else fail=$((fail + 1)); echo "not ok - $2"; fi; }
case $args in
*--enable-sanitizers*) check '[ -n "$san" ]' "--enable-sanitizers: sanitizer flags ($san)" ;;
*) check '[ -z "$san" ]' "sanitizers off unless enabled (configured with: $args)" ;;
esac
case $args in
*--enable-werror*) check '[ "$werr" = -Werror ]' "--enable-werror: -Werror" ;;
*) check '[ -z "$werr" ]' "no -Werror unless asked" ;;
esac
# the documented paths (issue 11): /etc/authtag.conf and /var/lib/authtag
# unless configure was told otherwise, and authtag -V names the file read
sysconf=$(sed -n 's/^sysconfdir = *//p' "$b/Makefile")
statedir=$(sed -n 's/^localstatedir = *//p' "$b/Makefile")
case $args in
*--sysconfdir*) ;;
*) check '[ "$sysconf" = /etc ]' "sysconfdir defaults to /etc ($sysconf)" ;;
esac
case $args in
*--localstatedir*) ;;
*) check '[ "$statedir" = /var ]' "localstatedir defaults to /var ($statedir)" ;;
esac
v=$("$b/authtag" -V 2>&1)
check 'printf "%s" "$v" | grep -qx "configuration file $sysconf/authtag.conf"' \
	"authtag -V names the configuration file it reads ($sysconf/authtag.conf)"
check 'printf "%s" "$v" | grep -q "^state directory $statedir/lib/authtag "' \
	"authtag -V names the state directory ($statedir/lib/authtag)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
