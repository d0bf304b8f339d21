/*
 * store.c - the state store's door: the backend table and the calls
 *
 * Owns struct store (a backend and its handle) and the spec grammar of
 * StateStore; what each call means is in store.h, how it is kept is in
 * the backend's file. Nothing here logs: callers decide what a failure
 * means (the recorder keeps its rows, a tool exits non-zero).
 */
#include "build.h" /* first: feature macros */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "strbuf.h"

struct store {
	const struct store_backend *be;
	void *h;
	char *spec; /* for logs, password hidden */
};

/* store_hide_password - "redis://:secret@h" -> "redis://:*@h" */
static char *
store_hide_password(const char *spec)
{
	struct strbuf sb = STRBUF_INIT;
	const char *at = strchr(spec, '@');
	const char *auth = strstr(spec, "://");
	const char *colon;

	if (auth == NULL || at == NULL || at < auth) {
		sb_puts(&sb, spec);
		return sb_steal(&sb);
	}
	colon = memchr(auth + 3, ':', (size_t)(at - auth - 3));
	if (colon == NULL) /* "user@" alone: a password without a user */
		colon = auth + 2;
	sb_putn(&sb, spec, (size_t)(colon - spec + 1));
	sb_puts(&sb, "*");
	sb_puts(&sb, at);
	return sb_steal(&sb);
}

/* store_open - see store.h */
struct store *
store_open(const char *spec, char *err, size_t errlen)
{
	const struct store_backend *be = NULL;
	const char *rest = NULL;
	struct store *st;

	if (errlen > 0)
		err[0] = '\0';
	if (strcmp(spec, "none") == 0)
		return NULL;
	if (strncmp(spec, "sqlite:", 7) == 0) {
		be = &store_backend_sqlite;
		rest = spec + 7;
	} else if (strncmp(spec, "redis:", 6) == 0) {
		be = &store_backend_redis;
		rest = spec + 6;
	} else {
		snprintf(err, errlen,
				"\"%s\": not sqlite:PATH, redis://HOST:PORT/DB, "
				"redis:unix:PATH or none", spec);
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->be = be;
	st->spec = store_hide_password(spec);
	st->h = be->open(rest, err, errlen);
	if (st->h == NULL || st->spec == NULL) {
		if (st->h != NULL)
			be->close(st->h);
		free(st->spec);
		free(st);
		return NULL;
	}
	return st;
}

/* store_close - see store.h */
void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	st->be->close(st->h);
	free(st->spec);
	free(st);
}

const char *
store_spec(const struct store *st)
{
	return st->spec;
}

const char *
store_status_name(int status)
{
	switch (status) {
	case STORE_OK:
		return "ok";
	case STORE_DOWN:
		return "down";
	case STORE_TAKEN:
		return "taken";
	case STORE_DONE:
		return "done";
	default:
		return "bad";
	}
}

const char *
store_error(struct store *st)
{
	return st->be->error(st->h);
}

int
store_probe(struct store *st)
{
	return st->be->probe(st->h);
}

int
store_counter_add(struct store *st, const char *key, int64_t delta,
		  unsigned ttl, int64_t *value)
{
	int64_t v = 0;

	return st->be->counter_add(st->h, key, delta, ttl,
				   value != NULL ? value : &v);
}

int
store_counter_get(struct store *st, const char *key, int64_t *value)
{
	return st->be->counter_get(st->h, key, value);
}

int
store_counter_del(struct store *st, const char *key)
{
	return st->be->counter_del(st->h, key);
}

int
store_counter_list(struct store *st, const char *prefix, store_counters_cb cb,
		   void *arg)
{
	return st->be->counter_list(st->h, prefix, cb, arg);
}

int
store_add(struct store *st, const char *batch, const struct store_rec *recs,
	  size_t n, size_t *late)
{
	size_t l = 0;

	return st->be->add(st->h, batch, recs, n, late != NULL ? late : &l);
}

int
store_buckets(struct store *st, int64_t end_before, store_buckets_cb cb,
	      void *arg)
{
	return st->be->buckets(st->h, end_before, cb, arg);
}

int
store_read(struct store *st, const char *group, int64_t start,
	   store_rows_cb cb, void *arg)
{
	return st->be->read(st->h, group, start, cb, arg);
}

int
store_claim(struct store *st, const char *group, int64_t start,
	    const char *owner, unsigned lease, char *token, size_t tokenlen)
{
	return st->be->claim(st->h, group, start, owner, lease, token,
			     tokenlen);
}

int
store_done(struct store *st, const char *group, int64_t start,
	   const char *owner)
{
	return st->be->done(st->h, group, start, owner);
}

int
store_prune(struct store *st, int64_t end_before, size_t *pruned)
{
	size_t p = 0;

	return st->be->prune(st->h, end_before, pruned != NULL ? pruned : &p);
}
