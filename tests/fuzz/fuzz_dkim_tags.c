/*
 * fuzz_dkim_tags.c - libFuzzer harness for the RFC 6376 tag-list parser
 *
 * Input: a tag-list. dkim_tags_parse() must answer 0 or -1, never read
 * past the input, and keep its promises: every tag's name and value lie
 * inside the input, names are non-empty and no name occurs twice, at most
 * DKIM_TAGS_MAX tags; on -1 the reason is a NUL-terminated string that
 * says what was wrong.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim_tags.h"

#define FZ_MAX_INPUT 65536

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_taglist tl;
	char err[96];
	const char *v = (const char *)data;
	int r;

	if (size > FZ_MAX_INPUT)
		return 0;
	memset(err, 'x', sizeof(err));
	r = dkim_tags_parse(v, size, &tl, err, sizeof(err));
	if (r != 0 && r != -1)
		abort();
	if (r == -1 && (memchr(err, '\0', sizeof(err)) == NULL ||
			(strstr(err, "tag-list") == NULL &&
			 strstr(err, "named twice") == NULL)))
		abort();
	if (tl.n > DKIM_TAGS_MAX)
		abort();
	for (size_t i = 0; i < tl.n; i++) {
		const struct dkim_tag *t = &tl.tag[i];

		if (t->nlen == 0 || t->name < v || t->name + t->nlen > v + size ||
		    t->val < v || t->val + t->vlen > v + size)
			abort();
		for (size_t k = 0; k < i; k++)
			if (tl.tag[k].nlen == t->nlen &&
			    memcmp(tl.tag[k].name, t->name, t->nlen) == 0)
				abort();
	}
	return 0;
}
