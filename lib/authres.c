/*
 * authres.c - format and recognise Authentication-Results headers (RFC 8601)
 *
 * Owns the text of our one A-R header (ar_format) and the test "does this
 * existing A-R header claim our authserv-id?" (ar_is_ours).
 *
 * Every value copied from the message or from DNS is written bare only
 * when it fits RFC 8601's grammar (a RFC 2045 token, or local-part "@"
 * domain-name); otherwise it is written as a quoted-string, and dropped
 * when even that cannot hold it (control characters, CR/LF, 8-bit bytes,
 * over AR_VALUE_MAX). In quoted-strings and comments every "=" and ";"
 * from data is a quoted-pair ("\=", "\;"): same meaning, but a text match
 * for "dmarc=pass" or a split at ";" (procmail, Sieve) only finds ours.
 * The header is 7-bit; no line is over 998 characters by construction.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "strbuf.h"

#define AR_VALUE_MAX    320    /* longest value taken from data, raw */
#define AR_COMMENT_MAX  160    /* longest comment text taken from data */
#define AR_LINE_SOFT    78     /* RFC 5322 2.1.1 "SHOULD" line length */
#define AR_FIELD_PREFIX 24     /* strlen("Authentication-Results: ") */
#define AR_FOLD         '\001' /* a space where a line may be folded */

/* ar_field_len - length of a struct field, or -1 if it lacks its NUL */
static long
ar_field_len(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	return n == size ? -1 : (long)n;
}

/* ar_tchar - an RFC 2045 token character (no SPACE, CTL or tspecial) */
static bool
ar_tchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* ar_printable - only printable US-ASCII and SPACE (quotable) */
static bool
ar_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* ar_is_token - a non-empty RFC 2045 token */
static bool
ar_is_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ar_tchar((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * ar_is_domain - RFC 6376 3.5 domain-name: Let-dig [Ldh-str] labels
 * of at most 63 octets joined by single dots, at most 253 in all
 */
static bool
ar_is_domain(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum(c) || (c == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && s[n - 1] != '-';
}

/*
 * ar_is_plain_local - RFC 5322 dot-atom-text without "=", so that the
 * local-part can be written bare; "=" is atext but must not appear bare
 */
static bool
ar_is_plain_local(const char *s, size_t n)
{
	bool dot_ok = false;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '.') {
			if (!dot_ok)
				return false;
			dot_ok = false;
		} else if (isalnum(c) || strchr("!#$%&'*+-/?^_`{|}~", c)) {
			dot_ok = true;
		} else {
			return false;
		}
	}
	return n == 0 || dot_ok;
}

/* ar_put_escaped - quotable text with "\" before each byte of esc */
static void
ar_put_escaped(struct strbuf *b, const char *s, size_t n, const char *esc)
{
	for (size_t i = 0; i < n; i++) {
		if (strchr(esc, s[i]) != NULL)
			sb_putc(b, '\\');
		sb_putc(b, s[i]);
	}
}

/* ar_put_quoted - s as an RFC 5322 quoted-string */
static void
ar_put_quoted(struct strbuf *b, const char *s, size_t n)
{
	sb_putc(b, '"');
	ar_put_escaped(b, s, n, "\\\"=;");
	sb_putc(b, '"');
}

/*
 * ar_put_prop - " ptype.property=pvalue" from a struct field, or nothing
 *
 * pvalue is written bare when it is a token or [local-part] "@"
 * domain-name; an address whose local-part needs it gets a quoted
 * local-part (same address); anything else quotable is quoted whole.
 */
static void
ar_put_prop(struct strbuf *b, const char *name, const char *v, size_t size)
{
	long len = ar_field_len(v, size);
	const char *at;
	size_t n, local;

	if (len <= 0 || len > AR_VALUE_MAX || !ar_printable(v, (size_t)len))
		return;
	n = (size_t)len;
	sb_putc(b, AR_FOLD);
	sb_puts(b, name);
	sb_putc(b, '=');
	if (ar_is_token(v, n)) {
		sb_putn(b, v, n);
		return;
	}
	at = memrchr(v, '@', n);
	local = at ? (size_t)(at - v) : 0;
	if (at == NULL || !ar_is_domain(at + 1, n - local - 1)) {
		ar_put_quoted(b, v, n);
		return;
	}
	if (ar_is_plain_local(v, local)) {
		sb_putn(b, v, n);
		return;
	}
	/* an already quoted local-part is re-quoted from its content */
	if (local >= 2 && v[0] == '"' && v[local - 1] == '"') {
		struct strbuf tmp = {0};

		for (size_t i = 1; i < local - 1; i++) {
			if (v[i] == '\\' && i + 1 < local - 1)
				i++;
			sb_putc(&tmp, v[i]);
		}
		ar_put_quoted(b, tmp.s ? tmp.s : "", tmp.len);
		b->nomem |= tmp.nomem;
		free(tmp.s);
	} else {
		ar_put_quoted(b, v, local);
	}
	sb_putn(b, at, n - local);
}

/*
 * ar_put_text - comment text taken from data: parens, backslash, "=" and
 * ";" escaped, control characters made spaces (foldable, runs collapsed),
 * 8-bit bytes made "?"; at most AR_COMMENT_MAX bytes are read
 */
static void
ar_put_text(struct strbuf *b, const char *s, size_t size)
{
	long len = ar_field_len(s, size);
	size_t n = len < 0 ? size : (size_t)len;
	bool space = false, any = false;

	if (n > AR_COMMENT_MAX)
		n = AR_COMMENT_MAX;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c <= 0x20 || c == 0x7f) {
			space = any;
			continue;
		}
		if (space)
			sb_putc(b, AR_FOLD);
		space = false;
		any = true;
		if (c > 0x7f)
			c = '?';
		else if (strchr("()\\=;", c) != NULL)
			sb_putc(b, '\\');
		sb_putc(b, (char)c);
	}
}

/* ar_has_text - does a struct field hold any non-blank text? */
static bool
ar_has_text(const char *s, size_t size)
{
	for (size_t i = 0; i < size && s[i] != '\0'; i++)
		if ((unsigned char)s[i] > 0x20 && (unsigned char)s[i] != 0x7f)
			return true;
	return false;
}

/* ar_put_word - " key=word" for a DNS tag value of letters and digits */
static bool
ar_put_word(struct strbuf *b, bool first, const char *key, const char *v,
	    size_t size)
{
	long len = ar_field_len(v, size);

	if (len <= 0 || len > 32)
		return false;
	for (long i = 0; i < len; i++)
		if (!isalnum((unsigned char)v[i]))
			return false;
	if (!first)
		sb_putc(b, AR_FOLD);
	sb_puts(b, key);
	sb_putc(b, '=');
	sb_putn(b, v, (size_t)len);
	return true;
}

/* ar_result_spf - one spf= result for the MAIL FROM or HELO identity */
static void
ar_result_spf(struct strbuf *b, const struct spf_outcome *spf,
	      const char *ptype)
{
	const char *id = spf->identity;
	size_t size = sizeof(spf->identity);

	sb_puts(b, "spf=");
	sb_puts(b, result_name(spf->result));
	if (ar_has_text(spf->reason, sizeof(spf->reason))) {
		sb_puts(b, "\001(");
		ar_put_text(b, spf->reason, sizeof(spf->reason));
		sb_putc(b, ')');
	}
	if (ar_field_len(id, size) <= 0) {
		id = spf->domain;
		size = sizeof(spf->domain);
	}
	ar_put_prop(b, ptype, id, size);
}

/* ar_result_dkim - one dkim= result for one signature */
static void
ar_result_dkim(struct strbuf *b, const struct dkim_outcome *d)
{
	bool key = true, why;

	sb_puts(b, "dkim=");
	sb_puts(b, result_name(d->result));
	/* a reason on a pass (l=, testing key) is worth reading too */
	why = ar_has_text(d->reason, sizeof(d->reason));
	if (d->keybits > 0) {
		char bits[32];

		snprintf(bits, sizeof(bits), "\001(%u-bit\001key", d->keybits);
		sb_puts(b, bits);
	} else if (strncasecmp(d->algorithm, "ed25519", 7) == 0) {
		sb_puts(b, "\001(ed25519\001key");
	} else {
		key = false;
	}
	if (why) {
		sb_puts(b, key ? ";\001" : "\001(");
		ar_put_text(b, d->reason, sizeof(d->reason));
	}
	if (key || why)
		sb_putc(b, ')');
	ar_put_prop(b, "header.d", d->domain, sizeof(d->domain));
	ar_put_prop(b, "header.i", d->identity, sizeof(d->identity));
	ar_put_prop(b, "header.s", d->selector, sizeof(d->selector));
	ar_put_prop(b, "header.a", d->algorithm, sizeof(d->algorithm));
	ar_put_prop(b, "header.b", d->b, sizeof(d->b));
}

/* ar_result_arc - the arc= result: the sealers in the comment, newest
 * first ("i=2 lists.example.org, i=1 mail.example.com"), then why it
 * failed; header.oldest-pass when an older AMS no longer validates */
static void
ar_result_arc(struct strbuf *b, const struct arc_outcome *a)
{
	char num[16];
	bool why = a->result == RES_FAIL &&
		   ar_has_text(a->reason, sizeof(a->reason));

	sb_puts(b, "arc=");
	sb_puts(b, result_name(a->result));
	if (a->nsealers > 0 || why) {
		sb_puts(b, "\001(");
		for (unsigned i = 0; i < a->nsealers && i < RES_ARC_SEALERS;
		     i++) {
			snprintf(num, sizeof(num), "%si=%u\001",
				 i ? ",\001" : "", a->sealer_i[i]);
			sb_puts(b, num);
			ar_put_text(b, a->sealers[i], sizeof(a->sealers[i]));
		}
		if (why) {
			sb_puts(b, a->nsealers > 0 ? ";\001" : "");
			ar_put_text(b, a->reason, sizeof(a->reason));
		}
		sb_putc(b, ')');
	}
	if (a->oldest_pass > 0) {
		snprintf(num, sizeof(num), "%u", a->oldest_pass);
		ar_put_prop(b, "header.oldest-pass", num, sizeof(num));
	}
	ar_put_prop(b, "smtp.remote-ip", a->remote_ip, sizeof(a->remote_ip));
}

/*
 * ar_dmarc_others - the author domains not in header.from, in the
 * comment: "other author domains: D RESULT, ..." (no "=" after a
 * domain, so a text match for "dmarc=" still finds only our result)
 */
static void
ar_dmarc_others(struct strbuf *c, const struct dmarc_outcome *dm, bool first)
{
	unsigned n =
	    dm->nothers < RES_AUTHORS_MAX ? dm->nothers : RES_AUTHORS_MAX;

	if (n == 0 && dm->nauthors <= RES_AUTHORS_MAX)
		return;
	if (!first)
		sb_puts(c, ";\001");
	sb_puts(c, dm->from_domain[0] != '\0' ? "other\001author\001domains:"
					      : "author\001domains:");
	for (unsigned i = 0; i < n; i++) {
		const struct dmarc_author *a = &dm->others[i];
		long len = ar_field_len(a->domain, sizeof(a->domain));

		if (len <= 0 || !ar_is_domain(a->domain, (size_t)len))
			continue;
		sb_puts(c, i > 0 ? ",\001" : "\001");
		sb_putn(c, a->domain, (size_t)len);
		sb_putc(c, AR_FOLD);
		sb_puts(c, result_name(a->result));
	}
	if (dm->nauthors > RES_AUTHORS_MAX)
		sb_puts(c, ",\001more\001not\001checked");
}

/* ar_result_dmarc - the dmarc= result with its policy comment */
static void
ar_result_dmarc(struct strbuf *b, const struct dmarc_outcome *dm)
{
	struct strbuf c = {0};
	bool first = true;

	sb_puts(b, "dmarc=");
	sb_puts(b, result_name(dm->result));
	if (ar_put_word(&c, first, "p", dm->policy, sizeof(dm->policy)))
		first = false;
	if (ar_put_word(&c, first, "sp", dm->subpolicy, sizeof(dm->subpolicy)))
		first = false;
	if (ar_put_word(&c, first, "dis", dm->disposition,
			sizeof(dm->disposition)))
		first = false;
	if (ar_has_text(dm->reason, sizeof(dm->reason))) {
		if (!first)
			sb_puts(&c, ";\001");
		ar_put_text(&c, dm->reason, sizeof(dm->reason));
		first = false;
	}
	if (dm->arc_override[0] != '\0') {
		if (!first)
			sb_puts(&c, ";\001");
		sb_puts(&c, "arc\001override\001by\001");
		ar_put_text(&c, dm->arc_override, sizeof(dm->arc_override));
		first = false;
	}
	if (dm->known_correspondent) {
		if (!first)
			sb_puts(&c, ";\001");
		sb_puts(&c, "known\001correspondent");
		first = false;
	}
	ar_dmarc_others(&c, dm, first);
	if (c.len > 0) {
		sb_puts(b, "\001(");
		sb_putn(b, c.s, c.len);
		sb_putc(b, ')');
	}
	b->nomem |= c.nomem;
	free(c.s);
	ar_put_prop(b, "header.from", dm->from_domain, sizeof(dm->from_domain));
}

/*
 * ar_fold - append one result (units split by AR_FOLD) on new lines
 *
 * Units go on the current line while it stays within AR_LINE_SOFT
 * (counting the ";" that follows a result that is not the last); a unit
 * too long for any line gets a line of its own.
 */
static void
ar_fold(struct strbuf *out, const char *res, size_t n, bool last)
{
	size_t col = 1, i = 0;

	sb_puts(out, ";\n\t");
	while (i < n) {
		const char *end = memchr(res + i, AR_FOLD, n - i);
		size_t u = (end ? (size_t)(end - res) : n) - i;
		size_t need = u + (end == NULL && !last ? 1 : 0);

		if (col > 1 && col + 1 + need > AR_LINE_SOFT) {
			sb_puts(out, "\n\t");
			col = 1;
		} else if (col > 1) {
			sb_putc(out, ' ');
			col++;
		}
		sb_putn(out, res + i, u);
		col += u;
		i += u + (end ? 1 : 0);
	}
}

/* ar_authserv - the authserv-id as a token or quoted-string; false if unfit */
static bool
ar_authserv(struct strbuf *out, const char *id)
{
	size_t n = id ? strnlen(id, AR_VALUE_MAX + 1) : 0;

	if (n == 0 || n > AR_VALUE_MAX || !ar_printable(id, n))
		return false;
	if (ar_is_token(id, n))
		sb_putn(out, id, n);
	else
		ar_put_quoted(out, id, n);
	return true;
}

/* ar_format - our A-R header value (see authres.h) */
char *
ar_format(const char *authserv_id, const struct auth_results *res)
{
	struct strbuf out = {0}, r[4] = {{0}};
	size_t nr = 0, nd = 0;

	if (!ar_authserv(&out, authserv_id)) {
		free(out.s);
		errno = EINVAL;
		return NULL;
	}
	if (res != NULL) {
		if (ar_field_len(res->auth_user, sizeof(res->auth_user)) > 0) {
			sb_puts(&r[nr], "auth=pass");
			ar_put_prop(&r[nr++], "smtp.auth", res->auth_user,
				    sizeof(res->auth_user));
		}
		if (res->spf_mailfrom.checked)
			ar_result_spf(&r[nr++], &res->spf_mailfrom,
				      "smtp.mailfrom");
		if (res->spf_helo.checked)
			ar_result_spf(&r[nr++], &res->spf_helo, "smtp.helo");
		if (res->dmarc.checked)
			ar_result_dmarc(&r[nr++], &res->dmarc);
		nd = res->dkim != NULL ? res->ndkim : 0;
	}

	if (nr == 0 && nd == 0 && (res == NULL || !res->arc.checked)) {
		/* RFC 8601 2.2 no-result: no method was applied */
		if (AR_FIELD_PREFIX + out.len + 6 > AR_LINE_SOFT)
			sb_puts(&out, ";\n\tnone");
		else
			sb_puts(&out, "; none");
	} else {
		/* order: auth, spf (mailfrom, helo), dkim, arc, dmarc */
		size_t before = nr - (res->dmarc.checked ? 1 : 0);

		for (size_t i = 0; i < before; i++)
			ar_fold(&out, r[i].s, r[i].len, false);
		bool arc = res->arc.checked;

		if (nd == 0) {
			ar_fold(&out, "dkim=none", 9,
				!res->dmarc.checked && !arc);
		}
		for (size_t i = 0; i < nd; i++) {
			struct strbuf d = {0};

			ar_result_dkim(&d, &res->dkim[i]);
			ar_fold(&out, d.s ? d.s : "", d.len,
				i + 1 == nd && !res->dmarc.checked && !arc);
			out.nomem |= d.nomem;
			free(d.s);
		}
		if (arc) {
			struct strbuf a = {0};

			ar_result_arc(&a, &res->arc);
			ar_fold(&out, a.s ? a.s : "", a.len,
				!res->dmarc.checked);
			out.nomem |= a.nomem;
			free(a.s);
		}
		if (res->dmarc.checked)
			ar_fold(&out, r[nr - 1].s, r[nr - 1].len, true);
	}
	for (size_t i = 0; i < nr; i++) {
		out.nomem |= r[i].nomem;
		free(r[i].s);
	}
	if (out.nomem) {
		free(out.s);
		errno = ENOMEM;
		return NULL;
	}
	return out.s;
}

/*
 * ar_space_len - octets of white space at p, as any reader of the header
 * may count it: RFC 5322's SP, HTAB, CR, LF; the VT and FF that Perl's \s
 * (SpamAssassin's AuthRes plugin) and C's isspace() also skip; NEL and
 * NBSP as Latin-1 octets; and Unicode White_Space in UTF-8 (a reader
 * that decodes the header first). 0 when p is not white space.
 */
static size_t
ar_space_len(const unsigned char *p)
{
	if (strchr(" \t\r\n\v\f", *p) != NULL && *p != '\0')
		return 1;
	if (*p == 0x85 || *p == 0xa0)
		return 1;
	if (p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
		return 2;
	if (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80) /* U+1680 */
		return 3;
	if (p[0] == 0xe2 && p[1] == 0x80 &&
	    ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 ||
	     p[2] == 0xaf)) /* U+2000-200A, U+2028, U+2029, U+202F */
		return 3;
	if (p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f) /* U+205F */
		return 3;
	if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) /* U+3000 */
		return 3;
	return 0;
}

/*
 * ar_skip_cfws - skip CFWS: white space of any kind (ar_space_len) and
 * nested comments with quoted-pairs; NULL for an unterminated comment
 */
static const char *
ar_skip_cfws(const char *p)
{
	for (;;) {
		size_t sp = ar_space_len((const unsigned char *)p);

		if (sp > 0) {
			p += sp;
		} else if (*p == '(') {
			size_t depth = 1;

			for (p++; depth > 0; p++) {
				if (*p == '\0')
					return NULL;
				if (*p == '\\' && p[1] != '\0')
					p++;
				else if (*p == '(')
					depth++;
				else if (*p == ')')
					depth--;
			}
		} else {
			return p;
		}
	}
}

/*
 * ar_match_id - compare the authserv-id at *pp (token or quoted-string)
 * with id, case-insensitively; advances *pp past it
 */
static bool
ar_match_id(const char **pp, const char *id)
{
	const char *p = *pp;
	size_t k = 0;
	bool same = true;

	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0')
				return false;
			if (*p == '\\' && p[1] != '\0')
				p++;
			/* folding inside a quoted-string is not content */
			if (*p == '\r' || *p == '\n')
				continue;
			if (same && id[k] != '\0' &&
			    tolower((unsigned char)*p) ==
				tolower((unsigned char)id[k]))
				k++;
			else
				same = false;
		}
		p++;
	} else {
		const char *start = p;

		while (ar_tchar((unsigned char)*p))
			p++;
		k = (size_t)(p - start);
		/* "mx.example.org." names the same host */
		if (k > 1 && start[k - 1] == '.' && strlen(id) == k - 1)
			k--;
		same = k > 0 && strncasecmp(start, id, k) == 0;
	}
	*pp = p;
	return same && id[k] == '\0';
}

/*
 * ar_is_ours - does this A-R header value claim authserv_id?
 *
 * Ours when its first token (or quoted-string) is our id, whatever
 * follows: a malformed header that starts with our id would still fool
 * a text rule matching "^Authentication-Results: our-id.*dmarc=pass",
 * so it is removed too. One final dot on the id is ignored.
 */
bool
ar_is_ours(const char *value, const char *authserv_id)
{
	const char *p;

	if (value == NULL || authserv_id == NULL || *authserv_id == '\0')
		return false;
	if ((p = ar_skip_cfws(value)) == NULL)
		return false;
	return ar_match_id(&p, authserv_id);
}

/*
 * ar_arc_is_ours - does this ARC-Authentication-Results value claim
 * authserv_id? RFC 8617 puts "i=N;" before the authserv-id; it is
 * skipped leniently (any text up to the first ';' after an "i"), since
 * a reader that finds our id there may trust what follows.
 */
bool
ar_arc_is_ours(const char *value, const char *authserv_id)
{
	const char *p;

	if (value == NULL || authserv_id == NULL || *authserv_id == '\0')
		return false;
	if ((p = ar_skip_cfws(value)) == NULL)
		return false;
	if (*p == 'i' || *p == 'I') {
		const char *semi = strchr(p, ';');

		if (semi != NULL && (size_t)(semi - p) <= 64 &&
		    (p = ar_skip_cfws(semi + 1)) != NULL &&
		    ar_match_id(&p, authserv_id))
			return true;
		p = value;
		if ((p = ar_skip_cfws(p)) == NULL)
			return false;
	}
	return ar_match_id(&p, authserv_id);
}

/* ar_strip_comments - value without its RFC 5322 comments (outside
 * quoted strings; nested ones too), malloc'd; NULL on no memory */
char *
ar_strip_comments(const char *value)
{
	struct strbuf out = STRBUF_INIT;
	unsigned depth = 0;
	bool quoted = false;

	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0' && (quoted || depth > 0)) {
			if (depth == 0) {
				sb_putc(&out, p[0]);
				sb_putc(&out, p[1]);
			}
			p++;
			continue;
		}
		if (depth == 0 && *p == '"')
			quoted = !quoted;
		if (!quoted && *p == '(') {
			depth++;
			continue;
		}
		if (!quoted && *p == ')' && depth > 0) {
			/* one space where the comment and its blanks were */
			if (--depth == 0)
				while (p[1] == ' ' && out.len > 0 &&
				       out.s[out.len - 1] == ' ')
					p++;
			continue;
		}
		if (depth == 0)
			sb_putc(&out, *p);
	}
	return sb_failed(&out) ? (sb_free(&out), NULL) : sb_steal(&out);
}
