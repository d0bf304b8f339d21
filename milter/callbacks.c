/*
 * callbacks.c - the milter steps: feed lib/engine, apply its edits
 *
 * Owns the per-connection state (struct mconn, the session's private
 * data from negotiation until close) and the per-message state (struct
 * mmsg, from MAIL FROM to end of message, abort or close, so RSET and
 * many messages per connection work). Each connection holds a reference
 * on the engine that was current when it opened: a reload never changes
 * the engine under a message.
 *
 * Failure rule: nothing here ever tempfails. When state cannot be built
 * or a step fails, the message goes on and ends accepted with
 * whatever tags are known, and one warning says why. Rejection happens
 * only under RejectFailures, for DMARC failures the engine says call for
 * it, and never for trusted or local sources.
 *
 * The shared state (struct milter_shared) is the server's argument
 * (mserver_arg); server.c calls these steps, one at a time per session.
 */
#include "build.h" /* first: feature macros */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <sys/socket.h>
#include <syslog.h>

#include "config.h"
#include "engine.h"
#include "milter.h"
#include "proto.h"
#include "server.h"

/* the actions we may take, and the protocol steps we ask the MTA for:
 * no DATA or unknown commands, no replies where we only listen, and
 * header values exactly as sent (DKIM simple canonicalisation) */
#define MC_ACTIONS                                                             \
	(MPA_ADDHDRS | MPA_CHGHDRS | MPA_QUARANTINE | MPA_SETSYMLIST)
#define MC_STEPS                                                               \
	(MPP_NOUNKNOWN | MPP_NODATA | MPP_NR_CONN | MPP_NR_HELO |              \
	 MPP_NR_MAIL | MPP_NR_RCPT | MPP_NR_HDR | MPP_NR_EOH | MPP_NR_BODY |   \
	 MPP_HDR_LEADSPC)

struct mmsg {
	struct engine_msg *em;
	char queue_id[64];
	unsigned nrcpts;
	bool local;    /* arrived through sendmail(1): non_smtpd_milters */
	bool eoh_done; /* engine_msg_eoh called */
};

struct mconn {
	struct milter_engine *me; /* the engine this connection uses */
	struct engine_conn *ec;
	unsigned long seq;     /* connection number, for logs */
	char client_ip[INET6_ADDRSTRLEN];
	struct mmsg *msg;
	unsigned nmsgs; /* messages seen on this connection */
	struct milter_shared *shared;
};

/* mc_get - this connection's state, or NULL */
static struct mconn *
mc_get(struct mserver_sess *ctx)
{
	return mserver_sess_priv(ctx);
}

/* mc_shared - what every session shares */
static struct milter_shared *
mc_shared(struct mserver_sess *ctx)
{
	return mserver_arg(ctx);
}

/* mc_new - state for a new connection, holding the current engine */
static struct mconn *
mc_new(struct mserver_sess *ctx)
{
	struct mconn *mc = calloc(1, sizeof(*mc));

	if (mc == NULL)
		return NULL;
	mc->me = milter_shared_acquire(mc_shared(ctx), &mc->seq);
	if (mc->me == NULL) {
		/* the daemon is stopping: pass this connection untouched */
		free(mc);
		return NULL;
	}
	mc->shared = mc_shared(ctx);
	mserver_sess_set_priv(ctx, mc);
	return mc;
}

/* mc_msg_free - end of one message's state */
static void
mc_msg_free(struct mconn *mc)
{
	struct mmsg *m = mc->msg;

	if (m == NULL)
		return;
	engine_msg_free(m->em);
	free(m);
	mc->msg = NULL;
	milter_shared_msg_end(mc->shared);
}

/* mc_update_queue_id - take {i} when the MTA has it (Postfix sends it at
 * DATA over SMTP but already at MAIL for sendmail(1) submissions) */
static void
mc_update_queue_id(struct mserver_sess *ctx, struct mmsg *m)
{
	const char *qid = mserver_sess_macro(ctx, "i");

	if (m != NULL && qid != NULL && *qid != '\0')
		milter_sanitize(m->queue_id, sizeof(m->queue_id), qid);
}

/* mc_negotiate - agree on actions and steps; allocate connection state */
static void
mc_negotiate(struct mserver_sess *ctx, struct mserver_neg *neg)
{
	struct mconn *mc = mc_get(ctx);

	if (mc == NULL)
		mc = mc_new(ctx);
	neg->actions = MC_ACTIONS;
	neg->steps = MC_STEPS;
	/* the queue id where Sendmail would not send it by default */
	neg->symlists[MPM_ENVFROM] = "i {auth_authen} {auth_type}";
	neg->symlists[MPM_EOH] = "i";
	neg->symlists[MPM_EOM] = "i";
	if ((neg->mta_actions & (MPA_ADDHDRS | MPA_CHGHDRS)) !=
	    (MPA_ADDHDRS | MPA_CHGHDRS))
		mlog(LOG_WARNING,
		     "MTA offers no header edits (actions 0x%lx): mail will "
		     "pass untagged",
		     (unsigned long)neg->mta_actions);
}

/* mc_connect - a new SMTP client: its address decides trust and SPF */
static enum mserver_verdict
mc_connect(struct mserver_sess *ctx, const char *hostname, const char *addr)
{
	struct mconn *mc = mc_get(ctx);

	if (mc == NULL && (mc = mc_new(ctx)) == NULL)
		return MV_ACCEPT; /* stopping, or no memory: pass it */
	snprintf(mc->client_ip, sizeof(mc->client_ip), "%s", addr);
	engine_conn_free(mc->ec);
	mc->ec = engine_conn_new(mc->me->eng, mc->client_ip);
	if (mc->ec == NULL)
		mlog(LOG_WARNING,
		     "conn %lu: out of memory for client [%s]: its mail will "
		     "pass untagged",
		     mc->seq, mc->client_ip);
	/* the name is for InternalHosts and PeerList entries that are names */
	engine_conn_client_name(mc->ec, hostname);
	if (engine_conn_is_peer(mc->ec)) {
		mlog(LOG_INFO, "conn %lu: client [%s] is in PeerList: its mail "
			       "passes unchecked",
		     mc->seq, mc->client_ip);
		return MV_ACCEPT;
	}
	return MV_CONTINUE;
}

/* mc_helo - the HELO/EHLO name, for SPF's HELO identity */
static enum mserver_verdict
mc_helo(struct mserver_sess *ctx, const char *helo)
{
	struct mconn *mc = mc_get(ctx);

	if (mc != NULL && mc->ec != NULL)
		engine_conn_helo(mc->ec, helo);
	return MV_CONTINUE;
}

/* mc_envfrom - a new message: SPF runs here, once the sender is known */
static enum mserver_verdict
mc_envfrom(struct mserver_sess *ctx, const char *arg)
{
	struct mconn *mc = mc_get(ctx);
	const char *auth;
	struct mmsg *m;

	if (mc == NULL)
		return MV_CONTINUE;
	mc_msg_free(mc); /* a message the MTA never ended nor aborted */
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		mlog(LOG_WARNING,
		     "conn %lu: out of memory for a message: it "
		     "will pass untagged",
		     mc->seq);
		return MV_CONTINUE;
	}
	mc->msg = m;
	mc->nmsgs++;
	milter_shared_msg_begin(mc->shared);
	mc_update_queue_id(ctx, m);
	/* Postfix's sendmail(1) path: the address comes without <> and the
	 * queue id is already known at MAIL; over SMTP neither is true */
	m->local = arg[0] != '<' && m->queue_id[0] != '\0';
	if (mc->ec == NULL)
		return MV_CONTINUE;
	auth = mserver_sess_macro(ctx, "auth_authen");
	if (auth != NULL && *auth != '\0')
		engine_conn_auth(mc->ec, auth);
	if ((m->em = engine_msg_new(mc->ec)) == NULL) {
		mlog(LOG_WARNING,
		     "conn %lu: out of memory for a message: it will pass "
		     "untagged",
		     mc->seq);
		return MV_CONTINUE;
	}
	if (m->local)
		engine_msg_local(m->em);
	engine_msg_mailfrom(m->em, arg);
	return MV_CONTINUE;
}

/* mc_envrcpt - one recipient */
static enum mserver_verdict
mc_envrcpt(struct mserver_sess *ctx, const char *arg)
{
	struct mconn *mc = mc_get(ctx);

	if (mc != NULL && mc->msg != NULL) {
		mc->msg->nrcpts++;
		engine_msg_rcpt(mc->msg->em, arg);
	}
	return MV_CONTINUE;
}

/* mc_header - one header field; the value as sent when LEADSPC holds */
static enum mserver_verdict
mc_header(struct mserver_sess *ctx, const char *name, const char *value)
{
	struct mconn *mc = mc_get(ctx);
	struct mmsg *m = mc != NULL ? mc->msg : NULL;

	if (m == NULL || m->em == NULL || name == NULL || value == NULL)
		return MV_CONTINUE;
	if (mserver_sess_steps(ctx) & MPP_HDR_LEADSPC) {
		engine_msg_header(m->em, name, value);
	} else {
		/* the MTA stripped the space after the colon; put back the
		 * usual one so that simple canonicalisation has a chance */
		char *v;

		if (asprintf(&v, " %s", value) < 0) {
			engine_msg_lost(m->em);
			engine_msg_header(m->em, name, value);
		} else {
			engine_msg_header(m->em, name, v);
			free(v);
		}
	}
	return MV_CONTINUE;
}

/* mc_eoh - end of the header section */
static enum mserver_verdict
mc_eoh(struct mserver_sess *ctx)
{
	struct mconn *mc = mc_get(ctx);
	struct mmsg *m = mc != NULL ? mc->msg : NULL;

	if (m != NULL) {
		mc_update_queue_id(ctx, m);
		if (m->em != NULL && !m->eoh_done)
			engine_msg_eoh(m->em);
		m->eoh_done = true;
	}
	return MV_CONTINUE;
}

/* mc_body - a body chunk, streamed into the DKIM hashes */
static enum mserver_verdict
mc_body(struct mserver_sess *ctx, const unsigned char *data, size_t len)
{
	struct mconn *mc = mc_get(ctx);
	struct mmsg *m = mc != NULL ? mc->msg : NULL;

	if (m != NULL && m->em != NULL) {
		/* an MTA that skipped end-of-header still gets a body
		 * that the engine sees after its headers */
		if (!m->eoh_done) {
			engine_msg_eoh(m->em);
			m->eoh_done = true;
		}
		engine_msg_body(m->em, data, len);
	}
	return MV_CONTINUE;
}

/* mc_apply_edits - remove forged headers, then insert ours at the top;
 * -1 when an edit failed: a forged header may still be there, or only
 * some of our headers were added (a partial tag is a wrong one) */
static int
mc_apply_edits(struct mserver_sess *ctx, struct mconn *mc,
	       const struct engine_edits *ed)
{
	/* on the stack: a failed allocation here must not drop one header
	 * of the set (the engine keeps each under ENGINE_HEADER_MAX) */
	char v[ENGINE_HEADER_MAX + 2];
	int failed = 0;

	/* removals first and in the engine's order (highest index first):
	 * our own header, inserted after, must not shift their indexes */
	for (size_t i = 0; i < ed->nremove; i++) {
		if (mserver_sess_chgheader(ctx, ed->remove[i].index,
					   ed->remove[i].name, NULL) != 0) {
			mlog(LOG_WARNING,
			     "%s: could not remove forged %s header #%u",
			     mc->msg->queue_id, ed->remove[i].name,
			     ed->remove[i].index);
			failed = -1;
		}
	}
	if (ed->cut_from > 0)
		mlog(LOG_WARNING, "%s: %s header of %zu bytes cut to %zu",
		     mc->msg->queue_id, ed->insert[ed->cut_index].name,
		     ed->cut_from, strlen(ed->insert[ed->cut_index].value));
	/* inserted at index 0 in reverse, so they end up in list order */
	for (size_t i = ed->ninsert; i-- > 0 && failed == 0;) {
		const struct header_edit *h = &ed->insert[i];

		/* with LEADSPC the MTA adds no space after the colon */
		snprintf(v, sizeof(v), "%s%s",
			 mserver_sess_steps(ctx) & MPP_HDR_LEADSPC ? " " : "",
			 h->value);
		if (mserver_sess_insheader(ctx, 0, h->name, v) != 0) {
			mlog(LOG_WARNING, "%s: could not add the %s header",
			     mc->msg->queue_id, h->name);
			failed = -1;
		}
	}
	return failed;
}

/*
 * mc_apply_action - apply the engine's action; the word for the log in
 * *word (left as it is for accept)
 */
static enum mserver_verdict
mc_apply_action(struct mserver_sess *ctx, struct mconn *mc,
		struct engine_action *act, const char **word)
{
	switch (act->kind) {
	case ENGINE_REJECT:
		(void)mserver_sess_setreply(ctx, act->code, act->xcode,
					    act->text);
		*word = "rejected";
		return MV_REJECT;
	case ENGINE_TEMPFAIL:
		(void)mserver_sess_setreply(ctx, act->code, act->xcode,
					    act->text);
		*word = "tempfailed";
		return MV_TEMPFAIL;
	case ENGINE_QUARANTINE:
		if (mserver_sess_quarantine(ctx, act->text) != 0) {
			mlog(LOG_WARNING, "%s: could not quarantine",
			     mc->msg->queue_id);
			return MV_ACCEPT;
		}
		*word = "quarantined";
		return MV_ACCEPT;
	case ENGINE_ACCEPT:
		break;
	}
	return MV_ACCEPT;
}

/* mc_eom - end of message: the engine's edits and action, applied */
static enum mserver_verdict
mc_eom(struct mserver_sess *ctx)
{
	struct mconn *mc = mc_get(ctx);
	struct mmsg *m = mc != NULL ? mc->msg : NULL;
	struct engine_edits edits = {0};
	const struct auth_results *res = NULL;
	const char *action = "tagged";
	char from[RES_DOMAIN_MAX + 32], mail[RES_DOMAIN_MAX];
	struct engine_score_log score = {0};
	bool trusted, scored;
	enum mserver_verdict rc;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (m == NULL) {
		/* no state at all: whether a forged claim is in it is
		 * unknown, so it must not pass (mc is NULL only when the
		 * daemon is stopping: then it passes untouched) */
		if (mc == NULL)
			return MV_ACCEPT;
		engine_tempfail(&edits, "out of memory");
		mlog(LOG_WARNING,
		     "conn %lu: end of a message we hold no state for: %s %s",
		     mc->seq, edits.action.code, edits.action.xcode);
		(void)mserver_sess_setreply(ctx, edits.action.code,
					    edits.action.xcode,
					    edits.action.text);
		return MV_TEMPFAIL;
	}
	mc_update_queue_id(ctx, m);
	trusted = mc->ec != NULL && engine_conn_is_trusted(mc->ec);
	if (m->em == NULL) {
		engine_tempfail(&edits, "out of memory");
		action = "untagged (no memory)";
	} else {
		if (!m->eoh_done)
			engine_msg_eoh(m->em);
		m->eoh_done = true;
		engine_msg_queue_id(m->em, m->queue_id);
		if (engine_msg_eom(m->em, &edits) != 0)
			mlog(LOG_WARNING,
			     "%s: out of memory: %s", m->queue_id,
			     edits.action.kind == ENGINE_TEMPFAIL
				 ? "tempfailed"
				 : "forged headers removed, not tagged");
		if (edits.incomplete || edits.action.kind == ENGINE_TEMPFAIL)
			action = "untagged (no memory)";
		else
			res = engine_msg_results(m->em);
	}
	/* a forged header still in it, or a partial tag: it must not
	 * reach a mailbox that way; the MTA keeps it and the client
	 * retries */
	if (mc_apply_edits(ctx, mc, &edits) != 0)
		engine_tempfail(&edits, "a header edit failed");
	rc = mc_apply_action(ctx, mc, &edits.action, &action);
	milter_sanitize(mail, sizeof(mail),
			m->em != NULL ? engine_msg_mail_domain(m->em) : "");
	if (m->em == NULL)
		snprintf(from, sizeof(from), "(no memory)");
	else if (*engine_msg_from_domain(m->em) == '(') /* our own words */
		snprintf(from, sizeof(from), "%s",
			 engine_msg_from_domain(m->em));
	else
		milter_sanitize(from, sizeof(from),
				engine_msg_from_domain(m->em));
	scored = res != NULL && engine_msg_score_log(m->em, &score);
	milter_summary(
	    &(struct milter_msg_info){
		.queue_id = m->queue_id,
		.client_ip = mc->client_ip,
		.mail_domain = mail,
		.from_domain = from,
		.nrcpts = m->nrcpts,
		.local = m->local,
		.trusted = trusted,
		.action = action,
		.sign = m->em != NULL ? engine_msg_sign_log(m->em) : "",
		.seal = m->em != NULL ? engine_msg_arc_log(m->em) : "",
		.scored = scored,
		.score = score,
		.log_why = mc->me != NULL && mc->me->cfg->log_why,
	    },
	    res);
	if (m->em != NULL) {
		/* the quota's reason: Postfix logs only "milter triggers
		 * HOLD action", so this line is where it is kept */
		bool warn = false;
		const char *ob = engine_msg_outbound_log(m->em, &warn);

		if (ob[0] != '\0') {
			char line[900];
			size_t i;

			for (i = 0; ob[i] != '\0' && i + 1 < sizeof(line); i++)
				line[i] = (unsigned char)ob[i] >= 32 &&
						  ob[i] != 127 && ob[i] != '%'
					      ? ob[i]
					      : '?';
			line[i] = '\0';
			mlog(warn ? LOG_WARNING : LOG_INFO, "%s: %s",
			     m->queue_id[0] ? m->queue_id : "NOQUEUE", line);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	{
		const char *sign = m->em != NULL ? engine_msg_sign_log(m->em)
						 : "";

		milter_metrics_message(
		    mc->shared->metrics, res, action,
		    sign[0] != '\0' && strncmp(sign, "no(", 3) != 0,
		    (unsigned)edits.nremove, scored,
		    scored && score.score >= score.required,
		    scored && score.problems[0] != '\0',
		    (double)(t1.tv_sec - t0.tv_sec) +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	engine_edits_free(&edits);
	mc_msg_free(mc);
	return rc;
}

/* mc_abort - the message was aborted (RSET, or the client went away) */
static void
mc_abort(struct mserver_sess *ctx)
{
	struct mconn *mc = mc_get(ctx);

	if (mc != NULL)
		mc_msg_free(mc);
}

/* mc_close - the end of the connection: free everything it held */
static void
mc_close(struct mserver_sess *ctx)
{
	struct mconn *mc = mc_get(ctx);

	if (mc == NULL)
		return;
	mc_msg_free(mc);
	engine_conn_free(mc->ec);
	milter_shared_release(mc->shared, mc->me);
	mserver_sess_set_priv(ctx, NULL);
	free(mc);
}

/* the steps server.c calls */
const struct mserver_ops milter_callbacks = {
    .negotiate = mc_negotiate,
    .connect = mc_connect,
    .helo = mc_helo,
    .mail = mc_envfrom,
    .rcpt = mc_envrcpt,
    .header = mc_header,
    .eoh = mc_eoh,
    .body = mc_body,
    .eom = mc_eom,
    .abort = mc_abort,
    .close = mc_close,
};
