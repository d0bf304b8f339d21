/*
 * dns_store.h - one resolver's store of DNS answers (internal to dns.c)
 *
 * dns_store.c owns the answers shared by all threads between messages:
 * refcounted, immutable once made, kept for their TTL (at most an hour)
 * in a sharded hash table. A warm lookup is then one hash probe under a
 * shard lock instead of a round trip through libunbound's thread.
 * Failures (DNS_TEMPFAIL) are never stored: the next message asks again.
 */
#ifndef AUTHTAG_DNS_STORE_H
#define AUTHTAG_DNS_STORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "dns.h"

struct ub_result;

/* one answer; the per-message caches and the store each hold a reference */
struct dns_blob {
	atomic_uint refs;
	struct dns_blob *next; /* hash chain in the store */
	unsigned hash;
	time_t expires;           /* monotonic seconds */
	char *name;               /* without a final dot */
	struct ub_result *result; /* owns what answer points into */
	size_t cost;              /* memory it holds, for the byte bound */
	struct dns_answer answer;
};

struct dns_store;

/*
 * dns_blob_new - an answer for name (len octets) / rrtype from a
 * libunbound result (taken over; NULL means the lookup failed); refs = 1
 */
struct dns_blob *dns_blob_new(const char *name, size_t len, int rrtype,
			      struct ub_result *result);

/* dns_blob_unref - drop one reference; the last one frees it */
void dns_blob_unref(struct dns_blob *blob);

/* dns_store_new - an empty store of at most max_entries answers that
 * hold at most max_bytes (DNSCacheSize) together */
struct dns_store *dns_store_new(size_t max_entries, size_t max_bytes);

/* dns_store_bytes - the memory its answers hold now */
size_t dns_store_bytes(struct dns_store *store);

/* dns_store_free - drop every answer the store holds */
void dns_store_free(struct dns_store *store);

/* dns_store_get - a live answer for name/rrtype (a new reference), or NULL */
struct dns_blob *dns_store_get(struct dns_store *store, const char *name,
			       size_t len, int rrtype);

/* dns_store_put - keep blob for its TTL if it may be kept */
void dns_store_put(struct dns_store *store, struct dns_blob *blob);

#endif
