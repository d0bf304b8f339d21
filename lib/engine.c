/*
 * engine.c - the one door into authtag's checks
 *
 * Owns the order of work for a connection and its messages: SPF when the
 * envelope sender is known, DKIM fed as headers and body chunks arrive,
 * DMARC and the Authentication-Results header at end of message, and the
 * list of forged A-R headers (those that claim our authserv-id) and of
 * incoming X-Spam-* headers to remove. It decides everything about the
 * message: the edits and the action (accept, reject, quarantine,
 * tempfail; built in engine_edits.c); the milter and authtag-check only
 * apply them.
 *
 * Per-message memory is bounded: headers are kept (for From, for forged
 * A-R detection and for the scoring stage) only up to ENGINE_HEADER_BYTES;
 * the body is streamed into the DKIM hashes and kept only up to what the
 * scorers read (body_limit).
 *
 * The error path is part of the contract: a forged header is counted
 * without allocating, so it is removed whatever else failed; results we
 * could not compute are not written; and when even the removals cannot
 * be listed, the message is tempfailed rather than passed on.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "config.h"
#include "auth/arc.h"
#include "auth/dkim.h"
#include "auth/dkim_signtab.h"
#include "auth/dmarc.h"
#include "dns/dns.h"
#include "engine.h"
#include "engine_int.h"
#include "hostlist.h"
#include "auth/spf.h"
#include "mailaddr.h"
#include "score/score.h"
#include "strbuf.h"
#include "trace.h"

/* engine_new - an engine for cfg */
struct engine *
engine_new(const struct config *cfg, char *err, size_t errlen)
{
	struct engine *eng = calloc(1, sizeof(*eng));

	if (eng == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	eng->cfg = cfg;
	/* glibc reads the time zone file on first use, even for gmtime_r,
	 * and crashes there if an allocation fails: load it now, not in the
	 * middle of a message */
	tzset();
	if ((eng->dns = dns_resolver_new(cfg, err, errlen)) == NULL ||
	    (eng->dkim = dkim_verifier_new(cfg, err, errlen)) == NULL ||
	    (eng->dmarc = dmarc_ctx_new(cfg, err, errlen)) == NULL ||
	    (eng->score = score_stage_new(cfg, err, errlen)) == NULL ||
	    (eng->signtab = dkim_signtab_new(cfg, err, errlen)) == NULL ||
	    (eng->arc = arc_verifier_new(cfg, err, errlen)) == NULL ||
	    engine_arc_new(eng, err, errlen) != 0 ||
	    engine_outbound_new(eng, err, errlen) != 0) {
		engine_free(eng);
		return NULL;
	}
	eng->body_limit = score_stage_body_limit(eng->score);
	return eng;
}

/* engine_free - free an engine once no connection uses it */
void
engine_free(struct engine *eng)
{
	if (eng == NULL)
		return;
	engine_outbound_free(eng);
	engine_arc_free(eng);
	arc_verifier_free(eng->arc);
	dkim_signtab_free(eng->signtab);
	score_stage_free(eng->score);
	dmarc_ctx_free(eng->dmarc);
	dkim_verifier_free(eng->dkim);
	dns_resolver_free(eng->dns);
	free(eng);
}

/* engine_dns_stats - DNS counters for metrics */
void
engine_dns_stats(struct engine *eng, unsigned long *sent,
		 unsigned long *store_hits, unsigned long *timeouts)
{
	struct dns_stats st;

	dns_resolver_stats(eng->dns, &st);
	*sent = st.sent;
	*store_hits = st.store_hits;
	*timeouts = st.timeouts;
}

/* engine_config - the configuration this engine was made with */
const struct config *
engine_config(const struct engine *eng)
{
	return eng->cfg;
}

/* engine_strdup - strdup that accepts NULL */
static char *
engine_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* engine_conn_new - a connection from client_ip (NULL: unknown) */
struct engine_conn *
engine_conn_new(struct engine *eng, const char *client_ip)
{
	struct engine_conn *conn = calloc(1, sizeof(*conn));

	if (conn == NULL)
		return NULL;
	conn->eng = eng;
	/* Sendmail writes IPv6 clients as "IPv6:addr" */
	if (client_ip != NULL && strncasecmp(client_ip, "IPv6:", 5) == 0)
		client_ip += 5;
	if (client_ip != NULL && *client_ip != '\0') {
		if ((conn->client_ip = strdup(client_ip)) == NULL) {
			free(conn);
			return NULL;
		}
		conn->trusted = config_is_trusted(eng->cfg, client_ip);
	}
	return conn;
}

/* engine_conn_client_name - the client's host name as the MTA knows it */
void
engine_conn_client_name(struct engine_conn *conn, const char *name)
{
	if (conn == NULL)
		return;
	free(conn->client_name);
	conn->client_name = name != NULL && *name ? strdup(name) : NULL;
}

/* engine_conn_is_peer - is the client in PeerList? */
bool
engine_conn_is_peer(const struct engine_conn *conn)
{
	return conn != NULL && conn->client_ip != NULL &&
	       hostlist_match(conn->eng->cfg->peer_list, conn->client_ip,
			      conn->client_name);
}

/* engine_conn_helo - the HELO/EHLO argument */
void
engine_conn_helo(struct engine_conn *conn, const char *helo)
{
	if (conn == NULL)
		return;
	free(conn->helo);
	conn->helo = engine_strdup(helo);
}

/* engine_conn_auth - the SMTP AUTH user name */
void
engine_conn_auth(struct engine_conn *conn, const char *user)
{
	if (conn == NULL)
		return;
	free(conn->auth_user);
	conn->auth_user = user != NULL && *user ? strdup(user) : NULL;
}

/* engine_conn_is_trusted - trusted network or authenticated? */
bool
engine_conn_is_trusted(const struct engine_conn *conn)
{
	return conn != NULL && (conn->trusted || conn->auth_user != NULL);
}

/* engine_conn_free - end of connection */
void
engine_conn_free(struct engine_conn *conn)
{
	if (conn == NULL)
		return;
	free(conn->client_ip);
	free(conn->client_name);
	free(conn->helo);
	free(conn->auth_user);
	free(conn);
}

/* engine_msg_new - a new message on conn */
struct engine_msg *
engine_msg_new(struct engine_conn *conn)
{
	struct engine_msg *msg;

	if (conn == NULL || (msg = calloc(1, sizeof(*msg))) == NULL)
		return NULL;
	msg->conn = conn;
	if ((msg->dns = dns_cache_new(conn->eng->dns)) == NULL ||
	    (msg->dkim = dkim_msg_new(conn->eng->dkim, msg->dns)) == NULL ||
	    (msg->arc = arc_msg_new(conn->eng->arc, msg->dns)) == NULL) {
		engine_msg_free(msg);
		return NULL;
	}
	return msg;
}

/* engine_msg_mailfrom - envelope sender; SPF is evaluated here */
void
engine_msg_mailfrom(struct engine_msg *msg, const char *addr)
{
	const struct config *cfg;
	struct engine_conn *conn;
	struct spf_request req;

	if (msg == NULL || addr == NULL || msg->mail_from != NULL)
		return;
	conn = msg->conn;
	cfg = conn->eng->cfg;
	if ((msg->mail_from = mailaddr_envelope_strip(addr)) == NULL) {
		msg->out_of_memory = true;
		return;
	}
	mailaddr_envelope_domain(addr, msg->mail_domain,
				 sizeof(msg->mail_domain));
	if (engine_conn_is_trusted(conn) || conn->client_ip == NULL)
		return;
	req = (struct spf_request){
	    .client_ip = conn->client_ip,
	    .helo = conn->helo,
	    .mail_from = msg->mail_from,
	    .receiver = cfg->authserv_id,
	    .trace = msg->trace,
	};
	trace_section(msg->trace, "spf");
	dns_cache_set_deadline(msg->dns, ENGINE_PHASE_DNS_MS);
	spf_check_mailfrom(msg->dns, &req, &msg->results.spf_mailfrom);
	if (cfg->spf_check_helo && conn->helo != NULL && *conn->helo)
		spf_check_helo(msg->dns, &req, &msg->results.spf_helo);
}

/* engine_msg_rcpt - one envelope recipient */
void
engine_msg_rcpt(struct engine_msg *msg, const char *addr)
{
	char *copy;

	if (msg == NULL || addr == NULL)
		return;
	if ((copy = mailaddr_envelope_strip(addr)) == NULL ||
	    engine_grow(&msg->rcpts, &msg->rcpts_cap, msg->nrcpts,
			sizeof(*msg->rcpts)) != 0) {
		free(copy);
		msg->out_of_memory = true; /* user_prefs need every one */
		return;
	}
	msg->rcpts[msg->nrcpts++] = copy;
}

/* engine_msg_note_spam - count one incoming X-Spam-* field by name */
static void
engine_msg_note_spam(struct engine_msg *msg, const char *name)
{
	for (size_t i = 0; i < msg->nspam; i++)
		if (strcasecmp(msg->spam[i].name, name) == 0) {
			msg->spam[i].count++;
			return;
		}
	if (engine_grow(&msg->spam, &msg->spam_cap, msg->nspam,
			sizeof(*msg->spam)) != 0 ||
	    (msg->spam[msg->nspam].name = strdup(name)) == NULL) {
		msg->spam_lost = true;
		return;
	}
	msg->spam[msg->nspam++].count = 1;
}

/* engine_msg_note - the bookkeeping done on every header, kept or not */
static void
engine_msg_note(struct engine_msg *msg, const char *name, const char *value)
{
	if (strcasecmp(name, "Authentication-Results") == 0) {
		msg->ar_count++;
		if (!ar_is_ours(value, msg->conn->eng->cfg->authserv_id))
			return;
		/* the count above needs no memory: if the index cannot be
		 * kept, every A-R header goes (see engine_msg_removals) */
		if (engine_grow(&msg->forged, &msg->forged_cap, msg->nforged,
				sizeof(*msg->forged)) != 0) {
			msg->forged_lost = true;
			return;
		}
		msg->forged[msg->nforged++] = msg->ar_count;
	} else if (strcasecmp(name, "ARC-Authentication-Results") == 0) {
		msg->aar_count++;
		if (!ar_arc_is_ours(value, msg->conn->eng->cfg->authserv_id))
			return;
		if (engine_grow(&msg->aar_forged, &msg->aar_forged_cap,
				msg->naar_forged,
				sizeof(*msg->aar_forged)) != 0) {
			msg->aar_lost = true;
			return;
		}
		msg->aar_forged[msg->naar_forged++] = msg->aar_count;
	} else if (strncasecmp(name, "ARC-", 4) == 0) {
		msg->arc_seen = true;
	} else if (strcasecmp(name, "From") == 0) {
		if (msg->from_count < ENGINE_FROM_KEEP &&
		    (msg->from[msg->from_count] = strdup(value)) == NULL)
			msg->out_of_memory = true;
		msg->from_count++;
	} else if (score_header_is_spam(name)) {
		engine_msg_note_spam(msg, name);
	}
}

/* engine_msg_header - one header field as received */
void
engine_msg_header(struct engine_msg *msg, const char *name, const char *value)
{
	size_t size;
	char *n, *v;

	if (msg == NULL || name == NULL || value == NULL)
		return;
	dkim_msg_header(msg->dkim, name, value);
	engine_msg_note(msg, name, value);
	size = strlen(name) + strlen(value) + 2;
	if (msg->headers_truncated || msg->nheaders >= ENGINE_MAX_HEADERS ||
	    msg->header_bytes + size > ENGINE_HEADER_BYTES) {
		msg->headers_truncated = true;
		return;
	}
	n = strdup(name);
	v = strdup(value);
	if (n == NULL || v == NULL ||
	    engine_grow(&msg->headers, &msg->headers_cap, msg->nheaders,
			sizeof(*msg->headers)) != 0) {
		free(n);
		free(v);
		/* the scorers would see a different message */
		msg->headers_truncated = true;
		msg->out_of_memory = true;
		return;
	}
	msg->headers[msg->nheaders].name = n;
	msg->headers[msg->nheaders].value = v;
	msg->nheaders++;
	msg->header_bytes += size;
}

/* engine_msg_eoh - end of headers */
void
engine_msg_eoh(struct engine_msg *msg)
{
	if (msg == NULL)
		return;
	dns_cache_set_deadline(msg->dns, ENGINE_PHASE_DNS_MS);
	trace_section(msg->trace, "dkim"); /* the key queries start here */
	dkim_msg_eoh(msg->dkim);
	engine_arc_eoh(msg);
	engine_sign_eoh(msg);
}

/* engine_msg_body - a body chunk */
void
engine_msg_body(struct engine_msg *msg, const unsigned char *data, size_t len)
{
	size_t room, take;

	if (msg == NULL || data == NULL || len == 0)
		return;
	dkim_msg_body(msg->dkim, data, len);
	engine_arc_body(msg, data, len);
	engine_sign_body(msg, data, len);
	/* the scorers see the first body_limit bytes, never the whole body */
	room = msg->conn->eng->body_limit - msg->body.len;
	take = len < room ? len : room;
	if (take < len)
		msg->body_truncated = true;
	if (take == 0)
		return;
	sb_putn(&msg->body, data, take);
	if (sb_failed(&msg->body))
		msg->out_of_memory = true;
}

/* engine_msg_explain - explain mode for this message: every check
 * writes how it reached its result (trace.h) */
int
engine_msg_explain(struct engine_msg *msg)
{
	if (msg == NULL || (msg->trace = trace_new()) == NULL)
		return -1;
	dns_cache_set_trace(msg->dns, msg->trace);
	return 0;
}

/* engine_msg_explanation - the trace, after engine_msg_eom ("" when
 * explain mode is off) */
const char *
engine_msg_explanation(const struct engine_msg *msg)
{
	return msg != NULL ? trace_text(msg->trace) : "";
}

/* engine_trace_dkim - explain mode: each signature's result (those that
 * ended before the body, e.g. no key, have only this line) */
static void
engine_trace_dkim(struct engine_msg *msg)
{
	const struct auth_results *r = &msg->results;

	if (msg->trace == NULL)
		return;
	if (r->ndkim == 0)
		trace_line(msg->trace, 0, "no DKIM-Signature");
	for (size_t i = 0; i < r->ndkim; i++)
		trace_line(msg->trace, 0, "signature %zu: d=%s s=%s: %s%s%s%s",
			   i + 1, r->dkim[i].domain, r->dkim[i].selector,
			   result_name(r->dkim[i].result),
			   r->dkim[i].reason[0] ? " (" : "", r->dkim[i].reason,
			   r->dkim[i].reason[0] ? ")" : "");
	if (r->arc.checked) {
		trace_section(msg->trace, "arc");
		trace_line(msg->trace, 0, "%u ARC sets: %s%s%s%s",
			   r->arc.instances, result_name(r->arc.result),
			   r->arc.reason[0] ? " (" : "", r->arc.reason,
			   r->arc.reason[0] ? ")" : "");
	}
}

/* engine_trace_dmarc - explain mode: the result DMARC reached */
static void
engine_trace_dmarc(struct engine_msg *msg)
{
	const struct dmarc_outcome *d = &msg->results.dmarc;

	if (msg->trace == NULL)
		return;
	trace_line(msg->trace, 0, "From domain %s: dmarc=%s (%s)%s%s%s%s",
		   d->from_domain[0] ? d->from_domain : "(none)",
		   result_name(d->result), d->reason,
		   d->disposition[0] ? "; the policy asks: " : "",
		   d->disposition,
		   d->arc_override[0] ? "; ARC override by " : "",
		   d->arc_override);
}

/* engine_trace_score - explain mode: each rule that hit, the total */
static void
engine_trace_score(struct engine_msg *msg)
{
	const struct score_outcome *o = &msg->score;

	if (msg->trace == NULL || !msg->scored)
		return;
	trace_section(msg->trace, "score");
	for (size_t i = 0; i < o->nhits; i++)
		trace_line(msg->trace, 0, "%s %+.1f %s%s", o->hits[i].name,
			   o->hits[i].score, o->hits[i].area,
			   o->hits[i].description ? o->hits[i].description
						  : "");
	trace_line(msg->trace, 0, "total %.1f, required %.1f: %s%s%s",
		   o->score, o->required, o->is_spam ? "spam" : "not spam",
		   o->problems[0] ? "; " : "", o->problems);
}

/* engine_msg_dmarc - evaluate DMARC over the From fields */
static void
engine_msg_dmarc(struct engine_msg *msg)
{
	const char *from[ENGINE_FROM_KEEP];
	size_t nfrom = msg->from_count < ENGINE_FROM_KEEP ? msg->from_count
							   : ENGINE_FROM_KEEP;

	/* each field's author domains count, up to DMARC's bound; one
	 * field more tells it that there were more */
	for (size_t i = 0; i < nfrom; i++)
		from[i] = msg->from[i] != NULL ? msg->from[i] : "";
	dmarc_evaluate(msg->conn->eng->dmarc, msg->dns, from, nfrom,
		       &msg->results.spf_mailfrom, msg->results.dkim,
		       msg->results.ndkim, &msg->results.dmarc);
}

/*
 * engine_msg_received - append to line the Received field our MTA is
 * about to add, in the form SpamAssassin parses ("from HELO ([IP]) by
 * HOST"); nothing when the client address is unknown
 */
static void
engine_msg_received(const struct engine_msg *msg, struct strbuf *line)
{
	const struct engine_conn *conn = msg->conn;
	char date[64];
	struct tm tm;
	time_t now = time(NULL);
	char helo[256];
	size_t i = 0;

	if (conn->client_ip == NULL)
		return;
	/* the HELO is the client's word: only what a host name or an
	 * address literal may hold goes into a header line */
	for (const char *p = conn->helo ? conn->helo : ""; *p && i < 255; p++)
		helo[i++] = isalnum((unsigned char)*p) || strchr(".-_:[]", *p)
				? *p
				: '_';
	helo[i] = '\0';
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	sb_printf(line, " from %s ([%s])\n\tby %s with ESMTP; %s",
		  i > 0 ? helo : "unknown", conn->client_ip,
		  conn->eng->cfg->authserv_id, date);
}

/*
 * engine_msg_score - run the scoring stage on the message as it will be
 * delivered (our A-R first, the MTA's Received line, no forged A-R, no
 * incoming X-Spam-*) and add its X-Spam-* fields after our A-R header;
 * -1 when memory ran out
 */
static int
engine_msg_score(struct engine_msg *msg, const char *ar_value,
		 struct engine_edits *edits, size_t *insert_cap)
{
	const struct engine *eng = msg->conn->eng;
	const char **names, **values;
	struct score_header hdrs[SCORE_HEADERS_MAX];
	struct score_message sm;
	struct strbuf ours = STRBUF_INIT, received = STRBUF_INIT;
	size_t n = 0;
	int nh, rc = 0;

	names = calloc(msg->nheaders + 2, sizeof(*names));
	values = calloc(msg->nheaders + 2, sizeof(*values));
	sb_putc(&ours, ' ');
	sb_puts(&ours, ar_value);
	engine_msg_received(msg, &received);
	if (names == NULL || values == NULL || sb_failed(&ours) ||
	    sb_failed(&received)) {
		rc = -1;
		goto out;
	}
	names[n] = "Authentication-Results";
	values[n++] = sb_str(&ours);
	/* The MTA adds its Received line after the milters have run, so a
	 * scorer would see no relay at all (spamd: NO_RECEIVED, NO_RELAYS,
	 * and no client IP for its network tests): give it the same line. */
	if (received.len > 0) {
		names[n] = "Received";
		values[n++] = sb_str(&received);
	}
	for (size_t i = 0; i < msg->nheaders; i++) {
		const struct engine_header *h = &msg->headers[i];

		if (engine_header_removed(eng, h->name, h->value))
			continue;
		names[n] = h->name;
		values[n++] = h->value;
	}
	sm = (struct score_message){
	    .header_names = names,
	    .header_values = values,
	    .nheaders = n,
	    .body = (const unsigned char *)sb_str(&msg->body),
	    .body_len = msg->body.len,
	    .body_truncated = msg->body_truncated,
	    .results = &msg->results,
	    .mail_from = msg->mail_from,
	    .rcpts = (const char *const *)msg->rcpts,
	    .nrcpts = msg->nrcpts,
	    .client_ip = msg->conn->client_ip,
	    .helo = msg->conn->helo,
	    .trace = msg->trace,
	};
	trace_section(msg->trace, "score");
	switch (score_stage_run(eng->score, &sm, &msg->score)) {
	case 0:
		msg->scored = true;
		break;
	case -1:
		goto out; /* no scorer answered: no X-Spam-* fields */
	default:
		rc = -1; /* memory ran out: any score would be wrong */
		goto out;
	}
	if ((nh = score_headers(eng->score, &msg->score, hdrs)) < 0) {
		rc = -1;
		goto out;
	}
	for (int i = 0; i < nh; i++) {
		if (rc == 0 && engine_edits_insert(edits, insert_cap,
						   hdrs[i].name,
						   hdrs[i].value) == 0) {
			hdrs[i].value = NULL; /* now owned by edits */
			continue;
		}
		hdrs[i].value = NULL; /* freed by engine_edits_insert */
		rc = -1;
	}
	score_headers_free(hdrs, (size_t)nh);
out:
	free(names);
	free(values);
	sb_free(&ours);
	sb_free(&received);
	return rc;
}

/* engine_msg_eom - finish the checks, produce the edits and the action */
int
engine_msg_eom(struct engine_msg *msg, struct engine_edits *edits)
{
	struct engine_conn *conn;
	size_t insert_cap = 0, ar;
	char *value;

	memset(edits, 0, sizeof(*edits));
	if (msg == NULL || msg->done) {
		engine_tempfail(edits, "no message state");
		return -1;
	}
	msg->done = true;
	conn = msg->conn;
	msg->results.trusted = conn->trusted;
	if (conn->auth_user != NULL)
		snprintf(msg->results.auth_user, sizeof(msg->results.auth_user),
			 "%s", conn->auth_user);
	dns_cache_set_deadline(msg->dns, ENGINE_PHASE_DNS_MS);
	trace_section(msg->trace, "dkim");
	dkim_msg_eom(msg->dkim, &msg->results.dkim, &msg->results.ndkim);
	engine_trace_dkim(msg);
	if (!engine_conn_is_trusted(conn) || msg->sealer != NULL) {
		/* a chain whose fields were not all kept cannot pass */
		if (arc_msg_eom(msg->arc, &msg->results.arc) != 0)
			msg->out_of_memory = true;
		if (conn->client_ip != NULL)
			snprintf(msg->results.arc.remote_ip,
				 sizeof(msg->results.arc.remote_ip), "%s",
				 conn->client_ip);
	}
	if (!engine_conn_is_trusted(conn)) {
		trace_section(msg->trace, "dmarc");
		engine_msg_dmarc(msg);
		engine_arc_override(msg);
		engine_trace_dmarc(msg);
	} else
		trace_line(msg->trace, 0, "trusted or authenticated client: "
					  "not checked");

	/* removals first, and never skipped: a forged header must go even
	 * when our own cannot be added; if they cannot even be listed, the
	 * message must not pass at all */
	if (engine_msg_removals(msg, edits) != 0) {
		engine_tempfail(edits, "out of memory");
		return -1;
	}
	if (msg->out_of_memory) {
		edits->incomplete = true;
		return -1;
	}
	/* our signatures first: they stand at the very top */
	if (engine_sign_eom(msg, edits, &insert_cap) != 0) {
		engine_edits_drop_inserts(edits);
		edits->incomplete = true;
		return -1;
	}
	engine_outbound_inbound(msg);
	value = ar_format(conn->eng->cfg->authserv_id, &msg->results);
	/* our ARC set next (it carries these results), then the A-R */
	if (value != NULL &&
	    engine_arc_seal(msg, value, edits, &insert_cap) != 0) {
		free(value);
		value = NULL;
	}
	ar = edits->ninsert;
	if (value == NULL ||
	    engine_edits_insert(edits, &insert_cap, "Authentication-Results",
				value) != 0 ||
	    /* mail from trusted networks and authenticated users is not
	     * scored: it is our users' own */
	    (!engine_conn_is_trusted(conn) &&
	     engine_msg_score(msg, edits->insert[ar].value, edits,
			      &insert_cap) != 0)) {
		/* a partial tag would be a wrong one: none at all */
		engine_edits_drop_inserts(edits);
		edits->incomplete = true;
		return -1;
	}
	engine_trace_score(msg);
	engine_edits_cut(edits);
	engine_msg_decide(msg, edits);
	engine_outbound_eom(msg, edits, &insert_cap);
	engine_msg_report(msg, edits);
	return 0;
}

/* engine_msg_lost - the caller lost part of the message: do not tag */
void
engine_msg_lost(struct engine_msg *msg)
{
	if (msg != NULL)
		msg->out_of_memory = true;
}

/* engine_msg_local - local submission: never rejected or quarantined */
void
engine_msg_local(struct engine_msg *msg)
{
	if (msg != NULL)
		msg->local = true;
}

/* engine_msg_mail_domain - the MAIL FROM domain, for logs */
const char *
engine_msg_mail_domain(const struct engine_msg *msg)
{
	return msg != NULL ? msg->mail_domain : "";
}

/* engine_msg_from_domain - the From domain or "(why not)", for logs */
const char *
engine_msg_from_domain(struct engine_msg *msg)
{
	struct mailaddr_from from;
	const char *vals[2];
	size_t n;

	if (msg == NULL)
		return "(no message)";
	if (msg->from_count > 2) {
		snprintf(msg->from_log, sizeof(msg->from_log),
			 "(%u From fields)", msg->from_count);
		return msg->from_log;
	}
	n = msg->from_count;
	for (size_t i = 0; i < n; i++)
		vals[i] = msg->from[i] != NULL ? msg->from[i] : "";
	mailaddr_from_domain(vals, n, &from);
	if (from.status == MAILADDR_OK)
		snprintf(msg->from_log, sizeof(msg->from_log), "%s",
			 from.domain);
	else
		snprintf(msg->from_log, sizeof(msg->from_log), "(%s)",
			 mailaddr_status_name(from.status));
	return msg->from_log;
}

/* engine_msg_score_outcome - the scoring outcome, or NULL if not scored */
const struct score_outcome *
engine_msg_score_outcome(const struct engine_msg *msg)
{
	return msg->scored ? &msg->score : NULL;
}

/* engine_msg_score_log - the scoring outcome for the log line */
bool
engine_msg_score_log(const struct engine_msg *msg, struct engine_score_log *out)
{
	if (msg == NULL || !msg->scored)
		return false;
	out->score = msg->score.score;
	out->required = msg->score.required;
	out->problems = msg->score.problems;
	return true;
}

/* engine_msg_results - the results (valid after engine_msg_eom) */
const struct auth_results *
engine_msg_results(const struct engine_msg *msg)
{
	return &msg->results;
}

/* engine_msg_free - free one message's state */
void
engine_msg_free(struct engine_msg *msg)
{
	if (msg == NULL)
		return;
	engine_sign_free(msg);
	engine_arc_msg_free(msg);
	free(msg->queue_id);
	arc_msg_free(msg->arc);
	dkim_msg_free(msg->dkim);
	dns_cache_free(msg->dns);
	trace_free(msg->trace);
	free(msg->mail_from);
	for (size_t i = 0; i < msg->nrcpts; i++)
		free(msg->rcpts[i]);
	free(msg->rcpts);
	for (size_t i = 0; i < msg->nheaders; i++) {
		free(msg->headers[i].name);
		free(msg->headers[i].value);
	}
	free(msg->headers);
	free(msg->forged);
	free(msg->aar_forged);
	for (size_t i = 0; i < msg->nspam; i++)
		free(msg->spam[i].name);
	free(msg->spam);
	sb_free(&msg->body);
	score_outcome_free(&msg->score);
	for (size_t i = 0; i < ENGINE_FROM_KEEP; i++)
		free(msg->from[i]);
	auth_results_free(&msg->results);
	free(msg);
}
