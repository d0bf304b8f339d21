/*
 * report_row.c - a report row's text form in the state store
 *
 * Owns the one writer and the one parser of that form:
 *
 *   v=1 TAB name=value TAB name=value ...
 *
 * Values are percent-encoded (every octet outside 0x21..0x7E, and "%",
 * "=", "/"), so a value can never hold a TAB, a newline or a field of
 * its own. Repeated fields (dk= per DKIM result, rs= per override
 * reason) join their parts with "/". The field order is fixed, so two
 * equal rows have equal text: the store counts them together.
 */
#include "build.h" /* first: feature macros */

#include <stddef.h>
#include <string.h>

#include "report_row.h"
#include "strbuf.h"

/* rr_put - append one percent-encoded value */
static void
rr_put(struct strbuf *out, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p < 0x21 || *p > 0x7E || *p == '%' || *p == '=' ||
		    *p == '/') {
			sb_putc(out, '%');
			sb_putc(out, hex[*p >> 4]);
			sb_putc(out, hex[*p & 15]);
		} else
			sb_putc(out, (char)*p);
	}
}

/* rr_field - append TAB name=value (nothing for an empty value) */
static void
rr_field(struct strbuf *out, const char *name, const char *v)
{
	if (v[0] == '\0')
		return;
	sb_putc(out, '\t');
	sb_puts(out, name);
	sb_putc(out, '=');
	rr_put(out, v);
}

/* report_row_format - see report_row.h */
void
report_row_format(const struct report_row *row, struct strbuf *out)
{
	char c[2] = {0, 0};

	sb_puts(out, "v=1");
	rr_field(out, "ip", row->source_ip);
	rr_field(out, "hf", row->header_from);
	rr_field(out, "ef", row->envelope_from);
	rr_field(out, "et", row->envelope_to);
	rr_field(out, "sd", row->spf_domain);
	rr_field(out, "ss", row->spf_scope);
	rr_field(out, "sr", row->spf_result);
	for (unsigned i = 0; i < row->ndkim && i < REPORT_DKIM_MAX; i++) {
		sb_puts(out, "\tdk=");
		rr_put(out, row->dkim[i].domain);
		sb_putc(out, '/');
		rr_put(out, row->dkim[i].selector);
		sb_putc(out, '/');
		rr_put(out, row->dkim[i].result);
	}
	rr_field(out, "dd", row->dmarc_dkim);
	rr_field(out, "ds", row->dmarc_spf);
	rr_field(out, "di", row->disposition);
	rr_field(out, "rq", row->requested);
	for (unsigned i = 0; i < row->nreasons && i < REPORT_REASONS_MAX;
	     i++) {
		sb_puts(out, "\trs=");
		rr_put(out, row->reasons[i].type);
		sb_putc(out, '/');
		rr_put(out, row->reasons[i].comment);
	}
	rr_field(out, "pd", row->pol.domain);
	rr_field(out, "p", row->pol.p);
	rr_field(out, "sp", row->pol.sp);
	rr_field(out, "np", row->pol.np);
	c[0] = row->pol.adkim;
	rr_field(out, "adkim", c);
	c[0] = row->pol.aspf;
	rr_field(out, "aspf", c);
	rr_field(out, "fo", row->pol.fo);
	c[0] = row->pol.testing;
	rr_field(out, "t", c);
	rr_field(out, "dm", row->pol.discovery);
	rr_field(out, "rua", row->pol.rua);
}

/* rr_hexval - a hex digit's value, or -1 */
static int
rr_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * rr_get - decode [s, end) up to a stop octet ("/" in a part, or none)
 * into dst of size dstlen; *next is where it stopped. -1 on a bad
 * escape, an encoded NUL, or a value that does not fit.
 */
static int
rr_get(const char *s, const char *end, char stop, char *dst, size_t dstlen,
       const char **next)
{
	size_t n = 0;

	while (s < end && *s != stop) {
		char c = *s;

		if (c == '%') {
			int hi, lo;

			if (end - s < 3 || (hi = rr_hexval(s[1])) < 0 ||
			    (lo = rr_hexval(s[2])) < 0 || (hi | lo) == 0)
				return -1;
			c = (char)(hi << 4 | lo);
			s += 3;
		} else
			s++;
		if (n + 1 >= dstlen)
			return -1;
		dst[n++] = c;
	}
	dst[n] = '\0';
	*next = s;
	return 0;
}

/* rr_one - a single-character field (adkim, aspf, t) */
static int
rr_one(const char *s, const char *end, char *dst)
{
	char buf[4];
	const char *next;

	if (rr_get(s, end, '\0', buf, sizeof(buf), &next) != 0 ||
	    strlen(buf) != 1)
		return -1;
	*dst = buf[0];
	return 0;
}

/* rr_parts - "a/b" or "a/b/c" parts into the given buffers */
static int
rr_parts(const char *s, const char *end, char *a, size_t alen, char *b,
	 size_t blen, char *c, size_t clen)
{
	const char *next;

	if (rr_get(s, end, '/', a, alen, &next) != 0 || next >= end)
		return -1;
	if (c == NULL)
		return rr_get(next + 1, end, '\0', b, blen, &next);
	if (rr_get(next + 1, end, '/', b, blen, &next) != 0 || next >= end)
		return -1;
	return rr_get(next + 1, end, '\0', c, clen, &next);
}

/* the fields that are one plain string, by name */
#define RR_STR(name, member) {name, offsetof(struct report_row, member), \
			      sizeof(((struct report_row *)0)->member)}
static const struct {
	const char *name;
	size_t off, size;
} rr_strs[] = {
    RR_STR("ip", source_ip),       RR_STR("hf", header_from),
    RR_STR("ef", envelope_from),   RR_STR("et", envelope_to),
    RR_STR("sd", spf_domain),      RR_STR("ss", spf_scope),
    RR_STR("sr", spf_result),      RR_STR("dd", dmarc_dkim),
    RR_STR("ds", dmarc_spf),       RR_STR("di", disposition),
    RR_STR("rq", requested),       RR_STR("pd", pol.domain),
    RR_STR("p", pol.p),            RR_STR("sp", pol.sp),
    RR_STR("np", pol.np),          RR_STR("fo", pol.fo),
    RR_STR("dm", pol.discovery),   RR_STR("rua", pol.rua),
};

/* rr_apply - one "name=value" field [s, end) into row */
static int
rr_apply(const char *s, const char *end, struct report_row *row,
	 const char **why)
{
	const char *eq = memchr(s, '=', (size_t)(end - s));
	size_t nlen;
	const char *v, *next;

	if (eq == NULL) {
		*why = "a field without \"=\"";
		return -1;
	}
	nlen = (size_t)(eq - s);
	v = eq + 1;
	for (size_t i = 0; i < sizeof(rr_strs) / sizeof(rr_strs[0]); i++)
		if (strlen(rr_strs[i].name) == nlen &&
		    memcmp(rr_strs[i].name, s, nlen) == 0) {
			if (rr_get(v, end, '\0', (char *)row + rr_strs[i].off,
				   rr_strs[i].size, &next) != 0) {
				*why = "a value too long or badly encoded";
				return -1;
			}
			return 0;
		}
	if (nlen == 2 && memcmp(s, "dk", 2) == 0) {
		struct report_dkim *d;

		if (row->ndkim >= REPORT_DKIM_MAX)
			return 0; /* more than we keep: ignored */
		d = &row->dkim[row->ndkim];
		if (rr_parts(v, end, d->domain, sizeof(d->domain), d->selector,
			     sizeof(d->selector), d->result,
			     sizeof(d->result)) != 0) {
			*why = "a bad dk= field";
			return -1;
		}
		row->ndkim++;
		return 0;
	}
	if (nlen == 2 && memcmp(s, "rs", 2) == 0) {
		struct report_reason *r;

		if (row->nreasons >= REPORT_REASONS_MAX)
			return 0;
		r = &row->reasons[row->nreasons];
		if (rr_parts(v, end, r->type, sizeof(r->type), r->comment,
			     sizeof(r->comment), NULL, 0) != 0) {
			*why = "a bad rs= field";
			return -1;
		}
		row->nreasons++;
		return 0;
	}
	if ((nlen == 5 && memcmp(s, "adkim", 5) == 0) ||
	    (nlen == 4 && memcmp(s, "aspf", 4) == 0) ||
	    (nlen == 1 && s[0] == 't')) {
		char *dst = nlen == 5   ? &row->pol.adkim
			    : nlen == 4 ? &row->pol.aspf
					: &row->pol.testing;

		if (rr_one(v, end, dst) != 0) {
			*why = "a bad one-letter field";
			return -1;
		}
		return 0;
	}
	return 0; /* a newer writer's field */
}

/* report_row_parse - see report_row.h */
int
report_row_parse(const char *text, struct report_row *row, const char **why)
{
	const char *s = text;

	memset(row, 0, sizeof(*row));
	row->pol.adkim = row->pol.aspf = 'r';
	row->pol.testing = 'n';
	if (strncmp(s, "v=1", 3) != 0 || (s[3] != '\t' && s[3] != '\0')) {
		*why = "not a version 1 row";
		return -1;
	}
	s += 3;
	while (*s == '\t') {
		const char *start = s + 1;
		const char *end = strchr(start, '\t');

		if (end == NULL)
			end = start + strlen(start);
		if (rr_apply(start, end, row, why) != 0)
			return -1;
		s = end;
	}
	if (*s != '\0') {
		*why = "text after the last field";
		return -1;
	}
	return 0;
}
