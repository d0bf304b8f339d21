/*
 * engine_report.c - the engine's part in DMARC aggregate reports
 *
 * Owns the decision which messages are recorded and the row each one
 * gives (RFC 9990 record): a DMARC pass or fail under a record that
 * asks for reports (rua=), from a client that is neither trusted nor
 * authenticated nor local (our users' own mail is not reported to the
 * world), and not deferred (a 4xx comes back). The row goes to the
 * daemon's recorder, which never blocks (lib/report/report_rec.c).
 * No local part is kept: the identifiers are domains.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "engine.h"
#include "engine_int.h"
#include "report/report_rec.h"
#include "report/report_row.h"
#include "store/store.h"
#include <unistd.h>

/* er_copy_lower - copy a domain, lower-cased, cut to fit */
static void
er_copy_lower(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;

	for (; src[i] != '\0' && i + 1 < dstlen; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

/* er_enforcing - does this policy ask for more than monitoring? */
static bool
er_enforcing(const char *policy)
{
	return strcmp(policy, "quarantine") == 0 ||
	       strcmp(policy, "reject") == 0;
}

/* er_reason - add an override reason */
static void
er_reason(struct report_row *row, const char *type, const char *comment)
{
	struct report_reason *r;

	if (row->nreasons >= REPORT_REASONS_MAX)
		return;
	r = &row->reasons[row->nreasons++];
	snprintf(r->type, sizeof(r->type), "%s", type);
	snprintf(r->comment, sizeof(r->comment), "%s", comment);
}

/* engine_msg_report_row - the row this message gives; false when it is
 * not recorded at all (see the top) */
bool
engine_msg_report_row(const struct engine_msg *msg,
		      const struct engine_edits *edits, struct report_row *row)
{
	const struct engine_conn *conn = msg->conn;
	const struct config *cfg = conn->eng->cfg;
	const struct auth_results *res = &msg->results;
	const struct dmarc_outcome *d = &res->dmarc;
	const struct dmarc_published *pub = &d->published;

	if (engine_conn_is_trusted(conn) || msg->local || !d->checked ||
	    (d->result != RES_PASS && d->result != RES_FAIL) ||
	    d->policy_domain[0] == '\0' || pub->rua[0] == '\0' ||
	    conn->client_ip == NULL || edits->incomplete ||
	    edits->action.kind == ENGINE_TEMPFAIL)
		return false;
	memset(row, 0, sizeof(*row));
	er_copy_lower(row->pol.domain, sizeof(row->pol.domain),
		      d->policy_domain);
	snprintf(row->pol.p, sizeof(row->pol.p), "%s", pub->p);
	snprintf(row->pol.sp, sizeof(row->pol.sp), "%s", pub->sp);
	snprintf(row->pol.np, sizeof(row->pol.np), "%s", pub->np);
	row->pol.adkim = pub->adkim;
	row->pol.aspf = pub->aspf;
	row->pol.testing = pub->testing;
	snprintf(row->pol.fo, sizeof(row->pol.fo), "%s", pub->fo);
	snprintf(row->pol.discovery, sizeof(row->pol.discovery), "%s",
		 pub->treewalk ? "treewalk" : "psl");
	snprintf(row->pol.rua, sizeof(row->pol.rua), "%s", pub->rua);

	snprintf(row->source_ip, sizeof(row->source_ip), "%s",
		 conn->client_ip);
	er_copy_lower(row->header_from, sizeof(row->header_from),
		      d->from_domain);
	er_copy_lower(row->envelope_from, sizeof(row->envelope_from),
		      msg->mail_domain);
	if (cfg->report_envelope_to && msg->nrcpts > 0) {
		const char *at = strrchr(msg->rcpts[0], '@');

		if (at != NULL)
			er_copy_lower(row->envelope_to,
				      sizeof(row->envelope_to), at + 1);
	}
	/* RFC 9990: only the MAIL FROM identity (for the null sender that
	 * is the HELO name's, RFC 7208 2.4, which spf.c checks as such) */
	if (res->spf_mailfrom.checked && res->spf_mailfrom.domain[0] != '\0') {
		er_copy_lower(row->spf_domain, sizeof(row->spf_domain),
			      res->spf_mailfrom.domain);
		snprintf(row->spf_scope, sizeof(row->spf_scope), "mfrom");
		snprintf(row->spf_result, sizeof(row->spf_result), "%s",
			 result_name(res->spf_mailfrom.result));
	}
	for (size_t i = 0; i < res->ndkim && row->ndkim < REPORT_DKIM_MAX;
	     i++) {
		struct report_dkim *k = &row->dkim[row->ndkim];

		if (res->dkim[i].domain[0] == '\0')
			continue; /* no d= to report */
		er_copy_lower(k->domain, sizeof(k->domain),
			      res->dkim[i].domain);
		snprintf(k->selector, sizeof(k->selector), "%s",
			 res->dkim[i].selector);
		snprintf(k->result, sizeof(k->result), "%s",
			 result_name(res->dkim[i].result));
		row->ndkim++;
	}
	snprintf(row->dmarc_dkim, sizeof(row->dmarc_dkim), "%s",
		 d->dkim_aligned ? "pass" : "fail");
	snprintf(row->dmarc_spf, sizeof(row->dmarc_spf), "%s",
		 d->spf_aligned ? "pass" : "fail");
	snprintf(row->requested, sizeof(row->requested), "%s", d->policy);

	switch (edits->action.kind) {
	case ENGINE_REJECT:
		snprintf(row->disposition, sizeof(row->disposition), "reject");
		break;
	case ENGINE_QUARANTINE:
		snprintf(row->disposition, sizeof(row->disposition),
			 "quarantine");
		break;
	default:
		snprintf(row->disposition, sizeof(row->disposition), "%s",
			 d->result == RES_PASS && er_enforcing(d->policy)
			     ? "pass"
			     : "none");
		break;
	}
	if (d->result == RES_FAIL && strcmp(row->disposition, "none") == 0 &&
	    er_enforcing(d->policy)) {
		char why[RES_REASON_MAX];

		if (d->arc_override[0] != '\0') {
			snprintf(why, sizeof(why),
				 "arc=pass, sealed by trusted forwarder %.100s",
				 d->arc_override);
			er_reason(row, "local_policy", why);
		} else if (d->testing)
			er_reason(row, "policy_test_mode", "");
		else
			er_reason(row, "local_policy",
				  "tagged, not rejected (tag mode)");
	} else if (d->result == RES_FAIL && d->testing)
		er_reason(row, "policy_test_mode", "");
	return true;
}

/* engine_msg_report - hand the message's row to the recorder, if any */
void
engine_msg_report(const struct engine_msg *msg,
		  const struct engine_edits *edits)
{
	struct report_rec *rec = msg->conn->eng->recorder;
	struct report_row row;

	if (rec == NULL || !engine_msg_report_row(msg, edits, &row))
		return;
	report_rec_add(rec, &row, (int64_t)time(NULL));
}

/* engine_set_recorder - the daemon's recorder (not owned) */
void
engine_set_recorder(struct engine *eng, struct report_rec *rec)
{
	eng->recorder = rec;
}

/* engine_recorder_new - the daemon's recorder for cfg's StateStore */
struct report_rec *
engine_recorder_new(const struct config *cfg, engine_log_fn log, char *err,
		    size_t errlen)
{
	char host[256], instance[400];
	struct report_rec_opts o;

	if (errlen > 0)
		err[0] = '\0';
	if (strcmp(cfg->state_store, "none") == 0)
		return NULL;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	/* unique among every writer of a shared store, across restarts */
	snprintf(instance, sizeof(instance), "%s-%ld-%lld", host,
		 (long)getpid(), (long long)time(NULL));
	o = (struct report_rec_opts){
	    .store = cfg->state_store,
	    .period = 86400,
	    .flush_ms = cfg->report_flush * 1000,
	    .max_rows = cfg->report_queue_max,
	    .instance = instance,
	    .log = log,
	};
	return report_rec_new(&o, err, errlen);
}

/* engine_recorder_free - write what it holds (for up to wait_ms while
 * the store is away) and free it */
void
engine_recorder_free(struct report_rec *rec, unsigned wait_ms)
{
	report_rec_stop(rec, wait_ms);
}

/* engine_store_probe - can the StateStore be used now? */
int
engine_store_probe(const struct config *cfg, char *why, size_t whylen)
{
	struct store *st;
	int rc;

	if (strcmp(cfg->state_store, "none") == 0)
		return 0;
	if ((st = store_open(cfg->state_store, why, whylen)) == NULL)
		return -1;
	rc = store_probe(st);
	if (rc != STORE_OK)
		snprintf(why, whylen, "%s", store_error(st));
	store_close(st);
	return rc == STORE_OK ? 0 : -1;
}
