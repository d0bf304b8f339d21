/*
 * mgproto.h - the MTA side of the milter protocol, for the load generator
 *
 * One struct mg_conn is one socket to one milter, speaking version 6 of
 * the Sendmail milter protocol as Postfix 3.7 does: option negotiation
 * (honouring the milter's SMFIP_NO* and SMFIP_NR_* answers and its macro
 * lists), one macro packet before each event, and replies read until the
 * final one. A message travels as a list of headers (struct mg_hdrs) so
 * that the header edits of one milter in a chain are seen by the next.
 * Nothing here knows about corpora, threads or statistics.
 */
#ifndef AUTHTAG_BENCH_MGPROTO_H
#define AUTHTAG_BENCH_MGPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The stages of milter_*_macros, numbered as SMFIM_* in libmilter */
enum {
	MG_ST_CONNECT,
	MG_ST_HELO,
	MG_ST_MAIL,
	MG_ST_RCPT,
	MG_ST_DATA,
	MG_ST_EOM,
	MG_ST_EOH,
	MG_NSTAGES
};

/* What an event's replies decided for the message */
enum mg_verdict {
	MG_CONTINUE, /* go on */
	MG_ACCEPT,   /* this milter wants nothing more of this message */
	MG_REJECT,   /* reject, tempfail, reply code or discard: message ends */
	MG_ERROR     /* protocol or socket error: the connection is dead */
};

/* mg_endpoint - where a milter listens */
struct mg_endpoint {
	char *spec; /* as given: unix:/path, inet:port@host, inet:host:port */
	struct sockaddr_storage sa;
	socklen_t salen;
	bool is_inet;
};

/* mg_hdr - one header field; the value as after the colon (usually with
 * a leading space), folded lines joined by "\n" as Postfix sends them */
struct mg_hdr {
	const char *name;
	const char *value;
	char *owned; /* non-NULL: name and value live in this allocation */
};

/* mg_hdrs - the header list of a message in flight */
struct mg_hdrs {
	struct mg_hdr *h;
	size_t n, cap;
};

/* mg_conn - one connection to one milter */
struct mg_conn {
	int fd;
	uint32_t proto;            /* SMFIP_* the milter asked for */
	char *symlist[MG_NSTAGES]; /* macro lists it asked for, or NULL */
	bool conn_done;            /* accepted/rejected the connection */
	bool msg_done;             /* accepted this message */
	char *out;                 /* pending packets */
	size_t outlen, outcap;
	char in[65536 + 16]; /* reply read buffer */
	size_t inlen, inoff;
	char *pkt; /* last reply packet's data */
	size_t pktcap;
};

/* mg_macros - the macro values of one message; NULL or "" = not sent */
struct mg_macros {
	const char *j, *daemon_name, *daemon_addr, *v, *underscore;
	const char *i, *mail_addr, *auth_type, *auth_authen, *rcpt_addr;
};

/* mg_ar_cb - called for each method=result of each A-R header added */
typedef void (*mg_ar_cb)(void *arg, const char *method, const char *result);

int mg_endpoint_parse(struct mg_endpoint *ep, const char *spec);
int mg_open(struct mg_conn *c, const struct mg_endpoint *ep);
void mg_close(struct mg_conn *c, bool send_quit);
enum mg_verdict mg_connect(struct mg_conn *c, const struct mg_macros *m,
			   const char *client_ip, const char *helo);
enum mg_verdict mg_envelope(struct mg_conn *c, int stage,
			    const struct mg_macros *m, const char *addr);
enum mg_verdict mg_data(struct mg_conn *c, const struct mg_macros *m);
enum mg_verdict mg_content(struct mg_conn *c, const struct mg_macros *m,
			   struct mg_hdrs *hdrs, const char *body,
			   size_t bodylen, size_t hold_at, void (*hold)(void *),
			   void *hold_arg, mg_ar_cb cb, void *cb_arg);
void mg_abort(struct mg_conn *c);

int mg_hdrs_add(struct mg_hdrs *hs, size_t at, const char *name,
		const char *value, bool copy);
void mg_hdrs_free(struct mg_hdrs *hs);
void mg_ar_parse(const char *value, mg_ar_cb cb, void *arg);

#endif
