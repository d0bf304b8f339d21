/*
 * fuzz_dmarc_record.c - libFuzzer harness for lib/dmarc_record.c
 *
 * The input is one DMARC TXT string as DNS hands it over (NULs allowed,
 * in a buffer of its exact size so that a read past the end is caught),
 * parsed in both RFC 9989 and RFC 7489 mode. The result is checked
 * against dmarc_record.h: every field within its documented values, a
 * zeroed record when the text is not DMARC, and the two modes agreeing
 * on whether it is. The same bytes are also a rua= value for
 * dmarc_rua_list(), the reports' URI parser: every URI it returns is
 * NUL-terminated within its field and has no size suffix left in it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dmarc_record.h"

/* fz_pol_ok - a policy value the header allows */
static bool
fz_pol_ok(enum dmarc_pol p)
{
	return p >= DMARC_POL_UNSET && p <= DMARC_POL_INVALID &&
	       dmarc_pol_name(p) != NULL;
}

/* fz_check - one parsed record keeps the header's promises */
static void
fz_check(bool is, const struct dmarc_record *r)
{
	static const struct dmarc_record zero;

	if (!is) {
		if (memcmp(r, &zero, sizeof zero) != 0)
			abort();
		return;
	}
	if (!fz_pol_ok(r->p) || !fz_pol_ok(r->sp) || !fz_pol_ok(r->np))
		abort();
	if ((r->adkim != 'r' && r->adkim != 's') ||
	    (r->aspf != 'r' && r->aspf != 's'))
		abort();
	if (r->psd != 'y' && r->psd != 'n' && r->psd != 'u')
		abort();
	if (r->t != 0 && r->t != 'y' && r->t != 'n')
		abort();
	if (r->pct < -1 || r->pct > 100)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *txt = malloc(size ? size : 1);
	struct dmarc_record r9989, r7489;
	bool is, a, b;

	if (txt == NULL)
		abort();
	memcpy(txt, data, size);
	is = dmarc_record_is_dmarc(txt, size);
	a = dmarc_record_parse(txt, size, false, &r9989);
	b = dmarc_record_parse(txt, size, true, &r7489);
	if (a != is || b != is)
		abort();
	fz_check(a, &r9989);
	fz_check(b, &r7489);
	/* RFC 7489 knows no np, psd or t: they keep their defaults */
	if (b &&
	    (r7489.np != DMARC_POL_UNSET || r7489.psd != 'u' || r7489.t != 0))
		abort();
	{
		char *v = malloc(size + 1);
		struct dmarc_uri uri[4];
		size_t n;

		if (v == NULL)
			abort();
		memcpy(v, data, size);
		v[size] = '\0';
		n = dmarc_rua_list(v, uri, 4);
		if (n > 4)
			abort();
		for (size_t i = 0; i < n; i++)
			if (memchr(uri[i].uri, '\0', sizeof(uri[i].uri)) == NULL ||
			    strchr(uri[i].uri, '!') != NULL ||
			    strchr(uri[i].uri, ',') != NULL || uri[i].uri[0] == '\0')
				abort();
		free(v);
	}
	free(txt);
	return 0;
}
