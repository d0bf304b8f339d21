/*
 * test_dkim_canon.c - lib/auth/dkim_canon.c against RFC 6376's own
 * example (section 3.4.5) and the edge cases of sections 3.4.3/3.4.4:
 * empty bodies, trailing empty lines, white space at line ends, a last
 * line without CRLF, CRLF split across chunks, l= limits. Expected
 * outputs are the RFC's text; body hashes are compared with OpenSSL's
 * SHA-256 of that text.
 */
#include "build.h" /* first: feature macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "auth/dkim_canon.h"
#include "strbuf.h"

/* canon_body - the body hash of text fed in chunks of size chunk (0: all) */
static void
canon_body(enum dkim_canon c, const char *text, size_t chunk, ssize_t limit,
	   unsigned char dig[32], size_t *total)
{
	struct dkim_body b;
	size_t len = strlen(text);

	assert_true(dkim_body_init(&b, c, EVP_sha256(), limit));
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t o = 0; o < len; o += chunk)
		dkim_body_update(&b, (const unsigned char *)text + o,
				 len - o < chunk ? len - o : chunk);
	assert_int_equal(dkim_body_final(&b, dig), 32);
	*total = b.total;
	dkim_body_free(&b);
}

/* expect_body - the canonical body of text is want, in every chunking */
static void
expect_body(enum dkim_canon c, const char *text, const char *want)
{
	unsigned char dig[32], ref[32];
	size_t total;

	SHA256((const unsigned char *)want, strlen(want), ref);
	for (size_t chunk = 0; chunk < 5; chunk++) {
		canon_body(c, text, chunk, -1, dig, &total);
		if (memcmp(dig, ref, 32) != 0 || total != strlen(want))
			fail_msg("%s body of \"%s\" (chunk %zu) is not \"%s\"",
				 c == DKIM_CANON_SIMPLE ? "simple" : "relaxed",
				 text, chunk, want);
	}
}

/* test_rfc_example - RFC 6376 3.4.5 */
static void
test_rfc_example(void **state)
{
	struct strbuf b = {0};
	static const char body[] = " C \r\nD \t E\r\n\r\n\r\n";

	(void)state;
	dkim_canon_header(&b, DKIM_CANON_RELAXED, "A", " X", true);
	dkim_canon_header(&b, DKIM_CANON_RELAXED, "B ", " Y\t\r\n\tZ  ", true);
	assert_string_equal(sb_str(&b), "a:X\r\nb:Y Z\r\n");
	sb_truncate(&b, 0);
	dkim_canon_header(&b, DKIM_CANON_SIMPLE, "A", " X", true);
	dkim_canon_header(&b, DKIM_CANON_SIMPLE, "B ", " Y\t\r\n\tZ  ", true);
	assert_string_equal(sb_str(&b), "A: X\r\nB : Y\t\r\n\tZ  \r\n");
	sb_free(&b);
	expect_body(DKIM_CANON_RELAXED, body, " C\r\nD E\r\n");
	expect_body(DKIM_CANON_SIMPLE, body, " C \r\nD \t E\r\n");
}

/* test_header_edges - folding with bare LF, no final CRLF, empty value */
static void
test_header_edges(void **state)
{
	struct strbuf b = {0};

	(void)state;
	/* a milter hands folds as LF: the hash sees CRLF */
	dkim_canon_header(&b, DKIM_CANON_SIMPLE, "Subject", " a\n\tb", true);
	assert_string_equal(sb_str(&b), "Subject: a\r\n\tb\r\n");
	sb_truncate(&b, 0);
	dkim_canon_header(&b, DKIM_CANON_RELAXED, "SUBJECT", "  a \n\t b  ",
			  false);
	assert_string_equal(sb_str(&b), "subject:a b");
	sb_truncate(&b, 0);
	dkim_canon_header(&b, DKIM_CANON_RELAXED, "X-Empty", "", true);
	assert_string_equal(sb_str(&b), "x-empty:\r\n");
	sb_free(&b);
}

/* test_body_edges - RFC 6376 3.4.3 and 3.4.4 corner cases */
static void
test_body_edges(void **state)
{
	(void)state;
	/* an empty body: simple is one CRLF, relaxed nothing */
	expect_body(DKIM_CANON_SIMPLE, "", "\r\n");
	expect_body(DKIM_CANON_RELAXED, "", "");
	expect_body(DKIM_CANON_SIMPLE, "\r\n\r\n\r\n", "\r\n");
	expect_body(DKIM_CANON_RELAXED, "\r\n  \r\n\t\r\n", "");
	/* a last line without CRLF gets one */
	expect_body(DKIM_CANON_SIMPLE, "a\r\nb", "a\r\nb\r\n");
	expect_body(DKIM_CANON_RELAXED, "a  \r\nb \t", "a\r\nb\r\n");
	/* empty lines inside count; white space lines inside are empty
	 * for relaxed, text for simple */
	expect_body(DKIM_CANON_SIMPLE, "a\r\n \r\n\r\nb\r\n\r\n",
		    "a\r\n \r\n\r\nb\r\n");
	expect_body(DKIM_CANON_RELAXED, "a\r\n \r\n\r\nb\r\n\r\n",
		    "a\r\n\r\n\r\nb\r\n");
	/* leading white space is one SP in relaxed */
	expect_body(DKIM_CANON_RELAXED, "\t\t x\r\n", " x\r\n");
	/* a bare LF ends a line as CRLF does (LF-only files) */
	expect_body(DKIM_CANON_SIMPLE, "a\nb\n\n", "a\r\nb\r\n");
	expect_body(DKIM_CANON_RELAXED, "a \n\nb", "a\r\n\r\nb\r\n");
	/* a CR alone is text, not a line end */
	expect_body(DKIM_CANON_SIMPLE, "a\rb\r\n", "a\rb\r\n");
	expect_body(DKIM_CANON_RELAXED, "a\r", "a\r\r\n");
}

/* test_limit - l= hashes a prefix; the total still counts everything */
static void
test_limit(void **state)
{
	unsigned char dig[32], ref[32];
	size_t total;

	(void)state;
	SHA256((const unsigned char *)"abc\r\n", 5, ref);
	canon_body(DKIM_CANON_SIMPLE, "abc\r\nappended\r\n", 3, 5, dig, &total);
	assert_memory_equal(dig, ref, 32);
	assert_int_equal(total, 15);
	SHA256((const unsigned char *)"", 0, ref);
	canon_body(DKIM_CANON_RELAXED, "abc\r\n", 0, 0, dig, &total);
	assert_memory_equal(dig, ref, 32);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc_example),
	    cmocka_unit_test(test_header_edges),
	    cmocka_unit_test(test_body_edges),
	    cmocka_unit_test(test_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
