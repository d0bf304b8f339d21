/*
 * dkim.h - DKIM verification (RFC 6376, RFC 8463, RFC 8301) on OpenSSL
 *
 * A struct dkim_verifier holds the settings and the parsed-key cache and
 * is shared by every thread; key lookups go through lib/dns. A struct
 * dkim_msg verifies one message: header fields are kept, body chunks are
 * hashed as they arrive and never held. At the end every signature (up to
 * DKIMMaxSignatures) gets an RFC 8601 result with our policy applied
 * (rsa-sha1 and RSA keys under DKIMMinKeyBits never pass).
 */
#ifndef AUTHTAG_DKIM_H
#define AUTHTAG_DKIM_H

#include <stddef.h>

#include "result.h"

struct config;
struct dns_cache;
struct dkim_verifier;
struct dkim_msg;

/* dkim_verifier_new - set up the library as cfg says; NULL + err on error */
struct dkim_verifier *dkim_verifier_new(const struct config *cfg, char *err,
					size_t errlen);

/*
 * dkim_verifier_compat - relax RFC rules, only to score old test corpora
 *
 * Not reachable from authtag.conf: the filter always runs RFC-strict.
 * Call before the first dkim_msg_new() and before threads start.
 * Returns 0, or -1 if the library refused.
 */
#define DKIM_COMPAT_V05      0x1 /* accept draft-era v=0.5 signatures */
#define DKIM_COMPAT_RSA_SHA1 0x2 /* let rsa-sha1 pass (before RFC 8301) */
int dkim_verifier_compat(struct dkim_verifier *ver, unsigned flags);

/* dkim_verifier_free - free the verifier and its key cache */
void dkim_verifier_free(struct dkim_verifier *ver);

/* dkim_verifier_keystats - signatures whose key came from the cache, and
 * keys decoded */
void dkim_verifier_keystats(struct dkim_verifier *ver, unsigned long *hits,
			    unsigned long *parsed);

/*
 * dkim_msg_new - start verifying one message
 *
 * Key lookups use dns (owned by the caller, must outlive the dkim_msg).
 * Returns NULL on no memory.
 */
struct dkim_msg *dkim_msg_new(struct dkim_verifier *ver, struct dns_cache *dns);

/*
 * dkim_msg_header - feed one header field as received
 *
 * name without the colon; value is everything after the colon exactly as
 * in the message (leading space and folding kept; line breaks LF or CRLF).
 */
void dkim_msg_header(struct dkim_msg *msg, const char *name, const char *value);

/* dkim_msg_eoh - end of headers: signatures are parsed, keys fetched */
void dkim_msg_eoh(struct dkim_msg *msg);

/* dkim_msg_body - feed a body chunk (LF or CRLF line ends, any split) */
void dkim_msg_body(struct dkim_msg *msg, const unsigned char *data, size_t len);

/*
 * dkim_msg_eom - finish; one outcome per signature
 *
 * *sigs is a malloc'd array owned by the caller (NULL and 0 when the
 * message has no DKIM signature, which is dkim=none), in header order,
 * at most DKIMMaxSignatures long (later signatures are neither checked
 * nor reported). Results and their reasons:
 *   pass       verified (reason may note "testing key" or unsigned l=)
 *   fail       "signature did not verify", "body hash mismatch",
 *              "key revoked" (empty p=, RFC 6376 6.1.2)
 *   policy     "rsa-sha1 not accepted (RFC 8301)", "N-bit key under M
 *              bits", "signature expired", "... in the future"
 *   permerror  bad signature syntax or key record, "no key" (NXDOMAIN)
 *   temperror  key lookup timed out, SERVFAIL, REFUSED; verifier error
 */
void dkim_msg_eom(struct dkim_msg *msg, struct dkim_outcome **sigs,
		  size_t *nsigs);

/* dkim_msg_free - free the per-message state */
void dkim_msg_free(struct dkim_msg *msg);

#endif
