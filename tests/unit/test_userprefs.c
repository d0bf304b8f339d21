/*
 * test_userprefs.c - SpamAssassin user_prefs: address globs, each list
 * directive and its SA 3 alias, the SPF and DKIM conditions of the
 * authenticated welcome lists (as SpamAssassin 4.0.1's plugins decide
 * them), required_score and score, From address extraction, path
 * templates, and the cache (re-read on change, thread-safe)
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
#include <unistd.h>

#include <cmocka.h>

#include "result.h"
#include "testutil.h"
#include "mailaddr.h"
#include "score/userprefs.h"

static void
test_glob(void **state)
{
	(void)state;
	assert_true(userprefs_glob_match("*@example.com", "a@example.com"));
	assert_true(userprefs_glob_match("*@example.com", "A.B@EXAMPLE.COM"));
	assert_false(userprefs_glob_match("*@example.com", "a@example.com.x"));
	assert_false(userprefs_glob_match("*@example.com", "a@xexample.co"));
	assert_true(
	    userprefs_glob_match("*@*.example.com", "a@mx.example.com"));
	assert_false(userprefs_glob_match("*@*.example.com", "a@example.com"));
	assert_true(
	    userprefs_glob_match("joe?@example.com", "joe1@example.com"));
	assert_false(
	    userprefs_glob_match("joe?@example.com", "joe@example.com"));
	assert_true(userprefs_glob_match("*", "anything@at.all"));
	assert_true(userprefs_glob_match("a**b*c", "aXXbYYc"));
	assert_false(userprefs_glob_match("a*b*c", "aXXbYY"));
	assert_true(
	    userprefs_glob_match("exact@example.com", "exact@example.com"));
	/* '.' is literal, and SpamAssassin turns '(' and '\' into '_' */
	assert_false(userprefs_glob_match("a.b@x.y", "aXb@x.y"));
	assert_true(userprefs_glob_match("a(b@x.y", "a_b@x.y"));
}

/* what userprefs_eval reported */
struct hits {
	char rule[4][40];
	double score[4];
	int n;
};

static int
collect(void *arg, const char *rule, double score, const char *desc)
{
	struct hits *h = arg;

	assert_non_null(desc);
	assert_true(h->n < 4);
	snprintf(h->rule[h->n], sizeof(h->rule[0]), "%s", rule);
	h->score[h->n++] = score;
	return 0;
}

/* eval - run prefs text against one From address and results */
static struct hits
eval(const char *text, const char *from, const char *envfrom,
     const struct auth_results *res)
{
	struct userprefs *p = userprefs_parse(text, strlen(text));
	const char *addrs[1] = {from};
	struct userprefs_facts f = {.from_addrs = addrs,
				    .nfrom = from ? 1 : 0,
				    .envelope_from = envfrom,
				    .results = res};
	struct hits h = {0};

	assert_non_null(p);
	assert_int_equal(userprefs_eval(p, &f, collect, &h), 0);
	userprefs_free(p);
	return h;
}

static void
test_from_lists(void **state)
{
	struct hits h;

	(void)state;
	/* SpamAssassin 4.0.1: USER_IN_WELCOMELIST -100, BLOCKLIST 100 */
	h = eval("welcomelist_from *@friends.example\n", "pal@friends.example",
		 NULL, NULL);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.rule[0], "USER_IN_WELCOMELIST");
	assert_true(h.score[0] == -100);
	h = eval("whitelist_from pal@friends.example other@x.y\n",
		 "pal@friends.example", NULL, NULL);
	assert_int_equal(h.n, 1);
	h = eval("whitelist_from *@friends.example\n", "pal@enemies.example",
		 NULL, NULL);
	assert_int_equal(h.n, 0);
	h = eval("blocklist_from *@spam.example\n", "x@spam.example", NULL,
		 NULL);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.rule[0], "USER_IN_BLOCKLIST");
	assert_true(h.score[0] == 100);
	h = eval("blacklist_from *@SPAM.example\n", "x@spam.example", NULL,
		 NULL);
	assert_int_equal(h.n, 1);
	/* unwelcomelist_from takes back exactly that entry */
	h = eval("welcomelist_from *@a.example\nunwelcomelist_from *@a.example"
		 "\n",
		 "x@a.example", NULL, NULL);
	assert_int_equal(h.n, 0);
	/* comments, an escaped '#', blank lines, unknown settings */
	h = eval("# mine\n\n  rewrite_header Subject *SPAM*\n"
		 "welcomelist_from a\\#b@x.example # trailing\n",
		 "a#b@x.example", NULL, NULL);
	assert_int_equal(h.n, 1);
}

/* one DKIM result */
static void
dkim(struct auth_results *r, struct dkim_outcome *d, enum ar_result res,
     const char *domain)
{
	memset(d, 0, sizeof(*d));
	d->result = res;
	snprintf(d->domain, sizeof(d->domain), "%s", domain);
	snprintf(d->identity, sizeof(d->identity), "@%s", domain);
	r->dkim = d;
	r->ndkim = 1;
}

static void
test_dkim_welcomelist(void **state)
{
	const char *prefs =
	    "welcomelist_from_dkim *@vendor.example esp.example\n";
	struct auth_results r = {0};
	struct dkim_outcome d;
	struct hits h;

	(void)state;
	/* the vendor mails through its ESP, which signs with d=esp.example */
	dkim(&r, &d, RES_PASS, "esp.example");
	h = eval(prefs, "orders@vendor.example", NULL, &r);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.rule[0], "USER_IN_DKIM_WELCOMELIST");
	assert_true(h.score[0] == -100);
	/* the SA 3 name is the same list */
	h = eval("whitelist_from_dkim *@vendor.example esp.example\n",
		 "orders@vendor.example", NULL, &r);
	assert_int_equal(h.n, 1);
	/* a forgery: no signature, another signer, a failing signature */
	h = eval(prefs, "orders@vendor.example", NULL, NULL);
	assert_int_equal(h.n, 0);
	dkim(&r, &d, RES_PASS, "evil.example");
	h = eval(prefs, "orders@vendor.example", NULL, &r);
	assert_int_equal(h.n, 0);
	dkim(&r, &d, RES_FAIL, "esp.example");
	h = eval(prefs, "orders@vendor.example", NULL, &r);
	assert_int_equal(h.n, 0);
	/* without a signing domain, the author's own domain must sign */
	dkim(&r, &d, RES_PASS, "esp.example");
	h = eval("welcomelist_from_dkim *@vendor.example\n",
		 "orders@vendor.example", NULL, &r);
	assert_int_equal(h.n, 0);
	dkim(&r, &d, RES_PASS, "vendor.example");
	h = eval("welcomelist_from_dkim *@vendor.example\n",
		 "orders@vendor.example", NULL, &r);
	assert_int_equal(h.n, 1);
	/* ".esp.example" and "*.esp.example": strict subdomains only */
	dkim(&r, &d, RES_PASS, "mx1.esp.example");
	h = eval("welcomelist_from_dkim *@vendor.example *.esp.example\n",
		 "orders@vendor.example", NULL, &r);
	assert_int_equal(h.n, 1);
	dkim(&r, &d, RES_PASS, "esp.example");
	h = eval("welcomelist_from_dkim *@vendor.example .esp.example\n",
		 "orders@vendor.example", NULL, &r);
	assert_int_equal(h.n, 0);
	/* more than two words is not a valid line */
	h = eval("welcomelist_from_dkim *@vendor.example esp.example x\n",
		 "orders@vendor.example", NULL, &r);
	assert_int_equal(h.n, 0);
}

static void
test_auth_welcomelist(void **state)
{
	struct auth_results r = {0};
	struct dkim_outcome d;
	struct hits h;

	(void)state;
	/* DKIM half: a passing signature by the author's domain */
	dkim(&r, &d, RES_PASS, "example.com");
	h = eval("welcomelist_auth *@example.com\n", "alice@example.com", NULL,
		 &r);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.rule[0], "USER_IN_DKIM_WELCOMELIST");
	/* a third-party signature does not authenticate the author */
	dkim(&r, &d, RES_PASS, "esp.example");
	h = eval("welcomelist_auth *@example.com\n", "alice@example.com", NULL,
		 &r);
	assert_int_equal(h.n, 0);
	/* SPF half: the envelope sender matches and SPF passed for it */
	memset(&r, 0, sizeof(r));
	r.spf_mailfrom.checked = true;
	r.spf_mailfrom.result = RES_PASS;
	h = eval("whitelist_auth *@example.com\n", "alice@example.com",
		 "alice@example.com", &r);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.rule[0], "USER_IN_SPF_WELCOMELIST");
	assert_true(h.score[0] == -100);
	h = eval("welcomelist_from_spf *@example.com\n", "x@y.example",
		 "bounce@example.com", &r);
	assert_int_equal(h.n, 1);
	r.spf_mailfrom.result = RES_SOFTFAIL;
	h = eval("welcomelist_auth *@example.com\n", "alice@example.com",
		 "alice@example.com", &r);
	assert_int_equal(h.n, 0);
	/* SPF and DKIM both: both rules, as in SpamAssassin */
	r.spf_mailfrom.result = RES_PASS;
	dkim(&r, &d, RES_PASS, "example.com");
	h = eval("welcomelist_auth *@example.com\n", "alice@example.com",
		 "alice@example.com", &r);
	assert_int_equal(h.n, 2);
}

static void
test_required_and_scores(void **state)
{
	const char *text = "required_score 9.5\nscore USER_IN_WELCOMELIST -7\n"
			   "score OTHER 1 2 3 4\nscore BAD x\n"
			   "welcomelist_from *@f.example\n";
	struct userprefs *p = userprefs_parse(text, strlen(text));
	double d = 0;
	struct hits h;

	(void)state;
	assert_true(userprefs_required(p, &d));
	assert_true(d == 9.5);
	assert_true(userprefs_score(p, "OTHER", &d));
	assert_true(d == 1);
	assert_false(userprefs_score(p, "BAD", &d));
	userprefs_free(p);
	h = eval(text, "a@f.example", NULL, NULL);
	assert_int_equal(h.n, 1);
	assert_true(h.score[0] == -7);
	p = userprefs_parse("required_hits 3\n", 16);
	assert_true(userprefs_required(p, &d) && d == 3);
	userprefs_free(p);
	p = userprefs_parse("required_score lots\n", 20);
	assert_false(userprefs_required(p, &d));
	userprefs_free(p);
}

static void
test_header_addrs(void **state)
{
	const char *v[] = {
	    " \"Doe, John\" <John.Doe@Example.COM>, plain@x.example (note)",
	    " team: a@t.example, B <b@t.example>;",
	    " Broken <unterminated@x.example",
	    " <@route.example:routed@r.example>"};
	char out[8][RES_ADDRESS_MAX];
	size_t n = mailaddr_header_addrs(v, 4, out, 8, true);

	(void)state;
	assert_int_equal(n, 6);
	assert_string_equal(out[0], "john.doe@example.com");
	assert_string_equal(out[1], "plain@x.example");
	assert_string_equal(out[2], "a@t.example");
	assert_string_equal(out[3], "b@t.example");
	assert_string_equal(out[4], "unterminated@x.example");
	assert_string_equal(out[5], "routed@r.example");
	assert_int_equal(mailaddr_header_addrs(v, 1, out, 1, false), 1);
	assert_string_equal(out[0], "John.Doe@Example.COM");
}

static void
test_path_template(void **state)
{
	char path[256];

	(void)state;
	assert_int_equal(userprefs_path(NULL, "/var/sa/%d/%u/user_prefs", "bob",
					"example.org", path, sizeof(path)),
			 0);
	assert_string_equal(path, "/var/sa/example.org/bob/user_prefs");
	assert_int_equal(userprefs_path(NULL, "~root/.spamassassin/user_prefs",
					"x", "y", path, sizeof(path)),
			 0);
	assert_string_equal(path, "/root/.spamassassin/user_prefs");
	assert_int_equal(userprefs_path(NULL, "~%u/p", "no_such_user_zz9", "y",
					path, sizeof(path)),
			 -1);
	assert_int_equal(
	    userprefs_path(NULL, "", "bob", "y", path, sizeof(path)), -1);
	assert_int_equal(userprefs_path(NULL, "/x/%u", "bob", "y", path, 5),
			 -1);
	{
		/* through a cache: the same answers, misses included */
		struct userprefs_cache *c = userprefs_cache_new(4);

		for (int round = 0; round < 2; round++) {
			assert_int_equal(
			    userprefs_path(c, "~root/.spamassassin/user_prefs",
					   "x", "y", path, sizeof(path)),
			    0);
			assert_string_equal(path,
					    "/root/.spamassassin/user_prefs");
			assert_int_equal(userprefs_path(c, "~%u/p",
							"no_such_user_zz9", "y",
							path, sizeof(path)),
					 -1);
		}
		userprefs_cache_free(c);
	}
}

/* write_file - replace path's contents */
static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
test_cache(void **state)
{
	struct userprefs_cache *c = userprefs_cache_new(2);
	char *path = testutil_write_temp("required_score 7\n");
	char *other = testutil_write_temp("required_score 1\n");
	char *third = testutil_write_temp("required_score 2\n");
	const struct userprefs *a, *b;
	double d;

	(void)state;
	a = userprefs_get(c, path);
	assert_non_null(a);
	b = userprefs_get(c, path);
	assert_ptr_equal(a, b); /* parsed once */
	userprefs_release(c, b);
	/* a new version (other size) is read again; the old one stays
	 * valid for whoever still holds it */
	write_file(path, "required_score 8.25\n");
	b = userprefs_get(c, path);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_true(userprefs_required(a, &d) && d == 7);
	assert_true(userprefs_required(b, &d) && d == 8.25);
	userprefs_release(c, a);
	userprefs_release(c, b);
	/* more files than the cache holds: the oldest is dropped */
	userprefs_release(c, userprefs_get(c, other));
	userprefs_release(c, userprefs_get(c, third));
	a = userprefs_get(c, path);
	assert_true(userprefs_required(a, &d) && d == 8.25);
	userprefs_release(c, a);
	/* gone, or never there: no prefs, no error */
	unlink(path);
	assert_null(userprefs_get(c, path));
	assert_null(userprefs_get(c, "/nonexistent/user_prefs"));
	assert_null(userprefs_get(c, "/tmp"));
	userprefs_cache_free(c);
	unlink(other);
	unlink(third);
	free(path);
	free(other);
	free(third);
}

struct race {
	struct userprefs_cache *c;
	const char *path;
};

static void *
race_reader(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < 300; i++) {
		const struct userprefs *p = userprefs_get(r->c, r->path);
		double d;

		if (p != NULL) {
			/* any version read is whole: 1.0 or 22.0 */
			if (userprefs_required(p, &d))
				assert_true(d == 1.0 || d == 22.0);
			userprefs_release(r->c, p);
		}
	}
	return NULL;
}

static void
test_cache_threads(void **state)
{
	struct race r = {.c = userprefs_cache_new(8)};
	char *path = testutil_write_temp("required_score 1.0\n");
	pthread_t t[4];

	(void)state;
	r.path = path;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race_reader, &r),
				 0);
	for (int i = 0; i < 100; i++) {
		char tmp[512];

		/* replace atomically, as editors and tools do */
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		write_file(tmp, i % 2 ? "required_score 1.0\n"
				      : "required_score 22.0\n");
		rename(tmp, path);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	userprefs_cache_free(r.c);
	unlink(path);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_glob),
	    cmocka_unit_test(test_from_lists),
	    cmocka_unit_test(test_dkim_welcomelist),
	    cmocka_unit_test(test_auth_welcomelist),
	    cmocka_unit_test(test_required_and_scores),
	    cmocka_unit_test(test_header_addrs),
	    cmocka_unit_test(test_path_template),
	    cmocka_unit_test(test_cache),
	    cmocka_unit_test(test_cache_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
