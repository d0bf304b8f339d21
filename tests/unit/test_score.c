/*
 * test_score.c - the scoring stage: the scorer table, configuration
 * errors, the X-Spam-* header values in SpamAssassin 4.0.1's format
 * (X-Spam-Status folded as its Util::wrap folds, the score shown as its
 * _SCORE_ tag shows it, one '*' per point), X-Spam-Report, which
 * incoming headers are removed, recipients and path templates
 */
#include "build.h" /* first: feature macros */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "score/score.h"
#include "score/userprefs.h"

/* hit - a hit for a hand-made outcome */
static struct score_hit
hit(const char *name, double score, const char *desc, const char *area)
{
	struct score_hit h = {.name = strdup(name),
			      .score = score,
			      .description = desc ? strdup(desc) : NULL,
			      .area = area};

	return h;
}

/* outcome - a hand-made outcome with n hits */
static void
outcome(struct score_outcome *out, double score, double required,
	struct score_hit *hits, size_t n)
{
	memset(out, 0, sizeof(*out));
	out->score = score;
	out->required = required;
	out->is_spam = score >= required;
	out->hits = calloc(n + 1, sizeof(*hits));
	if (n > 0)
		memcpy(out->hits, hits, n * sizeof(*hits));
	out->nhits = n;
}

/* header - the value of name among hdrs, or NULL */
static const char *
header(struct score_header *hdrs, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(hdrs[i].name, name) == 0)
			return hdrs[i].value;
	return NULL;
}

static void
test_lookup(void **state)
{
	(void)state;
	assert_ptr_equal(scorer_lookup("rules"), &score_rules_backend);
	assert_ptr_equal(scorer_lookup("SPAMD"), &score_spamd_backend);
	assert_null(scorer_lookup("rspamd"));
	assert_null(scorer_lookup(""));
}

static void
test_stage_errors(void **state)
{
	struct config *cfg = config_new_defaults();
	char err[512];

	(void)state;
	free(cfg->scorers[0]);
	cfg->scorers[0] = strdup("nope");
	assert_null(score_stage_new(cfg, err, sizeof(err)));
	assert_string_equal(err, "Scorers: unknown scorer 'nope'");
	free(cfg->scorers[0]);
	cfg->scorers[0] = strdup("rules");
	free(cfg->rules_dir);
	cfg->rules_dir = strdup("/nonexistent/rules");
	assert_null(score_stage_new(cfg, err, sizeof(err)));
	assert_string_equal(err,
			    "RulesDir /nonexistent/rules: No such file or directory");
	config_free(cfg);
}

static void
test_headers_spam(void **state)
{
	struct score_hit h[] = {hit("AUTHTAG_DMARC_REJECT", 6.0, "d", ""),
				hit("AUTHTAG_NO_AUTH", 1.0, "n", ""),
				hit("AUTHTAG_SPF_FAIL", 0.3, "s", "")};
	struct score_header hdrs[SCORE_HEADERS_MAX];
	struct score_outcome out;
	int n;

	(void)state;
	outcome(&out, 7.3, 5.0, h, 3);
	n = score_headers(NULL, &out, hdrs);
	assert_int_equal(n, 4);
	assert_string_equal(hdrs[0].name, "X-Spam-Flag");
	assert_string_equal(hdrs[0].value, "YES");
	/* as SpamAssassin folds it: after a comma, under 79 columns */
	assert_string_equal(header(hdrs, n, "X-Spam-Status"),
			    "Yes, score=7.3 required=5.0 "
			    "tests=AUTHTAG_DMARC_REJECT,\n"
			    "\tAUTHTAG_NO_AUTH,AUTHTAG_SPF_FAIL autolearn=no");
	assert_string_equal(header(hdrs, n, "X-Spam-Score"), "7.3");
	assert_string_equal(header(hdrs, n, "X-Spam-Level"), "*******");
	assert_null(header(hdrs, n, "X-Spam-Report"));
	score_headers_free(hdrs, (size_t)n);
	score_outcome_free(&out);
}

static void
test_headers_ham(void **state)
{
	struct score_header hdrs[SCORE_HEADERS_MAX];
	struct score_hit h[] = {hit("USER_IN_WELCOMELIST", -100, "w", "")};
	struct score_outcome out;
	int n;

	(void)state;
	/* no tests: "none"; no X-Spam-Flag; an empty level */
	outcome(&out, 0, 5.0, NULL, 0);
	n = score_headers(NULL, &out, hdrs);
	assert_int_equal(n, 3);
	assert_null(header(hdrs, n, "X-Spam-Flag"));
	assert_string_equal(
	    header(hdrs, n, "X-Spam-Status"),
	    "No, score=0.0 required=5.0 tests=none autolearn=no");
	assert_string_equal(header(hdrs, n, "X-Spam-Level"), "");
	score_headers_free(hdrs, (size_t)n);
	score_outcome_free(&out);
	/* 4.96 is not spam at 5.0: SpamAssassin shows 4.9, not 5.0 */
	outcome(&out, 4.96, 5.0, NULL, 0);
	n = score_headers(NULL, &out, hdrs);
	assert_string_equal(header(hdrs, n, "X-Spam-Score"), "4.9");
	assert_string_equal(header(hdrs, n, "X-Spam-Level"), "****");
	score_headers_free(hdrs, (size_t)n);
	score_outcome_free(&out);
	/* welcome-listed: negative, no stars */
	outcome(&out, -92.7, 9.0, h, 1);
	n = score_headers(NULL, &out, hdrs);
	assert_string_equal(header(hdrs, n, "X-Spam-Status"),
			    "No, score=-92.7 required=9.0 "
			    "tests=USER_IN_WELCOMELIST\n\tautolearn=no");
	assert_string_equal(header(hdrs, n, "X-Spam-Level"), "");
	score_headers_free(hdrs, (size_t)n);
	score_outcome_free(&out);
	/* a huge score: 50 stars at most; exactly required is spam */
	outcome(&out, 120, 120, NULL, 0);
	n = score_headers(NULL, &out, hdrs);
	assert_string_equal(header(hdrs, n, "X-Spam-Flag"), "YES");
	assert_int_equal(strlen(header(hdrs, n, "X-Spam-Level")), 50);
	score_headers_free(hdrs, (size_t)n);
	score_outcome_free(&out);
}

static void
test_status_folding(void **state)
{
	/* SpamAssassin 4.0.1's own output for these 26 rule names, with
	 * add_header all Status "_YESNO_, score=_SCORE_ required=_REQD_
	 * tests=_TESTS_ autolearn=no" (our trailer) */
	static const char *want =
	    "No, score=-12.5 required=5.0 tests=AUTHTAG_LONG_RULE_NAME_1,\n"
	    "\tAUTHTAG_LONG_RULE_NAME_10,AUTHTAG_LONG_RULE_NAME_11,\n"
	    "\tAUTHTAG_LONG_RULE_NAME_12,AUTHTAG_LONG_RULE_NAME_13,\n"
	    "\tAUTHTAG_LONG_RULE_NAME_14,AUTHTAG_LONG_RULE_NAME_15,\n"
	    "\tAUTHTAG_LONG_RULE_NAME_16,AUTHTAG_LONG_RULE_NAME_17,\n"
	    "\tAUTHTAG_LONG_RULE_NAME_18,AUTHTAG_LONG_RULE_NAME_19,\n"
	    "\tAUTHTAG_LONG_RULE_NAME_2,AUTHTAG_LONG_RULE_NAME_20,\n"
	    "\tAUTHTAG_LONG_RULE_NAME_21,AUTHTAG_LONG_RULE_NAME_22,\n"
	    "\tAUTHTAG_LONG_RULE_NAME_23,AUTHTAG_LONG_RULE_NAME_24,\n"
	    "\tAUTHTAG_LONG_RULE_NAME_25,AUTHTAG_LONG_RULE_NAME_3,\n"
	    "\tAUTHTAG_LONG_RULE_NAME_4,AUTHTAG_LONG_RULE_NAME_5,\n"
	    "\tAUTHTAG_LONG_RULE_NAME_6,AUTHTAG_LONG_RULE_NAME_7,\n"
	    "\tAUTHTAG_LONG_RULE_NAME_8,AUTHTAG_LONG_RULE_NAME_9,SHORT_A "
	    "autolearn=no";
	static const int order[] = {1,  10, 11, 12, 13, 14, 15, 16, 17,
				    18, 19, 2,  20, 21, 22, 23, 24, 25,
				    3,  4,  5,  6,  7,  8,  9};
	struct score_hit h[26];
	struct score_header hdrs[SCORE_HEADERS_MAX];
	struct score_outcome out;
	const char *v, *line;
	char name[64];
	int n;

	(void)state;
	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "AUTHTAG_LONG_RULE_NAME_%d",
			 order[i]);
		h[i] = hit(name, -0.5, NULL, "");
	}
	h[25] = hit("SHORT_A", 0.001, NULL, "");
	outcome(&out, -12.499, 5.0, h, 26);
	n = score_headers(NULL, &out, hdrs);
	v = header(hdrs, n, "X-Spam-Status");
	assert_string_equal(v, want);
	/* every line, with "X-Spam-Status: " on the first, under 79 */
	for (line = v; line != NULL; line = strchr(line, '\n')) {
		size_t len = strcspn(line + (*line == '\n'), "\n");

		assert_true(len + (line == v ? 15 : 7) <= 79);
		line += *line == '\n';
		if (*line == '\0')
			break;
	}
	score_headers_free(hdrs, (size_t)n);
	score_outcome_free(&out);
}

static void
test_report(void **state)
{
	struct config *cfg = config_new_defaults();
	struct score_hit h[] = {
	    hit("AUTHTAG_DMARC_REJECT", 6.0, "DMARC fail, p=reject", ""),
	    hit("BIG", -12, "big", "BODY: "),
	    hit("TEST_SPAM_MARKER", NAN, NULL, "")};
	struct score_header hdrs[SCORE_HEADERS_MAX];
	struct score_outcome out;
	struct score_stage *st;
	char err[256];
	int n;

	(void)state;
	free(cfg->rules_dir);
	cfg->rules_dir = strdup("/");
	free(cfg->scorers[0]);
	cfg->scorers[0] = strdup("spamd"); /* no rules dir needed */
	cfg->x_spam_report = true;
	st = score_stage_new(cfg, err, sizeof(err));
	assert_non_null(st);
	outcome(&out, -6, 5, h, 3);
	n = score_headers(st, &out, hdrs);
	assert_int_equal(n, 4);
	/* SpamAssassin's "* %4.1f NAME AREAdescription", %4.0f from 10 */
	assert_string_equal(
	    header(hdrs, n, "X-Spam-Report"),
	    "\n\t*  6.0 AUTHTAG_DMARC_REJECT DMARC fail, p=reject"
	    "\n\t*  -12 BIG BODY: big"
	    "\n\t*    ? TEST_SPAM_MARKER ");
	score_headers_free(hdrs, (size_t)n);
	score_outcome_free(&out);
	/* no rule hit: no X-Spam-Report at all, not an empty one */
	outcome(&out, 0, 5, h, 0);
	n = score_headers(st, &out, hdrs);
	assert_int_equal(n, 3);
	assert_null(header(hdrs, n, "X-Spam-Report"));
	score_headers_free(hdrs, (size_t)n);
	score_outcome_free(&out);
	score_stage_free(st);
	config_free(cfg);
}

static void
test_header_is_spam(void **state)
{
	(void)state;
	assert_true(score_header_is_spam("X-Spam-Status"));
	assert_true(score_header_is_spam("x-spam-flag"));
	assert_true(score_header_is_spam("X-Spam-Report"));
	assert_false(score_header_is_spam("X-Spam"));
	assert_false(score_header_is_spam("X-Spamd-Result"));
	assert_false(score_header_is_spam("Subject"));
	assert_false(score_header_is_spam(NULL));
}

static void
test_rcpt_and_template(void **state)
{
	char u[64], d[64], out[64];

	(void)state;
	assert_int_equal(score_user_from_rcpt("<Bob+lists@Example.ORG>", u,
					      sizeof(u), d, sizeof(d)),
			 0);
	assert_string_equal(u, "bob");
	assert_string_equal(d, "example.org");
	assert_int_equal(
	    score_user_from_rcpt("carol", u, sizeof(u), d, sizeof(d)), 0);
	assert_string_equal(u, "carol");
	assert_string_equal(d, "");
	/* nothing that could climb out of a path template */
	assert_int_equal(
	    score_user_from_rcpt("../x@y", u, sizeof(u), d, sizeof(d)), -1);
	assert_int_equal(
	    score_user_from_rcpt(".hidden@y", u, sizeof(u), d, sizeof(d)), -1);
	assert_int_equal(
	    score_user_from_rcpt("a@../../etc", u, sizeof(u), d, sizeof(d)),
	    -1);
	assert_int_equal(
	    score_user_from_rcpt("+ext@y", u, sizeof(u), d, sizeof(d)), -1);
	assert_int_equal(score_user_from_rcpt("<>", u, sizeof(u), d, sizeof(d)),
			 -1);
	assert_int_equal(score_user_from_rcpt(NULL, u, sizeof(u), d, sizeof(d)),
			 -1);
	assert_int_equal(userprefs_expand_template("%u@%d 100%%", "bob",
					       "example.org", out, sizeof(out)),
			 0);
	assert_string_equal(out, "bob@example.org 100%");
	assert_int_equal(userprefs_expand_template("/home/%u/x", "bob", "", out, 8),
			 -1);
}

static void
test_all_scorers_down(void **state)
{
	struct config *cfg = config_new_defaults();
	struct score_message msg = {0};
	struct score_outcome out;
	struct score_stage *st;
	char err[256];

	(void)state;
	free(cfg->scorers[0]);
	cfg->scorers[0] = strdup("spamd");
	free(cfg->spamd_socket);
	cfg->spamd_socket = strdup("unix:/nonexistent/spamd.sock");
	cfg->required_score = 7;
	st = score_stage_new(cfg, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(score_stage_body_limit(st), 512000);
	assert_int_equal(score_stage_run(st, &msg, &out), -1);
	assert_int_equal(out.nfailed, 1);
	assert_true(out.score == 0 && out.required == 7 && !out.is_spam);
	assert_string_equal(out.problems, "spamd: connect "
					  "/nonexistent/spamd.sock: No such "
					  "file or directory");
	score_outcome_free(&out);
	score_stage_free(st);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_stage_errors),
	    cmocka_unit_test(test_headers_spam),
	    cmocka_unit_test(test_headers_ham),
	    cmocka_unit_test(test_status_folding),
	    cmocka_unit_test(test_report),
	    cmocka_unit_test(test_header_is_spam),
	    cmocka_unit_test(test_rcpt_and_template),
	    cmocka_unit_test(test_all_scorers_down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
