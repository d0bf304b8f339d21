/*
 * mcdkim.h - a small DKIM signer for the benchmark corpus (RFC 6376, 8463)
 *
 * Signs a message held as an array of raw header fields (folded with
 * CRLF, no final CRLF) and a CRLF body, with rsa-sha256 or ed25519-sha256,
 * relaxed or simple canonicalization, and returns the DKIM-Signature
 * field to prepend. Test data only: it signs what mkcorpus builds.
 */
#ifndef AUTHTAG_BENCH_MCDKIM_H
#define AUTHTAG_BENCH_MCDKIM_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

/* mc_sig - what to sign with */
struct mc_sig {
	EVP_PKEY *key;
	bool ed25519;
	const char *domain, *selector;
	bool hdr_simple, body_simple;
	const char *hlist; /* h= names, colon separated */
	long t;            /* t= timestamp */
};

char *mc_dkim_sign(const struct mc_sig *s, char *const *hdrs, size_t nhdrs,
		   const char *body, size_t bodylen);
char *mc_dkim_pubkey(EVP_PKEY *key, bool ed25519);

#endif
