/*
 * report_rec.c - the recorder: rows aggregated in memory, written by a
 * thread of their own (see report_rec.h for the contract)
 *
 * Owns the live table (what messages add to), the pending batch (what
 * the writer took out of it and has not yet written: kept unchanged
 * until the store takes it, so its id stays valid for idempotence), and
 * the writer thread. The message path takes rec->lock for one hash
 * look-up and an increment; the writer holds it only to swap tables.
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "report_rec.h"
#include "report_row.h"
#include "store/store.h"
#include "strbuf.h"

/* distinct rows that make the writer flush before flush_ms is up */
#define RR_FLUSH_ROWS 4096

struct rr_entry {
	struct rr_entry *next;
	uint64_t hash;
	int64_t start, end;
	char *group;
	char *row;
	int64_t count;
};

struct rr_table {
	struct rr_entry **slots;
	size_t nslots; /* a power of two */
	size_t n;      /* entries */
	int64_t msgs;  /* messages counted */
};

struct report_rec {
	pthread_mutex_t lock; /* live, npending, stop, the counters */
	pthread_cond_t wake;
	pthread_mutex_t flush_lock; /* one flush at a time */
	pthread_t thread;
	bool started, stop;
	struct rr_table live;
	struct rr_table pending; /* touched by the flusher only */
	size_t npending;         /* pending.n, for add's bound (locked) */
	char batch[160];         /* the pending batch's id, "" when none */
	uint64_t seq;
	struct store *st;
	char *instance;
	unsigned period, flush_ms;
	size_t max_rows;
	report_log_fn log;
	/* once-a-minute logs */
	int64_t dropped;      /* messages not recorded: table full */
	time_t dropped_logged;
	time_t down_since, down_logged;
	int64_t late;         /* rows for a period already reported */
};

/* rr_log - a line to the daemon's log */
static void
rr_log(struct report_rec *rec, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
rr_log(struct report_rec *rec, int prio, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (rec->log == NULL)
		return;
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	if (!sb_failed(&sb))
		rec->log(prio, sb_str(&sb));
	sb_free(&sb);
}

/* rr_hash - FNV-1a over the bucket and the row */
static uint64_t
rr_hash(const char *group, int64_t start, const char *row)
{
	uint64_t h = 14695981039346656037ULL;

	for (const char *p = group; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (int i = 0; i < 8; i++)
		h = (h ^ (unsigned char)(start >> (8 * i))) * 1099511628211ULL;
	for (const char *p = row; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

/* rr_table_free - free every entry and the slots */
static void
rr_table_free(struct rr_table *t)
{
	for (size_t i = 0; i < t->nslots; i++) {
		struct rr_entry *e = t->slots[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e->group);
			free(e->row);
			free(e);
		}
	}
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* rr_grow - double the slots when the table is as full as it is wide */
static void
rr_grow(struct rr_table *t)
{
	size_t n = t->nslots == 0 ? 64 : t->nslots * 2;
	struct rr_entry **slots;

	if (t->n < t->nslots)
		return;
	if ((slots = calloc(n, sizeof(*slots))) == NULL)
		return; /* longer chains: slower, still right */
	for (size_t i = 0; i < t->nslots; i++) {
		struct rr_entry *e = t->slots[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			e->next = slots[e->hash & (n - 1)];
			slots[e->hash & (n - 1)] = e;
		}
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
}

/* report_rec_add - count one message's row */
void
report_rec_add(struct report_rec *rec, const struct report_row *row,
	       int64_t now)
{
	struct strbuf text = STRBUF_INIT;
	int64_t start = now - now % rec->period;
	const char *group = row->pol.domain;
	struct rr_entry *e;
	uint64_t h;

	report_row_format(row, &text);
	if (sb_failed(&text)) {
		sb_free(&text);
		pthread_mutex_lock(&rec->lock);
		rec->dropped++;
		pthread_mutex_unlock(&rec->lock);
		return;
	}
	h = rr_hash(group, start, sb_str(&text));
	pthread_mutex_lock(&rec->lock);
	if (rec->live.nslots > 0)
		for (e = rec->live.slots[h & (rec->live.nslots - 1)]; e != NULL;
		     e = e->next)
			if (e->hash == h && e->start == start &&
			    strcmp(e->row, sb_str(&text)) == 0 &&
			    strcmp(e->group, group) == 0) {
				e->count++;
				rec->live.msgs++;
				goto out;
			}
	if (rec->live.n + rec->npending >= rec->max_rows ||
	    (e = calloc(1, sizeof(*e))) == NULL) {
		rec->dropped++;
		goto out;
	}
	e->group = strdup(group);
	e->row = sb_steal(&text);
	if (e->group == NULL || e->row == NULL) {
		free(e->group);
		free(e->row);
		free(e);
		rec->dropped++;
		goto out;
	}
	e->hash = h;
	e->start = start;
	e->end = start + rec->period;
	e->count = 1;
	rr_grow(&rec->live);
	/* a busy server with many sources: write now rather than hold
	 * every distinct row of flush_ms in memory */
	if (rec->live.n + 1 == RR_FLUSH_ROWS)
		pthread_cond_signal(&rec->wake);
	if (rec->live.nslots == 0) { /* no memory for the first slots */
		free(e->group);
		free(e->row);
		free(e);
		rec->dropped++;
		goto out;
	}
	e->next = rec->live.slots[h & (rec->live.nslots - 1)];
	rec->live.slots[h & (rec->live.nslots - 1)] = e;
	rec->live.n++;
	rec->live.msgs++;
out:
	pthread_mutex_unlock(&rec->lock);
	sb_free(&text);
}

/* rr_take - move the live table to pending under a new batch id */
static void
rr_take(struct report_rec *rec)
{
	pthread_mutex_lock(&rec->lock);
	if (rec->live.n > 0) {
		rec->pending = rec->live;
		memset(&rec->live, 0, sizeof(rec->live));
		rec->npending = rec->pending.n;
		snprintf(rec->batch, sizeof(rec->batch), "%s-%llu",
			 rec->instance, (unsigned long long)++rec->seq);
	}
	pthread_mutex_unlock(&rec->lock);
}

/* rr_write - add the pending batch to the store; STORE_OK when nothing
 * is left pending */
static int
rr_write(struct report_rec *rec)
{
	struct store_rec *v;
	size_t n = 0, late = 0;
	int64_t msgs = rec->pending.msgs;
	int rc;

	if (rec->pending.n == 0)
		return STORE_OK;
	if ((v = calloc(rec->pending.n, sizeof(*v))) == NULL)
		return STORE_DOWN;
	for (size_t i = 0; i < rec->pending.nslots; i++)
		for (struct rr_entry *e = rec->pending.slots[i]; e != NULL;
		     e = e->next)
			v[n++] = (struct store_rec){e->group, e->start, e->end,
						    e->row, e->count};
	rc = store_add(rec->st, rec->batch, v, n, &late);
	free(v);
	if (rc == STORE_DOWN) {
		time_t now = time(NULL);

		if (rec->down_since == 0)
			rec->down_since = now;
		if (now - rec->down_logged >= 60) {
			rec->down_logged = now;
			rr_log(rec, LOG_ERR,
			       "state store %s: %s; holding report rows of "
			       "%lld messages in memory, retrying",
			       store_spec(rec->st), store_error(rec->st),
			       (long long)msgs);
		}
		return rc;
	}
	if (rc != STORE_OK)
		rr_log(rec, LOG_ERR,
		       "state store %s: %s; report rows of %lld messages "
		       "not recorded",
		       store_spec(rec->st), store_error(rec->st),
		       (long long)msgs);
	else if (rec->down_since != 0)
		rr_log(rec, LOG_NOTICE,
		       "state store %s: back after %lld s; report rows "
		       "written",
		       store_spec(rec->st),
		       (long long)(time(NULL) - rec->down_since));
	if (rc == STORE_OK)
		rec->down_since = rec->down_logged = 0;
	if (late > 0)
		rr_log(rec, LOG_WARNING,
		       "%zu report rows came after their period had been "
		       "reported: not recorded",
		       late);
	rr_table_free(&rec->pending);
	pthread_mutex_lock(&rec->lock);
	rec->npending = 0;
	pthread_mutex_unlock(&rec->lock);
	rec->batch[0] = '\0';
	return STORE_OK;
}

/* rr_flush - write the pending batch, then what came since */
static int
rr_flush(struct report_rec *rec)
{
	int rc;

	pthread_mutex_lock(&rec->flush_lock);
	rc = rr_write(rec);
	if (rc == STORE_OK) {
		rr_take(rec);
		rc = rr_write(rec);
	}
	pthread_mutex_unlock(&rec->flush_lock);
	return rc;
}

/* rr_log_dropped - once a minute: messages the full table refused */
static void
rr_log_dropped(struct report_rec *rec, bool force)
{
	int64_t dropped;
	time_t now = time(NULL);

	pthread_mutex_lock(&rec->lock);
	dropped = rec->dropped;
	if (dropped > 0 && (force || now - rec->dropped_logged >= 60)) {
		rec->dropped = 0;
		rec->dropped_logged = now;
	} else
		dropped = 0;
	pthread_mutex_unlock(&rec->lock);
	if (dropped > 0)
		rr_log(rec, LOG_WARNING,
		       "report rows: %zu distinct rows held (the most kept "
		       "while the store is away); %lld messages not recorded",
		       rec->max_rows, (long long)dropped);
}

/* rr_thread - the writer: a batch every flush_ms until told to stop */
static void *
rr_thread(void *arg)
{
	struct report_rec *rec = arg;

	for (;;) {
		struct timespec until;
		bool stop;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += rec->flush_ms / 1000;
		until.tv_nsec += (long)(rec->flush_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&rec->lock);
		/* woken early only for a stop or a live table this big */
		while (!rec->stop && rec->live.n < RR_FLUSH_ROWS &&
		       pthread_cond_timedwait(&rec->wake, &rec->lock,
					      &until) == 0)
			;
		stop = rec->stop;
		pthread_mutex_unlock(&rec->lock);
		if (stop)
			break;
		(void)rr_flush(rec);
		rr_log_dropped(rec, false);
	}
	return NULL;
}

/* report_rec_new - open the store, start the writer */
struct report_rec *
report_rec_new(const struct report_rec_opts *opts, char *err, size_t errlen)
{
	struct report_rec *rec = calloc(1, sizeof(*rec));

	if (rec == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&rec->lock, NULL);
	pthread_mutex_init(&rec->flush_lock, NULL);
	pthread_cond_init(&rec->wake, NULL);
	rec->period = opts->period > 0 ? opts->period : 86400;
	rec->flush_ms = opts->flush_ms > 0 ? opts->flush_ms : 5000;
	rec->max_rows = opts->max_rows > 0 ? opts->max_rows : 100000;
	rec->log = opts->log;
	rec->instance = strdup(opts->instance != NULL ? opts->instance : "");
	rec->st = store_open(opts->store, err, errlen);
	if (rec->instance == NULL || rec->st == NULL) {
		if (rec->st == NULL && err[0] == '\0')
			snprintf(err, errlen, "StateStore none: nothing to "
					      "record into");
		report_rec_stop(rec, 0);
		return NULL;
	}
	if ((errno = pthread_create(&rec->thread, NULL, rr_thread, rec)) !=
	    0) {
		snprintf(err, errlen, "no writer thread: %s", strerror(errno));
		report_rec_stop(rec, 0);
		return NULL;
	}
	rec->started = true;
	return rec;
}

/* report_rec_flush - write now */
int
report_rec_flush(struct report_rec *rec)
{
	return rr_flush(rec) == STORE_OK ? 0 : -1;
}

/* report_rec_stop - stop, write what is held, free */
void
report_rec_stop(struct report_rec *rec, unsigned wait_ms)
{
	struct timespec start, now;
	int64_t held;

	if (rec == NULL)
		return;
	if (rec->started) {
		pthread_mutex_lock(&rec->lock);
		rec->stop = true;
		pthread_cond_signal(&rec->wake);
		pthread_mutex_unlock(&rec->lock);
		pthread_join(rec->thread, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (rec->st != NULL && rr_flush(rec) != STORE_OK) {
		struct timespec nap = {0, 200 * 1000000L};

		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 +
			(now.tv_nsec - start.tv_nsec) / 1000000 >=
		    (long)wait_ms)
			break;
		nanosleep(&nap, NULL);
	}
	rr_log_dropped(rec, true);
	held = rec->pending.msgs + rec->live.msgs;
	if (held > 0)
		rr_log(rec, LOG_ERR,
		       "state store %s: still away at stop; report rows of "
		       "%lld messages not recorded",
		       rec->st != NULL ? store_spec(rec->st) : "(none)",
		       (long long)held);
	rr_table_free(&rec->live);
	rr_table_free(&rec->pending);
	store_close(rec->st);
	free(rec->instance);
	pthread_cond_destroy(&rec->wake);
	pthread_mutex_destroy(&rec->flush_lock);
	pthread_mutex_destroy(&rec->lock);
	free(rec);
}
