/*
 * arc.h - ARC chain validation (RFC 8617 section 5.2) on the DKIM core
 * (see arc.c)
 */
#ifndef AUTHTAG_ARC_H
#define AUTHTAG_ARC_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

struct config;
struct dns_cache;
struct arc_verifier;
struct arc_msg;

/* arc_verifier_new - settings (DKIMMinKeyBits) and a key cache for
 * every thread; NULL + err */
struct arc_verifier *arc_verifier_new(const struct config *cfg, char *err,
				      size_t errlen);

/* arc_verifier_free - free the verifier */
void arc_verifier_free(struct arc_verifier *ver);

/* arc_msg_new - validate one message's chain; keys through dns (the
 * caller's, must outlive it); NULL on no memory */
struct arc_msg *arc_msg_new(struct arc_verifier *ver, struct dns_cache *dns);

/* arc_msg_header - one header field as received (name without colon,
 * value after it, folding kept) */
void arc_msg_header(struct arc_msg *msg, const char *name, const char *value);

/* arc_msg_truncated - the caller could not keep every header field (its
 * size cap): a chain cannot be validated, so it fails */
void arc_msg_truncated(struct arc_msg *msg);

/* arc_msg_eoh - end of headers: the sets are collected and checked for
 * structure, keys fetched, body hashes started */
void arc_msg_eoh(struct arc_msg *msg);

/* arc_msg_body - a body chunk (LF or CRLF line ends, any split) */
void arc_msg_body(struct arc_msg *msg, const unsigned char *data, size_t len);

/*
 * arc_msg_eom - the chain's validation status into out: none (no ARC
 * set), pass, or fail with the reason. Returns 0, or -1 when memory ran
 * out (out says fail, "out of memory").
 */
int arc_msg_eom(struct arc_msg *msg, struct arc_outcome *out);

/*
 * arc_msg_set - instance i's fields for a new seal to cover: names[k]
 * and values[k] for ARC-Authentication-Results, ARC-Message-Signature,
 * ARC-Seal (values as received); false when the set is not there or the
 * chain's structure is broken. Valid after arc_msg_eoh, until free.
 */
bool arc_msg_set(const struct arc_msg *msg, unsigned i, const char *names[3],
		 const char *values[3]);

/* arc_msg_newest_cv_fail - does the newest seal already say cv=fail?
 * (such a chain gets no further set) */
bool arc_msg_newest_cv_fail(const struct arc_msg *msg);

/* arc_msg_free - free the per-message state */
void arc_msg_free(struct arc_msg *msg);

#endif
