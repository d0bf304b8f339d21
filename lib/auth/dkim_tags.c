/*
 * dkim_tags.c - RFC 6376 tag-list checks on a DKIM-Signature value
 *
 * libopendkim accepts a DKIM-Signature that names a tag twice, the last
 * value winning; RFC 6376 3.2 makes such a tag-list invalid (permerror).
 * This file owns that check, on the raw header value, before the value
 * reaches the library. It keeps to the tag-list grammar only, so the DKIM
 * code of our own that replaces libopendkim can reuse it.
 */
#include "build.h" /* first: feature macros */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dkim_tags.h"

#define DT_MAX_TAGS 64 /* a signature has about a dozen; more is hostile */

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

/* dkim_tags_dup - a tag named twice in the tag-list (or more tags than
 * any signer writes)? Names are compared whole, not cut */
int
dkim_tags_dup(const char *value, char *dup, size_t duplen, char *d,
	      size_t dlen, char *s, size_t slen)
{
	struct {
		const char *p;
		size_t n;
	} names[DT_MAX_TAGS];
	size_t count = 0;
	const char *p = value;

	if (dlen > 0)
		d[0] = '\0';
	if (slen > 0)
		s[0] = '\0';
	if (duplen > 0)
		dup[0] = '\0';
	while (p != NULL && *p != '\0') {
		const char *semi = strchr(p, ';');
		const char *end = semi != NULL ? semi : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));

		if (eq != NULL) {
			size_t n = (size_t)(eq - p);
			const char *name = dt_trim(p, &n);

			for (size_t i = 0; i < count; i++)
				if (names[i].n == n &&
				    memcmp(names[i].p, name, n) == 0) {
					dt_copy(name, n, dup, duplen);
					return 1;
				}
			if (count == DT_MAX_TAGS) {
				snprintf(dup, duplen, "(more than %d tags)",
					 DT_MAX_TAGS);
				return 1;
			}
			if (n == 1 && name[0] == 'd')
				dt_copy(eq + 1, (size_t)(end - eq - 1), d,
					dlen);
			else if (n == 1 && name[0] == 's')
				dt_copy(eq + 1, (size_t)(end - eq - 1), s,
					slen);
			if (n > 0) {
				names[count].p = name;
				names[count++].n = n;
			}
		}
		p = semi != NULL ? semi + 1 : NULL;
	}
	return 0;
}
