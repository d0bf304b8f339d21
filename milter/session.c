/*
 * session.c - one MTA connection of the milter server: its protocol
 *
 * Owns what a struct mserver_sess holds between reads: the protocol
 * state, the macros of each stage, a partial frame or the rest of a body
 * chunk being streamed, the reply text of a reject and the replies not
 * yet written. Each command read is decoded by proto.c, checked against
 * the order rules, handed to the filter's step (struct mserver_ops) and
 * answered unless the MTA agreed to no reply; the calls the filter makes
 * back (macros, header edits, quarantine, reply text) are here too.
 * server.c owns the socket, the workers and the session list.
 */
#include "build.h" /* first: feature macros */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "server_int.h"

/* the stages in the order a session goes through them */
static const int stage_order[MPM_COUNT] = {MPM_CONNECT, MPM_HELO,
					   MPM_ENVFROM, MPM_ENVRCPT,
					   MPM_DATA, MPM_EOH, MPM_EOM};

/* macros_clear_after - a command of this stage runs: the macros of the
 * stages after it belong to what came before (an earlier message) */
static void
macros_clear_after(struct mserver_sess *s, int stage)
{
	bool after = stage < 0;

	for (int i = 0; i < MPM_COUNT; i++) {
		if (after)
			sb_truncate(&s->mac[stage_order[i]], 0);
		if (stage_order[i] == stage)
			after = true;
	}
}

/* mserver_sess_macro - a macro's value from the latest stage with it */
const char *
mserver_sess_macro(struct mserver_sess *s, const char *name)
{
	size_t nl = strlen(name);

	if (nl >= 2 && name[0] == '{' && name[nl - 1] == '}') {
		name++;
		nl -= 2;
	}
	for (int i = MPM_COUNT; i-- > 0;) {
		const struct strbuf *m = &s->mac[stage_order[i]];
		const char *n, *v;
		size_t pos = 0, len;

		while (mproto_macro_next(m->s, m->len, &pos, &n, &len, &v))
			if (len == nl && memcmp(n, name, nl) == 0)
				return v;
	}
	return NULL;
}

/* ---- what the filter may ask for ----------------------------------- */

void *
mserver_arg(const struct mserver_sess *s)
{
	return s->srv->conf.arg;
}

void *
mserver_sess_priv(const struct mserver_sess *s)
{
	return s->priv;
}

void
mserver_sess_set_priv(struct mserver_sess *s, void *priv)
{
	s->priv = priv;
}

uint32_t
mserver_sess_steps(const struct mserver_sess *s)
{
	return s->steps;
}

uint32_t
mserver_sess_actions(const struct mserver_sess *s)
{
	return s->actions;
}

/* mserver_sess_insheader - insert a field at index (0: the top) */
int
mserver_sess_insheader(struct mserver_sess *s, uint32_t index,
		       const char *name, const char *value)
{
	if (!(s->actions & MPA_ADDHDRS))
		return -1;
	mproto_put_header(&s->out, MPR_INSHEADER, index, name, value);
	return sb_failed(&s->out) ? -1 : 0;
}

/* mserver_sess_chgheader - change the index-th field named name (from
 * 1); NULL or "" as value removes it */
int
mserver_sess_chgheader(struct mserver_sess *s, uint32_t index,
		       const char *name, const char *value)
{
	if (!(s->actions & MPA_CHGHDRS))
		return -1;
	mproto_put_header(&s->out, MPR_CHGHEADER, index, name,
			  value != NULL ? value : "");
	return sb_failed(&s->out) ? -1 : 0;
}

/* mserver_sess_quarantine - put the message in the MTA's hold queue */
int
mserver_sess_quarantine(struct mserver_sess *s, const char *reason)
{
	if (!(s->actions & MPA_QUARANTINE) || reason == NULL ||
	    reason[0] == '\0')
		return -1;
	mproto_put_str(&s->out, MPR_QUARANTINE, reason);
	return sb_failed(&s->out) ? -1 : 0;
}

/* mserver_sess_setreply - the reply a reject or tempfail carries */
int
mserver_sess_setreply(struct mserver_sess *s, const char *code,
		      const char *xcode, const char *text)
{
	int n;

	if (code == NULL || strlen(code) != 3 || (code[0] != '4' &&
						  code[0] != '5') ||
	    strspn(code, "0123456789") != 3 ||
	    (text != NULL && strpbrk(text, "\r\n") != NULL))
		return -1;
	n = snprintf(s->reply, sizeof(s->reply), "%s %s %s", code,
		     xcode != NULL ? xcode : "", text != NULL ? text : "");
	if (n < 0 || (size_t)n >= sizeof(s->reply)) {
		s->reply[0] = '\0';
		return -1;
	}
	return 0;
}

/* ---- one command --------------------------------------------------- */

/* sess_negotiate - the MTA's offer, the filter's wishes, the reply */
static int
sess_negotiate(struct mserver_sess *s, const struct mproto_cmd *cmd)
{
	struct mserver *srv = s->srv;
	struct mserver_neg neg = {.mta_actions = cmd->u.optneg.actions,
				  .mta_steps = cmd->u.optneg.steps};
	uint32_t version = cmd->u.optneg.version;

	if (version < MPROTO_VERSION_MIN) {
		mserver_log(srv, LOG_WARNING,
			"MTA speaks milter protocol version %u: too old, "
			"connection dropped",
			version);
		return -1;
	}
	macros_clear_after(s, -1);
	if (srv->conf.ops->negotiate != NULL)
		srv->conf.ops->negotiate(s, &neg);
	s->actions = neg.actions & neg.mta_actions;
	/* steps the MTA does not know cannot be agreed: for a reply it
	 * still expects, sess_reply sends "continue" */
	s->steps = neg.steps & neg.mta_steps;
	mproto_put_optneg(&s->out,
			  version < MPROTO_VERSION ? version : MPROTO_VERSION,
			  s->actions, s->steps,
			  s->actions & MPA_SETSYMLIST ? neg.symlists : NULL);
	return 0;
}

/* sess_reply - the verdict on the wire, unless the MTA agreed to none */
static void
sess_reply(struct mserver_sess *s, char cmd, enum mserver_verdict v)
{
	uint32_t nr = mproto_nr_flag(cmd);

	if (v != MV_CONTINUE)
		mproto_after_verdict(&s->state, cmd);
	if (!mproto_wants_reply(cmd) || (nr != 0 && (s->steps & nr))) {
		s->reply[0] = '\0';
		return;
	}
	switch (v) {
	case MV_CONTINUE:
		mproto_put(&s->out, MPR_CONTINUE, NULL, 0);
		break;
	case MV_ACCEPT:
		mproto_put(&s->out, MPR_ACCEPT, NULL, 0);
		break;
	case MV_REJECT:
	case MV_TEMPFAIL:
		if (s->reply[0] == (v == MV_REJECT ? '5' : '4'))
			mproto_put_str(&s->out, MPR_REPLYCODE, s->reply);
		else
			mproto_put(&s->out,
				   v == MV_REJECT ? MPR_REJECT : MPR_TEMPFAIL,
				   NULL, 0);
		break;
	}
	if (v != MV_CONTINUE || cmd == MPC_BODYEOB)
		s->reply[0] = '\0';
}

/* client_addr - the client's address as text, normalised ("" if none) */
static void
client_addr(const struct mproto_cmd *cmd, char *buf, size_t len)
{
	const char *a = cmd->u.connect.addr;
	unsigned char bin[sizeof(struct in6_addr)];

	buf[0] = '\0';
	if (cmd->u.connect.family == '4') {
		if (inet_pton(AF_INET, a, bin) == 1)
			inet_ntop(AF_INET, bin, buf, (socklen_t)len);
	} else if (cmd->u.connect.family == '6') {
		if (strncasecmp(a, "IPv6:", 5) == 0)
			a += 5;
		if (inet_pton(AF_INET6, a, bin) == 1)
			inet_ntop(AF_INET6, bin, buf, (socklen_t)len);
	}
}

/* eom_nomem - the edits of a message did not all fit in memory: none
 * of them may go (a partial tag is a wrong one), the message is
 * tempfailed instead; -1 (nothing at all is sent, the MTA applies its
 * default action) when not even that can be built */
static int
eom_nomem(struct mserver_sess *s, size_t mark)
{
	struct strbuf nb = STRBUF_INIT;

	sb_putn(&nb, s->out.s, mark);
	if (s->reply[0] == '4')
		mproto_put_str(&nb, MPR_REPLYCODE, s->reply);
	else
		mproto_put(&nb, MPR_TEMPFAIL, NULL, 0);
	sb_free(&s->out);
	s->reply[0] = '\0';
	mproto_after_verdict(&s->state, MPC_BODYEOB);
	if (sb_failed(&nb)) {
		sb_free(&nb);
		mserver_log(s->srv, LOG_WARNING,
			    "out of memory for the edits of a message: "
			    "connection dropped, nothing sent");
		return -1;
	}
	s->out = nb;
	mserver_log(s->srv, LOG_WARNING,
		    "out of memory for the edits of a message: none sent, "
		    "tempfailed");
	return 0;
}

/* sess_dispatch - run one command that the protocol state allows */
static int
sess_dispatch(struct mserver_sess *s, const struct mproto_cmd *cmd)
{
	const struct mserver_ops *ops = s->srv->conf.ops;
	enum mserver_verdict v = MV_CONTINUE;
	char addr[INET6_ADDRSTRLEN];
	int stage;

	switch (cmd->code) {
	case MPC_OPTNEG:
		return sess_negotiate(s, cmd);
	case MPC_MACRO:
		if ((stage = mproto_macro_stage(cmd->u.macro.for_cmd)) >= 0) {
			sb_truncate(&s->mac[stage], 0);
			sb_putn(&s->mac[stage], cmd->u.macro.pairs,
				cmd->u.macro.len);
		}
		return 0;
	case MPC_CONNECT:
		macros_clear_after(s, MPM_CONNECT);
		client_addr(cmd, addr, sizeof(addr));
		if (ops->connect != NULL)
			v = ops->connect(s, cmd->u.connect.host, addr);
		break;
	case MPC_HELO:
		macros_clear_after(s, MPM_HELO);
		if (ops->helo != NULL)
			v = ops->helo(s, cmd->u.str.arg);
		break;
	case MPC_MAIL:
		macros_clear_after(s, MPM_ENVFROM);
		s->reply[0] = '\0';
		if (ops->mail != NULL)
			v = ops->mail(s, cmd->u.str.arg);
		break;
	case MPC_RCPT:
		macros_clear_after(s, MPM_ENVRCPT);
		if (ops->rcpt != NULL)
			v = ops->rcpt(s, cmd->u.str.arg);
		break;
	case MPC_HEADER:
		if (ops->header != NULL)
			v = ops->header(s, cmd->u.header.name,
					cmd->u.header.value);
		break;
	case MPC_EOH:
		if (ops->eoh != NULL)
			v = ops->eoh(s);
		break;
	case MPC_BODY:
		if (ops->body != NULL)
			v = ops->body(s, (const unsigned char *)cmd->data,
				      cmd->len);
		break;
	case MPC_BODYEOB: {
		size_t mark = s->out.len;

		/* a last chunk may come with the end of the message */
		if (cmd->len > 0 && ops->body != NULL)
			(void)ops->body(s, (const unsigned char *)cmd->data,
					cmd->len);
		if (ops->eom != NULL)
			v = ops->eom(s);
		if (sb_failed(&s->out))
			return eom_nomem(s, mark);
		break;
	}
	case MPC_ABORT:
		s->reply[0] = '\0';
		if (ops->abort != NULL)
			ops->abort(s);
		return 0;
	case MPC_QUIT_NC:
		/* the MTA keeps the connection for its next SMTP session */
		if (ops->close != NULL)
			ops->close(s);
		macros_clear_after(s, -1);
		return 0;
	default:
		/* DATA, UNKNOWN: nothing to check; QUIT: nothing to say */
		break;
	}
	sess_reply(s, cmd->code, v);
	return 0;
}

/* sess_frame - one whole frame; -1 ends the connection */
static int
sess_frame(struct mserver_sess *s, const unsigned char *f, size_t len)
{
	struct mserver *srv = s->srv;
	struct mproto_cmd cmd;
	struct mproto_step st;

	if (mproto_decode(f, len, &cmd) != 0) {
		mserver_log(srv, LOG_WARNING,
			"MTA sent a malformed '%c' command (%zu bytes): "
			"connection dropped",
			(unsigned char)f[4] >= 32 && f[4] < 127 ? f[4] : '?',
			len);
		return -1;
	}
	st = mproto_transition(&s->state, cmd.code, s->steps);
	if (!st.known) {
		mserver_log(srv, LOG_WARNING,
			"MTA sent unknown command 0x%02x: connection dropped",
			(unsigned char)cmd.code);
		return -1;
	}
	if (st.abort && srv->conf.ops->abort != NULL)
		srv->conf.ops->abort(s);
	if (st.run && sess_dispatch(s, &cmd) != 0)
		return -1;
	if (sb_failed(&s->out)) {
		mserver_log(srv, LOG_WARNING,
			"out of memory for a reply: connection dropped");
		return -1;
	}
	return st.end ? -1 : 0;
}

/* sess_flush - write every reply; -1 when the MTA cannot take them */
static int
sess_flush(struct mserver_sess *s)
{
	size_t off = 0;
	int rc = 0;

	while (off < s->out.len) {
		ssize_t n = send(s->fd, s->out.s + off, s->out.len - off,
				 MSG_NOSIGNAL);
		struct pollfd p = {.fd = s->fd, .events = POLLOUT};

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    poll(&p, 1, MSERVER_WRITE_MS) > 0)
			continue;
		rc = -1;
		break;
	}
	if (s->out.cap > MSERVER_KEEP_OUT)
		sb_free(&s->out);
	else
		sb_truncate(&s->out, 0);
	return rc;
}

/* pend_room - room for a partial frame of need bytes; -1 no memory */
static int
pend_room(struct mserver_sess *s, size_t need)
{
	unsigned char *b;

	if (s->pend_cap >= need)
		return 0;
	if ((b = realloc(s->pend, need)) == NULL)
		return -1;
	s->pend = b;
	s->pend_cap = need;
	return 0;
}

/* pend_done - the partial frame was used up */
static void
pend_done(struct mserver_sess *s)
{
	s->pend_len = 0;
	if (s->pend_cap > MSERVER_KEEP_PENDING) {
		free(s->pend);
		s->pend = NULL;
		s->pend_cap = 0;
	}
}

/* too_big - the one log line for an oversized frame */
static int
too_big(struct mserver_sess *s)
{
	mserver_log(s->srv, LOG_WARNING,
		"MTA sent a frame over %d bytes: connection dropped",
		MPROTO_FRAME_MAX);
	return -1;
}

/* stream_start - a body chunk whose frame is not all here: its step
 * starts now and its bytes go to the filter as they arrive, so a
 * connection in the middle of a big message holds no chunk buffer */
static void
stream_start(struct mserver_sess *s, size_t datalen)
{
	struct mproto_step st =
	    mproto_transition(&s->state, MPC_BODY, s->steps);

	if (st.abort && s->srv->conf.ops->abort != NULL)
		s->srv->conf.ops->abort(s);
	s->stream_run = st.run;
	s->stream_left = datalen;
}

/* stream_feed - up to n bytes of the body chunk being streamed; the
 * bytes used */
static size_t
stream_feed(struct mserver_sess *s, const unsigned char *p, size_t n)
{
	size_t k = n < s->stream_left ? n : s->stream_left;

	if (k > 0 && s->stream_run && s->srv->conf.ops->body != NULL)
		(void)s->srv->conf.ops->body(s, p, k);
	s->stream_left -= k;
	if (s->stream_left == 0 && s->stream_run)
		sess_reply(s, MPC_BODY, MV_CONTINUE);
	return k;
}

/* pend_feed - bytes towards the partial frame: its header first, then
 * (unless it is a body chunk, which streams) the rest; the bytes used,
 * or -1 to end the connection */
static long
pend_feed(struct mserver_sess *s, const unsigned char *p, size_t n)
{
	size_t need = 5, k;
	long want = mproto_frame_len(s->pend, s->pend_len);

	if (want < 0)
		return too_big(s);
	if (s->pend_len >= 5)
		need = (size_t)want;
	if (pend_room(s, need) != 0)
		return -1;
	k = need - s->pend_len < n ? need - s->pend_len : n;
	memcpy(s->pend + s->pend_len, p, k);
	s->pend_len += k;
	if (s->pend_len < need)
		return (long)k;
	want = mproto_frame_len(s->pend, s->pend_len);
	if (want < 0)
		return too_big(s);
	if (s->pend_len < (size_t)want) {
		if (s->pend[4] == MPC_BODY) {
			stream_start(s, (size_t)want - 5);
			pend_done(s);
		}
		return (long)k;
	}
	if (sess_frame(s, s->pend, s->pend_len) != 0)
		return -1;
	pend_done(s);
	return (long)k;
}

/* sess_input - n bytes from the MTA: every whole command runs, a body
 * chunk cut short streams, anything else cut short waits in pend */
static int
sess_input(struct mserver_sess *s, const unsigned char *p, size_t n)
{
	while (n > 0) {
		long want;
		size_t used;

		if (s->stream_left > 0) {
			used = stream_feed(s, p, n);
		} else if (s->pend_len > 0) {
			long k = pend_feed(s, p, n);

			if (k < 0)
				return -1;
			used = (size_t)k;
		} else if ((want = mproto_frame_len(p, n)) < 0) {
			return too_big(s);
		} else if (want > 0 && (size_t)want <= n) {
			if (sess_frame(s, p, (size_t)want) != 0)
				return -1;
			used = (size_t)want;
		} else if (want > 0 && n >= 5 && p[4] == MPC_BODY) {
			stream_start(s, (size_t)want - 5);
			used = 5 + stream_feed(s, p + 5, n - 5);
		} else {
			if (pend_room(s, n < 5 ? 5 : n) != 0)
				return -1;
			memcpy(s->pend, p, n);
			s->pend_len = n;
			used = n;
		}
		p += used;
		n -= used;
	}
	return 0;
}

/* msess_serve - read what the socket holds, run each whole command in
 * it, write the replies; false when the connection is over */
bool
msess_serve(struct mserver_sess *s, unsigned char *buf)
{
	for (int round = 0; round < MSERVER_ROUNDS; round++) {
		ssize_t n = read(s->fd, buf, MSERVER_READ);

		if (n == 0)
			goto end;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			goto end;
		}
		if (sess_input(s, buf, (size_t)n) != 0)
			goto end;
		if ((size_t)n < MSERVER_READ)
			break; /* the socket is empty: no read for EAGAIN */
	}
	return sess_flush(s) == 0;
end:
	/* what was answered before the end, unless the replies are
	 * incomplete: then nothing (the MTA's default action) */
	if (sb_failed(&s->out))
		sb_free(&s->out);
	else
		(void)sess_flush(s);
	return false;
}

/* msess_free_parts - the session's buffers */
void
msess_free_parts(struct mserver_sess *s)
{
	free(s->pend);
	for (int i = 0; i < MPM_COUNT; i++)
		sb_free(&s->mac[i]);
	sb_free(&s->out);
}
