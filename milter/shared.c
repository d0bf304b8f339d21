/*
 * shared.c - the engine every new connection gets, and the open-message
 * count, shared by all of the server's workers
 *
 * Owns struct milter_shared and the struct milter_engine it points at.
 * A reload builds a whole new configuration and engine and makes it
 * current; connections already open keep the one they started with,
 * which holds a reference and is freed by whoever drops the last one
 * (the daemon on replace, or the close callback of its last
 * connection). The message count lets a stopping daemon wait for the
 * messages in flight, and nothing else.
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "engine.h"
#include "milter.h"

/* milter_engine_new - wrap cfg/eng; NULL on no memory (nothing freed) */
static struct milter_engine *
milter_engine_new(struct config *cfg, struct engine *eng, unsigned generation)
{
	struct milter_engine *me = calloc(1, sizeof(*me));

	if (me == NULL)
		return NULL;
	me->cfg = cfg;
	me->eng = eng;
	me->refs = 1;
	me->generation = generation;
	return me;
}

/* milter_engine_free - free an engine and its configuration */
static void
milter_engine_free(struct milter_engine *me)
{
	if (me == NULL)
		return;
	engine_free(me->eng);
	config_free(me->cfg);
	free(me);
}

/* milter_shared_init - start with cfg/eng (taken over); 0 or -1 */
int
milter_shared_init(struct milter_shared *sh, struct config *cfg,
		   struct engine *eng)
{
	memset(sh, 0, sizeof(*sh));
	if ((sh->current = milter_engine_new(cfg, eng, 1)) == NULL)
		return -1;
	if (pthread_mutex_init(&sh->lock, NULL) != 0) {
		free(sh->current);
		sh->current = NULL;
		return -1;
	}
	if (pthread_cond_init(&sh->changed, NULL) != 0) {
		pthread_mutex_destroy(&sh->lock);
		free(sh->current);
		sh->current = NULL;
		return -1;
	}
	return 0;
}

/* milter_shared_acquire - the current engine for a new connection */
struct milter_engine *
milter_shared_acquire(struct milter_shared *sh, unsigned long *seq)
{
	struct milter_engine *me;

	pthread_mutex_lock(&sh->lock);
	me = sh->current;
	if (me != NULL) {
		me->refs++;
		sh->nconns++;
	}
	*seq = ++sh->conn_seq;
	pthread_mutex_unlock(&sh->lock);
	return me;
}

/* milter_shared_release - a connection is done with its engine */
void
milter_shared_release(struct milter_shared *sh, struct milter_engine *me)
{
	bool last;

	if (me == NULL)
		return;
	pthread_mutex_lock(&sh->lock);
	last = --me->refs == 0;
	sh->nconns--;
	pthread_cond_broadcast(&sh->changed);
	pthread_mutex_unlock(&sh->lock);
	/* outside the lock: freeing stops a resolver thread, which may
	 * take a moment, and no one else can reach me any more */
	if (last)
		milter_engine_free(me);
}

/* milter_shared_replace - new connections get cfg/eng (taken over) */
unsigned
milter_shared_replace(struct milter_shared *sh, struct config *cfg,
		      struct engine *eng)
{
	struct milter_engine *me, *old;
	unsigned generation;
	bool last;

	pthread_mutex_lock(&sh->lock);
	old = sh->current;
	generation = (old != NULL ? old->generation : 0) + 1;
	pthread_mutex_unlock(&sh->lock);

	if ((me = milter_engine_new(cfg, eng, generation)) == NULL) {
		engine_free(eng);
		config_free(cfg);
		return 0;
	}
	pthread_mutex_lock(&sh->lock);
	old = sh->current;
	sh->current = me;
	last = old != NULL && --old->refs == 0;
	pthread_mutex_unlock(&sh->lock);
	if (last)
		milter_engine_free(old);
	return generation;
}

/* milter_shared_describe - generation and AuthservID of the current one */
void
milter_shared_describe(struct milter_shared *sh, unsigned *generation,
		       char *authserv_id, size_t len)
{
	pthread_mutex_lock(&sh->lock);
	*generation = sh->current != NULL ? sh->current->generation : 0;
	snprintf(authserv_id, len, "%s",
		 sh->current != NULL && sh->current->cfg->authserv_id != NULL
		     ? sh->current->cfg->authserv_id
		     : "");
	pthread_mutex_unlock(&sh->lock);
}

/* milter_shared_msg_begin - a message started (MAIL FROM) */
void
milter_shared_msg_begin(struct milter_shared *sh)
{
	pthread_mutex_lock(&sh->lock);
	sh->nmsgs++;
	pthread_mutex_unlock(&sh->lock);
}

/* milter_shared_msg_end - a message ended (end, abort, or close) */
void
milter_shared_msg_end(struct milter_shared *sh)
{
	pthread_mutex_lock(&sh->lock);
	if (sh->nmsgs > 0)
		sh->nmsgs--;
	pthread_cond_broadcast(&sh->changed);
	pthread_mutex_unlock(&sh->lock);
}

/* milter_shared_drain - wait until no message is open or seconds pass */
unsigned
milter_shared_drain(struct milter_shared *sh, unsigned seconds)
{
	struct timespec until;
	unsigned left;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&sh->lock);
	while (sh->nmsgs > 0 && pthread_cond_timedwait(&sh->changed, &sh->lock,
						       &until) != ETIMEDOUT)
		;
	left = sh->nmsgs;
	pthread_mutex_unlock(&sh->lock);
	return left;
}

/* milter_shared_destroy - drop the daemon's reference */
void
milter_shared_destroy(struct milter_shared *sh)
{
	struct milter_engine *old;
	bool last, idle;

	pthread_mutex_lock(&sh->lock);
	old = sh->current;
	sh->current = NULL;
	last = old != NULL && --old->refs == 0;
	idle = sh->nconns == 0;
	pthread_mutex_unlock(&sh->lock);
	if (last)
		milter_engine_free(old);
	/* a connection still open (idle between messages when the drain
	 * ended) may yet touch the lock: then the process exit reclaims
	 * them, not us */
	if (idle) {
		pthread_cond_destroy(&sh->changed);
		pthread_mutex_destroy(&sh->lock);
	}
}
