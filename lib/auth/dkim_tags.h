/*
 * dkim_tags.h - RFC 6376 section 3.2 tag-lists (DKIM-Signature, key
 * records; ARC reuses them): one parser, see dkim_tags.c
 */
#ifndef AUTHTAG_DKIM_TAGS_H
#define AUTHTAG_DKIM_TAGS_H

#include <stdbool.h>
#include <stddef.h>

#define DKIM_TAGS_MAX 64 /* a signature has about a dozen; more is hostile */

/* one tag-spec: name and value point into the parsed text, without the
 * FWS around them (FWS inside a value is kept) */
struct dkim_tag {
	const char *name;
	size_t nlen;
	const char *val;
	size_t vlen;
};

struct dkim_taglist {
	struct dkim_tag tag[DKIM_TAGS_MAX];
	size_t n;
	unsigned empty; /* empty tag-specs other than a final ";" (";;") */
};

/*
 * dkim_tags_parse - split a tag-list into its tag-specs
 *
 * Tag names are case-sensitive, ALPHA *(ALPHA / DIGIT / "_"), and may
 * occur once (RFC 6376 3.2); more
 * than DKIM_TAGS_MAX tags is invalid too (a duplicate could hide behind
 * filler). A tag-spec without "=" makes the list invalid too; an empty
 * one (";;", a final ";") is skipped, and counted in tl->empty unless it
 * is the final one (ARC's stricter readers refuse ";;"). Returns 0, or -1 with the first
 * reason in err ("tag d= named twice", "invalid tag-list (more than 64
 * tags)"); tl then still holds the first occurrence of each tag, for a
 * report.
 */
int dkim_tags_parse(const char *s, size_t len, struct dkim_taglist *tl,
		    char *err, size_t errlen);

/* dkim_tags_get - the tag called name, or NULL */
const struct dkim_tag *dkim_tags_get(const struct dkim_taglist *tl,
				     const char *name);

/* dkim_tags_is - is the tag's value exactly word? */
bool dkim_tags_is(const struct dkim_tag *t, const char *word);

/* dkim_tags_in - is word one of the tag's colon-separated items? */
bool dkim_tags_in(const struct dkim_tag *t, const char *word);

/*
 * dkim_tags_b64 - decode a base64 tag value (b=, bh=, p=), FWS ignored
 *
 * Returns the decoded length, or -1 if the value is not base64 or does
 * not fit in outlen.
 */
long dkim_tags_b64(const struct dkim_tag *t, unsigned char *out,
		   size_t outlen);

#endif
