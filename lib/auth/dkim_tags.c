/*
 * dkim_tags.c - RFC 6376 section 3.2 tag-lists
 *
 * Owns the one parser of the tag=value; grammar that DKIM-Signature,
 * DKIM key records and the ARC headers share. It only splits and checks
 * the list (duplicates, size); what each tag means is the caller's.
 * Nothing is allocated: tags point into the text.
 */
#include "build.h" /* first: feature macros */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dkim_tags.h"


/* dt_fws - RFC 5322 folding white space, as a tag-list may hold it */
static bool
dt_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* dt_trim - s[0..*n) without surrounding FWS: the new start, *n updated */
static const char *
dt_trim(const char *s, size_t *n)
{
	while (*n > 0 && dt_fws(*s)) {
		s++;
		(*n)--;
	}
	while (*n > 0 && dt_fws(s[*n - 1]))
		(*n)--;
	return s;
}

/* dt_name - RFC 6376 3.2 tag-name: ALPHA *ALNUMPUNC (letters, digits,
 * "_") */
static bool
dt_name(const char *s, size_t n)
{
	if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') ||
			(s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* dt_copy - s[0..n) without surrounding FWS into out (cut to fit) */
static void
dt_copy(const char *s, size_t n, char *out, size_t outlen)
{
	s = dt_trim(s, &n);
	if (outlen == 0)
		return;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* dkim_tags_parse - split a tag-list into its tag-specs */
int
dkim_tags_parse(const char *s, size_t len, struct dkim_taglist *tl, char *err,
		size_t errlen)
{
	const char *p = s, *end = s + len;
	bool bad = false;

	tl->n = 0;
	tl->empty = 0;
	/* after an error the rest is still split (first occurrences,
	 * first DKIM_TAGS_MAX tags) so that a report can name d= and s= */
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *stop = semi != NULL ? semi : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		size_t n = (size_t)((eq != NULL ? eq : stop) - p);
		size_t vn = eq != NULL ? (size_t)(stop - eq - 1) : 0;
		const char *name = dt_trim(p, &n);
		const char *val = eq != NULL ? dt_trim(eq + 1, &vn) : NULL;
		bool dup = false;

		p = semi != NULL ? semi + 1 : end;
		if (eq == NULL) {
			/* only an empty tag-spec (";;", a final ";") may
			 * lack its "=" */
			if (n > 0 && !bad) {
				snprintf(err, errlen,
					 "invalid tag-list (a tag without =)");
				bad = true;
			}
			/* the grammar allows one final ";", not ";;" */
			if (n == 0 && semi != NULL)
				tl->empty++;
			continue;
		}
		if (!dt_name(name, n)) {
			if (!bad)
				snprintf(err, errlen,
					 "invalid tag-list (bad tag name)");
			bad = true;
			continue;
		}
		for (size_t i = 0; i < tl->n && !dup; i++)
			dup = tl->tag[i].nlen == n &&
			      memcmp(tl->tag[i].name, name, n) == 0;
		if (dup || tl->n == DKIM_TAGS_MAX) {
			if (!bad && dup) {
				char d[64];

				dt_copy(name, n, d, sizeof(d));
				snprintf(err, errlen, "tag %s= named twice", d);
			} else if (!bad) {
				snprintf(err, errlen,
					 "invalid tag-list (more than %d tags)",
					 DKIM_TAGS_MAX);
			}
			bad = true;
			continue;
		}
		tl->tag[tl->n].name = name;
		tl->tag[tl->n].nlen = n;
		tl->tag[tl->n].val = val;
		tl->tag[tl->n].vlen = vn;
		tl->n++;
	}
	return bad ? -1 : 0;
}

/* dkim_tags_get - the tag called name, or NULL */
const struct dkim_tag *
dkim_tags_get(const struct dkim_taglist *tl, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < tl->n; i++)
		if (tl->tag[i].nlen == n && memcmp(tl->tag[i].name, name, n) == 0)
			return &tl->tag[i];
	return NULL;
}

/* dkim_tags_is - is the tag's value exactly word? */
bool
dkim_tags_is(const struct dkim_tag *t, const char *word)
{
	size_t n = strlen(word);

	return t != NULL && t->vlen == n && memcmp(t->val, word, n) == 0;
}

/* dkim_tags_in - is word one of the tag's colon-separated items? */
bool
dkim_tags_in(const struct dkim_tag *t, const char *word)
{
	size_t n = strlen(word);
	const char *p, *end;

	if (t == NULL)
		return false;
	for (p = t->val, end = t->val + t->vlen; p <= end;) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		size_t len = (size_t)((colon != NULL ? colon : end) - p);
		const char *item = dt_trim(p, &len);

		if (len == n && memcmp(item, word, n) == 0)
			return true;
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	return false;
}

/* dt_b64 - the value of one base64 character, or -1 */
static int
dt_b64(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* dkim_tags_b64 - decode a base64 tag value, FWS ignored */
long
dkim_tags_b64(const struct dkim_tag *t, unsigned char *out, size_t outlen)
{
	unsigned long acc = 0;
	size_t o = 0;
	int bits = 0, pad = 0;

	for (size_t i = 0; i < t->vlen; i++) {
		unsigned char c = (unsigned char)t->val[i];
		int v;

		if (dt_fws((char)c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = dt_b64(c)) < 0)
			return -1; /* text after padding, or no base64 */
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == outlen)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (pad > 2 || bits >= 6)
		return -1; /* a lone sixth of a byte is no encoding */
	return (long)o;
}
