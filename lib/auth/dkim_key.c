/*
 * dkim_key.c - DKIM key records decoded once, shared by every thread
 *
 * Owns the parsing of key records (RFC 6376 3.6.1; RFC 8463 for ed25519)
 * and the cache of the EVP_PKEYs made from them. OpenSSL 3 decodes a
 * public key through its provider machinery, which is far dearer than
 * the verification itself, so a key is decoded once and kept.
 *
 * The cache is keyed by the record's whole text, not by its DNS name:
 * a changed record is a different entry, so a cached key never outlives
 * the answer it came from in any way that matters (lib/dns decides, with
 * the answer's TTL, which record text a message sees). It holds at most
 * `max` keys, in shards each with its own lock and first-in-first-out
 * eviction; a lock is held only for a hash-chain walk and a reference
 * count, never while OpenSSL works.
 */
#include "build.h" /* first: feature macros */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "dkim_key.h"
#include "dkim_tags.h"
#include "dns/dns.h"

#define DKIM_KEY_RECORD 65536 /* the longest key record we read */

#define KC_SHARDS   64
#define KC_MAX_PKEY 8192 /* decoded p= octets: RSA-16384 fits */

struct kc_entry {
	struct kc_entry *next;   /* hash chain */
	struct kc_entry *newer;  /* FIFO order within the shard */
	uint64_t hash;
	size_t len;
	char *text;
	struct dkim_key *key;    /* the cache's reference */
};

struct kc_shard {
	pthread_mutex_t lock;
	struct kc_entry *chain[32];
	struct kc_entry *oldest, *newest;
	size_t n;
};

struct dkim_keycache {
	size_t per_shard;
	atomic_ulong hits, parsed;
	struct kc_shard shard[KC_SHARDS];
};

/* kc_hash - FNV-1a of the record text */
static uint64_t
kc_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* dkim_keycache_new - a cache of at most max parsed keys */
struct dkim_keycache *
dkim_keycache_new(size_t max)
{
	struct dkim_keycache *kc = calloc(1, sizeof(*kc));

	if (kc == NULL)
		return NULL;
	kc->per_shard = max / KC_SHARDS > 0 ? max / KC_SHARDS : 1;
	for (int i = 0; i < KC_SHARDS; i++)
		pthread_mutex_init(&kc->shard[i].lock, NULL);
	return kc;
}

/* kc_entry_free - free one entry and the cache's key reference */
static void
kc_entry_free(struct kc_entry *e)
{
	dkim_key_unref(e->key);
	free(e->text);
	free(e);
}

/* dkim_keycache_free - free the cache */
void
dkim_keycache_free(struct dkim_keycache *kc)
{
	if (kc == NULL)
		return;
	for (int i = 0; i < KC_SHARDS; i++) {
		struct kc_entry *e = kc->shard[i].oldest, *next;

		for (; e != NULL; e = next) {
			next = e->newer;
			kc_entry_free(e);
		}
		pthread_mutex_destroy(&kc->shard[i].lock);
	}
	free(kc);
}

/* dkim_key_unref - drop a reference */
void
dkim_key_unref(struct dkim_key *key)
{
	if (key == NULL || atomic_fetch_sub(&key->refs, 1) != 1)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

/* dkim_key_pkey - decode p= into an EVP_PKEY of the record's type */
static EVP_PKEY *
dkim_key_pkey(enum dkim_keytype type, const unsigned char *der, long len)
{
	const unsigned char *q = der;
	EVP_PKEY *pk = NULL;

	if (type == DKIM_KEY_ED25519) {
		/* RFC 8463 4.2: the bare 32-octet public key, nothing else
		 * (a SubjectPublicKeyInfo is not one) */
		if (len == 32)
			pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
							 der, 32);
	} else {
		/* RFC 6376 3.6.1 names RSAPublicKey (PKCS#1) but signers
		 * publish SubjectPublicKeyInfo: take either */
		pk = d2i_PUBKEY(NULL, &q, len);
		if (pk != NULL && EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
		if (pk == NULL) {
			q = der;
			pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, len);
		}
	}
	ERR_clear_error(); /* failed attempts leave errors queued */
	return pk;
}

/* dkim_key_parse - a key record's text into a new key (one reference) */
static struct dkim_key *
dkim_key_parse(const char *rec, size_t len, char *err, size_t errlen)
{
	struct dkim_taglist tl;
	const struct dkim_tag *t;
	struct dkim_key *key;
	unsigned char *der;
	char why[96];
	long dlen;

	if (dkim_tags_parse(rec, len, &tl, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "key record: %s", why);
		return NULL;
	}
	if ((t = dkim_tags_get(&tl, "v")) != NULL && !dkim_tags_is(t, "DKIM1")) {
		snprintf(err, errlen, "key record: bad version");
		return NULL;
	}
	if ((key = calloc(1, sizeof(*key))) == NULL) {
		if (errlen > 0)
			err[0] = '\0';
		return NULL;
	}
	atomic_init(&key->refs, 1);
	key->type = DKIM_KEY_RSA;
	if ((t = dkim_tags_get(&tl, "k")) != NULL) {
		if (dkim_tags_is(t, "ed25519"))
			key->type = DKIM_KEY_ED25519;
		else if (!dkim_tags_is(t, "rsa")) {
			snprintf(err, errlen, "key record: unknown key type");
			goto bad;
		}
	}
	key->hashes = DKIM_HASH_SHA1 | DKIM_HASH_SHA256;
	if ((t = dkim_tags_get(&tl, "h")) != NULL)
		key->hashes = (dkim_tags_in(t, "sha1") ? DKIM_HASH_SHA1 : 0) |
			      (dkim_tags_in(t, "sha256") ? DKIM_HASH_SHA256 : 0);
	if ((t = dkim_tags_get(&tl, "s")) != NULL && !dkim_tags_in(t, "*") &&
	    !dkim_tags_in(t, "email")) {
		snprintf(err, errlen, "key record: not for email (s=)");
		goto bad;
	}
	if ((t = dkim_tags_get(&tl, "t")) != NULL) {
		key->testing = dkim_tags_in(t, "y");
		key->strict = dkim_tags_in(t, "s");
	}
	if ((t = dkim_tags_get(&tl, "p")) == NULL) {
		snprintf(err, errlen, "key record: no p= tag");
		goto bad;
	}
	if (t->vlen == 0) {
		key->revoked = true;
		return key;
	}
	if ((der = malloc(KC_MAX_PKEY)) == NULL) {
		if (errlen > 0)
			err[0] = '\0';
		goto bad;
	}
	dlen = dkim_tags_b64(t, der, KC_MAX_PKEY);
	key->pkey = dlen > 0 ? dkim_key_pkey(key->type, der, dlen) : NULL;
	free(der);
	if (key->pkey == NULL) {
		snprintf(err, errlen, "key record: p= is no %s public key",
			 key->type == DKIM_KEY_RSA ? "RSA" : "ed25519");
		goto bad;
	}
	if (key->type == DKIM_KEY_RSA)
		key->bits = (unsigned)EVP_PKEY_get_bits(key->pkey);
	return key;
bad:
	dkim_key_unref(key);
	return NULL;
}

/* dkim_key_get - the key for one key record's text */
struct dkim_key *
dkim_key_get(struct dkim_keycache *kc, const char *rec, size_t len, char *err,
	     size_t errlen)
{
	uint64_t h = kc_hash(rec, len);
	struct kc_shard *sh = &kc->shard[h % KC_SHARDS];
	unsigned slot = (unsigned)((h / KC_SHARDS) % 32);
	struct kc_entry *e;
	struct dkim_key *key;

	if (errlen > 0)
		err[0] = '\0';
	pthread_mutex_lock(&sh->lock);
	for (e = sh->chain[slot]; e != NULL; e = e->next)
		if (e->hash == h && e->len == len &&
		    memcmp(e->text, rec, len) == 0) {
			atomic_fetch_add(&e->key->refs, 1);
			pthread_mutex_unlock(&sh->lock);
			atomic_fetch_add(&kc->hits, 1);
			return e->key;
		}
	pthread_mutex_unlock(&sh->lock);

	/* parse outside the lock; a bad record is not cached (rare, and
	 * its reason is cheap to find again) */
	if ((key = dkim_key_parse(rec, len, err, errlen)) == NULL)
		return NULL;
	atomic_fetch_add(&kc->parsed, 1);
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->text = malloc(len + 1)) == NULL) {
		free(e);
		return key; /* usable, just not kept */
	}
	memcpy(e->text, rec, len);
	e->text[len] = '\0';
	e->len = len;
	e->hash = h;
	e->key = key;
	atomic_fetch_add(&key->refs, 1);
	pthread_mutex_lock(&sh->lock);
	/* two threads may have parsed the same record: both entries are
	 * valid, the older goes first */
	e->next = sh->chain[slot];
	sh->chain[slot] = e;
	if (sh->newest != NULL)
		sh->newest->newer = e;
	else
		sh->oldest = e;
	sh->newest = e;
	if (++sh->n > kc->per_shard) {
		struct kc_entry *old = sh->oldest, **pp;
		unsigned oslot = (unsigned)((old->hash / KC_SHARDS) % 32);

		for (pp = &sh->chain[oslot]; *pp != old; pp = &(*pp)->next)
			;
		*pp = old->next;
		sh->oldest = old->newer;
		if (sh->oldest == NULL)
			sh->newest = NULL;
		sh->n--;
		pthread_mutex_unlock(&sh->lock);
		kc_entry_free(old);
		return key;
	}
	pthread_mutex_unlock(&sh->lock);
	return key;
}

/* dkim_keycache_stats - lookups answered from the cache, and keys parsed */
void
dkim_keycache_stats(struct dkim_keycache *kc, unsigned long *hits,
		    unsigned long *parsed)
{
	*hits = atomic_load(&kc->hits);
	*parsed = atomic_load(&kc->parsed);
}

/* dkim_keyfail_reason - why the key lookup failed, from lib/dns's answer */
static void
dkim_keyfail_reason(const struct dns_answer *ans, char *why, size_t len)
{
	if (ans->rcode == 0)
		snprintf(why, len, "key lookup timed out");
	else if (ans->rcode == 2)
		snprintf(why, len, "key lookup failed (SERVFAIL)");
	else if (ans->rcode == 5)
		snprintf(why, len, "key lookup failed (REFUSED)");
	else
		snprintf(why, len, "key lookup failed (rcode %d)", ans->rcode);
}

/* dkim_key_fetch - look up selector._domainkey.domain and decode it */
enum dkim_keyfetch
dkim_key_fetch(struct dkim_keycache *kc, struct dns_cache *dns,
	       const char *selector, const char *domain, struct dkim_key **key,
	       char *why, size_t whylen)
{
	const struct dns_answer *ans;
	char name[512], *rec;
	bool nomem = false;

	*key = NULL;
	why[0] = '\0';
	if ((size_t)snprintf(name, sizeof(name), "%s._domainkey.%s", selector,
			     domain) >= sizeof(name)) {
		snprintf(why, whylen, "no key");
		return DKIM_KEYFETCH_PERM;
	}
	ans = dns_lookup(dns, name, DNS_T_TXT);
	switch (ans->status) {
	case DNS_OK:
		break;
	case DNS_TEMPFAIL:
		dkim_keyfail_reason(ans, why, whylen);
		return DKIM_KEYFETCH_TEMP;
	default: /* NXDOMAIN, NODATA, a name DNS cannot carry */
		snprintf(why, whylen, "no key");
		return DKIM_KEYFETCH_PERM;
	}
	if ((rec = malloc(DKIM_KEY_RECORD)) == NULL)
		return DKIM_KEYFETCH_NOMEM;
	/* the first TXT record that is a usable key wins; with none, the
	 * first one's error is reported */
	for (int i = 0; i < ans->count && *key == NULL && !nomem; i++) {
		char err[128];
		int len = dns_txt_join(ans, i, rec, DKIM_KEY_RECORD);

		if (len < 0) {
			if (why[0] == '\0')
				snprintf(why, whylen, "key record too large");
			continue;
		}
		*key = dkim_key_get(kc, rec, (size_t)len, err, sizeof(err));
		if (*key == NULL && err[0] == '\0')
			nomem = true;
		else if (*key == NULL && why[0] == '\0')
			snprintf(why, whylen, "%s", err);
	}
	free(rec);
	if (nomem)
		return DKIM_KEYFETCH_NOMEM;
	if (*key == NULL) {
		if (why[0] == '\0')
			snprintf(why, whylen, "no key");
		return DKIM_KEYFETCH_PERM;
	}
	return DKIM_KEYFETCH_OK;
}

/* dkim_key_verify - does sig sign the digest dig with key? */
bool
dkim_key_verify(const struct dkim_key *key, const EVP_MD *md,
		const unsigned char *sig, size_t siglen,
		const unsigned char *dig, unsigned dlen)
{
	EVP_PKEY *pk = key->pkey;
	bool ok = false;

	if (pk == NULL)
		return false;
	if (key->type == DKIM_KEY_ED25519) {
		/* RFC 8463 3: ed25519 signs the SHA-256 hash */
		EVP_MD_CTX *mctx = EVP_MD_CTX_new();

		ok = mctx != NULL &&
		     EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, pk) == 1 &&
		     EVP_DigestVerify(mctx, sig, siglen, dig, dlen) == 1;
		EVP_MD_CTX_free(mctx);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);

		ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
		     EVP_PKEY_verify(ctx, sig, siglen, dig, dlen) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	ERR_clear_error();
	return ok;
}
