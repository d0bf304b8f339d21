/*
 * dkim_sign.h - DKIM signing (RFC 6376 section 5, RFC 8463): private
 * keys as opendkim and dkimpy write them, one signature per signer
 * (see dkim_sign.c)
 */
#ifndef AUTHTAG_DKIM_SIGN_H
#define AUTHTAG_DKIM_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "dkim_canon.h"

struct dkim_signkey;
struct dkim_signer;

/*
 * dkim_signkey_load - a private key from a file
 *
 * PEM: RSA in PKCS#1 ("RSA PRIVATE KEY", what opendkim-genkey writes) or
 * PKCS#8, ed25519 in PKCS#8; or an ed25519 key as the base64 of its raw
 * 32 octets (what dkimpy's dknewkey writes). A file readable by group or
 * others sets *unsafe (opendkim's RequireSafeKeys warns). Returns NULL
 * with the reason in err.
 */
struct dkim_signkey *dkim_signkey_load(const char *path, bool *unsafe,
				       char *err, size_t errlen);

/*
 * dkim_signkey_parse - the same from text held in memory (a KeyTable
 * may hold the key itself, PEM or base64 DER); what names the source in
 * err
 */
struct dkim_signkey *dkim_signkey_parse(const char *text, const char *what,
					char *err, size_t errlen);

/* dkim_signkey_free - free a key no signer uses any more */
void dkim_signkey_free(struct dkim_signkey *key);

/* dkim_signkey_bits - RSA modulus size, 0 for ed25519 */
unsigned dkim_signkey_bits(const struct dkim_signkey *key);

/* dkim_signkey_matches - is pub (from a DNS key record) key's public
 * half? */
struct evp_pkey_st;
bool dkim_signkey_matches(const struct dkim_signkey *key,
			  const struct evp_pkey_st *pub);

/* dkim_signkey_algorithm - the a= this key signs with: "rsa-sha256" or
 * "ed25519-sha256" */
const char *dkim_signkey_algorithm(const struct dkim_signkey *key);

/*
 * dkim_signkey_sign - the base64 b= value of data (the canonicalised
 * header hash input) signed with key: RSA PKCS#1 v1.5 over SHA-256, or
 * Ed25519 over its SHA-256 (RFC 8463 3); malloc'd, NULL on failure
 */
struct strbuf;
char *dkim_signkey_sign(const struct dkim_signkey *key,
			const struct strbuf *data);

/* dkim_sign_default_headers - RFC 6376 5.4.1's list, colon-separated
 * and lower case: what is signed when SignHeaders is not set */
const char *dkim_sign_default_headers(void);

/*
 * dkim_signkey_record - the DNS key record ("v=DKIM1; k=...; p=...")
 * that publishes key's public half (malloc'd), or NULL on no memory
 */
char *dkim_signkey_record(const struct dkim_signkey *key);

struct dkim_signopts {
	const char *domain;       /* d= */
	const char *selector;     /* s= */
	const char *identity;     /* i=, or NULL */
	enum dkim_canon hcanon, bcanon;
	const char *sign_headers; /* colon-separated, NULL: the default */
	const char *oversign;     /* colon-separated, NULL: "from" */
	time_t now;               /* t= (0: the time of the call) */
	unsigned long ttl;        /* x= is t= + ttl; 0: no x= */
};

/* dkim_signer_new - start a signature with key (not copied: it must
 * outlive the signer); NULL on no memory */
struct dkim_signer *dkim_signer_new(const struct dkim_signkey *key,
				    const struct dkim_signopts *opts);

/* dkim_signer_header - one header field as the message will carry it */
void dkim_signer_header(struct dkim_signer *s, const char *name,
			const char *value);

/* dkim_signer_body - a body chunk (LF or CRLF line ends, any split) */
void dkim_signer_body(struct dkim_signer *s, const unsigned char *data,
		      size_t len);

/*
 * dkim_signer_finish - the DKIM-Signature field's value (after the colon,
 * folded with "\r\n\t" when crlf, else "\n\t"), malloc'd; NULL with the
 * reason in err
 */
char *dkim_signer_finish(struct dkim_signer *s, bool crlf, char *err,
			 size_t errlen);

/* dkim_signer_free - free a signer */
void dkim_signer_free(struct dkim_signer *s);

#endif
