/*
 * dns_store.c - one resolver's store of DNS answers (see dns_store.h)
 *
 * Owns struct dns_blob (one answer, refcounted) and the sharded hash
 * table that keeps answers between messages for their TTL. libunbound
 * has a cache of its own, but asking it costs a hand-off to its worker
 * thread and back for every lookup; most of authtag's lookups repeat
 * (the same senders' SPF, keys and DMARC records), so they stop here.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unbound.h>

#include "dns_store.h"

#define DNS_STORE_SHARDS  16   /* independent locks */
#define DNS_STORE_BUCKETS 1024 /* hash chains per shard */
#define DNS_STORE_MAX_TTL 3600 /* seconds, whatever the record says */

struct dns_shard {
	pthread_mutex_t lock;
	struct dns_blob *bucket[DNS_STORE_BUCKETS];
	size_t count;
	size_t bytes; /* dns_blob_cost of what it holds */
};

struct dns_store {
	size_t max_per_shard;
	size_t bytes_per_shard;
	struct dns_shard shard[DNS_STORE_SHARDS];
};

/* dns_store_now - monotonic seconds, cheaply */
static time_t
dns_store_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

/* dns_store_hash - FNV-1a over the lower-cased name and the type */
static unsigned
dns_store_hash(const char *name, size_t len, int rrtype)
{
	unsigned h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)tolower((unsigned char)name[i])) *
		    16777619u;
	return (h ^ (unsigned)rrtype) * 16777619u;
}

/* dns_answer_fill - turn a ub_result into our answer */
static void
dns_answer_fill(struct dns_answer *ans, const struct ub_result *r)
{
	ans->rcode = r->rcode;
	ans->packet = r->answer_packet;
	ans->packet_len = r->answer_len;
	ans->secure = r->secure;
	if (r->bogus) {
		ans->status = DNS_TEMPFAIL;
		return;
	}
	switch (r->rcode) {
	case 0:
		ans->status = r->havedata ? DNS_OK : DNS_NODATA;
		break;
	case 3:
		ans->status = DNS_NXDOMAIN;
		break;
	default: /* SERVFAIL, REFUSED, ...: may work next time */
		ans->status = DNS_TEMPFAIL;
		return;
	}
	if (ans->status == DNS_OK) {
		while (r->data[ans->count] != NULL)
			ans->count++;
		ans->rdata = (unsigned char **)r->data;
		ans->rdlen = r->len;
	}
}

/*
 * dns_blob_cost - the memory one answer holds: the wire packet, the
 * parsed rdata libunbound keeps beside it, the name, and the structs and
 * allocator overhead (an estimate that errs high: a 64 KiB answer was
 * measured at ~118 KiB of RSS)
 */
static size_t
dns_blob_cost(const struct dns_blob *blob)
{
	size_t c = sizeof(*blob) + strlen(blob->name) + 1 + 512;

	if (blob->result != NULL) {
		c += sizeof(*blob->result) + (size_t)blob->result->answer_len;
		for (int i = 0; blob->result->data != NULL &&
				blob->result->data[i] != NULL;
		     i++)
			c += (size_t)blob->result->len[i] + 2 * sizeof(void *) +
			     32;
	}
	return c;
}

/* dns_blob_new - an answer made from a libunbound result */
struct dns_blob *
dns_blob_new(const char *name, size_t len, int rrtype, struct ub_result *result)
{
	struct dns_blob *blob = calloc(1, sizeof(*blob));

	if (blob == NULL || (blob->name = strndup(name, len)) == NULL) {
		free(blob);
		if (result != NULL)
			ub_resolve_free(result);
		return NULL;
	}
	atomic_init(&blob->refs, 1);
	blob->hash = dns_store_hash(name, len, rrtype);
	blob->cost = 0; /* set below, once result is attached */
	blob->answer.rrtype = rrtype;
	blob->result = result;
	if (result == NULL) {
		blob->answer.status = DNS_TEMPFAIL;
	} else {
		dns_answer_fill(&blob->answer, result);
		blob->expires =
		    dns_store_now() + (result->ttl < DNS_STORE_MAX_TTL
					   ? result->ttl
					   : DNS_STORE_MAX_TTL);
	}
	blob->cost = dns_blob_cost(blob);
	return blob;
}

/* dns_blob_unref - drop one reference; the last one frees it */
void
dns_blob_unref(struct dns_blob *blob)
{
	if (blob == NULL || atomic_fetch_sub(&blob->refs, 1) != 1)
		return;
	if (blob->result != NULL)
		ub_resolve_free(blob->result);
	free(blob->name);
	free(blob);
}

/* dns_store_new - an empty store */
struct dns_store *
dns_store_new(size_t max_entries, size_t max_bytes)
{
	struct dns_store *store = calloc(1, sizeof(*store));

	if (store == NULL)
		return NULL;
	store->max_per_shard = max_entries / DNS_STORE_SHARDS + 1;
	store->bytes_per_shard = max_bytes / DNS_STORE_SHARDS;
	for (int i = 0; i < DNS_STORE_SHARDS; i++)
		pthread_mutex_init(&store->shard[i].lock, NULL);
	return store;
}

/* dns_store_free - drop every answer the store holds */
void
dns_store_free(struct dns_store *store)
{
	if (store == NULL)
		return;
	for (int i = 0; i < DNS_STORE_SHARDS; i++) {
		struct dns_shard *sh = &store->shard[i];

		for (int b = 0; b < DNS_STORE_BUCKETS; b++) {
			struct dns_blob *blob, *next;

			for (blob = sh->bucket[b]; blob != NULL; blob = next) {
				next = blob->next;
				dns_blob_unref(blob);
			}
		}
		pthread_mutex_destroy(&sh->lock);
	}
	free(store);
}

/* dns_store_same - is blob the answer for name/rrtype? */
static bool
dns_store_same(const struct dns_blob *blob, unsigned hash, const char *name,
	       size_t len, int rrtype)
{
	return blob->hash == hash && blob->answer.rrtype == rrtype &&
	       strlen(blob->name) == len &&
	       strncasecmp(blob->name, name, len) == 0;
}

/*
 * dns_store_unlink - take the entry at *link out of its shard (caller
 * holds the lock) and drop the store's reference
 */
static void
dns_store_unlink(struct dns_shard *sh, struct dns_blob **link)
{
	struct dns_blob *blob = *link;

	*link = blob->next;
	sh->count--;
	sh->bytes -= blob->cost;
	dns_blob_unref(blob);
}

/* dns_store_sweep - drop every expired answer of a shard (lock held) */
static void
dns_store_sweep(struct dns_shard *sh, time_t now)
{
	for (int b = 0; b < DNS_STORE_BUCKETS; b++)
		for (struct dns_blob **link = &sh->bucket[b]; *link != NULL;)
			if ((*link)->expires <= now)
				dns_store_unlink(sh, link);
			else
				link = &(*link)->next;
}

/* dns_store_get - a live answer for name/rrtype, or NULL */
struct dns_blob *
dns_store_get(struct dns_store *store, const char *name, size_t len, int rrtype)
{
	unsigned hash = dns_store_hash(name, len, rrtype);
	struct dns_shard *sh = &store->shard[hash % DNS_STORE_SHARDS];
	struct dns_blob **link, *found = NULL;
	time_t now = dns_store_now();

	pthread_mutex_lock(&sh->lock);
	link = &sh->bucket[(hash / DNS_STORE_SHARDS) % DNS_STORE_BUCKETS];
	for (; *link != NULL; link = &(*link)->next) {
		if (!dns_store_same(*link, hash, name, len, rrtype))
			continue;
		if ((*link)->expires <= now) {
			dns_store_unlink(sh, link);
			break;
		}
		found = *link;
		atomic_fetch_add(&found->refs, 1);
		break;
	}
	pthread_mutex_unlock(&sh->lock);
	return found;
}

/* dns_store_put - keep blob for its TTL if it may be kept */
void
dns_store_put(struct dns_store *store, struct dns_blob *blob)
{
	struct dns_shard *sh = &store->shard[blob->hash % DNS_STORE_SHARDS];
	struct dns_blob **link, **head;
	time_t now = dns_store_now();

	/* failures are not kept: the next message must ask again */
	if (blob->answer.status == DNS_TEMPFAIL || blob->expires <= now)
		return;
	pthread_mutex_lock(&sh->lock);
	head = &sh->bucket[(blob->hash / DNS_STORE_SHARDS) % DNS_STORE_BUCKETS];
	/* one answer per name/type (another thread may have asked too), and
	 * expired ones in this chain make room */
	for (link = head; *link != NULL;) {
		if ((*link)->expires <= now ||
		    dns_store_same(*link, blob->hash, blob->name,
				   strlen(blob->name), blob->answer.rrtype))
			dns_store_unlink(sh, link);
		else
			link = &(*link)->next;
	}
	/* over the byte budget: first drop whatever has expired anywhere
	 * in the shard, then, if it still does not fit, keep nothing new
	 * (what is kept stays until its TTL: the store is only a cache) */
	if (sh->bytes + blob->cost > store->bytes_per_shard)
		dns_store_sweep(sh, now);
	if (sh->count < store->max_per_shard &&
	    sh->bytes + blob->cost <= store->bytes_per_shard) {
		atomic_fetch_add(&blob->refs, 1);
		blob->next = *head;
		*head = blob;
		sh->count++;
		sh->bytes += blob->cost;
	}
	pthread_mutex_unlock(&sh->lock);
}

/* dns_store_bytes - what the kept answers cost, all shards (for tests) */
size_t
dns_store_bytes(struct dns_store *store)
{
	size_t total = 0;

	for (int i = 0; i < DNS_STORE_SHARDS; i++) {
		pthread_mutex_lock(&store->shard[i].lock);
		total += store->shard[i].bytes;
		pthread_mutex_unlock(&store->shard[i].lock);
	}
	return total;
}
