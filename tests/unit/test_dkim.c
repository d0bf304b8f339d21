/*
 * test_dkim.c - lib/dkim on messages the test signs itself
 *
 * Each case signs a small message with a key from dkim_testkeys.h
 * (RSA-2048, RSA-512, ed25519), publishes keys in hermetic DNS
 * (dkim_testcase.c), and checks the RFC 8601 result and properties an
 * administrator would read in the Authentication-Results header: good
 * signatures, PKCS#1 keys, the key cache, altered body and headers,
 * expiry, rsa-sha1 and small keys (RFC 8301), testing keys, l=, several
 * signatures on one message, body chunking and line ends, threads.
 * Hostile input, bad keys and DNS failures are in test_dkim_hostile.c.
 */
#include "build.h" /* first: feature macros */

#include <pthread.h>
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

/* test_good_rsa - RSA-2048 rsa-sha256: pass with every property */
static void
test_good_rsa(void **st)
{
	struct dkim_tc_state *s = *st;
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "example.com", DKIM_SIGN_RSASHA256);
	char b[9];
	size_t n = 0;
	struct dkim_outcome *o = dkim_tc_verify(s, m, &n);

	dkim_tc_b_tag(m, b);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].result, RES_PASS);
	assert_string_equal(o[0].domain, "example.com");
	assert_string_equal(o[0].identity, "@example.com");
	assert_string_equal(o[0].selector, "rsa2048");
	assert_string_equal(o[0].algorithm, "rsa-sha256");
	assert_int_equal(strlen(o[0].b), 8);
	assert_string_equal(o[0].b, b);
	assert_int_equal(o[0].keybits, 2048);
	assert_string_equal(o[0].reason, "");
	free(o);
	free(m);
}

/* test_good_ed25519 - RFC 8463 ed25519-sha256: pass, no RSA key size */
static void
test_good_ed25519(void **st)
{
	struct dkim_tc_state *s = *st;
	struct dkim_test_signopts opt = {
	    .key_pem = dkim_test_key_ed25519,
	    .selector = "ed",
	    .domain = "example.com",
	    .identity = "alice@example.com",
	    .alg = DKIM_SIGN_ED25519SHA256,
	    .length = -1,
	};
	char *m = dkim_test_sign(dkim_tc_base_msg, &opt);
	size_t n = 0;
	struct dkim_outcome *o;

	assert_non_null(m);
	o = dkim_tc_verify(s, m, &n);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].result, RES_PASS);
	assert_string_equal(o[0].algorithm, "ed25519-sha256");
	assert_string_equal(o[0].identity, "alice@example.com");
	assert_string_equal(o[0].selector, "ed");
	assert_int_equal(o[0].keybits, 0);
	free(o);
	free(m);
}

/* test_pkcs1_key - a key published as a bare RSAPublicKey (PKCS#1, what
 * RFC 6376 3.6.1 names) verifies like the SubjectPublicKeyInfo form */
static void
test_pkcs1_key(void **st)
{
	struct dkim_tc_state *s = *st;
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "pkcs1", "example.com",
		       DKIM_SIGN_RSASHA256);

	/* DER SEQUENCE { INTEGER n ...: no AlgorithmIdentifier */
	assert_non_null(strstr(s->rec_pkcs1, "p=MIIBCgKCAQEA"));
	dkim_tc_one_result(*st, m, RES_PASS, NULL);
	free(m);
}

/* test_domain_not_plain - d= must be a plain domain name (RFC 6376 3.5
 * and 6.1.1): "example.com(.attacker.example" is permerror, never a pass
 * for example.com */
static void
test_domain_not_plain(void **st)
{
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "example.com", DKIM_SIGN_RSASHA256);
	char *bad = dkim_test_replace(m, "d=example.com",
				      "d=example.com(.attacker.example");

	assert_non_null(bad);
	dkim_tc_one_result(*st, bad, RES_PERMERROR, "d= is not a domain name");
	free(bad);
	free(m);
}

/* test_body_no_final_crlf - a body whose last line has no CRLF gets one
 * before canonicalisation (RFC 6376 3.4.3, 3.4.4); fed in any pieces */
static void
test_body_no_final_crlf(void **st)
{
	struct dkim_tc_state *s = *st;
	size_t len = strlen(dkim_tc_base_msg);
	char *text = malloc(len + 1), *m;

	assert_non_null(text);
	memcpy(text, dkim_tc_base_msg, len - 2); /* without the last CRLF */
	text[len - 2] = '\0';
	m = dkim_tc_sign(text, dkim_test_key_rsa2048, "rsa2048", "example.com",
		 DKIM_SIGN_RSASHA256);
	for (size_t chunk = 0; chunk < 4; chunk++) {
		struct dkim_outcome *o = NULL;
		size_t n = 0;

		dkim_test_verify(s->ver, s->dns.res, m, strlen(m), chunk, &o,
				 &n);
		assert_int_equal(n, 1);
		assert_int_equal(o[0].result, RES_PASS);
		free(o);
	}
	free(m);
	free(text);
}

/* test_key_cache - a key record is decoded once: the next signatures
 * that name it take the parsed key from the cache */
static void
test_key_cache(void **st)
{
	struct dkim_tc_state *s = *st;
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "example.com", DKIM_SIGN_RSASHA256);
	unsigned long h0, p0, h1, p1;

	dkim_tc_one_result(s, m, RES_PASS, NULL);
	dkim_verifier_keystats(s->ver, &h0, &p0);
	for (int i = 0; i < 5; i++)
		dkim_tc_one_result(s, m, RES_PASS, NULL);
	dkim_verifier_keystats(s->ver, &h1, &p1);
	assert_int_equal(p1, p0);     /* nothing decoded again */
	assert_int_equal(h1, h0 + 5); /* five answers from the cache */
	free(m);
}

/* test_body_altered - a changed body breaks the body hash (RFC 6376 3.7) */
static void
test_body_altered(void **st)
{
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "example.com", DKIM_SIGN_RSASHA256);
	char *bad = dkim_test_replace(m, "is signed.", "is forged.");

	assert_non_null(bad);
	dkim_tc_one_result(*st, bad, RES_FAIL, "body hash mismatch");
	free(bad);
	free(m);
}

/* test_header_altered - a changed signed header breaks the signature */
static void
test_header_altered(void **st)
{
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_ed25519, "ed", "example.com",
		       DKIM_SIGN_ED25519SHA256);
	char *bad =
	    dkim_test_replace(m, "Subject: DKIM test", "Subject: DKIM best");

	assert_non_null(bad);
	dkim_tc_one_result(*st, bad, RES_FAIL, "signature did not verify");
	free(bad);
	free(m);
}

/* test_expired - x= in the past: policy (RFC 6376 3.5 lets us refuse) */
static void
test_expired(void **st)
{
	struct dkim_test_signopts opt = {
	    .key_pem = dkim_test_key_rsa2048,
	    .selector = "rsa2048",
	    .domain = "example.com",
	    .alg = DKIM_SIGN_RSASHA256,
	    .sign_time = (uint64_t)time(NULL) - 2 * 86400,
	    .ttl = 86400,
	    .length = -1,
	};
	char *m = dkim_test_sign(dkim_tc_base_msg, &opt);

	assert_non_null(m);
	assert_non_null(strstr(m, "x="));
	dkim_tc_one_result(*st, m, RES_POLICY, "expired");
	free(m);
}

/* test_future - t= a day ahead: policy */
static void
test_future(void **st)
{
	struct dkim_test_signopts opt = {
	    .key_pem = dkim_test_key_rsa2048,
	    .selector = "rsa2048",
	    .domain = "example.com",
	    .alg = DKIM_SIGN_RSASHA256,
	    .sign_time = (uint64_t)time(NULL) + 86400,
	    .length = -1,
	};
	char *m = dkim_test_sign(dkim_tc_base_msg, &opt);

	assert_non_null(m);
	dkim_tc_one_result(*st, m, RES_POLICY, "future");
	free(m);
}

/* test_rsa_sha1 - RFC 8301: rsa-sha1 never passes, even when valid */
static void
test_rsa_sha1(void **st)
{
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "example.com", DKIM_SIGN_RSASHA1);
	size_t n = 0;
	struct dkim_outcome *o = dkim_tc_verify(*st, m, &n);

	assert_int_equal(n, 1);
	assert_int_equal(o[0].result, RES_POLICY);
	assert_string_equal(o[0].reason, "rsa-sha1 not accepted (RFC 8301)");
	assert_string_equal(o[0].algorithm, "rsa-sha1");
	free(o);
	free(m);
}

/* test_small_key - RFC 8301: a 512-bit RSA key gives policy */
static void
test_small_key(void **st)
{
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa512, "rsa512", "example.com",
		       DKIM_SIGN_RSASHA256);
	size_t n = 0;
	struct dkim_outcome *o = dkim_tc_verify(*st, m, &n);

	assert_int_equal(n, 1);
	assert_int_equal(o[0].result, RES_POLICY);
	assert_non_null(strstr(o[0].reason, "512"));
	assert_non_null(strstr(o[0].reason, "1024"));
	free(o);
	free(m);
}

/* test_testing_key - t=y: the result stands, the reason says so */
static void
test_testing_key(void **st)
{
	char *m = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "testing",
		       "example.com", DKIM_SIGN_RSASHA256);

	dkim_tc_one_result(*st, m, RES_PASS, "testing key");
	free(m);
}

/* test_body_length - l= shorter than the body: pass, reason notes it */
static void
test_body_length(void **st)
{
	const char *body = strstr(dkim_tc_base_msg, "\r\n\r\n") + 4;
	struct dkim_test_signopts opt = {
	    .key_pem = dkim_test_key_rsa2048,
	    .selector = "rsa2048",
	    .domain = "example.com",
	    .alg = DKIM_SIGN_RSASHA256,
	    .length = (ssize_t)strlen(body),
	};
	char *m = dkim_test_sign(dkim_tc_base_msg, &opt);
	char *longer;

	assert_non_null(m);
	longer = malloc(strlen(m) + 64);
	assert_non_null(longer);
	sprintf(longer, "%sAppended by someone else.\r\n", m);
	dkim_tc_one_result(*st, m, RES_PASS, NULL);
	dkim_tc_one_result(*st, longer, RES_PASS, "unsigned");
	free(longer);
	free(m);
}

/* corrupt_top_b - damage the b= value of the first (top) signature */
static void
corrupt_top_b(char *m)
{
	char b[9];
	char *p;

	dkim_tc_b_tag(m, b);
	p = strstr(m, b);
	assert_non_null(p);
	p[3] = p[3] == 'A' ? 'B' : 'A';
}

/* two_sig_msg - rsa2048 signature, then an ed25519 one whose b= is bad */
static char *
two_sig_msg(void)
{
	char *one = dkim_tc_sign(dkim_tc_base_msg, dkim_test_key_rsa2048, "rsa2048",
			 "example.com", DKIM_SIGN_RSASHA256);
	char *two = dkim_tc_sign(one, dkim_test_key_ed25519, "ed", "example.com",
			 DKIM_SIGN_ED25519SHA256);

	free(one);
	corrupt_top_b(two);
	return two;
}

/* check_two_sigs - the top (ed25519) fails, the rsa one passes */
static void
check_two_sigs(const struct dkim_outcome *o, size_t n)
{
	assert_int_equal(n, 2);
	assert_int_equal(o[0].result, RES_FAIL);
	assert_string_equal(o[0].algorithm, "ed25519-sha256");
	assert_string_equal(o[0].reason, "signature did not verify");
	assert_int_equal(o[1].result, RES_PASS);
	assert_string_equal(o[1].algorithm, "rsa-sha256");
}

/* test_two_signatures - each signature gets its own result */
static void
test_two_signatures(void **st)
{
	char *m = two_sig_msg();
	size_t n = 0;
	struct dkim_outcome *o = dkim_tc_verify(*st, m, &n);

	check_two_sigs(o, n);
	free(o);
	free(m);
}

/* to_lf - a copy of a CRLF text with LF line ends */
static char *
to_lf(const char *s)
{
	char *out = malloc(strlen(s) + 1);
	size_t o = 0;

	assert_non_null(out);
	for (; *s != '\0'; s++)
		if (!(s[0] == '\r' && s[1] == '\n'))
			out[o++] = *s;
	out[o] = '\0';
	return out;
}

/* test_chunks - LF or CRLF, any chunk size: the same results */
static void
test_chunks(void **st)
{
	struct dkim_tc_state *s = *st;
	char *crlf = two_sig_msg();
	char *lf = to_lf(crlf);
	static const size_t sizes[] = {0, 1, 2, 3, 7, 64};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct dkim_outcome *o = NULL;
		size_t n = 0;

		dkim_test_verify(s->ver, s->dns.res, crlf, strlen(crlf),
				 sizes[i], &o, &n);
		check_two_sigs(o, n);
		free(o);
		dkim_test_verify(s->ver, s->dns.res, lf, strlen(lf), sizes[i],
				 &o, &n);
		check_two_sigs(o, n);
		free(o);
	}
	free(lf);
	free(crlf);
}

/* test_big_body - a body far larger than one internal piece */
static void
test_big_body(void **st)
{
	struct dkim_tc_state *s = *st;
	size_t len = strlen(dkim_tc_base_msg), n = 0;
	char *big = malloc(len + 300000), *m, *lf;
	struct dkim_outcome *o = NULL;

	assert_non_null(big);
	memcpy(big, dkim_tc_base_msg, len);
	for (int i = 0; len < 250000; i++)
		len +=
		    (size_t)sprintf(big + len, "line %d of a long body\r\n", i);
	big[len] = '\0';
	m = dkim_tc_sign(big, dkim_test_key_rsa2048, "rsa2048", "example.com",
		 DKIM_SIGN_RSASHA256);
	lf = to_lf(m);
	dkim_test_verify(s->ver, s->dns.res, lf, strlen(lf), 0, &o, &n);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].result, RES_PASS);
	free(o);
	dkim_test_verify(s->ver, s->dns.res, lf, strlen(lf), 65536, &o, &n);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].result, RES_PASS);
	free(o);
	free(lf);
	free(m);
	free(big);
}

/* one thread's work and what it found */
struct thread_arg {
	struct dkim_tc_state *s;
	const char *msg;
	int bad; /* runs whose results differed */
};

/* thread_main - verify the same message many times */
static void *
thread_main(void *p)
{
	struct thread_arg *a = p;

	for (int i = 0; i < 20; i++) {
		struct dkim_outcome *o = NULL;
		size_t n = 0;

		dkim_test_verify(a->s->ver, a->s->dns.res, a->msg,
				 strlen(a->msg), (size_t)i, &o, &n);
		if (n != 2 || o[0].result != RES_FAIL ||
		    o[1].result != RES_PASS)
			a->bad++;
		free(o);
	}
	return NULL;
}

/* test_threads - one verifier shared by threads, each its own messages */
static void
test_threads(void **st)
{
	char *m = two_sig_msg();
	pthread_t tid[4];
	struct thread_arg args[4];

	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){.s = *st, .msg = m};
		assert_int_equal(
		    pthread_create(&tid[i], NULL, thread_main, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(args[i].bad, 0);
	}
	free(m);
}

/* test_unsigned - no DKIM-Signature: no outcome (dkim=none) */
static void
test_unsigned(void **st)
{
	size_t n = 1;
	struct dkim_outcome *o = dkim_tc_verify(*st, dkim_tc_base_msg, &n);

	assert_null(o);
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_rsa),
	    cmocka_unit_test(test_good_ed25519),
	    cmocka_unit_test(test_pkcs1_key),
	    cmocka_unit_test(test_key_cache),
	    cmocka_unit_test(test_domain_not_plain),
	    cmocka_unit_test(test_body_no_final_crlf),
	    cmocka_unit_test(test_body_altered),
	    cmocka_unit_test(test_header_altered),
	    cmocka_unit_test(test_expired),
	    cmocka_unit_test(test_future),
	    cmocka_unit_test(test_rsa_sha1),
	    cmocka_unit_test(test_small_key),
	    cmocka_unit_test(test_testing_key),
	    cmocka_unit_test(test_body_length),
	    cmocka_unit_test(test_two_signatures),
	    cmocka_unit_test(test_chunks),
	    cmocka_unit_test(test_big_body),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_unsigned),
	};

	return cmocka_run_group_tests(tests, dkim_tc_setup, dkim_tc_teardown);
}
