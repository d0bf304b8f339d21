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

#define DT_MAX_TAGS 64 /* tags compared; more is a list nobody signs */
#define DT_NAME_MAX 32 /* longest tag name compared */

/* dt_fws - RFC 5322 folding white space, as a tag-list may hold it */
static bool
dt_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* dt_copy - s[0..n) without surrounding FWS into out (cut to fit) */
static void
dt_copy(const char *s, size_t n, char *out, size_t outlen)
{
	while (n > 0 && dt_fws(*s)) {
		s++;
		n--;
	}
	while (n > 0 && dt_fws(s[n - 1]))
		n--;
	if (outlen == 0)
		return;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* dkim_tags_dup - a tag named twice in the tag-list? */
int
dkim_tags_dup(const char *value, char *dup, size_t duplen, char *d,
	      size_t dlen, char *s, size_t slen)
{
	char names[DT_MAX_TAGS][DT_NAME_MAX + 1];
	size_t n = 0;
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
		char name[DT_NAME_MAX + 1];

		if (eq != NULL) {
			dt_copy(p, (size_t)(eq - p), name, sizeof(name));
			for (size_t i = 0; i < n; i++)
				if (strcmp(names[i], name) == 0) {
					snprintf(dup, duplen, "%s", name);
					return 1;
				}
			if (strcmp(name, "d") == 0)
				dt_copy(eq + 1, (size_t)(end - eq - 1), d,
					dlen);
			else if (strcmp(name, "s") == 0)
				dt_copy(eq + 1, (size_t)(end - eq - 1), s,
					slen);
			if (n < DT_MAX_TAGS && name[0] != '\0')
				memcpy(names[n++], name, sizeof(name));
		}
		p = semi != NULL ? semi + 1 : NULL;
	}
	return 0;
}
