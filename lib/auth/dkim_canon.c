/*
 * dkim_canon.c - RFC 6376 section 3.4 canonicalisation
 *
 * Owns the "simple" and "relaxed" rules for header fields and bodies.
 * Header fields are canonicalised one at a time into a buffer the caller
 * hashes; the body is canonicalised as it streams in, straight into its
 * hash, and never held: only empty lines (which count only if more text
 * follows) and white space (which counts only if not at a line's end) are
 * held back, as counts. The same code serves verifying and signing.
 */
#include "build.h" /* first: feature macros */

#include <string.h>
#include <strings.h>

#include <stdlib.h>

#include "dkim_canon.h"
#include "strbuf.h"

/* dkim_wsp - RFC 5234 WSP */
static bool
dkim_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* dkim_canon_header - append one header field, canonicalised, to out */
void
dkim_canon_header(struct strbuf *out, enum dkim_canon c, const char *name,
		  const char *value, bool crlf)
{
	size_t vlen = strlen(value);

	/* the field's own line break is not part of the value */
	while (vlen > 0 && (value[vlen - 1] == '\n' || value[vlen - 1] == '\r'))
		vlen--;
	if (c == DKIM_CANON_SIMPLE) {
		sb_puts(out, name);
		sb_putc(out, ':');
		for (size_t i = 0; i < vlen; i++) {
			/* folding reaches the hash as CRLF */
			if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
				sb_putc(out, '\r');
			sb_putc(out, value[i]);
		}
	} else {
		size_t nlen = strlen(name);
		bool space = false, started = false;

		while (nlen > 0 && dkim_wsp(name[nlen - 1]))
			nlen--;
		for (size_t i = 0; i < nlen; i++) {
			char ch = name[i];

			sb_putc(out, ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch);
		}
		sb_putc(out, ':');
		/* unfold, runs of WSP to one SP, none at either end */
		for (size_t i = 0; i < vlen; i++) {
			char ch = value[i];

			if (ch == '\r' || ch == '\n')
				continue;
			if (dkim_wsp(ch)) {
				space = true;
				continue;
			}
			if (space && started)
				sb_putc(out, ' ');
			space = false;
			started = true;
			sb_putc(out, ch);
		}
	}
	if (crlf)
		sb_putn(out, "\r\n", 2);
}

/* dkim_fields_add - append a copy of one field */
bool
dkim_fields_add(struct dkim_field **fields, size_t *n, const char *name,
		const char *value)
{
	struct dkim_field *f;

	if (sb_array_room(fields, *n, sizeof(**fields)) != 0)
		return false;
	f = &(*fields)[*n];
	if ((f->name = strdup(name)) == NULL ||
	    (f->value = strdup(value)) == NULL) {
		free(f->name);
		return false;
	}
	(*n)++;
	return true;
}

/* dkim_fields_free - free n fields and the array */
void
dkim_fields_free(struct dkim_field *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(fields[i].name);
		free(fields[i].value);
	}
	free(fields);
}

/* dkim_canon_signed - append the fields h= names, canonicalised */
void
dkim_canon_signed(struct strbuf *out, enum dkim_canon c,
		  const struct dkim_field *fields, size_t nfields,
		  const char *hnames, size_t nh)
{
	const char *h = hnames;

	for (size_t j = 0; j < nh; j++, h += strlen(h) + 1) {
		size_t k = 0, seen = 0;
		const char *p = hnames;

		for (size_t i = 0; i < j; i++, p += strlen(p) + 1)
			k += strcasecmp(p, h) == 0;
		for (size_t i = nfields; i-- > 0;) {
			if (strcasecmp(fields[i].name, h) != 0)
				continue;
			if (seen++ == k) {
				dkim_canon_header(out, c, fields[i].name,
						  fields[i].value, true);
				break;
			}
		}
	}
}

/* dkim_body_init - start a body hash */
bool
dkim_body_init(struct dkim_body *b, enum dkim_canon c, const EVP_MD *md,
	       ssize_t limit)
{
	memset(b, 0, sizeof(*b));
	b->canon = c;
	b->limit = limit;
	if ((b->md = EVP_MD_CTX_new()) == NULL)
		return false;
	if (EVP_DigestInit_ex(b->md, md, NULL) != 1) {
		EVP_MD_CTX_free(b->md);
		b->md = NULL;
		return false;
	}
	return true;
}

/* dkim_body_flush - hand the buffered canonical octets to the hash */
static void
dkim_body_flush(struct dkim_body *b)
{
	size_t n = b->olen;

	if (b->limit >= 0 && b->hashed + n > (size_t)b->limit)
		n = (size_t)b->limit - b->hashed;
	if (n > 0 && b->md != NULL)
		(void)EVP_DigestUpdate(b->md, b->out, n);
	b->hashed += n;
	b->olen = 0;
}

/* dkim_body_put - one canonical octet */
static inline void
dkim_body_put(struct dkim_body *b, unsigned char c)
{
	if (b->olen == sizeof(b->out))
		dkim_body_flush(b);
	b->out[b->olen++] = c;
	b->total++;
}

/* dkim_body_content - one octet of a line's content (not its CRLF) */
static inline void
dkim_body_content(struct dkim_body *b, unsigned char c)
{
	if (b->canon == DKIM_CANON_RELAXED && (c == ' ' || c == '\t')) {
		b->wsp = true;
		return;
	}
	/* held empty lines and white space count: text follows them */
	if (!b->in_line) {
		for (; b->blank > 0; b->blank--) {
			dkim_body_put(b, '\r');
			dkim_body_put(b, '\n');
		}
		b->in_line = true;
	}
	if (b->wsp) {
		dkim_body_put(b, ' ');
		b->wsp = false;
	}
	dkim_body_put(b, c);
}

/* dkim_body_eol - a CRLF in the body */
static void
dkim_body_eol(struct dkim_body *b)
{
	b->wsp = false; /* relaxed: no white space at a line's end */
	if (!b->in_line) {
		b->blank++; /* counts only if text follows */
		return;
	}
	dkim_body_put(b, '\r');
	dkim_body_put(b, '\n');
	b->in_line = false;
}

/* which octets a canonicalisation looks at: 1 line ends, 2 blanks */
static const unsigned char dkim_body_class[256] = {
    ['\r'] = 1, ['\n'] = 1, [' '] = 2, ['\t'] = 2};

/* dkim_body_plain - an octet that only ever goes through as it is */
static inline bool
dkim_body_plain(const struct dkim_body *b, unsigned char c)
{
	return !(dkim_body_class[c] &
		 (b->canon == DKIM_CANON_RELAXED ? 3 : 1));
}

/* dkim_body_run - n plain octets: the first decides what the line held
 * back, the rest are copied as they are (most of a body) */
static void
dkim_body_run(struct dkim_body *b, const unsigned char *p, size_t n)
{
	dkim_body_content(b, p[0]);
	p++;
	n--;
	b->total += n;
	while (n > 0) {
		size_t room = sizeof(b->out) - b->olen, k;

		if (room == 0) {
			dkim_body_flush(b);
			continue;
		}
		k = n < room ? n : room;
		memcpy(b->out + b->olen, p, k);
		b->olen += k;
		p += k;
		n -= k;
	}
}

/* dkim_body_update - feed body octets with CRLF line ends, any split */
void
dkim_body_update(struct dkim_body *b, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (!b->cr && dkim_body_plain(b, c)) {
			size_t j = i + 1;

			while (j < n && dkim_body_plain(b, p[j]))
				j++;
			dkim_body_run(b, p + i, j - i);
			i = j - 1;
			continue;
		}
		if (b->cr) {
			b->cr = false;
			if (c == '\n') {
				dkim_body_eol(b);
				continue;
			}
			dkim_body_content(b, '\r'); /* a CR alone is text */
		}
		if (c == '\r')
			b->cr = true;
		else if (c == '\n')
			dkim_body_eol(b); /* a bare LF: files, LF-only input */
		else
			dkim_body_content(b, c);
	}
}

/* dkim_body_final - finish: the digest and its length (0: failed) */
unsigned
dkim_body_final(struct dkim_body *b, unsigned char *dig)
{
	unsigned len = 0;

	if (b->cr) {
		b->cr = false;
		dkim_body_content(b, '\r');
	}
	/* a last line without CRLF gets one (RFC 6376 3.4.3, 3.4.4);
	 * "simple" makes an empty body one CRLF, "relaxed" leaves it empty */
	if (b->in_line || (b->canon == DKIM_CANON_SIMPLE && b->total == 0)) {
		b->in_line = true;
		dkim_body_eol(b);
	}
	dkim_body_flush(b);
	if (b->md == NULL || EVP_DigestFinal_ex(b->md, dig, &len) != 1)
		len = 0;
	return len;
}

/* dkim_body_free - release the hash */
void
dkim_body_free(struct dkim_body *b)
{
	EVP_MD_CTX_free(b->md);
	b->md = NULL;
}
