/*
 * test_dkim_hostile.c - lib/dkim on what an attacker or a broken DNS
 * sends: bad tag lists, missing, unaskable, revoked and unusable keys,
 * huge key records, DNS timeout, SERVFAIL and REFUSED, more signatures
 * than DKIMMaxSignatures, huge, binary and numerous headers, and calls in
 * odd orders. Each gets a defined result, never a crash or a hang.
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


#include "config.h"
#include "auth/dkim.h"
#include "dkim_testkeys.h"
#include "dkim_testcase.h"
#include "dkim_testlib.h"
#include "dkim_testsign.h"
#include "dns/dns.h"

/* test_duplicate_tag - a tag named twice: the tag-list is invalid (RFC
 * 6376 3.2), permerror, not the last value winning */
static void
test_duplicate_tag(void **st)
{
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "example.com", DKIM_SIGN_RSASHA256);
	char *bad = dkim_test_replace(m, "d=example.com",
				      "d=evil.example; d=example.com");

	assert_non_null(bad);
	dkim_tc_one_result(*st, bad, RES_PERMERROR, "tag d= named twice");
	free(bad);
	/* the duplicate hidden behind 64 filler tags is still found */
	{
		char filler[64 * 8 + 64];
		size_t o = 0;

		for (int i = 0; i < 64; i++)
			o += (size_t)snprintf(filler + o, sizeof(filler) - o,
					      "x%d=1; ", i);
		snprintf(filler + o, sizeof(filler) - o,
			 "d=evil.example; d=example.com");
		bad = dkim_test_replace(m, "d=example.com", filler);
		assert_non_null(bad);
		dkim_tc_one_result(*st, bad, RES_PERMERROR, "invalid tag-list");
		free(bad);
	}
	/* two long unknown tags alike in their first 32 characters are two
	 * tags, not a duplicate: RFC 6376 ignores unknown tags */
	bad = dkim_test_replace(m, "d=example.com",
				"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaX=1; "
				"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaY=2; "
				"d=example.com");
	assert_non_null(bad);
	{
		size_t n = 0;
		struct dkim_outcome *o = dkim_tc_verify(*st, bad, &n);

		assert_int_equal(n, 1);
		assert_null(strstr(o[0].reason, "named twice"));
		free(o);
	}
	free(bad);
	free(m);
}

/* test_huge_key_record - a 30 KB key record is no transient error */
static void
test_huge_key_record(void **st)
{
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "huge", "example.com",
		       DKIM_SIGN_RSASHA256);
	size_t n = 0;
	struct dkim_outcome *o;

	assert_non_null(m);
	o = dkim_tc_verify(*st, m, &n);
	assert_int_equal(n, 1);
	assert_int_not_equal(o[0].result, RES_TEMPERROR);
	if (o[0].result != RES_PASS) {
		assert_int_equal(o[0].result, RES_PERMERROR);
		assert_non_null(strstr(o[0].reason, "key record too large"));
	}
	free(o);
	free(m);
}

/* test_missing_key - NXDOMAIN for the key: permerror "no key" */
static void
test_missing_key(void **st)
{
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "nokey", "example.com",
		       DKIM_SIGN_RSASHA256);

	dkim_tc_one_result(*st, m, RES_PERMERROR, "no key");
	free(m);
}

/* test_unaskable_key - a key name DNS cannot carry: no key, no query */
static void
test_unaskable_key(void **st)
{
	char sel[80];
	char *m;

	memset(sel, 's', 70); /* a DNS label holds at most 63 octets */
	sel[70] = '\0';
	m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, sel, "example.com",
		 DKIM_SIGN_RSASHA256);
	dkim_tc_one_result(*st, m, RES_PERMERROR, "no key");
	free(m);
}

/* test_revoked_key - empty p= is a failed check (RFC 6376 6.1.2) */
static void
test_revoked_key(void **st)
{
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "revoked",
		       "example.com", DKIM_SIGN_RSASHA256);

	dkim_tc_one_result(*st, m, RES_FAIL, "key revoked");
	free(m);
}

/* test_bad_key - p= that is no public key: permerror */
static void
test_bad_key(void **st)
{
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "badkey", "example.com",
		       DKIM_SIGN_RSASHA256);

	dkim_tc_one_result(*st, m, RES_PERMERROR, NULL);
	free(m);
}

/* test_dns_timeout - a key server that never answers: temperror, fast */
static void
test_dns_timeout(void **st)
{
	struct dkim_tc_state *s = *st;
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "timeout.example.net", DKIM_SIGN_RSASHA256);
	time_t t0 = time(NULL);

	dns_resolver_set_timeout(s->dns.res, 300);
	dkim_tc_one_result(s, m, RES_TEMPERROR, "key lookup timed out");
	dns_resolver_set_timeout(s->dns.res, 5000);
	assert_true(time(NULL) - t0 < 4);
	free(m);
}

/* test_dns_servfail - SERVFAIL: temperror, not a permanent "no key" */
static void
test_dns_servfail(void **st)
{
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "servfail.example.net", DKIM_SIGN_RSASHA256);

	dkim_tc_one_result(*st, m, RES_TEMPERROR, "SERVFAIL");
	free(m);
}

/* test_dns_refused - a REFUSED answer: temperror, not "no key" */
static void
test_dns_refused(void **st)
{
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "refused.example.net", DKIM_SIGN_RSASHA256);

	dkim_tc_one_result(*st, m, RES_TEMPERROR, "REFUSED");
	free(m);
}

/* test_max_signatures - only DKIMMaxSignatures signatures are reported */
static void
test_max_signatures(void **st)
{
	struct dkim_tc_state *s = *st;
	char *one = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "rsa2048",
			 "example.com", DKIM_SIGN_RSASHA256);
	char *two = dkim_tc_sign(one, dkim_test_key_ed25519, "ed", "example.com",
			 DKIM_SIGN_ED25519SHA256);
	char *three = dkim_tc_sign(two, dkim_test_key_rsa2048, "nokey", "example.com",
			   DKIM_SIGN_RSASHA256);
	unsigned saved = s->dns.cfg->dkim_max_signatures;
	struct dkim_verifier *ver;
	struct dkim_outcome *o = NULL;
	size_t n = 0;
	char err[128];

	s->dns.cfg->dkim_max_signatures = 2;
	ver = dkim_verifier_new(s->dns.cfg, err, sizeof(err));
	s->dns.cfg->dkim_max_signatures = saved;
	assert_non_null(ver);
	dkim_test_verify(ver, s->dns.res, three, strlen(three), 0, &o, &n);
	assert_int_equal(n, 2);
	assert_int_equal(o[0].result, RES_PERMERROR); /* nokey, on top */
	assert_int_equal(o[1].result, RES_PASS);      /* ed25519 */
	free(o);
	/* all three with the default limit */
	o = dkim_tc_verify(s, three, &n);
	assert_int_equal(n, 3);
	assert_int_equal(o[2].result, RES_PASS);
	free(o);
	dkim_verifier_free(ver);
	free(one);
	free(two);
	free(three);
}

/* test_syntax_error - a signature without d=: permerror, not dropped */
static void
test_syntax_error(void **st)
{
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "example.com", DKIM_SIGN_RSASHA256);
	char *bad = dkim_test_replace(m, "d=example.com", "x=example.com");

	assert_non_null(bad);
	dkim_tc_one_result(*st, bad, RES_PERMERROR, NULL);
	free(bad);
	free(m);
}

/* test_hostile_input - huge, binary and numerous headers: defined results */
static void
test_hostile_input(void **st)
{
	struct dkim_tc_state *s = *st;
	size_t big = 64 * 1024, n = 0, len;
	char *buf = malloc(10000 * 40 + 2 * big + 1024);
	struct dkim_outcome *o = NULL;

	assert_non_null(buf);
	/* a 64 KiB subject and a 64 KiB DKIM-Signature */
	len = (size_t)sprintf(buf, "From: a@example.com\r\nSubject: ");
	memset(buf + len, 'x', big);
	len += big;
	len += (size_t)sprintf(buf + len, "\r\nDKIM-Signature: v=1; d=");
	memset(buf + len, 'y', big);
	len += big;
	len += (size_t)sprintf(buf + len, "\r\n\r\nbody\r\n");
	dkim_test_verify(s->ver, s->dns.res, buf, len, 0, &o, &n);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].result, RES_PERMERROR);
	assert_string_equal(o[0].domain, ""); /* did not fit: left out */
	free(o);

	/* 10,000 DKIM-Signature fields: only DKIMMaxSignatures looked at */
	len = (size_t)sprintf(buf, "From: a@example.com\r\n");
	for (int i = 0; i < 10000; i++)
		len += (size_t)sprintf(
		    buf + len, "DKIM-Signature: v=1; d=%d.example\r\n", i);
	len += (size_t)sprintf(buf + len, "\r\nbody\r\n");
	dkim_test_verify(s->ver, s->dns.res, buf, len, 0, &o, &n);
	assert_int_equal(n, 10);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(o[i].result, RES_PERMERROR);
	free(o);

	/* binary junk everywhere, NULs and 8-bit octets included */
	for (size_t i = 0; i < 8192; i++)
		buf[i] = (char)((i * 7919u + 13u) % 256u);
	memcpy(buf, "DKIM-Signature:", 15);
	dkim_test_verify(s->ver, s->dns.res, buf, 8192, 5, &o, &n);
	/* one signature field whose value is no tag-list (RFC 6376 3.2:
	 * text between semicolons without "=" is no tag-spec, and "the
	 * entire tag-list is invalid"): permerror, and said why */
	assert_int_equal(n, 1);
	assert_int_equal(o[0].result, RES_PERMERROR);
	assert_non_null(strstr(o[0].reason, "invalid tag-list"));
	free(o);
	memcpy(buf + 100, "\r\n\r\n", 4);
	dkim_test_verify(s->ver, s->dns.res, buf, 8192, 0, &o, &n);
	/* the same with a header/body split at 100: same result */
	assert_int_equal(n, 1);
	assert_int_equal(o[0].result, RES_PERMERROR);
	assert_non_null(strstr(o[0].reason, "invalid tag-list"));
	free(o);
	/* a well-formed tag-list without d=: RFC 6376 6.1.1, a required
	 * tag is missing */
	len = (size_t)sprintf(buf, "From: a@example.com\r\nDKIM-Signature: "
				   "v=1; a=rsa-sha256; s=x; b=AAAA; bh=AAAA; "
				   "h=from\r\n\r\nbody\r\n");
	dkim_test_verify(s->ver, s->dns.res, buf, len, 0, &o, &n);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].result, RES_PERMERROR);
	assert_string_equal(o[0].reason, "domain tag missing");
	free(o);
	free(buf);
}

/* test_null_safe - calls in odd orders or with NULL do nothing harmful */
static void
test_null_safe(void **st)
{
	struct dkim_tc_state *s = *st;
	struct dns_cache *cache = dns_cache_new(s->dns.res);
	struct dkim_msg *msg = dkim_msg_new(s->ver, cache);
	struct dkim_outcome *o = NULL;
	size_t n = 1;

	dkim_msg_body(msg, (const unsigned char *)"early\n", 6);
	dkim_msg_header(msg, "From", " a@example.com");
	dkim_msg_eom(msg, &o, &n); /* no eoh: done implicitly */
	assert_int_equal(n, 0);
	dkim_msg_header(msg, "Subject", " late");
	dkim_msg_free(msg);
	dkim_msg_header(NULL, "From", "x");
	dkim_msg_eoh(NULL);
	dkim_msg_body(NULL, NULL, 0);
	dkim_msg_eom(NULL, &o, &n);
	assert_int_equal(n, 0);
	dkim_msg_free(NULL);
	dkim_verifier_free(NULL);
	dns_cache_free(cache);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_key),
	    cmocka_unit_test(test_huge_key_record),
	    cmocka_unit_test(test_duplicate_tag),
	    cmocka_unit_test(test_unaskable_key),
	    cmocka_unit_test(test_revoked_key),
	    cmocka_unit_test(test_bad_key),
	    cmocka_unit_test(test_dns_timeout),
	    cmocka_unit_test(test_dns_servfail),
	    cmocka_unit_test(test_dns_refused),
	    cmocka_unit_test(test_max_signatures),
	    cmocka_unit_test(test_syntax_error),
	    cmocka_unit_test(test_hostile_input),
	    cmocka_unit_test(test_null_safe),
	};

	return cmocka_run_group_tests(tests, dkim_tc_setup, dkim_tc_teardown);
}
