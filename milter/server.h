/*
 * server.h - the milter server: listening socket, event loop, workers
 * (see server.c)
 *
 * The filter's side is a struct mserver_ops: one function per protocol
 * step, each called in a worker thread with the connection's session,
 * never two at once for one session. A step returns an MV_* verdict;
 * whether and how it goes on the wire (no reply for the NR_* steps the
 * MTA agreed to, a reply code for a reject with a text) is the server's
 * business. At end of message the filter asks for header edits, a
 * quarantine or a reply text through the mserver_sess_* calls.
 */
#ifndef AUTHTAG_MILTER_SERVER_H
#define AUTHTAG_MILTER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mserver;
struct mserver_sess;

/* a step's verdict */
enum mserver_verdict {
	MV_CONTINUE, /* go on (or no reply, when the MTA agreed to none) */
	MV_ACCEPT,   /* accept, no further steps for this message */
	MV_REJECT,
	MV_TEMPFAIL,
};

/* what the MTA offers and what the filter wants, at negotiation */
struct mserver_neg {
	uint32_t mta_actions, mta_steps; /* offered */
	uint32_t actions, steps;         /* wanted: set by the filter */
	const char *symlists[7];         /* macros per MPM_ stage, or NULL */
};

struct mserver_ops {
	/* negotiate: fill neg->actions/steps/symlists */
	void (*negotiate)(struct mserver_sess *s, struct mserver_neg *neg);
	/* connect: addr is the client's IP address ("" when not IP) */
	enum mserver_verdict (*connect)(struct mserver_sess *s,
					const char *host, const char *addr);
	enum mserver_verdict (*helo)(struct mserver_sess *s, const char *name);
	enum mserver_verdict (*mail)(struct mserver_sess *s, const char *addr);
	enum mserver_verdict (*rcpt)(struct mserver_sess *s, const char *addr);
	enum mserver_verdict (*header)(struct mserver_sess *s, const char *name,
				       const char *value);
	enum mserver_verdict (*eoh)(struct mserver_sess *s);
	enum mserver_verdict (*body)(struct mserver_sess *s,
				     const unsigned char *data, size_t len);
	enum mserver_verdict (*eom)(struct mserver_sess *s);
	void (*abort)(struct mserver_sess *s); /* the open message ended */
	void (*close)(struct mserver_sess *s); /* the MTA's session ended */
};

/* what the daemon decides about the server */
struct mserver_conf {
	const char *spec;  /* unix:/path, local:/path, inet:port@host, inet6: */
	int backlog;
	unsigned workers;  /* threads running the steps */
	unsigned watchers; /* of them waiting for events at once; 0: the
			    * cores it may run on (mserver_ncpu) */
	const struct mserver_ops *ops;
	void *arg;         /* the filter's own, for mserver_arg */
	/* log: a line at a syslog priority; NULL: none */
	void (*log)(int prio, const char *text);
};

/* mserver_new - listen on conf->spec (before detaching and giving up
 * root, like any daemon); NULL + err */
struct mserver *mserver_new(const struct mserver_conf *conf, char *err,
			    size_t errlen);

/* mserver_ncpu - the cores this process may run on (its affinity) */
unsigned mserver_ncpu(void);
/* mserver_watchers - how many workers wait for events at once */
unsigned mserver_watchers(const struct mserver *srv);

/* mserver_start - start the workers; 0 or -1 */
int mserver_start(struct mserver *srv);

/* mserver_stop_listening - take no new connections; the open ones go on */
void mserver_stop_listening(struct mserver *srv);

/* mserver_free - stop the workers (waiting up to wait_ms for a step in
 * progress), end every session (close callbacks), free. Returns -1 when
 * a worker did not stop: then nothing is freed (the process is ending) */
int mserver_free(struct mserver *srv, unsigned wait_ms);

/* mserver_arg - conf->arg */
void *mserver_arg(const struct mserver_sess *s);

/* mserver_sess_priv, mserver_sess_set_priv - the filter's session state */
void *mserver_sess_priv(const struct mserver_sess *s);
void mserver_sess_set_priv(struct mserver_sess *s, void *priv);

/* mserver_sess_steps, mserver_sess_actions - what was agreed */
uint32_t mserver_sess_steps(const struct mserver_sess *s);
uint32_t mserver_sess_actions(const struct mserver_sess *s);

/* mserver_sess_macro - a macro's value ("i", "auth_authen"; braces
 * optional), from the latest stage that sent it; NULL if none */
const char *mserver_sess_macro(struct mserver_sess *s, const char *name);

/* edits at end of message; -1 when the action was not agreed */
int mserver_sess_insheader(struct mserver_sess *s, uint32_t index,
			   const char *name, const char *value);
int mserver_sess_chgheader(struct mserver_sess *s, uint32_t index,
			   const char *name, const char *value);
int mserver_sess_quarantine(struct mserver_sess *s, const char *reason);

/* mserver_sess_setreply - the SMTP reply for a reject or tempfail
 * ("550", "5.7.1", text); -1 for a code that is not 4xx/5xx or a text
 * with line breaks */
int mserver_sess_setreply(struct mserver_sess *s, const char *code,
			  const char *xcode, const char *text);

#endif
