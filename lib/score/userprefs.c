/*
 * userprefs.c - a recipient's SpamAssassin user_prefs: welcome and block
 * lists, required_score and score overrides
 *
 * Owns the parsed form of a user_prefs file, SpamAssassin's address globs,
 * the USER_IN_* decisions (see userprefs.h for the exact semantics, which
 * follow SpamAssassin 4.0.1's WLBLEval, DKIM and SPF plugins) and the
 * cache. The cache maps a path to the prefs parsed from one version of
 * the file (inode, size, mtime); a changed file is parsed again without
 * the lock held, and prefs are reference counted so that a thread still
 * scoring with the old version is never left with freed memory.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "score.h"
#include "userprefs.h"

#define UP_FILE_MAX (1u << 20) /* a user_prefs file is read up to 1 MiB */

enum up_list {
	UP_WELCOME = 0, /* welcomelist_from */
	UP_BLOCK,       /* blocklist_from */
	UP_AUTH,        /* welcomelist_auth: SPF or DKIM */
	UP_SPF,         /* welcomelist_from_spf */
	UP_DKIM,        /* welcomelist_from_dkim ADDR [SDID] */
	UP_NLISTS,
};

struct up_entry {
	char *glob; /* lower case */
	char *sdid; /* UP_DKIM only: "" = the author's domain */
};

struct up_score {
	char *rule;
	double score;
};

struct userprefs {
	struct up_entry *lists[UP_NLISTS];
	size_t nlists[UP_NLISTS];
	struct up_score *scores;
	size_t nscores;
	bool has_required;
	double required;
	unsigned refs; /* under the cache lock; 0 for uncached prefs */
};

struct up_cached {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct userprefs *prefs;
	unsigned long used; /* for evicting the least recently used */
};

/* a user's home directory as the password database gave it, or none */
struct up_home {
	char *name;
	char *dir; /* NULL: no such user */
	time_t expires;
};

#define UP_HOME_TTL                                                            \
	60 /* seconds a home directory (or its absence) is                     \
	      trusted: getpwnam goes through NSS, which can                    \
	      open files or ask a daemon for every call */
#define UP_HOME_MAX 1024

struct userprefs_cache {
	pthread_mutex_t lock;
	struct up_cached *files;
	size_t nfiles, max;
	unsigned long clock;
	struct up_home *homes;
	size_t nhomes;
};

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
static char *
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
			p->required = d;
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

/* up_dkim_welcome - does the DKIM welcome list (or _auth) apply? */
static bool
up_dkim_welcome(const struct userprefs *p, const struct userprefs_facts *f)
{
	for (size_t a = 0; a < f->nfrom; a++) {
		const char *addr = f->from_addrs[a];

		for (size_t i = 0; i < p->nlists[UP_DKIM]; i++) {
			const struct up_entry *e = &p->lists[UP_DKIM][i];

			if (userprefs_glob_match(e->glob, addr) &&
			    up_dkim_ok(f->results, addr, e->sdid))
				return true;
		}
		for (size_t i = 0; i < p->nlists[UP_AUTH]; i++)
			if (userprefs_glob_match(p->lists[UP_AUTH][i].glob,
						 addr) &&
			    up_dkim_ok(f->results, addr, ""))
				return true;
	}
	return false;
}

/* up_spf_welcome - does the SPF welcome list (or _auth) apply? */
static bool
up_spf_welcome(const struct userprefs *p, const struct userprefs_facts *f)
{
	const char *env = f->envelope_from;

	if (env == NULL || *env == '\0' || f->results == NULL ||
	    !f->results->spf_mailfrom.checked ||
	    f->results->spf_mailfrom.result != RES_PASS)
		return false;
	return up_match(p, UP_SPF, env) != NULL ||
	       up_match(p, UP_AUTH, env) != NULL;
}

/* up_any - does any From address match list l? */
static bool
up_any(const struct userprefs *p, enum up_list l,
       const struct userprefs_facts *f)
{
	for (size_t a = 0; a < f->nfrom; a++)
		if (up_match(p, l, f->from_addrs[a]) != NULL)
			return true;
	return false;
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
	bool on[4];
	int rc = 0;

	if (p == NULL || f == NULL)
		return 0;
	on[0] = up_any(p, UP_BLOCK, f);
	on[1] = up_any(p, UP_WELCOME, f);
	on[2] = up_dkim_welcome(p, f);
	on[3] = up_spf_welcome(p, f);
	for (size_t i = 0; i < 4 && rc == 0; i++) {
		double s = r[i].score;

		if (!on[i])
			continue;
		userprefs_score(p, r[i].rule, &s);
		rc = hit(arg, r[i].rule, s, r[i].desc);
	}
	return rc;
}

/* up_skip_comment - past a (possibly nested) comment; s at '(' */
static const char *
up_skip_comment(const char *s)
{
	int depth = 0;

	for (; *s; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '(')
			depth++;
		else if (*s == ')' && --depth == 0)
			return s + 1;
	}
	return s;
}

/* up_keep_addr - store one candidate "local@domain" if it looks like one */
static size_t
up_keep_addr(const char *buf, size_t len, char (*out)[RES_ADDRESS_MAX],
	     size_t n, size_t max, bool lower)
{
	const char *at;

	/* drop an obsolete source route "@a,@b:" */
	if (len > 0 && buf[0] == '@') {
		const char *colon = memchr(buf, ':', len);

		if (colon == NULL)
			return n;
		len -= (size_t)(colon + 1 - buf);
		buf = colon + 1;
	}
	at = len > 0 ? memrchr(buf, '@', len) : NULL;
	if (at == NULL || at == buf || at == buf + len - 1 ||
	    len >= RES_ADDRESS_MAX || n >= max)
		return n;
	memcpy(out[n], buf, len);
	out[n][len] = '\0';
	if (lower)
		up_lower(out[n]);
	return n + 1;
}

/* userprefs_header_addrs - the addr-specs in header values */
size_t
userprefs_header_addrs(const char *const *values, size_t nvalues,
		       char (*out)[RES_ADDRESS_MAX], size_t max, bool lower)
{
	size_t n = 0;

	for (size_t v = 0; v < nvalues; v++) {
		const char *s = values[v];
		char bare[RES_ADDRESS_MAX], angle[RES_ADDRESS_MAX];
		size_t nb = 0, na = 0;
		bool in_angle = false, have_angle = false;

		if (s == NULL)
			continue;
		/* one mailbox per top-level ',' (or ':'/';' of a group):
		 * the <angle-addr> if there is one, else the bare words */
		for (;; s++) {
			char c = *s;

			if (c == '(') {
				s = up_skip_comment(s) - 1;
				continue;
			}
			if (c == '"') {
				for (s++; *s && *s != '"'; s++)
					if (*s == '\\' && s[1] != '\0')
						s++;
				if (*s == '\0')
					s--;
				continue;
			}
			if (c == '<' && !in_angle) {
				in_angle = have_angle = true;
				na = 0;
				continue;
			}
			if (c == '>' && in_angle) {
				in_angle = false;
				continue;
			}
			if (c == '\0' || (!in_angle && strchr(",:;", c))) {
				if (c == ':' && !have_angle)
					nb = 0; /* a group's display name */
				else if (have_angle)
					n = up_keep_addr(angle, na, out, n, max,
							 lower);
				else
					n = up_keep_addr(bare, nb, out, n, max,
							 lower);
				nb = na = 0;
				have_angle = false;
				if (c == '\0')
					break;
				continue;
			}
			if (isspace((unsigned char)c))
				continue;
			if (in_angle && na < sizeof(angle) - 1)
				angle[na++] = c;
			else if (!in_angle && nb < sizeof(bare) - 1)
				bare[nb++] = c;
		}
	}
	return n;
}

/*
 * up_home_lookup - name's home directory into dir (via the cache when c
 * is not NULL); 0, or -1 when there is no such user or it does not fit
 */
static int
up_home_lookup(struct userprefs_cache *c, const char *name, char *dir,
	       size_t dirlen)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	struct up_home *h = NULL;
	struct timespec now;
	int rc = -1;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (c != NULL) {
		pthread_mutex_lock(&c->lock);
		for (size_t i = 0; i < c->nhomes; i++)
			if (strcmp(c->homes[i].name, name) == 0 &&
			    c->homes[i].expires > now.tv_sec) {
				h = &c->homes[i];
				rc = h->dir != NULL && strlen(h->dir) < dirlen
					 ? (snprintf(dir, dirlen, "%s", h->dir), 0)
					 : -1;
				break;
			}
		pthread_mutex_unlock(&c->lock);
		if (h != NULL)
			return rc;
	}
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res != NULL &&
	    pw.pw_dir != NULL && strlen(pw.pw_dir) < dirlen) {
		snprintf(dir, dirlen, "%s", pw.pw_dir);
		rc = 0;
	}
	if (c == NULL)
		return rc;
	pthread_mutex_lock(&c->lock);
	/* a full table is simply emptied: it is only a cache */
	if (c->nhomes == UP_HOME_MAX) {
		for (size_t i = 0; i < c->nhomes; i++) {
			free(c->homes[i].name);
			free(c->homes[i].dir);
		}
		c->nhomes = 0;
	}
	if (c->homes == NULL)
		c->homes = calloc(UP_HOME_MAX, sizeof(*c->homes));
	if (c->homes != NULL) {
		h = &c->homes[c->nhomes];
		h->name = strdup(name);
		h->dir = rc == 0 ? strdup(dir) : NULL;
		h->expires = now.tv_sec + UP_HOME_TTL;
		if (h->name != NULL && (rc != 0 || h->dir != NULL))
			c->nhomes++;
		else {
			free(h->name);
			free(h->dir);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* userprefs_path - expand a UserPrefs template for one user */
int
userprefs_path(struct userprefs_cache *c, const char *tmpl, const char *user,
	       const char *domain, char *out, size_t outlen)
{
	char exp[4096], *rest, name[256], home[4096];
	size_t nlen;

	if (tmpl == NULL || *tmpl == '\0' ||
	    score_expand_template(tmpl, user, domain, exp, sizeof(exp)) != 0)
		return -1;
	if (exp[0] != '~') {
		if (snprintf(out, outlen, "%s", exp) >= (int)outlen)
			return -1;
		return 0;
	}
	rest = exp + 1 + strcspn(exp + 1, "/");
	nlen = (size_t)(rest - exp - 1);
	if (nlen == 0 || nlen >= sizeof(name))
		return -1;
	memcpy(name, exp + 1, nlen);
	name[nlen] = '\0';
	if (up_home_lookup(c, name, home, sizeof(home)) != 0 ||
	    snprintf(out, outlen, "%s%s", home, rest) >= (int)outlen)
		return -1;
	return 0;
}

/* userprefs_cache_new - an empty cache of at most max files */
struct userprefs_cache *
userprefs_cache_new(size_t max)
{
	struct userprefs_cache *c = calloc(1, sizeof(*c));
	struct passwd pw, *res;
	char buf[1024];

	/* glibc loads its NSS configuration at the first getpwnam_r and
	 * crashes there (2.36: an assertion or a NULL dereference) when an
	 * allocation fails: make that first look-up now, at start-up, not
	 * in the middle of a message */
	(void)getpwnam_r("root", &pw, buf, sizeof(buf), &res);
	if (c == NULL)
		return NULL;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	c->max = max > 0 ? max : 1;
	return c;
}

/* up_unref - drop one reference; the caller holds the lock */
static void
up_unref(struct userprefs *p)
{
	if (p != NULL && --p->refs == 0)
		userprefs_free(p);
}

/* userprefs_cache_free - free the cache */
void
userprefs_cache_free(struct userprefs_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nfiles; i++) {
		free(c->files[i].path);
		up_unref(c->files[i].prefs);
	}
	free(c->files);
	for (size_t i = 0; i < c->nhomes; i++) {
		free(c->homes[i].name);
		free(c->homes[i].dir);
	}
	free(c->homes);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* up_read - parse the file open on fd (st from fstat); NULL on failure */
static struct userprefs *
up_read(int fd, const struct stat *st)
{
	size_t want = st->st_size > (off_t)UP_FILE_MAX ? UP_FILE_MAX
						       : (size_t)st->st_size;
	char *text = malloc(want + 1);
	struct userprefs *p = NULL;
	size_t got = 0;

	if (text == NULL)
		return NULL;
	while (got < want) {
		ssize_t r = read(fd, text + got, want - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got == want)
		p = userprefs_parse(text, got);
	free(text);
	return p;
}

/* up_same - is the cached version the file that st describes? */
static bool
up_same(const struct up_cached *f, const struct stat *st)
{
	return f->dev == st->st_dev && f->ino == st->st_ino &&
	       f->size == st->st_size &&
	       f->mtime.tv_sec == st->st_mtim.tv_sec &&
	       f->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* up_store - put fresh prefs in the cache; the caller holds the lock */
static void
up_store(struct userprefs_cache *c, const char *path, const struct stat *st,
	 struct userprefs *p)
{
	struct up_cached *f = NULL;

	for (size_t i = 0; i < c->nfiles && f == NULL; i++)
		if (strcmp(c->files[i].path, path) == 0)
			f = &c->files[i];
	if (f == NULL && c->nfiles < c->max) {
		struct up_cached *grown =
		    realloc(c->files, (c->nfiles + 1) * sizeof(*grown));
		char *copy = strdup(path);

		if (grown != NULL)
			c->files = grown;
		if (grown == NULL || copy == NULL) {
			free(copy);
			return; /* not cached: only slower */
		}
		f = &c->files[c->nfiles++];
		memset(f, 0, sizeof(*f));
		f->path = copy;
	} else if (f == NULL) {
		char *copy = strdup(path);
		size_t lru = 0;

		if (copy == NULL)
			return;
		for (size_t i = 1; i < c->nfiles; i++)
			if (c->files[i].used < c->files[lru].used)
				lru = i;
		f = &c->files[lru];
		free(f->path);
		f->path = copy;
	} else {
		/* same path, new version */
	}
	up_unref(f->prefs);
	f->prefs = p;
	p->refs++;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime = st->st_mtim;
	f->used = ++c->clock;
}

/* userprefs_get - the prefs in the file at path, cached */
const struct userprefs *
userprefs_get(struct userprefs_cache *c, const char *path)
{
	struct userprefs *p = NULL;
	struct stat st;
	int fd;

	if (c == NULL || path == NULL || stat(path, &st) != 0 ||
	    !S_ISREG(st.st_mode))
		return NULL;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i].path, path) == 0 &&
		    up_same(&c->files[i], &st)) {
			p = c->files[i].prefs;
			p->refs++;
			c->files[i].used = ++c->clock;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	if (p != NULL)
		return p;

	/* read and parse with no lock held: other users go on meanwhile */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (p = up_read(fd, &st)) == NULL) {
		close(fd);
		return NULL;
	}
	close(fd);
	pthread_mutex_lock(&c->lock);
	p->refs = 1; /* the caller's */
	up_store(c, path, &st, p);
	pthread_mutex_unlock(&c->lock);
	return p;
}

/* userprefs_release - drop a reference taken by userprefs_get */
void
userprefs_release(struct userprefs_cache *c, const struct userprefs *p)
{
	if (c == NULL || p == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	/* the cache handed out this pointer; it is ours to count */
	up_unref((struct userprefs *)p);
	pthread_mutex_unlock(&c->lock);
}
