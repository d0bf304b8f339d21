/*
 * engine.c - the one door into authtag's checks
 *
 * Owns the order of work for a connection and its messages: SPF when the
 * envelope sender is known, DKIM fed as headers and body chunks arrive,
 * DMARC and the Authentication-Results header at end of message, and the
 * list of forged A-R headers (those that claim our authserv-id) to remove.
 * It decides nothing about delivery: the caller applies the edits.
 *
 * Per-message memory is bounded: headers are kept (for From, for forged
 * A-R detection and for the scoring stage) only up to ENGINE_HEADER_BYTES;
 * the body is never kept, only streamed into the DKIM hashes.
 */
#include <ctype.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "config.h"
#include "auth/dkim.h"
#include "auth/dmarc.h"
#include "dns/dns.h"
#include "engine.h"
#include "score/score.h"
#include "auth/spf.h"

#define ENGINE_HEADER_BYTES (1024 * 1024) /* kept per message, at most */
#define ENGINE_MAX_HEADERS  10000
/*
 * DNS time budget of each phase (SPF at MAIL FROM, DKIM keys at end of
 * headers, DMARC at end of message). RFC 7208 4.6.4 suggests 20 s for
 * SPF; it also keeps MAIL FROM under Postfix's 30 s milter_command_timeout.
 */
#define ENGINE_PHASE_DNS_MS 20000

struct engine {
	const struct config *cfg;
	struct dns_resolver *dns;
	struct dkim_verifier *dkim;
	struct dmarc_ctx *dmarc;
	struct score_stage *score;
	size_t body_limit; /* body bytes the scorers want */
};

struct engine_conn {
	struct engine *eng;
	char *client_ip; /* NULL: unknown (no SPF) */
	char *helo;
	char *auth_user;
	bool trusted;
};

struct engine_header {
	char *name;
	char *value;
};

/* one X-Spam-* field name and how many of it arrived */
struct spam_name {
	char *name;
	unsigned count;
};

struct engine_msg {
	struct engine_conn *conn;
	struct dns_cache *dns;
	struct dkim_msg *dkim;
	char *mail_from; /* without <>; "" = null sender; NULL = not seen */
	char **rcpts;
	size_t nrcpts;
	struct engine_header *headers; /* kept for scoring, up to the cap */
	size_t nheaders;
	size_t header_bytes;
	bool headers_truncated;
	/* counted on every header, whatever the cap: a sender must not be
	 * able to hide a forged A-R or a second From behind 1 MB of filler */
	unsigned ar_count; /* A-R headers seen */
	unsigned *forged;  /* 1-based A-R indexes that claim our id */
	size_t nforged;
	char *from[2];          /* the first two From values */
	unsigned from_count;    /* From fields seen */
	bool out_of_memory;     /* bookkeeping failed: tag only */
	struct spam_name *spam; /* incoming X-Spam-* fields, to remove */
	size_t nspam;
	unsigned char *body; /* the first body_limit bytes, for scoring */
	size_t body_len, body_cap;
	bool body_truncated;
	struct score_outcome score;
	bool scored;
	struct auth_results results;
	bool done;
};

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
	if ((eng->dns = dns_resolver_new(cfg, err, errlen)) == NULL ||
	    (eng->dkim = dkim_verifier_new(cfg, err, errlen)) == NULL ||
	    (eng->dmarc = dmarc_ctx_new(cfg, err, errlen)) == NULL ||
	    (eng->score = score_stage_new(cfg, err, errlen)) == NULL) {
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
	score_stage_free(eng->score);
	dmarc_ctx_free(eng->dmarc);
	dkim_verifier_free(eng->dkim);
	dns_resolver_free(eng->dns);
	free(eng);
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
	    (msg->dkim = dkim_msg_new(conn->eng->dkim, msg->dns)) == NULL) {
		engine_msg_free(msg);
		return NULL;
	}
	return msg;
}

/* engine_strip_address - the address inside optional <> and blanks */
static char *
engine_strip_address(const char *addr)
{
	size_t len;

	while (isspace((unsigned char)*addr))
		addr++;
	len = strlen(addr);
	while (len > 0 && isspace((unsigned char)addr[len - 1]))
		len--;
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
		addr++;
		len -= 2;
	}
	return strndup(addr, len);
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
	if ((msg->mail_from = engine_strip_address(addr)) == NULL)
		return;
	if (engine_conn_is_trusted(conn) || conn->client_ip == NULL)
		return;
	req = (struct spf_request){
	    .client_ip = conn->client_ip,
	    .helo = conn->helo,
	    .mail_from = msg->mail_from,
	    .receiver = cfg->authserv_id,
	};
	dns_cache_set_deadline(msg->dns, ENGINE_PHASE_DNS_MS);
	spf_check_mailfrom(msg->dns, &req, &msg->results.spf_mailfrom);
	if (cfg->spf_check_helo && conn->helo != NULL && *conn->helo)
		spf_check_helo(msg->dns, &req, &msg->results.spf_helo);
}

/* engine_msg_rcpt - one envelope recipient */
void
engine_msg_rcpt(struct engine_msg *msg, const char *addr)
{
	char **grown, *copy;

	if (msg == NULL || addr == NULL)
		return;
	if ((copy = engine_strip_address(addr)) == NULL)
		return;
	grown = realloc(msg->rcpts, (msg->nrcpts + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(copy);
		return;
	}
	msg->rcpts = grown;
	msg->rcpts[msg->nrcpts++] = copy;
}

/* engine_msg_note_spam - count one incoming X-Spam-* field by name */
static void
engine_msg_note_spam(struct engine_msg *msg, const char *name)
{
	struct spam_name *grown;

	for (size_t i = 0; i < msg->nspam; i++)
		if (strcasecmp(msg->spam[i].name, name) == 0) {
			msg->spam[i].count++;
			return;
		}
	grown = realloc(msg->spam, (msg->nspam + 1) * sizeof(*grown));
	if (grown == NULL || (grown[msg->nspam].name = strdup(name)) == NULL) {
		if (grown != NULL)
			msg->spam = grown;
		msg->out_of_memory = true;
		return;
	}
	msg->spam = grown;
	msg->spam[msg->nspam++].count = 1;
}

/* engine_msg_note - the bookkeeping done on every header, kept or not */
static void
engine_msg_note(struct engine_msg *msg, const char *name, const char *value)
{
	if (strcasecmp(name, "Authentication-Results") == 0) {
		unsigned *grown;

		msg->ar_count++;
		if (!ar_is_ours(value, msg->conn->eng->cfg->authserv_id))
			return;
		grown =
		    realloc(msg->forged, (msg->nforged + 1) * sizeof(*grown));
		if (grown == NULL) {
			msg->out_of_memory = true;
			return;
		}
		msg->forged = grown;
		msg->forged[msg->nforged++] = msg->ar_count;
	} else if (strcasecmp(name, "From") == 0) {
		if (msg->from_count < 2 &&
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
	struct engine_header *grown;
	size_t size;

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
	grown = realloc(msg->headers, (msg->nheaders + 1) * sizeof(*grown));
	if (grown == NULL) {
		msg->headers_truncated = true;
		return;
	}
	msg->headers = grown;
	grown[msg->nheaders].name = strdup(name);
	grown[msg->nheaders].value = strdup(value);
	if (grown[msg->nheaders].name == NULL ||
	    grown[msg->nheaders].value == NULL) {
		free(grown[msg->nheaders].name);
		free(grown[msg->nheaders].value);
		msg->headers_truncated = true;
		return;
	}
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
	dkim_msg_eoh(msg->dkim);
}

/* engine_msg_body - a body chunk */
void
engine_msg_body(struct engine_msg *msg, const unsigned char *data, size_t len)
{
	size_t room, take;

	if (msg == NULL || data == NULL || len == 0)
		return;
	dkim_msg_body(msg->dkim, data, len);
	/* the scorers see the first body_limit bytes, never the whole body */
	room = msg->conn->eng->body_limit - msg->body_len;
	take = len < room ? len : room;
	if (take < len)
		msg->body_truncated = true;
	if (take == 0)
		return;
	if (msg->body_len + take > msg->body_cap) {
		size_t cap = msg->body_cap ? msg->body_cap * 2 : 16384;
		unsigned char *grown;

		while (cap < msg->body_len + take)
			cap *= 2;
		if (cap > msg->conn->eng->body_limit)
			cap = msg->conn->eng->body_limit;
		if ((grown = realloc(msg->body, cap)) == NULL) {
			msg->body_truncated = true;
			return;
		}
		msg->body = grown;
		msg->body_cap = cap;
	}
	memcpy(msg->body + msg->body_len, data, take);
	msg->body_len += take;
}

/* engine_msg_dmarc - evaluate DMARC over the From fields */
static void
engine_msg_dmarc(struct engine_msg *msg)
{
	const char *from[2];
	size_t nfrom = msg->from_count < 2 ? msg->from_count : 2;

	/* two values are enough for "several From fields": RFC 9989
	 * section 11.5 does not care how many more there were */
	for (size_t i = 0; i < nfrom; i++)
		from[i] = msg->from[i] != NULL ? msg->from[i] : "";
	dmarc_evaluate(msg->conn->eng->dmarc, msg->dns, from, nfrom,
		       &msg->results.spf_mailfrom, msg->results.dkim,
		       msg->results.ndkim, &msg->results.dmarc);
}

/* engine_edits_add - append one edit to an edit array */
static int
engine_edits_add(struct header_edit **arr, size_t *n, const char *name,
		 char *value, unsigned index)
{
	struct header_edit *grown = realloc(*arr, (*n + 1) * sizeof(*grown));

	if (grown == NULL)
		return -1;
	*arr = grown;
	grown[*n].name = strdup(name);
	grown[*n].value = value;
	grown[*n].index = index;
	if (grown[*n].name == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* engine_msg_forged - remove every A-R header claiming our id */
static int
engine_msg_forged(struct engine_msg *msg, struct engine_edits *edits)
{
	/* highest index first, so that each removal leaves the indexes of
	 * the ones still to remove unchanged */
	for (size_t i = msg->nforged; i > 0; i--)
		if (engine_edits_add(&edits->remove, &edits->nremove,
				     "Authentication-Results", NULL,
				     msg->forged[i - 1]) != 0)
			return -1;
	/* incoming X-Spam-* fields: a sender must not pre-mark as clean */
	for (size_t i = 0; i < msg->nspam; i++)
		for (unsigned n = msg->spam[i].count; n > 0; n--)
			if (engine_edits_add(&edits->remove, &edits->nremove,
					     msg->spam[i].name, NULL, n) != 0)
				return -1;
	return 0;
}

/*
 * engine_msg_received - the Received line our MTA is about to add, in
 * the form SpamAssassin parses ("from HELO ([IP]) by HOST"); malloc'd,
 * NULL when the client address is unknown
 */
static char *
engine_msg_received(const struct engine_msg *msg)
{
	const struct engine_conn *conn = msg->conn;
	char date[64], *line;
	struct tm tm;
	time_t now = time(NULL);

	char helo[256];
	size_t i = 0;

	if (conn->client_ip == NULL)
		return NULL;
	/* the HELO is the client's word: only what a host name or an
	 * address literal may hold goes into a header line */
	for (const char *p = conn->helo ? conn->helo : ""; *p && i < 255; p++)
		helo[i++] = isalnum((unsigned char)*p) || strchr(".-_:[]", *p)
				? *p
				: '_';
	helo[i] = '\0';
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (asprintf(&line, " from %s ([%s])\n\tby %s with ESMTP; %s",
		     i > 0 ? helo : "unknown", conn->client_ip,
		     conn->eng->cfg->authserv_id, date) < 0)
		return NULL;
	return line;
}

/*
 * engine_msg_score - run the scoring stage on the message as it will be
 * delivered (our A-R first, no forged A-R, no incoming X-Spam-*) and add
 * its X-Spam-* fields after our A-R header
 */
static int
engine_msg_score(struct engine_msg *msg, const char *ar_value,
		 struct engine_edits *edits)
{
	const struct engine *eng = msg->conn->eng;
	const char **names, **values;
	struct score_header hdrs[SCORE_HEADERS_MAX];
	struct score_message sm;
	char *ours, *received;
	size_t n = 0;
	int nh, rc = 0;

	names = calloc(msg->nheaders + 2, sizeof(*names));
	values = calloc(msg->nheaders + 2, sizeof(*values));
	if (names == NULL || values == NULL ||
	    asprintf(&ours, " %s", ar_value) < 0) {
		free(names);
		free(values);
		return -1;
	}
	names[n] = "Authentication-Results";
	values[n++] = ours;
	/* The MTA adds its Received line after the milters have run, so a
	 * scorer would see no relay at all (spamd: NO_RECEIVED, NO_RELAYS,
	 * and no client IP for its network tests): give it the same line. */
	if ((received = engine_msg_received(msg)) != NULL) {
		names[n] = "Received";
		values[n++] = received;
	}
	for (size_t i = 0; i < msg->nheaders; i++) {
		const struct engine_header *h = &msg->headers[i];

		if (score_header_is_spam(h->name) ||
		    (strcasecmp(h->name, "Authentication-Results") == 0 &&
		     ar_is_ours(h->value, eng->cfg->authserv_id)))
			continue;
		names[n] = h->name;
		values[n++] = h->value;
	}
	sm = (struct score_message){
	    .header_names = names,
	    .header_values = values,
	    .nheaders = n,
	    .body = msg->body,
	    .body_len = msg->body_len,
	    .body_truncated = msg->body_truncated,
	    .results = &msg->results,
	    .mail_from = msg->mail_from,
	    .rcpts = (const char *const *)msg->rcpts,
	    .nrcpts = msg->nrcpts,
	    .client_ip = msg->conn->client_ip,
	    .helo = msg->conn->helo,
	};
	msg->scored = score_stage_run(eng->score, &sm, &msg->score) == 0;
	free(names);
	free(values);
	free(ours);
	free(received);
	if (!msg->scored)
		return 0; /* no scorer answered: no X-Spam-* fields */
	if ((nh = score_headers(eng->score, &msg->score, hdrs)) < 0)
		return -1;
	for (int i = 0; i < nh; i++) {
		if (rc == 0 &&
		    engine_edits_add(&edits->insert, &edits->ninsert,
				     hdrs[i].name, hdrs[i].value, 1) == 0) {
			hdrs[i].value = NULL; /* now owned by edits */
			continue;
		}
		rc = -1;
	}
	score_headers_free(hdrs, (size_t)nh);
	return rc;
}

/* engine_msg_eom - finish the checks and produce the edits */
int
engine_msg_eom(struct engine_msg *msg, struct engine_edits *edits)
{
	struct engine_conn *conn;
	char *value;

	memset(edits, 0, sizeof(*edits));
	if (msg == NULL || msg->done)
		return -1;
	msg->done = true;
	conn = msg->conn;
	msg->results.trusted = conn->trusted;
	if (conn->auth_user != NULL)
		snprintf(msg->results.auth_user, sizeof(msg->results.auth_user),
			 "%s", conn->auth_user);
	dns_cache_set_deadline(msg->dns, ENGINE_PHASE_DNS_MS);
	dkim_msg_eom(msg->dkim, &msg->results.dkim, &msg->results.ndkim);
	if (!engine_conn_is_trusted(conn))
		engine_msg_dmarc(msg);

	/* removals first: if memory runs out later, a forged header must
	 * still go even when our own cannot be added */
	if (engine_msg_forged(msg, edits) != 0) {
		engine_edits_free(edits);
		return -1;
	}
	value = ar_format(conn->eng->cfg->authserv_id, &msg->results);
	if (value == NULL ||
	    engine_edits_add(&edits->insert, &edits->ninsert,
			     "Authentication-Results", value, 1) != 0) {
		if (edits->ninsert == 0)
			free(value);
		return -1;
	}
	/* mail from trusted networks and authenticated users is not
	 * scored: it is our users' own */
	if (!engine_conn_is_trusted(conn) &&
	    engine_msg_score(msg, value, edits) != 0)
		return -1;
	return msg->out_of_memory ? -1 : 0;
}

/* engine_msg_score_outcome - the scoring outcome, or NULL if not scored */
const struct score_outcome *
engine_msg_score_outcome(const struct engine_msg *msg)
{
	return msg->scored ? &msg->score : NULL;
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
	dkim_msg_free(msg->dkim);
	dns_cache_free(msg->dns);
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
	for (size_t i = 0; i < msg->nspam; i++)
		free(msg->spam[i].name);
	free(msg->spam);
	free(msg->body);
	score_outcome_free(&msg->score);
	free(msg->from[0]);
	free(msg->from[1]);
	auth_results_free(&msg->results);
	free(msg);
}

/* engine_edits_free - free what engine_msg_eom put in edits */
void
engine_edits_free(struct engine_edits *edits)
{
	for (size_t i = 0; i < edits->ninsert; i++) {
		free(edits->insert[i].name);
		free(edits->insert[i].value);
	}
	for (size_t i = 0; i < edits->nremove; i++)
		free(edits->remove[i].name);
	free(edits->insert);
	free(edits->remove);
	memset(edits, 0, sizeof(*edits));
}
