/*
 * dkim_key.h - DKIM key records (RFC 6376 3.6.1, RFC 8463) decoded once
 * into OpenSSL keys and shared by every thread (see dkim_key.c)
 */
#ifndef AUTHTAG_DKIM_KEY_H
#define AUTHTAG_DKIM_KEY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

enum dkim_keytype {
	DKIM_KEY_RSA,
	DKIM_KEY_ED25519,
};

#define DKIM_HASH_SHA1   0x1
#define DKIM_HASH_SHA256 0x2

/* a parsed key record; immutable once made, shared by reference */
struct dkim_key {
	enum dkim_keytype type;
	EVP_PKEY *pkey;   /* NULL when revoked */
	bool revoked;     /* empty p= */
	unsigned bits;    /* RSA modulus size; 0 for ed25519 */
	unsigned hashes;  /* h= as DKIM_HASH_*; all when absent */
	bool testing;     /* t=y */
	bool strict;      /* t=s: i= must be in d= itself */
	atomic_uint refs; /* the cache's and each user's */
};

struct dkim_keycache;

/* dkim_keycache_new - a cache of at most max parsed keys; NULL on ENOMEM */
struct dkim_keycache *dkim_keycache_new(size_t max);

/* dkim_keycache_free - free the cache (keys still referenced live on) */
void dkim_keycache_free(struct dkim_keycache *kc);

/*
 * dkim_key_get - the key for one key record's text
 *
 * From the cache when the same record was decoded before, else parsed
 * and added. Returns a reference (dkim_key_unref), or NULL with the
 * reason in err (a bad record: permanent), or NULL with err "" on no
 * memory.
 */
struct dkim_key *dkim_key_get(struct dkim_keycache *kc, const char *rec,
			      size_t len, char *err, size_t errlen);

/* dkim_key_unref - drop a reference */
void dkim_key_unref(struct dkim_key *key);

/* dkim_keycache_stats - lookups answered from the cache, and keys parsed */
void dkim_keycache_stats(struct dkim_keycache *kc, unsigned long *hits,
			 unsigned long *parsed);

struct dns_cache;

enum dkim_keyfetch {
	DKIM_KEYFETCH_OK,    /* *key holds a reference */
	DKIM_KEYFETCH_TEMP,  /* DNS failed: temperror */
	DKIM_KEYFETCH_PERM,  /* no key, or no usable one: permerror */
	DKIM_KEYFETCH_NOMEM, /* memory ran out: no result */
};

/*
 * dkim_key_fetch - look up selector._domainkey.domain through dns and
 * decode it (through the cache kc). The first TXT record that is a
 * usable key wins; otherwise why holds the first one's error, "no key",
 * or why DNS failed ("key lookup timed out").
 */
enum dkim_keyfetch dkim_key_fetch(struct dkim_keycache *kc,
				  struct dns_cache *dns, const char *selector,
				  const char *domain, struct dkim_key **key,
				  char *why, size_t whylen);

/*
 * dkim_key_verify - does sig sign the digest dig (made with md) with
 * key? RSA PKCS#1 v1.5 for RSA keys, Ed25519 over the digest for ed25519
 * (RFC 8463 3). The caller has checked that the key suits the algorithm.
 */
bool dkim_key_verify(const struct dkim_key *key, const EVP_MD *md,
		     const unsigned char *sig, size_t siglen,
		     const unsigned char *dig, unsigned dlen);

#endif
