/*
 * score_rules_int.h - what the rules scorer's files share
 *
 * score_rules_parse.c reads *.cf files into an sr_set (one compiled rule
 * per name, scores and descriptions resolved, metas ordered so that each
 * comes after the rules it uses); score_meta.c compiles and evaluates
 * meta expressions; score_rules.c runs a set on a message. A loaded set
 * is read-only and shared by all threads. Not for other modules.
 */
#ifndef AUTHTAG_SCORE_RULES_INT_H
#define AUTHTAG_SCORE_RULES_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>

enum sr_type {
	SR_HEADER = 0,
	SR_BODY,
	SR_RAWBODY,
	SR_META,
};

/* header modifiers, Name:raw and friends */
enum {
	SR_HMOD_RAW = 1,
	SR_HMOD_ADDR = 2,
	SR_HMOD_NAME = 4,
	SR_HMOD_FIRST = 8,
	SR_HMOD_LAST = 16,
};

struct sr_meta; /* a compiled meta expression (score_meta.c) */

struct sr_rule {
	char *name;
	enum sr_type type;
	char *header;   /* SR_HEADER: field name, or ALL */
	unsigned hmods; /* SR_HMOD_* */
	bool exists;    /* exists:Name */
	bool negate;    /* !~ */
	char *unset;    /* [if-unset: text], or NULL */
	pcre2_code *re; /* SR_HEADER (unless exists), SR_BODY, SR_RAWBODY */
	struct sr_meta *meta; /* SR_META */
	double score;         /* resolved: `score`, or SpamAssassin's default */
	char *describe;       /* NULL: "No description available." */
	bool nice;            /* tflags nice: the default score is negative */
	char *file;           /* where it was defined, for messages */
	unsigned line;
};

struct sr_set {
	struct sr_rule *rules;
	size_t nrules;
	size_t *order; /* evaluation order: plain rules, then metas */
	bool has_required;
	double required;           /* required_score in the files */
	bool needs_body;           /* any body or rawbody rule */
	pcre2_match_context *mctx; /* match limits, shared read-only */
};

/*
 * sr_load - read every *.cf in dir (name order), following include;
 * 0, or -1 with "file:line: reason" in err
 */
int sr_load_dir(const char *dir, struct sr_set **out, char *err, size_t errlen);

/* sr_load_files - the same for an explicit list of files */
int sr_load_files(const char *const *files, size_t nfiles, struct sr_set **out,
		  char *err, size_t errlen);

/* sr_free - free a set */
void sr_free(struct sr_set *set);

/* sr_find - index of the rule named name, or -1 */
long sr_find(const struct sr_set *set, const char *name);

/*
 * sr_meta_compile - compile a meta expression; NULL with a reason in err
 * (an unknown token, unbalanced parentheses, a missing operand)
 */
struct sr_meta *sr_meta_compile(const char *expr, char *err, size_t errlen);

/*
 * sr_meta_resolve - bind the rule names of m to indices in set (an
 * unknown name counts as a rule that never hits, as in SpamAssassin)
 */
int sr_meta_resolve(struct sr_meta *m, const struct sr_set *set);

/* sr_meta_deps - the resolved indices m uses, *n of them; -1 unknowns */
const long *sr_meta_deps(const struct sr_meta *m, size_t *n);

/* sr_meta_eval - the value of m when rule i is hit[i] */
double sr_meta_eval(const struct sr_meta *m, const bool *hit);

/* sr_meta_free - free a compiled expression */
void sr_meta_free(struct sr_meta *m);

/* ---- shared by the loader and the line parser --------------------- */

#define SR_FILE_MAX      (4u << 20) /* one rule file, bytes */
#define SR_INCLUDE_DEPTH 10
#define SR_MATCH_LIMIT   1000000 /* PCRE2 backtracking steps per match */

/* score, describe and tflags lines may come before or after their rule */
struct sr_note {
	char *name;
	char *text; /* describe */
	double score;
	bool has_score;
	bool nice; /* tflags nice */
};

struct sr_load {
	struct sr_set *set;
	struct sr_note *notes;
	size_t nnotes;
	char *err;
	size_t errlen;
	const char *file; /* current file and line, for messages */
	unsigned line;
	unsigned depth; /* include depth */
};

/* sr_error - "file:line: reason" into ld->err; always returns -1 */
int sr_error(struct sr_load *ld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* sr_rule_clear - free what a rule holds */
void sr_rule_clear(struct sr_rule *r);

/* sr_note - the score/describe/tflags note of a rule name, made if new */
struct sr_note *sr_note(struct sr_load *ld, const char *name);

/* sr_directive - one rule-file line (key and value) into ld->set */
int sr_directive(struct sr_load *ld, const char *key, char *v);

/* sr_load_file - read one rule file into ld (include follows here) */
int sr_load_file(struct sr_load *ld, const char *path);

#endif
