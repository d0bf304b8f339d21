/*
 * spf.h - Sender Policy Framework evaluation (RFC 7208) on lib/dns
 *
 * spf.c owns check_host(): record selection, every mechanism and
 * modifier, macro expansion, exp=, and the 10-lookup / 2-void-lookup
 * limits. It asks DNS only through a struct dns_cache, so a name asked
 * twice in one message costs one query.
 */
#ifndef AUTHTAG_SPF_H
#define AUTHTAG_SPF_H

#include "result.h"

struct dns_cache;

struct spf_request {
	const char *client_ip; /* textual IPv4 or IPv6 (v4-mapped allowed) */
	const char *helo;      /* HELO/EHLO argument; NULL or "" if none */
	/* envelope sender, <> optional; "" or "<>" is the null sender */
	const char *mail_from;
	const char *receiver; /* our host name, for %{r}; NULL: "unknown" */
	/* for fail without a usable exp=; may be NULL */
	const char *default_explanation;
	struct trace *trace; /* explain mode (trace.h), or NULL */
};

/*
 * spf_check_host - RFC 7208 check_host(ip, domain, sender)
 *
 * Fills out->checked, out->result, out->domain, out->reason and, on
 * fail, out->explanation (exp= text or req->default_explanation); leaves
 * out->identity alone. A malformed or single-label domain, or a client
 * address that is not one, gives "none". Returns out->result.
 */
enum ar_result spf_check_host(struct dns_cache *dns,
			      const struct spf_request *req, const char *domain,
			      const char *sender, struct spf_outcome *out);

/*
 * spf_check_mailfrom - the MAIL FROM identity (RFC 7208 section 2.4)
 *
 * For the null sender the identity is postmaster@HELO. out->identity is
 * the full address checked, for smtp.mailfrom=.
 */
enum ar_result spf_check_mailfrom(struct dns_cache *dns,
				  const struct spf_request *req,
				  struct spf_outcome *out);

/* spf_check_helo - the HELO identity (RFC 7208 section 2.3) */
enum ar_result spf_check_helo(struct dns_cache *dns,
			      const struct spf_request *req,
			      struct spf_outcome *out);

#endif
