/*
 * test_score_rules.c - the rules scorer: the rule file parser (valid
 * files, and invalid ones named by file:line as SpamAssassin refuses
 * them), meta expressions, what header/body/rawbody rules match (the
 * SpamAssassin semantics that tests/sa/compat.sh checks against the real
 * thing), the shipped rules, and user_prefs in the built-in scorer
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "authres.h"
#include "config.h"
#include "score/score.h"
#include "score/score_rules_int.h"
#include "testutil.h"

/* a temporary rules directory */
struct dir {
	char path[64];
};

static void
dir_new(struct dir *d)
{
	strcpy(d->path, "/tmp/authtag-rules.XXXXXX");
	assert_non_null(mkdtemp(d->path));
}

static void
dir_file(struct dir *d, const char *name, const char *text)
{
	char p[256];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", d->path, name);
	assert_non_null(fp = fopen(p, "w"));
	fputs(text, fp);
	fclose(fp);
}

static void
dir_free(struct dir *d)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	assert_int_equal(system(cmd), 0);
}

/* load - a set from one file's text; NULL and the error in err */
static struct sr_set *
load(const char *text, char *err, size_t errlen)
{
	struct dir d;
	struct sr_set *set;

	dir_new(&d);
	dir_file(&d, "50_test.cf", text);
	if (sr_load_dir(d.path, &set, err, errlen) == 0) {
		dir_free(&d);
		return set;
	}
	/* drop the directory from the message: "50_test.cf:N: why" */
	memmove(err, err + strlen(d.path) + 1, strlen(err) - strlen(d.path));
	dir_free(&d);
	return NULL;
}

static const struct sr_rule *
rule(const struct sr_set *set, const char *name)
{
	long i = sr_find(set, name);

	assert_true(i >= 0);
	return &set->rules[i];
}

static void
test_parse_valid(void **state)
{
	char err[512];
	struct sr_set *set = load(
	    "# comment\n"
	    "header   H1   Subject =~ /free\\#money/i   # trailing comment\n"
	    "describe H1   Subject says free money\n"
	    "score    H1   2.5\n"
	    "score    B1   1.0 2.0 3.0 4.0\n" /* before its rule: fine */
	    "body     B1   m{cheap meds}\n"
	    "rawbody  R1   /<b>/\n"
	    "header   T_NEW  From =~ /x/\n"
	    "header   N1   exists:X-Nice\n"
	    "tflags   N1   nice noautolearn\n"
	    "meta     M1   H1 && (B1 || !R1)\n"
	    "score    M1   0\n"
	    "required_score 6.5\n"
	    "lang fr describe H1 Le sujet\n"
	    "loadplugin Mail::SpamAssassin::Plugin::AuthRes\n"
	    "ifplugin Mail::SpamAssassin::Plugin::AuthRes\n"
	    "  header E1 eval:check_authres_result('dkim','pass')\n"
	    "  if (version >= 4.000000)\n"
	    "    anything at all here\n"
	    "  else\n"
	    "    more of it\n"
	    "  endif\n"
	    "endif\n"
	    "header   H1   Subject =~ /redefined/\n",
	    err, sizeof(err));

	(void)state;
	assert_non_null(set);
	assert_int_equal(set->nrules, 6);
	assert_true(rule(set, "H1")->score == 2.5);
	assert_string_equal(rule(set, "H1")->describe,
			    "Subject says free money");
	assert_true(rule(set, "B1")->score == 1.0); /* first score set */
	assert_int_equal(rule(set, "R1")->type, SR_RAWBODY);
	assert_true(rule(set, "R1")->score == 1.0); /* SA's default */
	assert_true(rule(set, "T_NEW")->score == 0.01);
	assert_true(rule(set, "N1")->score == -1.0); /* nice */
	assert_true(rule(set, "N1")->exists);
	assert_true(rule(set, "M1")->score == 0);
	assert_true(set->has_required && set->required == 6.5);
	assert_true(set->needs_body);
	assert_int_equal(sr_find(set, "E1"), -1);
	sr_free(set);
}

static void
test_parse_include(void **state)
{
	struct dir d;
	struct sr_set *set;
	char err[512];

	(void)state;
	dir_new(&d);
	dir_file(&d, "10_main.cf", "include sub/extra.inc\nscore X 3\n");
	dir_file(&d, "readme.txt", "not a rule file\n");
	assert_int_equal(mkdir(strcat(strcpy(err, d.path), "/sub"), 0700), 0);
	dir_file(&d, "sub/extra.inc", "header X Subject =~ /x/\n");
	assert_int_equal(sr_load_dir(d.path, &set, err, sizeof(err)), 0);
	assert_true(rule(set, "X")->score == 3);
	sr_free(set);
	/* an include loop ends with an error, not a crash */
	dir_file(&d, "sub/extra.inc", "include extra.inc\n");
	assert_int_equal(sr_load_dir(d.path, &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "include nested too deeply"));
	dir_free(&d);
	assert_int_equal(
	    sr_load_dir("/nonexistent/rules", &set, err, sizeof(err)), -1);
	assert_string_equal(err,
			    "RulesDir /nonexistent/rules: No such file or directory");
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"\nheader BAD Subject =~ /(unclosed/\n",
	     "50_test.cf:2: invalid regexp for BAD: missing closing "
	     "parenthesis at offset 9"},
	    {"no_such_setting 1\n",
	     "50_test.cf:1: unknown or unsupported setting 'no_such_setting'"},
	    {"header 1BAD Subject =~ /x/\n",
	     "50_test.cf:1: rule '1BAD' has invalid characters"},
	    {"score X abc\n", "50_test.cf:1: invalid 'score' value"},
	    {"score X 1 2\n", "50_test.cf:1: missing 'score' value"},
	    {"score X (1)\n",
	     "50_test.cf:1: score X: relative scores are not supported by "
	     "authtag"},
	    {"meta M A $ B\n",
	     "50_test.cf:1: invalid expression for rule M: \"A $ B\": invalid "
	     "character"},
	    {"meta M (A && B\n",
	     "50_test.cf:1: invalid expression for rule M: \"(A && B\": "
	     "missing ')'"},
	    {"meta M A &&\n",
	     "50_test.cf:1: invalid expression for rule M: \"A &&\": missing "
	     "operand"},
	    {"a 1\nifplugin X\nheader Y Subject =~ /y/\n",
	     "50_test.cf:1: unknown or unsupported setting 'a'"},
	    {"#\nifplugin X\nheader Y Subject =~ /y/\n",
	     "50_test.cf:2: unclosed 'if' found"},
	    {"endif\n", "50_test.cf:1: missing starting 'if' for 'endif'"},
	    {"body E //\n",
	     "50_test.cf:1: invalid regexp for E: always matching regexp"},
	    {"body E /a||b/\n",
	     "50_test.cf:1: invalid regexp for E: always matching regexp"},
	    {"body E free money\n",
	     "50_test.cf:1: invalid regexp for E: missing regexp delimiters"},
	    {"body E /a/b/\n",
	     "50_test.cf:1: invalid regexp for E: unquoted delimiter '/' "
	     "found"},
	    {"body E /x/g\n",
	     "50_test.cf:1: invalid regexp for E: invalid end delimiter/mods"},
	    {"body E eval:check_something()\n",
	     "50_test.cf:1: E: eval: rules are not supported by authtag"},
	    {"header H Subject ~= /x/\n",
	     "50_test.cf:1: invalid head test H: Subject ~= /x/"},
	    {"header H From:nope =~ /x/\n",
	     "50_test.cf:1: invalid header modifier for H: From:nope"},
	    {"header H From:host =~ /x/\n",
	     "50_test.cf:1: H: header modifier :host is not supported by "
	     "authtag"},
	    {"header H exists:Bad*Name\n",
	     "50_test.cf:1: invalid head test H header: Bad*Name"},
	    {"full F /x/\n",
	     "50_test.cf:1: 'full' rules are not supported by authtag"},
	    {"meta A B\nmeta B A\n",
	     "50_test.cf:2: meta test B depends on itself"},
	    {"body\n", "50_test.cf:1: missing 'body' value"},
	    {"required_score many\n",
	     "50_test.cf:1: invalid 'required_score' value"},
	};
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sr_set *set = load(cases[i].text, err, sizeof(err));

		if (set != NULL)
			fail_msg("accepted: %s", cases[i].text);
		assert_string_equal(err, cases[i].msg);
	}
}

/* meta - the value of expr when A, B, C are a, b, c */
static double
meta(const char *expr, bool a, bool b, bool c)
{
	char err[256], text[512];
	struct sr_set *set;
	bool hit[4] = {a, b, c, false};
	double v;

	snprintf(text, sizeof(text),
		 "header A Subject =~ /a/\nheader B Subject =~ /b/\n"
		 "header C Subject =~ /c/\nmeta M %s\n",
		 expr);
	set = load(text, err, sizeof(err));
	if (set == NULL)
		fail_msg("%s", err);
	v = sr_meta_eval(rule(set, "M")->meta, hit);
	sr_free(set);
	return v;
}

static void
test_meta(void **state)
{
	char err[128];
	struct sr_meta *m;

	(void)state;
	assert_true(meta("A && B", 1, 1, 0) != 0);
	assert_true(meta("A && B", 1, 0, 0) == 0);
	assert_true(meta("A || !B", 0, 0, 0) != 0);
	assert_true(meta("!(A || B)", 0, 1, 0) == 0);
	/* + and comparisons: "two of three" */
	assert_true(meta("(A + B + C) >= 2", 1, 0, 1) != 0);
	assert_true(meta("(A + B + C) >= 2", 0, 0, 1) == 0);
	assert_true(meta("A + B > 1", 1, 1, 0) != 0);
	assert_true(meta("A + B == 1", 1, 1, 0) == 0);
	assert_true(meta("A != B", 1, 0, 0) != 0);
	assert_true(meta("A <= B", 1, 0, 0) == 0);
	assert_true(meta("A < B", 0, 1, 0) != 0);
	/* Perl's precedence: && binds tighter than ||, ! tighter than * */
	assert_true(meta("A || B && C", 1, 0, 0) != 0);
	assert_true(meta("(A || B) && C", 1, 0, 0) == 0);
	assert_true(meta("2 * A - 1 > 0", 1, 0, 0) != 0);
	assert_true(meta("2 * A - 1 > 0", 0, 0, 0) == 0);
	assert_true(meta("-A + 1", 1, 0, 0) == 0);
	assert_true(meta("A / 2 * 4", 1, 0, 0) == 2);
	assert_true(meta("1.5", 0, 0, 0) == 1.5);
	/* an unknown rule name is a rule that never hits (SpamAssassin) */
	assert_true(meta("A && NO_SUCH_RULE", 1, 1, 1) == 0);
	assert_true(meta("A || NO_SUCH_RULE", 1, 1, 1) != 0);
	/* what does not compile */
	static const char *bad[] = {"",      "A B",  "(A",    "A )",
				    "A && ", "1e5",  "A @ B", "A -> B",
				    "A ==",  "A; B", "A::B",  "{A}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = sr_meta_compile(bad[i], err, sizeof(err));
		if (m != NULL)
			fail_msg("compiled: '%s'", bad[i]);
	}
	/* a very deep expression is refused, not a stack overflow */
	char deep[400];

	memset(deep, '(', 200);
	strcpy(deep + 200, "A");
	assert_null(sr_meta_compile(deep, err, sizeof(err)));
}

/* a stage over a temporary rules dir; st and cfg freed by done() */
struct fixture {
	struct dir d;
	struct config *cfg;
	struct score_stage *st;
	struct score_outcome out;
};

static void
stage(struct fixture *f, const char *rules, const char *prefs_tmpl)
{
	char err[512];

	dir_new(&f->d);
	dir_file(&f->d, "50_test.cf", rules);
	f->cfg = config_new_defaults();
	free(f->cfg->rules_dir);
	f->cfg->rules_dir = strdup(f->d.path);
	free(f->cfg->user_prefs);
	f->cfg->user_prefs = strdup(prefs_tmpl ? prefs_tmpl : "");
	f->st = score_stage_new(f->cfg, err, sizeof(err));
	if (f->st == NULL)
		fail_msg("%s", err);
}

static void
done(struct fixture *f)
{
	score_outcome_free(&f->out);
	score_stage_free(f->st);
	config_free(f->cfg);
	dir_free(&f->d);
}

/* tests - the outcome's rule names, comma-joined */
static const char *
tests(const struct score_outcome *out)
{
	static char s[1024];

	s[0] = '\0';
	for (size_t i = 0; i < out->nhits; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, out->hits[i].name);
	}
	return s;
}

static const char *const hdr_names[] = {"Authentication-Results",
					"Received",
					"Received",
					"From",
					"subject",
					"To",
					"Authentication-Results",
					"Content-Type"};
static const char *const hdr_values[] = {
    " mx.example.org;\n\tspf=fail smtp.mailfrom=x@bank.example;\n"
    "\tdmarc=fail\n\t(p=reject sp=reject dis=reject) header.from=bank.example",
    " from a by b",
    " from c by d",
    " \"Bank\" <Alerts@Bank.example>",
    " =?utf-8?q?Hello_w=C3=B6rld?=",
    " carol@example.net",
    " evil.example; dmarc=pass",
    " text/html; charset=utf-8"};

static const struct score_message message = {
    .header_names = hdr_names,
    .header_values = hdr_values,
    .nheaders = 8,
    .body = (const unsigned char *)"<p>Buy <b>cheap</b>\nmeds</p>\n",
    .body_len = 29,
};

static void
test_header_semantics(void **state)
{
	struct fixture f;

	(void)state;
	stage(&f,
	      /* unfolded: the fold inside the result reads as one space */
	      "header UNFOLD Authentication-Results =~ /dmarc=fail \\(p=reject "
	      "sp=reject dis=reject\\)/\n"
	      /* every field of a name, joined by newlines */
	      "header BOTH_AR Authentication-Results =~ /bank\\.example\\n"
	      "evil\\.example; dmarc=pass\\n$/\n"
	      "header FIRST_AR Authentication-Results:first =~ /dmarc=pass/\n"
	      "header LAST_AR Authentication-Results:last =~ /dmarc=pass/\n"
	      "header TWO_RCVD Received =~ /^from a by b\\nfrom c by d\\n$/\n"
	      "header CASE SUBJECT =~ /^Hello w\\xc3\\xb6rld$/\n"
	      "header RAW subject:raw =~ /=\\?utf-8\\?q\\?/\n"
	      "header ADDR From:addr =~ /^Alerts\\@Bank\\.example$/\n"
	      "header NAME From:name =~ /^Bank$/\n"
	      "header ALLH ALL =~ /^To: carol\\@example\\.net$/m\n"
	      "header MISSING_NEG List-Id !~ /./\n"
	      "header MISSING_POS List-Id =~ /./\n"
	      "header UNSET X-Priority =~ /^3$/ [if-unset: 3]\n"
	      "header HAS_TO exists:To\n"
	      "header HAS_NONE exists:X-None\n"
	      "body   BODY /buy cheap meds/i\n"
	      "body   BODY_SUBJ /^Hello w/\n"
	      "rawbody RAW_TAGS /<b>cheap<\\/b>\\nmeds/\n"
	      "body   OFF /meds/\nscore OFF 0\n"
	      "body   __PART /meds/\n"
	      "meta   USES_OFF OFF || !__PART\n"
	      "meta   USES_PART __PART && BODY\nscore USES_PART -0.5\n",
	      NULL);
	assert_int_equal(score_stage_run(f.st, &message, &f.out), 0);
	/* sorted by name, as SpamAssassin lists them; no __PART, no OFF */
	assert_string_equal(tests(&f.out),
			    "ADDR,ALLH,BODY,BODY_SUBJ,BOTH_AR,CASE,HAS_TO,"
			    "LAST_AR,MISSING_NEG,NAME,RAW,RAW_TAGS,TWO_RCVD,"
			    "UNFOLD,UNSET,USES_PART");
	assert_true(fabs(f.out.score - 14.5) < 1e-9);
	assert_true(f.out.is_spam);
	assert_string_equal(f.out.hits[2].area, "BODY: ");
	assert_string_equal(f.out.hits[11].area, "RAW: ");
	assert_string_equal(f.out.hits[0].description,
			    "No description available.");
	done(&f);
}

static void
test_required_from_rules(void **state)
{
	struct fixture f;

	(void)state;
	stage(&f,
	      "header S Subject =~ /Hello/\nscore S 4\nrequired_score 3.5\n",
	      NULL);
	assert_int_equal(score_stage_run(f.st, &message, &f.out), 0);
	assert_true(f.out.required == 3.5);
	assert_true(f.out.is_spam);
	done(&f);
}

static void
test_shipped_rules_load(void **state)
{
	struct config *cfg = config_new_defaults();
	struct score_stage *st;
	struct score_outcome out;
	char err[512];

	(void)state;
	free(cfg->rules_dir);
	assert_true(asprintf(&cfg->rules_dir, "%s/rules", testutil_srcdir()) >
		    0);
	st = score_stage_new(cfg, err, sizeof(err));
	if (st == NULL)
		fail_msg("%s", err);
	/* our own header: a forgery of a p=reject domain is spam */
	assert_int_equal(score_stage_run(st, &message, &out), 0);
	assert_true(out.is_spam);
	assert_string_equal(out.hits[0].name, "AUTHTAG_DMARC_REJECT");
	score_outcome_free(&out);

	/* a replayed l= signature with text appended: dkim and dmarc pass,
	 * the header as lib/authres writes it says how much is unsigned */
	{
		struct dkim_outcome d = {.result = RES_PASS, .keybits = 2048};
		struct auth_results r = {.dkim = &d, .ndkim = 1};
		static const char *names[] = {"Authentication-Results",
					      "From"};
		const char *values[2] = {NULL, " <alerts@bank.example>"};
		struct score_message m = {.header_names = names,
					  .header_values = values,
					  .nheaders = 2,
					  .results = &r};
		char *ar, *v;

		snprintf(d.domain, sizeof(d.domain), "bank.example");
		snprintf(d.selector, sizeof(d.selector), "s1");
		snprintf(d.reason, sizeof(d.reason), "body length limit 120 "
			 "leaves 512 bytes unsigned");
		r.dmarc.checked = true;
		r.dmarc.result = RES_PASS;
		snprintf(r.dmarc.from_domain, sizeof(r.dmarc.from_domain),
			 "bank.example");
		assert_non_null(ar = ar_format("mx.example.org", &r));
		assert_true(asprintf(&v, " %s", ar) > 0);
		values[0] = v;
		assert_int_equal(score_stage_run(st, &m, &out), 0);
		assert_true(out.is_spam);
		assert_string_equal(out.hits[0].name,
				    "AUTHTAG_DKIM_UNSIGNED_BODY");
		score_outcome_free(&out);
		/* the same pass without appended text: not spam */
		d.reason[0] = '\0';
		free(ar);
		free(v);
		assert_non_null(ar = ar_format("mx.example.org", &r));
		assert_true(asprintf(&v, " %s", ar) > 0);
		values[0] = v;
		assert_int_equal(score_stage_run(st, &m, &out), 0);
		assert_false(out.is_spam);
		score_outcome_free(&out);
		free(ar);
		free(v);
	}
	score_stage_free(st);
	config_free(cfg);
}

/* the vendor mailing through its ESP, as authtag's results say it */
static void
vendor_message(struct score_message *m, struct auth_results *r,
	       struct dkim_outcome *d, const char *const *from)
{
	static const char *const names[] = {"Authentication-Results", "From",
					    "Subject"};
	static const char *values[] = {
	    " mx.example.org; spf=pass smtp.mailfrom=bounce@esp.example;\n"
	    "\tdkim=pass header.d=esp.example;\n"
	    "\tdmarc=fail (p=reject sp=reject dis=reject) "
	    "header.from=vendor.example",
	    NULL, " Your order"};

	memset(r, 0, sizeof(*r));
	memset(d, 0, sizeof(*d));
	d->result = RES_PASS;
	strcpy(d->domain, "esp.example");
	strcpy(d->identity, "@esp.example");
	r->dkim = d;
	r->ndkim = 1;
	r->spf_mailfrom.checked = true;
	r->spf_mailfrom.result = RES_PASS;
	values[1] = *from;
	memset(m, 0, sizeof(*m));
	m->header_names = names;
	m->header_values = values;
	m->nheaders = 3;
	m->results = r;
	m->mail_from = "<bounce@esp.example>";
}

static void
test_userprefs_in_rules(void **state)
{
	static const char *const one[] = {"<Carol+shop@Example.NET>"};
	static const char *const two[] = {"carol@example.net",
					  "dave@example.net"};
	const char *from = " Orders <orders@vendor.example>";
	const char *forged = " Orders <orders@vendor.example>, x@other.example";
	struct fixture f;
	struct dir pd;
	struct score_message m;
	struct auth_results r;
	struct dkim_outcome d;
	char tmpl[300];
	FILE *fp;

	(void)state;
	dir_new(&pd);
	snprintf(tmpl, sizeof(tmpl), "%s/%%u.prefs", pd.path);
	stage(&f,
	      "header AUTHTAG_DMARC_REJECT Authentication-Results:first =~ "
	      "/dmarc=fail\\s+\\([^)]*\\bdis=reject\\b/\n"
	      "score AUTHTAG_DMARC_REJECT 6.0\n",
	      tmpl);
	snprintf(tmpl, sizeof(tmpl), "%s/carol.prefs", pd.path);
	assert_non_null(fp = fopen(tmpl, "w"));
	fputs("welcomelist_from_dkim *@vendor.example esp.example\n"
	      "required_score 4.0\n",
	      fp);
	fclose(fp);

	/* a score past the limit, in a user's file and in the rules: the
	 * total stays finite and clamped, X-Spam-Score never says inf */
	snprintf(tmpl, sizeof(tmpl), "%s/huge.prefs", pd.path);
	assert_non_null(fp = fopen(tmpl, "w"));
	fputs("score AUTHTAG_DMARC_REJECT 1e306\n", fp);
	fclose(fp);
	{
		static const char *const huge[] = {"<huge@example.net>"};

		vendor_message(&m, &r, &d, &from);
		m.rcpts = huge;
		m.nrcpts = 1;
		assert_int_equal(score_stage_run(f.st, &m, &f.out), 0);
		assert_true(f.out.score == SCORE_LIMIT);
		assert_true(f.out.hits[0].score == SCORE_LIMIT);
		score_outcome_free(&f.out);
	}

	/* without the recipient: spam */
	vendor_message(&m, &r, &d, &from);
	assert_int_equal(score_stage_run(f.st, &m, &f.out), 0);
	assert_true(f.out.is_spam);
	score_outcome_free(&f.out);
	/* Carol (any +extension, any case) welcome-lists it */
	m.rcpts = one;
	m.nrcpts = 1;
	assert_int_equal(score_stage_run(f.st, &m, &f.out), 0);
	assert_string_equal(tests(&f.out),
			    "AUTHTAG_DMARC_REJECT,USER_IN_DKIM_WELCOMELIST");
	assert_true(fabs(f.out.score - -94.0) < 1e-9);
	assert_true(f.out.required == 4.0);
	assert_false(f.out.is_spam);
	score_outcome_free(&f.out);
	/* two recipients: nobody's prefs */
	m.rcpts = two;
	m.nrcpts = 2;
	assert_int_equal(score_stage_run(f.st, &m, &f.out), 0);
	assert_true(f.out.is_spam);
	assert_true(f.out.required == 5.0);
	score_outcome_free(&f.out);
	/* a forgery without the ESP's signature is still spam for Carol */
	m.rcpts = one;
	m.nrcpts = 1;
	r.ndkim = 0;
	assert_int_equal(score_stage_run(f.st, &m, &f.out), 0);
	assert_string_equal(tests(&f.out), "AUTHTAG_DMARC_REJECT");
	score_outcome_free(&f.out);
	/* a From with two domains has no single author: no welcome */
	vendor_message(&m, &r, &d, &forged);
	m.rcpts = one;
	m.nrcpts = 1;
	assert_int_equal(score_stage_run(f.st, &m, &f.out), 0);
	assert_string_equal(tests(&f.out), "AUTHTAG_DMARC_REJECT");
	done(&f);
	dir_free(&pd);
}

int
main(void)
{
	const struct CMUnitTest tests_[] = {
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_include),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_meta),
	    cmocka_unit_test(test_header_semantics),
	    cmocka_unit_test(test_required_from_rules),
	    cmocka_unit_test(test_shipped_rules_load),
	    cmocka_unit_test(test_userprefs_in_rules),
	};

	return cmocka_run_group_tests(tests_, NULL, NULL);
}
