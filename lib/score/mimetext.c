/*
 * mimetext.c - the text of a message as SpamAssassin's body rules see it
 *
 * Owns walking the MIME tree and building the `body` lines and `rawbody`
 * chunks (see mimetext.h); transfer decoding, charsets and RFC 2047 live
 * in mimetext_decode.c, HTML rendering in mimetext_html.c. The line rules follow SpamAssassin
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
#include "strbuf.h"

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
	struct strbuf text; /* rendered text of all parts, joined */
	bool any;           /* a part was seen: join with "\n" */
	struct mimetext *out;
	unsigned nparts;
	bool nomem;
};

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
		struct strbuf f = {0};

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
		sb_putn(&f, s + start, i - start);
		if (f.s != NULL && !f.nomem) {
			colon = strcspn(f.s, ":\n");
			if (f.s[colon] == ':') {
				char *v;

				f.s[colon] = '\0';
				if ((v = mimetext_header(f.s + colon + 1)))
					mt_set_type(t, f.s, v);
				free(v);
			}
		}
		free(f.s);
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
		sb_putn(&w->text, "\n", 1);
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
	sb_putn(&w->text, txt, mt_cut(txt, tl, MT_BODY_SCAN));
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
mt_normalize(struct strbuf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len && !out->nomem;) {
		size_t j = i, nl = 0, first = 0, last = 0;

		if (!isspace((unsigned char)s[i])) {
			size_t k = i;

			while (k < len && !isspace((unsigned char)s[k]))
				k++;
			sb_putn(out, s + i, k - i);
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
				sb_putn(out, " ", 1);
			sb_putn(out, "\n", 1);
			if (j > last + 1)
				sb_putn(out, " ", 1);
		} else {
			sb_putn(out, " ", 1);
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
	struct strbuf all = {0};
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
		sb_puts(&all, subject);
	sb_putn(&all, "\n", 1);
	if (w.text.s != NULL)
		mt_normalize(&all, w.text.s, w.text.len);
	if (all.nomem || w.text.nomem)
		w.nomem = true;
	else
		mt_lines(&w, all.s, all.len);
	free(all.s);
	free(w.text.s);
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
