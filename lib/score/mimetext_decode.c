/*
 * mimetext_decode.c - the decoding steps of a message's text
 *
 * Owns turning encoded octets into UTF-8 text: quoted-printable and
 * base64 transfer encodings, charsets through iconv (invalid sequences
 * become U+FFFD), RFC 2047 encoded words in header values, and UTF-8
 * encoding of one code point. mimetext.c walks the MIME tree and calls
 * these; mimetext_html.c renders HTML with mimetext_utf8_put.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mimetext.h"
#include "strbuf.h"

/* mimetext_utf8_put - append code point cp as UTF-8 (U+FFFD if invalid) */
void
mimetext_utf8_put(struct strbuf *b, unsigned long cp)
{
	char u[4];

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		u[0] = (char)cp;
		sb_putn(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		sb_putn(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		sb_putn(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		sb_putn(b, u, 4);
	}
}

/* mt_hex - value of a hex digit, or -1 */
static int
mt_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* mimetext_qp_decode - quoted-printable */
size_t
mimetext_qp_decode(const char *in, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (in[i] != '=') {
			out[o++] = in[i];
			continue;
		}
		/* a soft line break: '=' then optional blanks, then EOL */
		size_t j = i + 1;

		while (j < len && (in[j] == ' ' || in[j] == '\t'))
			j++;
		if (j < len && (in[j] == '\n' || in[j] == '\r')) {
			if (in[j] == '\r' && j + 1 < len && in[j + 1] == '\n')
				j++;
			i = j;
			continue;
		}
		if (j == len) {
			i = j;
			continue;
		}
		if (i + 2 < len && mt_hex((unsigned char)in[i + 1]) >= 0 &&
		    mt_hex((unsigned char)in[i + 2]) >= 0) {
			out[o++] =
			    (char)(mt_hex((unsigned char)in[i + 1]) * 16 +
				   mt_hex((unsigned char)in[i + 2]));
			i += 2;
			continue;
		}
		out[o++] = '='; /* broken escape: kept, as decoders do */
	}
	return o;
}

/* mt_b64 - value of a base64 character, or -1 */
static int
mt_b64(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* mimetext_b64_decode - base64 */
size_t
mimetext_b64_decode(const char *in, size_t len, char *out)
{
	unsigned long acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len && in[i] != '='; i++) {
		int v = mt_b64((unsigned char)in[i]);

		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return o;
}

/* mimetext_to_utf8 - convert charset to UTF-8 */
char *
mimetext_to_utf8(const char *charset, const char *in, size_t len,
		 size_t *outlen)
{
	struct strbuf b = {0};
	iconv_t cd = (iconv_t)-1;
	char *ip = (char *)in;
	size_t il = len;

	if (charset != NULL && *charset != '\0' &&
	    strcasecmp(charset, "utf-8") != 0 &&
	    strcasecmp(charset, "utf8") != 0 &&
	    strcasecmp(charset, "us-ascii") != 0)
		cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1) {
		sb_putn(&b, in, len);
		sb_putn(&b, "", 0);
		goto done;
	}
	while (il > 0 && !b.nomem) {
		char chunk[1024], *op = chunk;
		size_t ol = sizeof(chunk);
		size_t r = iconv(cd, &ip, &il, &op, &ol);

		sb_putn(&b, chunk, (size_t)(op - chunk));
		if (r == (size_t)-1 && (errno == EILSEQ || errno == EINVAL)) {
			mimetext_utf8_put(&b, 0xfffd);
			ip++;
			il--;
		} else if (r == (size_t)-1 && errno != E2BIG) {
			break;
		}
	}
	sb_putn(&b, "", 0);
	iconv_close(cd);
done:
	if (b.nomem) {
		free(b.s);
		return NULL;
	}
	*outlen = b.len;
	return b.s;
}

/* mt_decode_word - one RFC 2047 encoded word's text into b; false if bad */
static bool
mt_decode_word(struct strbuf *b, const char *w, size_t n)
{
	/* =?charset?E?text?= ; w points after "=?", n up to the "?=" */
	const char *q1 = memchr(w, '?', n), *q2;
	char charset[64], *dec, *utf;
	size_t cl, tl, dl, ul;

	if (q1 == NULL || (size_t)(q1 - w) >= sizeof(charset) ||
	    q1 + 2 >= w + n || q1[2] != '?')
		return false;
	cl = (size_t)(q1 - w);
	memcpy(charset, w, cl);
	charset[cl] = '\0';
	charset[strcspn(charset, "*")] = '\0'; /* RFC 2231 language */
	q2 = q1 + 3;
	tl = (size_t)(w + n - q2);
	if ((dec = malloc(tl + 1)) == NULL)
		return false;
	if (q1[1] == 'B' || q1[1] == 'b') {
		dl = mimetext_b64_decode(q2, tl, dec);
	} else if (q1[1] == 'Q' || q1[1] == 'q') {
		char *u = strndup(q2, tl);

		if (u == NULL) {
			free(dec);
			return false;
		}
		for (char *p = u; *p; p++)
			if (*p == '_')
				*p = ' ';
		dl = mimetext_qp_decode(u, tl, dec);
		free(u);
	} else {
		free(dec);
		return false;
	}
	utf = mimetext_to_utf8(charset, dec, dl, &ul);
	free(dec);
	if (utf == NULL)
		return false;
	sb_putn(b, utf, ul);
	free(utf);
	return true;
}

/* mimetext_header - a header value unfolded, trimmed and decoded */
char *
mimetext_header(const char *value)
{
	struct strbuf u = {0}, b = {0};
	const char *s;
	size_t i, last_word_end = 0;
	bool after_word = false;

	/* unfold: CR, LF + following blanks become one space */
	for (s = value; *s != '\0';) {
		size_t run = strcspn(s, "\r\n");

		sb_putn(&u, s, run);
		s += run;
		if (*s == '\n') {
			while (s[1] == ' ' || s[1] == '\t')
				s++;
			sb_putn(&u, " ", 1);
		}
		if (*s != '\0')
			s++;
	}
	sb_putn(&u, "", 0);
	if (u.nomem) {
		free(u.s);
		return NULL;
	}
	s = u.s;
	while (isspace((unsigned char)*s))
		s++;
	i = strlen(s);
	while (i > 0 && isspace((unsigned char)s[i - 1]))
		i--;
	/* most values have no encoded word: they are done */
	if (memmem(s, i, "=?", 2) == NULL) {
		char *plain = strndup(s, i);

		free(u.s);
		return plain;
	}
	/* encoded words; blanks between two of them are dropped */
	for (size_t p = 0; p < i;) {
		const char *end;

		if (s[p] == '=' && p + 1 < i && s[p + 1] == '?' &&
		    (end = strstr(s + p + 2, "?=")) != NULL &&
		    (size_t)(end - s) < i) {
			/* "?=" inside the B/Q marker is not the end */
			const char *q =
			    memchr(s + p + 2, '?', (size_t)(end - s - p - 2));

			if (q != NULL && end == q + 2)
				end = strstr(q + 3, "?=");
			if (end != NULL && (size_t)(end - s) < i) {
				size_t mark = b.len;

				if (after_word) {
					/* drop the blanks since the last word
					 */
					b.len = last_word_end;
				}
				if (mt_decode_word(&b, s + p + 2,
						   (size_t)(end - s - p - 2))) {
					p = (size_t)(end - s) + 2;
					last_word_end = b.len;
					after_word = true;
					continue;
				}
				b.len = mark;
			}
		}
		if (!isspace((unsigned char)s[p]))
			after_word = false;
		sb_putn(&b, s + p, 1);
		p++;
	}
	sb_putn(&b, "", 0);
	free(u.s);
	if (b.nomem) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
