/*
 * report_rec.h - recording report rows without touching the message path
 *
 * report_rec.c owns the recorder: an in-memory aggregate (row text ->
 * count, per policy domain and period) that the message path adds to
 * under one short lock, and a writer thread that adds it to the state
 * store every few seconds as one batch. A store that is down, slow or
 * full costs no message: the batch is kept (same id, same rows, so a
 * retry after a lost reply counts nothing twice) and retried, new rows
 * keep aggregating, and the failure is logged once a minute. The
 * memory is bounded: past max_rows distinct rows, a message whose row
 * is new is not recorded (counted, logged once a minute); a row already
 * held still counts. report_rec_stop() writes what it holds before it
 * returns (SIGTERM).
 */
#ifndef AUTHTAG_REPORT_REC_H
#define AUTHTAG_REPORT_REC_H

#include <stddef.h>
#include <stdint.h>

struct report_rec;
struct report_row;

/* the daemon's log, for the writer thread: priority as syslog's */
typedef void (*report_log_fn)(int priority, const char *text);

struct report_rec_opts {
	const char *store;     /* StateStore spec (not "none") */
	unsigned period;       /* seconds per bucket, 86400: the UTC day */
	unsigned flush_ms;     /* how often the writer adds a batch */
	size_t max_rows;       /* distinct rows held in memory at most */
	const char *instance;  /* unique per process: batch ids start with
				  it (host name, pid, start time) */
	report_log_fn log;
};

/*
 * report_rec_new - open the store and start the writer thread
 *
 * NULL with a reason in err when the spec is wrong or no thread could
 * start; a store that is merely down is not an error (it is retried).
 */
struct report_rec *report_rec_new(const struct report_rec_opts *opts,
				  char *err, size_t errlen);

/*
 * report_rec_add - count one message's row (policy domain = the group)
 * at time now; never blocks on the store
 */
void report_rec_add(struct report_rec *rec, const struct report_row *row,
		    int64_t now);

/*
 * report_rec_stop - stop the writer, write what is held (trying for up
 * to wait_ms while the store is down), log what could not be written,
 * and free everything. NULL is a no-op.
 */
void report_rec_stop(struct report_rec *rec, unsigned wait_ms);

/* report_rec_flush - write now (tests, SIGUSR2); 0 when all written */
int report_rec_flush(struct report_rec *rec);

#endif
