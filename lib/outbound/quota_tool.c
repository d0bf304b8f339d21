/*
 * quota_tool.c - authtag-quota: release held mail, status, reset
 *
 * Owns the release's order of steps, each idempotent so that a run
 * killed anywhere is finished by the next without releasing twice:
 * reserve a place in the user's current window (counter +1, undone if
 * over the limit), postsuper -H, mark the queue id released; a bucket
 * whose every message is released is claimed and marked done. Which
 * messages are still held is asked of Postfix (postqueue -j) once per
 * run: a message an administrator released or deleted by hand is
 * marked and not counted.
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "config.h"
#include "outbound_tool.h"
#include "quota.h"
#include "store/store.h"
#include "strbuf.h"

#define QT_CMD_WAIT 60           /* seconds postqueue/postsuper may take */
#define QT_RELEASED_TTL (40 * 86400) /* the released marks outlive holds */
#define QT_LEASE 600             /* a bucket's claim while it is finished */

/* qt_log - printf to the tool's log */
static void qt_log(const struct outbound_tool_opts *o, int prio,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void
qt_log(const struct outbound_tool_opts *o, int prio, const char *fmt, ...)
{
	struct strbuf b = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(&b, fmt, ap);
	va_end(ap);
	if (o->log != NULL)
		o->log(prio, sb_str(&b));
	sb_free(&b);
}

/* outbound_tool_as_user - the daemon's user as the effective one, when
 * root: UserID, else the owner of a sqlite: store's file (or of its
 * directory) - what the systemd unit's User= made it */
int
outbound_tool_as_user(const struct config *cfg, char *err, size_t errlen)
{
	uid_t uid = 0;
	gid_t gid = 0;

	if (geteuid() != 0)
		return 0;
	if (cfg->user_id != NULL && cfg->user_id[0] != '\0') {
		if (config_user_lookup(cfg->user_id, &uid, &gid, err,
				       errlen) != 0)
			return -1;
	} else if (strncmp(cfg->state_store, "sqlite:", 7) == 0) {
		struct strbuf dir = STRBUF_INIT;
		const char *path = cfg->state_store + 7;
		const char *slash = strrchr(path, '/');
		struct stat sb;

		if (slash != NULL)
			sb_putn(&dir, path, (size_t)(slash - path) + 1);
		if (stat(path, &sb) == 0 ||
		    (slash != NULL && stat(sb_str(&dir), &sb) == 0)) {
			uid = sb.st_uid;
			gid = sb.st_gid;
		}
		sb_free(&dir);
	}
	if (uid == 0)
		return 0;
	if (setegid(gid) != 0 || seteuid(uid) != 0) {
		snprintf(err, errlen, "cannot become uid %ld for the state "
				      "store: %s",
			 (long)uid, strerror(errno));
		return -1;
	}
	return 0;
}

/* qt_postqueue - postqueue's path: next to PostsuperPath */
static void
qt_postqueue(const struct config *cfg, struct strbuf *path)
{
	const char *slash = strrchr(cfg->postsuper_path, '/');

	sb_putn(path, cfg->postsuper_path,
		(size_t)(slash - cfg->postsuper_path) + 1);
	sb_puts(path, "postqueue");
}

/*
 * qt_held_ids - the queue ids in Postfix's hold queue, one per line of
 * out ("\nID\n" form, for a strstr of "\nID\n"), from postqueue -j's
 * JSON objects (one per line; we read two string fields of each)
 */
static int
qt_held_ids(const struct config *cfg, struct strbuf *ids, char *why,
	    size_t whylen)
{
	struct strbuf path = STRBUF_INIT, json = STRBUF_INIT;
	int rc;

	qt_postqueue(cfg, &path);
	{
		const char *argv[] = {sb_str(&path), "-j", NULL};

		rc = command_run(argv, NULL, 0, &json, QT_CMD_WAIT, why, whylen);
	}
	sb_putc(ids, '\n');
	for (const char *line = sb_str(&json); rc == 0 && *line != '\0';) {
		size_t len = strcspn(line, "\n");
		const char *q = memmem(line, len, "\"queue_id\":", 11);
		const char *hold = memmem(line, len, "\"queue_name\":", 13);

		if (q != NULL && hold != NULL) {
			const char *v = hold + 13, *id = q + 11;

			while (*v == ' ')
				v++;
			while (*id == ' ')
				id++;
			if (strncmp(v, "\"hold\"", 6) == 0 && *id == '"') {
				size_t il = strcspn(id + 1, "\"\n");

				sb_putn(ids, id + 1, il);
				sb_putc(ids, '\n');
			}
		}
		line += len + (line[len] == '\n');
	}
	if (path.nomem || json.nomem || ids->nomem) {
		snprintf(why, whylen, "out of memory");
		rc = -1;
	}
	sb_free(&path);
	sb_free(&json);
	return rc;
}

/* qt_is_held - is id in the list qt_held_ids made? */
static bool
qt_is_held(const struct strbuf *ids, const char *id)
{
	struct strbuf k = STRBUF_INIT;
	bool held;

	sb_printf(&k, "\n%s\n", id);
	held = strstr(sb_str(ids), sb_str(&k)) != NULL;
	sb_free(&k);
	return held;
}

/* one bucket of held mail */
struct qt_bucket {
	char *user;
	int64_t start, end;
};

struct qt_buckets {
	struct qt_bucket *v;
	size_t n;
	bool nomem;
};

/* qt_bucket_cb - collect the quota buckets not done */
static int
qt_bucket_cb(void *arg, const char *group, int64_t start, int64_t end,
	     bool done)
{
	struct qt_buckets *b = arg;
	char *u;

	if (done || strncmp(group, QUOTA_GROUP, strlen(QUOTA_GROUP)) != 0)
		return 0;
	if (sb_array_room(&b->v, b->n, sizeof(*b->v)) != 0 ||
	    (u = strdup(group + strlen(QUOTA_GROUP))) == NULL) {
		b->nomem = true;
		return 1;
	}
	b->v[b->n++] = (struct qt_bucket){u, start, end};
	return 0;
}

static void
qt_buckets_free(struct qt_buckets *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].user);
	free(b->v);
}

struct qt_rows {
	struct quota_held *v;
	size_t n;
	bool nomem;
	unsigned bad;
};

/* qt_row_cb - collect and parse held rows */
static int
qt_row_cb(void *arg, const char *row, int64_t count)
{
	struct qt_rows *r = arg;

	(void)count;
	if (sb_array_room(&r->v, r->n, sizeof(*r->v)) != 0) {
		r->nomem = true;
		return 1;
	}
	if (quota_held_parse(row, &r->v[r->n]) != 0)
		r->bad++;
	else
		r->n++;
	return 0;
}

/* qt_time_cmp - oldest first, then by queue id */
static int
qt_time_cmp(const void *x, const void *y)
{
	const struct quota_held *a = x, *b = y;

	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	return strcmp(a->queue_id, b->queue_id);
}

/* qt_read - the held rows of one bucket, oldest first */
static int
qt_read(struct store *st, const struct qt_bucket *b, struct qt_rows *rows)
{
	struct strbuf g = STRBUF_INIT;
	int rc;

	sb_printf(&g, QUOTA_GROUP "%s", b->user);
	rc = store_read(st, sb_str(&g), b->start, qt_row_cb, rows);
	sb_free(&g);
	if (rc == STORE_OK && rows->nomem)
		rc = STORE_DOWN;
	if (rows->n > 1)
		qsort(rows->v, rows->n, sizeof(*rows->v), qt_time_cmp);
	return rc;
}

/* qt_released - was this queue id released already? */
static bool
qt_released(struct store *st, const char *qid)
{
	char key[128];
	int64_t v = 0;

	snprintf(key, sizeof(key), "quota-released:%s", qid);
	return store_counter_get(st, key, &v) == STORE_OK && v > 0;
}

/* qt_mark_released - remember that this queue id is out of our hands */
static int
qt_mark_released(struct store *st, const char *qid)
{
	char key[128];
	int64_t v = 0;

	snprintf(key, sizeof(key), "quota-released:%s", qid);
	return store_counter_add(st, key, 1, QT_RELEASED_TTL, &v);
}

/* qt_open - the configuration's store, or -1 with err */
static struct store *
qt_open(const struct config *cfg, char *err, size_t errlen)
{
	struct store *st = store_open(cfg->state_store, err, errlen);

	if (st == NULL && err[0] == '\0')
		snprintf(err, errlen,
			 "StateStore none: there are no counts and no held "
			 "mail to manage");
	return st;
}

/* qt_full - is user in the list of users whose window is full? */
static bool
qt_full(const struct strbuf *full, const char *user)
{
	struct strbuf k = STRBUF_INIT;
	bool f;

	sb_printf(&k, "\n%s\n", user);
	f = strstr(sb_str(full), sb_str(&k)) != NULL;
	sb_free(&k);
	return f;
}

/* qt_release_one - reserve, postsuper -H, mark; 1 released, 0 left
 * (window full), -1 failed */
static int
qt_release_one(const struct config *cfg, const struct outbound_tool_opts *o,
	       struct store *st, const char *user, const struct quota_held *h)
{
	char key[400], why[300];
	unsigned limit = config_quota_limit(cfg, user);
	int64_t wstart = quota_window_start(o->now, cfg->quota_window), v = 0;
	int rc;

	quota_count_key(key, sizeof(key), user, wstart);
	if (o->dry_run) {
		if (store_counter_get(st, key, &v) != STORE_OK)
			return -1;
		if (v >= (int64_t)limit)
			return 0;
		qt_log(o, LOG_INFO, "%s: would be released (user %s)",
		       h->queue_id, user);
		return 1;
	}
	rc = store_counter_add(st, key, 1, cfg->quota_window + 60, &v);
	if (rc != STORE_OK) {
		qt_log(o, LOG_ERR, "%s: cannot count the release (store %s: "
				   "%s): left held",
		       h->queue_id, store_status_name(rc), store_error(st));
		return -1;
	}
	if (v > (int64_t)limit) {
		(void)store_counter_add(st, key, -1, cfg->quota_window + 60,
					&v);
		return 0;
	}
	{
		const char *argv[] = {cfg->postsuper_path, "-H", h->queue_id,
				      NULL};

		if (command_run(argv, NULL, 0, NULL, QT_CMD_WAIT, why,
				sizeof(why)) != 0) {
			(void)store_counter_add(st, key, -1,
						cfg->quota_window + 60, &v);
			qt_log(o, LOG_ERR, "%s: release failed: %s",
			       h->queue_id, why);
			return -1;
		}
	}
	if ((rc = qt_mark_released(st, h->queue_id)) != STORE_OK)
		/* the next run finds it no longer held and marks it then */
		qt_log(o, LOG_WARNING, "%s: released, but not marked (store "
				       "%s: %s)",
		       h->queue_id, store_status_name(rc), store_error(st));
	qt_log(o, LOG_NOTICE,
	       "%s: released from hold: user %s, %lld of %u in this window, "
	       "held since %lld, from=<%s> to=<%s>",
	       h->queue_id, user, (long long)v, limit, (long long)h->time,
	       h->sender, h->rcpts);
	return 1;
}

/* qt_owner - this run's name for claims */
static void
qt_owner(char *out, size_t len)
{
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	snprintf(out, len, "authtag-quota:%s:%ld", host, (long)getpid());
}

/* quota_release - release held mail the windows allow */
int
quota_release(const struct config *cfg, const struct outbound_tool_opts *o,
	      struct quota_release_stats *stats, char *err, size_t errlen)
{
	struct qt_buckets bk = {0};
	struct strbuf held = STRBUF_INIT, full = STRBUF_INIT;
	struct store *st;
	char owner[400], why[300];
	int rc, result = 0;

	memset(stats, 0, sizeof(*stats));
	/* the shipped timer runs everywhere: without quotas, nothing to do
	 * (mail held before OutboundQuota was turned off waits for
	 * postsuper -H by hand, as status would have shown) */
	if (cfg->quota_window == 0)
		return 0;
	if ((st = qt_open(cfg, err, errlen)) == NULL)
		return -1;
	if (qt_held_ids(cfg, &held, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "cannot list the hold queue: %s", why);
		store_close(st);
		sb_free(&held);
		return -1;
	}
	qt_owner(owner, sizeof(owner));
	sb_putc(&full, '\n');
	/* only windows that ended: nothing goes inside the one that held it */
	rc = store_buckets(st, o->now + 1, qt_bucket_cb, &bk);
	if (rc != STORE_OK || bk.nomem) {
		snprintf(err, errlen, "store %s: %s", store_status_name(rc),
			 store_error(st));
		result = -1;
	}
	for (size_t i = 0; result >= 0 && i < bk.n; i++) {
		const struct qt_bucket *b = &bk.v[i];
		struct qt_rows rows = {0};
		unsigned open = 0;

		if (b->end > o->now)
			continue;
		if ((rc = qt_read(st, b, &rows)) != STORE_OK) {
			qt_log(o, LOG_ERR, "user %s: cannot read held mail "
					   "(store %s: %s)",
			       b->user, store_status_name(rc), store_error(st));
			free(rows.v);
			result = 1;
			continue;
		}
		for (size_t j = 0; j < rows.n; j++) {
			const struct quota_held *h = &rows.v[j];
			int r;

			if (qt_released(st, h->queue_id))
				continue;
			if (!qt_is_held(&held, h->queue_id)) {
				if (!o->dry_run)
					(void)qt_mark_released(st, h->queue_id);
				qt_log(o, LOG_INFO,
				       "%s: no longer in the hold queue "
				       "(released or deleted by hand): not "
				       "counted",
				       h->queue_id);
				stats->gone++;
				continue;
			}
			if (qt_full(&full, b->user)) {
				stats->left++;
				open++;
				continue;
			}
			r = qt_release_one(cfg, o, st, b->user, h);
			if (r > 0) {
				stats->released++;
				continue;
			}
			open++;
			if (r == 0) {
				stats->left++;
				sb_printf(&full, "%s\n", b->user);
			} else {
				stats->failed++;
				result = 1;
			}
		}
		if (rows.bad > 0)
			qt_log(o, LOG_WARNING,
			       "user %s: %u held rows did not parse", b->user,
			       rows.bad);
		if (open == 0 && !o->dry_run) {
			char token[64] = "quota";
			struct strbuf g = STRBUF_INIT;

			sb_printf(&g, QUOTA_GROUP "%s", b->user);
			if (store_claim(st, sb_str(&g), b->start, owner,
					QT_LEASE, token,
					sizeof(token)) == STORE_OK)
				(void)store_done(st, sb_str(&g), b->start,
						 owner);
			sb_free(&g);
		}
		free(rows.v);
	}
	if (stats->left > 0)
		qt_log(o, LOG_INFO,
		       "%u held messages wait for a window with room",
		       stats->left);
	qt_buckets_free(&bk);
	sb_free(&held);
	sb_free(&full);
	store_close(st);
	return result;
}

/* qt_time - "2026-12-05 19:00:00" UTC */
static void
qt_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	strftime(out, len, "%Y-%m-%d %H:%M:%S", gmtime_r(&tt, &tm));
}

struct qt_status {
	const struct config *cfg;
	const struct outbound_tool_opts *o;
	const char *user;
	unsigned shown;
};

/* qt_count_cb - one count line */
static int
qt_count_cb(void *arg, const char *key, int64_t value)
{
	struct qt_status *s = arg;
	const char *colon = strrchr(key, ':');
	char when[32], line[600];
	size_t ulen;

	if (colon == NULL || strncmp(key, "quota:", 6) != 0)
		return 0;
	ulen = (size_t)(colon - key) - 6;
	/* the counts of windows that ended linger a minute: not shown */
	if (strtoll(colon + 1, NULL, 10) !=
	    quota_window_start(s->o->now, s->cfg->quota_window))
		return 0;
	if (s->user != NULL &&
	    (strlen(s->user) != ulen || strncasecmp(s->user, key + 6, ulen)))
		return 0;
	qt_time(strtoll(colon + 1, NULL, 10), when, sizeof(when));
	{
		char user[300];

		snprintf(user, sizeof(user), "%.*s", (int)ulen, key + 6);
		snprintf(line, sizeof(line),
			 "count %s: %lld of %u in the window from %s UTC",
			 user, (long long)value,
			 config_quota_limit(s->cfg, user), when);
	}
	s->o->out(line);
	s->shown++;
	return 0;
}

/* quota_status - counts and held mail */
int
quota_status(const struct config *cfg, const struct outbound_tool_opts *o,
	     const char *user, char *err, size_t errlen)
{
	struct qt_status s = {cfg, o, user, 0};
	struct qt_buckets bk = {0};
	struct store *st;
	unsigned held = 0;
	int rc;

	if ((st = qt_open(cfg, err, errlen)) == NULL)
		return -1;
	rc = store_counter_list(st, "quota:", qt_count_cb, &s);
	if (rc == STORE_OK)
		rc = store_buckets(st, INT64_MAX, qt_bucket_cb, &bk);
	for (size_t i = 0; rc == STORE_OK && i < bk.n; i++) {
		const struct qt_bucket *b = &bk.v[i];
		struct qt_rows rows = {0};

		if (user != NULL && strcasecmp(user, b->user) != 0)
			continue;
		rc = qt_read(st, b, &rows);
		for (size_t j = 0; rc == STORE_OK && j < rows.n; j++) {
			const struct quota_held *h = &rows.v[j];
			char when[32], end[32];
			struct strbuf l = STRBUF_INIT;

			if (qt_released(st, h->queue_id))
				continue;
			qt_time(h->time, when, sizeof(when));
			qt_time(b->end, end, sizeof(end));
			sb_printf(&l,
				  "held %s: user %s since %s UTC; window %s "
				  "%s UTC; from=<%s> to=<%s> subject=\"%s\"",
				  h->queue_id, b->user, when,
				  b->end > o->now ? "ends" : "ended", end,
				  h->sender, h->rcpts, h->subject);
			o->out(sb_str(&l));
			sb_free(&l);
			held++;
		}
		free(rows.v);
	}
	if (rc != STORE_OK || bk.nomem) {
		snprintf(err, errlen, "store %s: %s", store_status_name(rc),
			 store_error(st));
		qt_buckets_free(&bk);
		store_close(st);
		return -1;
	}
	{
		char line[200];

		snprintf(line, sizeof(line), "%u counted, %u held", s.shown,
			 held);
		o->out(line);
	}
	qt_buckets_free(&bk);
	store_close(st);
	return 0;
}

/* quota_reset - forget user's count of the current window */
int
quota_reset(const struct config *cfg, const struct outbound_tool_opts *o,
	    const char *user, char *err, size_t errlen)
{
	char key[400], line[500];
	int64_t wstart = quota_window_start(o->now, cfg->quota_window), v = 0;
	struct store *st;
	int rc;

	if (cfg->quota_window == 0) {
		snprintf(err, errlen, "no OutboundQuota in the configuration");
		return -1;
	}
	if ((st = qt_open(cfg, err, errlen)) == NULL)
		return -1;
	quota_count_key(key, sizeof(key), user, wstart);
	rc = store_counter_get(st, key, &v);
	if (rc == STORE_OK)
		rc = store_counter_del(st, key);
	if (rc == STORE_OK) {
		snprintf(key, sizeof(key), "quota-alert:%s:%lld", user,
			 (long long)wstart);
		rc = store_counter_del(st, key);
	}
	if (rc != STORE_OK) {
		snprintf(err, errlen, "store %s: %s", store_status_name(rc),
			 store_error(st));
		store_close(st);
		return -1;
	}
	snprintf(line, sizeof(line), "reset %s: count %lld -> 0", user,
		 (long long)v);
	o->out(line);
	qt_log(o, LOG_NOTICE, "%s", line);
	store_close(st);
	return 0;
}
