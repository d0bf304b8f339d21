/*
 * fuzz_mimetext.c - libFuzzer harness for lib/mimetext.c and
 * mimetext_html.c (MIME structure, transfer and charset decoding, HTML)
 *
 * The input is a whole message: header fields up to the first empty
 * line (continuation lines kept in the value with their line break, as
 * the milter receives them), then the body. mimetext_build() makes both
 * views, which must stay within what mimetext.h promises (a Subject line
 * first, every line at most 2 KiB plus a UTF-8 character). Each header
 * value also goes through mimetext_header(), and the body through the
 * stand-alone decoders, which must not write more than the input length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "score/mimetext.h"

#define FZ_MAX_HEADERS 32
#define FZ_LINE_MAX    (2048 + 4)

static const char *const fz_charsets[] = {
    "utf-8",       "iso-8859-1", "windows-1252", "utf-16",
    "iso-2022-jp", "gb18030",    "koi8-r",       "x-unknown",
};

/* fz_headers - cut "Name: value" fields off msg; returns the body start */
static size_t
fz_headers(char *msg, size_t len, char **names, char **values, size_t *n)
{
	size_t i = 0;

	*n = 0;
	while (i < len && msg[i] != '\n' &&
	       !(msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n')) {
		size_t start = i, colon = 0, end;

		/* a field runs to a line break not followed by WSP */
		for (end = i; end < len; end++) {
			if (msg[end] == ':' && colon == 0)
				colon = end;
			if (msg[end] == '\n' &&
			    (end + 1 >= len ||
			     (msg[end + 1] != ' ' && msg[end + 1] != '\t')))
				break;
		}
		i = end < len ? end + 1 : len;
		if (colon == 0 || *n >= FZ_MAX_HEADERS)
			continue;
		msg[colon] = '\0';
		if (end > start && end < len)
			msg[end] = '\0';
		if (end > colon + 1 && msg[end - 1] == '\r')
			msg[end - 1] = '\0';
		names[*n] = msg + start;
		values[*n] = msg + colon + 1;
		while (*values[*n] == ' ' || *values[*n] == '\t')
			values[*n]++;
		(*n)++;
	}
	if (i < len && msg[i] == '\r')
		i++;
	return i < len ? i + 1 : len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *msg = fz_cstr(data, size), *names[FZ_MAX_HEADERS],
	     *values[FZ_MAX_HEADERS], *dec, *s;
	struct mimetext mt;
	size_t n, body, blen, outlen;

	body = fz_headers(msg, size, names, values, &n);
	blen = size - body;
	if (mimetext_build((const char *const *)names,
			   (const char *const *)values, n,
			   (const uint8_t *)data + body, blen, &mt) == 0) {
		if (mt.nbody < 1)
			abort();
		for (size_t i = 0; i < mt.nbody; i++)
			if (mt.body[i] == NULL ||
			    strlen(mt.body[i]) > FZ_LINE_MAX)
				abort();
		for (size_t i = 0; i < mt.nraw; i++)
			if (mt.raw[i] == NULL)
				abort();
	}
	mimetext_free(&mt);
	for (size_t i = 0; i < n; i++)
		free(mimetext_header(values[i]));

	if ((dec = malloc(blen ? blen : 1)) == NULL)
		abort();
	if (mimetext_qp_decode((const char *)data + body, blen, dec) > blen ||
	    mimetext_b64_decode((const char *)data + body, blen, dec) > blen)
		abort();
	free(dec);
	s = mimetext_html_text((const char *)data + body, blen, &outlen);
	if (s != NULL && strlen(s) > outlen)
		abort();
	free(s);
	s = mimetext_to_utf8(fz_charsets[size % 8], (const char *)data + body,
			     blen, &outlen);
	free(s);
	free(msg);
	return 0;
}
