/*
 * mailaddr.c - the Author Domain of a message from its From header fields
 *
 * Owns a small RFC 5322 tokenizer (CFWS with nested comments, quoted
 * strings, domain literals, atoms that may hold RFC 6532 UTF-8) and a
 * parser for the From field's address list: mailbox-list, RFC 6854
 * groups, display names, angle addresses with obsolete routes, empty
 * list elements. Only domains are kept. RFC 9989 5.3.1: several
 * mailboxes in one domain still give one Author Domain; several domains
 * or several From fields give none. Domains are normalised here too,
 * U-labels to A-labels by our own RFC 3492 encoder (no IDNA mapping
 * tables). Work is one pass over the input, nothing is allocated (but
 * the copy mailaddr_envelope_strip returns), and
 * comment nesting is limited to MA_MAX_DEPTH.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mailaddr.h"

#define MA_MAX_DEPTH  32   /* nested comments allowed */
#define MA_RAW_DOMAIN 1024 /* longest domain text kept before checking */

enum ma_tok {
	TOK_END,
	TOK_ATOM,
	TOK_QSTRING,
	TOK_DLITERAL,
	TOK_SPECIAL, /* one of < > @ , : ; . */
	TOK_ERROR,
};

struct ma_token {
	enum ma_tok type;
	const unsigned char *text; /* atom text; not set for other types */
	size_t len;
	int ch; /* the special character */
};

struct ma_lexer {
	const unsigned char *p, *end;
	const char *error; /* first syntax error, or NULL */
};

/* the state of one field's parse */
struct ma_parse {
	struct ma_lexer lx;
	struct ma_token tok; /* current token */
	unsigned naddrs;
	bool bad_domain;             /* some mailbox had an unusable domain */
	bool several_domains;        /* mailboxes in more than one domain */
	char domain[RES_DOMAIN_MAX]; /* the first mailbox's domain */
};

/* ma_is_atext - RFC 5322 atext, plus any 8-bit octet (RFC 6532) */
static bool
ma_is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* ma_error - remember the first syntax error */
static void
ma_error(struct ma_lexer *lx, const char *why)
{
	if (lx->error == NULL)
		lx->error = why;
}

/*
 * ma_skip_fold - step over a line break inside a field
 *
 * A CRLF (or a bare LF or CR, as some MTAs pass them) is only folding
 * when white space follows; anything else would start a new header
 * field, which cannot be inside one field's value.
 */
static bool
ma_skip_fold(struct ma_lexer *lx)
{
	if (*lx->p == '\r' && lx->p + 1 < lx->end && lx->p[1] == '\n')
		lx->p++;
	lx->p++;
	if (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t'))
		return true;
	ma_error(lx, "line break that is not folding");
	return false;
}

/* ma_skip_comment - step over one comment, nested ones included */
static bool
ma_skip_comment(struct ma_lexer *lx)
{
	unsigned depth = 0;

	while (lx->p < lx->end) {
		unsigned char c = *lx->p;

		if (c == '(') {
			if (++depth > MA_MAX_DEPTH) {
				ma_error(lx, "comments nested too deeply");
				return false;
			}
			lx->p++;
		} else if (c == ')') {
			lx->p++;
			if (--depth == 0)
				return true;
		} else if (c == '\\') {
			if (lx->p + 1 >= lx->end)
				break;
			lx->p += 2;
		} else if (c == '\r' || c == '\n') {
			if (!ma_skip_fold(lx))
				return false;
		} else {
			lx->p++;
		}
	}
	ma_error(lx, "unterminated comment");
	return false;
}

/* ma_skip_cfws - step over white space, folding and comments */
static bool
ma_skip_cfws(struct ma_lexer *lx)
{
	while (lx->p < lx->end) {
		unsigned char c = *lx->p;

		if (c == ' ' || c == '\t')
			lx->p++;
		else if (c == '\r' || c == '\n') {
			if (!ma_skip_fold(lx))
				return false;
		} else if (c == '(') {
			if (!ma_skip_comment(lx))
				return false;
		} else
			break;
	}
	return true;
}

/* ma_skip_delimited - step over a quoted string or domain literal */
static bool
ma_skip_delimited(struct ma_lexer *lx, unsigned char close, const char *what)
{
	lx->p++;
	while (lx->p < lx->end) {
		unsigned char c = *lx->p;

		if (c == close) {
			lx->p++;
			return true;
		}
		if (c == '\\') {
			if (lx->p + 1 >= lx->end)
				break;
			lx->p += 2;
		} else if (c == '\r' || c == '\n') {
			if (!ma_skip_fold(lx))
				return false;
		} else if (close == ']' && c == '[') {
			break;
		} else {
			lx->p++;
		}
	}
	ma_error(lx, what);
	return false;
}

/* ma_next - the next token after any CFWS */
static void
ma_next(struct ma_parse *ps)
{
	struct ma_lexer *lx = &ps->lx;
	struct ma_token *t = &ps->tok;
	unsigned char c;

	memset(t, 0, sizeof(*t));
	if (!ma_skip_cfws(lx)) {
		t->type = TOK_ERROR;
		return;
	}
	if (lx->p >= lx->end) {
		t->type = TOK_END;
		return;
	}
	c = *lx->p;
	if (c == '"') {
		t->type =
		    ma_skip_delimited(lx, '"', "unterminated quoted string")
			? TOK_QSTRING
			: TOK_ERROR;
	} else if (c == '[') {
		t->type = ma_skip_delimited(lx, ']', "bad domain literal")
			      ? TOK_DLITERAL
			      : TOK_ERROR;
	} else if (strchr("<>@,:;.", c) != NULL) {
		t->type = TOK_SPECIAL;
		t->ch = c;
		lx->p++;
	} else if (ma_is_atext(c)) {
		t->type = TOK_ATOM;
		t->text = lx->p;
		while (lx->p < lx->end && ma_is_atext(*lx->p))
			lx->p++;
		t->len = (size_t)(lx->p - t->text);
	} else {
		ma_error(lx, "character not allowed here");
		t->type = TOK_ERROR;
	}
}

/* ma_is_special - is the current token this special character? */
static bool
ma_is_special(const struct ma_parse *ps, int ch)
{
	return ps->tok.type == TOK_SPECIAL && ps->tok.ch == ch;
}

/*
 * ma_skip_words - step over words and dots (a phrase or a local part)
 *
 * Both obs-phrase and obs-local-part allow dots between words; a local
 * part is taken leniently as to dots (leading, trailing or doubled dots
 * occur in the wild) because only the domain matters to us, but two
 * words with no dot between them are a phrase, never a local part.
 * Returns the number of words and dots seen; *phrase tells whether two
 * words were adjacent.
 */
static unsigned
ma_skip_words(struct ma_parse *ps, bool *phrase)
{
	unsigned n = 0;
	bool prev_word = false;

	*phrase = false;
	while (ps->tok.type == TOK_ATOM || ps->tok.type == TOK_QSTRING ||
	       ma_is_special(ps, '.')) {
		bool word = ps->tok.type != TOK_SPECIAL;

		if (word && prev_word)
			*phrase = true;
		prev_word = word;
		n++;
		ma_next(ps);
	}
	return n;
}

/* ma_local_part - skip a local part; false (with the error) if none */
static bool
ma_local_part(struct ma_parse *ps)
{
	bool phrase;

	if (ma_skip_words(ps, &phrase) == 0) {
		if (ps->tok.type != TOK_ERROR)
			ma_error(&ps->lx, "no local part");
		return false;
	}
	if (phrase) {
		ma_error(&ps->lx, "bad local part");
		return false;
	}
	return true;
}

/* ma_note_domain - count one mailbox and compare its domain */
static void
ma_note_domain(struct ma_parse *ps, const char *raw, size_t len)
{
	char norm[RES_DOMAIN_MAX];

	ps->naddrs++;
	if (raw == NULL ||
	    mailaddr_domain_normalize(raw, len, norm, sizeof(norm)) != 0) {
		ps->bad_domain = true;
		return;
	}
	if (ps->naddrs == 1 || ps->domain[0] == '\0')
		snprintf(ps->domain, sizeof(ps->domain), "%s", norm);
	else if (strcmp(ps->domain, norm) != 0)
		ps->several_domains = true;
}

/*
 * ma_domain - parse the domain after "@" (the current token is "@")
 *
 * dot-atom or obs-domain (CFWS may surround the dots); one final dot is
 * tolerated. A domain literal is syntax we accept but cannot use.
 */
static bool
ma_domain(struct ma_parse *ps)
{
	char raw[MA_RAW_DOMAIN];
	size_t len = 0;
	bool fits = true;

	ma_next(ps);
	if (ps->tok.type == TOK_DLITERAL) {
		ma_note_domain(ps, NULL, 0);
		ma_next(ps);
		return true;
	}
	if (ps->tok.type != TOK_ATOM) {
		ma_error(&ps->lx, "no domain after @");
		return false;
	}
	for (;;) {
		if (len + ps->tok.len + 1 >= sizeof(raw))
			fits = false;
		else {
			memcpy(raw + len, ps->tok.text, ps->tok.len);
			len += ps->tok.len;
		}
		ma_next(ps);
		if (!ma_is_special(ps, '.'))
			break;
		ma_next(ps);
		if (ps->tok.type != TOK_ATOM)
			break; /* the final dot of an absolute name */
		if (fits)
			raw[len++] = '.';
	}
	ma_note_domain(ps, fits ? raw : NULL, len);
	return ps->tok.type != TOK_ERROR;
}

/*
 * ma_route - skip an obsolete route "@a,@b:" before the addr-spec
 *
 * The current token is "@" or ","; routes are source routing for
 * relays and say nothing about the author.
 */
static bool
ma_route(struct ma_parse *ps)
{
	for (;;) {
		while (ma_is_special(ps, ','))
			ma_next(ps);
		if (!ma_is_special(ps, '@')) {
			ma_error(&ps->lx, "bad route");
			return false;
		}
		ma_next(ps);
		if (ps->tok.type == TOK_DLITERAL)
			ma_next(ps);
		else {
			if (ps->tok.type != TOK_ATOM) {
				ma_error(&ps->lx, "bad route");
				return false;
			}
			while (ps->tok.type == TOK_ATOM ||
			       ma_is_special(ps, '.'))
				ma_next(ps);
		}
		if (ma_is_special(ps, ':')) {
			ma_next(ps);
			return true;
		}
		if (!ma_is_special(ps, ',')) {
			ma_error(&ps->lx, "bad route");
			return false;
		}
	}
}

/* ma_angle_addr - parse "<[route] addr-spec>" (the current token is "<") */
static bool
ma_angle_addr(struct ma_parse *ps)
{
	ma_next(ps);
	if ((ma_is_special(ps, '@') || ma_is_special(ps, ',')) && !ma_route(ps))
		return false;
	if (!ma_local_part(ps))
		return false;
	if (!ma_is_special(ps, '@')) {
		ma_error(&ps->lx, "no @ in address");
		return false;
	}
	if (!ma_domain(ps))
		return false;
	if (!ma_is_special(ps, '>')) {
		ma_error(&ps->lx, "no > after address");
		return false;
	}
	ma_next(ps);
	return true;
}

/*
 * ma_list - parse the whole field as an address list
 *
 * RFC 6854 lets From carry groups; their mailboxes count like any other.
 * Empty list elements (obs-mbox-list) are skipped.
 */
static void
ma_list(struct ma_parse *ps)
{
	bool in_group = false;

	ma_next(ps);
	for (;;) {
		unsigned nwords;
		bool phrase;

		if (ps->tok.type == TOK_ERROR)
			return;
		if (ps->tok.type == TOK_END)
			break;
		if (ma_is_special(ps, ',')) {
			ma_next(ps);
			continue;
		}
		if (in_group && ma_is_special(ps, ';')) {
			in_group = false;
			ma_next(ps);
			if (ps->tok.type != TOK_END &&
			    !ma_is_special(ps, ',')) {
				ma_error(&ps->lx, "text after group");
				return;
			}
			continue;
		}
		nwords = ma_skip_words(ps, &phrase);
		if (ma_is_special(ps, '@')) {
			if (nwords == 0 || phrase) {
				ma_error(&ps->lx, nwords == 0
						      ? "no local part"
						      : "bad local part");
				return;
			}
			if (!ma_domain(ps))
				return;
		} else if (ma_is_special(ps, '<')) {
			if (!ma_angle_addr(ps))
				return;
		} else if (ma_is_special(ps, ':') && nwords > 0 && !in_group) {
			in_group = true;
			ma_next(ps);
			continue;
		} else {
			if (ps->tok.type != TOK_ERROR)
				ma_error(&ps->lx, nwords > 0 ? "no address"
							     : "unexpected "
							       "character");
			return;
		}
		/* after a mailbox: the next element, the group's end, or
		 * the end of the field */
		if (ps->tok.type == TOK_END || ma_is_special(ps, ',') ||
		    (in_group && ma_is_special(ps, ';')))
			continue;
		if (ps->tok.type != TOK_ERROR)
			ma_error(&ps->lx, "text after address");
		return;
	}
	if (in_group)
		ma_error(&ps->lx, "group without ;");
}

/* mailaddr_from_domain - the Author Domain named by the From fields */
void
mailaddr_from_domain(const char *const *values, size_t nvalues,
		     struct mailaddr_from *out)
{
	struct ma_parse ps;

	memset(out, 0, sizeof(*out));
	if (values == NULL || nvalues == 0) {
		out->status = MAILADDR_NO_FROM;
		snprintf(out->reason, sizeof(out->reason),
			 "no From header field");
		return;
	}
	if (nvalues > 1) {
		out->status = MAILADDR_MULTIPLE_FIELDS;
		snprintf(out->reason, sizeof(out->reason),
			 "%zu From header fields", nvalues);
		return;
	}
	memset(&ps, 0, sizeof(ps));
	ps.lx.p = (const unsigned char *)(values[0] != NULL ? values[0] : "");
	ps.lx.end = ps.lx.p + strlen((const char *)ps.lx.p);
	ma_list(&ps);
	out->naddrs = ps.naddrs;
	if (ps.lx.error != NULL) {
		out->status = MAILADDR_SYNTAX;
		snprintf(out->reason, sizeof(out->reason),
			 "unparsable From header: %s", ps.lx.error);
	} else if (ps.bad_domain) {
		out->status = MAILADDR_BAD_DOMAIN;
		snprintf(out->reason, sizeof(out->reason),
			 "From domain is not a host name");
	} else if (ps.naddrs == 0) {
		out->status = MAILADDR_NO_ADDRESS;
		snprintf(out->reason, sizeof(out->reason),
			 "From header has no address");
	} else if (ps.several_domains) {
		out->status = MAILADDR_MULTIPLE_DOMAINS;
		snprintf(out->reason, sizeof(out->reason),
			 "From header has addresses in several domains");
	} else {
		out->status = MAILADDR_OK;
		snprintf(out->domain, sizeof(out->domain), "%s", ps.domain);
	}
}

/* ma_utf8_decode - one code point from s (len octets left); -1 if bad */
static int32_t
ma_utf8_decode(const unsigned char *s, size_t len, size_t *used)
{
	int32_t cp;
	size_t n;

	if (s[0] < 0x80) {
		*used = 1;
		return s[0];
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4, cp = s[0] & 0x07;
	else
		return -1;
	if (n > len)
		return -1;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	/* overlong forms, surrogates, beyond Unicode */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return -1;
	*used = n;
	return cp;
}

/*
 * ma_cp_refused - code points we never put in a domain label
 *
 * Without a full IDNA2008 table we refuse at least what can hide or
 * split a label: C1 controls, spaces and invisible formatting
 * characters, and the full stops that UTS #46 would map to ".".
 */
static bool
ma_cp_refused(int32_t cp)
{
	return (cp >= 0x80 && cp <= 0xA0) || cp == 0xAD || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200F) ||
	       (cp >= 0x2028 && cp <= 0x202F) ||
	       (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || cp == 0x3002 ||
	       cp == 0xFEFF || cp == 0xFF0E || cp == 0xFF61 ||
	       (cp >= 0xFFF0 && cp <= 0xFFFF);
}

/* ma_puny_adapt - the RFC 3492 bias adaptation */
static uint32_t
ma_puny_adapt(uint32_t delta, uint32_t npoints, bool first)
{
	uint32_t k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / npoints;
	while (delta > ((36 - 1) * 26) / 2) {
		delta /= 36 - 1;
		k += 36;
	}
	return k + (36 * delta) / (delta + 38);
}

/*
 * ma_punycode - RFC 3492 encoding of cps[0..n) into out
 *
 * Returns the length written, or -1 if it does not fit or overflows.
 */
static int
ma_punycode(const int32_t *cps, size_t n, char *out, size_t outlen)
{
	uint32_t cp_n = 128, delta = 0, bias = 72, h, b;
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		if (cps[i] < 0x80) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)cps[i];
		}
	h = b = (uint32_t)o;
	if (b > 0) {
		if (o + 1 >= outlen)
			return -1;
		out[o++] = '-';
	}
	while (h < n) {
		uint32_t m = UINT32_MAX;

		for (size_t i = 0; i < n; i++)
			if ((uint32_t)cps[i] >= cp_n && (uint32_t)cps[i] < m)
				m = (uint32_t)cps[i];
		if ((m - cp_n) > (UINT32_MAX - delta) / (h + 1))
			return -1;
		delta += (m - cp_n) * (h + 1);
		cp_n = m;
		for (size_t i = 0; i < n; i++) {
			uint32_t c = (uint32_t)cps[i], q;

			if (c < cp_n && ++delta == 0)
				return -1;
			if (c != cp_n)
				continue;
			q = delta;
			for (uint32_t k = 36;; k += 36) {
				uint32_t t = k <= bias        ? 1
					     : k >= bias + 26 ? 26
							      : k - bias;
				uint32_t d;

				if (q < t)
					break;
				d = t + (q - t) % (36 - t);
				if (o + 1 >= outlen)
					return -1;
				out[o++] =
				    (char)(d < 26 ? 'a' + d : '0' + d - 26);
				q = (q - t) / (36 - t);
			}
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)(q < 26 ? 'a' + q : '0' + q - 26);
			bias = ma_puny_adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
		delta++;
		cp_n++;
	}
	out[o] = '\0';
	return (int)o;
}

/* ma_ldh_ok - letters, digits, inner hyphens; 1..63 octets */
static bool
ma_ldh_ok(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

/*
 * ma_label - one label, lower-cased and as an A-label, appended at out
 *
 * Returns the length written, or -1.
 */
static int
ma_label(const unsigned char *s, size_t len, char *out, size_t outlen)
{
	int32_t cps[256];
	size_t n = 0, i = 0;
	bool ascii = true;
	char enc[64];
	int elen;

	if (len == 0)
		return -1;
	while (i < len) {
		size_t used;
		int32_t cp = ma_utf8_decode(s + i, len - i, &used);

		if (cp < 0 || n >= sizeof(cps) / sizeof(cps[0]))
			return -1;
		if (cp >= 'A' && cp <= 'Z')
			cp += 'a' - 'A';
		if (cp >= 0x80) {
			if (ma_cp_refused(cp))
				return -1;
			ascii = false;
		} else if (!((cp >= 'a' && cp <= 'z') ||
			     (cp >= '0' && cp <= '9') || cp == '-'))
			return -1;
		cps[n++] = cp;
		i += used;
	}
	if (ascii) {
		if (n + 1 > outlen)
			return -1;
		for (i = 0; i < n; i++)
			out[i] = (char)cps[i];
		return ma_ldh_ok(out, n) ? (int)n : -1;
	}
	if (cps[0] == '-' || cps[n - 1] == '-')
		return -1;
	elen = ma_punycode(cps, n, enc, sizeof(enc));
	if (elen < 0 || (size_t)elen + 4 > 63 || (size_t)elen + 5 > outlen)
		return -1;
	memcpy(out, "xn--", 4);
	memcpy(out + 4, enc, (size_t)elen);
	return elen + 4;
}

/* mailaddr_domain_normalize - a domain in the form DMARC compares */
int
mailaddr_domain_normalize(const char *in, size_t len, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, start = 0, last = 0;
	bool digits_only = true;

	if (in == NULL || outlen == 0)
		return -1;
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		int n;

		if (i < len && s[i] != '.')
			continue;
		if (o > 0) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = '.';
		}
		last = o;
		n = ma_label(s + start, i - start, out + o, outlen - o);
		if (n < 0)
			return -1;
		o += (size_t)n;
		start = i + 1;
	}
	if (o > 253)
		return -1;
	out[o] = '\0';
	for (size_t i = last; i < o; i++)
		if (out[i] < '0' || out[i] > '9')
			digits_only = false;
	return digits_only ? -1 : 0;
}

/* mailaddr_status_name - a short name for a status */
const char *
mailaddr_status_name(enum mailaddr_status st)
{
	switch (st) {
	case MAILADDR_OK:
		return "ok";
	case MAILADDR_NO_FROM:
		return "no-from";
	case MAILADDR_MULTIPLE_FIELDS:
		return "multiple-fields";
	case MAILADDR_MULTIPLE_DOMAINS:
		return "multiple-domains";
	case MAILADDR_NO_ADDRESS:
		return "no-address";
	case MAILADDR_SYNTAX:
		return "syntax";
	case MAILADDR_BAD_DOMAIN:
		return "bad-domain";
	}
	return "unknown";
}

/* mailaddr_envelope_strip - the address inside optional blanks and <> */
char *
mailaddr_envelope_strip(const char *addr)
{
	size_t len;

	while (isspace((unsigned char)*addr))
		addr++;
	len = strlen(addr);
	while (len > 0 && isspace((unsigned char)addr[len - 1]))
		len--;
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
		addr++;
		len -= 2;
	}
	return strndup(addr, len);
}

/* mailaddr_envelope_domain - the text after the last '@', for logs */
void
mailaddr_envelope_domain(const char *addr, char *out, size_t outlen)
{
	const char *at = strrchr(addr, '@');
	size_t n;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (at == NULL)
		return;
	at++;
	n = strcspn(at, "> \t");
	if (n >= outlen)
		n = outlen - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)at[i]);
	out[n] = '\0';
}
