#!/bin/sh
# tests/test_report_xml.sh - the reports' XML against RFC 9990's schema
#
# Runs tests/unit/test_report_xml with AUTHTAG_XML_DIR set, so that it
# writes the XML of each report it builds (hostile rows among them), then
# validates every file with xmllint against the RFC's schema
# (tests/data/dmarc-report/dmarc-2.0.xsd) and counts its records and
# messages with XPath: the numbers below are the test program's rows.
# Exit 77 (skip) when xmllint is missing (Debian package libxml2-utils).
top=${top_srcdir:-.}
build=${top_builddir:-.}
command -v xmllint >/dev/null || { echo "SKIP: xmllint not installed (libxml2-utils)"; exit 77; }
dir=$(mktemp -d /tmp/authtag-xml.XXXXXX)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }

AUTHTAG_XML_DIR=$dir "$build/tests/unit/test_report_xml" >"$dir/unit.log" 2>&1 &&
	ok "test_report_xml wrote its reports" || bad "test_report_xml: $(tail -n 5 "$dir/unit.log")"
# file records messages
for want in "order.xml 2 10" "hostile.xml 1 1" "optional.xml 1 2"; do
	set -- $want
	f=$dir/$1
	if [ ! -f "$f" ]; then
		bad "$1 not written"
		continue
	fi
	if xmllint --noout --schema "$top/tests/data/dmarc-report/dmarc-2.0.xsd" "$f" >"$dir/xmllint.out" 2>&1; then
		ok "$1 validates against the RFC 9990 schema"
	else
		bad "$1: $(cat "$dir/xmllint.out")"
	fi
	n=$(xmllint --xpath "count(//*[local-name()='record'])" "$f")
	m=$(xmllint --xpath "sum(//*[local-name()='record']/*[local-name()='row']/*[local-name()='count'])" "$f")
	[ "$n $m" = "$2 $3" ] && ok "$1: $n records, $m messages" ||
		bad "$1: $n records, $m messages; want $2, $3"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
