/*
 * score.h - the scoring stage: pluggable scorers and the X-Spam-* headers
 *
 * score.c owns the stage: the table of scorers (one file each, e.g.
 * score_rules.c and score_spamd.c, each exporting a struct scorer), running
 * the configured ones in order on a message, adding up their scores,
 * keeping their rule names in order, the recipient's user_prefs, and the
 * text of the SpamAssassin-style X-Spam-Flag, X-Spam-Status, X-Spam-Score,
 * X-Spam-Level and X-Spam-Report header values.
 *
 * Ownership: a score_stage is built once per configuration, read-only
 * afterwards and shared by all threads. A score_message belongs to the
 * caller; a score_outcome to whoever passed it to score_stage_run. A
 * scorer that is down, slow or refuses a message never fails it: the
 * outcome says so in `problems` and the message goes on without it.
 */
#ifndef AUTHTAG_SCORE_H
#define AUTHTAG_SCORE_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

struct config;
struct score_stage;
struct userprefs;

/* what a scorer sees; owned by the caller */
struct score_message {
	const char *const *header_names;  /* message order, our A-R first */
	const char *const *header_values; /* as received, after the colon */
	size_t nheaders;
	const unsigned char *body; /* raw body, at most body_limit bytes */
	size_t body_len;
	bool body_truncated; /* the body was longer than body_len */
	const struct auth_results *results; /* may be NULL */
	const char *mail_from;              /* envelope sender, may be NULL */
	const char *const *rcpts;
	size_t nrcpts;
	const char *client_ip; /* may be NULL */
	const char *helo;      /* may be NULL */
	struct trace *trace;   /* explain mode (trace.h), or NULL */
};

/* one rule that hit */
struct score_hit {
	char *name;
	double score;      /* NAN when the scorer gave only its total */
	char *description; /* NULL when none */
	const char *area;  /* report prefix: "", "BODY: ", "RAW: " */
};

/* what one run of the stage found */
/* no rule, user_prefs score, scorer's answer or total goes past this:
 * SpamAssassin's own scores stay within +-100, and 1e306 from a user's
 * file must not become "X-Spam-Score: inf" */
#define SCORE_LIMIT 1000.0

/* score_clamp - d within +-SCORE_LIMIT; not-a-number counts as 0 */
static inline double
score_clamp(double d)
{
	if (d != d)
		return 0.0;
	return d > SCORE_LIMIT ? SCORE_LIMIT : d < -SCORE_LIMIT ? -SCORE_LIMIT : d;
}

struct score_outcome {
	double score;           /* sum over the scorers that answered */
	double required;        /* user_prefs required_score, else rules files'
				   required_score, else RequiredScore */
	bool is_spam;           /* score >= required */
	struct score_hit *hits; /* scorer order; names once each */
	size_t nhits;
	unsigned nfailed;   /* scorers that gave no score */
	bool nomem;         /* memory ran out: the outcome is unusable */
	char problems[512]; /* "spamd: connect: Connection refused", for
			       the log; "" when every scorer answered */
};

/*
 * score_stage_new - build the stage for cfg (cfg must outlive it)
 *
 * Looks up every name of Scorers and initialises it: the rules scorer
 * loads and compiles RulesDir/ *.cf here, once; spamd connects nothing
 * yet. NULL with a message in err ("file:line: reason" for a bad rule).
 */
struct score_stage *score_stage_new(const struct config *cfg, char *err,
				    size_t errlen);

/* score_stage_free - free a stage once no thread uses it */
void score_stage_free(struct score_stage *st);

/* score_stage_body_limit - how many body bytes the caller must keep */
size_t score_stage_body_limit(const struct score_stage *st);

/*
 * score_stage_run - score one message; thread-safe, holds no lock while
 * a scorer waits on the network
 *
 * With exactly one recipient, that user's user_prefs (UserPrefs) apply.
 * Always fills out (free with score_outcome_free); returns 0, -1 when
 * no scorer gave a score (out then holds score 0 and the problems), or
 * -2 when memory ran out (out->nomem): a score without that scorer, or
 * without the user's prefs, would be a wrong one, so write none.
 */
int score_stage_run(const struct score_stage *st,
		    const struct score_message *msg, struct score_outcome *out);

/* score_outcome_free - free what an outcome holds (not the struct) */
void score_outcome_free(struct score_outcome *out);

/* one header field to add: name without the colon, value malloc'd */
struct score_header {
	const char *name;
	char *value;
};

#define SCORE_HEADERS_MAX 5

/*
 * score_headers - the X-Spam-* fields to add, in this order:
 * X-Spam-Flag (spam only), X-Spam-Status, X-Spam-Score, X-Spam-Level and,
 * with XSpamReport, X-Spam-Report. Values are SpamAssassin's, folded
 * with "\n\t" under 79 columns. Returns how many, or -1 on no memory.
 */
int score_headers(const struct score_stage *st, const struct score_outcome *out,
		  struct score_header hdrs[SCORE_HEADERS_MAX]);

/* score_headers_free - free the values score_headers filled in */
void score_headers_free(struct score_header *hdrs, size_t n);

/*
 * score_header_is_spam - is this an incoming X-Spam-* field that must be
 * removed, so that a sender cannot pre-mark their mail as clean?
 */
bool score_header_is_spam(const char *name);

/* ---- for scorers (score_*.c) ---------------------------------------- */

/* the single local recipient, when the message has exactly one */
struct score_user {
	const char *name;   /* local part, no +extension, lower case */
	const char *domain; /* lower case */
	const struct userprefs *prefs; /* NULL when the user has none */
};

/* what one scorer answers; fill with score_result_add */
struct score_result {
	double score;
	double required; /* NAN unless the scorer's files set one */
	struct score_hit *hits;
	size_t nhits, cap;
	char problem[200]; /* why the scorer gave no score */
	bool nomem;        /* it gave none because memory ran out */
};

struct scorer {
	const char *name;
	/* init - state for cfg; -1 with err on a bad configuration */
	int (*init)(const struct config *cfg, void **state, char *err,
		    size_t errlen);
	/* body_limit - body bytes this scorer wants */
	size_t (*body_limit)(const void *state);
	/* score - 0 and res filled, or -1 with res->problem: no score */
	int (*score)(const void *state, const struct score_message *msg,
		     const struct score_user *user, struct score_result *res);
	void (*free)(void *state);
};

extern const struct scorer score_rules_backend;
extern const struct scorer score_spamd_backend;

/* scorer_lookup - the scorer of that name, or NULL */
const struct scorer *scorer_lookup(const char *name);

/* score_result_add - append one hit (copies the strings); 0 or -1 */
int score_result_add(struct score_result *res, const char *name, double score,
		     const char *description, const char *area);

/* score_result_free - free a result's hits */
void score_result_free(struct score_result *res);

/*
 * score_user_from_rcpt - the local part (no +extension, lower case) and
 * domain of an envelope recipient, with or without <>; -1 if unusable
 * (empty, too long, or a local part that could climb a path: "/", "..")
 */
int score_user_from_rcpt(const char *rcpt, char *name, size_t namelen,
			 char *domain, size_t domainlen);

#endif
