/*
 * dkim_signtab.c - which keys sign a message, configured the way
 * opendkim is: KeyTable + SigningTable, or Domain + Selector + KeyFile
 *
 * Owns the loaded tables and the private keys they name (read once at
 * start and on reload; a key path holding '%' is read per message), the
 * signing options every signature shares (h= list after SignHeaders and
 * OmitHeaders, OversignHeaders, Canonicalization, SignatureTTL), and the
 * lookup of a From address: for a SigningTable file, opendkim's order
 * (user@host, host, user@.parent..., .parent..., user@*, *); for a
 * refile:, its '*' patterns in file order. Immutable once built, so
 * every thread reads it without a lock.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dataset.h"
#include "dkim_signtab.h"
#include "strbuf.h"

/* RFC 6376 5.4: SHOULD NOT be signed; opendkim's OmitHeaders default */
static const char signtab_default_omit[] =
    "return-path:received:comments:keywords:bcc:resent-bcc:dkim-signature";

struct signtab_key {
	char *name;
	char *domain;   /* d=, or "%": the From domain */
	char *selector;
	char *path;     /* a key file whose name holds '%', else NULL */
	struct dkim_signkey *key; /* NULL when path is set */
	char *where;    /* "file:line" */
};

struct signtab_rule {
	char *pattern; /* SigningTable key */
	char *keyname; /* "%": the From domain */
	char *signer;  /* i= template, or NULL */
};

struct dkim_signtab {
	bool active;
	bool patterns; /* refile: SigningTable */
	bool multiple;
	bool sub_domains;
	bool keyfile_mode; /* Domain + Selector + KeyFile */
	struct signtab_key *keys;
	size_t nkeys;
	struct signtab_rule *rules;
	size_t nrules;
	char **domains; /* Domain, when KeyFile mode */
	size_t ndomains;
	char *hlist;    /* h= candidates, colon-separated */
	char *oversign; /* colon-separated, may be "" */
	enum dkim_canon hcanon, bcanon;
	unsigned ttl;
	struct strbuf warnings;
};

/* signtab_where - "file:line" or "inline item N" */
static char *
signtab_where(const struct dataset *ds, const struct dataset_entry *e)
{
	struct strbuf sb = STRBUF_INIT;

	if (ds->kind == DATASET_LIST)
		sb_printf(&sb, "item %u", e->line);
	else
		sb_printf(&sb, "%s:%u", ds->where, e->line);
	return sb_steal(&sb);
}

/* signtab_valid_name - a d= or s= we may write: letters, digits, '-',
 * '.', '_' */
static bool
signtab_valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 253)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-._", *s))
			return false;
	return true;
}

/* signtab_lower - lower-case s in place */
static void
signtab_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* signtab_read_key - read key text or the file it names into k */
static int
signtab_read_key(struct dkim_signtab *tab, const struct config *cfg,
		 struct signtab_key *k, const char *keypath, char *err,
		 size_t errlen)
{
	char why[512];
	bool unsafe = false;

	if (keypath[0] != '/' && strncmp(keypath, "./", 2) != 0 &&
	    strncmp(keypath, "../", 3) != 0) {
		/* opendkim: anything else is the key itself */
		k->key = dkim_signkey_parse(keypath, k->where, err, errlen);
		return k->key != NULL ? 0 : -1;
	}
	if (strchr(keypath, '%') != NULL) {
		/* the file depends on the From domain: read per message */
		return (k->path = strdup(keypath)) != NULL ? 0 : -1;
	}
	if ((k->key = dkim_signkey_load(keypath, &unsafe, why, sizeof(why))) ==
	    NULL) {
		snprintf(err, errlen, "%s: %s", k->where, why);
		return -1;
	}
	if (unsafe && cfg->require_safe_keys) {
		snprintf(err, errlen,
			 "%s: %s is readable or writable by group or others "
			 "(RequireSafeKeys yes)",
			 k->where, keypath);
		return -1;
	}
	if (unsafe)
		sb_printf(&tab->warnings,
			  "%s: key file %s is readable or writable by group "
			  "or others; chmod 600 it\n",
			  k->where, keypath);
	return 0;
}

/* signtab_add_key - one KeyTable line: "name domain:selector:keypath" */
static int
signtab_add_key(struct dkim_signtab *tab, const struct config *cfg,
		const struct dataset *ds, const struct dataset_entry *e,
		char *err, size_t errlen)
{
	struct signtab_key *k = &tab->keys[tab->nkeys];
	char *value, *sel, *keypath;

	memset(k, 0, sizeof(*k));
	if ((k->where = signtab_where(ds, e)) == NULL ||
	    (k->name = strdup(e->key)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	tab->nkeys++; /* from here on freed with the table */
	value = e->value != NULL ? strdup(e->value) : NULL;
	if (value == NULL || (sel = strchr(value, ':')) == NULL ||
	    (keypath = strchr(sel + 1, ':')) == NULL) {
		free(value);
		snprintf(err, errlen,
			 "%s: %s: expected domain:selector:keypath after "
			 "the key name",
			 k->where, e->key);
		return -1;
	}
	*sel++ = '\0';
	*keypath++ = '\0';
	signtab_lower(value);
	if ((strcmp(value, "%") != 0 && !signtab_valid_name(value)) ||
	    !signtab_valid_name(sel) || *keypath == '\0') {
		snprintf(err, errlen,
			 "%s: %s: bad domain, selector or key path", k->where,
			 e->key);
		free(value);
		return -1;
	}
	k->domain = strdup(value);
	k->selector = strdup(sel);
	if (k->domain == NULL || k->selector == NULL) {
		snprintf(err, errlen, "out of memory");
		free(value);
		return -1;
	}
	if (signtab_read_key(tab, cfg, k, keypath, err, errlen) != 0) {
		free(value);
		return -1;
	}
	free(value);
	return 0;
fail:
	free(k->where);
	return -1;
}

/* signtab_find_key - the KeyTable entry called name, or NULL */
static const struct signtab_key *
signtab_find_key(const struct dkim_signtab *tab, const char *name)
{
	for (size_t i = 0; i < tab->nkeys; i++)
		if (strcasecmp(tab->keys[i].name, name) == 0)
			return &tab->keys[i];
	return NULL;
}

/* signtab_load_tables - KeyTable and SigningTable */
static int
signtab_load_tables(struct dkim_signtab *tab, const struct config *cfg,
		    char *err, size_t errlen)
{
	struct dataset *kt = NULL, *st = NULL;
	int rc = -1;

	if (cfg->signing_table == NULL) {
		snprintf(err, errlen, "KeyTable is set but SigningTable is "
				      "not: nothing says which key signs "
				      "which mail");
		return -1;
	}
	if (dataset_load(cfg->key_table, &kt, err, errlen) != 0 ||
	    dataset_load(cfg->signing_table, &st, err, errlen) != 0)
		goto out;
	tab->patterns = st->kind == DATASET_REFILE;
	if ((kt->n > 0 && (tab->keys = calloc(kt->n, sizeof(*tab->keys))) ==
			      NULL) ||
	    (st->n > 0 && (tab->rules = calloc(st->n, sizeof(*tab->rules))) ==
			      NULL)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < kt->n; i++)
		if (signtab_add_key(tab, cfg, kt, &kt->entries[i], err,
				    errlen) != 0)
			goto out;
	for (size_t i = 0; i < st->n; i++) {
		const struct dataset_entry *e = &st->entries[i];
		struct signtab_rule *r = &tab->rules[tab->nrules];
		char *colon, where[600];

		snprintf(where, sizeof(where), "%s:%u", st->where, e->line);
		if (e->value == NULL) {
			snprintf(err, errlen,
				 "%s: %s: expected a key name after the "
				 "pattern",
				 where, e->key);
			goto out;
		}
		r->pattern = strdup(e->key);
		r->keyname = strdup(e->value);
		if (r->pattern == NULL || r->keyname == NULL) {
			free(r->pattern);
			free(r->keyname);
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		tab->nrules++;
		signtab_lower(r->pattern);
		/* "keyname:signer" or "keyname signer": i= template */
		if ((colon = strpbrk(r->keyname, ": \t")) != NULL) {
			*colon++ = '\0';
			while (*colon == ' ' || *colon == '\t')
				colon++;
			if (*colon != '\0' &&
			    (r->signer = strdup(colon)) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
		}
		if (strcmp(r->keyname, "%") != 0 &&
		    signtab_find_key(tab, r->keyname) == NULL) {
			snprintf(err, errlen,
				 "%s: key name %s is not in the KeyTable (%s)",
				 where, r->keyname, kt->where);
			goto out;
		}
	}
	rc = 0;
out:
	dataset_free(kt);
	dataset_free(st);
	return rc;
}

/* signtab_load_domains - Domain + Selector + KeyFile: one key */
static int
signtab_load_domains(struct dkim_signtab *tab, const struct config *cfg,
		     char *err, size_t errlen)
{
	struct dataset *ds = NULL;
	struct signtab_key *k;

	if (cfg->sign_domain == NULL || cfg->sign_selector == NULL ||
	    cfg->sign_keyfile == NULL) {
		snprintf(err, errlen,
			 "signing needs Domain, Selector and KeyFile together "
			 "(or KeyTable and SigningTable); %s is missing",
			 cfg->sign_domain == NULL     ? "Domain"
			 : cfg->sign_selector == NULL ? "Selector"
						      : "KeyFile");
		return -1;
	}
	if (dataset_load(cfg->sign_domain, &ds, err, errlen) != 0)
		return -1;
	if ((tab->keys = calloc(1, sizeof(*tab->keys))) == NULL ||
	    (ds->n > 0 &&
	     (tab->domains = calloc(ds->n, sizeof(*tab->domains))) == NULL)) {
		snprintf(err, errlen, "out of memory");
		dataset_free(ds);
		return -1;
	}
	for (size_t i = 0; i < ds->n; i++) {
		if ((tab->domains[i] = strdup(ds->entries[i].key)) == NULL) {
			snprintf(err, errlen, "out of memory");
			dataset_free(ds);
			return -1;
		}
		tab->ndomains++;
		signtab_lower(tab->domains[i]);
		if (!signtab_valid_name(tab->domains[i])) {
			snprintf(err, errlen, "Domain: %s is not a domain name",
				 tab->domains[i]);
			dataset_free(ds);
			return -1;
		}
	}
	dataset_free(ds);
	tab->keyfile_mode = true;
	k = &tab->keys[0];
	tab->nkeys = 1;
	k->name = strdup("KeyFile");
	k->domain = strdup("%");
	k->selector = strdup(cfg->sign_selector);
	k->where = strdup("KeyFile");
	if (k->name == NULL || k->domain == NULL || k->selector == NULL ||
	    k->where == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (cfg->sign_keyfile[0] != '/' &&
	    strncmp(cfg->sign_keyfile, "./", 2) != 0 &&
	    strncmp(cfg->sign_keyfile, "../", 3) != 0) {
		snprintf(err, errlen, "KeyFile: expected a path");
		return -1;
	}
	return signtab_read_key(tab, cfg, k, cfg->sign_keyfile, err, errlen);
}

/* signtab_list_edit - apply a SignHeaders/OmitHeaders value to the
 * colon-separated list in sb: a plain list replaces it, one with "*"
 * edits it ("+name" adds, "-name" removes) */
static int
signtab_list_edit(struct strbuf *sb, const char *spec, char *err,
		  size_t errlen)
{
	struct dataset *ds;
	struct strbuf out = STRBUF_INIT;
	bool delta = false;

	if (dataset_load(spec, &ds, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < ds->n; i++)
		delta |= strcmp(ds->entries[i].key, "*") == 0;
	if (delta)
		sb_puts(&out, sb_str(sb));
	for (size_t i = 0; i < ds->n; i++) {
		const char *name = ds->entries[i].key;
		bool minus = false;

		if (strcmp(name, "*") == 0)
			continue;
		if (delta && (*name == '+' || *name == '-')) {
			minus = *name == '-';
			name++;
		}
		if (minus) {
			/* rebuild without that name */
			struct strbuf keep = STRBUF_INIT;
			char *copy = strdup(sb_str(&out)), *save = NULL, *tok;

			for (tok = copy ? strtok_r(copy, ":", &save) : NULL;
			     tok != NULL; tok = strtok_r(NULL, ":", &save))
				if (strcasecmp(tok, name) != 0)
					sb_printf(&keep, "%s%s",
						  keep.len ? ":" : "", tok);
			free(copy);
			sb_truncate(&out, 0);
			sb_puts(&out, sb_str(&keep));
			sb_free(&keep);
			continue;
		}
		sb_printf(&out, "%s%s", out.len ? ":" : "", name);
	}
	dataset_free(ds);
	signtab_lower(out.s != NULL ? out.s : (char[]){""});
	sb_truncate(sb, 0);
	sb_puts(sb, sb_str(&out));
	sb_free(&out);
	if (sb_failed(sb)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* signtab_headers - the h= candidates: SignHeaders minus OmitHeaders,
 * From always in (RFC 6376 5.4 makes it mandatory) */
static int
signtab_headers(struct dkim_signtab *tab, const struct config *cfg,
		char *err, size_t errlen)
{
	struct strbuf sign = STRBUF_INIT, omit = STRBUF_INIT, out = STRBUF_INIT;
	char *copy = NULL, *save = NULL, *tok;
	bool from = false;
	int rc = -1;

	sb_puts(&sign, dkim_sign_default_headers());
	sb_puts(&omit, signtab_default_omit);
	if ((cfg->sign_headers != NULL &&
	     signtab_list_edit(&sign, cfg->sign_headers, err, errlen) != 0) ||
	    (cfg->omit_headers != NULL &&
	     signtab_list_edit(&omit, cfg->omit_headers, err, errlen) != 0))
		goto out;
	if ((copy = strdup(sb_str(&sign))) == NULL)
		goto oom;
	for (tok = strtok_r(copy, ":", &save); tok != NULL;
	     tok = strtok_r(NULL, ":", &save)) {
		bool omitted = false;
		const char *o = sb_str(&omit);

		/* From cannot be omitted: it is what a signature vouches for */
		while (strcmp(tok, "from") != 0 && *o != '\0') {
			size_t len = strcspn(o, ":");

			omitted |= strlen(tok) == len && strncmp(o, tok, len) == 0;
			o += len + (o[len] == ':');
		}
		if (omitted)
			continue;
		from |= strcmp(tok, "from") == 0;
		sb_printf(&out, "%s%s", out.len ? ":" : "", tok);
	}
	if (!from)
		sb_printf(&out, "%sfrom", out.len ? ":" : "");
	if (sb_failed(&out) || (tab->hlist = sb_steal(&out)) == NULL)
		goto oom;
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(copy);
	sb_free(&sign);
	sb_free(&omit);
	sb_free(&out);
	return rc;
}

/* signtab_oversign - OversignHeaders as a colon-separated list */
static int
signtab_oversign(struct dkim_signtab *tab, const struct config *cfg,
		 char *err, size_t errlen)
{
	struct strbuf sb = STRBUF_INIT;

	if (cfg->oversign_headers != NULL &&
	    signtab_list_edit(&sb, cfg->oversign_headers, err, errlen) != 0) {
		sb_free(&sb);
		return -1;
	}
	if ((tab->oversign = strdup(sb_str(&sb))) == NULL) {
		snprintf(err, errlen, "out of memory");
		sb_free(&sb);
		return -1;
	}
	sb_free(&sb);
	return 0;
}

/* dkim_signtab_new - read the tables and keys cfg names */
struct dkim_signtab *
dkim_signtab_new(const struct config *cfg, char *err, size_t errlen)
{
	struct dkim_signtab *tab = calloc(1, sizeof(*tab));
	char why[1024];
	int rc;

	if (tab == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	tab->multiple = cfg->multiple_signatures;
	tab->sub_domains = cfg->sub_domains;
	tab->hcanon = cfg->sign_hcanon == SIGN_CANON_RELAXED
			  ? DKIM_CANON_RELAXED
			  : DKIM_CANON_SIMPLE;
	tab->bcanon = cfg->sign_bcanon == SIGN_CANON_RELAXED
			  ? DKIM_CANON_RELAXED
			  : DKIM_CANON_SIMPLE;
	tab->ttl = cfg->signature_ttl;
	if (cfg->key_table == NULL && cfg->signing_table == NULL &&
	    cfg->sign_domain == NULL && cfg->sign_keyfile == NULL &&
	    cfg->sign_selector == NULL)
		return tab; /* no signing: inactive */
	if (cfg->key_table != NULL) {
		if (cfg->sign_domain != NULL || cfg->sign_keyfile != NULL)
			sb_printf(&tab->warnings,
				  "Domain and KeyFile are ignored: KeyTable "
				  "is set\n");
		rc = signtab_load_tables(tab, cfg, why, sizeof(why));
	} else if (cfg->signing_table != NULL) {
		snprintf(why, sizeof(why),
			 "SigningTable is set but KeyTable is not: the "
			 "table names keys that are defined nowhere");
		rc = -1;
	} else {
		rc = signtab_load_domains(tab, cfg, why, sizeof(why));
	}
	if (rc == 0)
		rc = signtab_headers(tab, cfg, why, sizeof(why));
	if (rc == 0)
		rc = signtab_oversign(tab, cfg, why, sizeof(why));
	if (rc != 0 || sb_failed(&tab->warnings)) {
		snprintf(err, errlen, "%s", rc != 0 ? why : "out of memory");
		dkim_signtab_free(tab);
		return NULL;
	}
	tab->active = true;
	return tab;
}

/* dkim_signtab_free - free the tables and their keys */
void
dkim_signtab_free(struct dkim_signtab *tab)
{
	if (tab == NULL)
		return;
	for (size_t i = 0; i < tab->nkeys; i++) {
		struct signtab_key *k = &tab->keys[i];

		free(k->name);
		free(k->domain);
		free(k->selector);
		free(k->path);
		free(k->where);
		dkim_signkey_free(k->key);
	}
	free(tab->keys);
	for (size_t i = 0; i < tab->nrules; i++) {
		free(tab->rules[i].pattern);
		free(tab->rules[i].keyname);
		free(tab->rules[i].signer);
	}
	free(tab->rules);
	for (size_t i = 0; i < tab->ndomains; i++)
		free(tab->domains[i]);
	free(tab->domains);
	free(tab->hlist);
	free(tab->oversign);
	sb_free(&tab->warnings);
	free(tab);
}

/* dkim_signtab_active - is any signing configured? */
bool
dkim_signtab_active(const struct dkim_signtab *tab)
{
	return tab != NULL && tab->active;
}

/* dkim_signtab_warnings - "" or warning lines */
const char *
dkim_signtab_warnings(const struct dkim_signtab *tab)
{
	return tab != NULL ? sb_str(&tab->warnings) : "";
}

/* signtab_expand - copy template into out with each '%' replaced by
 * domain; -1 when it does not fit */
static int
signtab_expand(const char *template, const char *domain, char *out,
	       size_t outlen)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = -1;

	for (const char *p = template; *p; p++)
		if (*p == '%')
			sb_puts(&sb, domain);
		else
			sb_putc(&sb, *p);
	if (!sb_failed(&sb) && sb.len < outlen) {
		memcpy(out, sb_str(&sb), sb.len + 1);
		rc = 0;
	}
	sb_free(&sb);
	return rc;
}

/* signtab_in_domain - is name d itself or below it? */
static bool
signtab_in_domain(const char *name, const char *d)
{
	size_t nl = strlen(name), dl = strlen(d);

	return strcasecmp(name, d) == 0 ||
	       (nl > dl && name[nl - dl - 1] == '.' &&
		strcasecmp(name + nl - dl, d) == 0);
}

/* signtab_choose - fill c for key k and rule r (NULL in KeyFile mode);
 * 0, or -1 with why */
static int
signtab_choose(const struct signtab_key *k, const struct signtab_rule *r,
	       const char *local, const char *domain, const char *d,
	       struct dkim_signchoice *c, char *why, size_t whylen)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->keyname, sizeof(c->keyname), "%s", k->name);
	snprintf(c->selector, sizeof(c->selector), "%s", k->selector);
	snprintf(c->domain, sizeof(c->domain), "%s",
		 strcmp(k->domain, "%") == 0 ? d : k->domain);
	if (r != NULL && r->signer != NULL &&
	    signtab_expand(r->signer, domain, c->identity,
			   sizeof(c->identity)) == 0) {
		const char *at = strrchr(c->identity, '@');

		/* opendkim drops an i= that is not within d= */
		if (at == NULL || !signtab_in_domain(at + 1, c->domain))
			c->identity[0] = '\0';
	}
	(void)local;
	if (k->key != NULL) {
		c->key = k->key;
		return 0;
	}
	{
		char path[4096], err[600];

		if (signtab_expand(k->path, domain, path, sizeof(path)) != 0 ||
		    (c->owned = dkim_signkey_load(path, NULL, err,
						  sizeof(err))) == NULL) {
			snprintf(why, whylen, "key %s: %s", k->name,
				 k->path != NULL ? err : "no key");
			return -1;
		}
	}
	c->key = c->owned;
	return 0;
}

/* signtab_lookup_key - add the rules whose pattern is key to hit[],
 * once each; false when no more may be added */
static bool
signtab_lookup_key(const struct dkim_signtab *tab, const char *key,
		   size_t *hit, size_t *n, size_t max)
{
	for (size_t i = 0; i < tab->nrules && *n < max; i++) {
		bool seen = false;

		if (strcasecmp(tab->rules[i].pattern, key) != 0)
			continue;
		for (size_t j = 0; j < *n; j++)
			seen |= hit[j] == i;
		if (!seen)
			hit[(*n)++] = i;
		if (!tab->multiple)
			return false;
	}
	return *n < max;
}

/* signtab_lookup_file - the rules matching in opendkim's order for a
 * plain SigningTable: user@host, host, user@.parent for each parent
 * domain, .parent for each, user@*, * */
static size_t
signtab_lookup_file(const struct dkim_signtab *tab, const char *local,
		    const char *domain, size_t *hit, size_t max)
{
	char key[RES_ADDRESS_MAX + RES_DOMAIN_MAX + 8];
	const char *p;
	size_t n = 0;

	snprintf(key, sizeof(key), "%s@%s", local, domain);
	if (!signtab_lookup_key(tab, key, hit, &n, max) ||
	    !signtab_lookup_key(tab, domain, hit, &n, max))
		return n;
	for (p = strchr(domain, '.'); p != NULL; p = strchr(p + 1, '.')) {
		snprintf(key, sizeof(key), "%s@%s", local, p);
		if (!signtab_lookup_key(tab, key, hit, &n, max))
			return n;
	}
	for (p = strchr(domain, '.'); p != NULL; p = strchr(p + 1, '.'))
		if (!signtab_lookup_key(tab, p, hit, &n, max))
			return n;
	snprintf(key, sizeof(key), "%s@*", local);
	if (signtab_lookup_key(tab, key, hit, &n, max))
		signtab_lookup_key(tab, "*", hit, &n, max);
	return n;
}

/* dkim_signtab_select - the signatures for a message from local@domain */
int
dkim_signtab_select(const struct dkim_signtab *tab, const char *local,
		    const char *domain, struct dkim_signchoice *out,
		    size_t max, char *why, size_t whylen)
{
	size_t hit[DKIM_SIGN_MAX], nhit = 0, n = 0;
	char addr[RES_ADDRESS_MAX + RES_DOMAIN_MAX];

	if (max > DKIM_SIGN_MAX)
		max = DKIM_SIGN_MAX;
	if (!dkim_signtab_active(tab) || max == 0) {
		snprintf(why, whylen, "signing not configured");
		return 0;
	}
	if (tab->keyfile_mode) {
		/* KeyFile mode: the listed domain is d= */
		for (size_t i = 0; i < tab->ndomains; i++)
			if (strcasecmp(domain, tab->domains[i]) == 0 ||
			    (tab->sub_domains &&
			     signtab_in_domain(domain, tab->domains[i])))
				return signtab_choose(&tab->keys[0], NULL,
						      local, domain,
						      tab->domains[i], out,
						      why, whylen) == 0
					   ? 1
					   : -1;
		snprintf(why, whylen, "%s is not a Domain to sign", domain);
		return 0;
	}
	if (tab->patterns) {
		snprintf(addr, sizeof(addr), "%s@%s", local, domain);
		for (size_t i = 0; i < tab->nrules && nhit < max; i++)
			if (dataset_wildcard(tab->rules[i].pattern, addr)) {
				hit[nhit++] = i;
				if (!tab->multiple)
					break;
			}
	} else {
		nhit = signtab_lookup_file(tab, local, domain, hit, max);
	}
	if (nhit == 0) {
		snprintf(why, whylen, "no signing table match for %s", domain);
		return 0;
	}
	for (size_t i = 0; i < nhit; i++) {
		const struct signtab_rule *r = &tab->rules[hit[i]];
		const struct signtab_key *k = signtab_find_key(
		    tab, strcmp(r->keyname, "%") == 0 ? domain : r->keyname);

		if (k == NULL) {
			snprintf(why, whylen, "no KeyTable entry named %s",
				 domain);
			goto fail;
		}
		if (signtab_choose(k, r, local, domain, domain, &out[n], why,
				   whylen) != 0)
			goto fail;
		n++;
	}
	return (int)n;
fail:
	for (size_t i = 0; i < n; i++)
		dkim_signchoice_free(&out[i]);
	return -1;
}

/* dkim_signchoice_free - free what a choice owns */
void
dkim_signchoice_free(struct dkim_signchoice *c)
{
	dkim_signkey_free(c->owned);
	c->owned = NULL;
	c->key = NULL;
}

/* dkim_signtab_opts - the signer's options for a choice */
void
dkim_signtab_opts(const struct dkim_signtab *tab,
		  const struct dkim_signchoice *c, struct dkim_signopts *opts)
{
	*opts = (struct dkim_signopts){
	    .domain = c->domain,
	    .selector = c->selector,
	    .identity = c->identity[0] != '\0' ? c->identity : NULL,
	    .hcanon = tab->hcanon,
	    .bcanon = tab->bcanon,
	    .sign_headers = tab->hlist,
	    .oversign = tab->oversign,
	    .ttl = tab->ttl,
	};
}

/* dkim_signtab_published - call fn for each key and d= it signs with
 * that is known before a message comes */
void
dkim_signtab_published(const struct dkim_signtab *tab,
		       void (*fn)(void *arg, const char *domain,
				  const char *selector,
				  const struct dkim_signkey *key,
				  const char *where),
		       void *arg)
{
	if (!dkim_signtab_active(tab))
		return;
	for (size_t i = 0; i < tab->nkeys; i++) {
		const struct signtab_key *k = &tab->keys[i];

		if (k->key == NULL)
			continue; /* read per message: its file varies */
		if (strcmp(k->domain, "%") != 0)
			fn(arg, k->domain, k->selector, k->key, k->where);
		else
			for (size_t d = 0; d < tab->ndomains; d++)
				fn(arg, tab->domains[d], k->selector, k->key,
				   k->where);
	}
}

/* dkim_signtab_named - the KeyTable entry called name, when its d= and
 * key are fixed (not "%"); false otherwise */
bool
dkim_signtab_named(const struct dkim_signtab *tab, const char *name,
		   const char **domain, const char **selector,
		   const struct dkim_signkey **key)
{
	const struct signtab_key *k;

	if (!dkim_signtab_active(tab) || (k = signtab_find_key(tab, name)) ==
					     NULL ||
	    k->key == NULL || strcmp(k->domain, "%") == 0)
		return false;
	*domain = k->domain;
	*selector = k->selector;
	*key = k->key;
	return true;
}
