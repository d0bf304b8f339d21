/*
 * welcome.c - the learned (user, correspondent) pairs
 *
 * Owns the key form "welcome:USER>ADDRESS" (both lower case; '>' never
 * appears unquoted in an address, and we keep no address that has it)
 * and the tools' list and forget.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "outbound_tool.h"
#include "store/store.h"
#include "strbuf.h"
#include "welcome.h"

#define WELCOME_REFRESH 86400 /* a pair's time is rewritten once a day */

/* wl_addr - a kept address: lower case, <> and blanks around removed;
 * -1 when it is not one we keep */
static int
wl_addr(struct strbuf *b, const char *a)
{
	size_t len;
	const char *at;

	while (*a == ' ' || *a == '\t' || *a == '<')
		a++;
	len = strcspn(a, ">");
	while (len > 0 && (a[len - 1] == ' ' || a[len - 1] == '\t'))
		len--;
	at = memchr(a, '@', len);
	if (len == 0 || len > 254 || at == NULL || at == a ||
	    at == a + len - 1 || strspn(a + len, "> \t") != strlen(a + len))
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c <= ' ' || c == '>' || c == 0x7f)
			return -1;
		sb_putc(b, (char)tolower(c));
	}
	return b->nomem ? -1 : 0;
}

/* welcome_pair_key - "welcome:USER>ADDR"; -1 when either is not kept */
int
welcome_pair_key(struct strbuf *k, const char *user, const char *addr)
{
	sb_puts(k, "welcome:");
	if (wl_addr(k, user) != 0)
		return -1;
	sb_putc(k, '>');
	return wl_addr(k, addr);
}

/* welcome_learn - remember that user wrote to rcpt */
int
welcome_learn(struct store *st, const char *user, const char *rcpt,
	      unsigned ttl, int64_t now)
{
	struct strbuf k = STRBUF_INIT;
	int64_t seen = 0;
	int rc;

	if (welcome_pair_key(&k, user, rcpt) != 0) {
		sb_free(&k);
		return -1;
	}
	rc = store_counter_get(st, sb_str(&k), &seen);
	/* a counter's expiry runs from when it was made: to make the TTL
	 * count from the last sending, make it again (once a day) */
	if (rc == STORE_OK && seen < now - WELCOME_REFRESH) {
		if (seen != 0)
			rc = store_counter_del(st, sb_str(&k));
		if (rc == STORE_OK)
			rc = store_counter_add(st, sb_str(&k), now, ttl,
					       &seen);
	}
	sb_free(&k);
	return rc;
}

/* welcome_known - has user written to addr? */
int
welcome_known(struct store *st, const char *user, const char *addr,
	      bool *known)
{
	struct strbuf k = STRBUF_INIT;
	int64_t seen = 0;
	int rc = STORE_OK;

	*known = false;
	if (welcome_pair_key(&k, user, addr) == 0) {
		rc = store_counter_get(st, sb_str(&k), &seen);
		*known = rc == STORE_OK && seen > 0;
	}
	sb_free(&k);
	return rc;
}

struct wl_list {
	const struct outbound_tool_opts *o;
	struct store *st; /* forget: delete each */
	unsigned n;
	int rc;
};

/* wl_list_cb - one pair: print it, or forget it */
static int
wl_list_cb(void *arg, const char *key, int64_t value)
{
	struct wl_list *l = arg;
	const char *pair = key + strlen("welcome:");
	const char *gt = strchr(pair, '>');
	struct strbuf line = STRBUF_INIT;
	time_t t = (time_t)value;
	struct tm tm;
	char when[32];

	if (gt == NULL)
		return 0;
	if (l->st != NULL) {
		if ((l->rc = store_counter_del(l->st, key)) != STORE_OK)
			return 1;
		sb_printf(&line, "forgot %.*s -> %s", (int)(gt - pair), pair,
			  gt + 1);
	} else {
		strftime(when, sizeof(when), "%Y-%m-%d",
			 gmtime_r(&t, &tm));
		sb_printf(&line, "%.*s wrote to %s, last on %s",
			  (int)(gt - pair), pair, gt + 1, when);
	}
	l->o->out(sb_str(&line));
	sb_free(&line);
	l->n++;
	return 0;
}

/* wl_run - list (or forget, st set) user's pairs; 0, -1 with err */
static int
wl_run(const struct config *cfg, const struct outbound_tool_opts *o,
       const char *user, bool forget, char *err, size_t errlen)
{
	struct strbuf prefix = STRBUF_INIT;
	struct store *st = store_open(cfg->state_store, err, errlen);
	struct wl_list l = {o, NULL, 0, STORE_OK};
	int rc;

	if (st == NULL) {
		if (err[0] == '\0')
			snprintf(err, errlen, "StateStore none: nothing is "
					      "learned");
		return -1;
	}
	sb_puts(&prefix, "welcome:");
	for (const char *p = user; *p != '\0'; p++)
		sb_putc(&prefix, (char)tolower((unsigned char)*p));
	/* a bare login: its address in every domain */
	sb_putc(&prefix, strchr(user, '@') != NULL ? '>' : '@');
	if (forget)
		l.st = st;
	rc = store_counter_list(st, sb_str(&prefix), wl_list_cb, &l);
	if (rc == STORE_OK)
		rc = l.rc;
	sb_free(&prefix);
	if (rc != STORE_OK) {
		snprintf(err, errlen, "store %s: %s", store_status_name(rc),
			 store_error(st));
		store_close(st);
		return -1;
	}
	{
		char line[100];

		snprintf(line, sizeof(line), "%u pair%s %s", l.n,
			 l.n == 1 ? "" : "s", forget ? "forgotten" : "");
		o->out(line);
	}
	store_close(st);
	return 0;
}

/* welcome_list - the pairs user wrote to */
int
welcome_list(const struct config *cfg, const struct outbound_tool_opts *o,
	     const char *user, char *err, size_t errlen)
{
	return wl_run(cfg, o, user, false, err, errlen);
}

/* welcome_forget - forget one pair, or all of user's */
int
welcome_forget(const struct config *cfg, const struct outbound_tool_opts *o,
	       const char *user, const char *address, char *err,
	       size_t errlen)
{
	struct strbuf k = STRBUF_INIT;
	struct store *st;
	int64_t v = 0;
	int rc;

	if (address == NULL)
		return wl_run(cfg, o, user, true, err, errlen);
	if (welcome_pair_key(&k, user, address) != 0) {
		sb_free(&k);
		snprintf(err, errlen, "not an address: %s or %s", user,
			 address);
		return -1;
	}
	if ((st = store_open(cfg->state_store, err, errlen)) == NULL) {
		sb_free(&k);
		if (err[0] == '\0')
			snprintf(err, errlen, "StateStore none: nothing is "
					      "learned");
		return -1;
	}
	rc = store_counter_get(st, sb_str(&k), &v);
	if (rc == STORE_OK)
		rc = store_counter_del(st, sb_str(&k));
	if (rc != STORE_OK)
		snprintf(err, errlen, "store %s: %s", store_status_name(rc),
			 store_error(st));
	else {
		struct strbuf line = STRBUF_INIT;

		sb_printf(&line, "%s %s -> %s",
			  v > 0 ? "forgot" : "was not learned:", user, address);
		o->out(sb_str(&line));
		sb_free(&line);
	}
	sb_free(&k);
	store_close(st);
	return rc == STORE_OK ? 0 : -1;
}
