#!/bin/sh
# compare_check.sh - authtag-check's output from two builds, message by message
#
# usage: tests/compare_check.sh OLD-authtag-check NEW-authtag-check
#
# Runs both binaries over every message file under tests/ and contrib/
# (the shipped example, the Mail::DKIM and mailauth corpora, the
# SpamAssassin compatibility messages), each with three sets of envelope
# arguments, against the example configuration plus the Mail::DKIM
# corpus's DNS records as local data, and prints a unified diff of the
# two outputs. No output and exit 0 means byte-identical. Used when a
# change must not change behaviour (refactoring); not part of make check.
set -eu
old=$1 new=$2
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/compare-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# the example's records plus FAKE_DNS.dat, as unbound local-data
python3 - "$top" >"$tmp/dns.conf" <<'EOF'
import sys
top = sys.argv[1]
print(open(top + "/contrib/example/sample-dns.conf").read())
# every other name does not exist: nothing waits for a time-out
print('    local-zone: "." static')
for line in open(top + "/tests/data/dkim-mail-dkim/FAKE_DNS.dat"):
    line = line.rstrip("\n")
    if not line or line.startswith("#") or " " not in line:
        continue
    name, txt = line.split(None, 1)
    txt = txt.replace("\\", "\\\\").replace('"', '\\"')
    parts = " ".join('"%s"' % txt[i:i + 250] for i in range(0, len(txt), 250))
    print("    local-data: '%s. 300 IN TXT %s'" % (name, parts))
EOF
cat >"$tmp/authtag.conf" <<EOF
AuthservID        mx.example.org
ResolverConfig    $tmp/dns.conf
Resolver          127.0.0.1@9
ResolverTimeout   2
RulesDir          $top/rules
EOF

run()
{
	bin=$1
	find "$top/contrib" "$top/tests/data" "$top/tests/sa/messages" \
	    -type f \( -name '*.eml' -o -path '*/corpus/*' \) | sort |
	while read -r f; do
		for args in "" \
		    "--client-ip 192.0.2.25 --helo mail.example.com --mail-from alice@example.com --rcpt bob@example.org" \
		    "--client-ip 198.51.100.7 --auth-user alice --rcpt carol@example.net"; do
			echo "=== ${f#"$top"/} $args"
			# shellcheck disable=SC2086
			"$bin" -c "$tmp/authtag.conf" $args "$f" 2>&1 || echo "exit $?"
		done
	done
}
run "$old" >"$tmp/old.out"
run "$new" >"$tmp/new.out"
[ -z "${COMPARE_KEEP:-}" ] || cp "$tmp/old.out" "$tmp/new.out" "$COMPARE_KEEP"
diff -u "$tmp/old.out" "$tmp/new.out"
