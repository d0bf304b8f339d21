#!/bin/sh
# test_spf_suite_4408.sh - the historic openspf RFC 4408 suite (191 cases)
# through the same runner as the RFC 7208 suite, as an extra regression set
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
SPF_SUITE_CASES=191 SPF_SUITE_FILE="$top_srcdir/tests/data/spf-rfc4408/rfc4408-tests.yml" \
	exec "$top_builddir/tests/unit/test_spf_suite" "$@"
