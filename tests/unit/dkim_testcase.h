/*
 * dkim_testcase.h - the fixture test_dkim and test_dkim_hostile share
 * (see dkim_testcase.c)
 */
#ifndef AUTHTAG_TESTS_DKIM_TESTCASE_H
#define AUTHTAG_TESTS_DKIM_TESTCASE_H

#include <stddef.h>

#include "dkim_testlib.h"
#include "result.h"

struct dkim_outcome;

/* the message the cases sign (CRLF) */
extern const char dkim_tc_base_msg[];

struct dkim_tc_state {
	struct dkim_test_dns dns;
	struct dkim_verifier *ver;
	char *rec_rsa2048, *rec_rsa512, *rec_ed25519, *rec_testing, *rec_huge;
	char *rec_pkcs1;
};

/* dkim_tc_setup, dkim_tc_teardown - cmocka group fixture: hermetic DNS
 * with every key the cases use, and a verifier */
int dkim_tc_setup(void **st);
int dkim_tc_teardown(void **st);

/* dkim_tc_sign - sign text (key PEM, selector, domain, DKIM_TEST_ALG_*);
 * asserts success */
char *dkim_tc_sign(const char *text, const char *key, const char *sel,
		   const char *dom, int alg);

/* dkim_tc_verify - a whole CRLF message through the verifier */
struct dkim_outcome *dkim_tc_verify(struct dkim_tc_state *s, const char *text,
				    size_t *n);

/* dkim_tc_b_tag - the first 8 characters of the first field's b= */
void dkim_tc_b_tag(const char *signed_msg, char out[9]);

/* dkim_tc_one_result - verify; exactly one signature with this result
 * and, unless NULL, this text in its reason */
void dkim_tc_one_result(struct dkim_tc_state *s, const char *text,
			enum ar_result want, const char *reason_part);

#endif
