/*
 * store_sqlite.c - the state store in one SQLite file (the default)
 *
 * Owns the database schema and its handle. WAL mode lets the daemon
 * write while authtag-report reads, and two processes share the file
 * through SQLite's own locking; busy_timeout makes a writer wait for the
 * other instead of failing. One connection per handle, one mutex around
 * each call: the writer thread and the tools are the only callers, so
 * a pool would buy nothing. The file is opened on first use and again
 * after any error that may heal (a missing directory, a full disk, a
 * lock held too long), so a daemon starts, and keeps tagging, while the
 * store is unwritable.
 *
 * Tables: counters(key, value, expires), buckets(grp, start, end,
 * state, owner, lease, token), rows(grp, start, row, count) and
 * batches(id, at), the ids of batches already added (idempotence).
 */
#include "build.h" /* first: feature macros */

#include <pthread.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

#include "store.h"
#include "strbuf.h"

enum { SQ_OPEN = 0, SQ_CLAIMED = 1, SQ_DONE = 2 };

struct sq {
	pthread_mutex_t lock;
	char *path;
	sqlite3 *db; /* NULL until opened, and after an error */
};

/* the last error of this thread's request (store_backend.error) */
static __thread char sq_errbuf[256];

static const char sq_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS counters(key TEXT PRIMARY KEY,"
    " value INTEGER NOT NULL, expires INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS buckets(grp TEXT NOT NULL,"
    " start INTEGER NOT NULL, end INTEGER NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0, owner TEXT, lease INTEGER,"
    " token TEXT, PRIMARY KEY(grp, start));"
    "CREATE TABLE IF NOT EXISTS rows(grp TEXT NOT NULL,"
    " start INTEGER NOT NULL, row TEXT NOT NULL,"
    " count INTEGER NOT NULL, PRIMARY KEY(grp, start, row));"
    "CREATE TABLE IF NOT EXISTS batches(id TEXT PRIMARY KEY,"
    " at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS buckets_end ON buckets(end);";

/* sq_status - our status for an SQLite result code, error text kept */
static int
sq_status(struct sq *s, int rc, const char *what)
{
	const char *msg = s->db != NULL ? sqlite3_errmsg(s->db)
					: sqlite3_errstr(rc);

	snprintf(sq_errbuf, sizeof(sq_errbuf), "sqlite %s: %s: %s", s->path,
		 what, msg);
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_TOOBIG:
	case SQLITE_MISUSE:
		return STORE_BAD;
	default:
		/* busy, locked, full, I/O, read-only, can't open, corrupt
		 * (a replaced file): drop the connection, retry later */
		if (s->db != NULL) {
			sqlite3_close_v2(s->db);
			s->db = NULL;
		}
		return STORE_DOWN;
	}
}

/* sq_connect - open the file and make the schema, if not yet done */
static int
sq_connect(struct sq *s)
{
	int rc;

	if (s->db != NULL)
		return STORE_OK;
	rc = sqlite3_open_v2(s->path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK)
		return sq_status(s, rc, "open");
	sqlite3_busy_timeout(s->db, 5000);
	rc = sqlite3_exec(s->db, sq_schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sq_status(s, rc, "schema");
	return STORE_OK;
}

/* sq_open - "sqlite:PATH" */
static void *
sq_open(const char *spec, char *err, size_t errlen)
{
	struct sq *s;

	if (spec[0] != '/') {
		snprintf(err, errlen, "sqlite:%s: the path must be absolute",
			 spec);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(spec)) == NULL) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

static void
sq_close(void *h)
{
	struct sq *s = h;

	if (s->db != NULL)
		sqlite3_close_v2(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
}

static const char *
sq_error(void *h)
{
	(void)h;
	return sq_errbuf;
}

/* sq_begin - lock the handle, connect, and start a write transaction */
static int
sq_begin(struct sq *s)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	if ((rc = sq_connect(s)) != STORE_OK)
		return rc;
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sq_status(s, rc, "begin");
	return STORE_OK;
}

/* sq_end - commit (status OK) or roll back, and unlock */
static int
sq_end(struct sq *s, int status)
{
	if (s->db != NULL) {
		if (status == STORE_OK) {
			int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL,
					      NULL);

			if (rc != SQLITE_OK) {
				status = sq_status(s, rc, "commit");
				if (s->db != NULL)
					sqlite3_exec(s->db, "ROLLBACK", NULL,
						     NULL, NULL);
			}
		} else
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&s->lock);
	return status;
}

/* sq_prep - prepare a statement (cached by SQLite's own page cache) */
static int
sq_prep(struct sq *s, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK) {
		*st = NULL;
		return sq_status(s, rc, "prepare");
	}
	return STORE_OK;
}

/* sq_step_done - run a statement that returns no rows, and finalize */
static int
sq_step_done(struct sq *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_status(s, rc, what);
	return STORE_OK;
}

/* sq_exec1 - run one statement with text and integer parameters: each
 * character of types is 't' (const char *) or 'i' (int64_t) */
static int
sq_exec1(struct sq *s, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	if ((rc = sq_prep(s, sql, &st)) != STORE_OK)
		return rc;
	va_start(ap, types);
	for (int i = 0; types[i] != '\0'; i++) {
		if (types[i] == 't')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *),
					  -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	return sq_step_done(s, st, sql);
}

/* sq_counter_add - INSERT or add, after dropping an expired value */
static int
sq_counter_add(void *h, const char *key, int64_t delta, unsigned ttl,
	       int64_t *value)
{
	struct sq *s = h;
	int64_t now = (int64_t)time(NULL);
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_begin(s)) != STORE_OK)
		return sq_end(s, rc);
	rc = sq_exec1(s,
		      "DELETE FROM counters WHERE key = ?1 AND expires > 0 "
		      "AND expires <= ?2",
		      "ti", key, now);
	if (rc == STORE_OK)
		rc = sq_prep(s,
			     "INSERT INTO counters(key, value, expires) "
			     "VALUES(?1, ?2, ?3) ON CONFLICT(key) DO UPDATE "
			     "SET value = value + excluded.value "
			     "RETURNING value",
			     &st);
	if (rc == STORE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, delta);
		sqlite3_bind_int64(st, 3, ttl > 0 ? now + ttl : 0);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*value = sqlite3_column_int64(st, 0);
			rc = sq_step_done(s, st, "counter");
		} else {
			int e = sqlite3_finalize(st);

			rc = sq_status(s, e, "counter");
		}
	}
	return sq_end(s, rc);
}

/* sq_counter_get - a live counter's value, or 0 */
static int
sq_counter_get(void *h, const char *key, int64_t *value)
{
	struct sq *s = h;
	sqlite3_stmt *st;
	int rc;

	*value = 0;
	pthread_mutex_lock(&s->lock);
	if ((rc = sq_connect(s)) == STORE_OK &&
	    (rc = sq_prep(s,
			  "SELECT value FROM counters WHERE key = ?1 AND "
			  "(expires = 0 OR expires > ?2)",
			  &st)) == STORE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
		if (sqlite3_step(st) == SQLITE_ROW)
			*value = sqlite3_column_int64(st, 0);
		rc = sq_step_done(s, st, "counter");
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int
sq_counter_del(void *h, const char *key)
{
	struct sq *s = h;
	int rc;

	if ((rc = sq_begin(s)) == STORE_OK)
		rc = sq_exec1(s, "DELETE FROM counters WHERE key = ?1", "t",
			      key);
	return sq_end(s, rc);
}

/* sq_counter_list - the live counters under a prefix, in key order;
 * substr() rather than LIKE, whose _ and % a key may hold */
static int
sq_counter_list(void *h, const char *prefix, store_counters_cb cb, void *arg)
{
	struct sq *s = h;
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->lock);
	if ((rc = sq_connect(s)) == STORE_OK &&
	    (rc = sq_prep(s,
			  "SELECT key, value FROM counters WHERE "
			  "substr(key, 1, length(?1)) = ?1 AND "
			  "(expires = 0 OR expires > ?2) ORDER BY key",
			  &st)) == STORE_OK) {
		int e;

		sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
		while ((e = sqlite3_step(st)) == SQLITE_ROW) {
			const char *k =
			    (const char *)sqlite3_column_text(st, 0);

			if (k != NULL &&
			    cb(arg, k, sqlite3_column_int64(st, 1)) != 0)
				break;
		}
		sqlite3_finalize(st);
		if (e != SQLITE_ROW && e != SQLITE_DONE)
			rc = sq_status(s, e, "counter list");
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* sq_bucket_state - a bucket's state, SQ_OPEN when it has none yet */
static int
sq_bucket_state(struct sq *s, const char *grp, int64_t start, int *state)
{
	sqlite3_stmt *st;
	int rc;

	*state = SQ_OPEN;
	if ((rc = sq_prep(s,
			  "SELECT state FROM buckets WHERE grp = ?1 AND "
			  "start = ?2",
			  &st)) != STORE_OK)
		return rc;
	sqlite3_bind_text(st, 1, grp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, start);
	if (sqlite3_step(st) == SQLITE_ROW)
		*state = sqlite3_column_int(st, 0);
	return sq_step_done(s, st, "bucket state");
}

/* sq_add - a batch in one transaction; a known batch id adds nothing */
static int
sq_add(void *h, const char *batch, const struct store_rec *recs, size_t n,
       size_t *late)
{
	struct sq *s = h;
	sqlite3_stmt *st;
	int rc;

	*late = 0;
	if ((rc = sq_begin(s)) != STORE_OK)
		return sq_end(s, rc);
	if ((rc = sq_prep(s,
			  "INSERT INTO batches(id, at) VALUES(?1, ?2) "
			  "ON CONFLICT(id) DO NOTHING",
			  &st)) != STORE_OK)
		return sq_end(s, rc);
	sqlite3_bind_text(st, 1, batch, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	if ((rc = sq_step_done(s, st, "batch")) != STORE_OK)
		return sq_end(s, rc);
	if (sqlite3_changes(s->db) == 0) /* added before: a retry */
		return sq_end(s, STORE_OK);
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		const struct store_rec *r = &recs[i];
		int state;

		rc = sq_bucket_state(s, r->group, r->start, &state);
		if (rc != STORE_OK)
			break;
		if (state != SQ_OPEN) {
			(*late)++;
			continue;
		}
		rc = sq_exec1(s,
			      "INSERT INTO buckets(grp, start, end) "
			      "VALUES(?1, ?2, ?3) ON CONFLICT DO NOTHING",
			      "tii", r->group, r->start, r->end);
		if (rc == STORE_OK)
			rc = sq_exec1(s,
				      "INSERT INTO rows(grp, start, row, count)"
				      " VALUES(?1, ?2, ?3, ?4) ON CONFLICT DO "
				      "UPDATE SET count = count + "
				      "excluded.count",
				      "titi", r->group, r->start, r->row,
				      r->count);
	}
	return sq_end(s, rc);
}

/* collected results, handed to callbacks after the lock is released
 * (a callback may call the store again) */
struct sq_item {
	char *a, *b;
	int64_t x, y;
	int state;
};

struct sq_list {
	struct sq_item *v;
	size_t n;
};

/* sq_list_free - free a collected list */
static void
sq_list_free(struct sq_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].a);
		free(l->v[i].b);
	}
	free(l->v);
}

/* sq_collect - run a query, keeping columns (text a, int x, int y, int
 * state, ...) as the caller's shape says; -1 on no memory */
static int
sq_collect(struct sq *s, sqlite3_stmt *st, struct sq_list *l, int ncols)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sq_item *it;
		const char *a = (const char *)sqlite3_column_text(st, 0);

		if (sb_array_room(&l->v, l->n, sizeof(*l->v)) != 0) {
			sqlite3_finalize(st);
			snprintf(sq_errbuf, sizeof(sq_errbuf),
				 "out of memory");
			return STORE_DOWN;
		}
		it = &l->v[l->n];
		memset(it, 0, sizeof(*it));
		it->a = strdup(a != NULL ? a : "");
		if (it->a == NULL) {
			sqlite3_finalize(st);
			return STORE_DOWN;
		}
		l->n++;
		it->x = sqlite3_column_int64(st, 1);
		if (ncols > 2)
			it->y = sqlite3_column_int64(st, 2);
		if (ncols > 3)
			it->state = sqlite3_column_int(st, 3);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_status(s, rc, "query");
	return STORE_OK;
}

/* sq_buckets - buckets that ended by end_before */
static int
sq_buckets(void *h, int64_t end_before, store_buckets_cb cb, void *arg)
{
	struct sq *s = h;
	struct sq_list l = {NULL, 0};
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->lock);
	if ((rc = sq_connect(s)) == STORE_OK &&
	    (rc = sq_prep(s,
			  "SELECT grp, start, end, state FROM buckets WHERE "
			  "end <= ?1 ORDER BY start, grp",
			  &st)) == STORE_OK) {
		sqlite3_bind_int64(st, 1, end_before);
		rc = sq_collect(s, st, &l, 4);
	}
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; rc == STORE_OK && i < l.n; i++)
		if (cb(arg, l.v[i].a, l.v[i].x, l.v[i].y,
		       l.v[i].state == SQ_DONE) != 0)
			break;
	sq_list_free(&l);
	return rc;
}

/* sq_read - one bucket's rows in row order */
static int
sq_read(void *h, const char *group, int64_t start, store_rows_cb cb,
	void *arg)
{
	struct sq *s = h;
	struct sq_list l = {NULL, 0};
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->lock);
	if ((rc = sq_connect(s)) == STORE_OK &&
	    (rc = sq_prep(s,
			  "SELECT row, count FROM rows WHERE grp = ?1 AND "
			  "start = ?2 ORDER BY row",
			  &st)) == STORE_OK) {
		sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, start);
		rc = sq_collect(s, st, &l, 2);
	}
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; rc == STORE_OK && i < l.n; i++)
		if (cb(arg, l.v[i].a, l.v[i].x) != 0)
			break;
	sq_list_free(&l);
	return rc;
}

/* sq_claim - take a bucket, keeping the first claim's token */
static int
sq_claim(void *h, const char *group, int64_t start, const char *owner,
	 unsigned lease, char *token, size_t tokenlen)
{
	struct sq *s = h;
	int64_t now = (int64_t)time(NULL);
	sqlite3_stmt *st;
	int rc, state = -1;
	int64_t until = 0;
	char *holder = NULL, *kept = NULL;

	if ((rc = sq_begin(s)) != STORE_OK)
		return sq_end(s, rc);
	if ((rc = sq_prep(s,
			  "SELECT state, owner, lease, token FROM buckets "
			  "WHERE grp = ?1 AND start = ?2",
			  &st)) != STORE_OK)
		return sq_end(s, rc);
	sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, start);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *o = (const char *)sqlite3_column_text(st, 1);
		const char *t = (const char *)sqlite3_column_text(st, 3);

		state = sqlite3_column_int(st, 0);
		until = sqlite3_column_int64(st, 2);
		holder = o != NULL ? strdup(o) : NULL;
		kept = t != NULL ? strdup(t) : NULL;
	}
	if ((rc = sq_step_done(s, st, "claim")) != STORE_OK)
		goto out;
	if (state == SQ_DONE) {
		rc = STORE_DONE;
		goto out;
	}
	if (state == SQ_CLAIMED && holder != NULL &&
	    strcmp(holder, owner) != 0 && until > now) {
		snprintf(token, tokenlen, "%s", holder);
		rc = STORE_TAKEN;
		goto out;
	}
	if (kept != NULL)
		snprintf(token, tokenlen, "%s", kept);
	if (state < 0)
		rc = sq_exec1(s,
			      "INSERT INTO buckets(grp, start, end, state, "
			      "owner, lease, token) VALUES(?1, ?2, ?2, 1, ?3,"
			      " ?4, ?5)",
			      "titit", group, start, owner, now + lease, token);
	else
		rc = sq_exec1(s,
			      "UPDATE buckets SET state = 1, owner = ?3, "
			      "lease = ?4, token = ?5 WHERE grp = ?1 AND "
			      "start = ?2",
			      "titit", group, start, owner, now + lease, token);
out:
	free(holder);
	free(kept);
	if (rc == STORE_TAKEN || rc == STORE_DONE) {
		sq_end(s, STORE_BAD); /* roll back: nothing changed */
		return rc;
	}
	return sq_end(s, rc);
}

/* sq_done - mark our claimed bucket done */
static int
sq_done(void *h, const char *group, int64_t start, const char *owner)
{
	struct sq *s = h;
	int rc;

	if ((rc = sq_begin(s)) != STORE_OK)
		return sq_end(s, rc);
	rc = sq_exec1(s,
		      "UPDATE buckets SET state = 2 WHERE grp = ?1 AND "
		      "start = ?2 AND state = 1 AND owner = ?3",
		      "tit", group, start, owner);
	if (rc == STORE_OK && sqlite3_changes(s->db) != 1) {
		snprintf(sq_errbuf, sizeof(sq_errbuf),
			 "bucket %s/%lld is not claimed by %s", group,
			 (long long)start, owner);
		rc = STORE_BAD;
	}
	return sq_end(s, rc);
}

/* sq_prune - forget old buckets, expired counters and old batch ids */
static int
sq_prune(void *h, int64_t end_before, size_t *pruned)
{
	struct sq *s = h;
	int64_t now = (int64_t)time(NULL);
	int rc;

	*pruned = 0;
	if ((rc = sq_begin(s)) != STORE_OK)
		return sq_end(s, rc);
	rc = sq_exec1(s,
		      "DELETE FROM rows WHERE EXISTS (SELECT 1 FROM buckets b"
		      " WHERE b.grp = rows.grp AND b.start = rows.start AND "
		      "b.end < ?1)",
		      "i", end_before);
	if (rc == STORE_OK) {
		rc = sq_exec1(s, "DELETE FROM buckets WHERE end < ?1", "i",
			      end_before);
		if (rc == STORE_OK)
			*pruned = (size_t)sqlite3_changes(s->db);
	}
	if (rc == STORE_OK)
		rc = sq_exec1(s,
			      "DELETE FROM counters WHERE expires > 0 AND "
			      "expires <= ?1",
			      "i", now);
	if (rc == STORE_OK) /* a retried batch comes within seconds */
		rc = sq_exec1(s, "DELETE FROM batches WHERE at < ?1", "i",
			      now - 86400);
	return sq_end(s, rc);
}

/* sq_probe - the file can be written, or made: without making it */
static int
sq_probe(void *h)
{
	struct sq *s = h;
	char *dir = strdup(s->path), *slash;
	int rc = STORE_OK;

	if (dir == NULL)
		return STORE_DOWN;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	if (access(s->path, F_OK) == 0 ? access(s->path, R_OK | W_OK) != 0
				       : access(dir, W_OK | X_OK) != 0) {
		snprintf(sq_errbuf, sizeof(sq_errbuf), "sqlite %s: %s",
			 access(s->path, F_OK) == 0 ? s->path : dir,
			 strerror(errno));
		rc = STORE_DOWN;
	}
	/* WAL needs the directory too (the -wal and -shm files) */
	if (rc == STORE_OK && access(dir, W_OK | X_OK) != 0) {
		snprintf(sq_errbuf, sizeof(sq_errbuf), "sqlite %s: %s", dir,
			 strerror(errno));
		rc = STORE_DOWN;
	}
	free(dir);
	return rc;
}

const struct store_backend store_backend_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .counter_add = sq_counter_add,
    .counter_get = sq_counter_get,
    .counter_del = sq_counter_del,
    .counter_list = sq_counter_list,
    .add = sq_add,
    .buckets = sq_buckets,
    .read = sq_read,
    .claim = sq_claim,
    .done = sq_done,
    .prune = sq_prune,
    .error = sq_error,
    .probe = sq_probe,
};
