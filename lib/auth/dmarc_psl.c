/*
 * dmarc_psl.c - the Public Suffix List, for RFC 7489 Organizational Domains
 *
 * Owns a hash set of the list's rules and the publicsuffix.org matching
 * algorithm. Keys are the rule's name in A-label form, prefixed with
 * "!" for exception rules and "*." for wildcard rules, stored in one
 * arena and found by offset, so the whole list is two allocations.
 *
 * libopendmarc 1.4.2 has a PSL lookup (opendmarc_get_tld), but measured
 * on the PSL project's own test vectors it compares case-sensitively
 * and gets wildcard and exception rules wrong (c.mm, b.c.kobe.jp,
 * b.test.ck ...), so RFC 7489 mode uses this code instead; it keeps no
 * process-global state either.
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc_psl.h"
#include "mailaddr.h"
#include "result.h"

struct dmarc_psl {
	char *arena; /* NUL-terminated keys */
	size_t arena_len, arena_cap;
	uint32_t *slots; /* arena offset + 1; 0 = empty */
	size_t nslots;   /* a power of two */
	size_t nrules;
};

/* psl_hash - FNV-1a */
static uint32_t
psl_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* psl_find_slot - the slot holding key, or the empty slot for it */
static size_t
psl_find_slot(const struct dmarc_psl *psl, const char *key)
{
	size_t mask = psl->nslots - 1, i = psl_hash(key) & mask;

	while (psl->slots[i] != 0 &&
	       strcmp(psl->arena + psl->slots[i] - 1, key) != 0)
		i = (i + 1) & mask;
	return i;
}

/* psl_has - is this key a rule? */
static bool
psl_has(const struct dmarc_psl *psl, const char *key)
{
	return psl->nslots > 0 && psl->slots[psl_find_slot(psl, key)] != 0;
}

/* psl_add_key - append one key to the arena (the set is built later) */
static int
psl_add_key(struct dmarc_psl *psl, const char *key)
{
	size_t len = strlen(key) + 1;

	if (psl->arena_len + len > psl->arena_cap) {
		size_t cap = psl->arena_cap ? psl->arena_cap * 2 : 65536;
		char *grown;

		while (cap < psl->arena_len + len)
			cap *= 2;
		if (cap > UINT32_MAX / 2 ||
		    (grown = realloc(psl->arena, cap)) == NULL)
			return -1;
		psl->arena = grown;
		psl->arena_cap = cap;
	}
	memcpy(psl->arena + psl->arena_len, key, len);
	psl->arena_len += len;
	psl->nrules++;
	return 0;
}

/* psl_build - hash every key of the arena (duplicates collapse) */
static int
psl_build(struct dmarc_psl *psl)
{
	size_t n = 16;

	while (n < psl->nrules * 2)
		n *= 2;
	psl->slots = calloc(n, sizeof(*psl->slots));
	if (psl->slots == NULL)
		return -1;
	psl->nslots = n;
	for (size_t off = 0; off < psl->arena_len;) {
		const char *key = psl->arena + off;
		size_t i = psl_find_slot(psl, key);

		if (psl->slots[i] == 0)
			psl->slots[i] = (uint32_t)off + 1;
		off += strlen(key) + 1;
	}
	return 0;
}

/*
 * psl_rule_key - the key for one rule line ("" to skip the line)
 *
 * A rule is the line up to the first white space; "//" starts a
 * comment line.
 */
static void
psl_rule_key(const char *line, char *key, size_t keylen)
{
	size_t len = strcspn(line, " \t\r\n");
	const char *prefix = "";
	char norm[RES_DOMAIN_MAX];

	key[0] = '\0';
	if (len == 0 || (len >= 2 && line[0] == '/' && line[1] == '/'))
		return;
	if (line[0] == '!') {
		prefix = "!";
		line++, len--;
	} else if (len >= 2 && line[0] == '*' && line[1] == '.') {
		prefix = "*.";
		line += 2, len -= 2;
	}
	if (mailaddr_domain_normalize(line, len, norm, sizeof(norm)) == 0)
		snprintf(key, keylen, "%s%s", prefix, norm);
}

/* dmarc_psl_load - read a list file */
struct dmarc_psl *
dmarc_psl_load(const char *path, char *err, size_t errlen)
{
	struct dmarc_psl *psl;
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;

	if (path == NULL || (fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "PublicSuffixList %s: %s",
			 path != NULL ? path : "(none)",
			 path != NULL ? strerror(errno) : "not set");
		return NULL;
	}
	psl = calloc(1, sizeof(*psl));
	if (psl == NULL)
		goto nomem;
	while (getline(&line, &cap, fp) >= 0) {
		char key[RES_DOMAIN_MAX + 2];

		psl_rule_key(line, key, sizeof(key));
		if (key[0] != '\0' && psl_add_key(psl, key) != 0)
			goto nomem;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "PublicSuffixList %s: read error", path);
		goto fail;
	}
	if (psl->nrules == 0) {
		snprintf(err, errlen, "PublicSuffixList %s: no rules", path);
		goto fail;
	}
	if (psl_build(psl) != 0)
		goto nomem;
	free(line);
	fclose(fp);
	return psl;
nomem:
	snprintf(err, errlen, "PublicSuffixList %s: out of memory", path);
fail:
	free(line);
	fclose(fp);
	dmarc_psl_free(psl);
	return NULL;
}

/* dmarc_psl_free - release a loaded list */
void
dmarc_psl_free(struct dmarc_psl *psl)
{
	if (psl == NULL)
		return;
	free(psl->arena);
	free(psl->slots);
	free(psl);
}

/* dmarc_psl_rules - how many rules were loaded */
size_t
dmarc_psl_rules(const struct dmarc_psl *psl)
{
	return psl != NULL ? psl->nrules : 0;
}

/*
 * psl_suffix_labels - how many labels of name (A-labels) are the public
 * suffix
 *
 * The longest matching rule wins, an exception rule wins over all and
 * gives its own name less the leftmost label; with no match the rule
 * "*" gives one label.
 */
static size_t
psl_suffix_labels(const struct dmarc_psl *psl, const char *name,
		  const size_t *starts, size_t nl)
{
	char key[RES_DOMAIN_MAX + 2];
	size_t best = 1;

	for (size_t i = 0; i < nl; i++) {
		const char *s = name + starts[i];

		snprintf(key, sizeof(key), "!%s", s);
		if (psl_has(psl, key))
			return nl - i - 1;
		if (best < nl - i && psl_has(psl, s))
			best = nl - i;
		if (best < nl - i && i + 1 < nl) {
			snprintf(key, sizeof(key), "*.%s",
				 name + starts[i + 1]);
			if (psl_has(psl, key))
				best = nl - i;
		}
	}
	return best;
}

/* dmarc_psl_org_domain - the registrable domain (RFC 7489 3.2) */
int
dmarc_psl_org_domain(const struct dmarc_psl *psl, const char *domain, char *out,
		     size_t outlen)
{
	char name[RES_DOMAIN_MAX];
	size_t starts[128], nl = 0, want, len, skip, pos = 0;

	if (psl == NULL || domain == NULL ||
	    mailaddr_domain_normalize(domain, strlen(domain), name,
				      sizeof(name)) != 0)
		return -1;
	for (size_t i = 0; name[i] != '\0' && nl < 128; i++)
		if (i == 0 || name[i - 1] == '.')
			starts[nl++] = i;
	want = psl_suffix_labels(psl, name, starts, nl) + 1;
	if (want > nl)
		return -1;
	/* the same labels of the name as given (U-labels stay U-labels) */
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	for (skip = nl - want; skip > 0; skip--)
		pos = (size_t)((const char *)memchr(domain + pos, '.',
						    len - pos) -
			       domain) +
		      1;
	if (len - pos + 1 > outlen)
		return -1;
	for (size_t i = pos; i < len; i++)
		out[i - pos] = (char)(domain[i] >= 'A' && domain[i] <= 'Z'
					  ? domain[i] - 'A' + 'a'
					  : domain[i]);
	out[len - pos] = '\0';
	return 0;
}
