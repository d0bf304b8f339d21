/*
 * userprefs.h - a recipient's SpamAssassin user_prefs: welcome and block
 * lists, required_score and score overrides
 *
 * userprefs.c owns reading user_prefs files (the SpamAssassin syntax, the
 * subset that concerns the sender: welcomelist_from, welcomelist_auth,
 * welcomelist_from_dkim, welcomelist_from_spf, blocklist_from, their SA 3
 * whitelist/blacklist aliases, unwelcomelist_from, required_score, score),
 * SpamAssassin's address globs, deciding which USER_IN_* rules a message
 * earns from our authentication results, and a thread-safe cache that
 * re-reads a file when its mtime, size or inode changes. Every other line
 * of a user_prefs file is ignored, as it would be by a scorer that does
 * not know it; a missing or unreadable file is simply no prefs.
 */
#ifndef AUTHTAG_USERPREFS_H
#define AUTHTAG_USERPREFS_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

struct userprefs;
struct userprefs_cache;

/* the SpamAssassin 4.0.1 rules a user's lists produce, and their scores */
#define USERPREFS_WELCOMELIST      "USER_IN_WELCOMELIST"
#define USERPREFS_BLOCKLIST        "USER_IN_BLOCKLIST"
#define USERPREFS_DKIM_WELCOMELIST "USER_IN_DKIM_WELCOMELIST"
#define USERPREFS_SPF_WELCOMELIST  "USER_IN_SPF_WELCOMELIST"

/* userprefs_parse - prefs from the text of a file; NULL on no memory */
struct userprefs *userprefs_parse(const char *text, size_t len);

/* userprefs_free - free prefs made by userprefs_parse */
void userprefs_free(struct userprefs *p);

/* userprefs_required - the user's required_score, if the file sets one */
bool userprefs_required(const struct userprefs *p, double *out);

/* userprefs_score - the user's `score RULE n` for rule, if any */
bool userprefs_score(const struct userprefs *p, const char *rule, double *out);

/*
 * userprefs_glob_match - SpamAssassin's address glob: case-insensitive,
 * whole string, '*' any run of characters, '?' one character
 */
bool userprefs_glob_match(const char *glob, const char *addr);

/* what the lists are checked against */
struct userprefs_facts {
	const char *const *from_addrs; /* From header addresses, lower case */
	size_t nfrom;
	const char *envelope_from; /* MAIL FROM address, lower case, or NULL */
	const struct auth_results *results; /* may be NULL */
	struct trace *trace; /* explain mode: which entry matched; NULL */
};

/* userprefs_hit_fn - called once per rule earned; non-zero stops */
typedef int (*userprefs_hit_fn)(void *arg, const char *rule, double score,
				const char *description);

/*
 * userprefs_eval - the USER_IN_* rules this message earns
 *
 * As SpamAssassin 4.0.1 decides them: welcomelist_from and blocklist_from
 * match the From addresses; welcomelist_from_dkim (and the DKIM half of
 * welcomelist_auth) need a passing DKIM signature whose signing domain is
 * the given one, or the author's domain when none is given; the SPF half
 * of welcomelist_auth and welcomelist_from_spf need the envelope sender to
 * match and SPF to pass for it. Returns what the last hit() returned, or 0.
 */
int userprefs_eval(const struct userprefs *p, const struct userprefs_facts *f,
		   userprefs_hit_fn hit, void *arg);

/*
 * userprefs_path - expand a UserPrefs template for one user: %u, %d, and
 * a leading ~user through the password database, whose answers (and
 * unknown users) c keeps for a minute (c may be NULL: no caching). -1
 * when the template is empty, the user unknown or the path does not fit.
 */
int userprefs_path(struct userprefs_cache *c, const char *tmpl,
		   const char *user, const char *domain, char *out,
		   size_t outlen);

/* userprefs_cache_new - an empty cache of at most max files; NULL */
struct userprefs_cache *userprefs_cache_new(size_t max);

/* userprefs_cache_free - free the cache once nobody holds its prefs */
void userprefs_cache_free(struct userprefs_cache *c);

/*
 * userprefs_get - the prefs in the file at path, parsed at most once per
 * version of the file; NULL if it is missing or unreadable. The caller
 * holds a reference until userprefs_release. Thread-safe; the file is
 * read without the lock held.
 */
const struct userprefs *userprefs_get(struct userprefs_cache *c,
				      const char *path);

/* userprefs_release - drop a reference taken by userprefs_get */
void userprefs_release(struct userprefs_cache *c, const struct userprefs *p);

/*
 * userprefs_expand_template - expand %u (user), %d (domain) and %% in tmpl;
 * -1 if the result does not fit
 */
int userprefs_expand_template(const char *tmpl, const char *user,
			  const char *domain, char *out, size_t outlen);

#endif
