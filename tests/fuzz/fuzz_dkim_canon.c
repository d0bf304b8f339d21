/*
 * fuzz_dkim_canon.c - libFuzzer harness for DKIM canonicalisation
 *
 * Input: a first byte choosing simple/relaxed, the split size and an l=
 * limit, then body octets. Fed whole and in chunks, the body must give
 * the same digest and the same canonical length, never more hashed than
 * l= allows; relaxed is never longer than simple plus a CRLF. The rest of
 * the input also goes through both header canonicalisers, whose output
 * has no bare LF and, for relaxed, no white space next to the colon.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim_canon.h"
#include "strbuf.h"

#define FZ_MAX_INPUT 262144

/* fz_body - digest and canonical length of body fed in chunks */
static unsigned
fz_body(enum dkim_canon c, const uint8_t *p, size_t n, size_t chunk,
	ssize_t limit, unsigned char *dig, size_t *total, size_t *hashed)
{
	struct dkim_body b;
	unsigned len;

	if (!dkim_body_init(&b, c, EVP_sha256(), limit))
		abort();
	for (size_t o = 0; o < n; o += chunk)
		dkim_body_update(&b, p + o, n - o < chunk ? n - o : chunk);
	len = dkim_body_final(&b, dig);
	*total = b.total;
	*hashed = b.hashed;
	dkim_body_free(&b);
	return len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char d1[EVP_MAX_MD_SIZE], d2[EVP_MAX_MD_SIZE];
	size_t t1, t2, h1, h2, ts, hs;
	enum dkim_canon c;
	size_t chunk;
	ssize_t limit;
	struct strbuf sb = {0};
	char *v;

	if (size < 2 || size > FZ_MAX_INPUT)
		return 0;
	c = data[0] & 1 ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	chunk = (size_t)(data[0] >> 1) + 1;
	limit = data[1] == 0 ? -1 : (ssize_t)data[1] * 3;
	data += 2;
	size -= 2;
	if (fz_body(c, data, size, size ? size : 1, limit, d1, &t1, &h1) !=
		32 ||
	    fz_body(c, data, size, chunk, limit, d2, &t2, &h2) != 32)
		abort();
	if (memcmp(d1, d2, 32) != 0 || t1 != t2 || h1 != h2)
		abort();
	if (limit >= 0 && h1 > (size_t)limit)
		abort();
	if (c == DKIM_CANON_RELAXED) {
		(void)fz_body(DKIM_CANON_SIMPLE, data, size, size ? size : 1, -1,
			      d2, &ts, &hs);
		if (t1 > ts + 2)
			abort();
	}
	/* the same bytes as a header value (up to the first NUL) */
	if ((v = malloc(size + 1)) == NULL)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';
	dkim_canon_header(&sb, DKIM_CANON_SIMPLE, "X-Fuzz", v, true);
	for (size_t i = 0; !sb_failed(&sb) && i < sb.len; i++)
		if (sb.s[i] == '\n' && (i == 0 || sb.s[i - 1] != '\r'))
			abort();
	sb_truncate(&sb, 0);
	dkim_canon_header(&sb, DKIM_CANON_RELAXED, "X-Fuzz", v, false);
	if (!sb_failed(&sb)) {
		const char *colon = strchr(sb.s, ':');

		if (colon == NULL || colon[1] == ' ' || colon[1] == '\t' ||
		    memchr(sb.s, '\n', sb.len) != NULL ||
		    (sb.len > 0 && (sb.s[sb.len - 1] == ' ')))
			abort();
	}
	sb_free(&sb);
	free(v);
	return 0;
}
