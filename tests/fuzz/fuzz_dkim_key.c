/*
 * fuzz_dkim_key.c - libFuzzer harness for DKIM key records and the key
 * cache
 *
 * Input: a key record's text. dkim_key_get() must give a key or NULL
 * with a reason, and never crash on what OpenSSL is handed; the same
 * text asked again must give the same answer (the second time from the
 * cache), and a key is usable for what it claims (a revoked key has no
 * EVP_PKEY, a live one has one of its type).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim_key.h"

#define FZ_MAX_INPUT 65536

static struct dkim_keycache *fz_cache;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_key *k1, *k2;
	char err[128];

	if (size > FZ_MAX_INPUT)
		return 0;
	/* a small cache: evictions happen often */
	if (fz_cache == NULL && (fz_cache = dkim_keycache_new(64)) == NULL)
		return 0;
	k1 = dkim_key_get(fz_cache, (const char *)data, size, err, sizeof(err));
	if (k1 == NULL && memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	k2 = dkim_key_get(fz_cache, (const char *)data, size, err, sizeof(err));
	if ((k1 == NULL) != (k2 == NULL))
		abort();
	if (k1 != NULL) {
		if (k1->revoked != (k1->pkey == NULL))
			abort();
		if (k1->pkey != NULL &&
		    EVP_PKEY_get_base_id(k1->pkey) !=
			(k1->type == DKIM_KEY_RSA ? EVP_PKEY_RSA
						  : EVP_PKEY_ED25519))
			abort();
	}
	dkim_key_unref(k1);
	dkim_key_unref(k2);
	return 0;
}
