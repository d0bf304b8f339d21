/*
 * spf.c - RFC 7208 check_host() on lib/dns
 *
 * Owns SPF evaluation of the MAIL FROM and HELO identities: record
 * selection (exactly one "v=spf1" TXT record; type SPF is never asked),
 * the term grammar of section 4.6.1 checked over the whole record before
 * any mechanism runs, every mechanism and modifier, macro expansion
 * (section 7), exp= explanations, and the limits of section 4.6.4: 10
 * DNS-querying terms, 2 void lookups, 10 MX or PTR names per term.
 *
 * DNS goes only through the caller's per-message struct dns_cache, so a
 * name asked twice costs one query. Records are parsed in place from the
 * DNS answer; only a record split into several strings that does not
 * fit a stack buffer is copied to the heap. Macro expansion writes into
 * bounded buffers: a domain keeps its right end and loses labels on the
 * left (section 7.3), an explanation is cut on the right.
 */
#include "build.h" /* first: feature macros */

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/dns.h"
#include "spf.h"
#include "spf_int.h"
#include "trace.h"

#define SPF_MAX_DNS_TERMS 10   /* section 4.6.4: DNS-querying terms */
#define SPF_MAX_VOID      2    /* section 4.6.4: void lookups */
#define SPF_MAX_NAMES     10   /* MX or PTR names looked at per term */
#define SPF_MAX_DEPTH     16   /* never reached: every level costs a DNS term */
#define SPF_TEXT_STACK    1024 /* longer records are copied to the heap */
#define SPF_TERM_SHOWN    60   /* octets of a term quoted in a reason */

/* the outcome of evaluating one mechanism */
enum spf_eval {
	EV_NOMATCH = 0,
	EV_MATCH,
	EV_TEMPERROR,
	EV_PERMERROR,
};

static enum ar_result spf_eval_domain(struct spf_ctx *ctx, const char *domain,
				      bool is_top, unsigned depth);

/* spf_copy - copy a string if it fits whole; else leave dst empty */
static bool
spf_copy(char *dst, size_t dstsz, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstsz) {
		dst[0] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

/* spf_set_reason - write out->reason, made safe for a header comment */
static void
spf_set_reason(struct spf_ctx *ctx, const char *fmt, va_list ap)
{
	char *r = ctx->out->reason;

	vsnprintf(r, sizeof ctx->out->reason, fmt, ap);
	for (; *r; r++)
		if ((unsigned char)*r < 0x20 || (unsigned char)*r > 0x7e ||
		    *r == '(' || *r == ')' || *r == '\\')
			*r = '?';
}

/* spf_error - note why the check failed; the first error wins */
static void __attribute__((format(printf, 2, 3)))
spf_error(struct spf_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->have_reason)
		return;
	ctx->have_reason = true;
	va_start(ap, fmt);
	spf_set_reason(ctx, fmt, ap);
	va_end(ap);
}

/* spf_note - describe the final outcome unless an error already did */
static void __attribute__((format(printf, 2, 3)))
spf_note(struct spf_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->have_reason)
		return;
	va_start(ap, fmt);
	spf_set_reason(ctx, fmt, ap);
	va_end(ap);
}

/* spf_shown - how many octets of a term to quote in a reason */
static int
spf_shown(size_t n)
{
	return n > SPF_TERM_SHOWN ? SPF_TERM_SHOWN : (int)n;
}

/* spf_cidr_match - do the first bits bits of two addresses agree? */
static bool
spf_cidr_match(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff << (8 - rest));
	return ((a[full] ^ b[full]) & mask) == 0;
}

/*
 * Names
 */

/* spf_name_ok - may this name be asked for SPF? (a multi-label name) */
static bool
spf_name_ok(const char *name)
{
	const char *dot = strchr(name, '.');

	return dns_name_valid(name) && dot != NULL && dot[1] != '\0' &&
	       name[0] != '[';
}

/*
 * DNS-backed mechanisms
 */

/* spf_void - count a void lookup; past the limit it is a permerror */
static enum spf_eval
spf_void(struct spf_ctx *ctx, const char *name)
{
	if (++ctx->voids <= SPF_MAX_VOID)
		return EV_NOMATCH;
	spf_error(ctx, "more than %d void lookups, the last at %s",
		  SPF_MAX_VOID, name);
	return EV_PERMERROR;
}

/* spf_addr_match - does name have an A/AAAA record in the client's network? */
static enum spf_eval
spf_addr_match(struct spf_ctx *ctx, const char *name, const struct spf_term *t,
	       bool count_void)
{
	int type = ctx->family == AF_INET ? DNS_T_A : DNS_T_AAAA;
	unsigned bits = ctx->family == AF_INET ? t->cidr4 : t->cidr6;
	int alen = ctx->family == AF_INET ? 4 : 16;
	const struct dns_answer *ans = dns_lookup(ctx->dns, name, type);
	int i;

	switch (ans->status) {
	case DNS_OK:
		break;
	case DNS_TEMPFAIL:
		spf_error(ctx, "DNS failure looking up %s", name);
		return EV_TEMPERROR;
	case DNS_BADNAME:
		return EV_NOMATCH;
	default:
		return count_void ? spf_void(ctx, name) : EV_NOMATCH;
	}
	for (i = 0; i < ans->count; i++)
		if (ans->rdlen[i] == alen &&
		    spf_cidr_match(ans->rdata[i], ctx->ip, bits))
			return EV_MATCH;
	return EV_NOMATCH;
}

/* spf_mx_match - the "mx" mechanism (section 5.4) */
static enum spf_eval
spf_mx_match(struct spf_ctx *ctx, const char *name, const struct spf_term *t)
{
	const struct dns_answer *ans = dns_lookup(ctx->dns, name, DNS_T_MX);
	char host[RES_DOMAIN_MAX];
	unsigned pref;
	enum spf_eval ev;
	int i;

	switch (ans->status) {
	case DNS_OK:
		break;
	case DNS_TEMPFAIL:
		spf_error(ctx, "DNS failure looking up MX %s", name);
		return EV_TEMPERROR;
	case DNS_BADNAME:
		return EV_NOMATCH;
	default:
		return spf_void(ctx, name);
	}
	if (ans->count > SPF_MAX_NAMES) {
		spf_error(ctx, "more than %d MX records at %s", SPF_MAX_NAMES,
			  name);
		return EV_PERMERROR;
	}
	for (i = 0; i < ans->count; i++) {
		/* a null MX (".") names no host */
		if (dns_mx_decode(ans, i, &pref, host, sizeof host) < 0 ||
		    host[0] == '\0' || !dns_name_valid(host))
			continue;
		ev = spf_addr_match(ctx, host, t, false);
		if (ev != EV_NOMATCH)
			return ev;
	}
	return EV_NOMATCH;
}

/* spf_ptr_validated - does name resolve back to the client address? */
static bool
spf_ptr_validated(struct spf_ctx *ctx, const char *name)
{
	int type = ctx->family == AF_INET ? DNS_T_A : DNS_T_AAAA;
	int alen = ctx->family == AF_INET ? 4 : 16;
	const struct dns_answer *ans;
	int i;

	/* section 5.5: a DNS error here only skips this name */
	if (!dns_name_valid(name))
		return false;
	ans = dns_lookup(ctx->dns, name, type);
	for (i = 0; ans->status == DNS_OK && i < ans->count; i++)
		if (ans->rdlen[i] == alen &&
		    memcmp(ans->rdata[i], ctx->ip, (size_t)alen) == 0)
			return true;
	return false;
}

/* spf_macro_p - the %{p} value: a validated name of the client */
void
spf_macro_p(struct spf_ctx *ctx, const char *domain, char *dst, size_t dstsz)
{
	const struct dns_answer *ans;
	char rev[80], name[RES_DOMAIN_MAX];
	bool found = false, below = false;
	int i;

	snprintf(dst, dstsz, "unknown");
	spf_reverse_name(ctx, rev, sizeof rev);
	ans = dns_lookup(ctx->dns, rev, DNS_T_PTR);
	if (ans->status != DNS_OK)
		return;
	for (i = 0; i < ans->count && i < SPF_MAX_NAMES; i++) {
		if (dns_name_decode(ans->rdata[i], ans->rdlen[i], name,
				    sizeof name) < 0 ||
		    !spf_ptr_validated(ctx, name))
			continue;
		/* section 7.3: prefer <domain> itself, then a name below it */
		if (strcasecmp(name, domain) == 0) {
			snprintf(dst, dstsz, "%s", name);
			return;
		}
		if (below || (found && !spf_name_under(name, domain)))
			continue;
		snprintf(dst, dstsz, "%s", name);
		found = true;
		below = spf_name_under(name, domain);
	}
}

/* spf_ptr_match - the "ptr" mechanism (section 5.5) */
static enum spf_eval
spf_ptr_match(struct spf_ctx *ctx, const char *target)
{
	const struct dns_answer *ans;
	char rev[80], name[RES_DOMAIN_MAX];
	int i;

	spf_reverse_name(ctx, rev, sizeof rev);
	ans = dns_lookup(ctx->dns, rev, DNS_T_PTR);
	if (ans->status != DNS_OK)
		return EV_NOMATCH; /* section 5.5: an error is no match */
	for (i = 0; i < ans->count && i < SPF_MAX_NAMES; i++) {
		if (dns_name_decode(ans->rdata[i], ans->rdlen[i], name,
				    sizeof name) < 0 ||
		    !spf_name_under(name, target))
			continue;
		if (spf_ptr_validated(ctx, name))
			return EV_MATCH;
	}
	return EV_NOMATCH;
}

/* spf_eval_mech - evaluate one mechanism against the client */
static enum spf_eval
spf_eval_mech(struct spf_ctx *ctx, const char *domain, const struct spf_term *t,
	      unsigned depth)
{
	char target[RES_DOMAIN_MAX];
	const struct dns_answer *ans;
	enum ar_result r;

	switch (t->kind) {
	case T_ALL:
		return EV_MATCH;
	case T_IP4:
		return ctx->family == AF_INET &&
			       spf_cidr_match(t->addr, ctx->ip, t->cidr4)
			   ? EV_MATCH
			   : EV_NOMATCH;
	case T_IP6:
		return ctx->family == AF_INET6 &&
			       spf_cidr_match(t->addr, ctx->ip, t->cidr6)
			   ? EV_MATCH
			   : EV_NOMATCH;
	default:
		break;
	}

	if (++ctx->dns_terms > SPF_MAX_DNS_TERMS) {
		spf_error(ctx, "more than %d DNS lookups", SPF_MAX_DNS_TERMS);
		return EV_PERMERROR;
	}
	if (t->spec == NULL) {
		snprintf(target, sizeof target, "%s", domain);
	} else if (!spf_expand_name(ctx, domain, t->spec, t->spec_len, target,
				    sizeof target)) {
		/* RFC 7208 leaves this open: an unusable name matches nothing
		 */
		if (t->kind != T_INCLUDE)
			return EV_NOMATCH;
		spf_error(ctx, "include of an invalid name in %s", domain);
		return EV_PERMERROR;
	}

	switch (t->kind) {
	case T_INCLUDE:
		if (depth + 1 >= SPF_MAX_DEPTH) {
			spf_error(ctx, "includes nested too deep");
			return EV_PERMERROR;
		}
		r = spf_eval_domain(ctx, target, false, depth + 1);
		switch (r) {
		case RES_PASS:
			return EV_MATCH;
		case RES_TEMPERROR:
			return EV_TEMPERROR;
		case RES_NONE:
			spf_error(ctx, "included %s has no SPF record", target);
			return EV_PERMERROR;
		case RES_PERMERROR:
			return EV_PERMERROR;
		default:
			return EV_NOMATCH;
		}
	case T_A:
		return spf_addr_match(ctx, target, t, true);
	case T_MX:
		return spf_mx_match(ctx, target, t);
	case T_PTR:
		return spf_ptr_match(ctx, target);
	default: /* exists: any A record, whatever the client's family */
		ans = dns_lookup(ctx->dns, target, DNS_T_A);
		if (ans->status == DNS_OK)
			return EV_MATCH;
		if (ans->status == DNS_TEMPFAIL) {
			spf_error(ctx, "DNS failure looking up %s", target);
			return EV_TEMPERROR;
		}
		return ans->status == DNS_BADNAME ? EV_NOMATCH
						  : spf_void(ctx, target);
	}
}

/*
 * Records
 */

/*
 * spf_txt_text - a TXT record's strings glued together (section 3.3);
 * one string is used in place, more are copied to buf or, if too long,
 * to *heap. NULL if the record is malformed or memory runs out.
 */
static const char *
spf_txt_text(const unsigned char *rd, int rdlen, char *buf, size_t bufsz,
	     char **heap, size_t *len)
{
	size_t total = 0, nstr = 0;
	char *dst;
	int o;

	*heap = NULL;
	for (o = 0; o < rdlen; o += 1 + rd[o]) {
		if (o + 1 + rd[o] > rdlen)
			return NULL;
		total += rd[o];
		nstr++;
	}
	*len = total;
	if (nstr == 1)
		return (const char *)rd + 1;
	if (total < bufsz) {
		dst = buf;
	} else if ((dst = malloc(total + 1)) != NULL) {
		*heap = dst;
	} else {
		return NULL;
	}
	total = 0;
	for (o = 0; o < rdlen; o += 1 + rd[o]) {
		memcpy(dst + total, rd + o + 1, rd[o]);
		total += rd[o];
	}
	dst[total] = '\0';
	return dst;
}

/* spf_txt_is_spf - does the record start with "v=spf1" then SP or end? */
static bool
spf_txt_is_spf(const unsigned char *rd, int rdlen)
{
	char head[7];
	size_t n = 0;
	int o, k;

	for (o = 0; o < rdlen && n < sizeof head; o += 1 + rd[o])
		for (k = 1; k <= rd[o] && o + k < rdlen && n < sizeof head; k++)
			head[n++] = (char)rd[o + k];
	return n >= 6 && spf_ieq(head, 6, "v=spf1") &&
	       (n == 6 || head[6] == ' ');
}

/* spf_explain - section 6.2: the exp= text, or the default explanation */
static void
spf_explain(struct spf_ctx *ctx, const char *domain, const struct spf_term *exp)
{
	struct spf_outcome *out = ctx->out;
	const char *dflt = ctx->req->default_explanation;
	char name[RES_DOMAIN_MAX], buf[SPF_TEXT_STACK], *heap = NULL;
	const struct dns_answer *ans;
	const char *text;
	size_t len;

	/* any trouble with exp= leaves the default (section 6.2) */
	spf_copy(out->explanation, sizeof out->explanation, dflt ? dflt : "");
	if (exp == NULL || !spf_expand_name(ctx, domain, exp->spec,
					    exp->spec_len, name, sizeof name))
		return;
	ans = dns_lookup(ctx->dns, name, DNS_T_TXT);
	if (ans->status != DNS_OK || ans->count != 1)
		return;
	text = spf_txt_text(ans->rdata[0], ans->rdlen[0], buf, sizeof buf,
			    &heap, &len);
	if (text == NULL ||
	    spf_expand_text(ctx, domain, text, len, out->explanation,
			    sizeof out->explanation) < 0)
		spf_copy(out->explanation, sizeof out->explanation,
			 dflt ? dflt : "");
	free(heap);
}

/* spf_eval_record - check the terms, then evaluate them (section 4.6) */
static enum ar_result
spf_eval_record(struct spf_ctx *ctx, const char *domain, const char *rec,
		size_t len, bool is_top, unsigned depth)
{
	const char *p = rec + 6, *end = rec + len, *s, *why;
	struct spf_term t, redirect = {0}, exp = {0};
	bool have_redirect = false, have_exp = false;
	char target[RES_DOMAIN_MAX];
	enum ar_result r;
	size_t n;

	/* section 4.6: a syntax error anywhere is a permerror */
	while (spf_next_term(&p, end, &s, &n)) {
		if ((why = spf_term_parse(s, n, &t)) != NULL) {
			spf_error(ctx, "%s in SPF record of %s: '%.*s'", why,
				  domain, spf_shown(n), s);
			return RES_PERMERROR;
		}
		if ((t.kind == T_REDIRECT && have_redirect) ||
		    (t.kind == T_EXP && have_exp)) {
			spf_error(ctx, "repeated modifier in SPF record of %s",
				  domain);
			return RES_PERMERROR;
		}
		if (t.kind == T_REDIRECT) {
			redirect = t;
			have_redirect = true;
		} else if (t.kind == T_EXP) {
			exp = t;
			have_exp = true;
		}
	}

	for (p = rec + 6; spf_next_term(&p, end, &s, &n);) {
		enum spf_eval ev;

		spf_term_parse(s, n, &t);
		if (t.kind >= T_REDIRECT)
			continue;
		ev = spf_eval_mech(ctx, domain, &t, depth);
		trace_line(ctx->req->trace, depth + 2, "%.*s: %s",
			   spf_shown(n), s,
			   ev == EV_MATCH	    ? "matches"
			   : ev == EV_NOMATCH   ? "no match"
			   : ev == EV_TEMPERROR ? "temperror"
						: "permerror");
		switch (ev) {
		case EV_NOMATCH:
			continue;
		case EV_TEMPERROR:
			return RES_TEMPERROR;
		case EV_PERMERROR:
			return RES_PERMERROR;
		case EV_MATCH:
			break;
		}
		if (is_top) {
			spf_note(ctx, "%s matched '%.*s'", domain, spf_shown(n),
				 s);
			if (t.qual == RES_FAIL)
				spf_explain(ctx, domain,
					    have_exp ? &exp : NULL);
		}
		return t.qual;
	}

	if (!have_redirect) {
		if (is_top)
			spf_note(ctx, "%s: no mechanism matched", domain);
		return RES_NEUTRAL;
	}
	/* section 6.1: redirect counts as a DNS term, its exp= replaces ours */
	if (++ctx->dns_terms > SPF_MAX_DNS_TERMS) {
		spf_error(ctx, "more than %d DNS lookups", SPF_MAX_DNS_TERMS);
		return RES_PERMERROR;
	}
	if (depth + 1 >= SPF_MAX_DEPTH) {
		spf_error(ctx, "redirects nested too deep");
		return RES_PERMERROR;
	}
	if (!spf_expand_name(ctx, domain, redirect.spec, redirect.spec_len,
			     target, sizeof target) ||
	    !spf_name_ok(target)) {
		spf_error(ctx, "redirect to an invalid name in %s", domain);
		return RES_PERMERROR;
	}
	r = spf_eval_domain(ctx, target, is_top, depth + 1);
	if (r == RES_NONE) {
		spf_error(ctx, "redirect target %s has no SPF record", target);
		return RES_PERMERROR;
	}
	return r;
}

/*
 * spf_eval_domain - check_host() for one domain: select its record and
 * evaluate it; RES_NONE when it has none (callers decide what that means)
 */
static enum ar_result
spf_eval_domain(struct spf_ctx *ctx, const char *domain, bool is_top,
		unsigned depth)
{
	const struct dns_answer *ans = dns_lookup(ctx->dns, domain, DNS_T_TXT);
	char buf[SPF_TEXT_STACK], *heap;
	const char *text;
	enum ar_result r;
	size_t len;
	int i, found = -1;

	if (ans->status == DNS_TEMPFAIL) {
		spf_error(ctx, "DNS failure looking up TXT %s", domain);
		return RES_TEMPERROR;
	}
	if (ans->status != DNS_OK)
		return RES_NONE;
	/* section 4.5: exactly one record starting with "v=spf1" */
	for (i = 0; i < ans->count; i++) {
		if (!spf_txt_is_spf(ans->rdata[i], ans->rdlen[i]))
			continue;
		if (found >= 0) {
			spf_error(ctx, "%s has more than one SPF record",
				  domain);
			return RES_PERMERROR;
		}
		found = i;
	}
	if (found < 0) {
		trace_line(ctx->req->trace, depth + 1, "%s: no SPF record",
			   domain);
		return RES_NONE;
	}
	text = spf_txt_text(ans->rdata[found], ans->rdlen[found], buf,
			    sizeof buf, &heap, &len);
	if (text == NULL) {
		spf_error(ctx, "out of memory reading SPF record of %s",
			  domain);
		return RES_TEMPERROR;
	}
	trace_line(ctx->req->trace, depth + 1, "%s%s: \"%.*s\"",
		   depth > 0 ? "included or redirected " : "", domain,
		   (int)(len > 400 ? 400 : len), text);
	r = spf_eval_record(ctx, domain, text, len, is_top, depth);
	free(heap);
	return r;
}

/*
 * Entry points
 */

/* spf_check_host - RFC 7208 check_host(ip, domain, sender) */
enum ar_result
spf_check_host(struct dns_cache *dns, const struct spf_request *req,
	       const char *domain, const char *sender, struct spf_outcome *out)
{
	struct spf_ctx ctx = {.dns = dns, .req = req, .out = out};
	char dom[RES_DOMAIN_MAX];
	const char *at;
	size_t n;

	out->checked = true;
	out->result = RES_NONE;
	out->reason[0] = '\0';
	out->explanation[0] = '\0';
	out->domain[0] = '\0';
	if (domain == NULL)
		domain = "";
	if (sender == NULL)
		sender = "";

	/* section 4.3: a malformed or single-label domain gives "none" */
	n = strlen(domain);
	if (n > 0 && domain[n - 1] == '.')
		n--;
	if (n >= sizeof dom) {
		snprintf(out->reason, sizeof out->reason,
			 "domain name too long");
		return out->result;
	}
	memcpy(dom, domain, n);
	dom[n] = '\0';
	spf_copy(out->domain, sizeof out->domain, dom);
	/* one final dot names the root; a second one is an empty label
	 * ("x@evil.test..."), which 4.3 makes malformed: "none", never the
	 * result of evil.test's record */
	if (!spf_name_ok(dom) || (n > 0 && dom[n - 1] == '.')) {
		spf_note(&ctx, "no valid domain to check");
		return out->result;
	}
	if (!spf_set_client(&ctx, req->client_ip)) {
		spf_note(&ctx, "client address not valid");
		return out->result;
	}

	ctx.sender = sender;
	at = strrchr(sender, '@');
	ctx.local = sender;
	ctx.local_len = at ? (size_t)(at - sender) : 0;
	ctx.sdomain = at ? at + 1 : sender;
	if (ctx.local_len == 0) {
		/* section 4.3: no local-part means "postmaster" */
		ctx.local = "postmaster";
		ctx.local_len = 10;
	}

	trace_line(req->trace, 0, "check_host(%s, %s, %s)", req->client_ip,
		   dom, sender);
	out->result = spf_eval_domain(&ctx, dom, true, 0);
	if (out->result == RES_NONE)
		spf_note(&ctx, "%s has no SPF record", dom);
	trace_line(req->trace, 0,
		   "result %s%s%s%s (DNS lookups %u of %d, void lookups %u of "
		   "2)",
		   result_name(out->result), out->reason[0] ? " (" : "",
		   out->reason, out->reason[0] ? ")" : "", ctx.dns_terms,
		   SPF_MAX_DNS_TERMS, ctx.voids);
	return out->result;
}

/* spf_postmaster - "postmaster@" helo into buf; false if it does not fit */
static bool
spf_postmaster(const char *helo, char *buf, size_t bufsz)
{
	int n = snprintf(buf, bufsz, "postmaster@%s", helo);

	return n > 0 && (size_t)n < bufsz;
}

/* spf_none - a "none" outcome for an identity that cannot be checked */
static enum ar_result
spf_none(struct spf_outcome *out, const char *reason)
{
	out->checked = true;
	out->result = RES_NONE;
	out->identity[0] = out->domain[0] = out->explanation[0] = '\0';
	snprintf(out->reason, sizeof out->reason, "%s", reason);
	return out->result;
}

/* spf_check_mailfrom - the MAIL FROM identity, postmaster@HELO if null */
enum ar_result
spf_check_mailfrom(struct dns_cache *dns, const struct spf_request *req,
		   struct spf_outcome *out)
{
	const char *from = req->mail_from ? req->mail_from : "";
	const char *helo = req->helo ? req->helo : "";
	char addr[RES_ADDRESS_MAX];
	const char *at;
	size_t n = strlen(from);

	/* the MTA may hand us the path with its angle brackets */
	if (n >= 2 && from[0] == '<' && from[n - 1] == '>') {
		if (n - 2 >= sizeof addr)
			return spf_none(out, "sender address too long");
		memcpy(addr, from + 1, n - 2);
		addr[n - 2] = '\0';
		from = addr;
	}
	out->identity[0] = '\0';
	if (*from == '\0') {
		/* section 2.4: the null sender is postmaster@HELO */
		if (*helo == '\0' ||
		    !spf_postmaster(helo, out->identity, sizeof out->identity))
			return spf_none(out, "null sender and no usable HELO");
		return spf_check_host(dns, req, helo, out->identity, out);
	}
	at = strrchr(from, '@');
	/* an address too long to report is reported by its domain alone */
	if (!spf_copy(out->identity, sizeof out->identity, from) && at)
		spf_copy(out->identity, sizeof out->identity, at + 1);
	return spf_check_host(dns, req, at ? at + 1 : from, from, out);
}

/* spf_check_helo - the HELO identity, checked as postmaster@HELO */
enum ar_result
spf_check_helo(struct dns_cache *dns, const struct spf_request *req,
	       struct spf_outcome *out)
{
	const char *helo = req->helo ? req->helo : "";
	char sender[RES_ADDRESS_MAX];

	if (*helo == '\0' ||
	    !spf_copy(out->identity, sizeof out->identity, helo) ||
	    !spf_postmaster(helo, sender, sizeof sender))
		return spf_none(out, "no usable HELO");
	return spf_check_host(dns, req, helo, sender, out);
}
