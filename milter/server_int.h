/*
 * server_int.h - what server.c (the socket, the workers) and session.c
 * (one MTA connection's protocol) share; nothing outside milter/server*
 * and milter/session.c includes it
 */
#ifndef AUTHTAG_MILTER_SERVER_INT_H
#define AUTHTAG_MILTER_SERVER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

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

/* mserver_log - one line through the daemon's logger */
void mserver_log(struct mserver *srv, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* msess_serve - read what the socket holds, run each whole command in
 * it, write the replies; false when the connection is over (session.c) */
bool msess_serve(struct mserver_sess *s, unsigned char *buf);

/* msess_free_parts - the session's buffers (session.c) */
void msess_free_parts(struct mserver_sess *s);

#endif
