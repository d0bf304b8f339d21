/*
 * score_spamd.c - the `spamd` scorer: SpamAssassin's spamd over TCP or a
 * unix socket (the SPAMC/SPAMD protocol, version 1.5)
 *
 * Owns one request per message, as spamc makes it: "SYMBOLS SPAMC/1.5",
 * Content-length, and User: set from SpamdUser (by default the single
 * recipient's local part) so that spamd applies that user's user_prefs;
 * then the reply's "Spam: True ; 7.3 / 5.0" line and its comma-separated
 * rule names. A message over SpamdMaxSize is not sent (spamc's rule).
 * Every wait (connect, send, reply) is bounded by SpamdTimeout through
 * non-blocking sockets and poll(); nothing here takes a lock, so a slow
 * spamd delays only the message that waits for it. spamd's own
 * required_score is not used: the stage decides what is spam.
 */
#include "build.h" /* first: feature macros */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "score.h"
#include "score_spamd_int.h"
#include "userprefs.h"

#define SPAMD_REPLY_MAX   65536 /* bytes of reply read */
#define SPAMD_CONNECT_MAX 5     /* seconds for connect, at most */
#define SPAMD_RULE_NAME_MAX 128  /* longest rule name taken from spamd */
#define SPAMD_MAX_RULES   512   /* rule names taken from one answer */

struct spamd_state {
	struct sockaddr_storage addr;
	socklen_t alen;
	char where[128]; /* for messages: "127.0.0.1:783" */
	size_t max_size;
	unsigned timeout;
	char user_tmpl[256]; /* "" = no User: header */
};

/* spamd_init - parse SpamdSocket and friends */
static int
spamd_init(const struct config *cfg, void **state, char *err, size_t errlen)
{
	struct spamd_state *s = calloc(1, sizeof(*s));
	const char *v = cfg->spamd_socket;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->max_size = cfg->spamd_max_size;
	s->timeout = cfg->spamd_timeout > 0 ? cfg->spamd_timeout : 30;
	snprintf(s->user_tmpl, sizeof(s->user_tmpl), "%s",
		 cfg->spamd_user != NULL ? cfg->spamd_user : "");
	if (v != NULL && (strncmp(v, "unix:", 5) == 0 || v[0] == '/')) {
		struct sockaddr_un *un = (struct sockaddr_un *)&s->addr;
		const char *path = v[0] == '/' ? v : v + 5;

		if (strlen(path) >= sizeof(un->sun_path))
			goto bad;
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", path);
		s->alen = sizeof(*un);
		snprintf(s->where, sizeof(s->where), "%s", path);
	} else if (v != NULL && (strncmp(v, "inet:", 5) == 0 ||
				 strncmp(v, "inet6:", 6) == 0)) {
		const char *p = strchr(v, ':') + 1, *at = strchr(p, '@');
		unsigned long port = strtoul(p, NULL, 10);
		struct sockaddr_in *in4 = (struct sockaddr_in *)&s->addr;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&s->addr;

		if (at == NULL || port == 0 || port > 65535)
			goto bad;
		if (inet_pton(AF_INET, at + 1, &in4->sin_addr) == 1) {
			in4->sin_family = AF_INET;
			in4->sin_port = htons((unsigned short)port);
			s->alen = sizeof(*in4);
		} else if (inet_pton(AF_INET6, at + 1, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((unsigned short)port);
			s->alen = sizeof(*in6);
		} else {
			goto bad;
		}
		snprintf(s->where, sizeof(s->where), "%s:%lu", at + 1, port);
	} else {
		goto bad;
	}
	*state = s;
	return 0;
bad:
	snprintf(err, errlen,
		 "SpamdSocket: expected inet:port@address or "
		 "unix:/path, not '%s'",
		 v ? v : "");
	free(s);
	return -1;
}

/* spamd_body_limit - body bytes wanted: what may be sent at most */
static size_t
spamd_body_limit(const void *state)
{
	return ((const struct spamd_state *)state)->max_size;
}

/* spamd_free - free the state */
static void
spamd_free(void *state)
{
	free(state);
}

/* spamd_now - monotonic milliseconds */
static long long
spamd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* spamd_wait - poll fd for events until deadline; 1 ready, 0 timeout */
static int
spamd_wait(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - spamd_now();
		struct pollfd pfd = {.fd = fd, .events = events};
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* spamd_request - the whole request, CRLF line ends; NULL if too big */
static char *
spamd_request(const struct spamd_state *s, const struct score_message *msg,
	      const struct score_user *user, size_t *len, char *why,
	      size_t whylen)
{
	size_t size = 2 + msg->body_len, o, head;
	char userval[300] = "", *buf;

	for (size_t i = 0; i < msg->nheaders; i++) {
		const char *v = msg->header_values[i];

		if (msg->header_names[i] == NULL || v == NULL)
			continue;
		size += strlen(msg->header_names[i]) + 4 + strlen(v) * 2;
	}
	if (msg->body_truncated || msg->body_len > s->max_size) {
		snprintf(why, whylen,
			 "not sent: message over SpamdMaxSize "
			 "(%zu bytes)",
			 s->max_size);
		return NULL;
	}
	if (s->user_tmpl[0] != '\0' && user != NULL &&
	    userprefs_expand_template(s->user_tmpl, user->name, user->domain,
				  userval, sizeof(userval)) != 0)
		userval[0] = '\0';
	head = 128 + strlen(userval);
	if ((buf = malloc(head + size)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	/* the message first, after room for the request head */
	o = head;
	for (size_t i = 0; i < msg->nheaders; i++) {
		const char *v = msg->header_values[i];

		if (msg->header_names[i] == NULL || v == NULL)
			continue;
		{
			size_t nl = strlen(msg->header_names[i]);

			memcpy(buf + o, msg->header_names[i], nl);
			o += nl;
			buf[o++] = ':';
		}
		if (*v != ' ' && *v != '\t')
			buf[o++] = ' ';
		for (; *v; v++) {
			if (*v == '\r')
				continue;
			if (*v == '\n')
				buf[o++] = '\r';
			buf[o++] = *v;
		}
		buf[o++] = '\r';
		buf[o++] = '\n';
	}
	buf[o++] = '\r';
	buf[o++] = '\n';
	if (msg->body_len > 0)
		memcpy(buf + o, msg->body, msg->body_len);
	o += msg->body_len;
	if (o - head > s->max_size) {
		snprintf(why, whylen,
			 "not sent: message over SpamdMaxSize "
			 "(%zu bytes)",
			 s->max_size);
		free(buf);
		return NULL;
	}
	{
		char h[400];
		int hl = snprintf(h, sizeof(h),
				  "SYMBOLS SPAMC/1.5\r\nContent-length: %zu\r\n"
				  "%s%s%s\r\n",
				  o - head, userval[0] ? "User: " : "", userval,
				  userval[0] ? "\r\n" : "");

		memmove(buf + hl, buf + head, o - head);
		memcpy(buf, h, (size_t)hl);
		*len = (size_t)hl + (o - head);
	}
	return buf;
}

/* spamd_exchange - connect, send, read the reply; -1 with why */
static int
spamd_exchange(const struct spamd_state *s, const char *req, size_t reqlen,
	       char *reply, size_t *rlen, char *why, size_t whylen)
{
	long long start = spamd_now();
	long long deadline = start + (long long)s->timeout * 1000;
	long long cdeadline = start + (long long)(s->timeout < SPAMD_CONNECT_MAX
						      ? s->timeout
						      : SPAMD_CONNECT_MAX) *
					  1000;
	int fd = socket(s->addr.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	size_t sent = 0, got = 0;
	int err = 0, r;
	socklen_t elen = sizeof(err);

	if (fd < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&s->addr, s->alen) != 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			snprintf(why, whylen, "connect %s: %s", s->where,
				 strerror(errno));
			goto fail;
		}
		if ((r = spamd_wait(fd, POLLOUT, cdeadline)) <= 0) {
			snprintf(why, whylen, "connect %s: %s", s->where,
				 r == 0 ? "timed out" : strerror(errno));
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 ||
		    err != 0) {
			snprintf(why, whylen, "connect %s: %s", s->where,
				 strerror(err ? err : errno));
			goto fail;
		}
	}
	while (sent < reqlen) {
		ssize_t n = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL);

		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    (r = spamd_wait(fd, POLLOUT, deadline)) > 0)
			continue;
		snprintf(why, whylen, "send to %s: %s", s->where,
			 n < 0 && errno != EAGAIN ? strerror(errno)
						  : "timed out");
		goto fail;
	}
	shutdown(fd, SHUT_WR); /* spamc half-closes after the body */
	for (;;) {
		ssize_t n;

		if (got >= SPAMD_REPLY_MAX - 1)
			break;
		n = recv(fd, reply + got, SPAMD_REPLY_MAX - 1 - got, 0);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
		    (r = spamd_wait(fd, POLLIN, deadline)) > 0)
			continue;
		snprintf(why, whylen, "reply from %s: %s", s->where,
			 errno == EAGAIN || errno == EWOULDBLOCK
			     ? "timed out"
			     : strerror(errno));
		goto fail;
	}
	close(fd);
	reply[got] = '\0';
	*rlen = got;
	return 0;
fail:
	close(fd);
	return -1;
}

/* spamd_rule_name_ok - a SpamAssassin rule name: a letter or '_', then
 * letters, digits and '_', at most SPAMD_RULE_NAME_MAX of them */
static bool
spamd_rule_name_ok(const char *w)
{
	size_t n = 0;

	if (!isalpha((unsigned char)*w) && *w != '_')
		return false;
	for (; w[n] != '\0'; n++)
		if (n >= SPAMD_RULE_NAME_MAX ||
		    (!isalnum((unsigned char)w[n]) && w[n] != '_'))
			return false;
	return true;
}

/* spamd_parse - "SPAMD/1.1 0 EX_OK", "Spam: True ; 7.3 / 5.0", names */
int
spamd_parse(char *reply, size_t len, struct score_result *res)
{
	char *line = reply, *next, *body = NULL;
	bool have_score = false;
	int code;

	if (strncmp(reply, "SPAMD/", 6) != 0 ||
	    sscanf(reply, "SPAMD/%*s %d", &code) != 1) {
		snprintf(res->problem, sizeof(res->problem), "bad reply: %.60s",
			 reply);
		return -1;
	}
	if (code != 0) {
		reply[strcspn(reply, "\r\n")] = '\0';
		snprintf(res->problem, sizeof(res->problem), "%.120s", reply);
		return -1;
	}
	for (line = reply; line != NULL && line < reply + len; line = next) {
		char *end = strstr(line, "\r\n");
		double score, req;

		next = end ? end + 2 : NULL;
		if (end != NULL)
			*end = '\0';
		if (line != reply && *line == '\0') {
			body = next;
			break;
		}
		if (strncasecmp(line, "Spam:", 5) == 0) {
			char *semi = strchr(line, ';');

			if (semi == NULL ||
			    sscanf(semi + 1, " %lf / %lf", &score, &req) != 2 ||
			    !isfinite(score)) {
				snprintf(res->problem, sizeof(res->problem),
					 "bad Spam: line");
				return -1;
			}
			res->score = score_clamp(score);
			have_score = true;
		}
	}
	if (!have_score) {
		snprintf(res->problem, sizeof(res->problem),
			 "reply without a Spam: line");
		return -1;
	}
	/* SYMBOLS: the names of the rules that hit, comma-separated. They
	 * go into X-Spam-Status: only SpamAssassin's rule name grammar is
	 * taken, so no answer can break or bloat that header */
	for (char *save = NULL,
		  *w = body ? strtok_r(body, ", \r\n\t", &save) : NULL;
	     w != NULL && res->nhits < SPAMD_MAX_RULES;
	     w = strtok_r(NULL, ", \r\n\t", &save))
		if (spamd_rule_name_ok(w) &&
		    score_result_add(res, w, NAN, NULL, "") != 0) {
			snprintf(res->problem, sizeof(res->problem),
				 "out of memory");
			return -1;
		}
	return 0;
}

/* spamd_score - ask spamd about one message */
static int
spamd_score(const void *state, const struct score_message *msg,
	    const struct score_user *user, struct score_result *res)
{
	const struct spamd_state *s = state;
	char *req, *reply;
	size_t reqlen, rlen;
	int rc;

	req = spamd_request(s, msg, user, &reqlen, res->problem,
			    sizeof(res->problem));
	if (req == NULL)
		return -1;
	if ((reply = malloc(SPAMD_REPLY_MAX)) == NULL) {
		free(req);
		snprintf(res->problem, sizeof(res->problem), "out of memory");
		return -1;
	}
	rc = spamd_exchange(s, req, reqlen, reply, &rlen, res->problem,
			    sizeof(res->problem));
	free(req);
	if (rc == 0)
		rc = spamd_parse(reply, rlen, res);
	free(reply);
	return rc;
}

const struct scorer score_spamd_backend = {
    .name = "spamd",
    .init = spamd_init,
    .body_limit = spamd_body_limit,
    .score = spamd_score,
    .free = spamd_free,
};
