/*
 * mgproto.c - the MTA side of the milter protocol, for the load generator
 *
 * Speaks milter protocol version 6 as Postfix 3.7's milter8.c does:
 * offers every action and protocol step, then skips each event the
 * milter negotiated away (SMFIP_NO*) together with its macros, sends a
 * macro packet and its command in one buffer, and reads a reply only
 * where the milter did not ask for none (SMFIP_NR_*). Headers go one by
 * one with their leading space removed and folded lines joined by "\n";
 * (unless the milter asked for SMFIP_HDR_LEADSPC, which keeps the space);
 * the body goes as CRLF text in chunks of at most 65,535 bytes. At end of
 * message every modification reply is read; added, inserted and changed
 * headers are applied to the caller's header list (so the next milter of
 * a chain sees them) and Authentication-Results values are reported.
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "mgproto.h"

#define MG_CHUNK    65535         /* Postfix's MILTER_CHUNK_SIZE */
#define MG_MAXREPLY (1024 * 1024) /* largest reply packet we accept */
#define MG_FLUSHAT  (256 * 1024)  /* write when this much is pending */

/* What Postfix 3.7 offers: every action, every step of protocol 6 */
#define MG_ACTIONS                                                             \
	(SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_DELRCPT |       \
	 SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_CHGFROM |                    \
	 SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST)
#define MG_PROTO 0x001FFFFFU

/* Postfix 3.7's default milter_*_macros, by stage */
static const char *const mg_default_macros[MG_NSTAGES] = {
    [MG_ST_CONNECT] = "j {daemon_name} {daemon_addr} v _",
    [MG_ST_HELO] = "{tls_version} {cipher} {cipher_bits} {cert_subject} "
		   "{cert_issuer}",
    [MG_ST_MAIL] = "i {auth_type} {auth_authen} {auth_author} {mail_addr} "
		   "{mail_host} {mail_mailer}",
    [MG_ST_RCPT] = "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
    [MG_ST_DATA] = "i",
    [MG_ST_EOM] = "i",
    [MG_ST_EOH] = "i",
};

/* mg_endpoint_parse - resolve unix:/path, inet:port@host, inet:host:port */
int
mg_endpoint_parse(struct mg_endpoint *ep, const char *spec)
{
	memset(ep, 0, sizeof *ep);
	ep->spec = strdup(spec);
	if (ep->spec == NULL)
		return -1;
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		const char *path = strchr(spec, ':') + 1;
		struct sockaddr_un *un = (struct sockaddr_un *)&ep->sa;

		if (strlen(path) >= sizeof un->sun_path)
			return -1;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, path);
		ep->salen = sizeof *un;
		return 0;
	}
	if (strncmp(spec, "inet:", 5) != 0)
		return -1;
	char host[256], port[32];
	const char *rest = spec + 5, *at = strchr(rest, '@');

	if (at != NULL) { /* Sendmail style: port@host */
		snprintf(port, sizeof port, "%.*s", (int)(at - rest), rest);
		snprintf(host, sizeof host, "%s", at + 1);
	} else if ((at = strrchr(rest, ':')) != NULL) { /* Postfix style */
		snprintf(host, sizeof host, "%.*s", (int)(at - rest), rest);
		snprintf(port, sizeof port, "%s", at + 1);
	} else {
		return -1;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;

	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	memcpy(&ep->sa, ai->ai_addr, ai->ai_addrlen);
	ep->salen = ai->ai_addrlen;
	ep->is_inet = true;
	freeaddrinfo(ai);
	return 0;
}

/* put - append one packet (command and data) to the output buffer */
static int
put(struct mg_conn *c, char cmd, const void *data, size_t len)
{
	if (c->outlen + len + 5 > c->outcap) {
		size_t cap = (c->outcap ? c->outcap : 8192);

		while (cap < c->outlen + len + 5)
			cap *= 2;
		char *p = realloc(c->out, cap);

		if (p == NULL)
			return -1;
		c->out = p;
		c->outcap = cap;
	}
	uint32_t n = htonl((uint32_t)len + 1);

	memcpy(c->out + c->outlen, &n, 4);
	c->out[c->outlen + 4] = cmd;
	if (len > 0)
		memcpy(c->out + c->outlen + 5, data, len);
	c->outlen += len + 5;
	return 0;
}

/* flush - write every pending packet */
static int
flush(struct mg_conn *c)
{
	size_t off = 0;

	while (off < c->outlen) {
		ssize_t w = write(c->fd, c->out + off, c->outlen - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	c->outlen = 0;
	return 0;
}

/* fill - read at least need bytes into the input buffer */
static int
fill(struct mg_conn *c, size_t need)
{
	if (c->inoff > 0 && c->inlen + need > sizeof c->in) {
		memmove(c->in, c->in + c->inoff, c->inlen - c->inoff);
		c->inlen -= c->inoff;
		c->inoff = 0;
	}
	while (c->inlen - c->inoff < need) {
		ssize_t r =
		    read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->inlen += (size_t)r;
	}
	return 0;
}

/* get_reply - read one reply packet; its data lands in c->pkt */
static int
get_reply(struct mg_conn *c, char *cmd, size_t *len)
{
	uint32_t n;

	if (fill(c, 5) < 0)
		return -1;
	memcpy(&n, c->in + c->inoff, 4);
	n = ntohl(n);
	if (n < 1 || n > MG_MAXREPLY)
		return -1;
	*cmd = c->in[c->inoff + 4];
	c->inoff += 5;
	*len = n - 1;
	if (*len + 1 > c->pktcap) {
		char *p = realloc(c->pkt, *len + 1);

		if (p == NULL)
			return -1;
		c->pkt = p;
		c->pktcap = *len + 1;
	}
	size_t got = 0;

	while (got < *len) { /* replies may be larger than the buffer */
		if (c->inoff == c->inlen) {
			c->inoff = c->inlen = 0;
			if (fill(c, 1) < 0)
				return -1;
		}
		size_t take = c->inlen - c->inoff;

		if (take > *len - got)
			take = *len - got;
		memcpy(c->pkt + got, c->in + c->inoff, take);
		c->inoff += take;
		got += take;
	}
	c->pkt[*len] = '\0';
	if (c->inoff == c->inlen)
		c->inoff = c->inlen = 0;
	return 0;
}

/* mg_open - connect to a milter and negotiate options as Postfix does */
int
mg_open(struct mg_conn *c, const struct mg_endpoint *ep)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
	for (int tries = 0; tries < 200; tries++) { /* backlog may be full */
		c->fd = socket(ep->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			return -1;
		if (connect(c->fd, (const struct sockaddr *)&ep->sa,
			    ep->salen) == 0)
			break;
		int e = errno;

		close(c->fd);
		c->fd = -1;
		if (e != EAGAIN && e != ECONNREFUSED && e != EINTR)
			return -1;
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	if (c->fd < 0)
		return -1;
	if (ep->is_inet) {
		int one = 1;

		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	struct timeval tv = {60, 0};

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

	uint32_t opt[3] = {htonl(6), htonl(MG_ACTIONS), htonl(MG_PROTO)};
	char cmd;
	size_t len;

	if (put(c, SMFIC_OPTNEG, opt, sizeof opt) < 0 || flush(c) < 0 ||
	    get_reply(c, &cmd, &len) < 0 || cmd != SMFIC_OPTNEG || len < 12)
		goto fail;
	memcpy(opt, c->pkt, 12);
	c->proto = ntohl(opt[2]) & MG_PROTO;
	for (size_t off = 12; off + 5 <= len;) { /* SMFIR_SETSYMLIST data */
		uint32_t st;

		memcpy(&st, c->pkt + off, 4);
		st = ntohl(st);
		off += 4;
		size_t sl = strnlen(c->pkt + off, len - off);

		if (st < MG_NSTAGES && c->symlist[st] == NULL)
			c->symlist[st] = strndup(c->pkt + off, sl);
		off += sl + 1;
	}
	return 0;
fail:
	mg_close(c, false);
	return -1;
}

/* mg_close - say QUIT (if asked) and free the connection */
void
mg_close(struct mg_conn *c, bool send_quit)
{
	if (c->fd >= 0) {
		if (send_quit && put(c, SMFIC_QUIT, NULL, 0) == 0)
			(void)flush(c);
		close(c->fd);
	}
	c->fd = -1;
	free(c->out);
	free(c->pkt);
	for (int i = 0; i < MG_NSTAGES; i++)
		free(c->symlist[i]);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

/* macro_value - the value of one macro name ("{x}" or "x") */
static const char *
macro_value(const struct mg_macros *m, const char *name, size_t len)
{
	if (len > 2 && name[0] == '{') {
		name++;
		len -= 2;
	}
#define MV(s, f)                                                               \
	if (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)                 \
		return m->f;
	MV("j", j)
	MV("daemon_name", daemon_name)
	MV("daemon_addr", daemon_addr)
	MV("v", v)
	MV("_", underscore)
	MV("i", i)
	MV("mail_addr", mail_addr)
	MV("auth_type", auth_type)
	MV("auth_authen", auth_authen)
	MV("rcpt_addr", rcpt_addr)
#undef MV
	return NULL;
}

/* put_macros - queue the macro packet of one stage before its command */
static int
put_macros(struct mg_conn *c, int stage, char cmd, const struct mg_macros *m)
{
	const char *list =
	    c->symlist[stage] ? c->symlist[stage] : mg_default_macros[stage];
	char buf[4096];
	size_t n = 0;

	buf[n++] = cmd;
	for (const char *p = list; *p;) {
		size_t l = strcspn(p, " ,\t");

		if (l > 0) {
			const char *v = macro_value(m, p, l);

			if (v != NULL && *v != '\0') {
				int w = snprintf(
				    buf + n, sizeof buf - n, "%s%.*s%s%c%s",
				    l > 1 && *p != '{' ? "{" : "", (int)l, p,
				    l > 1 && *p != '{' ? "}" : "", 0, v);

				if (w < 0 || (size_t)w + 1 >= sizeof buf - n)
					return -1;
				n += (size_t)w + 1;
			}
		}
		p += l;
		p += strspn(p, " ,\t");
	}
	if (n == 1)
		return 0; /* nothing to send for this stage */
	return put(c, SMFIC_MACRO, buf, n);
}

/* verdict - read one event's replies; at connect/HELO accept is final */
static enum mg_verdict
verdict(struct mg_conn *c, bool conn_level, bool *skip)
{
	for (;;) {
		char cmd;
		size_t len;

		if (get_reply(c, &cmd, &len) < 0)
			return MG_ERROR;
		switch (cmd) {
		case SMFIR_CONTINUE:
			return MG_CONTINUE;
		case SMFIR_ACCEPT:
			if (conn_level)
				c->conn_done = true;
			c->msg_done = true;
			return MG_ACCEPT;
		case SMFIR_SKIP:
			if (skip != NULL)
				*skip = true;
			return MG_CONTINUE;
		case SMFIR_REJECT:
		case SMFIR_TEMPFAIL:
		case SMFIR_DISCARD:
		case SMFIR_REPLYCODE:
		case SMFIR_SHUTDOWN:
			if (conn_level)
				c->conn_done = true;
			return MG_REJECT;
		case SMFIR_PROGRESS:
		case SMFIR_QUARANTINE:
			continue;
		default:
			return MG_ERROR;
		}
	}
}

/* event - queue one event with its macros; read its reply if one is due */
static enum mg_verdict
event(struct mg_conn *c, char cmd, uint32_t skipflag, uint32_t nrflag,
      int stage, const struct mg_macros *m, const void *data, size_t len,
      bool *skip)
{
	if (c->fd < 0)
		return MG_ERROR;
	if (c->proto & skipflag)
		return MG_CONTINUE;
	if (put_macros(c, stage, cmd, m) < 0 || put(c, cmd, data, len) < 0)
		return MG_ERROR;
	if (nrflag != 0 && (c->proto & nrflag)) {
		if (c->outlen >= MG_FLUSHAT && flush(c) < 0)
			return MG_ERROR;
		return MG_CONTINUE;
	}
	if (flush(c) < 0)
		return MG_ERROR;
	return verdict(c, cmd == SMFIC_CONNECT || cmd == SMFIC_HELO, skip);
}

/* mg_connect - the connect and HELO events of a new SMTP session */
enum mg_verdict
mg_connect(struct mg_conn *c, const struct mg_macros *m, const char *ip,
	   const char *helo)
{
	char buf[512];
	size_t n = (size_t)snprintf(buf, sizeof buf, "unknown%c4", 0);
	uint16_t port = htons(40000);

	if (strchr(ip, ':') != NULL)
		buf[n - 1] = SMFIA_INET6;
	memcpy(buf + n, &port, 2);
	n += 2;
	n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", ip) + 1;
	enum mg_verdict v =
	    event(c, SMFIC_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN,
		  MG_ST_CONNECT, m, buf, n, NULL);

	if (v != MG_CONTINUE || c->conn_done)
		return v;
	return event(c, SMFIC_HELO, SMFIP_NOHELO, SMFIP_NR_HELO, MG_ST_HELO, m,
		     helo, strlen(helo) + 1, NULL);
}

/* mg_envelope - MAIL FROM (stage MG_ST_MAIL) or RCPT TO (MG_ST_RCPT) */
enum mg_verdict
mg_envelope(struct mg_conn *c, int stage, const struct mg_macros *m,
	    const char *addr)
{
	char buf[1024];
	int n = snprintf(buf, sizeof buf, "<%s>", addr);

	if (stage == MG_ST_MAIL)
		c->msg_done = false;
	if (c->conn_done || c->msg_done)
		return MG_CONTINUE;
	if (n < 0 || (size_t)n >= sizeof buf)
		return MG_ERROR;
	if (stage == MG_ST_MAIL)
		return event(c, SMFIC_MAIL, SMFIP_NOMAIL, SMFIP_NR_MAIL,
			     MG_ST_MAIL, m, buf, (size_t)n + 1, NULL);
	return event(c, SMFIC_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT, MG_ST_RCPT, m,
		     buf, (size_t)n + 1, NULL);
}

/* mg_data - the DATA event */
enum mg_verdict
mg_data(struct mg_conn *c, const struct mg_macros *m)
{
	if (c->conn_done || c->msg_done)
		return MG_CONTINUE;
	return event(c, SMFIC_DATA, SMFIP_NODATA, SMFIP_NR_DATA, MG_ST_DATA, m,
		     NULL, 0, NULL);
}

/* mg_abort - end the transaction (Postfix sends ABORT at every reset) */
void
mg_abort(struct mg_conn *c)
{
	if (c->fd >= 0 && !c->conn_done)
		(void)put(c, SMFIC_ABORT, NULL, 0);
}

/* mg_hdrs_add - insert a header at position at (copy: own the strings) */
int
mg_hdrs_add(struct mg_hdrs *hs, size_t at, const char *name, const char *value,
	    bool copy)
{
	if (hs->n == hs->cap) {
		size_t cap = hs->cap ? hs->cap * 2 : 32;
		struct mg_hdr *h = realloc(hs->h, cap * sizeof *h);

		if (h == NULL)
			return -1;
		hs->h = h;
		hs->cap = cap;
	}
	struct mg_hdr nh = {name, value, NULL};

	if (copy) {
		size_t ln = strlen(name) + 1, lv = strlen(value) + 1;

		nh.owned = malloc(ln + lv);
		if (nh.owned == NULL)
			return -1;
		memcpy(nh.owned, name, ln);
		memcpy(nh.owned + ln, value, lv);
		nh.name = nh.owned;
		nh.value = nh.owned + ln;
	}
	if (at > hs->n)
		at = hs->n;
	memmove(hs->h + at + 1, hs->h + at, (hs->n - at) * sizeof *hs->h);
	hs->h[at] = nh;
	hs->n++;
	return 0;
}

/* mg_hdrs_free - free the copies and the list */
void
mg_hdrs_free(struct mg_hdrs *hs)
{
	for (size_t i = 0; i < hs->n; i++)
		free(hs->h[i].owned);
	free(hs->h);
	memset(hs, 0, sizeof *hs);
}

/* change - SMFIR_CHGHEADER: the idx-th name (1-based); "" deletes it */
static int
change(struct mg_hdrs *hs, uint32_t idx, const char *name, const char *value)
{
	if (idx == 0)
		idx = 1;
	for (size_t i = 0; i < hs->n; i++) {
		if (strcasecmp(hs->h[i].name, name) != 0 || --idx > 0)
			continue;
		free(hs->h[i].owned);
		memmove(hs->h + i, hs->h + i + 1,
			(hs->n - i - 1) * sizeof *hs->h);
		hs->n--;
		return *value ? mg_hdrs_add(hs, i, name, value, true) : 0;
	}
	return *value ? mg_hdrs_add(hs, hs->n, name, value, true) : 0;
}

/* eom - send end of message and apply every modification it returns */
static enum mg_verdict
eom(struct mg_conn *c, const struct mg_macros *m, struct mg_hdrs *hdrs,
    mg_ar_cb cb, void *cb_arg)
{
	if (put_macros(c, MG_ST_EOM, SMFIC_BODYEOB, m) < 0 ||
	    put(c, SMFIC_BODYEOB, NULL, 0) < 0 || flush(c) < 0)
		return MG_ERROR;
	for (;;) {
		char cmd;
		size_t len, off = 0;
		uint32_t idx = 0;

		if (get_reply(c, &cmd, &len) < 0)
			return MG_ERROR;
		switch (cmd) {
		case SMFIR_INSHEADER:
		case SMFIR_CHGHEADER:
			if (len < 4)
				return MG_ERROR;
			memcpy(&idx, c->pkt, 4);
			idx = ntohl(idx);
			off = 4;
			/* fall through */
		case SMFIR_ADDHEADER: {
			const char *name = c->pkt + off;
			size_t nl = strnlen(name, len - off);

			if (off + nl + 1 >= len)
				return MG_ERROR;
			const char *value = name + nl + 1;
			char *sp = NULL;
			int r;

			/* the list keeps values as in the message: with the
			 * space after the colon that Postfix adds back */
			if (!(c->proto & SMFIP_HDR_LEADSPC) && *value != '\0' &&
			    asprintf(&sp, " %s", value) > 0)
				value = sp;

			if (cmd == SMFIR_CHGHEADER)
				r = change(hdrs, idx, name, value);
			else
				r = mg_hdrs_add(hdrs,
						cmd == SMFIR_ADDHEADER ? hdrs->n
								       : idx,
						name, value, true);
			if (r == 0 && cb != NULL && *value &&
			    strcasecmp(name, "Authentication-Results") == 0)
				mg_ar_parse(value, cb, cb_arg);
			free(sp);
			if (r < 0)
				return MG_ERROR;
			continue;
		}
		case SMFIR_ADDRCPT:
		case SMFIR_DELRCPT:
		case SMFIR_ADDRCPT_PAR:
		case SMFIR_CHGFROM:
		case SMFIR_REPLBODY:
		case SMFIR_QUARANTINE:
		case SMFIR_PROGRESS:
			continue;
		case SMFIR_CONTINUE:
			return MG_CONTINUE;
		case SMFIR_ACCEPT:
			return MG_ACCEPT;
		case SMFIR_REJECT:
		case SMFIR_TEMPFAIL:
		case SMFIR_DISCARD:
		case SMFIR_REPLYCODE:
		case SMFIR_SHUTDOWN:
			return MG_REJECT;
		default:
			return MG_ERROR;
		}
	}
}

/* mg_content - headers, end of headers, body chunks and end of message */
enum mg_verdict
mg_content(struct mg_conn *c, const struct mg_macros *m, struct mg_hdrs *hdrs,
	   const char *body, size_t bodylen, size_t hold_at,
	   void (*hold)(void *), void *hold_arg, mg_ar_cb cb, void *cb_arg)
{
	enum mg_verdict v;
	char buf[65536];
	bool skip = false;

	if (c->conn_done || c->msg_done)
		return MG_CONTINUE;
	for (size_t i = 0; i < hdrs->n; i++) {
		size_t ln = strlen(hdrs->h[i].name),
		       lv = strlen(hdrs->h[i].value);

		if (ln + lv + 2 > sizeof buf)
			continue; /* Postfix would have cut it; never here */
		const char *hv = hdrs->h[i].value;

		if (!(c->proto & SMFIP_HDR_LEADSPC) && *hv == ' ') {
			hv++; /* Sendmail compatibility: one space, not a tab */
			lv--;
		}
		memcpy(buf, hdrs->h[i].name, ln + 1);
		memcpy(buf + ln + 1, hv, lv + 1);
		v = event(c, SMFIC_HEADER, SMFIP_NOHDRS, SMFIP_NR_HDR,
			  MG_ST_EOH, m, buf, ln + lv + 2, NULL);
		if (v != MG_CONTINUE)
			return v;
	}
	v = event(c, SMFIC_EOH, SMFIP_NOEOH, SMFIP_NR_EOH, MG_ST_EOH, m, NULL,
		  0, NULL);
	if (v != MG_CONTINUE)
		return v;
	for (size_t off = 0; off < bodylen && !skip;) {
		size_t n = bodylen - off > MG_CHUNK ? MG_CHUNK : bodylen - off;

		v = event(c, SMFIC_BODY, SMFIP_NOBODY, SMFIP_NR_BODY, MG_ST_EOM,
			  m, body + off, n, &skip);
		if (v != MG_CONTINUE)
			return v;
		off += n;
		if (hold != NULL && off >= hold_at && off - n < hold_at) {
			if (flush(c) < 0)
				return MG_ERROR;
			hold(hold_arg);
		}
	}
	return eom(c, m, hdrs, cb, cb_arg);
}

/* skip_comment - skip an RFC 5322 comment starting at p ('(') */
static const char *
skip_comment(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return p;
}

/* mg_ar_parse - report each method=result of one A-R header value */
void
mg_ar_parse(const char *value, mg_ar_cb cb, void *arg)
{
	const char *p = strchr(value, ';');

	while (p != NULL && *p == ';') {
		char method[32], result[32];
		size_t ml = 0, rl = 0;

		p++;
		for (;;) { /* whitespace and comments before the method */
			p += strspn(p, " \t\r\n");
			if (*p != '(')
				break;
			p = skip_comment(p);
		}
		while (*p && *p != '=' && *p != ';' && *p != ' ' &&
		       *p != '\t' && *p != '/' && ml < sizeof method - 1)
			method[ml++] = *p++;
		method[ml] = '\0';
		if (*p == '/') /* method version */
			while (*p && *p != '=' && *p != ';')
				p++;
		p += strspn(p, " \t\r\n");
		if (*p == '=') {
			p++;
			p += strspn(p, " \t\r\n");
			while (*p && *p != ';' && *p != ' ' && *p != '\t' &&
			       *p != '\r' && *p != '\n' && *p != '(' &&
			       rl < sizeof result - 1)
				result[rl++] = *p++;
			result[rl] = '\0';
			if (ml > 0 && rl > 0)
				cb(arg, method, result);
		}
		while (*p && *p != ';') { /* properties, comments */
			if (*p == '(')
				p = skip_comment(p);
			else if (*p == '"') {
				for (p++; *p && *p != '"'; p++)
					if (*p == '\\' && p[1])
						p++;
				if (*p)
					p++;
			} else
				p++;
		}
	}
}
