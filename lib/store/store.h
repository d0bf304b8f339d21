/*
 * store.h - the one place authtag keeps state (reports, quotas, pairs)
 *
 * store.c owns the backend table and the door every caller uses; each
 * backend is one file exporting a struct store_backend (store_sqlite.c,
 * store_redis.c). The operations are the few our features need:
 *
 *  - counters with expiry (quotas, sent marks);
 *  - records: text rows with a count, grouped by a key (the policy
 *    domain) and a time bucket; adding a batch is atomic and idempotent
 *    by its batch id, and refused for a bucket that is already claimed;
 *  - reading a bucket back, listing the buckets that ended;
 *  - claiming a bucket for one reporter at a time, with a lease and a
 *    token kept across claims (the Report-ID of a resend), and marking
 *    it done.
 *
 * Record groups: a DMARC policy domain (reports), or "FEATURE:NAME"
 * for the others (held mail of the quotas: "quota:USER"); each reader
 * skips the groups that are not its own.
 *
 * A struct store is safe to use from many threads. Every call returns
 * STORE_OK or a negative enum store_status; STORE_DOWN means "try again
 * later" (the caller keeps its data), the others are final.
 */
#ifndef AUTHTAG_STORE_H
#define AUTHTAG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_status {
	STORE_OK = 0,
	STORE_DOWN = -1,  /* unreachable, busy, read-only, full: retry */
	STORE_TAKEN = -2, /* claim: another owner holds a live lease */
	STORE_DONE = -3,  /* claim: the bucket was marked done */
	STORE_BAD = -4,   /* bad argument or corrupt data: do not retry */
};

/* one record to add: COUNT more of ROW in (GROUP, [START, END)) */
struct store_rec {
	const char *group;
	int64_t start, end; /* the bucket, seconds since the epoch */
	const char *row;
	int64_t count;
};

/* store_rows_cb - one row of a bucket (store_read); nonzero stops */
typedef int (*store_rows_cb)(void *arg, const char *row, int64_t count);

/* store_counters_cb - one counter (store_counter_list); nonzero stops */
typedef int (*store_counters_cb)(void *arg, const char *key, int64_t value);

/* store_buckets_cb - one bucket (store_buckets); nonzero stops */
typedef int (*store_buckets_cb)(void *arg, const char *group, int64_t start,
				int64_t end, bool done);

/* a backend: one file, one of these (spec is the text after "name:") */
struct store_backend {
	const char *name; /* "sqlite", "redis" */
	void *(*open)(const char *spec, char *err, size_t errlen);
	void (*close)(void *h);
	int (*counter_add)(void *h, const char *key, int64_t delta,
			   unsigned ttl, int64_t *value);
	int (*counter_get)(void *h, const char *key, int64_t *value);
	int (*counter_del)(void *h, const char *key);
	int (*counter_list)(void *h, const char *prefix, store_counters_cb cb,
			    void *arg);
	int (*add)(void *h, const char *batch, const struct store_rec *recs,
		   size_t n, size_t *late);
	int (*buckets)(void *h, int64_t end_before, store_buckets_cb cb,
		       void *arg);
	int (*read)(void *h, const char *group, int64_t start,
		    store_rows_cb cb, void *arg);
	int (*claim)(void *h, const char *group, int64_t start,
		     const char *owner, unsigned lease, char *token,
		     size_t tokenlen);
	int (*done)(void *h, const char *group, int64_t start,
		    const char *owner);
	int (*prune)(void *h, int64_t end_before, size_t *pruned);
	/* last error text of this handle's thread, for logs */
	const char *(*error)(void *h);
	/* could the store be used now? creates nothing */
	int (*probe)(void *h);
};

struct store;

/*
 * store_open - open "sqlite:/path", "redis://host:port/db",
 * "redis://:password@host:port/db", "redis:unix:/path[?db=N]"
 *
 * "none" gives NULL with err[0] == 0 (no store, no error). A backend
 * that is down is not an error here: the handle retries on each call.
 */
struct store *store_open(const char *spec, char *err, size_t errlen);

/* store_close - close and free */
void store_close(struct store *st);

/* store_spec - the spec it was opened with, password hidden, for logs */
const char *store_spec(const struct store *st);

/* store_status_name - "ok", "down", ... */
const char *store_status_name(int status);

/* store_error - the last error text of the calling thread's request */
const char *store_error(struct store *st);

/*
 * store_probe - could the store be used now (authtag -n)? It creates
 * nothing: a probe run as root must not leave a file root owns where the
 * daemon's user will write.
 */
int store_probe(struct store *st);

/*
 * store_counter_add - add delta to a counter, returning the new value
 *
 * A counter that did not exist starts at 0 and, with ttl > 0, expires
 * ttl seconds after it was created (a fixed window); ttl 0 keeps it.
 */
int store_counter_add(struct store *st, const char *key, int64_t delta,
		      unsigned ttl, int64_t *value);

/* store_counter_get - a counter's value (0 when absent or expired) */
int store_counter_get(struct store *st, const char *key, int64_t *value);

/* store_counter_del - remove a counter */
int store_counter_del(struct store *st, const char *key);

/*
 * store_counter_list - each live counter whose key starts with prefix,
 * in key order (for the tools: authtag-quota status, authtag-welcome
 * list; the daemon never lists)
 */
int store_counter_list(struct store *st, const char *prefix,
		       store_counters_cb cb, void *arg);

/*
 * store_add - add a batch of records, all or nothing
 *
 * batch is a unique id of this batch: adding the same batch again
 * (a retry after a lost reply) changes nothing and returns STORE_OK.
 * Records for a bucket that is claimed or done are not added; *late
 * counts them (the batch still succeeds).
 */
int store_add(struct store *st, const char *batch,
	      const struct store_rec *recs, size_t n, size_t *late);

/*
 * store_buckets - each bucket with rows whose end <= end_before, in
 * (start, group) order; done ones too (done = true), until pruned
 */
int store_buckets(struct store *st, int64_t end_before, store_buckets_cb cb,
		  void *arg);

/* store_read - each row of one bucket, in row order */
int store_read(struct store *st, const char *group, int64_t start,
	       store_rows_cb cb, void *arg);

/*
 * store_claim - take a bucket for owner for lease seconds
 *
 * STORE_OK: it is ours (new, expired lease, or already ours). On entry
 * token holds a proposed token; the first claim keeps it, a later
 * claim (a rerun after a crash) gets the kept one back in token.
 * From the first claim on, store_add refuses rows for this bucket.
 * STORE_TAKEN: another owner holds a live lease (token then holds
 * that owner, so that a caller may see it died and take its place);
 * STORE_DONE: done.
 */
int store_claim(struct store *st, const char *group, int64_t start,
		const char *owner, unsigned lease, char *token,
		size_t tokenlen);

/* store_done - mark a bucket claimed by owner as done */
int store_done(struct store *st, const char *group, int64_t start,
	       const char *owner);

/*
 * store_prune - delete the buckets (rows and state) whose end is before
 * end_before, and expired counters; *pruned counts the buckets
 */
int store_prune(struct store *st, int64_t end_before, size_t *pruned);

extern const struct store_backend store_backend_sqlite;
extern const struct store_backend store_backend_redis;

#endif
