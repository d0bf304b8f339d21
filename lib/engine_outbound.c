/*
 * engine_outbound.c - the engine's outbound part: quotas, learned pairs
 *
 * Owns, for the engine, the decisions of lib/outbound/: which messages
 * a quota counts (local submissions; SMTP AUTH ones with
 * OutboundQuotaAuth) and under which key, holding the excess
 * (quarantine, with the reason in X-Authtag-Held and the log), the
 * once-per-window alert, learning (sender, recipient) pairs from local
 * and authenticated mail, and marking inbound mail from a learned
 * correspondent whose From domain authenticates.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "engine_int.h"
#include "mailaddr.h"
#include "outbound/quota.h"
#include "outbound/welcome.h"
#include "store/store.h"
#include "strbuf.h"
#include "trace.h"

/* engine_outbound_new - the store, when quotas or learning are on;
 * a store that is down is no error (each use retries) */
int
engine_outbound_new(struct engine *eng, char *err, size_t errlen)
{
	const struct config *cfg = eng->cfg;

	if (cfg->quota_window == 0 && !cfg->learn_welcome)
		return 0;
	eng->store = store_open(cfg->state_store, err, errlen);
	if (eng->store == NULL && err[0] == '\0')
		snprintf(err, errlen, "%s needs a StateStore (it is none)",
			 cfg->quota_window != 0 ? "OutboundQuota"
						: "LearnWelcome");
	return eng->store != NULL ? 0 : -1;
}

/* engine_outbound_free - close the store */
void
engine_outbound_free(struct engine *eng)
{
	store_close(eng->store);
	eng->store = NULL;
}

/* eo_quota_user - the quota key of msg: for sendmail(1) the login
 * (Postfix gives LOGIN@$myorigin as the sender unless -f names
 * another), for SMTP AUTH the SASL login; false when none applies */
static bool
eo_quota_user(const struct engine_msg *msg, char *out, size_t len)
{
	const struct config *cfg = msg->conn->eng->cfg;
	const char *src = NULL;
	size_t n;

	if (msg->local) {
		src = msg->mail_from != NULL && msg->mail_from[0] != '\0'
			  ? msg->mail_from
			  : "<>";
		n = strcspn(src, "@");
		if (strcmp(src, "<>") == 0)
			n = 2;
	} else if (msg->conn->auth_user != NULL && cfg->quota_auth) {
		src = msg->conn->auth_user;
		n = strlen(src);
	} else
		return false;
	if (n == 0 || n >= len)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		out[i] = c <= ' ' || c == 0x7f ? '_' : (char)tolower(c);
	}
	out[n] = '\0';
	return true;
}

/* eo_subject - the first Subject field, unfolded enough for a log */
static const char *
eo_subject(const struct engine_msg *msg)
{
	for (size_t i = 0; i < msg->nheaders; i++)
		if (strcasecmp(msg->headers[i].name, "Subject") == 0) {
			const char *v = msg->headers[i].value;

			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
	return "";
}

/* eo_userid - the login the daemon runs as (UserID), never limited:
 * its own alert mails must not be held */
static bool
eo_is_daemon(const struct config *cfg, const char *user)
{
	size_t n;

	if (cfg->user_id == NULL)
		return false;
	n = strcspn(cfg->user_id, ":");
	return strlen(user) == n && strncasecmp(cfg->user_id, user, n) == 0;
}

/* eo_quota - count the message; on hold, quarantine it with the reason */
static void
eo_quota(struct engine_msg *msg, struct engine_edits *edits, size_t *cap)
{
	const struct config *cfg = msg->conn->eng->cfg;
	char user[RES_ADDRESS_MAX];
	struct quota_msg qm;
	struct quota_decision *d = &msg->quota;

	if (cfg->quota_window == 0 || !eo_quota_user(msg, user, sizeof(user)))
		return;
	if (eo_is_daemon(cfg, user)) {
		d->verdict = QUOTA_EXEMPT;
		snprintf(d->text, sizeof(d->text),
			 "user %.200s (authtag's own) exempt", user);
		msg->quota_done = true;
		return;
	}
	qm = (struct quota_msg){
	    .user = user,
	    .sender = msg->mail_from != NULL ? msg->mail_from : "",
	    .queue_id = msg->queue_id != NULL ? msg->queue_id : "NOQUEUE",
	    .subject = eo_subject(msg),
	    .rcpts = (const char *const *)msg->rcpts,
	    .nrcpts = msg->nrcpts,
	};
	msg->quota_done = true;
	(void)quota_check(msg->conn->eng->store, cfg, &qm, (int64_t)time(NULL),
			  d);
	if (d->verdict != QUOTA_HOLD)
		return;
	edits->action.kind = ENGINE_QUARANTINE;
	edits->action.code[0] = '\0';
	edits->action.xcode[0] = '\0';
	snprintf(edits->action.text, sizeof(edits->action.text), "%s",
		 d->text);
	{
		char *v = strdup(d->text);

		if (v != NULL)
			(void)engine_edits_insert(edits, cap, "X-Authtag-Held",
						  v);
	}
	if (d->alert && cfg->quota_alert_to != NULL) {
		char why[300];

		if (quota_alert_mail(cfg, &qm, d, why, sizeof(why)) == 0)
			snprintf(msg->quota_alert, sizeof(msg->quota_alert),
				 "alert mailed to %s", cfg->quota_alert_to);
		else
			snprintf(msg->quota_alert, sizeof(msg->quota_alert),
				 "alert to %s failed: %s", cfg->quota_alert_to,
				 why);
	} else if (d->alert)
		snprintf(msg->quota_alert, sizeof(msg->quota_alert),
			 "first hold of this window (no QuotaAlertTo)");
}

/* eo_learn - remember who a local or authenticated user wrote to */
static void
eo_learn(struct engine_msg *msg)
{
	const struct config *cfg = msg->conn->eng->cfg;
	int64_t now = (int64_t)time(NULL);
	unsigned learned = 0, failed = 0;

	if (!cfg->learn_welcome || msg->conn->eng->store == NULL ||
	    (!msg->local && msg->conn->auth_user == NULL) ||
	    msg->mail_from == NULL || msg->mail_from[0] == '\0')
		return;
	for (size_t i = 0; i < msg->nrcpts && i < 100; i++) {
		int rc = welcome_learn(msg->conn->eng->store, msg->mail_from,
				       msg->rcpts[i], cfg->learn_welcome_ttl,
				       now);

		if (rc == 0)
			learned++;
		else if (rc != -1) /* -1: an address we do not keep */
			failed++;
	}
	msg->learned = learned;
	msg->learn_failed = failed;
}

/* eo_from_address - the one From address, lower case; false if not one */
static bool
eo_from_address(const struct engine_msg *msg, char *out, size_t len)
{
	char addrs[2][RES_ADDRESS_MAX];
	const char *vals[1];

	if (msg->from_count != 1 || msg->from[0] == NULL)
		return false;
	vals[0] = msg->from[0];
	if (mailaddr_header_addrs(vals, 1, addrs, 2, true) != 1)
		return false;
	snprintf(out, len, "%s", addrs[0]);
	return true;
}

/* eo_authenticated - does the From domain authenticate: DMARC pass, or
 * with no DMARC policy an SPF or DKIM pass of exactly that domain (no
 * policy means no Organizational Domain was asked for: strict) */
static bool
eo_authenticated(const struct engine_msg *msg, const char **how)
{
	const struct auth_results *r = &msg->results;
	const char *d = r->dmarc.from_domain;

	if (r->dmarc.result == RES_PASS) {
		*how = "dmarc=pass";
		return true;
	}
	if (r->dmarc.result != RES_NONE || d[0] == '\0')
		return false;
	if (r->spf_mailfrom.result == RES_PASS &&
	    strcasecmp(msg->mail_domain, d) == 0) {
		*how = "no DMARC policy; spf=pass for the From domain";
		return true;
	}
	for (size_t i = 0; i < r->ndkim; i++)
		if (r->dkim[i].result == RES_PASS &&
		    strcasecmp(r->dkim[i].domain, d) == 0) {
			*how = "no DMARC policy; dkim=pass d= the From domain";
			return true;
		}
	return false;
}

/* engine_outbound_inbound - before the A-R is written: is this inbound
 * message from a correspondent its one recipient wrote to, with a From
 * domain that authenticates? */
void
engine_outbound_inbound(struct engine_msg *msg)
{
	const struct config *cfg = msg->conn->eng->cfg;
	char from[RES_ADDRESS_MAX], rcpt[RES_ADDRESS_MAX];
	const char *how = "";
	bool known = false;

	if (!cfg->learn_welcome || msg->conn->eng->store == NULL ||
	    engine_conn_is_trusted(msg->conn) || msg->local ||
	    msg->nrcpts != 1 || !eo_from_address(msg, from, sizeof(from)))
		return;
	snprintf(rcpt, sizeof(rcpt), "%s", msg->rcpts[0]);
	/* the results are in memory, the pairs in the store: ask the store
	 * only for mail that could get the bonus */
	if (!eo_authenticated(msg, &how)) {
		trace_line(msg->trace, 0,
			   "learned pairs: the From domain does not "
			   "authenticate: not asked, no bonus");
		return;
	}
	if (welcome_known(msg->conn->eng->store, rcpt, from, &known) != 0) {
		trace_line(msg->trace, 0, "learned pairs: store down, not "
					  "asked");
		return;
	}
	if (!known) {
		trace_line(msg->trace, 0,
			   "learned pairs: %s never wrote to %s", rcpt, from);
		return;
	}
	msg->results.dmarc.known_correspondent = true;
	trace_line(msg->trace, 0,
		   "learned pairs: %s wrote to %s and the From domain "
		   "authenticates (%s): known correspondent",
		   rcpt, from, how);
}

/* engine_outbound_eom - after the action is decided: learn, count */
void
engine_outbound_eom(struct engine_msg *msg, struct engine_edits *edits,
		    size_t *cap)
{
	eo_learn(msg);
	eo_quota(msg, edits, cap);
}

/* engine_msg_queue_id - the MTA's queue id */
void
engine_msg_queue_id(struct engine_msg *msg, const char *qid)
{
	if (msg == NULL || qid == NULL)
		return;
	free(msg->queue_id);
	msg->queue_id = strdup(qid);
}

/* engine_msg_outbound_log - the quota's and learning's log line */
const char *
engine_msg_outbound_log(struct engine_msg *msg, bool *warn)
{
	struct strbuf b = STRBUF_INIT;
	const struct quota_decision *d = &msg->quota;

	*warn = false;
	/* most messages are neither counted nor learned from: no line */
	if ((!msg->quota_done || d->verdict == QUOTA_OFF) && msg->learned == 0 &&
	    msg->learn_failed == 0)
		return "";
	if (msg->quota_done && d->verdict != QUOTA_OFF) {
		*warn = d->verdict == QUOTA_HOLD || d->verdict == QUOTA_DOWN;
		sb_printf(&b, "%s%s", d->verdict == QUOTA_HOLD ? "held: " : "quota: ",
			  d->text);
		if (msg->quota_alert[0] != '\0')
			sb_printf(&b, "; %s", msg->quota_alert);
	}
	if (msg->learned > 0 || msg->learn_failed > 0)
		sb_printf(&b, "%slearned %u correspondent%s%s", b.len ? "; " : "",
			  msg->learned, msg->learned == 1 ? "" : "s",
			  msg->learn_failed > 0 ? " (store down for some)" : "");
	snprintf(msg->outbound_log, sizeof(msg->outbound_log), "%s", sb_str(&b));
	sb_free(&b);
	return msg->outbound_log;
}
