/*
 * store_redis.c - the state store in Redis (several MX hosts, one store)
 *
 * Owns the Redis key layout and the connection. Every change that
 * touches more than one key runs as one Lua script (EVAL), which Redis
 * runs atomically: a batch of rows, a claim, marking a bucket done. Keys
 * ("authtag:" prefix; a group is length-prefixed, so no group name can
 * be made to look like another's bucket):
 *
 *   authtag:c:KEY              a counter (INCRBY; EXPIRE when created)
 *   authtag:batch:ID           a batch already added (expires in a day)
 *   authtag:r:LEN:GROUP:START  a bucket's rows: hash row -> count
 *   authtag:b:LEN:GROUP:START  a bucket's state: hash group, start, end,
 *                              state (claimed|done), owner, lease, token
 *   authtag:buckets            sorted set of LEN:GROUP:START by end
 *
 * Claims compare leases with the Redis server's clock (TIME), so hosts
 * whose clocks differ still agree. One connection per handle, made on
 * first use and again after any error, with a 1 s connect and a 2 s
 * command timeout: a Redis that is down or hung costs the writer thread
 * seconds, never a message. A mutex makes the handle safe for threads.
 */
#include "build.h" /* first: feature macros */

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "store.h"
#include "strbuf.h"

struct sr {
	pthread_mutex_t lock;
	redisContext *c; /* NULL until connected, and after an error */
	char *host;      /* NULL for a unix socket */
	int port;
	char *path;      /* unix socket */
	int db;
	char *password;  /* NULL: no AUTH */
};

/* the last error of this thread's request (store_backend.error) */
static __thread char sr_errbuf[256];

/* sr_drop - forget the connection: the next call makes a new one */
static void
sr_drop(struct sr *s)
{
	if (s->c != NULL)
		redisFree(s->c);
	s->c = NULL;
}

/* sr_fail - keep the reason, drop the connection; STORE_DOWN */
static int
sr_fail(struct sr *s, const char *what)
{
	snprintf(sr_errbuf, sizeof(sr_errbuf), "redis %s: %s", what,
		 s->c != NULL && s->c->err ? s->c->errstr : "no connection");
	sr_drop(s);
	return STORE_DOWN;
}

/* sr_reply_status - our status for an error reply: the server's state
 * errors heal (down), the rest are ours (bad) */
static int
sr_reply_status(const redisReply *r, const char *what)
{
	static const char *const heal[] = {"LOADING", "READONLY", "OOM",
					   "MISCONF", "BUSY", "MASTERDOWN",
					   "NOAUTH", "TRYAGAIN", NULL};

	snprintf(sr_errbuf, sizeof(sr_errbuf), "redis %s: %.*s", what,
		 (int)r->len, r->str);
	for (int i = 0; heal[i] != NULL; i++)
		if (strncmp(r->str, heal[i], strlen(heal[i])) == 0)
			return STORE_DOWN;
	return STORE_BAD;
}

/* sr_cmd - one command (binary-safe arguments); NULL with the status in
 * *rc when it failed. The caller frees the reply. */
static redisReply *
sr_cmd(struct sr *s, int argc, const char **argv, const size_t *argvlen,
       int *rc, const char *what)
{
	redisReply *r;

	r = redisCommandArgv(s->c, argc, argv, argvlen);
	if (r == NULL) {
		*rc = sr_fail(s, what);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		*rc = sr_reply_status(r, what);
		freeReplyObject(r);
		return NULL;
	}
	*rc = STORE_OK;
	return r;
}

/* sr_connect - connect, AUTH and SELECT, if not yet connected */
static int
sr_connect(struct sr *s)
{
	struct timeval cto = {1, 0}, cmdto = {2, 0};
	redisReply *r;
	char dbs[16];
	int rc;

	if (s->c != NULL)
		return STORE_OK;
	s->c = s->path != NULL
		   ? redisConnectUnixWithTimeout(s->path, cto)
		   : redisConnectWithTimeout(s->host, s->port, cto);
	if (s->c == NULL || s->c->err)
		return sr_fail(s, "connect");
	if (redisSetTimeout(s->c, cmdto) != REDIS_OK)
		return sr_fail(s, "timeout");
	if (s->password != NULL) {
		const char *argv[] = {"AUTH", s->password};

		if ((r = sr_cmd(s, 2, argv, NULL, &rc, "AUTH")) == NULL) {
			sr_drop(s);
			return rc == STORE_BAD ? STORE_DOWN : rc;
		}
		freeReplyObject(r);
	}
	if (s->db != 0) {
		const char *argv[] = {"SELECT", dbs};

		snprintf(dbs, sizeof(dbs), "%d", s->db);
		if ((r = sr_cmd(s, 2, argv, NULL, &rc, "SELECT")) == NULL) {
			sr_drop(s);
			return rc;
		}
		freeReplyObject(r);
	}
	return STORE_OK;
}

/* sr_parse - the spec after "redis:": //[:PASSWORD@]HOST[:PORT][/DB],
 * HOST may be [IPv6]; or unix:/PATH[?db=N][&password=P] */
static int
sr_parse(struct sr *s, const char *spec, char *err, size_t errlen)
{
	const char *p, *at, *end;
	char *q;

	s->port = 6379;
	if (strncmp(spec, "unix:", 5) == 0) {
		const char *query = strchr(spec + 5, '?');
		size_t plen = query != NULL ? (size_t)(query - spec - 5)
					    : strlen(spec + 5);

		if (spec[5] != '/' || plen < 2) {
			snprintf(err, errlen, "redis:%s: the socket path must "
					      "be absolute", spec);
			return -1;
		}
		s->path = strndup(spec + 5, plen);
		for (p = query; p != NULL && *p != '\0';) {
			const char *amp;
			size_t n;

			p++;
			amp = strchr(p, '&');
			n = amp != NULL ? (size_t)(amp - p) : strlen(p);
			if (strncmp(p, "db=", 3) == 0)
				s->db = (int)strtol(p + 3, NULL, 10);
			else if (strncmp(p, "password=", 9) == 0) {
				free(s->password);
				s->password = strndup(p + 9, n - 9);
			} else {
				snprintf(err, errlen,
					 "redis:%s: unknown parameter %.*s",
					 spec, (int)n, p);
				return -1;
			}
			p = amp;
		}
		return s->path != NULL ? 0 : -1;
	}
	if (strncmp(spec, "//", 2) != 0) {
		snprintf(err, errlen, "redis:%s: not redis://HOST:PORT/DB or "
				      "redis:unix:/PATH", spec);
		return -1;
	}
	p = spec + 2;
	end = p + strcspn(p, "/");
	at = memchr(p, '@', (size_t)(end - p));
	if (at != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));

		/* redis://user:password@ or redis://:password@ */
		s->password = colon != NULL
				  ? strndup(colon + 1, (size_t)(at - colon - 1))
				  : strndup(p, (size_t)(at - p));
		p = at + 1;
	}
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (close == NULL) {
			snprintf(err, errlen, "redis:%s: no ']'", spec);
			return -1;
		}
		s->host = strndup(p + 1, (size_t)(close - p - 1));
		p = close + 1;
	} else {
		size_t n = strcspn(p, ":/");

		s->host = strndup(p, n);
		p += n;
	}
	if (*p == ':') {
		long port = strtol(p + 1, &q, 10);

		if (q == p + 1 || port < 1 || port > 65535 ||
		    (*q != '\0' && *q != '/')) {
			snprintf(err, errlen, "redis:%s: bad port", spec);
			return -1;
		}
		s->port = (int)port;
		p = q;
	}
	if (*p == '/' && p[1] != '\0') {
		long db = strtol(p + 1, &q, 10);

		if (q == p + 1 || *q != '\0' || db < 0 || db > 1000000) {
			snprintf(err, errlen, "redis:%s: bad database number",
				 spec);
			return -1;
		}
		s->db = (int)db;
	} else if (*p != '\0' && strcmp(p, "/") != 0) {
		snprintf(err, errlen, "redis:%s: unexpected \"%s\"", spec, p);
		return -1;
	}
	if (s->host == NULL || s->host[0] == '\0') {
		snprintf(err, errlen, "redis:%s: no host", spec);
		return -1;
	}
	return 0;
}

static void
sr_close(void *h)
{
	struct sr *s = h;

	sr_drop(s);
	pthread_mutex_destroy(&s->lock);
	free(s->host);
	free(s->path);
	free(s->password);
	free(s);
}

/* sr_open - parse the spec; the connection is made on first use */
static void *
sr_open(const char *spec, char *err, size_t errlen)
{
	struct sr *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	if (sr_parse(s, spec, err, errlen) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "out of memory");
		sr_close(s);
		return NULL;
	}
	return s;
}

static const char *
sr_error(void *h)
{
	(void)h;
	return sr_errbuf;
}

/* sr_id - a bucket's key part: LEN:GROUP:START */
static void
sr_id(struct strbuf *sb, const char *group, int64_t start)
{
	sb_printf(sb, "%zu:%s:%lld", strlen(group), group, (long long)start);
}

/* sr_begin - lock and connect */
static int
sr_begin(struct sr *s)
{
	pthread_mutex_lock(&s->lock);
	return sr_connect(s);
}

/* sr_end - unlock, pass the status on */
static int
sr_end(struct sr *s, int rc)
{
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* counter_add: INCRBY, and EXPIRE when this call made the key */
static const char sr_lua_counter[] =
    "local v = redis.call('INCRBY', KEYS[1], ARGV[1])\n"
    "if tonumber(ARGV[2]) > 0 and redis.call('TTL', KEYS[1]) == -1 then\n"
    "  redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "return v\n";

static int
sr_counter_add(void *h, const char *key, int64_t delta, unsigned ttl,
	       int64_t *value)
{
	struct sr *s = h;
	struct strbuf k = STRBUF_INIT;
	char d[24], t[16];
	redisReply *r;
	int rc;

	sb_printf(&k, "authtag:c:%s", key);
	snprintf(d, sizeof(d), "%lld", (long long)delta);
	snprintf(t, sizeof(t), "%u", ttl);
	if ((rc = sr_begin(s)) == STORE_OK) {
		const char *argv[] = {"EVAL", sr_lua_counter, "1", sb_str(&k),
				      d, t};

		if ((r = sr_cmd(s, 6, argv, NULL, &rc, "counter")) != NULL) {
			*value = r->type == REDIS_REPLY_INTEGER ? r->integer
								: 0;
			freeReplyObject(r);
		}
	}
	sb_free(&k);
	return sr_end(s, rc);
}

static int
sr_counter_get(void *h, const char *key, int64_t *value)
{
	struct sr *s = h;
	struct strbuf k = STRBUF_INIT;
	redisReply *r;
	int rc;

	*value = 0;
	sb_printf(&k, "authtag:c:%s", key);
	if ((rc = sr_begin(s)) == STORE_OK) {
		const char *argv[] = {"GET", sb_str(&k)};

		if ((r = sr_cmd(s, 2, argv, NULL, &rc, "GET")) != NULL) {
			if (r->type == REDIS_REPLY_STRING)
				*value = strtoll(r->str, NULL, 10);
			freeReplyObject(r);
		}
	}
	sb_free(&k);
	return sr_end(s, rc);
}

static int
sr_counter_del(void *h, const char *key)
{
	struct sr *s = h;
	struct strbuf k = STRBUF_INIT;
	redisReply *r;
	int rc;

	sb_printf(&k, "authtag:c:%s", key);
	if ((rc = sr_begin(s)) == STORE_OK) {
		const char *argv[] = {"DEL", sb_str(&k)};

		if ((r = sr_cmd(s, 2, argv, NULL, &rc, "DEL")) != NULL)
			freeReplyObject(r);
	}
	sb_free(&k);
	return sr_end(s, rc);
}

/* add: a batch, once per id; rows of claimed or done buckets are late.
 * ARGV: batch id, then ID START END ROW COUNT per record */
static const char sr_lua_add[] =
    "if not redis.call('SET', 'authtag:batch:' .. ARGV[1], '1', 'NX',\n"
    "    'EX', 86400) then return -1 end\n"
    "local late = 0\n"
    "for i = 2, #ARGV, 5 do\n"
    "  local id, s, e = ARGV[i], ARGV[i + 1], ARGV[i + 2]\n"
    "  local b = 'authtag:b:' .. id\n"
    "  local st = redis.call('HGET', b, 'state')\n"
    "  if st == 'claimed' or st == 'done' then\n"
    "    late = late + 1\n"
    "  else\n"
    "    redis.call('HINCRBY', 'authtag:r:' .. id, ARGV[i + 3], ARGV[i + 4])\n"
    "    redis.call('HSETNX', b, 'start', s)\n"
    "    redis.call('HSETNX', b, 'end', e)\n"
    "    redis.call('ZADD', 'authtag:buckets', e, id)\n"
    "  end\n"
    "end\n"
    "return late\n";

static int
sr_add(void *h, const char *batch, const struct store_rec *recs, size_t n,
       size_t *late)
{
	struct sr *s = h;
	size_t argc = 4 + 5 * n;
	const char **argv = calloc(argc, sizeof(*argv));
	size_t *len = calloc(argc, sizeof(*len));
	struct strbuf *nums = calloc(n * 4 + 1, sizeof(*nums));
	redisReply *r;
	int rc;

	*late = 0;
	if (argv == NULL || len == NULL || nums == NULL) {
		free(argv);
		free(len);
		free(nums);
		snprintf(sr_errbuf, sizeof(sr_errbuf), "out of memory");
		return STORE_DOWN;
	}
	argv[0] = "EVAL";
	argv[1] = sr_lua_add;
	argv[2] = "0";
	argv[3] = batch;
	for (size_t i = 0; i < n; i++) {
		struct strbuf *id = &nums[4 * i], *st = &nums[4 * i + 1];
		struct strbuf *en = &nums[4 * i + 2], *c = &nums[4 * i + 3];

		sr_id(id, recs[i].group, recs[i].start);
		sb_printf(st, "%lld", (long long)recs[i].start);
		sb_printf(en, "%lld", (long long)recs[i].end);
		sb_printf(c, "%lld", (long long)recs[i].count);
		argv[4 + 5 * i] = sb_str(id);
		argv[5 + 5 * i] = sb_str(st);
		argv[6 + 5 * i] = sb_str(en);
		argv[7 + 5 * i] = recs[i].row;
		argv[8 + 5 * i] = sb_str(c);
	}
	for (size_t i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	if ((rc = sr_begin(s)) == STORE_OK &&
	    (r = sr_cmd(s, (int)argc, argv, len, &rc, "add")) != NULL) {
		if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
			*late = (size_t)r->integer;
		freeReplyObject(r);
	}
	sr_end(s, rc);
	for (size_t i = 0; i < n * 4; i++)
		sb_free(&nums[i]);
	free(nums);
	free(argv);
	free(len);
	return rc;
}

/* one bucket or row collected for the callbacks (called unlocked: a
 * callback may use the store) */
struct sr_item {
	char *text;
	int64_t a, b;
	bool done;
};

/* sr_items_free - free a collected list */
static void
sr_items_free(struct sr_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}

/* sr_bucket_cmp - (start, group) order */
static int
sr_bucket_cmp(const void *x, const void *y)
{
	const struct sr_item *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return strcmp(a->text, b->text);
}

/* sr_split_id - the group and start out of LEN:GROUP:START */
static int
sr_split_id(const char *id, size_t idlen, char **group, int64_t *start)
{
	char *end;
	unsigned long n = strtoul(id, &end, 10);

	if (*end != ':' || n > idlen || (size_t)(end - id) + 1 + n >= idlen ||
	    end[1 + n] != ':')
		return -1;
	*group = strndup(end + 1, n);
	*start = strtoll(end + 2 + n, NULL, 10);
	return *group != NULL ? 0 : -1;
}

static int
sr_buckets(void *h, int64_t end_before, store_buckets_cb cb, void *arg)
{
	struct sr *s = h;
	struct sr_item *v = NULL;
	size_t n = 0;
	char max[24];
	redisReply *ids;
	int rc;

	snprintf(max, sizeof(max), "%lld", (long long)end_before);
	if ((rc = sr_begin(s)) != STORE_OK)
		return sr_end(s, rc);
	{
		const char *argv[] = {"ZRANGEBYSCORE", "authtag:buckets",
				      "-inf", max};

		ids = sr_cmd(s, 4, argv, NULL, &rc, "buckets");
	}
	for (size_t i = 0; ids != NULL && rc == STORE_OK && i < ids->elements;
	     i++) {
		const redisReply *id = ids->element[i];
		struct strbuf key = STRBUF_INIT;
		redisReply *st;

		sb_puts(&key, "authtag:b:");
		sb_putn(&key, id->str, id->len);
		{
			const char *argv[] = {"HMGET", sb_str(&key), "end",
					      "state"};
			size_t len[] = {5, key.len, 3, 5};

			st = sr_cmd(s, 4, argv, len, &rc, "bucket");
		}
		sb_free(&key);
		if (st == NULL)
			break;
		if (st->type == REDIS_REPLY_ARRAY && st->elements == 2 &&
		    sb_array_room(&v, n, sizeof(*v)) == 0 &&
		    sr_split_id(id->str, id->len, &v[n].text, &v[n].a) == 0) {
			v[n].b = st->element[0]->type == REDIS_REPLY_STRING
				     ? strtoll(st->element[0]->str, NULL, 10)
				     : 0;
			v[n].done = st->element[1]->type == REDIS_REPLY_STRING &&
				    strcmp(st->element[1]->str, "done") == 0;
			n++;
		}
		freeReplyObject(st);
	}
	if (ids != NULL)
		freeReplyObject(ids);
	sr_end(s, rc);
	if (n > 1)
		qsort(v, n, sizeof(*v), sr_bucket_cmp);
	for (size_t i = 0; rc == STORE_OK && i < n; i++)
		if (cb(arg, v[i].text, v[i].a, v[i].b, v[i].done) != 0)
			break;
	sr_items_free(v, n);
	return rc;
}

/* sr_row_cmp - row order */
static int
sr_row_cmp(const void *x, const void *y)
{
	return strcmp(((const struct sr_item *)x)->text,
		      ((const struct sr_item *)y)->text);
}

/* sr_counter_list - SCAN the counter keys under a glob-escaped prefix
 * (bounded: at most SR_SCAN_MAX rounds), GET each, sorted by key */
#define SR_SCAN_MAX 100000
static int
sr_counter_list(void *h, const char *prefix, store_counters_cb cb, void *arg)
{
	struct sr *s = h;
	struct strbuf pat = STRBUF_INIT;
	struct sr_item *v = NULL;
	size_t n = 0, plen = strlen("authtag:c:");
	char cursor[32] = "0";
	int rc, rounds = 0;

	sb_puts(&pat, "authtag:c:");
	for (const char *p = prefix; *p != '\0'; p++) {
		if (strchr("*?[]\\", *p) != NULL)
			sb_putc(&pat, '\\');
		sb_putc(&pat, *p);
	}
	sb_putc(&pat, '*');
	rc = sr_begin(s);
	while (rc == STORE_OK && rounds++ < SR_SCAN_MAX) {
		const char *argv[] = {"SCAN", cursor, "MATCH", sb_str(&pat),
				      "COUNT", "1000"};
		redisReply *r = sr_cmd(s, 6, argv, NULL, &rc, "SCAN");

		if (r == NULL)
			break;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING) {
			freeReplyObject(r);
			rc = STORE_BAD;
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			const redisReply *k = r->element[1]->element[i];

			if (k->len <= plen)
				continue;
			if (sb_array_room(&v, n, sizeof(*v)) != 0 ||
			    (v[n].text = strndup(k->str + plen,
						 k->len - plen)) == NULL) {
				snprintf(sr_errbuf, sizeof(sr_errbuf),
					 "out of memory");
				rc = STORE_DOWN;
				break;
			}
			v[n++].a = 0;
		}
		freeReplyObject(r);
		if (strcmp(cursor, "0") == 0)
			break;
	}
	/* the values; a key that expired since the SCAN is left out */
	for (size_t i = 0; rc == STORE_OK && i < n; i++) {
		struct strbuf k = STRBUF_INIT;
		redisReply *r;

		sb_printf(&k, "authtag:c:%s", v[i].text);
		{
			const char *argv[] = {"GET", sb_str(&k)};

			r = sr_cmd(s, 2, argv, NULL, &rc, "GET");
		}
		sb_free(&k);
		v[i].done = r == NULL || r->type != REDIS_REPLY_STRING;
		if (!v[i].done)
			v[i].a = strtoll(r->str, NULL, 10);
		if (r != NULL)
			freeReplyObject(r);
	}
	sr_end(s, rc);
	sb_free(&pat);
	if (n > 1)
		qsort(v, n, sizeof(*v), sr_row_cmp);
	for (size_t i = 0; rc == STORE_OK && i < n; i++)
		if (!v[i].done && cb(arg, v[i].text, v[i].a) != 0)
			break;
	sr_items_free(v, n);
	return rc;
}

static int
sr_read(void *h, const char *group, int64_t start, store_rows_cb cb,
	void *arg)
{
	struct sr *s = h;
	struct strbuf key = STRBUF_INIT;
	struct sr_item *v = NULL;
	size_t n = 0;
	redisReply *r = NULL;
	int rc;

	sb_puts(&key, "authtag:r:");
	sr_id(&key, group, start);
	if ((rc = sr_begin(s)) == STORE_OK) {
		const char *argv[] = {"HGETALL", sb_str(&key)};
		size_t len[] = {7, key.len};

		r = sr_cmd(s, 2, argv, len, &rc, "read");
	}
	sr_end(s, rc);
	for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
			   i + 1 < r->elements;
	     i += 2) {
		if (sb_array_room(&v, n, sizeof(*v)) != 0 ||
		    (v[n].text = strndup(r->element[i]->str,
					 r->element[i]->len)) == NULL) {
			snprintf(sr_errbuf, sizeof(sr_errbuf), "out of memory");
			rc = STORE_DOWN;
			break;
		}
		v[n].a = strtoll(r->element[i + 1]->str, NULL, 10);
		n++;
	}
	if (r != NULL)
		freeReplyObject(r);
	sb_free(&key);
	if (n > 1) /* qsort wants an array, even of none */
		qsort(v, n, sizeof(*v), sr_row_cmp);
	for (size_t i = 0; rc == STORE_OK && i < n; i++)
		if (cb(arg, v[i].text, v[i].a) != 0)
			break;
	sr_items_free(v, n);
	return rc;
}

/* claim: ARGV id owner lease token start; {'ok', token}, {'taken',
 * holder} or {'done'} */
static const char sr_lua_claim[] =
    "local b = 'authtag:b:' .. ARGV[1]\n"
    "local now = tonumber(redis.call('TIME')[1])\n"
    "local st = redis.call('HMGET', b, 'state', 'owner', 'lease', 'token')\n"
    "if st[1] == 'done' then return {'done'} end\n"
    "if st[1] == 'claimed' and st[2] ~= ARGV[2] and\n"
    "    tonumber(st[3]) > now then return {'taken', st[2]} end\n"
    "local tok = st[4] or ARGV[4]\n"
    "redis.call('HSET', b, 'state', 'claimed', 'owner', ARGV[2],\n"
    "  'lease', now + tonumber(ARGV[3]), 'token', tok)\n"
    "redis.call('HSETNX', b, 'start', ARGV[5])\n"
    "redis.call('HSETNX', b, 'end', ARGV[5])\n"
    "return {'ok', tok}\n";

static int
sr_claim(void *h, const char *group, int64_t start, const char *owner,
	 unsigned lease, char *token, size_t tokenlen)
{
	struct sr *s = h;
	struct strbuf id = STRBUF_INIT;
	char ls[16], ss[24];
	redisReply *r;
	int rc;

	sr_id(&id, group, start);
	snprintf(ls, sizeof(ls), "%u", lease);
	snprintf(ss, sizeof(ss), "%lld", (long long)start);
	if ((rc = sr_begin(s)) == STORE_OK) {
		const char *argv[] = {"EVAL", sr_lua_claim, "0", sb_str(&id),
				      owner,  ls,           token, ss};
		size_t len[8];

		for (int i = 0; i < 8; i++)
			len[i] = strlen(argv[i]);
		len[3] = id.len;
		if ((r = sr_cmd(s, 8, argv, len, &rc, "claim")) != NULL) {
			if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
			    r->element[0]->type != REDIS_REPLY_STRING) {
				snprintf(sr_errbuf, sizeof(sr_errbuf),
					 "redis claim: unexpected reply");
				rc = STORE_BAD;
			} else if (strcmp(r->element[0]->str, "done") == 0)
				rc = STORE_DONE;
			else {
				if (r->elements > 1 &&
				    r->element[1]->type == REDIS_REPLY_STRING)
					snprintf(token, tokenlen, "%.*s",
						 (int)r->element[1]->len,
						 r->element[1]->str);
				rc = strcmp(r->element[0]->str, "taken") == 0
					 ? STORE_TAKEN
					 : STORE_OK;
			}
			freeReplyObject(r);
		}
	}
	sb_free(&id);
	return sr_end(s, rc);
}

/* done: only by the owner of the claim */
static const char sr_lua_done[] =
    "local b = 'authtag:b:' .. ARGV[1]\n"
    "local st = redis.call('HMGET', b, 'state', 'owner')\n"
    "if st[1] ~= 'claimed' or st[2] ~= ARGV[2] then return 0 end\n"
    "redis.call('HSET', b, 'state', 'done')\n"
    "return 1\n";

static int
sr_done(void *h, const char *group, int64_t start, const char *owner)
{
	struct sr *s = h;
	struct strbuf id = STRBUF_INIT;
	redisReply *r;
	int rc;

	sr_id(&id, group, start);
	if ((rc = sr_begin(s)) == STORE_OK) {
		const char *argv[] = {"EVAL", sr_lua_done, "0", sb_str(&id),
				      owner};
		size_t len[] = {4, strlen(sr_lua_done), 1, id.len,
				strlen(owner)};

		if ((r = sr_cmd(s, 5, argv, len, &rc, "done")) != NULL) {
			if (r->type != REDIS_REPLY_INTEGER || r->integer != 1) {
				snprintf(sr_errbuf, sizeof(sr_errbuf),
					 "bucket %s/%lld is not claimed by %s",
					 group, (long long)start, owner);
				rc = STORE_BAD;
			}
			freeReplyObject(r);
		}
	}
	sb_free(&id);
	return sr_end(s, rc);
}

/* prune: every bucket that ended before ARGV[1], rows and state */
static const char sr_lua_prune[] =
    "local ids = redis.call('ZRANGEBYSCORE', 'authtag:buckets', '-inf',\n"
    "  '(' .. ARGV[1])\n"
    "for _, id in ipairs(ids) do\n"
    "  redis.call('DEL', 'authtag:r:' .. id, 'authtag:b:' .. id)\n"
    "  redis.call('ZREM', 'authtag:buckets', id)\n"
    "end\n"
    "return #ids\n";

static int
sr_prune(void *h, int64_t end_before, size_t *pruned)
{
	struct sr *s = h;
	char eb[24];
	redisReply *r;
	int rc;

	*pruned = 0;
	snprintf(eb, sizeof(eb), "%lld", (long long)end_before);
	if ((rc = sr_begin(s)) == STORE_OK) {
		const char *argv[] = {"EVAL", sr_lua_prune, "0", eb};

		if ((r = sr_cmd(s, 4, argv, NULL, &rc, "prune")) != NULL) {
			if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
				*pruned = (size_t)r->integer;
			freeReplyObject(r);
		}
	}
	return sr_end(s, rc);
}

/* sr_probe - connect (and AUTH, SELECT): nothing is written */
static int
sr_probe(void *h)
{
	struct sr *s = h;

	return sr_end(s, sr_begin(s));
}

const struct store_backend store_backend_redis = {
    .name = "redis",
    .open = sr_open,
    .close = sr_close,
    .counter_add = sr_counter_add,
    .counter_get = sr_counter_get,
    .counter_del = sr_counter_del,
    .counter_list = sr_counter_list,
    .add = sr_add,
    .buckets = sr_buckets,
    .read = sr_read,
    .claim = sr_claim,
    .done = sr_done,
    .prune = sr_prune,
    .error = sr_error,
    .probe = sr_probe,
};
