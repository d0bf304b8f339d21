/*
 * fuzz_dkim_tags.c - libFuzzer harness for the DKIM tag-list check
 *
 * Input: a DKIM-Signature value. dkim_tags_dup() must answer 0 or 1,
 * never read past the value, and keep its promises: on 1 the duplicate
 * name is non-empty and occurs at least twice in the input (or the list
 * had more than 64 tags: "(more than 64 tags)"); d and s are always
 * NUL-terminated within their buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim_tags.h"
#include "fuzz_common.h"

#define FZ_MAX_INPUT 65536

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dup[16], d[64], s[64];
	char *v;
	int r;

	if (size > FZ_MAX_INPUT || (v = malloc(size + 1)) == NULL)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';
	memset(d, 'x', sizeof(d));
	memset(s, 'x', sizeof(s));
	r = dkim_tags_dup(v, dup, sizeof(dup), d, sizeof(d), s, sizeof(s));
	if (r != 0 && r != 1)
		abort();
	if (memchr(d, '\0', sizeof(d)) == NULL ||
	    memchr(s, '\0', sizeof(s)) == NULL)
		abort();
	if (r == 1 && dup[0] != '(') {
		const char *p = v;
		int seen = 0;

		if (dup[0] == '\0' || strlen(dup) >= sizeof(dup))
			abort();
		while ((p = strstr(p, dup)) != NULL && seen < 2) {
			seen++;
			p++;
		}
		if (seen < 2 && strlen(dup) == sizeof(dup) - 1)
			seen = 2; /* a cut name: only its prefix is kept */
		if (seen < 2)
			abort();
	}
	free(v);
	return 0;
}
