/*
 * dmarc.h - DMARC evaluation: RFC 9989 (default) and RFC 7489 mode
 *
 * dmarc.c owns policy discovery and the Organizational Domain (the RFC
 * 9989 DNS tree walk, or the Public Suffix List in RFC 7489 mode through
 * dmarc_psl.c), identifier alignment and the result. It takes the
 * RFC5322.From header values as received and decides itself what a
 * missing, multiple or unparsable From means.
 */
#ifndef AUTHTAG_DMARC_H
#define AUTHTAG_DMARC_H

#include <stddef.h>

#include "result.h"

struct config;
struct dns_cache;
struct dmarc_ctx;

/*
 * dmarc_ctx_new - one engine's DMARC state (PSL in RFC 7489 mode)
 *
 * Call once at start-up. NULL with a reason in err on error.
 */
struct dmarc_ctx *dmarc_ctx_new(const struct config *cfg, char *err,
				size_t errlen);

/* dmarc_ctx_free - release it */
void dmarc_ctx_free(struct dmarc_ctx *ctx);

/*
 * dmarc_evaluate - the DMARC result for one message
 *
 * from_values are the values of every From header field (after the
 * colon, as received; pass RES_AUTHORS_MAX + 1 of them when there are
 * more); spf is the MAIL FROM SPF outcome; sigs the DKIM outcomes.
 * Fills out (out->checked = true). With several author domains out
 * holds the strictest result and lists the others (out->others).
 */
void dmarc_evaluate(const struct dmarc_ctx *ctx, struct dns_cache *dns,
		    const char *const *from_values, size_t nfrom,
		    const struct spf_outcome *spf,
		    const struct dkim_outcome *sigs, size_t nsigs,
		    struct dmarc_outcome *out);

/*
 * dmarc_org_domain - the Organizational Domain of any name, as this
 * context finds it (tree walk, or the PSL in RFC 7489 mode): 0, or -1
 * on DNS trouble (reports: is a rua destination external?)
 */
int dmarc_org_domain(const struct dmarc_ctx *ctx, struct dns_cache *dns,
		     const char *domain, char *org, size_t orglen);

/* what DMARC asks of the MTA for one message */
enum dmarc_action {
	DMARC_ACT_ACCEPT = 0,
	DMARC_ACT_QUARANTINE, /* RejectFailures, a fail under quarantine */
	DMARC_ACT_REJECT,     /* RejectFailures, a fail under reject */
	DMARC_ACT_TEMPFAIL,   /* DMARCTempError tempfail, a temperror */
};

/*
 * dmarc_action - what the outcome asks under cfg (RejectFailures,
 * DMARCTempError); the engine decides whether it applies at all
 * (trusted clients, local submission)
 */
enum dmarc_action dmarc_action(const struct config *cfg,
			       const struct dmarc_outcome *o);

#endif
