/*
 * test_dmarc_table.c - the DMARC result and action table, several author
 * domains
 *
 * test_table runs every SPF result x DKIM result x alignment of each x
 * policy in both DMARCStandard modes and compares the DMARC result and
 * the action (dmarc_action, which the engine applies) with what the RFC
 * rules give, written out below independently of the code:
 *  - RFC 9989 "Determine DMARC Pass or Fail": an aligned SPF or DKIM pass
 *    is a pass; no aligned identifier is a fail;
 *  - RFC 9989 "Apply Policy If Appropriate": a DNS query that did not complete
 *    leaves neither pass nor fail: an SPF or DKIM temperror of an
 *    identifier that would be aligned makes the result temperror (an
 *    unaligned one could not have passed; a permerror is final);
 *  - the action: RejectFailures turns a fail into reject or quarantine
 *    by the policy; a temperror is never rejected, DMARCTempError
 *    tempfail gives a 4xx when the policy is more than none.
 * The table goes to the test log. test_authors covers several author
 * domains (RFC 7489 6.6.1, RFC 9989 11.5): the strictest failing policy
 * wins, the others are listed, the count is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "authres.h"
#include "config.h"
#include "auth/dmarc.h"
#include "dns/dns.h"
#include "testutil.h"

static const char dns_conf[] =
    "server:\n"
    "  local-zone: \"example.\" static\n"
    "  local-zone: \"tempfail.example.\" refuse\n"
    /* a refuse zone answers its own local-data: the record at the
     * author domain is found, the walk above it fails */
    "  local-zone: \"broken.\" refuse\n"
    "  local-data: '_dmarc.bank.broken. TXT \"v=DMARC1; p=reject\"'\n"
    "  local-data: '_dmarc.none.example. TXT \"v=DMARC1; p=none\"'\n"
    "  local-data: '_dmarc.quarantine.example. TXT \"v=DMARC1; "
    "p=quarantine\"'\n"
    "  local-data: '_dmarc.reject.example. TXT \"v=DMARC1; p=reject\"'\n"
    "  local-data: '_dmarc.bank.example. TXT \"v=DMARC1; p=reject\"'\n"
    "  local-data: '_dmarc.evil.example. TXT \"v=DMARC1; p=reject\"'\n"
    "  local-data: '_dmarc.d1.example. TXT \"v=DMARC1; p=none\"'\n"
    "  local-data: '_dmarc.d2.example. TXT \"v=DMARC1; p=none\"'\n"
    "  local-data: '_dmarc.d3.example. TXT \"v=DMARC1; p=none\"'\n"
    "  local-data: '_dmarc.d4.example. TXT \"v=DMARC1; p=none\"'\n"
    "  local-data: '_dmarc.d5.example. TXT \"v=DMARC1; p=none\"'\n"
    "  local-data: '_dmarc.d6.example. TXT \"v=DMARC1; p=none\"'\n"
    "  local-data: '_dmarc.d7.example. TXT \"v=DMARC1; p=none\"'\n"
    "  local-data: '_dmarc.d8.example. TXT \"v=DMARC1; p=none\"'\n";

static const char psl_test[] = "example\n";

struct fixture {
	char *conf_path, *psl_path;
	struct config *cfg;
	struct dns_resolver *res;
	struct dmarc_ctx *ctx[2]; /* RFC 9989, RFC 7489 */
};

static const char *const mode_name[2] = {"rfc9989", "rfc7489"};

/* setup - a resolver on the local data, a context per mode */
static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	if (f == NULL)
		return -1;
	*state = f;
	f->conf_path = testutil_write_temp(dns_conf);
	f->psl_path = testutil_write_temp(psl_test);
	if (f->conf_path == NULL || f->psl_path == NULL ||
	    (f->cfg = testutil_hermetic_config(f->conf_path)) == NULL)
		return -1;
	f->cfg->resolver_timeout = 2;
	if ((f->res = dns_resolver_new(f->cfg, err, sizeof(err))) == NULL)
		return -1;
	f->cfg->dmarc_standard = DMARC_RFC9989;
	f->ctx[0] = dmarc_ctx_new(f->cfg, err, sizeof(err));
	f->cfg->dmarc_standard = DMARC_RFC7489;
	free(f->cfg->public_suffix_list);
	f->cfg->public_suffix_list = strdup(f->psl_path);
	f->ctx[1] = dmarc_ctx_new(f->cfg, err, sizeof(err));
	return f->ctx[0] != NULL && f->ctx[1] != NULL ? 0 : -1;
}

/* teardown - free the fixture */
static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f == NULL)
		return 0;
	dmarc_ctx_free(f->ctx[0]);
	dmarc_ctx_free(f->ctx[1]);
	dns_resolver_free(f->res);
	config_free(f->cfg);
	unlink(f->conf_path);
	unlink(f->psl_path);
	free(f->conf_path);
	free(f->psl_path);
	free(f);
	return 0;
}

static const enum ar_result results[] = {
    RES_PASS, RES_FAIL,      RES_SOFTFAIL,  RES_NEUTRAL,
    RES_NONE, RES_TEMPERROR, RES_PERMERROR,
};
#define NRES (sizeof(results) / sizeof(results[0]))

static const char *const policies[] = {"none", "quarantine", "reject"};

/* expect_result - the DMARC result by the RFC rules in the top comment */
static enum ar_result
expect_result(enum ar_result spf, bool spf_al, enum ar_result dkim,
	      bool dkim_al)
{
	if ((spf == RES_PASS && spf_al) || (dkim == RES_PASS && dkim_al))
		return RES_PASS;
	if ((spf == RES_TEMPERROR && spf_al) ||
	    (dkim == RES_TEMPERROR && dkim_al))
		return RES_TEMPERROR;
	return RES_FAIL;
}

/* expect_action - the action for a result and policy under
 * RejectFailures yes and the given DMARCTempError */
static enum dmarc_action
expect_action(enum ar_result r, const char *policy, bool tempfail)
{
	if (r == RES_FAIL)
		return strcmp(policy, "reject") == 0 ? DMARC_ACT_REJECT
		       : strcmp(policy, "quarantine") == 0
			   ? DMARC_ACT_QUARANTINE
			   : DMARC_ACT_ACCEPT;
	if (r == RES_TEMPERROR && tempfail && strcmp(policy, "none") != 0)
		return DMARC_ACT_TEMPFAIL;
	return DMARC_ACT_ACCEPT;
}

/* evaluate - one message: From at from_dom, the given SPF and DKIM
 * results for identifiers in id_spf / id_dkim */
static void
evaluate(const struct fixture *f, const struct dmarc_ctx *ctx, const char *from,
	 enum ar_result spf_res, const char *id_spf, enum ar_result dkim_res,
	 const char *id_dkim, struct dmarc_outcome *out)
{
	struct dns_cache *dns = dns_cache_new(f->res);
	const char *vals[1] = {from};
	struct spf_outcome spf = {0};
	struct dkim_outcome sig;
	size_t nsigs = 0;

	assert_non_null(dns);
	memset(&sig, 0, sizeof(sig));
	spf.checked = true;
	spf.result = spf_res;
	snprintf(spf.domain, sizeof(spf.domain), "%s", id_spf);
	if (dkim_res != RES_NONE) { /* dkim=none: no signature at all */
		sig.result = dkim_res;
		snprintf(sig.domain, sizeof(sig.domain), "%s", id_dkim);
		nsigs = 1;
	}
	dmarc_evaluate(ctx, dns, vals, 1, &spf, &sig, nsigs, out);
	dns_cache_free(dns);
}

/* act_char - one letter per action for the printed table */
static char
act_char(enum dmarc_action a)
{
	return a == DMARC_ACT_REJECT       ? 'R'
	       : a == DMARC_ACT_QUARANTINE ? 'Q'
	       : a == DMARC_ACT_TEMPFAIL   ? 'T'
					   : '-';
}

/* test_table - the whole table in both modes, printed once */
static void
test_table(void **state)
{
	const struct fixture *f = *state;
	struct config cfg_accept, cfg_tempfail;
	unsigned rows = 0, bad = 0;

	memset(&cfg_accept, 0, sizeof(cfg_accept));
	cfg_accept.reject_failures = true;
	cfg_tempfail = cfg_accept;
	cfg_tempfail.dmarc_temperror = DMARC_TEMPERROR_TEMPFAIL;
	printf("DMARC table: cell = result, action with DMARCTempError accept, "
	       "action with tempfail\n(RejectFailures yes; R reject, Q "
	       "quarantine, T 451 tempfail, - accept); rows SPF, columns "
	       "DKIM;\nthe same in both DMARCStandard modes (checked)\n");
	for (unsigned al = 0; al < 4; al++)
		for (size_t p = 0; p < 3; p++) {
			bool spf_al = (al & 1) == 0, dkim_al = (al & 2) == 0;
			char from[64];

			snprintf(from, sizeof(from), "u@%s.example",
				 policies[p]);
			printf("\np=%s, SPF %saligned, DKIM %saligned\n"
			       "%-10s",
			       policies[p], spf_al ? "" : "not ",
			       dkim_al ? "" : "not ", "spf\\dkim");
			for (size_t d = 0; d < NRES; d++)
				printf(" %-9s", result_name(results[d]));
			printf("\n");
			for (size_t s = 0; s < NRES; s++) {
				printf("%-10s", result_name(results[s]));
				for (size_t d = 0; d < NRES; d++) {
					enum ar_result want =
					    expect_result(results[s], spf_al,
							  results[d], dkim_al);
					enum dmarc_action wa = expect_action(
					    want, policies[p], false);
					enum dmarc_action wt = expect_action(
					    want, policies[p], true);
					struct dmarc_outcome o;

					for (int m = 0; m < 2; m++) {
						char dom[64];
						enum dmarc_action ga, gt;

						snprintf(dom, sizeof(dom),
							 "%s.example",
							 policies[p]);
						evaluate(
						    f, f->ctx[m], from,
						    results[s],
						    spf_al ? dom
							   : "other.example",
						    results[d],
						    dkim_al ? dom
							    : "other.example",
						    &o);
						ga = dmarc_action(&cfg_accept,
								  &o);
						gt = dmarc_action(&cfg_tempfail,
								  &o);
						rows++;
						if (o.result == want &&
						    ga == wa && gt == wt)
							continue;
						bad++;
						printf("\nMISMATCH [%s]: "
						       "got %s %c%c want %s "
						       "%c%c (%s)\n",
						       mode_name[m],
						       result_name(o.result),
						       act_char(ga),
						       act_char(gt),
						       result_name(want),
						       act_char(wa),
						       act_char(wt), o.reason);
					}
					printf(" %-5s %c %c",
					       want == RES_TEMPERROR
						   ? "temp"
						   : result_name(want),
					       act_char(wa), act_char(wt));
				}
				printf("\n");
			}
		}
	printf("\nDMARC table: %u rows (7 SPF x 7 DKIM x 4 alignments x 3 "
	       "policies x 2 modes), %u mismatches\n",
	       rows, bad);
	assert_int_equal(bad, 0);
}

/* test_issue_case - the reported case: a legitimate p=reject sender
 * whose SPF include and DKIM key lookups time out is not rejected */
static void
test_issue_case(void **state)
{
	const struct fixture *f = *state;
	struct config cfg;
	struct dmarc_outcome o;

	memset(&cfg, 0, sizeof(cfg));
	cfg.reject_failures = true;
	for (int m = 0; m < 2; m++) {
		evaluate(f, f->ctx[m], "u@reject.example", RES_TEMPERROR,
			 "reject.example", RES_TEMPERROR, "reject.example", &o);
		assert_int_equal(o.result, RES_TEMPERROR);
		assert_string_equal(o.disposition, "");
		assert_string_equal(o.dis_at_stake, "reject");
		cfg.dmarc_temperror = DMARC_TEMPERROR_ACCEPT;
		assert_int_equal(dmarc_action(&cfg, &o), DMARC_ACT_ACCEPT);
		cfg.dmarc_temperror = DMARC_TEMPERROR_TEMPFAIL;
		assert_int_equal(dmarc_action(&cfg, &o), DMARC_ACT_TEMPFAIL);
		/* the policy lookup itself failing: tempfail too */
		evaluate(f, f->ctx[m], "u@tempfail.example", RES_FAIL,
			 "tempfail.example", RES_NONE, "", &o);
		assert_int_equal(o.result, RES_TEMPERROR);
		assert_int_equal(dmarc_action(&cfg, &o), DMARC_ACT_TEMPFAIL);
		cfg.dmarc_temperror = DMARC_TEMPERROR_ACCEPT;
		assert_int_equal(dmarc_action(&cfg, &o), DMARC_ACT_ACCEPT);
		if (m == 1)
			continue; /* the tree walk is RFC 9989's */
		/* DNS trouble above the author domain: an identifier in
		 * another top-level domain still cannot align (fail), one
		 * below it might (temperror) */
		evaluate(f, f->ctx[m], "u@bank.broken", RES_PASS,
			 "evil.example", RES_NONE, "", &o);
		assert_int_equal(o.result, RES_FAIL);
		assert_string_equal(o.disposition, "reject");
		evaluate(f, f->ctx[m], "u@bank.broken", RES_PASS,
			 "mail.bank.broken", RES_NONE, "", &o);
		assert_int_equal(o.result, RES_TEMPERROR);
	}
}

/* authors - evaluate From values with a DKIM pass for each of passing */
static void
authors(const struct fixture *f, int m, const char *const *from, size_t n,
	const char *const *passing, size_t npass, struct dmarc_outcome *o)
{
	struct dns_cache *dns = dns_cache_new(f->res);
	struct dkim_outcome sigs[RES_AUTHORS_MAX + 2];
	struct spf_outcome spf = {0};

	assert_non_null(dns);
	assert_true(npass <= RES_AUTHORS_MAX + 2);
	memset(sigs, 0, sizeof(sigs));
	for (size_t i = 0; i < npass; i++) {
		sigs[i].result = RES_PASS;
		snprintf(sigs[i].domain, sizeof(sigs[i].domain), "%s",
			 passing[i]);
	}
	dmarc_evaluate(f->ctx[m], dns, from, n, &spf, sigs, npass, o);
	dns_cache_free(dns);
}

/* header - our A-R header for a DMARC outcome alone */
static char *
header(const struct dmarc_outcome *o)
{
	struct auth_results r;
	char *h;

	memset(&r, 0, sizeof(r));
	r.dmarc = *o;
	h = ar_format("mx.example.org", &r);
	assert_non_null(h);
	/* unfold, as procmail and SpamAssassin see it */
	for (char *src = h, *dst = h;; src++) {
		if (src[0] == '\n' && (src[1] == '\t' || src[1] == ' ')) {
			*dst++ = ' ';
			src++;
			continue;
		}
		if ((*dst++ = *src) == '\0')
			break;
	}
	return h;
}

/* count - occurrences of needle in hay */
static unsigned
count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* nine - "u@FIRST, u@d2.example, ..., u@evil.example": nine domains */
static void
nine(char *list, size_t size, const char *first)
{
	snprintf(list, size,
		 "u@%s, u@d2.example, u@d3.example, u@d4.example, "
		 "u@d5.example, u@d6.example, u@d7.example, u@d8.example, "
		 "u@evil.example",
		 first);
}

/* test_authors - several author domains, in both modes */
static void
test_authors(void **state)
{
	const struct fixture *f = *state;
	static const char *const evil[] = {"evil.example"};
	static const char *const all9[] = {
	    "d1.example", "d2.example", "d3.example",
	    "d4.example", "d5.example", "d6.example",
	    "d7.example", "d8.example", "evil.example"};
	struct config cfg;
	struct dmarc_outcome o;
	char *h;

	memset(&cfg, 0, sizeof(cfg));
	cfg.reject_failures = true;
	for (int m = 0; m < 2; m++) {
		/* the forgery: bank.example (p=reject) beside the
		 * attacker's own passing domain, either order, one field
		 * or two: fail dis=reject, the bank's, and rejected */
		static const char *const one[] = {
		    "ceo@bank.example, x@evil.example"};
		static const char *const rev[] = {
		    "x@evil.example, ceo@bank.example"};
		static const char *const two[] = {"ceo@bank.example",
						  "x@evil.example"};
		const char *const *forms[] = {one, rev, two};

		for (int k = 0; k < 3; k++) {
			authors(f, m, forms[k], k == 2 ? 2 : 1, evil, 1, &o);
			assert_int_equal(o.result, RES_FAIL);
			assert_string_equal(o.from_domain, "bank.example");
			assert_string_equal(o.disposition, "reject");
			assert_int_equal(o.nauthors, 2);
			assert_int_equal(o.nothers, 1);
			assert_string_equal(o.others[0].domain, "evil.example");
			assert_int_equal(o.others[0].result, RES_PASS);
			assert_int_equal(dmarc_action(&cfg, &o),
					 DMARC_ACT_REJECT);
			h = header(&o);
			if (m == 0 && k == 0)
				printf("two author domains: %s\n", h);
			/* one dmarc= only: SpamAssassin's AuthRes lets a
			 * pass win over a fail among several */
			assert_int_equal(count(h, "dmarc="), 1);
			assert_non_null(strstr(h, "dmarc=fail ("));
			assert_non_null(strstr(h, "dis=reject"));
			assert_non_null(strstr(
			    h, "other author domains: evil.example pass)"));
			assert_non_null(strstr(h, "header.from=bank.example"));
			free(h);
		}

		/* every author domain passes, one field: pass */
		authors(f, m,
			(const char *const[]){"a@d1.example, b@d2.example"}, 1,
			all9, 2, &o);
		assert_int_equal(o.result, RES_PASS);
		assert_string_equal(o.from_domain, "d1.example");
		assert_int_equal(o.nothers, 1);

		/* two From fields that pass: still a permerror (RFC 5322
		 * allows one), both listed */
		authors(f, m,
			(const char *const[]){"a@d1.example", "b@d2.example"},
			2, all9, 2, &o);
		assert_int_equal(o.result, RES_PERMERROR);
		assert_string_equal(o.from_domain, "");
		assert_int_equal(o.nothers, 2);

		/* a ninth author domain is not evaluated: eight passing
		 * ones and the ninth give permerror ("incomplete"), never
		 * a pass */
		{
			char list[512];

			nine(list, sizeof(list), all9[0]);
			authors(f, m, (const char *const[]){list}, 1, all9, 8,
				&o);
			assert_int_equal(o.result, RES_PERMERROR);
			assert_int_equal(o.nauthors, RES_AUTHORS_MAX + 1);
			assert_int_equal(o.nothers, RES_AUTHORS_MAX);
			assert_non_null(strstr(o.reason, "more than 8"));
			h = header(&o);
			if (m == 0)
				printf("nine author domains: %s\n", h);
			assert_non_null(
			    strstr(h, "d8.example pass, more not checked)"));
			free(h);
			/* a failing bank.example among the first eight
			 * still fails */
			nine(list, sizeof(list), "bank.example");
			authors(f, m, (const char *const[]){list}, 1, all9, 8,
				&o);
			assert_int_equal(o.result, RES_FAIL);
			assert_string_equal(o.from_domain, "bank.example");
		}

		/* an unusable mailbox beside a failing domain: the fail */
		authors(
		    f, m,
		    (const char *const[]){"ceo@bank.example, x@[192.0.2.1]"}, 1,
		    evil, 0, &o);
		assert_int_equal(o.result, RES_FAIL);
		assert_string_equal(o.disposition, "reject");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_issue_case),
	    cmocka_unit_test(test_authors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
