/*
 * spf_parse.c - SPF record grammar and macro expansion (RFC 7208)
 *
 * Owns the text side of SPF for spf.c: the term grammar of sections
 * 4.6.1, 5 and 6 (mechanisms, modifiers, CIDR lengths, domain-spec with
 * its toplabel rule), the macro grammar and expansion of section 7
 * (letters, transformers, delimiters, URL escaping of upper-case
 * letters), and the client address in the forms the macros need.
 *
 * Nothing here allocates. Expansion writes into a bounded buffer: a
 * domain keeps its right end, so that labels are dropped on the left
 * past 253 octets as section 7.3 says; an explanation is cut on the
 * right. One domain-spec may not expand to more than SPF_EXPAND_MAX
 * octets in all, which bounds the work a hostile record can cause.
 */
#include "build.h" /* first: feature macros */

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dns/dns.h"
#include "spf.h"
#include "spf_int.h"

#define SPF_NAME_MAX   253   /* longest name we ask for, without the dot */
#define SPF_EXPAND_BUF 1024  /* window for expanding a domain (> 2 names) */
#define SPF_EXPAND_MAX 16384 /* give up expanding one domain-spec */

/* a bounded output buffer for macro expansion */
struct spf_buf {
	char *p;
	size_t cap; /* usable octets, the NUL not counted */
	size_t len;
	size_t total;   /* octets offered, kept or not */
	bool keep_tail; /* a domain keeps its right end */
	bool cut;       /* something was dropped */
};

static bool
spf_isalpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
spf_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
spf_isalnum(int c)
{
	return spf_isalpha(c) || spf_isdigit(c);
}

static int
spf_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* spf_ieq - case-insensitive compare of n octets with a lower-case word */
bool
spf_ieq(const char *s, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (word[i] == '\0' ||
		    spf_lower((unsigned char)s[i]) != word[i])
			return false;
	return word[i] == '\0';
}

/*
 * Bounded output
 */

/* spf_buf_put - append octets; on overflow keep the head or the tail */
static void
spf_buf_put(struct spf_buf *b, const char *s, size_t n)
{
	size_t drop;

	b->total += n;
	if (b->len + n <= b->cap) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
		return;
	}
	b->cut = true;
	if (!b->keep_tail) {
		memcpy(b->p + b->len, s, b->cap - b->len);
		b->len = b->cap;
		return;
	}
	if (n >= b->cap) {
		memcpy(b->p, s + n - b->cap, b->cap);
		b->len = b->cap;
		return;
	}
	/* drop at least half the window so that appending stays linear */
	drop = b->len + n - b->cap;
	if (drop < b->cap / 2)
		drop = b->cap / 2;
	if (drop > b->len)
		drop = b->len;
	memmove(b->p, b->p + drop, b->len - drop);
	b->len -= drop;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* spf_buf_put_escaped - append, URL-escaping all but RFC 3986 unreserved */
static void
spf_buf_put_escaped(struct spf_buf *b, const char *s, size_t n, bool escape)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	if (!escape) {
		spf_buf_put(b, s, n);
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[3];

		if (spf_isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			spf_buf_put(b, (const char *)&s[i], 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		spf_buf_put(b, e, 3);
	}
}

/*
 * Client address
 */

/* spf_set_client - parse the client IP; v4-mapped IPv6 becomes IPv4 */
bool
spf_set_client(struct spf_ctx *ctx, const char *text)
{
	static const char hexl[] = "0123456789abcdef";
	static const char hexu[] = "0123456789ABCDEF";
	unsigned char a6[16];
	const char *hex;
	char *p;
	int i;

	if (text == NULL)
		return false;
	if (strncasecmp(text, "IPv6:", 5) == 0)
		text += 5;
	if (inet_pton(AF_INET, text, ctx->ip) == 1) {
		ctx->family = AF_INET;
	} else if (inet_pton(AF_INET6, text, a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a6)) {
			ctx->family = AF_INET;
			memcpy(ctx->ip, a6 + 12, 4);
		} else {
			ctx->family = AF_INET6;
			memcpy(ctx->ip, a6, 16);
		}
	} else {
		return false;
	}
	inet_ntop(ctx->family, ctx->ip, ctx->ip_c, sizeof ctx->ip_c);
	if (ctx->family == AF_INET) {
		memcpy(ctx->ip_i, ctx->ip_c, sizeof ctx->ip_c);
		return true;
	}
	/*
	 * RFC 7208 does not say which case the nibbles of %{i} take: its
	 * section 7.4 example is lower-case, the RFC 7208 test suite wants
	 * upper-case for an upper-case client address. DNS does not care,
	 * so keep the case the MTA wrote the address in.
	 */
	hex = strpbrk(text, "ABCDEF") ? hexu : hexl;
	p = ctx->ip_i;
	for (i = 0; i < 16; i++) {
		*p++ = hex[ctx->ip[i] >> 4];
		*p++ = '.';
		*p++ = hex[ctx->ip[i] & 15];
		*p++ = '.';
	}
	p[-1] = '\0';
	return true;
}

/* spf_reverse_name - the in-addr.arpa or ip6.arpa name of the client */
void
spf_reverse_name(const struct spf_ctx *ctx, char *buf, size_t bufsz)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *a = ctx->ip;
	size_t n = 0;
	int i;

	if (ctx->family == AF_INET) {
		snprintf(buf, bufsz, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
			 a[1], a[0]);
		return;
	}
	for (i = 15; i >= 0 && n + 4 < bufsz; i--) {
		buf[n++] = hex[a[i] & 15];
		buf[n++] = '.';
		buf[n++] = hex[a[i] >> 4];
		buf[n++] = '.';
	}
	snprintf(buf + n, bufsz - n, "ip6.arpa");
}

/* spf_name_under - is name equal to suffix or below it? (any case) */
bool
spf_name_under(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (s > 0 && suffix[s - 1] == '.')
		s--;
	if (s > n || strncasecmp(name + n - s, suffix, s) != 0)
		return false;
	return n == s || name[n - s - 1] == '.';
}

/*
 * Macro grammar (section 7.1)
 */

static bool
spf_is_delim(int c)
{
	return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' ||
	       c == '_' || c == '=';
}

/* spf_macro_letter - is c a macro letter here? c r t only in exp text */
static bool
spf_macro_letter(int c, bool exp)
{
	switch (spf_lower(c)) {
	case 's':
	case 'l':
	case 'o':
	case 'd':
	case 'i':
	case 'p':
	case 'h':
	case 'v':
		return true;
	case 'c':
	case 'r':
	case 't':
		return exp;
	default:
		return false;
	}
}

/*
 * spf_macro_len - length of the macro-expand at s (s[0] is '%'), or 0
 * if it is malformed; *digits gets its DIGIT transformer (0: none)
 */
static size_t
spf_macro_len(const char *s, size_t n, bool exp, unsigned *digits)
{
	size_t i;
	unsigned v = 0;
	bool have = false;

	*digits = 0;
	if (n < 2)
		return 0;
	if (s[1] == '%' || s[1] == '_' || s[1] == '-')
		return 2;
	if (s[1] != '{' || n < 4 || !spf_macro_letter((unsigned char)s[2], exp))
		return 0;
	for (i = 3; i < n && spf_isdigit(s[i]); i++) {
		have = true;
		if (v < 1000) /* more parts than any name can have */
			v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (have && v == 0)
		return 0; /* section 7.3: the DIGIT value MUST be nonzero */
	if (i < n && (s[i] == 'r' || s[i] == 'R'))
		i++;
	while (i < n && spf_is_delim((unsigned char)s[i]))
		i++;
	if (i >= n || s[i] != '}')
		return 0;
	*digits = v;
	return i + 1;
}

/*
 * spf_macro_string_ok - check a macro-string (or an explain-string, which
 * also allows SP); *ends_in_macro and *tail (where the literal text after
 * the last macro starts), if asked for, serve the domain-end rule
 */
static bool
spf_macro_string_ok(const char *s, size_t n, bool exp, bool *ends_in_macro,
		    size_t *tail)
{
	size_t i = 0, m, lit = 0;
	unsigned digits;
	bool macro_last = false;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			m = spf_macro_len(s + i, n - i, exp, &digits);
			if (m == 0)
				return false;
			i += m;
			lit = i;
			macro_last = true;
			continue;
		}
		if (c < 0x21 || c > 0x7e) {
			if (!(exp && c == ' '))
				return false;
		}
		macro_last = false;
		i++;
	}
	if (ends_in_macro != NULL)
		*ends_in_macro = macro_last;
	if (tail != NULL)
		*tail = lit;
	return true;
}

/* spf_toplabel_ok - section 7.1: alphanumerics, inner '-', not all digits */
static bool
spf_toplabel_ok(const char *s, size_t n)
{
	bool alpha = false;
	size_t i;

	if (n == 0 || !spf_isalnum((unsigned char)s[0]) ||
	    !spf_isalnum((unsigned char)s[n - 1]))
		return false;
	for (i = 0; i < n; i++) {
		if (spf_isalpha((unsigned char)s[i]) || s[i] == '-')
			alpha = true;
		else if (!spf_isdigit((unsigned char)s[i]))
			return false;
	}
	return alpha;
}

/* spf_domain_spec_ok - domain-spec = macro-string domain-end */
static bool
spf_domain_spec_ok(const char *s, size_t n)
{
	bool macro_last = false;
	size_t tail, end, dot;

	if (n == 0 || !spf_macro_string_ok(s, n, false, &macro_last, &tail))
		return false;
	if (macro_last)
		return true;
	/* domain-end = "." toplabel [ "." ], all literal text */
	end = n;
	if (end > tail && s[end - 1] == '.')
		end--;
	for (dot = end; dot > tail && s[dot - 1] != '.'; dot--)
		;
	if (dot == tail)
		return false;
	return spf_toplabel_ok(s + dot, end - dot);
}

/*
 * Macro expansion (section 7.3)
 */

/*
 * spf_put_parts - write value split on delims, reversed if asked, its
 * right-most `digits` parts (0: all), joined with '.'
 */
static void
spf_put_parts(struct spf_buf *b, const char *v, size_t n, const char *delims,
	      size_t ndelims, unsigned digits, bool reverse, bool escape)
{
	size_t parts = 1, skip, i, start, end;
	bool first = true;

#define IS_DELIM(c) (memchr(delims, (c), ndelims) != NULL)
	for (i = 0; i < n; i++)
		if (IS_DELIM(v[i]))
			parts++;
	skip = digits && digits < parts ? parts - digits : 0;
	if (!reverse) {
		/* keep parts skip..parts-1 in order */
		for (start = 0; skip > 0; start++)
			if (IS_DELIM(v[start]))
				skip--;
		for (i = start; i <= n; i++) {
			if (i < n && !IS_DELIM(v[i]))
				continue;
			if (!first)
				spf_buf_put(b, ".", 1);
			spf_buf_put_escaped(b, v + start, i - start, escape);
			first = false;
			start = i + 1;
		}
		return;
	}
	/* reversed: the right-most parts of the reversed list are the
	 * left-most of the original, written right to left */
	end = n;
	for (i = parts - (digits && digits < parts ? digits : parts); i > 0;
	     i--) {
		while (!IS_DELIM(v[end - 1]))
			end--;
		end--;
	}
	start = end;
	for (;;) {
		while (start > 0 && !IS_DELIM(v[start - 1]))
			start--;
		if (!first)
			spf_buf_put(b, ".", 1);
		spf_buf_put_escaped(b, v + start, end - start, escape);
		first = false;
		if (start == 0)
			break;
		end = --start;
	}
#undef IS_DELIM
}

/* spf_expand - expand a macro-string checked by spf_macro_string_ok() */
static int
spf_expand(struct spf_ctx *ctx, const char *domain, const char *s, size_t n,
	   bool exp, struct spf_buf *b)
{
	char tmp[RES_DOMAIN_MAX];
	size_t i = 0, m, lit;

	while (i < n) {
		const char *v, *delims;
		size_t vlen, ndelims, j;
		unsigned digits;
		bool reverse = false;
		int letter;

		if (b->total > SPF_EXPAND_MAX)
			return -1;
		for (lit = i; lit < n && s[lit] != '%'; lit++)
			;
		if (lit > i) {
			spf_buf_put(b, s + i, lit - i);
			i = lit;
			continue;
		}
		m = spf_macro_len(s + i, n - i, exp, &digits);
		if (m == 0)
			return -1;
		if (m == 2) {
			/* "%%" "%_" "%-": a percent, a space, a URL space */
			if (s[i + 1] == '-')
				spf_buf_put(b, "%20", 3);
			else
				spf_buf_put(b, s[i + 1] == '%' ? "%" : " ", 1);
			i += 2;
			continue;
		}
		letter = (unsigned char)s[i + 2];
		switch (spf_lower(letter)) {
		case 's':
			v = ctx->sender;
			break;
		case 'l':
			v = ctx->local;
			break;
		case 'o':
			v = ctx->sdomain;
			break;
		case 'd':
			v = domain;
			break;
		case 'i':
			v = ctx->ip_i;
			break;
		case 'p':
			spf_macro_p(ctx, domain, tmp, sizeof tmp);
			v = tmp;
			break;
		case 'v':
			v = ctx->family == AF_INET ? "in-addr" : "ip6";
			break;
		case 'h':
			v = ctx->req->helo ? ctx->req->helo : "";
			break;
		case 'c':
			v = ctx->ip_c;
			break;
		case 'r':
			v = ctx->req->receiver && *ctx->req->receiver
				? ctx->req->receiver
				: "unknown";
			break;
		default: /* 't' */
			snprintf(tmp, sizeof tmp, "%lld",
				 (long long)time(NULL));
			v = tmp;
			break;
		}
		vlen = spf_lower(letter) == 'l' ? ctx->local_len : strlen(v);
		/* after the letter: digits, optional 'r', delimiters, '}' */
		for (j = i + 3; spf_isdigit(s[j]); j++)
			;
		if (s[j] == 'r' || s[j] == 'R') {
			reverse = true;
			j++;
		}
		delims = s + j;
		ndelims = i + m - 1 - j;
		if (ndelims == 0) {
			delims = ".";
			ndelims = 1;
		}
		spf_put_parts(b, v, vlen, delims, ndelims, digits, reverse,
			      letter >= 'A' && letter <= 'Z');
		i += m;
	}
	return b->total > SPF_EXPAND_MAX ? -1 : 0;
}

/*
 * spf_expand_name - expand a domain-spec into a name that may be asked
 * (section 7.3: trailing dot dropped, left labels dropped past 253
 * octets); false if the result is not a valid DNS name
 */
bool
spf_expand_name(struct spf_ctx *ctx, const char *domain, const char *spec,
		size_t len, char *name, size_t namesz)
{
	char tmp[SPF_EXPAND_BUF];
	struct spf_buf b = {tmp, sizeof tmp - 1, 0, 0, true, false};
	size_t start = 0, n;

	if (spf_expand(ctx, domain, spec, len, false, &b) < 0)
		return false;
	n = b.len;
	if (n > 0 && tmp[n - 1] == '.')
		n--;
	if (b.cut || n > SPF_NAME_MAX) {
		/* a cut window starts inside a label: drop it too */
		do {
			while (start < n && tmp[start] != '.')
				start++;
			if (start >= n)
				return false;
			start++;
		} while (n - start > SPF_NAME_MAX);
	}
	if (n - start >= namesz)
		return false;
	memcpy(name, tmp + start, n - start);
	name[n - start] = '\0';
	return dns_name_valid(name);
}

/*
 * Term grammar (section 4.6.1, 5, 6)
 */

/* spf_cidr_num - a CIDR length with no leading zero, at most max */
static bool
spf_cidr_num(const char *s, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < n; i++) {
		if (!spf_isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* spf_dual_cidr - dual-cidr-length = [ "/" ip4 ] [ "//" ip6 ], whole string */
static bool
spf_dual_cidr(const char *s, size_t n, struct spf_term *t)
{
	size_t i = 0, j;

	if (i < n && s[i] == '/' && (i + 1 >= n || s[i + 1] != '/')) {
		for (j = ++i; j < n && s[j] != '/'; j++)
			;
		if (!spf_cidr_num(s + i, j - i, 32, &t->cidr4))
			return false;
		i = j;
	}
	if (i < n) {
		if (n - i < 2 || s[i] != '/' || s[i + 1] != '/')
			return false;
		if (!spf_cidr_num(s + i + 2, n - i - 2, 128, &t->cidr6))
			return false;
	}
	return true;
}

/* spf_split_cidr - split a dual-cidr-length off the end of a domain-spec */
static bool
spf_split_cidr(const char *s, size_t *n, struct spf_term *t)
{
	size_t end = *n, j;

	for (j = end; j > 0 && spf_isdigit((unsigned char)s[j - 1]); j--)
		;
	if (j < end && j >= 2 && s[j - 1] == '/' && s[j - 2] == '/') {
		if (!spf_cidr_num(s + j, end - j, 128, &t->cidr6))
			return false;
		end = j - 2;
		for (j = end; j > 0 && spf_isdigit((unsigned char)s[j - 1]);
		     j--)
			;
	}
	if (j < end && j >= 1 && s[j - 1] == '/') {
		if (!spf_cidr_num(s + j, end - j, 32, &t->cidr4))
			return false;
		end = j - 1;
	}
	*n = end;
	return true;
}

/* spf_ip4_parse - dotted quad, 0..255, no leading zeros */
static bool
spf_ip4_parse(const char *s, size_t n, unsigned char *out)
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		size_t st = i;
		unsigned v = 0;

		while (i < n && spf_isdigit((unsigned char)s[i]) && i - st < 4)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == st || i - st > 3 || v > 255 ||
		    (i - st > 1 && s[st] == '0'))
			return false;
		out[part] = (unsigned char)v;
		if (part < 3) {
			if (i >= n || s[i] != '.')
				return false;
			i++;
		}
	}
	return i == n;
}

/* spf_ip6_parse - an IPv6 address of at most 45 characters */
static bool
spf_ip6_parse(const char *s, size_t n, unsigned char *out)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (n == 0 || n >= sizeof buf || memchr(s, '\0', n))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1;
}

/* spf_parse_addr - "ip4:" / "ip6:" network and its CIDR length */
static const char *
spf_parse_addr(const char *r, size_t n, struct spf_term *t)
{
	size_t slash;
	bool v4 = t->kind == T_IP4;

	if (n < 2 || r[0] != ':')
		return "address missing";
	r++;
	n--;
	for (slash = 0; slash < n && r[slash] != '/'; slash++)
		;
	if (v4 ? !spf_ip4_parse(r, slash, t->addr)
	       : !spf_ip6_parse(r, slash, t->addr))
		return "bad address";
	if (slash < n &&
	    !spf_cidr_num(r + slash + 1, n - slash - 1, v4 ? 32 : 128,
			  v4 ? &t->cidr4 : &t->cidr6))
		return "bad CIDR length";
	return NULL;
}

/* spf_term_parse - one term; NULL if it is valid, else what is wrong */
const char *
spf_term_parse(const char *s, size_t n, struct spf_term *t)
{
	static const struct {
		const char *name;
		enum spf_kind kind;
	} mechs[] = {
	    {"all", T_ALL}, {"include", T_INCLUDE}, {"a", T_A},
	    {"mx", T_MX},   {"ptr", T_PTR},         {"ip4", T_IP4},
	    {"ip6", T_IP6}, {"exists", T_EXISTS},
	};
	size_t i, name, rlen;
	const char *r;

	memset(t, 0, sizeof *t);
	t->cidr4 = 32;
	t->cidr6 = 128;
	t->qual = RES_PASS;

	/* modifier: name "=" ..., the name as section 4.6.1 has it */
	if (spf_isalpha((unsigned char)s[0])) {
		for (i = 1;
		     i < n && (spf_isalnum((unsigned char)s[i]) ||
			       s[i] == '-' || s[i] == '_' || s[i] == '.');
		     i++)
			;
		if (i < n && s[i] == '=') {
			t->spec = s + i + 1;
			t->spec_len = n - i - 1;
			if (spf_ieq(s, i, "redirect") || spf_ieq(s, i, "exp")) {
				t->kind =
				    spf_ieq(s, i, "exp") ? T_EXP : T_REDIRECT;
				return spf_domain_spec_ok(t->spec, t->spec_len)
					   ? NULL
					   : "bad domain-spec";
			}
			t->kind = T_UNKNOWN_MOD;
			return spf_macro_string_ok(t->spec, t->spec_len, false,
						   NULL, NULL)
				   ? NULL
				   : "bad macro-string";
		}
	}

	/* directive: [ qualifier ] mechanism */
	i = 1;
	switch (s[0]) {
	case '+':
		break;
	case '-':
		t->qual = RES_FAIL;
		break;
	case '~':
		t->qual = RES_SOFTFAIL;
		break;
	case '?':
		t->qual = RES_NEUTRAL;
		break;
	default:
		i = 0;
		break;
	}
	for (name = i; i < n && spf_isalnum((unsigned char)s[i]); i++)
		;
	for (size_t k = 0;; k++) {
		if (k == sizeof mechs / sizeof mechs[0])
			return "unknown mechanism";
		if (spf_ieq(s + name, i - name, mechs[k].name)) {
			t->kind = mechs[k].kind;
			break;
		}
	}
	r = s + i;
	rlen = n - i;

	switch (t->kind) {
	case T_ALL:
		return rlen == 0 ? NULL : "junk after all";
	case T_IP4:
	case T_IP6:
		return spf_parse_addr(r, rlen, t);
	case T_INCLUDE:
	case T_EXISTS:
		if (rlen < 2 || r[0] != ':')
			return "domain-spec missing";
		t->spec = r + 1;
		t->spec_len = rlen - 1;
		return spf_domain_spec_ok(t->spec, t->spec_len)
			   ? NULL
			   : "bad domain-spec";
	case T_PTR:
		if (rlen == 0)
			return NULL;
		if (r[0] != ':')
			return "junk after ptr";
		t->spec = r + 1;
		t->spec_len = rlen - 1;
		return spf_domain_spec_ok(t->spec, t->spec_len)
			   ? NULL
			   : "bad domain-spec";
	default: /* a, mx */
		if (rlen == 0 || r[0] != ':')
			return spf_dual_cidr(r, rlen, t) ? NULL
							 : "bad CIDR length";
		t->spec = r + 1;
		t->spec_len = rlen - 1;
		if (!spf_split_cidr(t->spec, &t->spec_len, t))
			return "bad CIDR length";
		return spf_domain_spec_ok(t->spec, t->spec_len)
			   ? NULL
			   : "bad domain-spec";
	}
}

/* spf_next_term - the next SP-separated term of a record, or false */
bool
spf_next_term(const char **p, const char *end, const char **term, size_t *len)
{
	const char *s = *p;

	while (s < end && *s == ' ')
		s++;
	if (s == end)
		return false;
	*term = s;
	while (s < end && *s != ' ')
		s++;
	*len = (size_t)(s - *term);
	*p = s;
	return true;
}

/* spf_expand_text - check and expand an explain-string into dst */
int
spf_expand_text(struct spf_ctx *ctx, const char *domain, const char *text,
		size_t len, char *dst, size_t dstsz)
{
	struct spf_buf b = {dst, dstsz - 1, 0, 0, false, false};

	if (dstsz == 0 || !spf_macro_string_ok(text, len, true, NULL, NULL) ||
	    spf_expand(ctx, domain, text, len, true, &b) < 0)
		return -1;
	dst[b.len] = '\0';
	return 0;
}
