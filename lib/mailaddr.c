/*
 * mailaddr.c - the Author Domain of a message from its From header fields
 *
 * Owns a small RFC 5322 tokenizer (CFWS with nested comments, quoted
 * strings, domain literals, atoms that may hold RFC 6532 UTF-8) and a
 * parser for the From field's address list: mailbox-list, RFC 6854
 * groups, display names, angle addresses with obsolete routes, empty
 * list elements. Only domains are kept. RFC 9989 5.3.1: several
 * mailboxes in one domain still give one Author Domain; several domains
 * or several From fields give none. Domains are normalised by
 * mailaddr_idna.c. Work is one pass over the input, nothing is allocated
 * (but the copy mailaddr_envelope_strip returns), and comment nesting is
 * limited to MA_MAX_DEPTH.
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
	struct mailaddr_from *out;   /* collects every distinct domain */
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

/* ma_add_domain - add a normalised domain to out's list unless there */
static void
ma_add_domain(struct mailaddr_from *out, const char *norm)
{
	for (unsigned i = 0; i < out->ndomains; i++)
		if (strcmp(out->domains[i], norm) == 0)
			return;
	if (out->ndomains == RES_AUTHORS_MAX) {
		out->more_domains = true;
		return;
	}
	snprintf(out->domains[out->ndomains++], sizeof(out->domains[0]), "%s",
		 norm);
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
	ma_add_domain(ps->out, norm);
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

/* ma_field - parse one From field into out: its status and domain only
 * when first, its domains and usability always */
static void
ma_field(const char *value, struct mailaddr_from *out, bool first)
{
	struct ma_parse ps;
	enum mailaddr_status st;
	char reason[RES_REASON_MAX];

	memset(&ps, 0, sizeof(ps));
	ps.out = out;
	ps.lx.p = (const unsigned char *)(value != NULL ? value : "");
	ps.lx.end = ps.lx.p + strlen((const char *)ps.lx.p);
	ma_list(&ps);
	out->naddrs += ps.naddrs;
	if (ps.lx.error != NULL) {
		st = MAILADDR_SYNTAX;
		snprintf(reason, sizeof(reason), "unparsable From header: %s",
			 ps.lx.error);
	} else if (ps.bad_domain) {
		st = MAILADDR_BAD_DOMAIN;
		snprintf(reason, sizeof(reason),
			 "From domain is not a host name");
	} else if (ps.naddrs == 0) {
		st = MAILADDR_NO_ADDRESS;
		snprintf(reason, sizeof(reason), "From header has no address");
	} else if (ps.several_domains) {
		st = MAILADDR_MULTIPLE_DOMAINS;
		snprintf(reason, sizeof(reason),
			 "From header has addresses in several domains");
	} else {
		st = MAILADDR_OK;
		reason[0] = '\0';
	}
	if (st != MAILADDR_OK && st != MAILADDR_MULTIPLE_DOMAINS)
		out->unusable = true;
	if (!first)
		return;
	out->status = st;
	snprintf(out->reason, sizeof(out->reason), "%s", reason);
	if (st == MAILADDR_OK)
		snprintf(out->domain, sizeof(out->domain), "%s", ps.domain);
}

/* mailaddr_from_domain - the Author Domain named by the From fields */
void
mailaddr_from_domain(const char *const *values, size_t nvalues,
		     struct mailaddr_from *out)
{
	memset(out, 0, sizeof(*out));
	if (values == NULL || nvalues == 0) {
		out->status = MAILADDR_NO_FROM;
		snprintf(out->reason, sizeof(out->reason),
			 "no From header field");
		return;
	}
	for (size_t f = 0; f < nvalues; f++)
		ma_field(values[f], out, f == 0);
	if (nvalues > 1) {
		out->status = MAILADDR_MULTIPLE_FIELDS;
		out->domain[0] = '\0';
		snprintf(out->reason, sizeof(out->reason),
			 "%zu From header fields", nvalues);
	}
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

/* mailaddr_envelope_parts - local part and domain of an envelope address */
int
mailaddr_envelope_parts(const char *addr, char *local, size_t locallen,
			char *domain, size_t domainlen)
{
	const char *s = addr, *at = NULL, *end;
	size_t ll, dl;

	while (isspace((unsigned char)*s))
		s++;
	s += *s == '<';
	end = s + strcspn(s, ">");
	for (const char *p = s; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		at = end;
	ll = (size_t)(at - s);
	dl = at < end ? (size_t)(end - at - 1) : 0;
	if (ll >= locallen || dl >= domainlen)
		return -1;
	memcpy(local, s, ll);
	local[ll] = '\0';
	memcpy(domain, at < end ? at + 1 : "", dl);
	domain[dl] = '\0';
	return 0;
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
