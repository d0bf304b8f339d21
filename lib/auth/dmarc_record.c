/*
 * dmarc_record.c - DMARC Policy Record parsing (RFC 9989 4.7, 4.8)
 *
 * Owns the record grammar: "v=DMARC1" first ("v" in any case, DMARC1
 * exactly), then "tag = value" pairs split at ";". Tag names are
 * case-sensitive in RFC 9989 mode: 4.7 makes the record a DKIM tag-list
 * (RFC 6376 3.2: tags are case-sensitive), and its ABNF names no tag but
 * "v", so "P=reject" is an unknown tag. RFC 7489 mode matches them in
 * any case: its ABNF spells every tag as a quoted string ("p", "sp",
 * ...), which RFC 5234 2.3 makes case-insensitive, and libopendmarc,
 * which that mode stands in for, does the same. Keywords (reject, y, r)
 * are case-insensitive in both: they are ABNF strings in both. 4.8
 * discards syntax errors in favour of defaults, so a non-tag element, an
 * unknown tag or a bad adkim/aspf/psd/t/pct never spoils the record; a
 * bad p, sp or np is kept (DMARC_POL_INVALID) for 4.10.1's own rule. A
 * tag given twice is a bad value (RFC 6376 tag-lists forbid repeats).
 * rua= is only checked for one well-formed URI, for that same rule.
 * libopendmarc's parser was measured and not used: it takes a record
 * whose v= is not first, reads pct=abc as 0, drops a record for adkim=x.
 */
#include "build.h" /* first: feature macros */

#include <string.h>
#include <strings.h>

#include "dmarc_record.h"

/* tags we know; bit positions for duplicate detection */
enum dr_tag {
	DR_P,
	DR_SP,
	DR_NP,
	DR_ADKIM,
	DR_ASPF,
	DR_PSD,
	DR_T,
	DR_PCT,
	DR_RUA,
	DR_FO,
	DR_UNKNOWN,
};

static const struct {
	const char *name;
	enum dr_tag tag;
	bool rfc9989_only;
} dr_tags[] = {
    {"p", DR_P, false},       {"sp", DR_SP, false},
    {"np", DR_NP, true},      {"adkim", DR_ADKIM, false},
    {"aspf", DR_ASPF, false}, {"psd", DR_PSD, true},
    {"t", DR_T, true},        {"pct", DR_PCT, false},
    {"rua", DR_RUA, false},
};

/* dr_wsp - RFC 5234 WSP */
static bool
dr_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* dr_trim - drop WSP at both ends of [*s, *s + *len) */
static void
dr_trim(const char **s, size_t *len)
{
	while (*len > 0 && dr_wsp(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && dr_wsp((*s)[*len - 1]))
		(*len)--;
}

/* dr_eq - case-insensitive comparison of a counted string with a word */
static bool
dr_eq(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/*
 * dr_split - split one element "name = value" (WSP already trimmed)
 *
 * Returns false if it is not 1*ALPHA and "=": such an element is not a
 * tag at all. A value that is empty or holds octets outside printing
 * ASCII comes back with *vlen 0: the tag is known to be there, but bad.
 */
static bool
dr_split(const char *s, size_t len, const char **name, size_t *nlen,
	 const char **val, size_t *vlen)
{
	size_t i = 0;

	while (i < len &&
	       ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
		i++;
	if (i == 0)
		return false;
	*name = s;
	*nlen = i;
	while (i < len && dr_wsp(s[i]))
		i++;
	if (i >= len || s[i] != '=')
		return false;
	i++;
	*val = s + i;
	*vlen = len - i;
	dr_trim(val, vlen);
	for (size_t k = 0; k < *vlen; k++)
		if ((unsigned char)(*val)[k] < 0x20 ||
		    (unsigned char)(*val)[k] > 0x7E)
			*vlen = 0;
	return true;
}

/* dr_policy - a dmarc-request value */
static enum dmarc_pol
dr_policy(const char *v, size_t len)
{
	if (dr_eq(v, len, "none"))
		return DMARC_POL_NONE;
	if (dr_eq(v, len, "quarantine"))
		return DMARC_POL_QUARANTINE;
	if (dr_eq(v, len, "reject"))
		return DMARC_POL_REJECT;
	return DMARC_POL_INVALID;
}

/* dr_uri_char - may this octet appear in a URI (RFC 3986)? */
static bool
dr_uri_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("-._~:/?#[]@!$&'()*+;=%", c) != NULL);
}

/* dr_hex - a hex digit? */
static bool
dr_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/*
 * dr_uri_ok - is this one dmarc-uri (or obs-dmarc-uri "uri!size")?
 *
 * scheme ":" and at least one more URI character, "%" followed by two
 * hex digits; the obsolete size suffix is allowed and ignored.
 */
static bool
dr_uri_ok(const char *s, size_t len)
{
	size_t i = 0, end = len;

	for (size_t k = len; k > 0; k--)
		if (s[k - 1] == '!') {
			size_t d = k;

			while (d < len && s[d] >= '0' && s[d] <= '9')
				d++;
			if (d > k &&
			    (d == len ||
			     (d + 1 == len && strchr("kmgt", s[d]) != NULL)))
				end = k - 1;
			break;
		}
	if (end == 0 ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	while (i < end && s[i] != ':') {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '-' ||
		      c == '.'))
			return false;
		i++;
	}
	if (i >= end || i + 1 >= end)
		return false;
	for (i++; i < end; i++) {
		if (s[i] == '%') {
			if (i + 2 >= end || !dr_hex(s[i + 1]) ||
			    !dr_hex(s[i + 2]))
				return false;
			i += 2;
		} else if (s[i] == '!' || !dr_uri_char(s[i]))
			return false;
	}
	return true;
}

/* dr_urilist_ok - does a comma-separated list hold one good URI? */
static bool
dr_urilist_ok(const char *v, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && v[i] != ',')
			continue;
		const char *u = v + start;
		size_t ulen = i - start;

		dr_trim(&u, &ulen);
		if (ulen > 0 && dr_uri_ok(u, ulen))
			return true;
		start = i + 1;
	}
	return false;
}

/* dr_size - the "!size" suffix of a URI: bytes, 0 when there is none */
static unsigned long
dr_size(const char *s, size_t len, size_t *urilen)
{
	const char *bang = memchr(s, '!', len);
	unsigned long n = 0, mult = 1;
	size_t i;

	*urilen = len;
	if (bang == NULL)
		return 0;
	for (i = (size_t)(bang - s) + 1; i < len && s[i] >= '0' && s[i] <= '9';
	     i++)
		n = n < 100000000ul ? n * 10 + (unsigned long)(s[i] - '0') : n;
	if (i + 1 == len)
		mult = s[i] == 'k'   ? 1ul << 10
		       : s[i] == 'm' ? 1ul << 20
		       : s[i] == 'g' ? 1ul << 30
				     : 1ul << 30; /* 't': more than we send */
	*urilen = (size_t)(bang - s);
	return n > (~0ul) / mult ? ~0ul : n * mult;
}

/* dmarc_rua_list - the well-formed URIs of a rua= value */
size_t
dmarc_rua_list(const char *value, struct dmarc_uri *out, size_t max)
{
	size_t len = strlen(value), start = 0, n = 0;

	for (size_t i = 0; i <= len && n < max; i++) {
		const char *u;
		size_t ulen, plain;

		if (i < len && value[i] != ',')
			continue;
		u = value + start;
		ulen = i - start;
		start = i + 1;
		dr_trim(&u, &ulen);
		if (ulen == 0 || !dr_uri_ok(u, ulen))
			continue;
		out[n].max_size = dr_size(u, ulen, &plain);
		if (plain >= sizeof(out[n].uri))
			continue;
		memcpy(out[n].uri, u, plain);
		out[n].uri[plain] = '\0';
		n++;
	}
	return n;
}

/* dr_pct - 0..100, or -1 */
static int
dr_pct(const char *v, size_t len)
{
	int n = 0;

	if (len == 0 || len > 3)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	return n <= 100 ? n : -1;
}

/* dr_flag - one of the characters in allowed (case-insensitive), or 0 */
static char
dr_flag(const char *v, size_t len, const char *allowed)
{
	char c;

	if (len != 1)
		return 0;
	c = (char)(v[0] >= 'A' && v[0] <= 'Z' ? v[0] - 'A' + 'a' : v[0]);
	return strchr(allowed, c) != NULL ? c : 0;
}

/* dr_lookup - which known tag is this name? (case: see the top) */
static enum dr_tag
dr_lookup(const char *name, size_t len, bool rfc7489)
{
	for (size_t i = 0; i < sizeof(dr_tags) / sizeof(dr_tags[0]); i++)
		if (rfc7489 ? dr_eq(name, len, dr_tags[i].name)
			    : strlen(dr_tags[i].name) == len &&
				  memcmp(name, dr_tags[i].name, len) == 0)
			return rfc7489 && dr_tags[i].rfc9989_only
				   ? DR_UNKNOWN
				   : dr_tags[i].tag;
	return DR_UNKNOWN;
}

/* dr_apply - store one tag's value; dup marks a repeated tag */
static void
dr_apply(struct dmarc_record *rec, enum dr_tag tag, const char *v, size_t len,
	 bool dup)
{
	char c;

	switch (tag) {
	case DR_P:
		rec->p = dup ? DMARC_POL_INVALID : dr_policy(v, len);
		break;
	case DR_SP:
		rec->sp = dup ? DMARC_POL_INVALID : dr_policy(v, len);
		break;
	case DR_NP:
		rec->np = dup ? DMARC_POL_INVALID : dr_policy(v, len);
		break;
	case DR_ADKIM:
		c = dup ? 0 : dr_flag(v, len, "rs");
		rec->adkim = c != 0 ? c : 'r';
		break;
	case DR_ASPF:
		c = dup ? 0 : dr_flag(v, len, "rs");
		rec->aspf = c != 0 ? c : 'r';
		break;
	case DR_PSD:
		c = dup ? 0 : dr_flag(v, len, "ynu");
		rec->psd = c != 0 ? c : 'u';
		break;
	case DR_T:
		rec->t = dup ? 0 : dr_flag(v, len, "yn");
		break;
	case DR_PCT:
		rec->pct = dup ? -1 : dr_pct(v, len);
		break;
	case DR_RUA:
		rec->rua_valid = !dup && dr_urilist_ok(v, len);
		/* kept whole for the reports, which parse it themselves;
		 * one too long for us is as good as absent */
		if (rec->rua_valid && len < sizeof(rec->rua)) {
			memcpy(rec->rua, v, len);
			rec->rua[len] = '\0';
		} else
			rec->rua[0] = '\0';
		break;
	case DR_FO:
		if (!dup && len < sizeof(rec->fo)) {
			memcpy(rec->fo, v, len);
			rec->fo[len] = '\0';
		} else
			rec->fo[0] = '\0';
		break;
	case DR_UNKNOWN:
		break;
	}
}

/* dmarc_record_is_dmarc - does this TXT string start with v=DMARC1? */
bool
dmarc_record_is_dmarc(const char *txt, size_t len)
{
	size_t i = 0;

	if (txt == NULL)
		return false;
	while (i < len && dr_wsp(txt[i]))
		i++;
	if (i >= len || (txt[i] != 'v' && txt[i] != 'V'))
		return false;
	i++;
	while (i < len && dr_wsp(txt[i]))
		i++;
	if (i >= len || txt[i] != '=')
		return false;
	i++;
	while (i < len && dr_wsp(txt[i]))
		i++;
	if (len - i < 6 || memcmp(txt + i, "DMARC1", 6) != 0)
		return false;
	i += 6;
	while (i < len && dr_wsp(txt[i]))
		i++;
	return i == len || txt[i] == ';';
}

/* dmarc_record_parse - parse a record into rec */
bool
dmarc_record_parse(const char *txt, size_t len, bool rfc7489,
		   struct dmarc_record *rec)
{
	unsigned seen = 0;
	size_t start;
	const char *semi;

	memset(rec, 0, sizeof(*rec));
	if (!dmarc_record_is_dmarc(txt, len))
		return false;
	rec->adkim = rec->aspf = 'r';
	rec->psd = 'u';
	rec->pct = -1;
	semi = memchr(txt, ';', len);
	start = semi != NULL ? (size_t)(semi - txt) + 1 : len;
	while (start < len) {
		const char *el = txt + start, *name, *val;
		size_t elen, nlen, vlen;
		enum dr_tag tag;

		semi = memchr(el, ';', len - start);
		elen = semi != NULL ? (size_t)(semi - el) : len - start;
		start += elen + 1;
		dr_trim(&el, &elen);
		if (elen == 0 || !dr_split(el, elen, &name, &nlen, &val, &vlen))
			continue;
		tag = dr_lookup(name, nlen, rfc7489);
		if (tag == DR_UNKNOWN)
			continue;
		dr_apply(rec, tag, val, vlen, (seen & (1u << tag)) != 0);
		seen |= 1u << tag;
	}
	return true;
}

/* dmarc_pol_name - "none", "quarantine", "reject", or "" */
const char *
dmarc_pol_name(enum dmarc_pol pol)
{
	switch (pol) {
	case DMARC_POL_NONE:
		return "none";
	case DMARC_POL_QUARANTINE:
		return "quarantine";
	case DMARC_POL_REJECT:
		return "reject";
	case DMARC_POL_UNSET:
	case DMARC_POL_INVALID:
		break;
	}
	return "";
}
