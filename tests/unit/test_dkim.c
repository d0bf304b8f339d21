/*
 * test_dkim.c - lib/dkim on messages the test signs itself
 *
 * Each case signs a small message with a key from dkim_testkeys.h
 * (RSA-2048, RSA-512, ed25519), publishes keys in hermetic DNS, and checks
 * the RFC 8601 result and properties an administrator would read in the
 * Authentication-Results header: good signatures, altered body and
 * headers, missing, revoked and unusable keys, expiry, rsa-sha1 and small
 * keys (RFC 8301), DNS timeout, SERVFAIL and REFUSED, several signatures
 * on one message, body chunking and line ends, and hostile input.
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
#include "dkim_testlib.h"
#include "dkim_testsign.h"
#include "dns/dns.h"

static const char base_msg[] = "From: Alice <alice@example.com>\r\n"
			       "To: Bob <bob@example.org>\r\n"
			       "Subject: DKIM test\r\n"
			       "Date: Sat, 21 Nov 2026 10:00:00 +0000\r\n"
			       "Message-ID: <test-1@example.com>\r\n"
			       "\r\n"
			       "Hello Bob,\r\n"
			       "\r\n"
			       "this message is signed.\r\n";

struct state {
	struct dkim_test_dns dns;
	struct dkim_verifier *ver;
	char *rec_rsa2048, *rec_rsa512, *rec_ed25519, *rec_testing, *rec_huge;
	char *rec_pkcs1;
};

/* setup - hermetic DNS with every key the cases use, and a verifier */
static int
setup(void **st)
{
	static const char *const zones[] = {"example.com", NULL};
	struct state *s = calloc(1, sizeof(*s));
	char err[256];

	if (s == NULL)
		return -1;
	*st = s; /* teardown frees it even when setup fails */
	s->rec_rsa2048 = dkim_test_key_record(dkim_test_key_rsa2048);
	s->rec_rsa512 = dkim_test_key_record(dkim_test_key_rsa512);
	s->rec_ed25519 = dkim_test_key_record(dkim_test_key_ed25519);
	s->rec_pkcs1 = dkim_test_key_record_pkcs1(dkim_test_key_rsa2048);
	if (s->rec_rsa2048 == NULL || s->rec_rsa512 == NULL ||
	    s->rec_ed25519 == NULL || s->rec_pkcs1 == NULL)
		return -1;
	s->rec_testing = malloc(strlen(s->rec_rsa2048) + 8);
	if (s->rec_testing == NULL)
		return -1;
	sprintf(s->rec_testing, "t=y; %s", s->rec_rsa2048);
	/* a valid 30 KB TXT record: the key plus a long unknown tag */
	s->rec_huge = malloc(strlen(s->rec_rsa2048) + 30000 + 16);
	if (s->rec_huge == NULL)
		return -1;
	sprintf(s->rec_huge, "%s; n=", s->rec_rsa2048);
	memset(s->rec_huge + strlen(s->rec_huge), 'x', 30000);
	s->rec_huge[strlen(s->rec_rsa2048) + 4 + 30000] = '\0';
	{
		const struct dkim_test_record recs[] = {
		    {"rsa2048._domainkey.example.com", DKIM_TEST_TXT,
		     s->rec_rsa2048},
		    {"rsa512._domainkey.example.com", DKIM_TEST_TXT,
		     s->rec_rsa512},
		    {"ed._domainkey.example.com", DKIM_TEST_TXT,
		     s->rec_ed25519},
		    {"pkcs1._domainkey.example.com", DKIM_TEST_TXT,
		     s->rec_pkcs1},
		    {"testing._domainkey.example.com", DKIM_TEST_TXT,
		     s->rec_testing},
		    {"huge._domainkey.example.com", DKIM_TEST_TXT,
		     s->rec_huge},
		    {"revoked._domainkey.example.com", DKIM_TEST_TXT,
		     "v=DKIM1; k=rsa; p="},
		    {"badkey._domainkey.example.com", DKIM_TEST_TXT,
		     "v=DKIM1; k=rsa; p=bm90IGEga2V5IGF0IGFsbA=="},
		    {"rsa2048._domainkey.timeout.example.net",
		     DKIM_TEST_TIMEOUT, NULL},
		    {"rsa2048._domainkey.servfail.example.net",
		     DKIM_TEST_SERVFAIL, NULL},
		    {"rsa2048._domainkey.refused.example.net",
		     DKIM_TEST_REFUSED, NULL},
		};

		if (dkim_test_dns_start(&s->dns, zones, recs,
					sizeof(recs) / sizeof(recs[0])) != 0)
			return -1;
	}
	s->ver = dkim_verifier_new(s->dns.cfg, err, sizeof(err));
	if (s->ver == NULL) {
		fprintf(stderr, "dkim_verifier_new: %s\n", err);
		return -1;
	}
	return 0;
}

/* teardown - free everything setup made */
static int
teardown(void **st)
{
	struct state *s = *st;

	if (s == NULL)
		return 0;
	dkim_verifier_free(s->ver);
	dkim_test_dns_stop(&s->dns);
	free(s->rec_rsa2048);
	free(s->rec_rsa512);
	free(s->rec_ed25519);
	free(s->rec_testing);
	free(s->rec_huge);
	free(s->rec_pkcs1);
	free(s);
	return 0;
}

/* sign - sign text with a key/selector/domain/algorithm; must succeed */
static char *
sign(const char *text, const char *key, const char *sel, const char *dom,
     int alg)
{
	struct dkim_test_signopts o = {
	    .key_pem = key,
	    .selector = sel,
	    .domain = dom,
	    .alg = alg,
	    .length = -1,
	};
	char *out = dkim_test_sign(text, &o);

	assert_non_null(out);
	return out;
}

/* verify - run a whole CRLF message through the verifier */
static struct dkim_outcome *
verify(struct state *s, const char *text, size_t *n)
{
	struct dkim_outcome *out = NULL;

	dkim_test_verify(s->ver, s->dns.res, text, strlen(text), 0, &out, n);
	return out;
}

/* b_tag - the first 8 characters of the first field's b= (for checks) */
static void
b_tag(const char *signed_msg, char out[9])
{
	const char *p = signed_msg;
	size_t o = 0;

	/* b= is a tag name preceded by ';' and folding white space */
	while ((p = strstr(p, "b=")) != NULL) {
		const char *q = p;

		while (q > signed_msg && (q[-1] == ' ' || q[-1] == '\t' ||
					  q[-1] == '\r' || q[-1] == '\n'))
			q--;
		if (q > signed_msg && q[-1] == ';')
			break;
		p += 2;
	}
	assert_non_null(p);
	for (p += 2; *p != '\0' && *p != ';' && o < 8; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			out[o++] = *p;
	out[o] = '\0';
}

/* one_result - verify and expect exactly one signature with this result */
static void
one_result(struct state *s, const char *text, enum ar_result want,
	   const char *reason_part)
{
	size_t n = 0;
	struct dkim_outcome *o = verify(s, text, &n);

	assert_int_equal(n, 1);
	if (o[0].result != want)
		fprintf(stderr, "got %s (%s), want %s\n",
			result_name(o[0].result), o[0].reason,
			result_name(want));
	assert_int_equal(o[0].result, want);
	if (reason_part != NULL && strstr(o[0].reason, reason_part) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", o[0].reason,
			 reason_part);
	free(o);
}

/* test_good_rsa - RSA-2048 rsa-sha256: pass with every property */
static void
test_good_rsa(void **st)
{
	struct state *s = *st;
	char *m = sign(base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "example.com", DKIM_SIGN_RSASHA256);
	char b[9];
	size_t n = 0;
	struct dkim_outcome *o = verify(s, m, &n);

	b_tag(m, b);
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
	struct state *s = *st;
	struct dkim_test_signopts opt = {
	    .key_pem = dkim_test_key_ed25519,
	    .selector = "ed",
	    .domain = "example.com",
	    .identity = "alice@example.com",
	    .alg = DKIM_SIGN_ED25519SHA256,
	    .length = -1,
	};
	char *m = dkim_test_sign(base_msg, &opt);
	size_t n = 0;
	struct dkim_outcome *o;

	assert_non_null(m);
	o = verify(s, m, &n);
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
	struct state *s = *st;
	char *m = sign(base_msg, dkim_test_key_rsa2048, "pkcs1", "example.com",
		       DKIM_SIGN_RSASHA256);

	/* DER SEQUENCE { INTEGER n ...: no AlgorithmIdentifier */
	assert_non_null(strstr(s->rec_pkcs1, "p=MIIBCgKCAQEA"));
	one_result(*st, m, RES_PASS, NULL);
	free(m);
}

/* test_domain_not_plain - d= must be a plain domain name (RFC 6376 3.5
 * and 6.1.1): "example.com(.attacker.example" is permerror, never a pass
 * for example.com */
static void
test_domain_not_plain(void **st)
{
	char *m = sign(base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "example.com", DKIM_SIGN_RSASHA256);
	char *bad = dkim_test_replace(m, "d=example.com",
				      "d=example.com(.attacker.example");

	assert_non_null(bad);
	one_result(*st, bad, RES_PERMERROR, "d= is not a domain name");
	free(bad);
	free(m);
}

/* test_body_no_final_crlf - a body whose last line has no CRLF gets one
 * before canonicalisation (RFC 6376 3.4.3, 3.4.4); fed in any pieces */
static void
test_body_no_final_crlf(void **st)
{
	struct state *s = *st;
	size_t len = strlen(base_msg);
	char *text = malloc(len + 1), *m;

	assert_non_null(text);
	memcpy(text, base_msg, len - 2); /* without the last CRLF */
	text[len - 2] = '\0';
	m = sign(text, dkim_test_key_rsa2048, "rsa2048", "example.com",
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
	struct state *s = *st;
	char *m = sign(base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "example.com", DKIM_SIGN_RSASHA256);
	unsigned long h0, p0, h1, p1;

	one_result(s, m, RES_PASS, NULL);
	dkim_verifier_keystats(s->ver, &h0, &p0);
	for (int i = 0; i < 5; i++)
		one_result(s, m, RES_PASS, NULL);
	dkim_verifier_keystats(s->ver, &h1, &p1);
	assert_int_equal(p1, p0);     /* nothing decoded again */
	assert_int_equal(h1, h0 + 5); /* five answers from the cache */
	free(m);
}

/* test_body_altered - a changed body breaks the body hash (RFC 6376 3.7) */
static void
test_body_altered(void **st)
{
	char *m = sign(base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "example.com", DKIM_SIGN_RSASHA256);
	char *bad = dkim_test_replace(m, "is signed.", "is forged.");

	assert_non_null(bad);
	one_result(*st, bad, RES_FAIL, "body hash mismatch");
	free(bad);
	free(m);
}

/* test_header_altered - a changed signed header breaks the signature */
static void
test_header_altered(void **st)
{
	char *m = sign(base_msg, dkim_test_key_ed25519, "ed", "example.com",
		       DKIM_SIGN_ED25519SHA256);
	char *bad =
	    dkim_test_replace(m, "Subject: DKIM test", "Subject: DKIM best");

	assert_non_null(bad);
	one_result(*st, bad, RES_FAIL, "signature did not verify");
	free(bad);
	free(m);
}

/* test_duplicate_tag - a tag named twice: the tag-list is invalid (RFC
 * 6376 3.2), permerror, not the last value winning */
static void
test_duplicate_tag(void **st)
{
	char *m = sign(base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "example.com", DKIM_SIGN_RSASHA256);
	char *bad = dkim_test_replace(m, "d=example.com",
				      "d=evil.example; d=example.com");

	assert_non_null(bad);
	one_result(*st, bad, RES_PERMERROR, "tag d= named twice");
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
		one_result(*st, bad, RES_PERMERROR, "invalid tag-list");
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
		struct dkim_outcome *o = verify(*st, bad, &n);

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
	char *m = sign(base_msg, dkim_test_key_rsa2048, "huge", "example.com",
		       DKIM_SIGN_RSASHA256);
	size_t n = 0;
	struct dkim_outcome *o;

	assert_non_null(m);
	o = verify(*st, m, &n);
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
	char *m = sign(base_msg, dkim_test_key_rsa2048, "nokey", "example.com",
		       DKIM_SIGN_RSASHA256);

	one_result(*st, m, RES_PERMERROR, "no key");
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
	m = sign(base_msg, dkim_test_key_rsa2048, sel, "example.com",
		 DKIM_SIGN_RSASHA256);
	one_result(*st, m, RES_PERMERROR, "no key");
	free(m);
}

/* test_revoked_key - empty p= is a failed check (RFC 6376 6.1.2) */
static void
test_revoked_key(void **st)
{
	char *m = sign(base_msg, dkim_test_key_rsa2048, "revoked",
		       "example.com", DKIM_SIGN_RSASHA256);

	one_result(*st, m, RES_FAIL, "key revoked");
	free(m);
}

/* test_bad_key - p= that is no public key: permerror */
static void
test_bad_key(void **st)
{
	char *m = sign(base_msg, dkim_test_key_rsa2048, "badkey", "example.com",
		       DKIM_SIGN_RSASHA256);

	one_result(*st, m, RES_PERMERROR, NULL);
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
	char *m = dkim_test_sign(base_msg, &opt);

	assert_non_null(m);
	assert_non_null(strstr(m, "x="));
	one_result(*st, m, RES_POLICY, "expired");
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
	char *m = dkim_test_sign(base_msg, &opt);

	assert_non_null(m);
	one_result(*st, m, RES_POLICY, "future");
	free(m);
}

/* test_rsa_sha1 - RFC 8301: rsa-sha1 never passes, even when valid */
static void
test_rsa_sha1(void **st)
{
	char *m = sign(base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "example.com", DKIM_SIGN_RSASHA1);
	size_t n = 0;
	struct dkim_outcome *o = verify(*st, m, &n);

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
	char *m = sign(base_msg, dkim_test_key_rsa512, "rsa512", "example.com",
		       DKIM_SIGN_RSASHA256);
	size_t n = 0;
	struct dkim_outcome *o = verify(*st, m, &n);

	assert_int_equal(n, 1);
	assert_int_equal(o[0].result, RES_POLICY);
	assert_non_null(strstr(o[0].reason, "512"));
	assert_non_null(strstr(o[0].reason, "1024"));
	free(o);
	free(m);
}

/* test_dns_timeout - a key server that never answers: temperror, fast */
static void
test_dns_timeout(void **st)
{
	struct state *s = *st;
	char *m = sign(base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "timeout.example.net", DKIM_SIGN_RSASHA256);
	time_t t0 = time(NULL);

	dns_resolver_set_timeout(s->dns.res, 300);
	one_result(s, m, RES_TEMPERROR, "key lookup timed out");
	dns_resolver_set_timeout(s->dns.res, 5000);
	assert_true(time(NULL) - t0 < 4);
	free(m);
}

/* test_dns_servfail - SERVFAIL: temperror, not a permanent "no key" */
static void
test_dns_servfail(void **st)
{
	char *m = sign(base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "servfail.example.net", DKIM_SIGN_RSASHA256);

	one_result(*st, m, RES_TEMPERROR, "SERVFAIL");
	free(m);
}

/* test_dns_refused - a REFUSED answer: temperror, not "no key" */
static void
test_dns_refused(void **st)
{
	char *m = sign(base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "refused.example.net", DKIM_SIGN_RSASHA256);

	one_result(*st, m, RES_TEMPERROR, "REFUSED");
	free(m);
}

/* test_testing_key - t=y: the result stands, the reason says so */
static void
test_testing_key(void **st)
{
	char *m = sign(base_msg, dkim_test_key_rsa2048, "testing",
		       "example.com", DKIM_SIGN_RSASHA256);

	one_result(*st, m, RES_PASS, "testing key");
	free(m);
}

/* test_body_length - l= shorter than the body: pass, reason notes it */
static void
test_body_length(void **st)
{
	const char *body = strstr(base_msg, "\r\n\r\n") + 4;
	struct dkim_test_signopts opt = {
	    .key_pem = dkim_test_key_rsa2048,
	    .selector = "rsa2048",
	    .domain = "example.com",
	    .alg = DKIM_SIGN_RSASHA256,
	    .length = (ssize_t)strlen(body),
	};
	char *m = dkim_test_sign(base_msg, &opt);
	char *longer;

	assert_non_null(m);
	longer = malloc(strlen(m) + 64);
	assert_non_null(longer);
	sprintf(longer, "%sAppended by someone else.\r\n", m);
	one_result(*st, m, RES_PASS, NULL);
	one_result(*st, longer, RES_PASS, "unsigned");
	free(longer);
	free(m);
}

/* corrupt_top_b - damage the b= value of the first (top) signature */
static void
corrupt_top_b(char *m)
{
	char b[9];
	char *p;

	b_tag(m, b);
	p = strstr(m, b);
	assert_non_null(p);
	p[3] = p[3] == 'A' ? 'B' : 'A';
}

/* two_sig_msg - rsa2048 signature, then an ed25519 one whose b= is bad */
static char *
two_sig_msg(void)
{
	char *one = sign(base_msg, dkim_test_key_rsa2048, "rsa2048",
			 "example.com", DKIM_SIGN_RSASHA256);
	char *two = sign(one, dkim_test_key_ed25519, "ed", "example.com",
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
	struct dkim_outcome *o = verify(*st, m, &n);

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
	struct state *s = *st;
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
	struct state *s = *st;
	size_t len = strlen(base_msg), n = 0;
	char *big = malloc(len + 300000), *m, *lf;
	struct dkim_outcome *o = NULL;

	assert_non_null(big);
	memcpy(big, base_msg, len);
	for (int i = 0; len < 250000; i++)
		len +=
		    (size_t)sprintf(big + len, "line %d of a long body\r\n", i);
	big[len] = '\0';
	m = sign(big, dkim_test_key_rsa2048, "rsa2048", "example.com",
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

/* test_max_signatures - only DKIMMaxSignatures signatures are reported */
static void
test_max_signatures(void **st)
{
	struct state *s = *st;
	char *one = sign(base_msg, dkim_test_key_rsa2048, "rsa2048",
			 "example.com", DKIM_SIGN_RSASHA256);
	char *two = sign(one, dkim_test_key_ed25519, "ed", "example.com",
			 DKIM_SIGN_ED25519SHA256);
	char *three = sign(two, dkim_test_key_rsa2048, "nokey", "example.com",
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
	o = verify(s, three, &n);
	assert_int_equal(n, 3);
	assert_int_equal(o[2].result, RES_PASS);
	free(o);
	dkim_verifier_free(ver);
	free(one);
	free(two);
	free(three);
}

struct thread_arg {
	struct state *s;
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
	struct dkim_outcome *o = verify(*st, base_msg, &n);

	assert_null(o);
	assert_int_equal(n, 0);
}

/* test_syntax_error - a signature without d=: permerror, not dropped */
static void
test_syntax_error(void **st)
{
	char *m = sign(base_msg, dkim_test_key_rsa2048, "rsa2048",
		       "example.com", DKIM_SIGN_RSASHA256);
	char *bad = dkim_test_replace(m, "d=example.com", "x=example.com");

	assert_non_null(bad);
	one_result(*st, bad, RES_PERMERROR, NULL);
	free(bad);
	free(m);
}

/* test_hostile_input - huge, binary and numerous headers: defined results */
static void
test_hostile_input(void **st)
{
	struct state *s = *st;
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
	struct state *s = *st;
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
	    cmocka_unit_test(test_good_rsa),
	    cmocka_unit_test(test_good_ed25519),
	    cmocka_unit_test(test_pkcs1_key),
	    cmocka_unit_test(test_key_cache),
	    cmocka_unit_test(test_domain_not_plain),
	    cmocka_unit_test(test_body_no_final_crlf),
	    cmocka_unit_test(test_body_altered),
	    cmocka_unit_test(test_header_altered),
	    cmocka_unit_test(test_missing_key),
	    cmocka_unit_test(test_huge_key_record),
	    cmocka_unit_test(test_duplicate_tag),
	    cmocka_unit_test(test_unaskable_key),
	    cmocka_unit_test(test_revoked_key),
	    cmocka_unit_test(test_bad_key),
	    cmocka_unit_test(test_expired),
	    cmocka_unit_test(test_future),
	    cmocka_unit_test(test_rsa_sha1),
	    cmocka_unit_test(test_small_key),
	    cmocka_unit_test(test_dns_timeout),
	    cmocka_unit_test(test_dns_servfail),
	    cmocka_unit_test(test_dns_refused),
	    cmocka_unit_test(test_testing_key),
	    cmocka_unit_test(test_body_length),
	    cmocka_unit_test(test_two_signatures),
	    cmocka_unit_test(test_chunks),
	    cmocka_unit_test(test_big_body),
	    cmocka_unit_test(test_max_signatures),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_unsigned),
	    cmocka_unit_test(test_syntax_error),
	    cmocka_unit_test(test_hostile_input),
	    cmocka_unit_test(test_null_safe),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
