/*
 * dmarc.c - DMARC evaluation: RFC 9989 (default) and RFC 7489 mode
 *
 * Owns policy discovery, the Organizational Domain, identifier alignment
 * and the result of one message. RFC 9989 mode uses the DNS Tree Walk
 * (4.10: at most eight _dmarc queries, a name of eight or more labels
 * cut to seven after the first); RFC 7489 mode asks the From domain and
 * then its Public Suffix List Organizational Domain. Record grammar is in
 * dmarc_record.c, the PSL in dmarc_psl.c, From parsing in mailaddr.c; all
 * DNS goes through the message's dns_cache. RFC 9989 text used: its final
 * draft, draft-ietf-dmarc-dmarcbis-41. libopendmarc is not called (its
 * PSL and parser differ from RFC 7489 itself, see those files), so there
 * is no process-global state: a dmarc_ctx is read-only once made and may
 * be shared by all threads.
 */
#include "build.h" /* first: feature macros */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dmarc.h"
#include "dmarc_psl.h"
#include "trace.h"
#include "dmarc_record.h"
#include "dns/dns.h"
#include "mailaddr.h"

#define DMARC_DEFAULT_PSL "/usr/share/publicsuffix/public_suffix_list.dat"

#define DM_WALK_MAX   8   /* RFC 9989 4.10: queries in one tree walk */
#define DM_WALK_KEEP  7   /* labels left after the first query */
#define DM_MAX_LABELS 128 /* a 253-octet name has at most 127 */

struct dmarc_ctx {
	enum dmarc_standard standard;
	struct dmarc_psl *psl; /* RFC 7489 mode only */
};

enum dm_fetch {
	FETCH_NONE,  /* no DMARC record at the name */
	FETCH_ONE,   /* exactly one */
	FETCH_MULTI, /* several: all discarded */
	FETCH_TEMP,  /* DNS trouble */
};

/* one record found during a tree walk */
struct dm_hit {
	char domain[RES_DOMAIN_MAX];
	struct dmarc_record rec;
};

struct dm_walk {
	struct dm_hit hit[DM_WALK_MAX]; /* longest name first */
	size_t nhits;
	bool tempfail;
	char failed[RES_DOMAIN_MAX]; /* the name whose lookup failed */
};

/* what policy discovery found for the Author Domain */
struct dm_policy {
	bool found;     /* a record applies */
	bool temp;      /* DNS trouble: policy unknown */
	bool multiple;  /* several records (RFC 7489 mode) */
	bool org_known; /* org_domain is set */
	struct dmarc_record rec;
	char policy_domain[RES_DOMAIN_MAX];
	char org_domain[RES_DOMAIN_MAX];
	char failed[RES_DOMAIN_MAX];
};

enum dm_align {
	ALIGN_NO,
	ALIGN_YES,
	ALIGN_UNKNOWN, /* DNS trouble finding an Organizational Domain */
};

/* dmarc_ctx_new - one engine's DMARC state (PSL in RFC 7489 mode) */
struct dmarc_ctx *
dmarc_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	struct dmarc_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL) {
		snprintf(err, errlen, "DMARC: out of memory");
		return NULL;
	}
	ctx->standard = cfg != NULL ? cfg->dmarc_standard : DMARC_RFC9989;
	if (ctx->standard == DMARC_RFC7489) {
		const char *path = cfg->public_suffix_list != NULL
				       ? cfg->public_suffix_list
				       : DMARC_DEFAULT_PSL;

		ctx->psl = dmarc_psl_load(path, err, errlen);
		if (ctx->psl == NULL) {
			free(ctx);
			return NULL;
		}
	}
	return ctx;
}

/* dmarc_ctx_free - release it */
void
dmarc_ctx_free(struct dmarc_ctx *ctx)
{
	if (ctx == NULL)
		return;
	dmarc_psl_free(ctx->psl);
	free(ctx);
}

/* dm_copy - bounded string copy */
static void
dm_copy(char *dst, size_t dstlen, const char *src)
{
	snprintf(dst, dstlen, "%s", src != NULL ? src : "");
}

/* dm_labels - offsets of the labels of name; their count */
static size_t
dm_labels(const char *name, size_t *starts)
{
	size_t n = 0;

	for (size_t i = 0; name[i] != '\0' && n < DM_MAX_LABELS; i++)
		if (i == 0 || name[i - 1] == '.')
			starts[n++] = i;
	return n;
}

/* dm_within - is name the same as, or below, parent? */
static bool
dm_within(const char *name, const char *parent)
{
	size_t n = strlen(name), p = strlen(parent);

	if (n == p)
		return strcmp(name, parent) == 0;
	return n > p && name[n - p - 1] == '.' &&
	       strcmp(name + n - p, parent) == 0;
}

/*
 * dm_fetch - the DMARC record at _dmarc.domain
 *
 * TXT records that do not start with v=DMARC1 are not DMARC records;
 * of those that do, exactly one must remain (RFC 9989 4.10 step 2).
 * A name too long to ask cannot hold a record.
 */
static enum dm_fetch
dm_fetch(const struct dmarc_ctx *ctx, struct dns_cache *dns, const char *domain,
	 struct dmarc_record *rec)
{
	char name[RES_DOMAIN_MAX + 8];
	const struct dns_answer *ans;
	int n = snprintf(name, sizeof(name), "_dmarc.%s", domain);
	unsigned found = 0;

	if (n < 0 || (size_t)n >= sizeof(name) || !dns_name_valid(name))
		return FETCH_NONE;
	ans = dns_lookup(dns, name, DNS_T_TXT);
	if (ans->status == DNS_TEMPFAIL)
		return FETCH_TEMP;
	if (ans->status != DNS_OK)
		return FETCH_NONE;
	for (int i = 0; i < ans->count; i++) {
		size_t cap =
		    (size_t)(ans->rdlen[i] > 0 ? ans->rdlen[i] : 0) + 1;
		char *txt = malloc(cap);
		int len;

		if (txt == NULL)
			return FETCH_TEMP;
		len = dns_txt_join(ans, i, txt, cap);
		if (len >= 0 && dmarc_record_is_dmarc(txt, (size_t)len) &&
		    ++found == 1)
			dmarc_record_parse(txt, (size_t)len,
					   ctx->standard == DMARC_RFC7489, rec);
		free(txt);
	}
	return found == 0 ? FETCH_NONE : found == 1 ? FETCH_ONE : FETCH_MULTI;
}

/*
 * dm_walk - the DNS Tree Walk from start (RFC 9989 4.10)
 *
 * Asks start, then its parent or, for eight labels or more, the name
 * shortened to seven labels, then each parent in turn up to the
 * top-level domain; stops at a record with psd=y or psd=n, or at DNS
 * trouble.
 */
static void
dm_walk(const struct dmarc_ctx *ctx, struct dns_cache *dns, const char *start,
	struct dm_walk *w)
{
	size_t starts[DM_MAX_LABELS], nl = dm_labels(start, starts), i = 0;

	memset(w, 0, sizeof(*w));
	for (size_t q = 0; q < DM_WALK_MAX && i < nl; q++) {
		const char *target = start + starts[i];
		struct dmarc_record rec;

		switch (dm_fetch(ctx, dns, target, &rec)) {
		case FETCH_TEMP:
			w->tempfail = true;
			dm_copy(w->failed, sizeof(w->failed), target);
			return;
		case FETCH_ONE:
			dm_copy(w->hit[w->nhits].domain,
				sizeof(w->hit[w->nhits].domain), target);
			w->hit[w->nhits++].rec = rec;
			if (rec.psd == 'y' || rec.psd == 'n')
				return;
			break;
		case FETCH_NONE:
		case FETCH_MULTI:
			break;
		}
		i = (q == 0 && nl > DM_WALK_KEEP) ? nl - DM_WALK_KEEP : i + 1;
	}
}

/*
 * dm_walk_org - the Organizational Domain from a walk's records
 *
 * RFC 9989 4.10.2, longest name first: psd=n makes that name the
 * Organizational Domain; psd=y (not at the start) makes it the name one
 * label below, on the way to start; otherwise the record with the
 * fewest labels; with no record at all, start itself.
 */
static void
dm_walk_org(const char *start, const struct dm_walk *w, char *org,
	    size_t orglen)
{
	for (size_t k = 0; k < w->nhits; k++) {
		const struct dm_hit *h = &w->hit[k];
		size_t s1[DM_MAX_LABELS], s2[DM_MAX_LABELS], nl, hl;

		if (h->rec.psd == 'n') {
			dm_copy(org, orglen, h->domain);
			return;
		}
		if (h->rec.psd == 'y' && strcmp(h->domain, start) != 0) {
			nl = dm_labels(start, s1);
			hl = dm_labels(h->domain, s2);
			dm_copy(org, orglen, start + s1[nl - hl - 1]);
			return;
		}
	}
	dm_copy(org, orglen,
		w->nhits > 0 ? w->hit[w->nhits - 1].domain : start);
}

/* dm_org_domain - the Organizational Domain of any name; false on DNS
 * trouble */
static bool
dm_org_domain(const struct dmarc_ctx *ctx, struct dns_cache *dns,
	      const char *domain, char *org, size_t orglen)
{
	struct dm_walk w;

	if (ctx->standard == DMARC_RFC7489) {
		if (dmarc_psl_org_domain(ctx->psl, domain, org, orglen) != 0)
			dm_copy(org, orglen, domain);
		return true;
	}
	dm_walk(ctx, dns, domain, &w);
	if (w.tempfail)
		return false;
	dm_walk_org(domain, &w, org, orglen);
	return true;
}

/*
 * dm_discover_9989 - policy discovery by the tree walk (RFC 9989 4.10.1)
 *
 * The record applied is the Author Domain's own, else its
 * Organizational Domain's, else that of the Public Suffix Domain (the
 * psd=y record) above it.
 */
static void
dm_discover_9989(const struct dmarc_ctx *ctx, struct dns_cache *dns,
		 const char *from, struct dm_policy *pol)
{
	struct dm_walk w;
	const struct dm_hit *use = NULL;

	dm_walk(ctx, dns, from, &w);
	if (!w.tempfail) {
		dm_walk_org(from, &w, pol->org_domain, sizeof(pol->org_domain));
		pol->org_known = true;
	}
	if (w.nhits > 0 && strcmp(w.hit[0].domain, from) == 0)
		use = &w.hit[0];
	else if (w.tempfail) {
		pol->temp = true;
		dm_copy(pol->failed, sizeof(pol->failed), w.failed);
		return;
	}
	for (size_t k = 0; use == NULL && k < w.nhits; k++)
		if (strcmp(w.hit[k].domain, pol->org_domain) == 0)
			use = &w.hit[k];
	for (size_t k = 0; use == NULL && k < w.nhits; k++)
		if (w.hit[k].rec.psd == 'y')
			use = &w.hit[k];
	if (use == NULL)
		return;
	pol->found = true;
	pol->rec = use->rec;
	dm_copy(pol->policy_domain, sizeof(pol->policy_domain), use->domain);
}

/*
 * dm_discover_7489 - policy discovery as RFC 7489 6.6.3 has it
 *
 * The From domain, then (only if it has no record at all) its PSL
 * Organizational Domain; several records end discovery.
 */
static void
dm_discover_7489(const struct dmarc_ctx *ctx, struct dns_cache *dns,
		 const char *from, struct dm_policy *pol)
{
	const char *at = from;
	enum dm_fetch st;

	if (dmarc_psl_org_domain(ctx->psl, from, pol->org_domain,
				 sizeof(pol->org_domain)) != 0)
		dm_copy(pol->org_domain, sizeof(pol->org_domain), from);
	pol->org_known = true;
	st = dm_fetch(ctx, dns, from, &pol->rec);
	if (st == FETCH_NONE && strcmp(pol->org_domain, from) != 0) {
		at = pol->org_domain;
		st = dm_fetch(ctx, dns, at, &pol->rec);
	}
	switch (st) {
	case FETCH_TEMP:
		pol->temp = true;
		dm_copy(pol->failed, sizeof(pol->failed), at);
		break;
	case FETCH_MULTI:
		pol->multiple = true;
		dm_copy(pol->failed, sizeof(pol->failed), at);
		break;
	case FETCH_ONE:
		pol->found = true;
		dm_copy(pol->policy_domain, sizeof(pol->policy_domain), at);
		break;
	case FETCH_NONE:
		break;
	}
}

/* dm_same_tld - do two names end in the same label? */
static bool
dm_same_tld(const char *a, const char *b)
{
	const char *da = strrchr(a, '.'), *db = strrchr(b, '.');

	return strcmp(da != NULL ? da + 1 : a, db != NULL ? db + 1 : b) == 0;
}

/*
 * dm_aligned - is an authenticated identifier aligned with the Author
 * Domain?
 *
 * Strict: the same name. Relaxed: the same Organizational Domain, which
 * can only be so if the identifier lies within the Author Domain's; only
 * then is the identifier's own Organizational Domain looked for.
 */
static enum dm_align
dm_aligned(const struct dmarc_ctx *ctx, struct dns_cache *dns, const char *from,
	   const struct dm_policy *pol, const char *ident, char mode)
{
	char id[RES_DOMAIN_MAX], org[RES_DOMAIN_MAX];

	if (ident == NULL || mailaddr_domain_normalize(ident, strlen(ident), id,
						       sizeof(id)) != 0)
		return ALIGN_NO;
	if (strcmp(id, from) == 0)
		return ALIGN_YES;
	if (mode == 's')
		return ALIGN_NO;
	/* names in different top-level domains share no ancestor, so no
	 * Organizational Domain: unaligned even when DNS trouble kept the
	 * Author Domain's from being found */
	if (!pol->org_known && !dm_same_tld(id, from))
		return ALIGN_NO;
	if (!pol->org_known)
		return ALIGN_UNKNOWN;
	if (!dm_within(id, pol->org_domain))
		return ALIGN_NO;
	if (!dm_org_domain(ctx, dns, id, org, sizeof(org)))
		return ALIGN_UNKNOWN;
	return strcmp(org, pol->org_domain) == 0 ? ALIGN_YES : ALIGN_NO;
}

/*
 * dm_nonexistent - does the Author Domain not exist? 1 yes, 0 no, -1 DNS
 * trouble
 *
 * RFC 9989 3.2.13 and A.4: NXDOMAIN means the name does not exist, any
 * other answer that it does. A, AAAA and MX are asked (the types RFC
 * 5321 cares about) and all three must say NXDOMAIN, so that one broken
 * server answer does not turn an existing domain into np=.
 */
static int
dm_nonexistent(struct dns_cache *dns, const char *domain)
{
	static const int types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_MX};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const struct dns_answer *ans =
		    dns_lookup(dns, domain, types[i]);

		if (ans->status == DNS_TEMPFAIL)
			return -1;
		if (ans->status != DNS_NXDOMAIN)
			return 0;
	}
	return 1;
}

/* dm_one_step_less - the policy t=y asks for (RFC 9989 4.7, tag t) */
static enum dmarc_pol
dm_one_step_less(enum dmarc_pol pol)
{
	return pol == DMARC_POL_REJECT ? DMARC_POL_QUARANTINE : DMARC_POL_NONE;
}

/* dm_from_failure - the result for a From header we cannot use */
static void
dm_from_failure(const struct mailaddr_from *mf, struct dmarc_outcome *out)
{
	/*
	 * No From at all leaves nothing to evaluate: none. A From that is
	 * there but unusable (several fields, several domains, bad syntax)
	 * is the malformed input RFC 9989 11.5 warns can be built to dodge
	 * DMARC, so it is a permanent error a filter can act on.
	 */
	out->result = mf->status == MAILADDR_NO_FROM ? RES_NONE : RES_PERMERROR;
	dm_copy(out->reason, sizeof(out->reason), mf->reason);
}

/* what kept alignment from being decided (dm_check_alignment) */
#define DM_ORG_TEMP 1u /* DNS trouble finding an Organizational Domain */
#define DM_ID_TEMP  2u /* an identifier that would align has temperror */

/* dm_trace_align - explain mode: one identifier against the From
 * domain, and why it is aligned or not */
static void
dm_trace_align(struct dns_cache *dns, const char *what, const char *ident,
	       enum ar_result res, enum dm_align a, char mode,
	       const struct dm_policy *pol)
{
	struct trace *t = dns_cache_trace(dns);

	if (t == NULL)
		return;
	if (mode == 's')
		trace_line(t, 1, "%s %s for %s: %s (strict: %s)", what,
			   result_name(res), ident,
			   a == ALIGN_YES ? "aligned" : "not aligned",
			   a == ALIGN_YES ? "the same name"
					  : "needs the same name");
	else if (!pol->org_known)
		trace_line(t, 1, "%s %s for %s: %s (relaxed; the "
				 "Organizational Domain is unknown: DNS)",
			   what, result_name(res), ident,
			   a == ALIGN_YES ? "aligned" : "not aligned");
	else
		trace_line(t, 1, "%s %s for %s: %s (relaxed: %s the "
				 "Organizational Domain %s)",
			   what, result_name(res), ident,
			   a == ALIGN_YES  ? "aligned"
			   : a == ALIGN_NO ? "not aligned"
					   : "alignment unknown (DNS)",
			   a == ALIGN_YES ? "in" : "not in", pol->org_domain);
}

/*
 * dm_check_alignment - fill spf_aligned/dkim_aligned; DM_* bits for what
 * could not be decided
 *
 * RFC 9989 ("Apply Policy If Appropriate"): if a DNS query that DMARC
 * needs does not complete, the message neither passes nor fails. An SPF or DKIM
 * temperror is such a query when its identifier would be aligned: had
 * the lookup worked it might have passed. A temperror of an identifier
 * that cannot align changes nothing, and a permerror is a completed
 * check of a broken record, as final as a fail.
 */
static unsigned
dm_check_alignment(const struct dmarc_ctx *ctx, struct dns_cache *dns,
		   const struct dm_policy *pol, const struct dmarc_record *rec,
		   const struct spf_outcome *spf,
		   const struct dkim_outcome *sigs, size_t nsigs,
		   struct dmarc_outcome *out)
{
	unsigned open = 0;
	enum dm_align a;

	/* only an SPF pass of the MAIL FROM identity (RFC 9989 4.4.2) */
	if (spf != NULL && spf->checked &&
	    (spf->result == RES_PASS || spf->result == RES_TEMPERROR)) {
		a = dm_aligned(ctx, dns, out->from_domain, pol, spf->domain,
			       rec->aspf);
		dm_trace_align(dns, "SPF", spf->domain, spf->result, a,
			       rec->aspf, pol);
		if (spf->result == RES_PASS)
			out->spf_aligned = a == ALIGN_YES;
		else if (a == ALIGN_YES)
			open |= DM_ID_TEMP;
		if (a == ALIGN_UNKNOWN)
			open |= DM_ORG_TEMP;
	} else if (spf != NULL && spf->checked) {
		trace_line(dns_cache_trace(dns), 1,
			   "SPF %s for %s: only a pass can align",
			   result_name(spf->result), spf->domain);
	}
	for (size_t i = 0; sigs != NULL && i < nsigs && !out->dkim_aligned;
	     i++) {
		if (sigs[i].result != RES_PASS &&
		    sigs[i].result != RES_TEMPERROR)
			continue;
		a = dm_aligned(ctx, dns, out->from_domain, pol, sigs[i].domain,
			       rec->adkim);
		dm_trace_align(dns, "DKIM", sigs[i].domain, sigs[i].result, a,
			       rec->adkim, pol);
		if (sigs[i].result == RES_PASS)
			out->dkim_aligned = a == ALIGN_YES;
		else if (a == ALIGN_YES)
			open |= DM_ID_TEMP;
		if (a == ALIGN_UNKNOWN)
			open |= DM_ORG_TEMP;
	}
	return open;
}

/* dm_published - the record as reports show it (RFC 9990) */
static void
dm_published(const struct dmarc_record *rec, bool treewalk,
	     struct dmarc_published *pub)
{
	dm_copy(pub->p, sizeof(pub->p), dmarc_pol_name(rec->p));
	dm_copy(pub->sp, sizeof(pub->sp), dmarc_pol_name(rec->sp));
	dm_copy(pub->np, sizeof(pub->np), dmarc_pol_name(rec->np));
	pub->adkim = rec->adkim;
	pub->aspf = rec->aspf;
	pub->testing = rec->t == 'y' ? 'y' : 'n';
	pub->treewalk = treewalk;
	dm_copy(pub->fo, sizeof(pub->fo), rec->fo);
	dm_copy(pub->rua, sizeof(pub->rua), rec->rua);
}

/* dm_evaluate_domain - the DMARC result for one Author Domain */
static void
dm_evaluate_domain(const struct dmarc_ctx *ctx, struct dns_cache *dns,
		   const char *domain, const struct spf_outcome *spf,
		   const struct dkim_outcome *sigs, size_t nsigs,
		   struct dmarc_outcome *out)
{
	struct dm_policy pol;
	struct dmarc_record rec;
	enum dmarc_pol applied, sub;
	bool rfc7489, exist_temp = false;
	unsigned open;

	memset(out, 0, sizeof(*out));
	out->checked = true;
	dm_copy(out->from_domain, sizeof(out->from_domain), domain);
	rfc7489 = ctx->standard == DMARC_RFC7489;
	memset(&pol, 0, sizeof(pol));
	if (rfc7489)
		dm_discover_7489(ctx, dns, out->from_domain, &pol);
	else
		dm_discover_9989(ctx, dns, out->from_domain, &pol);
	if (pol.org_known)
		dm_copy(out->org_domain, sizeof(out->org_domain),
			pol.org_domain);
	if (pol.temp) {
		out->result = RES_TEMPERROR;
		snprintf(out->reason, sizeof(out->reason),
			 "DNS error looking up _dmarc.%.100s", pol.failed);
		return;
	}
	if (!pol.found) {
		out->result = RES_NONE;
		if (pol.multiple)
			snprintf(out->reason, sizeof(out->reason),
				 "several DMARC records at _dmarc.%.100s",
				 pol.failed);
		else
			snprintf(out->reason, sizeof(out->reason),
				 "no DMARC record for %.100s",
				 out->from_domain);
		return;
	}
	dm_copy(out->policy_domain, sizeof(out->policy_domain),
		pol.policy_domain);
	rec = pol.rec;
	trace_line(dns_cache_trace(dns), 1,
		   "policy record of %s: _dmarc.%s (%s); Organizational "
		   "Domain %s",
		   out->from_domain, pol.policy_domain,
		   rfc7489 ? "RFC 7489: the PSL" : "RFC 9989 tree walk",
		   pol.org_known ? pol.org_domain : "(unknown: DNS)");

	/*
	 * RFC 9989 4.10.1: a bad p, sp or np means p=none if rua holds a
	 * usable URI, else no DMARC processing. An absent p is p=none in
	 * RFC 9989 (tag p), but a missing required tag in RFC 7489.
	 */
	if (rec.p == DMARC_POL_INVALID || rec.sp == DMARC_POL_INVALID ||
	    rec.np == DMARC_POL_INVALID ||
	    (rfc7489 && rec.p == DMARC_POL_UNSET)) {
		if (!rec.rua_valid) {
			out->result = RES_PERMERROR;
			snprintf(out->reason, sizeof(out->reason),
				 "bad policy in DMARC record at _dmarc.%.100s",
				 pol.policy_domain);
			return;
		}
		rec.p = rec.sp = rec.np = DMARC_POL_NONE;
	}
	if (rec.p == DMARC_POL_UNSET)
		rec.p = DMARC_POL_NONE;
	sub = rec.sp != DMARC_POL_UNSET ? rec.sp : rec.p;

	/* p for the domain itself; sp, or np for a name that does not
	 * exist, for a subdomain (RFC 9989 4.10.1); existence is only
	 * asked when the answer can change the policy */
	if (strcmp(pol.policy_domain, out->from_domain) == 0)
		applied = rec.p;
	else if (!rfc7489 && rec.np != DMARC_POL_UNSET && rec.np != sub) {
		int nx = dm_nonexistent(dns, out->from_domain);

		exist_temp = nx < 0;
		applied = nx > 0 ? rec.np : sub;
	} else
		applied = sub;
	dm_copy(out->policy, sizeof(out->policy), dmarc_pol_name(applied));
	dm_copy(out->subpolicy, sizeof(out->subpolicy), dmarc_pol_name(sub));
	dm_published(&rec, !rfc7489, &out->published);

	/* t=y; legacy pct below 100 is read the same way (RFC 9989 A.6
	 * makes t=y the successor of pct=0), an explicit t= wins */
	if (rfc7489)
		out->testing = rec.pct >= 0 && rec.pct < 100;
	else
		out->testing = rec.t == 'y' ||
			       (rec.t == 0 && rec.pct >= 0 && rec.pct < 100);

	trace_line(dns_cache_trace(dns), 1,
		   "policy that applies: %s=%s%s%s",
		   strcmp(pol.policy_domain, out->from_domain) == 0 ? "p"
		   : applied == rec.np && rec.np != DMARC_POL_UNSET &&
			   applied != sub
		       ? "np"
		       : "sp",
		   dmarc_pol_name(applied),
		   out->testing ? "; t=y: one step less" : "",
		   strcmp(pol.policy_domain, out->from_domain) == 0
		       ? " (the domain's own record)"
		       : " (a subdomain of the policy domain)");
	open = dm_check_alignment(ctx, dns, &pol, &rec, spf, sigs, nsigs, out);
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = RES_PASS;
		dm_copy(out->disposition, sizeof(out->disposition), "none");
		snprintf(out->reason, sizeof(out->reason), "%s aligned",
			 out->spf_aligned && out->dkim_aligned ? "spf and dkim"
			 : out->spf_aligned                    ? "spf"
							       : "dkim");
	} else if (open != 0 || exist_temp) {
		out->result = RES_TEMPERROR;
		dm_copy(out->reason, sizeof(out->reason),
			(open & DM_ID_TEMP) != 0
			    ? "DNS error checking an aligned identifier"
			: (open & DM_ORG_TEMP) != 0
			    ? "DNS error finding an Organizational Domain"
			    : "DNS error checking that the From domain "
			      "exists");
		/* np= or sp= depended on the failed existence check */
		if (!exist_temp)
			dm_copy(out->dis_at_stake, sizeof(out->dis_at_stake),
				dmarc_pol_name(out->testing
						   ? dm_one_step_less(applied)
						   : applied));
	} else {
		out->result = RES_FAIL;
		dm_copy(out->disposition, sizeof(out->disposition),
			dmarc_pol_name(out->testing ? dm_one_step_less(applied)
						    : applied));
		dm_copy(out->reason, sizeof(out->reason),
			"no aligned identifier");
	}
}

/*
 * dm_rank - how strict one author domain's outcome is: a fail by its
 * disposition first, then temperror (a retry may give a fail),
 * permerror, none, and pass last (RFC 7489 6.6.1: the strictest policy
 * among the checks that fail)
 */
static int
dm_rank(const struct dmarc_outcome *o)
{
	switch (o->result) {
	case RES_FAIL:
		return strcmp(o->disposition, "reject") == 0       ? 7
		       : strcmp(o->disposition, "quarantine") == 0 ? 6
								   : 5;
	case RES_TEMPERROR:
		return 4;
	case RES_PERMERROR:
		return 3;
	case RES_NONE:
		return 2;
	default:
		return 1;
	}
}

/*
 * dm_several - several author domains (one From with mailboxes in
 * several domains, several From fields, or a From partly unusable)
 *
 * RFC 9989 11.5 and RFC 7489 6.6.1: every author domain is evaluated
 * (the first RES_AUTHORS_MAX: each costs a tree walk) and the strictest
 * outcome is the message's, the others are listed beside it. Unless
 * some domain fails or is in doubt (temperror), the message stays a
 * permerror when DMARC could not see all of it: a second From field
 * (RFC 5322 allows one), a mailbox without a usable domain, or domains
 * beyond the bound (RFC 9989 11.5: then the evaluation is incomplete).
 */
static void
dm_several(const struct dmarc_ctx *ctx, struct dns_cache *dns,
	   const struct mailaddr_from *mf, const struct spf_outcome *spf,
	   const struct dkim_outcome *sigs, size_t nsigs,
	   struct dmarc_outcome *out)
{
	struct dmarc_outcome cur;
	struct dmarc_author all[RES_AUTHORS_MAX];
	size_t best = 0;

	for (size_t i = 0; i < mf->ndomains; i++) {
		dm_evaluate_domain(ctx, dns, mf->domains[i], spf, sigs, nsigs,
				   &cur);
		dm_copy(all[i].domain, sizeof(all[i].domain), mf->domains[i]);
		all[i].result = cur.result;
		if (i == 0 || dm_rank(&cur) > dm_rank(out)) {
			*out = cur;
			best = i;
		}
	}
	if (dm_rank(out) < 4 && (mf->status == MAILADDR_MULTIPLE_FIELDS ||
				 mf->unusable || mf->more_domains)) {
		memset(out, 0, sizeof(*out));
		out->checked = true;
		out->result = RES_PERMERROR;
		if (mf->more_domains)
			snprintf(out->reason, sizeof(out->reason),
				 "more than %d author domains",
				 RES_AUTHORS_MAX);
		else
			dm_copy(out->reason, sizeof(out->reason), mf->reason);
		best = mf->ndomains; /* list them all */
	}
	for (size_t i = 0; i < mf->ndomains; i++)
		if (i != best && out->nothers < RES_AUTHORS_MAX)
			out->others[out->nothers++] = all[i];
	out->nauthors = mf->ndomains + (mf->more_domains ? 1 : 0);
}

/* dmarc_evaluate - the DMARC result for one message */
void
dmarc_evaluate(const struct dmarc_ctx *ctx, struct dns_cache *dns,
	       const char *const *from_values, size_t nfrom,
	       const struct spf_outcome *spf, const struct dkim_outcome *sigs,
	       size_t nsigs, struct dmarc_outcome *out)
{
	struct mailaddr_from mf;

	memset(out, 0, sizeof(*out));
	out->checked = true;
	if (ctx == NULL || dns == NULL) {
		out->result = RES_TEMPERROR;
		dm_copy(out->reason, sizeof(out->reason), "DMARC not set up");
		return;
	}
	mailaddr_from_domain(from_values, nfrom, &mf);
	if (mf.status == MAILADDR_OK) {
		dm_evaluate_domain(ctx, dns, mf.domain, spf, sigs, nsigs, out);
		out->nauthors = 1;
	} else if (mf.ndomains > 0)
		dm_several(ctx, dns, &mf, spf, sigs, nsigs, out);
	else
		dm_from_failure(&mf, out);
}

/* dmarc_org_domain - the Organizational Domain of any name */
int
dmarc_org_domain(const struct dmarc_ctx *ctx, struct dns_cache *dns,
		 const char *domain, char *org, size_t orglen)
{
	return dm_org_domain(ctx, dns, domain, org, orglen) ? 0 : -1;
}

/* dmarc_action - what a DMARC outcome asks of the MTA under cfg */
enum dmarc_action
dmarc_action(const struct config *cfg, const struct dmarc_outcome *o)
{
	if (cfg == NULL || o == NULL || !o->checked)
		return DMARC_ACT_ACCEPT;
	if (o->result == RES_FAIL && cfg->reject_failures) {
		if (strcmp(o->disposition, "reject") == 0)
			return DMARC_ACT_REJECT;
		if (strcmp(o->disposition, "quarantine") == 0)
			return DMARC_ACT_QUARANTINE;
	}
	/* never a reject on temperror: the mail may well be legitimate
	 * (RFC 9989, "Apply Policy If Appropriate"); a 4xx only if asked,
	 * and only when a fail could have been more than p=none */
	if (o->result == RES_TEMPERROR &&
	    cfg->dmarc_temperror == DMARC_TEMPERROR_TEMPFAIL &&
	    strcmp(o->dis_at_stake, "none") != 0)
		return DMARC_ACT_TEMPFAIL;
	return DMARC_ACT_ACCEPT;
}
