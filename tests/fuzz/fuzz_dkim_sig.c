/*
 * fuzz_dkim_sig.c - libFuzzer harness for the DKIM-Signature parser
 *
 * Input: a DKIM-Signature value. dkim_sig_parse() must answer 0, -1 or
 * -2, never read past the value, and keep its promises: every report
 * field NUL-terminated within its array; on 0 the b= range lies inside
 * the value, h= names From, d= is a plain domain, the decoded b= and bh=
 * fit their arrays. The tag-list splitter it uses is checked on the same
 * input: each tag's name and value lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dkim_sig.h"
#include "auth/dkim_tags.h"

#define FZ_MAX_INPUT 65536

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_taglist tl;
	struct dkim_sig sig;
	char err[128], *v;
	int r;

	if (size > FZ_MAX_INPUT || (v = malloc(size + 1)) == NULL)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';
	if (dkim_tags_parse(v, size, &tl, err, sizeof(err)) == 0)
		for (size_t i = 0; i < tl.n; i++)
			if (tl.tag[i].name < v ||
			    tl.tag[i].name + tl.tag[i].nlen > v + size ||
			    tl.tag[i].val < v ||
			    tl.tag[i].val + tl.tag[i].vlen > v + size ||
			    tl.tag[i].nlen == 0)
				abort();
	r = dkim_sig_parse(v, &sig, (size & 1) != 0, err, sizeof(err));
	if (r != 0 && r != -1 && r != -2)
		abort();
	if (memchr(sig.domain, '\0', sizeof(sig.domain)) == NULL ||
	    memchr(sig.selector, '\0', sizeof(sig.selector)) == NULL ||
	    memchr(sig.identity, '\0', sizeof(sig.identity)) == NULL ||
	    memchr(sig.algorithm, '\0', sizeof(sig.algorithm)) == NULL ||
	    memchr(sig.b8, '\0', sizeof(sig.b8)) == NULL)
		abort();
	if (r == 0) {
		const char *h = sig.hnames;
		int from = 0;

		if (sig.bstart > sig.bend || sig.bend > size)
			abort();
		if (!dkim_domain_valid(sig.domain) || sig.blen == 0 ||
		    sig.blen > sizeof(sig.b) || sig.bhlen > sizeof(sig.bh))
			abort();
		for (size_t i = 0; i < sig.nh; i++, h += strlen(h) + 1)
			from |= strcasecmp(h, "from") == 0;
		if (!from)
			abort();
	}
	dkim_sig_clear(&sig);
	free(v);
	return 0;
}
