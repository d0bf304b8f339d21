/*
 * dkim_testcase.c - what test_dkim and test_dkim_hostile share: the
 * message they sign, hermetic DNS holding every key the cases use, a
 * verifier, and the sign/verify/expect helpers
 */
#include "build.h" /* first: feature macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/dkim.h"
#include "dkim_testcase.h"
#include "dkim_testkeys.h"
#include "dkim_testsign.h"

const char dkim_tc_base_msg[] = "From: Alice <alice@example.com>\r\n"
			       "To: Bob <bob@example.org>\r\n"
			       "Subject: DKIM test\r\n"
			       "Date: Sat, 21 Nov 2026 10:00:00 +0000\r\n"
			       "Message-ID: <test-1@example.com>\r\n"
			       "\r\n"
			       "Hello Bob,\r\n"
			       "\r\n"
			       "this message is signed.\r\n";



/* dkim_tc_setup - hermetic DNS with every key the cases use, and a verifier */
int
dkim_tc_setup(void **st)
{
	static const char *const zones[] = {"example.com", NULL};
	struct dkim_tc_state *s = calloc(1, sizeof(*s));
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

/* dkim_tc_teardown - free everything setup made */
int
dkim_tc_teardown(void **st)
{
	struct dkim_tc_state *s = *st;

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

/* dkim_tc_sign - sign text with a key/selector/domain/algorithm; must succeed */
char *
dkim_tc_sign(const char *text, const char *key, const char *sel, const char *dom,
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

/* dkim_tc_verify - run a whole CRLF message through the verifier */
struct dkim_outcome *
dkim_tc_verify(struct dkim_tc_state *s, const char *text, size_t *n)
{
	struct dkim_outcome *out = NULL;

	dkim_test_verify(s->ver, s->dns.res, text, strlen(text), 0, &out, n);
	return out;
}

/* dkim_tc_b_tag - the first 8 characters of the first field's b= (for checks) */
void
dkim_tc_b_tag(const char *signed_msg, char out[9])
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

/* dkim_tc_one_result - verify and expect exactly one signature with this result */
void
dkim_tc_one_result(struct dkim_tc_state *s, const char *text, enum ar_result want,
	   const char *reason_part)
{
	size_t n = 0;
	struct dkim_outcome *o = dkim_tc_verify(s, text, &n);

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
