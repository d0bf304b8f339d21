/*
 * mimetext.c - the text of a message as SpamAssassin's body rules see it
 *
 * Owns walking the MIME tree and building the `body` lines and `rawbody`
 * chunks (see mimetext.h); transfer decoding and charsets live here too,
 * HTML rendering in mimetext_html.c. The line rules follow SpamAssassin
 * 4.0.1's Message.pm: text parts joined with a newline, a blank-line run
 * ends a paragraph, any other whitespace run becomes one space, Subject
 * is the first line, lines are cut at 2 KiB (at a space when possible);
 * at most 50,000 bytes of each part are scanned for `body` and 500,000
 * for `rawbody`, as SpamAssassin's defaults.
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
#include "mimetext_int.h"

#define MT_MAX_DEPTH    8      /* multipart nesting followed */
#define MT_MAX_PARTS    200    /* leaf parts looked at */
#define MT_LINE_MAX     2048   /* SpamAssassin's MAX_BODY_LINE_LENGTH */
#define MT_BODY_SCAN    50000  /* body_part_scan_size */
#define MT_RAWBODY_SCAN 500000 /* rawbody_part_scan_size */

/* one part's headers that matter here */
struct mt_type {
	char type[64];      /* "text/plain", lower case */
	char boundary[128]; /* multipart only */
	char charset[64];
	char cte[32]; /* Content-Transfer-Encoding, lower case */
};

struct mt_walk {
	struct mt_buf text; /* rendered text of all parts, joined */
	bool any;           /* a part was seen: join with "\n" */
	struct mimetext *out;
	unsigned nparts;
	bool nomem;
};

/* mt_buf_add - append n bytes */
void
mt_buf_add(struct mt_buf *b, const char *s, size_t n)
{
	if (b->nomem)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->nomem = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* mt_buf_str - append a string */
void
mt_buf_str(struct mt_buf *b, const char *s)
{
	mt_buf_add(b, s, strlen(s));
}

/* mt_utf8 - append code point cp as UTF-8 (U+FFFD if invalid) */
void
mt_utf8(struct mt_buf *b, unsigned long cp)
{
	char u[4];

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		u[0] = (char)cp;
		mt_buf_add(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		mt_buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		mt_buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		mt_buf_add(b, u, 4);
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
	struct mt_buf b = {0};
	iconv_t cd = (iconv_t)-1;
	char *ip = (char *)in;
	size_t il = len;

	if (charset != NULL && *charset != '\0' &&
	    strcasecmp(charset, "utf-8") != 0 &&
	    strcasecmp(charset, "utf8") != 0 &&
	    strcasecmp(charset, "us-ascii") != 0)
		cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1) {
		mt_buf_add(&b, in, len);
		mt_buf_add(&b, "", 0);
		goto done;
	}
	while (il > 0 && !b.nomem) {
		char chunk[1024], *op = chunk;
		size_t ol = sizeof(chunk);
		size_t r = iconv(cd, &ip, &il, &op, &ol);

		mt_buf_add(&b, chunk, (size_t)(op - chunk));
		if (r == (size_t)-1 && (errno == EILSEQ || errno == EINVAL)) {
			mt_utf8(&b, 0xfffd);
			ip++;
			il--;
		} else if (r == (size_t)-1 && errno != E2BIG) {
			break;
		}
	}
	mt_buf_add(&b, "", 0);
	iconv_close(cd);
done:
	if (b.nomem) {
		free(b.p);
		return NULL;
	}
	*outlen = b.len;
	return b.p;
}

/* mt_decode_word - one RFC 2047 encoded word's text into b; false if bad */
static bool
mt_decode_word(struct mt_buf *b, const char *w, size_t n)
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
	mt_buf_add(b, utf, ul);
	free(utf);
	return true;
}

/* mimetext_header - a header value unfolded, trimmed and decoded */
char *
mimetext_header(const char *value)
{
	struct mt_buf u = {0}, b = {0};
	const char *s;
	size_t i, last_word_end = 0;
	bool after_word = false;

	/* unfold: CR, LF + following blanks become one space */
	for (s = value; *s; s++) {
		if (*s == '\r')
			continue;
		if (*s == '\n') {
			while (s[1] == ' ' || s[1] == '\t')
				s++;
			mt_buf_add(&u, " ", 1);
			continue;
		}
		mt_buf_add(&u, s, 1);
	}
	mt_buf_add(&u, "", 0);
	if (u.nomem) {
		free(u.p);
		return NULL;
	}
	s = u.p;
	while (isspace((unsigned char)*s))
		s++;
	i = strlen(s);
	while (i > 0 && isspace((unsigned char)s[i - 1]))
		i--;
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
		mt_buf_add(&b, s + p, 1);
		p++;
	}
	mt_buf_add(&b, "", 0);
	free(u.p);
	if (b.nomem) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* mt_param - the value of parameter name in a Content-Type value */
static void
mt_param(const char *v, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);

	out[0] = '\0';
	for (const char *p = strchr(v, ';'); p != NULL;
	     p = strchr(p + 1, ';')) {
		const char *q = p + 1;
		size_t o = 0;

		while (isspace((unsigned char)*q))
			q++;
		if (strncasecmp(q, name, nl) != 0)
			continue;
		q += nl;
		while (isspace((unsigned char)*q))
			q++;
		if (*q != '=')
			continue;
		q++;
		while (isspace((unsigned char)*q))
			q++;
		if (*q == '"') {
			for (q++; *q && *q != '"' && o + 1 < outlen; q++) {
				if (*q == '\\' && q[1] != '\0')
					q++;
				out[o++] = *q;
			}
		} else {
			while (*q && !isspace((unsigned char)*q) && *q != ';' &&
			       o + 1 < outlen)
				out[o++] = *q++;
		}
		out[o] = '\0';
		return;
	}
}

/* mt_set_type - fill t from one header field (unfolded value) */
static void
mt_set_type(struct mt_type *t, const char *name, const char *value)
{
	const char *v = value;
	size_t n;

	while (isspace((unsigned char)*v))
		v++;
	if (strcasecmp(name, "Content-Type") == 0) {
		n = strcspn(v, "; \t");
		if (n > 0 && n < sizeof(t->type) && memchr(v, '/', n)) {
			memcpy(t->type, v, n);
			t->type[n] = '\0';
			for (char *p = t->type; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		}
		mt_param(v, "boundary", t->boundary, sizeof(t->boundary));
		mt_param(v, "charset", t->charset, sizeof(t->charset));
	} else if (strcasecmp(name, "Content-Transfer-Encoding") == 0) {
		n = strcspn(v, "; \t\r\n");
		if (n < sizeof(t->cte)) {
			memcpy(t->cte, v, n);
			t->cte[n] = '\0';
			for (char *p = t->cte; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		}
	}
}

/* mt_part_headers - parse a part's header block; returns body offset */
static size_t
mt_part_headers(const char *s, size_t len, struct mt_type *t)
{
	size_t i = 0;

	while (i < len) {
		size_t start = i, colon;
		struct mt_buf f = {0};

		/* the end of the header block: an empty line */
		if (s[i] == '\n')
			return i + 1;
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			return i + 2;
		/* one field with its continuation lines */
		while (i < len) {
			const char *nl = memchr(s + i, '\n', len - i);

			i = nl ? (size_t)(nl - s) + 1 : len;
			if (i >= len || (s[i] != ' ' && s[i] != '\t'))
				break;
		}
		mt_buf_add(&f, s + start, i - start);
		if (f.p != NULL && !f.nomem) {
			colon = strcspn(f.p, ":\n");
			if (f.p[colon] == ':') {
				char *v;

				f.p[colon] = '\0';
				if ((v = mimetext_header(f.p + colon + 1)))
					mt_set_type(t, f.p, v);
				free(v);
			}
		}
		free(f.p);
	}
	return len;
}

/* mt_push - append a malloc'd string to an array; frees s on failure */
static void
mt_push(struct mt_walk *w, char ***arr, size_t *n, char *s)
{
	char **grown;

	if (s == NULL) {
		w->nomem = true;
		return;
	}
	grown = realloc(*arr, (*n + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(s);
		w->nomem = true;
		return;
	}
	*arr = grown;
	grown[(*n)++] = s;
}

/* mt_cut - where to cut text longer than scan: at "\n", else " " */
static size_t
mt_cut(const char *s, size_t len, size_t scan)
{
	const char *p;

	if (len <= scan)
		return len;
	if ((p = memchr(s + scan, '\n', len - scan)) != NULL &&
	    (size_t)(p - s) - scan <= 1024)
		return (size_t)(p - s) + 1;
	if ((p = memchr(s + scan, ' ', len - scan)) != NULL &&
	    (size_t)(p - s) - scan <= 1024)
		return (size_t)(p - s) + 1;
	return scan;
}

/* mt_raw_chunks - rawbody: the decoded part in chunks of 2-4 KiB */
static void
mt_raw_chunks(struct mt_walk *w, const char *s, size_t len)
{
	size_t ofs = 0;

	len = mt_cut(s, len, MT_RAWBODY_SCAN);
	/* SpamAssassin's split_into_array_of_short_paragraphs */
	while (len - ofs > 2 * MT_LINE_MAX) {
		const char *from = s + ofs + MT_LINE_MAX, *p = NULL;
		size_t span = len - ofs - MT_LINE_MAX, j;
		static const char seps[] = "\n> ";

		for (int k = 0; k < 3 && p == NULL; k++) {
			p = memchr(from, seps[k], span);
			if (p != NULL &&
			    (size_t)(p - s) - ofs + 1 > 2 * MT_LINE_MAX)
				p = NULL;
		}
		j = p ? (size_t)(p - s) : ofs + MT_LINE_MAX;
		mt_push(w, &w->out->raw, &w->out->nraw,
			strndup(s + ofs, j - ofs + 1));
		ofs = j + 1;
	}
	if (ofs < len)
		mt_push(w, &w->out->raw, &w->out->nraw,
			strndup(s + ofs, len - ofs));
}

/* mt_leaf - one non-multipart part: decode, convert, render, keep */
static void
mt_leaf(struct mt_walk *w, const struct mt_type *t, const char *s, size_t len)
{
	char *dec, *utf, *txt = NULL;
	size_t dl, ul, tl;
	bool html = strcmp(t->type, "text/html") == 0;

	if (w->any)
		mt_buf_add(&w->text, "\n", 1);
	w->any = true;
	if (strncmp(t->type, "text/", 5) != 0 ||
	    strcmp(t->type, "text/calendar") == 0)
		return;
	if ((dec = malloc(len + 1)) == NULL) {
		w->nomem = true;
		return;
	}
	if (strcmp(t->cte, "quoted-printable") == 0)
		dl = mimetext_qp_decode(s, len, dec);
	else if (strcmp(t->cte, "base64") == 0)
		dl = mimetext_b64_decode(s, len, dec);
	else {
		if (len > 0)
			memcpy(dec, s, len);
		dl = len;
	}
	/* line ends as SpamAssassin keeps them: LF only */
	ul = 0;
	for (size_t i = 0; i < dl; i++)
		if (!(dec[i] == '\r' && i + 1 < dl && dec[i + 1] == '\n'))
			dec[ul++] = dec[i];
	dl = ul;
	dec[dl] = '\0';
	mt_raw_chunks(w, dec, dl);
	utf = mimetext_to_utf8(t->charset, dec, dl, &ul);
	free(dec);
	if (utf == NULL) {
		w->nomem = true;
		return;
	}
	if (html) {
		txt = mimetext_html_text(utf, ul, &tl);
		free(utf);
		if (txt == NULL) {
			w->nomem = true;
			return;
		}
	} else {
		txt = utf;
		tl = ul;
	}
	mt_buf_add(&w->text, txt, mt_cut(txt, tl, MT_BODY_SCAN));
	free(txt);
}

/* mt_boundary_at - is s[0..] "--boundary" (at a line start)? */
static bool
mt_boundary_at(const char *s, size_t len, const char *bd, size_t bl)
{
	return len >= bl + 2 && s[0] == '-' && s[1] == '-' &&
	       memcmp(s + 2, bd, bl) == 0;
}

static void mt_entity(struct mt_walk *w, const struct mt_type *t, const char *s,
		      size_t len, unsigned depth);

/* mt_multipart - each body part between the boundary lines */
static void
mt_multipart(struct mt_walk *w, const struct mt_type *t, const char *s,
	     size_t len, unsigned depth)
{
	size_t bl = strlen(t->boundary), i = 0, start = 0;
	bool in_part = false;

	while (i <= len && !w->nomem) {
		const char *nl;
		size_t eol;

		if (i < len &&
		    !mt_boundary_at(s + i, len - i, t->boundary, bl)) {
			nl = memchr(s + i, '\n', len - i);
			i = nl ? (size_t)(nl - s) + 1 : len + 1;
			continue;
		}
		/* at a delimiter line, or the end of the data */
		if (in_part) {
			size_t end = i > len ? len : i;

			/* the CRLF before the delimiter belongs to it */
			if (end > start && s[end - 1] == '\n')
				end--;
			if (end > start && s[end - 1] == '\r')
				end--;
			if (end < start)
				end = start;
			struct mt_type pt = {.type = "text/plain"};
			size_t body;

			if (strcmp(t->type, "multipart/digest") == 0)
				snprintf(pt.type, sizeof(pt.type),
					 "message/rfc822");
			body = mt_part_headers(s + start, end - start, &pt);
			mt_entity(w, &pt, s + start + body, end - start - body,
				  depth + 1);
		}
		if (i >= len)
			break;
		if (len - i >= bl + 4 && s[i + bl + 2] == '-' &&
		    s[i + bl + 3] == '-')
			break; /* the close delimiter */
		nl = memchr(s + i, '\n', len - i);
		eol = nl ? (size_t)(nl - s) + 1 : len;
		start = eol;
		in_part = true;
		i = eol;
	}
}

/* mt_entity - one MIME entity of type t with body s */
static void
mt_entity(struct mt_walk *w, const struct mt_type *t, const char *s, size_t len,
	  unsigned depth)
{
	if (w->nomem || w->nparts >= MT_MAX_PARTS)
		return;
	if (strncmp(t->type, "multipart/", 10) == 0 && t->boundary[0] &&
	    depth < MT_MAX_DEPTH) {
		mt_multipart(w, t, s, len, depth);
		return;
	}
	if (strcmp(t->type, "message/rfc822") == 0 && depth < MT_MAX_DEPTH) {
		struct mt_type inner = {.type = "text/plain"};
		size_t body = mt_part_headers(s, len, &inner);

		mt_entity(w, &inner, s + body, len - body, depth + 1);
		return;
	}
	w->nparts++;
	mt_leaf(w, t, s, len);
}

/* mt_normalize - paragraphs: blank-line runs to "\n", other space to " " */
static void
mt_normalize(struct mt_buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len && !out->nomem;) {
		size_t j = i, nl = 0, first = 0, last = 0;

		if (!isspace((unsigned char)s[i])) {
			size_t k = i;

			while (k < len && !isspace((unsigned char)s[k]))
				k++;
			mt_buf_add(out, s + i, k - i);
			i = k;
			continue;
		}
		while (j < len && isspace((unsigned char)s[j])) {
			if (s[j] == '\n') {
				if (nl++ == 0)
					first = j;
				last = j;
			}
			j++;
		}
		if (nl >= 2) {
			if (first > i)
				mt_buf_add(out, " ", 1);
			mt_buf_add(out, "\n", 1);
			if (j > last + 1)
				mt_buf_add(out, " ", 1);
		} else {
			mt_buf_add(out, " ", 1);
		}
		i = j;
	}
}

/* mt_lines - split text into lines of at most 2 KiB, "\n" kept */
static void
mt_lines(struct mt_walk *w, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && !w->nomem) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) + 1 : len;

		while (end - i > MT_LINE_MAX) {
			size_t cut = 0;

			for (size_t k = MT_LINE_MAX; k > 0; k--)
				if (s[i + k - 1] == ' ') {
					cut = k;
					break;
				}
			if (cut == 0)
				cut = MT_LINE_MAX;
			mt_push(w, &w->out->body, &w->out->nbody,
				strndup(s + i, cut));
			i += cut;
		}
		mt_push(w, &w->out->body, &w->out->nbody,
			strndup(s + i, end - i));
		i = end;
	}
}

/* mimetext_build - both views of a message */
int
mimetext_build(const char *const *names, const char *const *values,
	       size_t nheaders, const unsigned char *body, size_t len,
	       struct mimetext *out)
{
	struct mt_walk w = {.out = out};
	struct mt_type top = {.type = "text/plain"};
	struct mt_buf all = {0};
	char *subject = NULL;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < nheaders; i++) {
		char *v;

		if (names[i] == NULL || values[i] == NULL)
			continue;
		if (strcasecmp(names[i], "Content-Type") != 0 &&
		    strcasecmp(names[i], "Content-Transfer-Encoding") != 0 &&
		    (strcasecmp(names[i], "Subject") != 0 || subject != NULL))
			continue;
		if ((v = mimetext_header(values[i])) == NULL) {
			w.nomem = true;
			break;
		}
		if (strcasecmp(names[i], "Subject") == 0)
			subject = v;
		else {
			mt_set_type(&top, names[i], v);
			free(v);
		}
	}
	if (!w.nomem)
		mt_entity(&w, &top, (const char *)body, body != NULL ? len : 0,
			  0);
	/* Subject (or an empty line) first, then the paragraphs */
	if (subject != NULL)
		mt_buf_str(&all, subject);
	mt_buf_add(&all, "\n", 1);
	if (w.text.p != NULL)
		mt_normalize(&all, w.text.p, w.text.len);
	if (all.nomem || w.text.nomem)
		w.nomem = true;
	else
		mt_lines(&w, all.p, all.len);
	free(all.p);
	free(w.text.p);
	free(subject);
	if (w.nomem) {
		mimetext_free(out);
		return -1;
	}
	return 0;
}

/* mimetext_free - free both views */
void
mimetext_free(struct mimetext *mt)
{
	for (size_t i = 0; i < mt->nbody; i++)
		free(mt->body[i]);
	for (size_t i = 0; i < mt->nraw; i++)
		free(mt->raw[i]);
	free(mt->body);
	free(mt->raw);
	memset(mt, 0, sizeof(*mt));
}
