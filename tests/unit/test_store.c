/*
 * test_store.c - the state store's interface, against both backends
 *
 * Every case runs on SQLite (a temporary file) and on a real Redis: a
 * redis-server this program starts on a free loopback port (no
 * persistence) and stops by its PID. What is checked is what the
 * recorder, authtag-report and the quotas rely on: counters and their
 * fixed window, batches that count once however often they are retried,
 * rows refused once their bucket is claimed, claims that keep their
 * token and honour leases, prune, exact counts from many threads and
 * from two processes, and a Redis that goes away and comes back.
 * Exit 77 (skip) when redis-server is not installed.
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"

static char sqlite_spec[300];
static char redis_spec[100];
static int redis_port;
static pid_t redis_pid;
static char tmp_dir[] = "/tmp/authtag-store.XXXXXX";

/* free_port - a loopback TCP port nothing listens on now */
static int
free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* redis_up - a redis-server on redis_port; waits (5 s at most) until
 * the store can use it */
static int
redis_up(void)
{
	char port[16], err[256];

	snprintf(port, sizeof(port), "%d", redis_port);
	redis_pid = fork();
	if (redis_pid < 0)
		return -1;
	if (redis_pid == 0) {
		int null = open("/dev/null", 0);

		dup2(null, 1);
		dup2(null, 2);
		execlp("redis-server", "redis-server", "--port", port, "--bind",
		       "127.0.0.1", "--save", "", "--appendonly", "no",
		       "--daemonize", "no", "--dir", tmp_dir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 50; i++) {
		struct store *st = store_open(redis_spec, err, sizeof(err));
		int64_t v = -1;
		int rc = st != NULL ? store_counter_get(st, "ping", &v) : -1;
		struct timespec nap = {0, 100 * 1000000L};

		store_close(st);
		if (rc == STORE_OK)
			return 0;
		nanosleep(&nap, NULL);
	}
	return -1;
}

/* redis_down - stop it by its PID */
static void
redis_down(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGTERM);
		waitpid(redis_pid, NULL, 0);
		redis_pid = 0;
	}
}

/* opened - a store on the backend the case runs on */
static struct store *
opened(void **state)
{
	char err[256];
	struct store *st = store_open(*state, err, sizeof(err));

	if (st == NULL)
		fail_msg("store_open %s: %s", (const char *)*state, err);
	return st;
}

/* a group name no earlier case used (the backends keep state) */
static const char *
group(const char *base)
{
	static char buf[8][128];
	static unsigned n;
	char *b = buf[n++ % 8];

	snprintf(b, 128, "%s.%u.%ld", base, n, (long)getpid());
	return b;
}

static void
test_counters(void **state)
{
	struct store *st = opened(state);
	int64_t v = 0;

	assert_int_equal(store_counter_add(st, "c1", 5, 0, &v), STORE_OK);
	assert_int_equal(v, 5);
	assert_int_equal(store_counter_add(st, "c1", 2, 0, &v), STORE_OK);
	assert_int_equal(v, 7);
	assert_int_equal(store_counter_get(st, "c1", &v), STORE_OK);
	assert_int_equal(v, 7);
	assert_int_equal(store_counter_get(st, "never", &v), STORE_OK);
	assert_int_equal(v, 0);
	assert_int_equal(store_counter_del(st, "c1"), STORE_OK);
	assert_int_equal(store_counter_get(st, "c1", &v), STORE_OK);
	assert_int_equal(v, 0);
	/* a key made of anything but NUL */
	assert_int_equal(store_counter_add(st, "a\tb\nc:d ", 1, 0, &v),
			 STORE_OK);
	assert_int_equal(v, 1);
	store_close(st);
}

/* a counter with a ttl expires ttl seconds after it was made (whole
 * seconds: between ttl - 1 and ttl + 1 after): later adds do not push
 * the window on */
static void
test_counter_window(void **state)
{
	struct store *st = opened(state);
	struct timespec one = {1, 0}, more = {3, 300 * 1000000L};
	int64_t v = 0;

	assert_int_equal(store_counter_add(st, "w1", 1, 3, &v), STORE_OK);
	nanosleep(&one, NULL);
	assert_int_equal(store_counter_add(st, "w1", 1, 3, &v), STORE_OK);
	assert_int_equal(v, 2);
	nanosleep(&more, NULL); /* 4.3 s after it was made */
	assert_int_equal(store_counter_get(st, "w1", &v), STORE_OK);
	assert_int_equal(v, 0);
	assert_int_equal(store_counter_add(st, "w1", 1, 3, &v), STORE_OK);
	assert_int_equal(v, 1);
	store_close(st);
}

struct listed {
	char text[512];
	size_t n;
};

static int
listed_cb(void *arg, const char *key, int64_t value)
{
	struct listed *l = arg;
	size_t len = strlen(l->text);

	snprintf(l->text + len, sizeof(l->text) - len, "%s=%lld;", key,
		 (long long)value);
	l->n++;
	return 0;
}

/* listing by prefix: only keys that start with it, in key order, none
 * expired; glob and LIKE characters in the prefix are plain text */
static void
test_counter_list(void **state)
{
	struct store *st = opened(state);
	struct timespec wait = {2, 300 * 1000000L};
	struct listed l = {{0}, 0};
	int64_t v = 0;

	assert_int_equal(store_counter_add(st, "w:b", 2, 0, &v), STORE_OK);
	assert_int_equal(store_counter_add(st, "w:a", 1, 0, &v), STORE_OK);
	assert_int_equal(store_counter_add(st, "w:gone", 1, 1, &v), STORE_OK);
	assert_int_equal(store_counter_add(st, "x:a", 9, 0, &v), STORE_OK);
	assert_int_equal(store_counter_add(st, "w*%_[", 4, 0, &v), STORE_OK);
	assert_int_equal(store_counter_add(st, "wz", 5, 0, &v), STORE_OK);
	nanosleep(&wait, NULL);
	assert_int_equal(store_counter_list(st, "w:", listed_cb, &l), STORE_OK);
	assert_string_equal(l.text, "w:a=1;w:b=2;");
	l = (struct listed){{0}, 0};
	assert_int_equal(store_counter_list(st, "w*%_", listed_cb, &l),
			 STORE_OK);
	assert_string_equal(l.text, "w*%_[=4;");
	l = (struct listed){{0}, 0};
	assert_int_equal(store_counter_list(st, "nothing", listed_cb, &l),
			 STORE_OK);
	assert_int_equal(l.n, 0);
	store_close(st);
}

struct seen {
	char rows[8][64];
	int64_t counts[8];
	size_t n;
};

static int
seen_row(void *arg, const char *row, int64_t count)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->rows[s->n], sizeof(s->rows[0]), "%s", row);
		s->counts[s->n++] = count;
	}
	return 0;
}

static void
test_add_read(void **state)
{
	struct store *st = opened(state);
	const char *g = group("add.example");
	struct store_rec r[3] = {{g, 1000, 2000, "v=1\tip=b", 2},
				 {g, 1000, 2000, "v=1\tip=a", 1},
				 {g, 2000, 3000, "v=1\tip=a", 4}};
	struct seen s = {0};
	size_t late = 9;

	assert_int_equal(store_add(st, "batch-1", r, 3, &late), STORE_OK);
	assert_int_equal(late, 0);
	/* the same batch again (a retry after a lost reply): nothing */
	assert_int_equal(store_add(st, "batch-1", r, 3, &late), STORE_OK);
	assert_int_equal(store_add(st, "batch-2", r, 2, &late), STORE_OK);
	assert_int_equal(store_read(st, g, 1000, seen_row, &s), STORE_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.rows[0], "v=1\tip=a"); /* row order */
	assert_int_equal(s.counts[0], 2);
	assert_string_equal(s.rows[1], "v=1\tip=b");
	assert_int_equal(s.counts[1], 4);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_read(st, g, 2000, seen_row, &s), STORE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.counts[0], 4);
	store_close(st);
}

struct blist {
	char groups[16][128];
	int64_t start[16], end[16];
	bool done[16];
	size_t n;
	const char *prefix;
};

static int
seen_bucket(void *arg, const char *g, int64_t start, int64_t end, bool done)
{
	struct blist *b = arg;

	if (strncmp(g, b->prefix, strlen(b->prefix)) != 0 || b->n >= 16)
		return 0;
	snprintf(b->groups[b->n], sizeof(b->groups[0]), "%s", g);
	b->start[b->n] = start;
	b->end[b->n] = end;
	b->done[b->n++] = done;
	return 0;
}

/* claims: the token kept, leases honoured, rows refused once claimed */
static void
test_claims(void **state)
{
	struct store *st = opened(state);
	const char *g = group("claim.example");
	struct store_rec r = {g, 5000, 6000, "v=1\tip=c", 3};
	struct store_rec other = {g, 6000, 7000, "v=1\tip=c", 1};
	char tok[64];
	size_t late = 0;
	struct seen s = {0};
	struct timespec nap = {2, 200 * 1000000L};

	assert_int_equal(store_add(st, "claim-1", &r, 1, &late), STORE_OK);
	snprintf(tok, sizeof(tok), "first");
	assert_int_equal(store_claim(st, g, 5000, "host-a", 2, tok,
				     sizeof(tok)),
			 STORE_OK);
	assert_string_equal(tok, "first");
	/* the same owner again: still ours, the same token */
	snprintf(tok, sizeof(tok), "again");
	assert_int_equal(store_claim(st, g, 5000, "host-a", 2, tok,
				     sizeof(tok)),
			 STORE_OK);
	assert_string_equal(tok, "first");
	/* another owner while the lease lives: taken, and by whom */
	snprintf(tok, sizeof(tok), "second");
	assert_int_equal(store_claim(st, g, 5000, "host-b", 2, tok,
				     sizeof(tok)),
			 STORE_TAKEN);
	assert_string_equal(tok, "host-a");
	/* rows for the claimed bucket are late; another bucket takes them */
	assert_int_equal(store_add(st, "claim-2", &r, 1, &late), STORE_OK);
	assert_int_equal(late, 1);
	assert_int_equal(store_add(st, "claim-3", &other, 1, &late), STORE_OK);
	assert_int_equal(late, 0);
	assert_int_equal(store_read(st, g, 5000, seen_row, &s), STORE_OK);
	assert_int_equal(s.counts[0], 3);
	/* done only by its owner */
	assert_int_equal(store_done(st, g, 5000, "host-b"), STORE_BAD);
	/* the lease runs out: host-b takes over with the first token */
	nanosleep(&nap, NULL);
	snprintf(tok, sizeof(tok), "third");
	assert_int_equal(store_claim(st, g, 5000, "host-b", 60, tok,
				     sizeof(tok)),
			 STORE_OK);
	assert_string_equal(tok, "first");
	assert_int_equal(store_done(st, g, 5000, "host-b"), STORE_OK);
	assert_int_equal(store_claim(st, g, 5000, "host-a", 60, tok,
				     sizeof(tok)),
			 STORE_DONE);
	store_close(st);
}

/* the buckets that ended, in (start, group) order; prune */
static void
test_buckets_prune(void **state)
{
	struct store *st = opened(state);
	char prefix[64], ga[128], gb[128], tok[64] = "t";
	struct blist b = {.prefix = prefix};
	size_t late, pruned = 0;
	struct seen s = {0};

	snprintf(prefix, sizeof(prefix), "bk%ld.", (long)getpid());
	snprintf(ga, sizeof(ga), "%sa", prefix);
	snprintf(gb, sizeof(gb), "%sb", prefix);
	{
		struct store_rec r[4] = {{gb, 100, 200, "x", 1},
					 {ga, 100, 200, "x", 1},
					 {ga, 200, 300, "x", 1},
					 {ga, 900, 1000, "x", 1}};

		assert_int_equal(store_add(st, prefix, r, 4, &late), STORE_OK);
	}
	assert_int_equal(store_claim(st, ga, 100, "me", 60, tok, sizeof(tok)),
			 STORE_OK);
	assert_int_equal(store_done(st, ga, 100, "me"), STORE_OK);
	assert_int_equal(store_buckets(st, 300, seen_bucket, &b), STORE_OK);
	assert_int_equal(b.n, 3);
	assert_string_equal(b.groups[0], ga);
	assert_true(b.done[0]);
	assert_string_equal(b.groups[1], gb);
	assert_false(b.done[1]);
	assert_int_equal(b.start[2], 200);
	assert_int_equal(b.end[2], 300);
	/* prune what ended before 300: the two buckets of 100..200 */
	assert_int_equal(store_prune(st, 300, &pruned), STORE_OK);
	assert_true(pruned >= 2);
	memset(&b, 0, sizeof(b));
	b.prefix = prefix;
	assert_int_equal(store_buckets(st, 100000, seen_bucket, &b), STORE_OK);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.start[0], 200);
	assert_int_equal(b.start[1], 900);
	assert_int_equal(store_read(st, gb, 100, seen_row, &s), STORE_OK);
	assert_int_equal(s.n, 0);
	store_close(st);
}

struct adder {
	const char *spec, *group;
	int id;
};

static void *
adder(void *arg)
{
	struct adder *a = arg;
	char err[256], batch[64];
	struct store *st = store_open(a->spec, err, sizeof(err));

	for (int i = 0; st != NULL && i < 250; i++) {
		struct store_rec r = {a->group, 7000, 8000, "v=1\tip=t", 1};
		size_t late;

		snprintf(batch, sizeof(batch), "%s-%d-%d", a->group, a->id, i);
		if (store_add(st, batch, &r, 1, &late) != STORE_OK)
			break;
	}
	store_close(st);
	return NULL;
}

/* four threads on one handle each, 250 batches each: exactly 1000; then
 * a second process adds 10 through its own handle */
static void
test_concurrent(void **state)
{
	const char *g = group("conc.example");
	struct adder a[4];
	pthread_t th[4];
	struct store *st;
	struct seen s = {0};
	pid_t child;
	int status;

	for (int i = 0; i < 4; i++) {
		a[i] = (struct adder){*state, g, i};
		assert_int_equal(pthread_create(&th[i], NULL, adder, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char err[256];
		struct store *cs = store_open(*state, err, sizeof(err));
		struct store_rec r = {g, 7000, 8000, "v=1\tip=t", 10};
		size_t late;

		int ok = cs != NULL && store_add(cs, "from-the-child", &r, 1,
						 &late) == STORE_OK;

		store_close(cs);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	st = opened(state);
	assert_int_equal(store_read(st, g, 7000, seen_row, &s), STORE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.counts[0], 1010);
	store_close(st);
}

/* Redis stops: calls fail as "down" within seconds; it comes back on
 * the same port: the same handle works again */
static void
test_redis_down(void **state)
{
	struct store *st = opened(state);
	struct store_rec r = {"down.example", 1, 2, "x", 1};
	struct timespec t0, t1;
	size_t late;
	int64_t v;

	assert_int_equal(store_counter_add(st, "before", 1, 0, &v), STORE_OK);
	redis_down();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(store_add(st, "down-1", &r, 1, &late), STORE_DOWN);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec <= 3);
	assert_non_null(strstr(store_error(st), "redis"));
	assert_int_equal(redis_up(), 0);
	assert_int_equal(store_add(st, "down-1", &r, 1, &late), STORE_OK);
	assert_int_equal(store_counter_add(st, "after", 1, 0, &v), STORE_OK);
	assert_int_equal(v, 1);
	store_close(st);
}

/* a probe says whether the store could be used, and creates nothing:
 * authtag -n run as root must not leave a root-owned database behind */
static void
test_probe(void **state)
{
	char err[256], spec[400], path[350];
	struct store *st;

	(void)state;
	snprintf(path, sizeof(path), "%s/probe.db", tmp_dir);
	snprintf(spec, sizeof(spec), "sqlite:%s", path);
	st = store_open(spec, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_probe(st), STORE_OK);
	assert_int_equal(access(path, F_OK), -1);
	store_close(st);
	st = store_open("sqlite:/nonexistent/authtag/state.db", err,
			sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_probe(st), STORE_DOWN);
	assert_non_null(strstr(store_error(st), "/nonexistent/authtag"));
	store_close(st);
	st = store_open(redis_spec, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_probe(st), STORE_OK);
	store_close(st);
}

/* specs: what is refused, and the password kept out of the logs */
static void
test_specs(void **state)
{
	static const char *const bad[] = {
	    "redis:host:1",          "redis://",
	    "redis://h:99999/0",     "redis://h:1/x",
	    "redis:unix:relative",   "redis:unix:/s?bogus=1",
	    "sqlite:relative/path",  "postgres://h/db",
	};
	char err[256];
	struct store *st;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(store_open(bad[i], err, sizeof(err)));
		assert_true(err[0] != '\0');
	}
	assert_null(store_open("none", err, sizeof(err)));
	assert_int_equal(err[0], '\0');
	st = store_open("redis://:s3cret@127.0.0.1:1/2", err, sizeof(err));
	assert_non_null(st);
	assert_null(strstr(store_spec(st), "s3cret"));
	store_close(st);
	st = store_open("redis://[::1]:6390/4", err, sizeof(err));
	assert_non_null(st);
	store_close(st);
	st = store_open("redis:unix:/run/redis/redis.sock?db=3&password=x",
			err, sizeof(err));
	assert_non_null(st);
	store_close(st);
}

int
main(void)
{
	const char *redis = redis_spec;
	int rc;

#define BOTH(f)                                                               \
	cmocka_unit_test_prestate(f, sqlite_spec),                            \
	    cmocka_unit_test_prestate(f, redis_spec)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_specs),
	    cmocka_unit_test(test_probe),
	    BOTH(test_counters),
	    BOTH(test_counter_window),
	    BOTH(test_counter_list),
	    BOTH(test_add_read),
	    BOTH(test_claims),
	    BOTH(test_buckets_prune),
	    BOTH(test_concurrent),
	    cmocka_unit_test_prestate(test_redis_down, (void *)redis),
	};

	if (system("command -v redis-server >/dev/null 2>&1") != 0) {
		printf("SKIP: redis-server not installed (contrib/quickstart.sh "
		       "installs it)\n");
		return 77;
	}
	if (mkdtemp(tmp_dir) == NULL)
		return 99;
	snprintf(sqlite_spec, sizeof(sqlite_spec), "sqlite:%s/state.db",
		 tmp_dir);
	redis_port = free_port();
	snprintf(redis_spec, sizeof(redis_spec), "redis://127.0.0.1:%d/5",
		 redis_port);
	if (redis_port < 0 || redis_up() != 0) {
		printf("redis-server did not start on port %d\n", redis_port);
		redis_down();
		return 99;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	redis_down();
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
		if (system(cmd) != 0)
			rc = rc != 0 ? rc : 1;
	}
	return rc;
}
