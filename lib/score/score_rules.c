/*
 * score_rules.c - the `rules` scorer: SpamAssassin rules run in-process
 *
 * Owns running a loaded rule set (score_rules_parse.c) on one message:
 * header values as SpamAssassin's rules see them (unfolded, decoded,
 * every field of a name joined by newlines), the body views of
 * mimetext.c, metas in dependency order, SpamAssassin's hit list sorted
 * by name, and the recipient's user_prefs: USER_IN_* welcome and block
 * lists judged from our own authentication results, and `score`
 * overrides. A rule whose score is 0 is off, as in SpamAssassin; rules
 * named __* are parts of metas and never reported. Everything per
 * message is allocated per call, so one loaded set serves all threads.
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
#include "mimetext.h"
#include "score.h"
#include "score_rules_int.h"
#include "strbuf.h"
#include "userprefs.h"

#define SR_BODY_LIMIT 512000 /* body bytes the rules look at */
#define SR_MAX_FROM   16     /* From addresses considered */

/* one message as the rules see it, built lazily */
struct sr_view {
	const struct score_message *msg;
	char **decoded; /* each header's value decoded once, on first use */
	struct mimetext mt;
	bool mt_built, mt_failed;
	pcre2_match_data *md;
	const struct sr_set *set;
};

/* sr_init - load RulesDir */
static int
sr_init(const struct config *cfg, void **state, char *err, size_t errlen)
{
	struct sr_set *set;

	if (sr_load_dir(cfg->rules_dir, &set, err, errlen) != 0)
		return -1;
	*state = set;
	return 0;
}

/* sr_body_limit - body bytes wanted */
static size_t
sr_body_limit(const void *state)
{
	const struct sr_set *set = state;

	return set->needs_body ? SR_BODY_LIMIT : 0;
}

/* sr_state_free - free the set */
static void
sr_state_free(void *state)
{
	sr_free(state);
}

/* sr_match - does re match s? (a match limit hit counts as no match) */
static bool
sr_match(struct sr_view *v, const pcre2_code *re, const char *s, size_t n)
{
	return pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, v->md, v->set->mctx) >=
	       0;
}

/* sr_raw_value - a raw value with folding collapsed, as header:raw */
static void
sr_raw_value(struct strbuf *acc, const char *value)
{
	for (const char *p = value; *p; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		if (*p == '\n') {
			while (p[1] == ' ' || p[1] == '\t')
				p++;
			sb_putc(acc, ' ');
			continue;
		}
		sb_putc(acc, *p);
	}
	sb_putc(acc, '\n');
}

/* sr_newline - end the text so far with a newline, if it has none */
static void
sr_newline(struct strbuf *acc)
{
	if (acc->len > 0 && acc->s[acc->len - 1] != '\n')
		sb_putc(acc, '\n');
}

/* sr_name_of - the display name before '<', unquoted, for header:name */
static void
sr_name_of(const char *value, char *out, size_t outlen)
{
	const char *lt = strchr(value, '<');
	size_t o = 0;

	if (lt == NULL) {
		out[0] = '\0';
		return;
	}
	for (const char *p = value; p < lt && o + 1 < outlen; p++)
		if (*p != '"' && (o > 0 || (*p != ' ' && *p != '\t')))
			out[o++] = *p;
	while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
		o--;
	out[o] = '\0';
}

/*
 * sr_header_value - what a header rule matches, as SpamAssassin's get():
 * each field of that name decoded and unfolded with a newline after it,
 * all joined; NULL when there is no such field. *nomem on failure.
 */
/* sr_decoded - header i's value decoded (mimetext_header), kept for the
 * other rules that test the same field; NULL when memory ran out */
static const char *
sr_decoded(struct sr_view *v, size_t i)
{
	if (v->decoded == NULL &&
	    (v->decoded = calloc(v->msg->nheaders, sizeof(char *))) == NULL)
		return NULL;
	if (v->decoded[i] == NULL)
		v->decoded[i] = mimetext_header(v->msg->header_values[i]);
	return v->decoded[i];
}

static char *
sr_header_value(struct sr_view *v, const struct sr_rule *r, bool *nomem)
{
	const struct score_message *msg = v->msg;
	bool all = strcmp(r->header, "ALL") == 0;
	size_t first = 0, last = 0, count = 0;
	struct strbuf acc = STRBUF_INIT;

	for (size_t i = 0; i < msg->nheaders; i++)
		if (msg->header_names[i] != NULL &&
		    msg->header_values[i] != NULL &&
		    (all || strcasecmp(msg->header_names[i], r->header) == 0)) {
			if (count++ == 0)
				first = i;
			last = i;
		}
	if (count == 0)
		return NULL;
	for (size_t i = first; i <= last && !*nomem && !sb_failed(&acc); i++) {
		const char *name = msg->header_names[i];
		const char *value = msg->header_values[i];

		if (name == NULL || value == NULL ||
		    (!all && strcasecmp(name, r->header) != 0))
			continue;
		if ((r->hmods & SR_HMOD_FIRST) && i != first)
			continue;
		if ((r->hmods & SR_HMOD_LAST) && i != last)
			continue;
		if (all) {
			sb_puts(&acc, name);
			sb_putc(&acc, ':');
			if (!(r->hmods & SR_HMOD_RAW))
				sb_putc(&acc, ' ');
		}
		if (r->hmods & SR_HMOD_ADDR) {
			char addrs[SR_MAX_FROM][RES_ADDRESS_MAX];
			size_t n = mailaddr_header_addrs(&value, 1, addrs,
							  SR_MAX_FROM, false);

			/* :addr results carry no newline: joined by one */
			for (size_t k = 0; k < n; k++) {
				sr_newline(&acc);
				sb_puts(&acc, addrs[k]);
			}
		} else if (r->hmods & SR_HMOD_NAME) {
			char dn[512];

			sr_name_of(value, dn, sizeof(dn));
			sr_newline(&acc);
			sb_puts(&acc, dn);
		} else if (r->hmods & SR_HMOD_RAW) {
			sr_raw_value(&acc, value);
		} else {
			const char *dec = sr_decoded(v, i);

			if (dec == NULL) {
				*nomem = true;
				break;
			}
			sb_puts(&acc, dec);
			sb_putc(&acc, '\n');
		}
	}
	if (sb_failed(&acc))
		*nomem = true;
	if (*nomem) {
		sb_free(&acc);
		return NULL;
	}
	return sb_steal(&acc);
}

/* sr_test_header - one header rule */
static bool
sr_test_header(struct sr_view *v, const struct sr_rule *r, bool *nomem)
{
	char *val = sr_header_value(v, r, nomem);
	const char *subject;
	bool m;

	if (r->exists) {
		free(val);
		return val != NULL;
	}
	subject = val != NULL ? val : r->unset != NULL ? r->unset : "";
	m = sr_match(v, r->re, subject, strlen(subject));
	free(val);
	return r->negate ? !m : m;
}

/* sr_test_body - a body or rawbody rule over its lines */
static bool
sr_test_body(struct sr_view *v, const struct sr_rule *r)
{
	char **lines;
	size_t n;

	if (!v->mt_built) {
		const struct score_message *m = v->msg;

		v->mt_built = true;
		v->mt_failed = mimetext_build(m->header_names, m->header_values,
					      m->nheaders, m->body, m->body_len,
					      &v->mt) != 0;
	}
	if (v->mt_failed)
		return false;
	lines = r->type == SR_BODY ? v->mt.body : v->mt.raw;
	n = r->type == SR_BODY ? v->mt.nbody : v->mt.nraw;
	for (size_t i = 0; i < n; i++)
		if (sr_match(v, r->re, lines[i], strlen(lines[i])))
			return true;
	return false;
}

/* sr_from_addrs - From addresses in the Author Domain (mailaddr.c) */
static size_t
sr_from_addrs(const struct score_message *msg, char (*addrs)[RES_ADDRESS_MAX],
	      size_t max)
{
	const char *vals[SR_MAX_FROM];
	struct mailaddr_from from;
	size_t nv = 0, n, keep = 0;

	for (size_t i = 0; i < msg->nheaders && nv < SR_MAX_FROM; i++)
		if (msg->header_names[i] != NULL &&
		    msg->header_values[i] != NULL &&
		    strcasecmp(msg->header_names[i], "From") == 0)
			vals[nv++] = msg->header_values[i];
	/* no single Author Domain, no list decision: DMARC scores that */
	mailaddr_from_domain(vals, nv, &from);
	if (from.status != MAILADDR_OK)
		return 0;
	n = mailaddr_header_addrs(vals, nv, addrs, max, true);
	for (size_t i = 0; i < n; i++) {
		const char *at = strrchr(addrs[i], '@');
		char dom[RES_DOMAIN_MAX];

		if (at != NULL &&
		    mailaddr_domain_normalize(at + 1, strlen(at + 1), dom,
					      sizeof(dom)) == 0 &&
		    strcmp(dom, from.domain) == 0)
			memmove(addrs[keep++], addrs[i], RES_ADDRESS_MAX);
	}
	return keep;
}

/* sr_user_hit - add one USER_IN_* rule to the result */
static int
sr_user_hit(void *arg, const char *rule, double score, const char *desc)
{
	struct score_result *res = arg;

	if (score == 0)
		return 0;
	res->score += score;
	return score_result_add(res, rule, score, desc, "");
}

/* sr_userprefs - the recipient's welcome and block lists */
static int
sr_userprefs(const struct score_message *msg, const struct score_user *user,
	     struct score_result *res)
{
	char addrs[SR_MAX_FROM][RES_ADDRESS_MAX], env[RES_ADDRESS_MAX];
	const char *ptrs[SR_MAX_FROM];
	struct userprefs_facts f = {.results = msg->results,
				    .trace = msg->trace};
	size_t n;

	if (user == NULL || user->prefs == NULL)
		return 0;
	n = sr_from_addrs(msg, addrs, SR_MAX_FROM);
	for (size_t i = 0; i < n; i++)
		ptrs[i] = addrs[i];
	f.from_addrs = ptrs;
	f.nfrom = n;
	if (msg->mail_from != NULL) {
		char local[RES_ADDRESS_MAX], dom[RES_ADDRESS_MAX];

		if (mailaddr_envelope_parts(msg->mail_from, local,
					    sizeof(local), dom,
					    sizeof(dom)) == 0 &&
		    (local[0] != '\0' || dom[0] != '\0') &&
		    snprintf(env, sizeof(env), "%s%s%s", local,
			     dom[0] != '\0' ? "@" : "", dom) < (int)sizeof(env)) {
			for (char *p = env; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			f.envelope_from = env;
		}
	}
	return userprefs_eval(user->prefs, &f, sr_user_hit, res);
}

/* sr_hit_cmp - SpamAssassin lists tests by name */
static int
sr_hit_cmp(const void *a, const void *b)
{
	return strcmp(((const struct score_hit *)a)->name,
		      ((const struct score_hit *)b)->name);
}

/* sr_score - run every rule on one message */
static int
sr_score(const void *state, const struct score_message *msg,
	 const struct score_user *user, struct score_result *res)
{
	const struct sr_set *set = state;
	struct sr_view v = {.msg = msg, .set = set};
	const struct userprefs *prefs = user != NULL ? user->prefs : NULL;
	bool *hit = calloc(set->nrules + 1, sizeof(*hit)), nomem = false;
	int rc = 0;

	v.md = pcre2_match_data_create(1, NULL);
	if (hit == NULL || v.md == NULL) {
		nomem = true;
		goto out;
	}
	for (size_t k = 0; k < set->nrules && !nomem; k++) {
		size_t i = set->order[k];
		const struct sr_rule *r = &set->rules[i];

		if (r->score == 0)
			continue; /* off, and false for the metas */
		switch (r->type) {
		case SR_HEADER:
			hit[i] = sr_test_header(&v, r, &nomem);
			break;
		case SR_BODY:
		case SR_RAWBODY:
			hit[i] = sr_test_body(&v, r);
			break;
		case SR_META:
			hit[i] = sr_meta_eval(r->meta, hit) != 0;
			break;
		}
	}
	for (size_t i = 0; i < set->nrules && !nomem; i++) {
		const struct sr_rule *r = &set->rules[i];
		double s = r->score;

		if (!hit[i] || strncmp(r->name, "__", 2) == 0)
			continue;
		userprefs_score(prefs, r->name, &s);
		if (s == 0)
			continue;
		res->score += s;
		if (score_result_add(res, r->name, s,
				     r->describe ? r->describe
						 : "No description available.",
				     r->type == SR_BODY      ? "BODY: "
				     : r->type == SR_RAWBODY ? "RAW: "
							     : "") != 0)
			nomem = true;
	}
	if (!nomem && sr_userprefs(msg, user, res) != 0)
		nomem = true;
	/* body rules that could not see the text would score a
	 * different message */
	if (v.mt_built && v.mt_failed)
		nomem = true;
	if (nomem)
		goto out;
	if (res->nhits > 1)
		qsort(res->hits, res->nhits, sizeof(*res->hits), sr_hit_cmp);
	res->required = set->has_required ? set->required : NAN;
out:
	if (nomem) {
		snprintf(res->problem, sizeof(res->problem), "out of memory");
		res->nomem = true;
		rc = -1;
	}
	if (v.mt_built && !v.mt_failed)
		mimetext_free(&v.mt);
	for (size_t i = 0; v.decoded != NULL && i < msg->nheaders; i++)
		free(v.decoded[i]);
	free(v.decoded);
	pcre2_match_data_free(v.md);
	free(hit);
	return rc;
}

const struct scorer score_rules_backend = {
    .name = "rules",
    .init = sr_init,
    .body_limit = sr_body_limit,
    .score = sr_score,
    .free = sr_state_free,
};
