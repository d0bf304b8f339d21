/*
 * milter.h - the pieces of the authtag daemon and how they meet
 *
 * The daemon is split by job: authtag.c (main: options, start-up order,
 * the signal loop, reload and shutdown), daemon.c (process plumbing:
 * detaching, PID file, unix socket files, privileges), shared.c (the
 * current engine, reference counted, and the count of open messages),
 * proto.c, server.c and session.c (the milter protocol, and the server
 * that speaks it: proto.h, server.h), callbacks.c (the protocol steps that feed
 * lib/engine and apply its edits), summary.c (the one log line per message) and log.c
 * (syslog and stderr). Nothing here knows how a check works: that is
 * lib/engine.h.
 */
#ifndef AUTHTAG_MILTER_H
#define AUTHTAG_MILTER_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "engine.h"
#include "result.h"

struct config;
struct engine;
struct score_outcome;
struct mserver_ops;

/* ---- log.c -------------------------------------------------------- */

/* mlog_init - name the program; with to_stderr, copy every line there */
void mlog_init(const char *ident, bool to_stderr);

/* mlog_syslog - log to syslog with facility (a config name), or stop */
void mlog_syslog(bool on, const char *facility);

/* mlog - one line at a syslog priority (LOG_INFO, LOG_WARNING, ...) */
void mlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* mlog_close - close syslog at exit */
void mlog_close(void);
/* the socket syslog(3) writes to */
#define MLOG_SYSLOG_PATH "/dev/log"
/* mlog_syslog_reachable - does a syslog daemon listen there? */
bool mlog_syslog_reachable(void);

/* ---- shared.c ----------------------------------------------------- */

/* one loaded configuration and the engine built from it */
struct milter_engine {
	struct config *cfg;
	struct engine *eng;
	unsigned refs; /* the daemon's own + one per connection using it */
	unsigned generation; /* 1 at start, +1 per reload */
};

/* what every worker thread shares; all fields under lock */
struct milter_shared {
	pthread_mutex_t lock;
	pthread_cond_t changed;        /* signalled when nmsgs or nconns drop */
	struct milter_engine *current; /* what new connections get */
	unsigned nconns;               /* connections holding an engine */
	unsigned nmsgs;                /* messages between MAIL and end */
	unsigned long conn_seq;        /* connection numbers for logs */
	struct milter_metrics *metrics; /* metrics.c; counted always */
};

/* milter_shared_init - start with cfg/eng (taken over); 0 or -1 */
int milter_shared_init(struct milter_shared *sh, struct config *cfg,
		       struct engine *eng);

/* milter_shared_acquire - the current engine for a new connection */
struct milter_engine *milter_shared_acquire(struct milter_shared *sh,
					    unsigned long *seq);

/* milter_shared_release - a connection is done with its engine */
void milter_shared_release(struct milter_shared *sh, struct milter_engine *me);

/* milter_shared_replace - new connections get cfg/eng (taken over) */
unsigned milter_shared_replace(struct milter_shared *sh, struct config *cfg,
			       struct engine *eng);

/* milter_shared_describe - generation and AuthservID of the current
 * engine, copied under the lock, for logs */
void milter_shared_describe(struct milter_shared *sh, unsigned *generation,
			    char *authserv_id, size_t len);

/* milter_shared_msg_begin - a message started (MAIL FROM) */
void milter_shared_msg_begin(struct milter_shared *sh);

/* milter_shared_msg_end - a message ended (end, abort, or close) */
void milter_shared_msg_end(struct milter_shared *sh);

/* milter_shared_drain - wait until no message is open, or seconds pass;
 * returns the number of messages still open */
unsigned milter_shared_drain(struct milter_shared *sh, unsigned seconds);

/* milter_shared_destroy - drop the daemon's reference; frees what no
 * connection holds any more */
void milter_shared_destroy(struct milter_shared *sh);

/* ---- callbacks.c -------------------------------------------------- */

/* the steps server.c calls; the server's argument is the
 * struct milter_shared */
extern const struct mserver_ops milter_callbacks;

/* ---- metrics.c ---------------------------------------------------- */

struct milter_metrics;
struct auth_results;

/* milter_metrics_new - the counters, and the /metrics endpoint on spec
 * (MetricsSocket inet:PORT@ADDR; NULL: counters only); NULL + err */
struct milter_metrics *milter_metrics_new(struct milter_shared *sh,
					  const char *spec, char *err,
					  size_t errlen);

/* milter_metrics_free - stop the endpoint, free */
void milter_metrics_free(struct milter_metrics *mm);

/* milter_metrics_message - count one finished message */
void milter_metrics_message(struct milter_metrics *mm,
			    const struct auth_results *res, const char *action,
			    bool signed_msg, unsigned forged, bool scored,
			    bool spam, bool scorer_error, double seconds);

/* ---- summary.c ---------------------------------------------------- */

/* what the milter knows about one message besides the engine results */
struct milter_msg_info {
	const char *queue_id;    /* {i}, or "" */
	const char *client_ip;   /* "" when unknown */
	const char *mail_domain; /* MAIL FROM domain, "" for <> */
	const char *from_domain; /* From: domain or a (reason) */
	unsigned nrcpts;
	bool local;         /* sendmail(1) / non_smtpd_milters submission */
	bool trusted;       /* TrustedNetworks or SMTP AUTH */
	const char *action; /* "tagged", "rejected", "quarantined", ... */
	const char *sign;   /* engine_msg_sign_log: "" when not signing */
	const char *seal;   /* engine_msg_arc_log: "" when not sealing */
	bool scored;               /* false: the fields below are unset */
	struct engine_score_log score;
	bool log_why; /* LogWhy: a second line with each non-pass reason */
};

/* milter_summary - log the one line for a finished message */
void milter_summary(const struct milter_msg_info *info,
		    const struct auth_results *res);

/* milter_sanitize - copy src into dst keeping only characters that are
 * safe in a log line or SMTP reply ('?' for the rest) */
void milter_sanitize(char *dst, size_t len, const char *src);

/* ---- signals.c ---------------------------------------------------- */

/* what main() is told, one byte each */
#define MSIG_RELOAD 'H' /* SIGHUP or SIGUSR1 */
#define MSIG_TERM   'T' /* SIGTERM */
#define MSIG_INT    'I' /* SIGINT */


struct msig {
	int rfd, wfd; /* the pipe main reads */
	pthread_t usr1;
	bool usr1_started;
};

/* msig_block - block the daemon's signals; call before any thread */
void msig_block(void);

/* msig_open - the pipe; 0 or -1 */
int msig_open(struct msig *ms);

/* msig_start - after the other threads exist: handlers in the calling
 * (main) thread, a SIGUSR1 thread; 0 or -1 */
int msig_start(struct msig *ms);

/* msig_post - tell main something (from any thread) */
void msig_post(struct msig *ms, char what);

/* msig_next - wait for the next MSIG_ event */
char msig_next(struct msig *ms);

/* msig_close - stop the SIGUSR1 thread, close the pipe */
void msig_close(struct msig *ms);

/* ---- daemon.c ----------------------------------------------------- */

/* the pipe a detached child uses to tell its parent it is ready */
struct daemon_ready {
	int fd; /* write end in the child; -1 in the foreground */
};

/* daemon_detach - fork; the parent waits for daemon_ready_ok/fail and
 * exits with the child's status. Returns 0 in the child, -1 on error */
int daemon_detach(struct daemon_ready *ready, char *err, size_t errlen);

/* daemon_ready_ok - tell the waiting parent that start-up worked */
void daemon_ready_ok(struct daemon_ready *ready);

/* daemon_ready_fail - tell the waiting parent why start-up failed */
void daemon_ready_fail(struct daemon_ready *ready, int status, const char *why);

/* daemon_socket_path - the file of a unix:/local: socket spec, or NULL */
const char *daemon_socket_path(const char *spec);

/* daemon_socket_prepare - remove a stale unix socket; -1 if one is live */
int daemon_socket_prepare(const char *spec, char *err, size_t errlen);


/* daemon_drop_privileges - become uid/gid (chowning the socket first) */
int daemon_drop_privileges(const char *spec, const char *socket_spec, char *err,
			   size_t errlen);

/* daemon_pidfile_write - write our PID to path; 0 or -1 */
int daemon_pidfile_write(const char *path, char *err, size_t errlen);

/* daemon_stdio_null - stdin, stdout (and stderr unless kept) to /dev/null */
void daemon_stdio_null(bool keep_stderr);

#endif
