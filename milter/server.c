/*
 * server.c - the milter server: the listening socket, one event loop over
 * every MTA connection, a fixed pool of workers
 *
 * Owns struct mserver (the socket, the epoll set, the worker threads,
 * the list of sessions) and each struct mserver_sess (one MTA
 * connection: the protocol state, the macros, a partial frame, the
 * replies not yet written).
 *
 * Every worker waits on the one epoll set; a connection is armed
 * one-shot, so exactly one worker owns it from the moment data arrives
 * until it is armed again. That worker reads what the socket holds in
 * one read, runs every complete command in it (Postfix sends a whole
 * message's steps without waiting when no reply is agreed), writes the
 * replies in one write and arms the connection again. No thread per
 * connection, no poll per command. A checks step that waits for DNS
 * holds its worker, so the pool is sized for that (Workers); but only
 * as many workers as cores wait on the set, the others stay parked
 * until all of those are stuck inside a step (srv_watch, srv_rescuer).
 *
 * Memory per connection is bounded: a frame larger than MPROTO_FRAME_MAX
 * ends the connection; a body chunk that arrives in pieces goes to the
 * filter piece by piece; any other partial frame is kept in a buffer of
 * its own size only until it is complete, so an idle connection, or one
 * in the middle of a 10 MB body, holds no buffer.
 */
#include "build.h" /* first: feature macros */

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "server.h"
#include "strbuf.h"

#define MSERVER_READ 262144      /* one read: four of Postfix's body chunks */
#define MSERVER_ROUNDS 8         /* reads per turn before others get theirs */
#define MSERVER_ACCEPTS 64       /* accepts per turn */
#define MSERVER_WRITE_MS 30000   /* an MTA that does not read its replies */
#define MSERVER_KEEP_PENDING 4096 /* partial-frame buffers kept for reuse */
#define MSERVER_KEEP_OUT 65536    /* reply buffers kept for reuse */
#define MSERVER_EMFILE_MS 100     /* no descriptor: accept again after */
/* every watcher stuck this long: one more. Long enough that a watcher
 * only waiting for a core (the machine busy) rarely looks stuck, short
 * next to a DNS wait that goes out to the network */
#define MSERVER_RESCUE_MS 20

struct mserver_sess {
	int fd;
	struct mserver *srv;
	enum mproto_state state;
	uint32_t actions, steps; /* agreed with the MTA */
	unsigned char *pend;     /* a frame not yet complete */
	size_t pend_len, pend_cap;
	size_t stream_left;      /* bytes of a body chunk still to come */
	bool stream_run;         /* and whether its step runs */
	struct strbuf mac[MPM_COUNT]; /* each stage's name\0value\0 pairs */
	struct strbuf out;            /* replies not yet written */
	char reply[1024];             /* a reject's reply text, or "" */
	void *priv;
	struct mserver_sess *prev, *next;
};

struct mserver {
	struct mserver_conf conf;
	char *spec;
	int lfd, epfd, stopfd;
	char *unix_path; /* the socket file we made, removed at stop */
	dev_t unix_dev;
	ino_t unix_ino;
	pthread_mutex_t lmutex; /* lfd */
	pthread_mutex_t slock;  /* the session list */
	struct mserver_sess *sessions;
	pthread_t *threads;
	unsigned nthreads;
	time_t emfile_logged;
	/* how many workers wait on the epoll set at once: as many as
	 * cores, the rest parked until those are all busy in a step */
	pthread_mutex_t plock;
	pthread_cond_t parked_cv;
	unsigned watching, watchers, parked;
	unsigned long steps_done; /* turns finished, for the rescuer */
	bool stopping;
	pthread_t rescuer;
	bool rescuer_started;
};

/* srv_log - one line through the daemon's logger */
static void __attribute__((format(printf, 3, 4)))
srv_log(struct mserver *srv, int prio, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (srv->conf.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	srv->conf.log(prio, line);
}

/* ---- the listening socket ------------------------------------------ */

/* listen_unix - a unix socket at path */
static int
listen_unix(struct mserver *srv, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (stat(path, &st) == 0) {
		srv->unix_path = strdup(path);
		srv->unix_dev = st.st_dev;
		srv->unix_ino = st.st_ino;
	}
	return fd;
}

/* listen_inet - inet:PORT[@HOST] or inet6:PORT[@HOST]; no host: any */
static int
listen_inet(const char *spec, bool six, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
				 .ai_family = six ? AF_INET6 : AF_INET};
	struct addrinfo *res = NULL;
	char port[16], host[256];
	const char *at = strchr(spec, '@');
	int fd, rc, one = 1;

	snprintf(port, sizeof(port), "%.*s",
		 (int)(at != NULL ? (size_t)(at - spec) : strlen(spec)), spec);
	snprintf(host, sizeof(host), "%s", at != NULL ? at + 1 : "");
	/* [addr] as in Sendmail's configuration */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (port[0] == '\0' || strspn(port, "0123456789") != strlen(port)) {
		snprintf(err, errlen, "bad port \"%s\"", port);
		return -1;
	}
	rc = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* srv_listen - the listening socket for conf->spec */
static int
srv_listen(struct mserver *srv, char *err, size_t errlen)
{
	const char *spec = srv->spec;
	int fd;

	if (strncmp(spec, "unix:", 5) == 0)
		fd = listen_unix(srv, spec + 5, err, errlen);
	else if (strncmp(spec, "local:", 6) == 0)
		fd = listen_unix(srv, spec + 6, err, errlen);
	else if (spec[0] == '/')
		fd = listen_unix(srv, spec, err, errlen);
	else if (strncmp(spec, "inet:", 5) == 0)
		fd = listen_inet(spec + 5, false, err, errlen);
	else if (strncmp(spec, "inet6:", 6) == 0)
		fd = listen_inet(spec + 6, true, err, errlen);
	else {
		snprintf(err, errlen,
			 "not a socket (unix:/path, inet:port@host, "
			 "inet6:port@host)");
		return -1;
	}
	if (fd >= 0 && listen(fd, srv->conf.backlog > 0 ? srv->conf.backlog
							: SOMAXCONN) != 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- sessions ------------------------------------------------------ */

/* sess_new - a session for an accepted descriptor, in the list */
static struct mserver_sess *
sess_new(struct mserver *srv, int fd)
{
	struct mserver_sess *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->fd = fd;
	s->srv = srv;
	s->state = MPS_INIT;
	pthread_mutex_lock(&srv->slock);
	s->next = srv->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	srv->sessions = s;
	pthread_mutex_unlock(&srv->slock);
	return s;
}

/* sess_end - the connection is over: the filter's close, then free */
static void
sess_end(struct mserver_sess *s)
{
	struct mserver *srv = s->srv;

	if (mproto_in_message(s->state) && srv->conf.ops->abort != NULL)
		srv->conf.ops->abort(s);
	if (srv->conf.ops->close != NULL)
		srv->conf.ops->close(s);
	pthread_mutex_lock(&srv->slock);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&srv->slock);
	close(s->fd);
	free(s->pend);
	for (int i = 0; i < MPM_COUNT; i++)
		sb_free(&s->mac[i]);
	sb_free(&s->out);
	free(s);
}

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
		srv_log(srv, LOG_WARNING,
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
	case MPC_BODYEOB:
		/* a last chunk may come with the end of the message */
		if (cmd->len > 0 && ops->body != NULL)
			(void)ops->body(s, (const unsigned char *)cmd->data,
					cmd->len);
		if (ops->eom != NULL)
			v = ops->eom(s);
		break;
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
		srv_log(srv, LOG_WARNING,
			"MTA sent a malformed '%c' command (%zu bytes): "
			"connection dropped",
			(unsigned char)f[4] >= 32 && f[4] < 127 ? f[4] : '?',
			len);
		return -1;
	}
	st = mproto_transition(&s->state, cmd.code);
	if (!st.known) {
		srv_log(srv, LOG_WARNING,
			"MTA sent unknown command 0x%02x: connection dropped",
			(unsigned char)cmd.code);
		return -1;
	}
	if (st.abort && srv->conf.ops->abort != NULL)
		srv->conf.ops->abort(s);
	if (st.run && sess_dispatch(s, &cmd) != 0)
		return -1;
	if (sb_failed(&s->out)) {
		srv_log(srv, LOG_WARNING,
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
	srv_log(s->srv, LOG_WARNING,
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
	struct mproto_step st = mproto_transition(&s->state, MPC_BODY);

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

/* sess_serve - read what the socket holds, run each whole command in
 * it, write the replies; false when the connection is over */
static bool
sess_serve(struct mserver_sess *s, unsigned char *buf)
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
	(void)sess_flush(s); /* what was answered before the end */
	return false;
}

/* ---- workers ------------------------------------------------------- */

/* srv_arm - wait for the next data on fd (one-shot: one worker owns it) */
static int
srv_arm(struct mserver *srv, int fd, void *ptr, int op)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT,
				 .data.ptr = ptr};

	return epoll_ctl(srv->epfd, op, fd, &ev);
}

/* srv_accept - take the connections waiting, then listen again */
static void
srv_accept(struct mserver *srv)
{
	bool full = false;

	pthread_mutex_lock(&srv->lmutex);
	for (int i = 0; srv->lfd >= 0 && i < MSERVER_ACCEPTS; i++) {
		int fd = accept4(srv->lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct mserver_sess *s;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				time_t now = time(NULL);

				/* the MTA's connections wait in the backlog */
				if (now - srv->emfile_logged >= 10) {
					srv->emfile_logged = now;
					srv_log(srv, LOG_WARNING,
						"accept: %s: new MTA "
						"connections wait",
						strerror(errno));
				}
				full = true;
			}
			break;
		}
		if ((s = sess_new(srv, fd)) == NULL) {
			srv_log(srv, LOG_WARNING,
				"out of memory for an MTA connection: "
				"closed");
			close(fd);
			continue;
		}
		if (srv_arm(srv, fd, s, EPOLL_CTL_ADD) != 0) {
			srv_log(srv, LOG_WARNING, "epoll: %s: connection closed",
				strerror(errno));
			sess_end(s);
		}
	}
	pthread_mutex_unlock(&srv->lmutex);
	if (full)
		usleep(MSERVER_EMFILE_MS * 1000);
	pthread_mutex_lock(&srv->lmutex);
	if (srv->lfd >= 0)
		(void)srv_arm(srv, srv->lfd, &srv->lfd, EPOLL_CTL_MOD);
	pthread_mutex_unlock(&srv->lmutex);
}

/* srv_watch - wait to be one of the workers on the epoll set; false
 * when the server stops. Few watchers means the same few threads (warm
 * caches, one malloc arena each) take the events; the parked ones step
 * in only when the rescuer sees every watcher stuck (waiting for DNS) */
static bool
srv_watch(struct mserver *srv)
{
	bool go;

	pthread_mutex_lock(&srv->plock);
	while (srv->watching >= srv->watchers && !srv->stopping) {
		srv->parked++;
		pthread_cond_wait(&srv->parked_cv, &srv->plock);
		srv->parked--;
	}
	go = !srv->stopping;
	if (go)
		srv->watching++;
	pthread_mutex_unlock(&srv->plock);
	return go;
}

/* srv_unwatch - an event taken */
static void
srv_unwatch(struct mserver *srv)
{
	pthread_mutex_lock(&srv->plock);
	srv->watching--;
	pthread_mutex_unlock(&srv->plock);
}

/* srv_turn_done - a worker finished a turn (counted for the rescuer) */
static void
srv_turn_done(struct mserver *srv)
{
	pthread_mutex_lock(&srv->plock);
	srv->steps_done++;
	pthread_mutex_unlock(&srv->plock);
}

/* srv_rescuer - every MSERVER_RESCUE_MS: when nobody watches the set
 * and no worker finished a turn since the last look, every watcher is
 * stuck in a step (DNS): unpark one. A busy CPU wakes nobody extra */
static void *
srv_rescuer(void *arg)
{
	struct mserver *srv = arg;
	unsigned long last = 0;
	struct timespec nap = {0, MSERVER_RESCUE_MS * 1000000L};

	pthread_mutex_lock(&srv->plock);
	while (!srv->stopping) {
		if (srv->watching == 0 && srv->parked > 0 &&
		    srv->steps_done == last)
			pthread_cond_signal(&srv->parked_cv);
		last = srv->steps_done;
		pthread_mutex_unlock(&srv->plock);
		nanosleep(&nap, NULL);
		pthread_mutex_lock(&srv->plock);
	}
	pthread_mutex_unlock(&srv->plock);
	return NULL;
}

/* srv_worker - wait for a ready connection, serve it, arm it again */
static void *
srv_worker(void *arg)
{
	struct mserver *srv = arg;
	unsigned char *buf = malloc(MSERVER_READ);

	if (buf == NULL) {
		srv_log(srv, LOG_ERR, "out of memory for a worker");
		return NULL;
	}
	for (;;) {
		struct epoll_event ev;
		struct mserver_sess *s;
		int n;

		if (!srv_watch(srv))
			break;
		n = epoll_wait(srv->epfd, &ev, 1, -1);
		srv_unwatch(srv);
		if (n < 0 && errno != EINTR) {
			srv_log(srv, LOG_ERR, "epoll_wait: %s", strerror(errno));
			break;
		}
		if (n <= 0)
			continue;
		if (ev.data.ptr == &srv->stopfd)
			break;
		if (ev.data.ptr == &srv->lfd) {
			srv_accept(srv);
			continue;
		}
		s = ev.data.ptr;
		if (!sess_serve(s, buf))
			sess_end(s);
		else if (srv_arm(srv, s->fd, s, EPOLL_CTL_MOD) != 0)
			sess_end(s);
		srv_turn_done(srv);
	}
	free(buf);
	return NULL;
}

/* ---- the server ---------------------------------------------------- */

/* mserver_new - listen on conf->spec */
struct mserver *
mserver_new(const struct mserver_conf *conf, char *err, size_t errlen)
{
	struct mserver *srv = calloc(1, sizeof(*srv));

	if (srv == NULL || (srv->spec = strdup(conf->spec)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(srv);
		return NULL;
	}
	srv->conf = *conf;
	srv->conf.spec = srv->spec;
	srv->lfd = srv->epfd = srv->stopfd = -1;
	pthread_mutex_init(&srv->lmutex, NULL);
	pthread_mutex_init(&srv->slock, NULL);
	pthread_mutex_init(&srv->plock, NULL);
	pthread_cond_init(&srv->parked_cv, NULL);
	srv->watchers = conf->watchers;
	if (srv->watchers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		srv->watchers = n > 0 ? (unsigned)n : 1;
	}
	if ((srv->lfd = srv_listen(srv, err, errlen)) < 0)
		goto fail;
	if ((srv->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (srv->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	return srv;
fail:
	(void)mserver_free(srv, 0);
	return NULL;
}

/* mserver_start - the listening socket in the set, the workers */
int
mserver_start(struct mserver *srv)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &srv->stopfd};
	unsigned n = srv->conf.workers > 0 ? srv->conf.workers : 1;

	if ((srv->threads = calloc(n, sizeof(*srv->threads))) == NULL ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->stopfd, &ev) != 0 ||
	    srv_arm(srv, srv->lfd, &srv->lfd, EPOLL_CTL_ADD) != 0)
		return -1;
	for (; srv->nthreads < n; srv->nthreads++)
		if (pthread_create(&srv->threads[srv->nthreads], NULL,
				   srv_worker, srv) != 0)
			break;
	if (srv->nthreads > srv->watchers)
		srv->rescuer_started =
		    pthread_create(&srv->rescuer, NULL, srv_rescuer, srv) == 0;
	return srv->nthreads > 0 ? 0 : -1;
}

/* mserver_stop_listening - close the listening socket (and its file) */
void
mserver_stop_listening(struct mserver *srv)
{
	struct stat st;

	pthread_mutex_lock(&srv->lmutex);
	if (srv->lfd >= 0) {
		if (srv->epfd >= 0)
			(void)epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->lfd,
					NULL);
		close(srv->lfd);
		srv->lfd = -1;
		/* only the file we made: a new instance may own the path */
		if (srv->unix_path != NULL &&
		    stat(srv->unix_path, &st) == 0 &&
		    st.st_dev == srv->unix_dev && st.st_ino == srv->unix_ino)
			(void)unlink(srv->unix_path);
	}
	pthread_mutex_unlock(&srv->lmutex);
}

/* mserver_free - stop the workers, end every session, free */
int
mserver_free(struct mserver *srv, unsigned wait_ms)
{
	struct timespec until;
	uint64_t one = 1;
	bool stuck = false;

	if (srv == NULL)
		return 0;
	mserver_stop_listening(srv);
	pthread_mutex_lock(&srv->plock);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->parked_cv);
	pthread_mutex_unlock(&srv->plock);
	if (srv->stopfd >= 0)
		(void)!write(srv->stopfd, &one, sizeof(one));
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	for (unsigned i = 0; i < srv->nthreads; i++)
		if (pthread_timedjoin_np(srv->threads[i], NULL, &until) != 0)
			stuck = true;
	if (srv->rescuer_started)
		pthread_join(srv->rescuer, NULL);
	if (stuck) {
		srv_log(srv, LOG_WARNING,
			"a worker is still in a step after %u ms: not "
			"waiting for it",
			wait_ms);
		return -1;
	}
	while (srv->sessions != NULL)
		sess_end(srv->sessions);
	if (srv->epfd >= 0)
		close(srv->epfd);
	if (srv->stopfd >= 0)
		close(srv->stopfd);
	pthread_mutex_destroy(&srv->lmutex);
	pthread_mutex_destroy(&srv->slock);
	pthread_mutex_destroy(&srv->plock);
	pthread_cond_destroy(&srv->parked_cv);
	free(srv->threads);
	free(srv->unix_path);
	free(srv->spec);
	free(srv);
	return 0;
}
