/*
 * test_mailaddr.c - From header parsing and domain normalisation
 *
 * Each case is a From field body as a receiver gets it and the Author
 * Domain (or failure) that RFC 5322/6854/6532 and RFC 9989 5.3.1 give
 * for it. Punycode expectations are RFC 3492's own sample strings (7.1)
 * and the A-labels the PSL project's test vectors use.
 */
#include "build.h" /* first: feature macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mailaddr.h"

struct from_case {
	const char *value;
	enum mailaddr_status status;
	const char *domain; /* expected when status is MAILADDR_OK */
};

static const struct from_case from_cases[] = {
    /* plain and display-name forms */
    {"user@example.com", MAILADDR_OK, "example.com"},
    {" John Doe <john@Example.COM>", MAILADDR_OK, "example.com"},
    {"\"Doe, John\" <john@example.com>", MAILADDR_OK, "example.com"},
    {"\"a@evil.example\" <real@example.com>", MAILADDR_OK, "example.com"},
    {"John Q. Public <jqp@example.com>", MAILADDR_OK, "example.com"},
    {"<john@example.com>", MAILADDR_OK, "example.com"},
    {"\"john smith\"@example.com", MAILADDR_OK, "example.com"},
    {"first.last@example.com", MAILADDR_OK, "example.com"},
    /* comments, nested comments, folding */
    {"john@example.com (John Doe)", MAILADDR_OK, "example.com"},
    {"(a (nested) comment) <john@example.com>", MAILADDR_OK, "example.com"},
    {"John Doe\r\n <john@example.com>", MAILADDR_OK, "example.com"},
    {"John Doe\n\t<john@example.com>", MAILADDR_OK, "example.com"},
    {"john@(comment)example.com", MAILADDR_OK, "example.com"},
    /* RFC 2047 encoded words are atoms in a display name */
    {"=?UTF-8?B?w4lyaWM=?= <eric@example.com>", MAILADDR_OK, "example.com"},
    {"=?utf-8?q?Jos=C3=A9?= <jose@example.org>", MAILADDR_OK, "example.org"},
    {"\"=?utf-8?q?a=40b?=\" <x@example.org>", MAILADDR_OK, "example.org"},
    /* obsolete syntax: routes, spaces around dots and @, empty
     * list elements, final dot */
    {"<@relay.example.net,@other.example.net:john@example.com>", MAILADDR_OK,
     "example.com"},
    {"John <@relay.example.net:john@example.com>", MAILADDR_OK, "example.com"},
    {"john @ example . com", MAILADDR_OK, "example.com"},
    {",, john@example.com ,", MAILADDR_OK, "example.com"},
    {"john@example.com.", MAILADDR_OK, "example.com"},
    /* several mailboxes in one domain give one Author Domain */
    {"a@example.com, B <b@EXAMPLE.com>", MAILADDR_OK, "example.com"},
    /* RFC 6854 groups */
    {"Team: a@example.com, b@example.com;", MAILADDR_OK, "example.com"},
    {"Team: a@example.com;, c@example.com", MAILADDR_OK, "example.com"},
    /* RFC 6532: UTF-8 local part and display name; U-label domain */
    {"\xe7\x94\xa8\xe6\x88\xb7@example.com", MAILADDR_OK, "example.com"},
    {"\"J\xc3\xbcrgen\" <j@example.com>", MAILADDR_OK, "example.com"},
    {"user@b\xc3\xbc"
     "cher.example",
     MAILADDR_OK, "xn--bcher-kva.example"},
    {"user@\xe9\xa3\x9f\xe7\x8b\xae.\xe5\x85\xac\xe5\x8f\xb8.cn", MAILADDR_OK,
     "xn--85x722f.xn--55qx5d.cn"},
    {"user@xn--85x722f.xn--55qx5d.cn", MAILADDR_OK,
     "xn--85x722f.xn--55qx5d.cn"},

    /* several domains, no address */
    {"a@example.com, b@example.org", MAILADDR_MULTIPLE_DOMAINS, NULL},
    {"a@example.com, b@sub.example.com", MAILADDR_MULTIPLE_DOMAINS, NULL},
    {"Team: a@example.com;, b@example.net", MAILADDR_MULTIPLE_DOMAINS, NULL},
    {"undisclosed-recipients:;", MAILADDR_NO_ADDRESS, NULL},
    {"", MAILADDR_NO_ADDRESS, NULL},
    {"  \r\n ", MAILADDR_NO_ADDRESS, NULL},
    {"(only a comment)", MAILADDR_NO_ADDRESS, NULL},

    /* header injection and garbage */
    {"evil.test; dmarc=pass", MAILADDR_SYNTAX, NULL},
    {"user@evil.test; dmarc=pass", MAILADDR_SYNTAX, NULL},
    {"user@evil.test dmarc=pass", MAILADDR_SYNTAX, NULL},
    {"<user@evil.test>; dmarc=pass", MAILADDR_SYNTAX, NULL},
    {"user@example.com\r\nBcc: x@example.org", MAILADDR_SYNTAX, NULL},
    {"user@example.com\x01", MAILADDR_SYNTAX, NULL},
    {"John Doe user@example.com", MAILADDR_SYNTAX, NULL},
    {"=?utf-8?q?a=40evil.example?=", MAILADDR_SYNTAX, NULL},
    {"<user@example.com", MAILADDR_SYNTAX, NULL},
    {"John <user@example.com> extra", MAILADDR_SYNTAX, NULL},
    {"user@example.com <user@example.com>", MAILADDR_SYNTAX, NULL},
    {"(unterminated comment user@example.com", MAILADDR_SYNTAX, NULL},
    {"\"unterminated user@example.com", MAILADDR_SYNTAX, NULL},
    {"user@example..com", MAILADDR_SYNTAX, NULL},
    {"user@", MAILADDR_SYNTAX, NULL},
    {"@example.com", MAILADDR_SYNTAX, NULL},
    {"Team: a@example.com", MAILADDR_SYNTAX, NULL},
    {"A: B: c@example.com;;", MAILADDR_SYNTAX, NULL},
    {"user@example.com)", MAILADDR_SYNTAX, NULL},
    {"user\\@example.com", MAILADDR_SYNTAX, NULL},

    /* domains that are not host names */
    {"user@[192.0.2.1]", MAILADDR_BAD_DOMAIN, NULL},
    {"user@192.0.2.1", MAILADDR_BAD_DOMAIN, NULL},
    {"user@exa_mple.com", MAILADDR_BAD_DOMAIN, NULL},
    {"user@-example.com", MAILADDR_BAD_DOMAIN, NULL},
    {"user@example-.com", MAILADDR_BAD_DOMAIN, NULL},
    {"user@\xff.example", MAILADDR_BAD_DOMAIN, NULL},
    {"user@\xc0\xae.example", MAILADDR_BAD_DOMAIN, NULL},
    {"user@exa\xc2\xa0mple.com", MAILADDR_BAD_DOMAIN, NULL},
    {"user@paypal\xe3\x80\x82"
     "com",
     MAILADDR_BAD_DOMAIN, NULL},
    {"user@example.com, other@[192.0.2.1]", MAILADDR_BAD_DOMAIN, NULL},
};

/* test_from_cases - every table case gives its status and domain */
static void
test_from_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]);
	     i++) {
		const struct from_case *c = &from_cases[i];
		const char *values[] = {c->value};
		struct mailaddr_from mf;

		mailaddr_from_domain(values, 1, &mf);
		if (mf.status != c->status ||
		    strcmp(mf.domain, c->domain != NULL ? c->domain : "") != 0)
			fail_msg("From: %s -> %s \"%s\" (%s), want %s \"%s\"",
				 c->value, mailaddr_status_name(mf.status),
				 mf.domain, mf.reason,
				 mailaddr_status_name(c->status),
				 c->domain != NULL ? c->domain : "");
		if (mf.status != MAILADDR_OK)
			assert_true(mf.reason[0] != '\0');
	}
}

/* test_field_count - no From field, and several From fields */
static void
test_field_count(void **state)
{
	const char *two[] = {"a@example.com", "a@example.com"};
	struct mailaddr_from mf;

	(void)state;
	mailaddr_from_domain(NULL, 0, &mf);
	assert_int_equal(mf.status, MAILADDR_NO_FROM);
	assert_string_equal(mf.domain, "");
	/* RFC 5322 3.6: exactly one From; even identical copies are not */
	mailaddr_from_domain(two, 2, &mf);
	assert_int_equal(mf.status, MAILADDR_MULTIPLE_FIELDS);
	assert_string_equal(mf.domain, "");
}

/* test_counts - mailboxes are counted */
static void
test_counts(void **state)
{
	const char *v[] = {"a@example.com, b@example.com, <c@example.com>"};
	struct mailaddr_from mf;

	(void)state;
	mailaddr_from_domain(v, 1, &mf);
	assert_int_equal(mf.status, MAILADDR_OK);
	assert_int_equal(mf.naddrs, 3);
}

/* cp_utf8 - code points to UTF-8 */
static void
cp_utf8(const uint32_t *cps, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t c = cps[i];

		if (c < 0x80)
			out[o++] = (char)c;
		else if (c < 0x800) {
			out[o++] = (char)(0xC0 | (c >> 6));
			out[o++] = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xE0 | (c >> 12));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (c & 0x3F));
		} else {
			out[o++] = (char)(0xF0 | (c >> 18));
			out[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (c & 0x3F));
		}
	}
	out[o] = '\0';
}

/* test_punycode_rfc3492 - RFC 3492 7.1 samples A, B, C and D */
static void
test_punycode_rfc3492(void **state)
{
	static const uint32_t a[] = {0x0644, 0x064A, 0x0647, 0x0645, 0x0627,
				     0x0628, 0x062A, 0x0643, 0x0644, 0x0645,
				     0x0648, 0x0634, 0x0639, 0x0631, 0x0628,
				     0x064A, 0x061F};
	static const uint32_t b[] = {0x4ED6, 0x4EEC, 0x4E3A, 0x4EC0, 0x4E48,
				     0x4E0D, 0x8BF4, 0x4E2D, 0x6587};
	static const uint32_t c[] = {0x4ED6, 0x5011, 0x7232, 0x4EC0, 0x9EBD,
				     0x4E0D, 0x8AAA, 0x4E2D, 0x6587};
	/* (D) Czech, whose basic code points we lower-case */
	static const uint32_t d[] = {
	    0x0050, 0x0072, 0x006F, 0x010D, 0x0070, 0x0072, 0x006F, 0x0073,
	    0x0074, 0x011B, 0x006E, 0x0065, 0x006D, 0x006C, 0x0075, 0x0076,
	    0x00ED, 0x010D, 0x0065, 0x0073, 0x006B, 0x0079};
	char in[256], out[256];

	(void)state;
	cp_utf8(a, sizeof(a) / sizeof(a[0]), in);
	strcat(in, ".example");
	assert_int_equal(
	    mailaddr_domain_normalize(in, strlen(in), out, sizeof(out)), 0);
	assert_string_equal(out, "xn--egbpdaj6bu4bxfgehfvwxn.example");
	cp_utf8(b, sizeof(b) / sizeof(b[0]), in);
	strcat(in, ".cn");
	assert_int_equal(
	    mailaddr_domain_normalize(in, strlen(in), out, sizeof(out)), 0);
	assert_string_equal(out, "xn--ihqwcrb4cv8a8dqg056pqjye.cn");
	cp_utf8(c, sizeof(c) / sizeof(c[0]), in);
	strcat(in, ".tw");
	assert_int_equal(
	    mailaddr_domain_normalize(in, strlen(in), out, sizeof(out)), 0);
	assert_string_equal(out, "xn--ihqwctvzc91f659drss3x8bo0yb.tw");
	cp_utf8(d, sizeof(d) / sizeof(d[0]), in);
	strcat(in, ".cz");
	assert_int_equal(
	    mailaddr_domain_normalize(in, strlen(in), out, sizeof(out)), 0);
	assert_string_equal(out, "xn--proprostnemluvesky-uyb24dma41a.cz");
}

/* test_normalize - case, final dot and the label grammar */
static void
test_normalize(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: refused */
	} cases[] = {
	    {"EXAMPLE.Com.", "example.com"},
	    {"localhost", "localhost"},
	    {"xn--bcher-kva.example", "xn--bcher-kva.example"},
	    {"\xe4\xb8\xad\xe5\x9b\xbd", "xn--fiqs8s"},
	    {"a-b.example", "a-b.example"},
	    {"", NULL},
	    {".", NULL},
	    {".example.com", NULL},
	    {"example.com..", NULL},
	    {"a-.example", NULL},
	    {"a b.example", NULL},
	    {"a;b.example", NULL},
	    {"123", NULL},
	    {"example.123", NULL},
	};
	char out[RES_DOMAIN_MAX], big[400];
	int r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = mailaddr_domain_normalize(cases[i].in, strlen(cases[i].in),
					      out, sizeof(out));
		if (cases[i].out == NULL ? r != -1
					 : r != 0 || strcmp(out, cases[i].out))
			fail_msg("normalize \"%s\" -> %d \"%s\"", cases[i].in,
				 r, r == 0 ? out : "");
	}
	/* 63 octets is the longest label, 253 the longest name */
	memset(big, 'a', 63);
	strcpy(big + 63, ".example");
	assert_int_equal(
	    mailaddr_domain_normalize(big, strlen(big), out, sizeof(out)), 0);
	memset(big, 'a', 64);
	strcpy(big + 64, ".example");
	assert_int_equal(
	    mailaddr_domain_normalize(big, strlen(big), out, sizeof(out)), -1);
	for (int k = 0; k < 4; k++) {
		memset(big + k * 62, 'a', 61);
		big[k * 62 + 61] = '.';
	}
	strcpy(big + 248, "exam"); /* 252 octets */
	assert_int_equal(
	    mailaddr_domain_normalize(big, strlen(big), out, sizeof(out)), 0);
	strcpy(big + 248, "examp"); /* 253 */
	assert_int_equal(
	    mailaddr_domain_normalize(big, strlen(big), out, sizeof(out)), 0);
	strcpy(big + 248, "exampl"); /* 254 */
	assert_int_equal(
	    mailaddr_domain_normalize(big, strlen(big), out, sizeof(out)), -1);
	/* a result that does not fit the caller's buffer is refused */
	assert_int_equal(mailaddr_domain_normalize("example.com", 11, out, 5),
			 -1);
}

/* test_big_inputs - 64 KiB fields: defined results, bounded time */
static void
test_big_inputs(void **state)
{
	const size_t n = 64 * 1024;
	char *buf = malloc(n + 1);
	const char *v[] = {buf};
	struct mailaddr_from mf;
	clock_t t0 = clock();
	unsigned seed = 12345;

	(void)state;
	assert_non_null(buf);
	/* deep comment nesting */
	memset(buf, '(', n);
	buf[n] = '\0';
	mailaddr_from_domain(v, 1, &mf);
	assert_int_equal(mf.status, MAILADDR_SYNTAX);
	/* thousands of mailboxes in one domain */
	buf[0] = '\0';
	for (size_t len = 0; len + 16 < n; len += 15)
		memcpy(buf + len, "a@example.com, ", 16);
	mailaddr_from_domain(v, 1, &mf);
	assert_int_equal(mf.status, MAILADDR_OK);
	assert_string_equal(mf.domain, "example.com");
	assert_true(mf.naddrs > 4000);
	/* an endless quoted string and an endless atom */
	memset(buf, '"', 1);
	memset(buf + 1, 'x', n - 1);
	buf[n] = '\0';
	mailaddr_from_domain(v, 1, &mf);
	assert_int_equal(mf.status, MAILADDR_SYNTAX);
	memset(buf, 'x', n);
	mailaddr_from_domain(v, 1, &mf);
	assert_int_equal(mf.status, MAILADDR_SYNTAX);
	/* a domain far longer than any name */
	memcpy(buf, "a@", 2);
	for (size_t i = 2; i < n; i++)
		buf[i] = (i % 2) ? '.' : 'b';
	buf[n - 1] = 'c';
	mailaddr_from_domain(v, 1, &mf);
	assert_int_equal(mf.status, MAILADDR_BAD_DOMAIN);
	/* random octets: any status, never a domain with odd characters */
	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (char)(((seed >> 16) % 255) + 1);
		}
		buf[n] = '\0';
		mailaddr_from_domain(v, 1, &mf);
		assert_int_equal(strspn(mf.domain, "abcdefghijklmnopqrstuvwxyz"
						   "0123456789-."),
				 strlen(mf.domain));
	}
	free(buf);
	/* well under a second for all of it, even under sanitizers */
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
}

/* envelope addresses: local part and domain, blanks and <> allowed */
static void
test_envelope(void **state)
{
	char l[16], d[16];
	char *s;

	(void)state;
	assert_int_equal(mailaddr_envelope_parts(" <Bob+x@Ex.org> ", l,
						 sizeof(l), d, sizeof(d)),
			 0);
	assert_string_equal(l, "Bob+x");
	assert_string_equal(d, "Ex.org");
	assert_int_equal(mailaddr_envelope_parts("a@b@c.example", l, sizeof(l),
						 d, sizeof(d)),
			 0);
	assert_string_equal(l, "a@b");
	assert_string_equal(d, "c.example");
	assert_int_equal(
	    mailaddr_envelope_parts("postmaster", l, sizeof(l), d, sizeof(d)),
	    0);
	assert_string_equal(l, "postmaster");
	assert_string_equal(d, "");
	assert_int_equal(mailaddr_envelope_parts("<>", l, sizeof(l), d,
						 sizeof(d)),
			 0);
	assert_string_equal(l, "");
	assert_int_equal(mailaddr_envelope_parts("x@a-domain-too-long.example",
						 l, sizeof(l), d, sizeof(d)),
			 -1);
	assert_non_null(s = mailaddr_envelope_strip("  <a@b.example>\t"));
	assert_string_equal(s, "a@b.example");
	free(s);
	mailaddr_envelope_domain("<A@B.Example>", d, sizeof(d));
	assert_string_equal(d, "b.example");
	mailaddr_envelope_domain("nobody", d, sizeof(d));
	assert_string_equal(d, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_cases),
	    cmocka_unit_test(test_field_count),
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_punycode_rfc3492),
	    cmocka_unit_test(test_normalize),
	    cmocka_unit_test(test_big_inputs),
	    cmocka_unit_test(test_envelope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
