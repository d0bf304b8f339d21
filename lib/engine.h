/*
 * engine.h - the one door into authtag's checks
 *
 * engine.c takes the events of an SMTP connection and its messages
 * (connect, HELO, AUTH, MAIL, RCPT, each header, body chunks, end of
 * message) and returns the results and the header edits to make. The
 * milter and authtag-check are thin adapters over it, so they cannot
 * disagree.
 *
 * Ownership: struct engine (one per loaded configuration) owns the
 * resolver, the DKIM library and the DMARC state and may be shared by all
 * threads; an engine_conn belongs to one connection, an engine_msg to one
 * message (one thread at a time each). Every call is safe after an
 * earlier error: the worst outcome is a message tagged with what is known.
 */
#ifndef AUTHTAG_ENGINE_H
#define AUTHTAG_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

struct config;
struct engine;
struct engine_conn;
struct engine_msg;

/* one header to insert at the top */
struct header_edit {
	char *name;
	char *value;
	unsigned index; /* always 1: the very top */
};

/* one header to remove: the index is 1-based among the headers of that
 * name (case-insensitive), as smfi_chgheader counts them; the name is
 * borrowed from the message and valid until engine_msg_free */
struct header_removal {
	const char *name;
	unsigned index;
};

/* what the MTA is to do with the message; the engine decides, the
 * programs only apply it */
enum engine_action_kind {
	ENGINE_ACCEPT = 0, /* deliver, with the edits */
	ENGINE_REJECT,     /* 5xx: RejectFailures and a DMARC p=reject fail */
	ENGINE_QUARANTINE, /* hold: RejectFailures and p=quarantine */
	ENGINE_TEMPFAIL,   /* 4xx: the forged headers could not be removed,
			      or DMARCTempError tempfail and dmarc=temperror */
};

struct engine_action {
	enum engine_action_kind kind;
	char code[4];   /* SMTP reply code, "550" or "451"; "" to accept */
	char xcode[8];  /* RFC 3463 enhanced status code, "5.7.1" */
	char text[320]; /* reply text, or the quarantine reason */
};

#define ENGINE_HEADER_MAX 32768 /* longest header we insert, name included */

struct engine_edits {
	struct header_edit *insert; /* insert at the top, in this order */
	size_t ninsert;
	/* remove, in this order: per name the highest index first */
	struct header_removal *remove;
	size_t nremove;
	struct engine_action action;
	size_t cut_from; /* our A-R was cut at a ';' from this length; 0 */
	size_t cut_index; /* which insert was cut */
	bool incomplete; /* memory ran out: results missing, not tagged */
};

/*
 * engine_new - an engine for cfg (cfg must outlive it)
 *
 * Creates the resolver (call from one thread at a time). NULL + err.
 */
struct engine *engine_new(const struct config *cfg, char *err, size_t errlen);

/* engine_free - free an engine once no connection uses it */
void engine_free(struct engine *eng);

/* engine_config - the configuration this engine was made with */
const struct config *engine_config(const struct engine *eng);

/*
 * engine_conn_new - a connection from client_ip (textual IPv4/IPv6)
 *
 * NULL or "" means the client address is unknown: SPF is not evaluated,
 * DKIM and DMARC are. Local submission comes from 127.0.0.1, which the
 * default TrustedNetworks trusts.
 */
struct engine_conn *engine_conn_new(struct engine *eng, const char *client_ip);

/* engine_conn_client_name - the client's host name as the MTA knows it
 * (for InternalHosts, PeerList and ExternalIgnoreList name entries) */
void engine_conn_client_name(struct engine_conn *conn, const char *name);

/* engine_conn_is_peer - is the client in PeerList: its mail passes
 * untouched, neither checked nor signed? */
bool engine_conn_is_peer(const struct engine_conn *conn);

/* engine_conn_helo - the HELO/EHLO argument */
void engine_conn_helo(struct engine_conn *conn, const char *helo);

/* engine_conn_auth - the SMTP AUTH user name ({auth_authen}) */
void engine_conn_auth(struct engine_conn *conn, const char *user);

/* engine_conn_is_trusted - is the client trusted or authenticated? */
bool engine_conn_is_trusted(const struct engine_conn *conn);

/* engine_conn_free - end of connection */
void engine_conn_free(struct engine_conn *conn);

/* engine_msg_new - a new message on conn; NULL on no memory */
struct engine_msg *engine_msg_new(struct engine_conn *conn);

/*
 * engine_msg_mailfrom - envelope sender, with or without <>; "" or "<>"
 * is the null sender. SPF is evaluated here.
 */
void engine_msg_mailfrom(struct engine_msg *msg, const char *addr);

/* engine_msg_rcpt - one envelope recipient */
void engine_msg_rcpt(struct engine_msg *msg, const char *addr);

/*
 * engine_msg_header - one header field: name without the colon, value
 * everything after the colon as received (folding kept)
 */
void engine_msg_header(struct engine_msg *msg, const char *name,
		       const char *value);

/* engine_msg_eoh - end of headers */
void engine_msg_eoh(struct engine_msg *msg);

/* engine_msg_body - a body chunk */
void engine_msg_body(struct engine_msg *msg, const unsigned char *data,
		     size_t len);

/*
 * engine_msg_eom - end of message: finish DKIM, evaluate DMARC, format
 * the A-R header, decide the action; fills edits (free with
 * engine_edits_free; the removals borrow from msg, so free edits first).
 *
 * Every outcome fills edits and the caller applies all of them, removals
 * and action included: when memory runs out, the results we could not
 * compute are not written (edits->incomplete), but forged headers still
 * go; when even the removals cannot be listed, the action is a 451
 * tempfail, so a forged claim never reaches a mailbox. Returns 0, or -1
 * when edits->incomplete or the action is that tempfail.
 */
int engine_msg_eom(struct engine_msg *msg, struct engine_edits *edits);

/*
 * engine_tempfail - fill edits with only a 451 tempfail: for a program
 * that holds no engine_msg for the message (it could not make one)
 */
void engine_tempfail(struct engine_edits *edits, const char *why);

/* engine_action_name - "accept", "reject", "quarantine" or "tempfail" */
const char *engine_action_name(enum engine_action_kind kind);

/* engine_msg_lost - the caller lost part of the message (memory): the
 * results would be wrong, so the message is not tagged; forged headers
 * are still removed */
void engine_msg_lost(struct engine_msg *msg);

/* engine_msg_local - the message is local submission (sendmail(1)):
 * it is never rejected or quarantined */
void engine_msg_local(struct engine_msg *msg);

/* engine_msg_queue_id - the MTA's queue id, before engine_msg_eom (a
 * held message's record and the quota alert name it) */
void engine_msg_queue_id(struct engine_msg *msg, const char *qid);

/*
 * engine_msg_outbound_log - after engine_msg_eom: "" or the text of a
 * log line about the outbound quota (counted, held with the reason, not
 * counted and why, the alert) and the pairs learned; *warn when it is a
 * warning (held, or the store could not count)
 */
const char *engine_msg_outbound_log(struct engine_msg *msg, bool *warn);

/* engine_msg_from_domain - the From domain, or "(why not)", for logs */
const char *engine_msg_from_domain(struct engine_msg *msg);

/* engine_msg_mail_domain - the MAIL FROM domain ("" for none), for logs */
const char *engine_msg_mail_domain(const struct engine_msg *msg);

/* engine_msg_sign_log - for the log line after engine_msg_eom:
 * "example.com:sel" for each signature made, "no(why)" when signing was
 * wanted but not done (or an outside client used one of our signing
 * domains), "" when signing did not apply */
const char *engine_msg_sign_log(const struct engine_msg *msg);

/* engine_msg_arc_log - for the log line: "i=N cv=X" when we sealed the
 * message (ARCSign), "no(why)" when it was ours to seal but we did not,
 * "" otherwise */
const char *engine_msg_arc_log(const struct engine_msg *msg);

/* engine_warnings - "" or lines (each ending in '\n') about settings the
 * configuration loaded with but should not have, for the log */
const char *engine_warnings(const struct engine *eng);

/*
 * engine_check_keys - `authtag -n`: look up each signing selector's key
 * record and report, one line each through report, whether it is the
 * public half of our private key; returns how many are not
 */
int engine_check_keys(struct engine *eng,
		      void (*report)(void *arg, bool ok, const char *line),
		      void *arg);

/* engine_msg_results - the results (valid after engine_msg_eom) */
const struct auth_results *engine_msg_results(const struct engine_msg *msg);

struct score_outcome;

/* the scoring outcome as a log line shows it */
struct engine_score_log {
	double score;
	double required;
	const char *problems; /* "" when every scorer answered */
};

/* engine_msg_score_log - fill out; false when the message was not scored */
bool engine_msg_score_log(const struct engine_msg *msg,
			  struct engine_score_log *out);

/*
 * engine_msg_score_outcome - the scoring stage's outcome (score, rules,
 * problems for the log), valid after engine_msg_eom; NULL when the
 * message was not scored (trusted source, or no scorer answered)
 */
const struct score_outcome *
engine_msg_score_outcome(const struct engine_msg *msg);

/* engine_msg_free - free one message's state */
void engine_msg_free(struct engine_msg *msg);

/* engine_edits_free - free what engine_msg_eom put in edits */
void engine_edits_free(struct engine_edits *edits);

/*
 * engine_set_recorder - record DMARC report rows into rec (the daemon's
 * recorder, lib/report/report_rec.h; not owned, must outlive eng)
 */
struct report_rec;
void engine_set_recorder(struct engine *eng, struct report_rec *rec);

/*
 * engine_msg_report_row - after engine_msg_eom: the RFC 9990 row this
 * message gives to its policy domain's report; false when the message is
 * not recorded (no rua=, none/temperror/permerror, trusted,
 * authenticated or local mail, a 4xx)
 */
struct report_row;
bool engine_msg_report_row(const struct engine_msg *msg,
			   const struct engine_edits *edits,
			   struct report_row *row);

/* the daemon's log, for threads of the engine's own (the recorder) */
typedef void (*engine_log_fn)(int priority, const char *text);

/*
 * engine_recorder_new - the recorder of DMARC report rows for cfg's
 * StateStore, with its writer thread; one per daemon, handed to each
 * engine with engine_set_recorder. NULL with err "" for StateStore none,
 * NULL with a reason on a bad spec. A store that is down is no error.
 */
struct report_rec *engine_recorder_new(const struct config *cfg,
				       engine_log_fn log, char *err,
				       size_t errlen);

/* engine_recorder_free - write what it holds (waiting up to wait_ms for
 * a store that is away), then free it; after every engine using it */
void engine_recorder_free(struct report_rec *rec, unsigned wait_ms);

/* engine_store_probe - can cfg's StateStore be used now (authtag -n)?
 * 0, or -1 with why */
int engine_store_probe(const struct config *cfg, char *why, size_t whylen);

/*
 * engine_msg_explain - explain mode for this message (authtag-check
 * --explain): call right after engine_msg_new; 0, or -1 (no memory)
 */
int engine_msg_explain(struct engine_msg *msg);

/* engine_msg_explanation - after engine_msg_eom: how each result was
 * reached, "section: text" lines; "" without explain mode */
const char *engine_msg_explanation(const struct engine_msg *msg);

/* engine_dns_stats - DNS counters of this engine's resolver since it
 * was built (a reload starts them again): queries sent, answers from the
 * answer store, time-outs */
void engine_dns_stats(struct engine *eng, unsigned long *sent,
		      unsigned long *store_hits, unsigned long *timeouts);

#endif
