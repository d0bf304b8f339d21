/*
 * dkim_tags.h - RFC 6376 section 3.2 tag-lists: the checks the
 * libopendkim wrapper does not get from the library (see dkim_tags.c)
 */
#ifndef AUTHTAG_DKIM_TAGS_H
#define AUTHTAG_DKIM_TAGS_H

#include <stddef.h>

/*
 * dkim_tags_dup - does the tag-list in value name a tag twice?
 *
 * RFC 6376 3.2: "Tags with duplicate names MUST NOT occur within a single
 * tag-list; if a tag name does occur more than once, the entire tag-list
 * is invalid." Tag names are compared case-sensitively, with surrounding
 * FWS ignored. More than 64 tags also count as invalid ("(more than 64
 * tags)" in dup): no signer writes that many, and a table of the first
 * ones would let a duplicate hide behind filler. Returns 1 and the name
 * (cut to fit) in dup, or 0. Also
 * copies the first d= and s= values (for the report) into d and s, ""
 * when absent. Linear in the length of value; nothing is allocated.
 */
int dkim_tags_dup(const char *value, char *dup, size_t duplen, char *d,
		  size_t dlen, char *s, size_t slen);

#endif
