/*
 * userprefs.c - a recipient's SpamAssassin user_prefs: welcome and block
 * lists, required_score and score overrides
 *
 * Owns the parsed form of a user_prefs file, SpamAssassin's address globs
 * and the USER_IN_* decisions (see userprefs.h for the exact semantics,
 * which follow SpamAssassin 4.0.1's WLBLEval, DKIM and SPF plugins).
 * Finding and caching the files is userprefs_cache.c's job; the loose
 * address scan SpamAssassin applies to header values is mailaddr_list.c.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "score.h"
#include "trace.h"
#include "userprefs_int.h"

/* the directives read, with their SpamAssassin 3 aliases */
static const struct {
	const char *name;
	enum up_list list;
	bool remove;
} up_directives[] = {
    {"welcomelist_from", UP_WELCOME, false},
    {"whitelist_from", UP_WELCOME, false},
    {"unwelcomelist_from", UP_WELCOME, true},
    {"unwhitelist_from", UP_WELCOME, true},
    {"blocklist_from", UP_BLOCK, false},
    {"blacklist_from", UP_BLOCK, false},
    {"unblocklist_from", UP_BLOCK, true},
    {"unblacklist_from", UP_BLOCK, true},
    {"welcomelist_auth", UP_AUTH, false},
    {"whitelist_auth", UP_AUTH, false},
    {"unwelcomelist_auth", UP_AUTH, true},
    {"unwhitelist_auth", UP_AUTH, true},
    {"welcomelist_from_spf", UP_SPF, false},
    {"whitelist_from_spf", UP_SPF, false},
    {"welcomelist_from_dkim", UP_DKIM, false},
    {"whitelist_from_dkim", UP_DKIM, false},
    {"unwelcomelist_from_dkim", UP_DKIM, true},
    {"unwhitelist_from_dkim", UP_DKIM, true},
};

/* up_lower - lower-case a string in place */
char *
up_lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* up_add - append one entry to a list; -1 on no memory */
static int
up_add(struct userprefs *p, enum up_list l, const char *glob, const char *sdid)
{
	struct up_entry *grown, *e;

	grown = realloc(p->lists[l], (p->nlists[l] + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	p->lists[l] = grown;
	e = &grown[p->nlists[l]];
	e->glob = strdup(glob);
	e->sdid = sdid != NULL ? strdup(sdid) : NULL;
	if (e->glob == NULL || (sdid != NULL && e->sdid == NULL)) {
		free(e->glob);
		free(e->sdid);
		return -1;
	}
	up_lower(e->glob);
	if (e->sdid != NULL)
		up_lower(e->sdid);
	p->nlists[l]++;
	return 0;
}

/* up_remove - drop entries with exactly this glob (and sdid, if given) */
static void
up_remove(struct userprefs *p, enum up_list l, const char *glob,
	  const char *sdid)
{
	size_t keep = 0;

	for (size_t i = 0; i < p->nlists[l]; i++) {
		struct up_entry *e = &p->lists[l][i];

		if (strcasecmp(e->glob, glob) == 0 &&
		    (sdid == NULL || strcasecmp(e->sdid, sdid) == 0)) {
			free(e->glob);
			free(e->sdid);
			continue;
		}
		p->lists[l][keep++] = *e;
	}
	p->nlists[l] = keep;
}

/* up_number - a whole-word decimal number; false if it is not one */
static bool
up_number(const char *s, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || end == s || !isfinite(d))
		return false;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		return false;
	*out = d;
	return true;
}

/* up_set_score - remember `score RULE n` (the first of 1 or 4 values) */
static int
up_set_score(struct userprefs *p, char *args)
{
	char *save = NULL, *rule = strtok_r(args, " \t", &save);
	char *val = strtok_r(NULL, " \t", &save);
	struct up_score *grown;
	double d;

	if (rule == NULL || val == NULL || !up_number(val, &d))
		return 0; /* SpamAssassin would ignore the line too */
	d = score_clamp(d);
	for (size_t i = 0; i < p->nscores; i++)
		if (strcmp(p->scores[i].rule, rule) == 0) {
			p->scores[i].score = d;
			return 0;
		}
	grown = realloc(p->scores, (p->nscores + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	p->scores = grown;
	if ((grown[p->nscores].rule = strdup(rule)) == NULL)
		return -1;
	grown[p->nscores++].score = d;
	return 0;
}

/* up_line - apply one comment-free, trimmed line */
static int
up_line(struct userprefs *p, char *line)
{
	char *save = NULL, *key, *args, *word;
	size_t klen = strcspn(line, " \t");

	key = line;
	args = line + klen;
	if (*args != '\0')
		*args++ = '\0';
	while (isspace((unsigned char)*args))
		args++;
	for (char *k = key; *k; k++)
		if (*k == '-')
			*k = '_';
	if (strcasecmp(key, "required_score") == 0 ||
	    strcasecmp(key, "required_hits") == 0) {
		double d;

		if (up_number(args, &d)) {
			p->required = score_clamp(d);
			p->has_required = true;
		}
		return 0;
	}
	if (strcasecmp(key, "score") == 0)
		return up_set_score(p, args);
	for (size_t i = 0; i < sizeof(up_directives) / sizeof(*up_directives);
	     i++) {
		enum up_list l = up_directives[i].list;

		if (strcasecmp(key, up_directives[i].name) != 0)
			continue;
		if (l == UP_DKIM) {
			/* exactly ADDR [SDID], as SpamAssassin insists */
			char *addr = strtok_r(args, " \t", &save);
			char *sdid = strtok_r(NULL, " \t", &save);

			if (addr == NULL || strtok_r(NULL, " \t", &save))
				return 0;
			if (sdid == NULL)
				sdid = "";
			/* an address given as SDID counts by its domain */
			if (strrchr(sdid, '@') != NULL)
				sdid = strrchr(sdid, '@') + 1;
			if (up_directives[i].remove)
				up_remove(p, l, addr, sdid);
			else if (up_add(p, l, addr, sdid) != 0)
				return -1;
			return 0;
		}
		for (word = strtok_r(args, " \t", &save); word != NULL;
		     word = strtok_r(NULL, " \t", &save)) {
			if (up_directives[i].remove)
				up_remove(p, l, word, NULL);
			else if (up_add(p, l, word, NULL) != 0)
				return -1;
		}
		return 0;
	}
	return 0; /* any other setting is not ours to apply */
}

/* userprefs_parse - prefs from the text of a file */
struct userprefs *
userprefs_parse(const char *text, size_t len)
{
	struct userprefs *p = calloc(1, sizeof(*p));
	size_t i = 0;

	if (p == NULL)
		return NULL;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = (nl ? (size_t)(nl - text) : len) - i;
		char *line = strndup(text + i, n), *s, *e;
		int rc;

		i += n + 1;
		if (line == NULL)
			goto nomem;
		/* '#' starts a comment unless escaped, as in SpamAssassin */
		for (s = line, e = line; *s; s++) {
			if (*s == '\\' && s[1] == '#') {
				*e++ = '#';
				s++;
			} else if (*s == '#') {
				break;
			} else {
				*e++ = *s;
			}
		}
		*e = '\0';
		for (s = line; isspace((unsigned char)*s);)
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		rc = *s ? up_line(p, s) : 0;
		free(line);
		if (rc != 0)
			goto nomem;
	}
	return p;
nomem:
	userprefs_free(p);
	return NULL;
}

/* userprefs_free - free prefs made by userprefs_parse */
void
userprefs_free(struct userprefs *p)
{
	if (p == NULL)
		return;
	for (int l = 0; l < UP_NLISTS; l++) {
		for (size_t i = 0; i < p->nlists[l]; i++) {
			free(p->lists[l][i].glob);
			free(p->lists[l][i].sdid);
		}
		free(p->lists[l]);
	}
	for (size_t i = 0; i < p->nscores; i++)
		free(p->scores[i].rule);
	free(p->scores);
	free(p);
}

/* userprefs_required - the user's required_score, if set */
bool
userprefs_required(const struct userprefs *p, double *out)
{
	if (p == NULL || !p->has_required)
		return false;
	*out = p->required;
	return true;
}

/* userprefs_score - the user's score for rule, if set */
bool
userprefs_score(const struct userprefs *p, const char *rule, double *out)
{
	for (size_t i = 0; p != NULL && i < p->nscores; i++)
		if (strcmp(p->scores[i].rule, rule) == 0) {
			*out = p->scores[i].score;
			return true;
		}
	return false;
}

/* up_glob_char - SpamAssassin turns NUL, '\\' and '(' into '_' */
static int
up_glob_char(int c)
{
	c = tolower(c);
	return c == '\\' || c == '(' ? '_' : c;
}

/* userprefs_glob_match - SpamAssassin's address glob */
bool
userprefs_glob_match(const char *glob, const char *addr)
{
	const char *star = NULL, *resume = NULL;

	/* the classic greedy matcher with one backtrack point: linear
	 * enough for address-sized strings, and no regex to compile */
	while (*addr) {
		if (*glob == '*') {
			while (*glob == '*')
				glob++;
			star = glob;
			resume = addr;
		} else if (*glob != '\0' &&
			   (*glob == '?' ||
			    up_glob_char((unsigned char)*glob) ==
				tolower((unsigned char)*addr))) {
			glob++;
			addr++;
		} else if (star != NULL) {
			glob = star;
			addr = ++resume;
		} else {
			return false;
		}
	}
	while (*glob == '*')
		glob++;
	return *glob == '\0';
}

/* up_match - the first entry of list l that addr matches, or NULL */
static const struct up_entry *
up_match(const struct userprefs *p, enum up_list l, const char *addr)
{
	for (size_t i = 0; addr != NULL && i < p->nlists[l]; i++)
		if (userprefs_glob_match(p->lists[l][i].glob, addr))
			return &p->lists[l][i];
	return NULL;
}

/* up_sdid - the signing domain SpamAssassin compares: i='s domain or d= */
static const char *
up_sdid(const struct dkim_outcome *d)
{
	const char *at = strrchr(d->identity, '@');

	return at != NULL && at[1] != '\0' ? at + 1 : d->domain;
}

/* up_sdid_ok - does a signing domain satisfy an entry's wanted one? */
static bool
up_sdid_ok(const char *sdid, const char *want, const char *author)
{
	size_t n = strlen(sdid), w;

	if (want == NULL || *want == '\0')
		return strcasecmp(sdid, author) == 0;
	/* "*.example.com" and ".example.com" mean strict subdomains */
	if (want[0] == '.' || (want[0] == '*' && want[1] == '.')) {
		want += want[0] == '*' ? 1 : 0;
		w = strlen(want);
		return n > w && strcasecmp(sdid + n - w, want) == 0;
	}
	return strcasecmp(sdid, want) == 0;
}

/* up_dkim_ok - a passing signature acceptable for author and entry? */
static bool
up_dkim_ok(const struct auth_results *r, const char *author, const char *want)
{
	const char *dom = strrchr(author, '@');

	if (r == NULL || dom == NULL)
		return false;
	for (size_t i = 0; r->dkim != NULL && i < r->ndkim; i++)
		if (r->dkim[i].result == RES_PASS &&
		    up_sdid_ok(up_sdid(&r->dkim[i]), want, dom + 1))
			return true;
	return false;
}

/* up_dkim_welcome - the DKIM welcome list (or _auth) entry that applies,
 * or NULL; *list says which directive it came from */
static const struct up_entry *
up_dkim_welcome(const struct userprefs *p, const struct userprefs_facts *f,
		enum up_list *list)
{
	for (size_t a = 0; a < f->nfrom; a++) {
		const char *addr = f->from_addrs[a];

		for (size_t i = 0; i < p->nlists[UP_DKIM]; i++) {
			const struct up_entry *e = &p->lists[UP_DKIM][i];

			if (userprefs_glob_match(e->glob, addr) &&
			    up_dkim_ok(f->results, addr, e->sdid)) {
				*list = UP_DKIM;
				return e;
			}
		}
		for (size_t i = 0; i < p->nlists[UP_AUTH]; i++)
			if (userprefs_glob_match(p->lists[UP_AUTH][i].glob,
						 addr) &&
			    up_dkim_ok(f->results, addr, "")) {
				*list = UP_AUTH;
				return &p->lists[UP_AUTH][i];
			}
	}
	return NULL;
}

/* up_spf_welcome - the SPF welcome list (or _auth) entry that applies */
static const struct up_entry *
up_spf_welcome(const struct userprefs *p, const struct userprefs_facts *f,
	       enum up_list *list)
{
	const char *env = f->envelope_from;
	const struct up_entry *e;

	if (env == NULL || *env == '\0' || f->results == NULL ||
	    !f->results->spf_mailfrom.checked ||
	    f->results->spf_mailfrom.result != RES_PASS)
		return NULL;
	if ((e = up_match(p, UP_SPF, env)) != NULL) {
		*list = UP_SPF;
		return e;
	}
	*list = UP_AUTH;
	return up_match(p, UP_AUTH, env);
}

/* up_any - the entry of list l that some From address matches */
static const struct up_entry *
up_any(const struct userprefs *p, enum up_list l,
       const struct userprefs_facts *f)
{
	const struct up_entry *e;

	for (size_t a = 0; a < f->nfrom; a++)
		if ((e = up_match(p, l, f->from_addrs[a])) != NULL)
			return e;
	return NULL;
}

/* up_directive - the user_prefs directive of a list, for explain mode */
static const char *
up_directive(enum up_list l)
{
	switch (l) {
	case UP_WELCOME:
		return "welcomelist_from";
	case UP_BLOCK:
		return "blocklist_from";
	case UP_AUTH:
		return "welcomelist_auth";
	case UP_SPF:
		return "welcomelist_from_spf";
	default:
		return "welcomelist_from_dkim";
	}
}

/* userprefs_eval - the USER_IN_* rules this message earns */
int
userprefs_eval(const struct userprefs *p, const struct userprefs_facts *f,
	       userprefs_hit_fn hit, void *arg)
{
	/* names, scores and descriptions of SpamAssassin 4.0.1's
	 * 60_welcomelist*.cf with its default enable_compat */
	static const struct {
		const char *rule;
		double score;
		const char *desc;
	} r[] = {
	    {USERPREFS_BLOCKLIST, 100,
	     "From: user is listed in the block-list"},
	    {USERPREFS_WELCOMELIST, -100,
	     "User is listed in 'welcomelist_from'"},
	    {USERPREFS_DKIM_WELCOMELIST, -100,
	     "From: address is in the user's DKIM welcomelist"},
	    {USERPREFS_SPF_WELCOMELIST, -100,
	     "From: address is in the user's SPF welcomelist"},
	};
	const struct up_entry *on[4];
	enum up_list list[4] = {UP_BLOCK, UP_WELCOME, UP_DKIM, UP_SPF};
	int rc = 0;

	if (p == NULL || f == NULL)
		return 0;
	on[0] = up_any(p, UP_BLOCK, f);
	on[1] = up_any(p, UP_WELCOME, f);
	on[2] = up_dkim_welcome(p, f, &list[2]);
	on[3] = up_spf_welcome(p, f, &list[3]);
	for (size_t i = 0; i < 4 && rc == 0; i++) {
		double s = r[i].score;

		if (on[i] == NULL)
			continue;
		userprefs_score(p, r[i].rule, &s);
		/* explain mode: the user_prefs line that matched */
		trace_line(f->trace, 0, "%s: user_prefs \"%s %s%s%s\"",
			   r[i].rule, up_directive(list[i]), on[i]->glob,
			   on[i]->sdid != NULL && on[i]->sdid[0] ? " " : "",
			   on[i]->sdid != NULL ? on[i]->sdid : "");
		rc = hit(arg, r[i].rule, s, r[i].desc);
	}
	return rc;
}
