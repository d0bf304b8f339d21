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

/* one header edit; index is 1-based among headers of that name */
struct header_edit {
	char *name;
	char *value; /* NULL for a removal */
	unsigned index;
};

struct engine_edits {
	struct header_edit *insert; /* insert at the top, in this order */
	size_t ninsert;
	struct header_edit *remove; /* remove: name + index, highest first */
	size_t nremove;
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
 * the A-R header; fills edits (free with engine_edits_free).
 *
 * Returns 0, or -1 when memory ran out: edits may then still hold the
 * removals of forged headers, which the caller must apply all the same.
 */
int engine_msg_eom(struct engine_msg *msg, struct engine_edits *edits);

/* engine_msg_results - the results (valid after engine_msg_eom) */
const struct auth_results *engine_msg_results(const struct engine_msg *msg);

struct score_outcome;

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

#endif
