/*
 * fuzz_spamd_reply.c - libFuzzer harness for the spamd answer parser
 *
 * Input: the bytes spamd (or something pretending to be it) sends back
 * to a SYMBOLS request. spamd_parse() must give 0 or -1, never crash,
 * and on 0 promise what X-Spam-Status relies on: a finite score within
 * +-SCORE_LIMIT and rule names of SpamAssassin's grammar (a letter or
 * '_', then letters, digits and '_', at most 128), at most 512 of them.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "score/score.h"
#include "score/score_spamd_int.h"

#define FZ_MAX_INPUT 70000

/* fz_name_ok - the rule name grammar the parser promises */
static int
fz_name_ok(const char *w)
{
	size_t n = strlen(w);

	if (n == 0 || n > 128 || (!isalpha((unsigned char)w[0]) && w[0] != '_'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)w[i]) && w[i] != '_')
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct score_result res = {.required = NAN};
	char *buf;

	if (size > FZ_MAX_INPUT)
		return 0;
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (spamd_parse(buf, size, &res) == 0) {
		if (!isfinite(res.score) || fabs(res.score) > SCORE_LIMIT ||
		    res.nhits > 512)
			abort();
		for (size_t i = 0; i < res.nhits; i++)
			if (!fz_name_ok(res.hits[i].name))
				abort();
	}
	score_result_free(&res);
	free(buf);
	return 0;
}
