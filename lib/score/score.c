/*
 * score.c - the scoring stage: pluggable scorers and the X-Spam-* headers
 *
 * Owns the table of scorers (adding one is a file exporting a struct
 * scorer plus one line in score_backends[]), running the configured ones
 * in order, adding up their scores, keeping rule names in order (each
 * name once), the recipient's user_prefs (looked up once per message,
 * cached across messages) and the header values, written as SpamAssassin
 * 4.0.1 writes them so that existing procmail and Sieve recipes work. A
 * scorer that gives no score is named in the outcome's problems and
 * skipped; the message is never failed for it.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "mailaddr.h"
#include "score.h"
#include "userprefs.h"
#include "strbuf.h"

#define SCORE_PREFS_CACHE 1024 /* user_prefs files kept parsed */
#define SCORE_WRAP        79   /* SpamAssassin's fold width */

/* every scorer authtag knows; NULL-terminated */
static const struct scorer *const score_backends[] = {
    &score_rules_backend,
    &score_spamd_backend,
    NULL,
};

struct score_running {
	const struct scorer *backend;
	void *state;
};

struct score_stage {
	const struct config *cfg;
	struct score_running *scorers;
	size_t nscorers;
	size_t body_limit;
	struct userprefs_cache *prefs;
};

/* scorer_lookup - the scorer of that name, or NULL */
const struct scorer *
scorer_lookup(const char *name)
{
	for (size_t i = 0; score_backends[i] != NULL; i++)
		if (strcasecmp(score_backends[i]->name, name) == 0)
			return score_backends[i];
	return NULL;
}

/* score_stage_new - build the stage for cfg */
struct score_stage *
score_stage_new(const struct config *cfg, char *err, size_t errlen)
{
	struct score_stage *st = calloc(1, sizeof(*st));

	if (st == NULL ||
	    (st->scorers = calloc(cfg->nscorers + 1, sizeof(*st->scorers))) ==
		NULL ||
	    (st->prefs = userprefs_cache_new(SCORE_PREFS_CACHE)) == NULL) {
		snprintf(err, errlen, "out of memory");
		score_stage_free(st);
		return NULL;
	}
	st->cfg = cfg;
	for (size_t i = 0; i < cfg->nscorers; i++) {
		const struct scorer *b = scorer_lookup(cfg->scorers[i]);
		struct score_running *run = &st->scorers[st->nscorers];
		size_t want;

		if (b == NULL) {
			snprintf(err, errlen, "Scorers: unknown scorer '%s'",
				 cfg->scorers[i]);
			score_stage_free(st);
			return NULL;
		}
		if (b->init(cfg, &run->state, err, errlen) != 0) {
			score_stage_free(st);
			return NULL;
		}
		run->backend = b;
		st->nscorers++;
		want = b->body_limit(run->state);
		if (want > st->body_limit)
			st->body_limit = want;
	}
	return st;
}

/* score_stage_free - free a stage */
void
score_stage_free(struct score_stage *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nscorers; i++)
		st->scorers[i].backend->free(st->scorers[i].state);
	free(st->scorers);
	userprefs_cache_free(st->prefs);
	free(st);
}

/* score_stage_body_limit - how many body bytes the caller must keep */
size_t
score_stage_body_limit(const struct score_stage *st)
{
	return st != NULL ? st->body_limit : 0;
}

/* score_result_add - append one hit */
int
score_result_add(struct score_result *res, const char *name, double score,
		 const char *description, const char *area)
{
	struct score_hit *h;

	if (res->nhits == res->cap) {
		size_t cap = res->cap ? res->cap * 2 : 16;
		struct score_hit *grown =
		    realloc(res->hits, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		res->hits = grown;
		res->cap = cap;
	}
	h = &res->hits[res->nhits];
	h->name = strdup(name);
	h->description = description != NULL ? strdup(description) : NULL;
	h->score = score;
	h->area = area != NULL ? area : "";
	if (h->name == NULL ||
	    (description != NULL && h->description == NULL)) {
		free(h->name);
		free(h->description);
		return -1;
	}
	res->nhits++;
	return 0;
}

/* score_result_free - free a result's hits */
void
score_result_free(struct score_result *res)
{
	for (size_t i = 0; i < res->nhits; i++) {
		free(res->hits[i].name);
		free(res->hits[i].description);
	}
	free(res->hits);
	res->hits = NULL;
	res->nhits = res->cap = 0;
}

/* score_user_from_rcpt - local part (no +extension) and domain */
int
score_user_from_rcpt(const char *rcpt, char *name, size_t namelen, char *domain,
		     size_t domainlen)
{
	char local[RES_ADDRESS_MAX];
	size_t ul;

	if (rcpt == NULL ||
	    mailaddr_envelope_parts(rcpt, local, sizeof(local), domain,
				    domainlen) != 0)
		return -1;
	ul = strcspn(local, "+");
	if (ul == 0 || ul >= namelen)
		return -1;
	for (size_t i = 0; i < ul; i++) {
		unsigned char c = (unsigned char)local[i];

		/* the name goes into paths: nothing that could climb them */
		if (c == '/' || c == '\\' || c <= ' ' || c == 0x7f)
			return -1;
		name[i] = (char)tolower(c);
	}
	name[ul] = '\0';
	if (name[0] == '.')
		return -1;
	for (char *p = domain; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '/' || c == '\\' || c <= ' ' || c == 0x7f)
			return -1;
		*p = (char)tolower(c);
	}
	if (domain[0] == '.')
		return -1;
	return 0;
}

/* score_problem - append "name: why" to the outcome's problems */
static void
score_problem(struct score_outcome *out, const char *name, const char *why)
{
	size_t len = strlen(out->problems);

	snprintf(out->problems + len, sizeof(out->problems) - len, "%s%s: %s",
		 len > 0 ? "; " : "", name, why[0] ? why : "failed");
}

/* score_merge - add one scorer's result to the outcome (names once) */
static int
score_merge(struct score_outcome *out, struct score_result *res)
{
	struct score_hit *grown;

	grown =
	    realloc(out->hits, (out->nhits + res->nhits + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	out->hits = grown;
	for (size_t i = 0; i < res->nhits; i++) {
		bool dup = false;

		for (size_t k = 0; k < out->nhits && !dup; k++)
			dup = strcmp(out->hits[k].name, res->hits[i].name) == 0;
		if (dup) {
			free(res->hits[i].name);
			free(res->hits[i].description);
			continue;
		}
		out->hits[out->nhits++] = res->hits[i];
	}
	free(res->hits);
	res->hits = NULL;
	res->nhits = res->cap = 0;
	return 0;
}

/* score_stage_run - score one message */
int
score_stage_run(const struct score_stage *st, const struct score_message *msg,
		struct score_outcome *out)
{
	char name[256], domain[256], path[4096];
	struct score_user user = {0};
	const struct userprefs *prefs = NULL;
	double required = NAN, pref_req;
	unsigned ok = 0;

	memset(out, 0, sizeof(*out));
	out->required = st->cfg->required_score;
	/* one recipient: that user's prefs apply (none for a list) */
	if (msg->nrcpts == 1 &&
	    score_user_from_rcpt(msg->rcpts[0], name, sizeof(name), domain,
				 sizeof(domain)) == 0) {
		user.name = name;
		user.domain = domain;
		if (userprefs_path(st->prefs, st->cfg->user_prefs, name, domain,
				   path, sizeof(path)) == 0)
			prefs = userprefs_get(st->prefs, path);
		user.prefs = prefs;
	}
	for (size_t i = 0; i < st->nscorers; i++) {
		const struct score_running *run = &st->scorers[i];
		struct score_result res = {.required = NAN};

		if (run->backend->score(run->state, msg,
					user.name ? &user : NULL, &res) != 0) {
			if (res.nomem)
				out->nomem = true;
			score_problem(out, run->backend->name, res.problem);
			score_result_free(&res);
			out->nfailed++;
			continue;
		}
		ok++;
		out->score += res.score;
		if (isnan(required) && !isnan(res.required))
			required = res.required;
		if (score_merge(out, &res) != 0) {
			score_problem(out, run->backend->name, "out of memory");
			score_result_free(&res);
			out->nomem = true;
		}
	}
	if (!isnan(required))
		out->required = required;
	if (userprefs_required(prefs, &pref_req))
		out->required = pref_req;
	userprefs_release(st->prefs, prefs);
	/* sums of decimals: keep 0.1 + 0.2 from missing 0.3 */
	out->score = score_clamp(round(out->score * 1000.0) / 1000.0);
	out->is_spam = out->score >= out->required;
	if (out->nomem)
		return -2;
	return ok > 0 || st->nscorers == 0 ? 0 : -1;
}

/* score_outcome_free - free what an outcome holds */
void
score_outcome_free(struct score_outcome *out)
{
	for (size_t i = 0; i < out->nhits; i++) {
		free(out->hits[i].name);
		free(out->hits[i].description);
	}
	free(out->hits);
	out->hits = NULL;
	out->nhits = 0;
}

/* score_fmt_score - SpamAssassin's _SCORE_: "%2.1f", and never shown
 * at or above required for mail that is not spam (Util.pm) */
static void
score_fmt_score(const struct score_outcome *out, char *buf, size_t len)
{
	char req[32];

	snprintf(buf, len, "%.1f", out->score == 0 ? 0.0 : out->score);
	snprintf(req, sizeof(req), "%.1f", out->required);
	if (!out->is_spam && !(strtod(buf, NULL) < strtod(req, NULL)))
		snprintf(buf, len, "%.15g", strtod(req, NULL) - 0.1);
}

/* score_wrap - fold a header as SpamAssassin's Util::wrap does: break
 * after a space or comma, lines of at most 79 columns counting the field
 * name (a tab counts 8), continuation lines start with a tab */
static char *
score_wrap(const char *field, const char *value)
{
	size_t vlen = strlen(value), col = strlen(field) + 2, o = 0;
	char *out = malloc(vlen * 3 + 2);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < vlen;) {
		size_t j = i;

		/* one piece: up to and including a space or comma */
		while (j < vlen && value[j] != ' ' && value[j] != ',')
			j++;
		if (j < vlen)
			j++;
		if (o > 0 && col + (j - i) > SCORE_WRAP) {
			while (o > 0 && out[o - 1] == ' ')
				o--;
			out[o++] = '\n';
			out[o++] = '\t';
			col = 8;
		}
		memcpy(out + o, value + i, j - i);
		o += j - i;
		col += j - i;
		i = j;
	}
	out[o] = '\0';
	return out;
}

/* score_tests - the tests= list, or "none" */
static char *
score_tests(const struct score_outcome *out)
{
	struct strbuf s = STRBUF_INIT;

	for (size_t i = 0; i < out->nhits; i++) {
		if (i > 0)
			sb_putc(&s, ',');
		sb_puts(&s, out->hits[i].name);
	}
	if (out->nhits == 0)
		sb_puts(&s, "none");
	return sb_steal(&s);
}

/* score_report - X-Spam-Report: one "* pts RULE description" per hit */
static char *
score_report(const struct score_outcome *out)
{
	size_t cap = 2, o = 0;
	char *s;

	for (size_t i = 0; i < out->nhits; i++)
		cap += strlen(out->hits[i].name) + 240;
	if ((s = malloc(cap)) == NULL)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < out->nhits; i++) {
		const struct score_hit *h = &out->hits[i];
		char pts[16];

		if (isnan(h->score))
			snprintf(pts, sizeof(pts), "   ?");
		else if (fabs(h->score) >= 10)
			snprintf(pts, sizeof(pts), "%4.0f", h->score);
		else
			snprintf(pts, sizeof(pts), "%4.1f", h->score);
		/* descriptions stay one short line: the field is folded at
		 * each "\n" and must stay far below 998 per line */
		o += (size_t)snprintf(s + o, cap - o, "\n\t* %s %s %s%.200s",
				      pts, h->name, h->area,
				      h->description ? h->description : "");
	}
	for (char *p = s; *p; p++)
		if (*p == '\r' || (*p == '\n' && p[1] != '\t'))
			*p = ' ';
	return s;
}

/* score_headers - the X-Spam-* fields to add */
int
score_headers(const struct score_stage *st, const struct score_outcome *out,
	      struct score_header hdrs[SCORE_HEADERS_MAX])
{
	char score[32], *tests, *status;
	size_t n = 0;
	int stars;

	if (out->is_spam) {
		hdrs[n].name = "X-Spam-Flag";
		if ((hdrs[n++].value = strdup("YES")) == NULL)
			goto nomem;
	}
	score_fmt_score(out, score, sizeof(score));
	if ((tests = score_tests(out)) == NULL)
		goto nomem;
	{
		struct strbuf sb = STRBUF_INIT;

		sb_printf(&sb, "%s, score=%s required=%.1f tests=%s autolearn=no",
			  out->is_spam ? "Yes" : "No", score, out->required,
			  tests);
		free(tests);
		if ((status = sb_steal(&sb)) == NULL)
			goto nomem;
	}
	hdrs[n].name = "X-Spam-Status";
	hdrs[n].value = score_wrap("X-Spam-Status", status);
	free(status);
	if (hdrs[n++].value == NULL)
		goto nomem;
	hdrs[n].name = "X-Spam-Score";
	if ((hdrs[n++].value = strdup(score)) == NULL)
		goto nomem;
	/* one '*' per whole point, at most 50, none below 1 */
	stars = out->score >= 50 ? 50 : out->score > 0 ? (int)out->score : 0;
	hdrs[n].name = "X-Spam-Level";
	if ((hdrs[n].value = malloc((size_t)stars + 1)) == NULL)
		goto nomem;
	memset(hdrs[n].value, '*', (size_t)stars);
	hdrs[n++].value[stars] = '\0';
	/* no hit, no report: an empty field is noise to a reader and a
	 * parse error to some tools */
	if (st != NULL && st->cfg->x_spam_report && out->nhits > 0) {
		hdrs[n].name = "X-Spam-Report";
		if ((hdrs[n++].value = score_report(out)) == NULL)
			goto nomem;
	}
	return (int)n;
nomem:
	score_headers_free(hdrs, n);
	return -1;
}

/* score_headers_free - free the values score_headers filled in */
void
score_headers_free(struct score_header *hdrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(hdrs[i].value);
		hdrs[i].value = NULL;
	}
}

/* score_header_is_spam - an incoming X-Spam-* field to remove? */
bool
score_header_is_spam(const char *name)
{
	return name != NULL && strncasecmp(name, "X-Spam-", 7) == 0;
}
