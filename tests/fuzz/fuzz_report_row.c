/*
 * fuzz_report_row.c - libFuzzer harness for lib/report/report_row.c
 *
 * The input is a row's text form as the state store hands it back (a
 * store shared with other hosts is input we did not write). A text that
 * parses must come back the same from report_row_format() and parse
 * again to the same struct: the store counts rows by their text, so a
 * row whose text drifts would be counted twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_row.h"
#include "strbuf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct report_row *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct strbuf out = STRBUF_INIT, again = STRBUF_INIT;
	const char *why = NULL;

	if (text == NULL || a == NULL || b == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (report_row_parse(text, a, &why) == 0) {
		report_row_format(a, &out);
		if (sb_failed(&out) || report_row_parse(sb_str(&out), b, &why) != 0)
			abort();
		report_row_format(b, &again);
		if (strcmp(sb_str(&out), sb_str(&again)) != 0)
			abort();
		if (a->ndkim > REPORT_DKIM_MAX || a->nreasons > REPORT_REASONS_MAX)
			abort();
	} else if (why == NULL)
		abort();
	sb_free(&out);
	sb_free(&again);
	free(text);
	free(a);
	free(b);
	return 0;
}
