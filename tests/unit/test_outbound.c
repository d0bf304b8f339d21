/*
 * test_outbound.c - quotas and learned pairs on a real SQLite store
 *
 * quota_check's decisions (limit, per-user limit, exemptions, the held
 * record the release reads back, the alert once per window, a store
 * that is away: the message passes), the held row's text form, and the
 * learned pairs (what is kept, the TTL counted from the last sending).
 */
#include "build.h" /* first: feature macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "outbound/quota.h"
#include "outbound/welcome.h"
#include "store/store.h"

static char dbpath[128];

/* ob_setup - a fresh store file and a config with a 10/1h quota */
static int
ob_setup(void **state)
{
	char spec[160], err[256] = "";
	struct config *cfg = config_new_defaults();

	snprintf(dbpath, sizeof(dbpath), "/tmp/authtag-test-outbound.%ld.db",
		 (long)getpid());
	unlink(dbpath);
	snprintf(spec, sizeof(spec), "sqlite:%s", dbpath);
	if (cfg == NULL)
		return -1;
	cfg->quota_limit = 10;
	cfg->quota_window = 3600;
	state[0] = cfg;
	state[1] = store_open(spec, err, sizeof(err));
	return state[1] != NULL ? 0 : -1;
}

static int
ob_teardown(void **state)
{
	store_close(state[1]);
	config_free(state[0]);
	unlink(dbpath);
	return 0;
}

struct held_rows {
	char rows[8][600];
	size_t n;
};

static int
held_cb(void *arg, const char *row, int64_t count)
{
	struct held_rows *h = arg;

	(void)count;
	if (h->n < 8)
		snprintf(h->rows[h->n++], sizeof(h->rows[0]), "%s", row);
	return 0;
}

/* 10 pass, the 11th and 12th are held with a record each, one alert */
static void
test_quota_limit(void **state)
{
	struct config *cfg = state[0];
	struct store *st = state[1];
	const char *rcpts[] = {"a@example.net", "b@example.net"};
	struct quota_msg m = {"www-data", "www-data@example.org", "QID1",
			      "hello\tworld\n", rcpts, 2};
	struct quota_decision d;
	struct held_rows h = {0};
	struct quota_held qh;
	int64_t now = 1800000000 + 120; /* 2 minutes into a window */
	int64_t ws = quota_window_start(now, 3600);
	char qid[16];
	unsigned alerts = 0;

	assert_int_equal(ws, 1800000000 - 1800000000 % 3600);
	for (int i = 1; i <= 12; i++) {
		snprintf(qid, sizeof(qid), "QID%d", i);
		m.queue_id = qid;
		assert_int_equal(quota_check(st, cfg, &m, now + i, &d), 0);
		assert_int_equal(d.count, i);
		assert_int_equal(d.verdict, i <= 10 ? QUOTA_PASS : QUOTA_HOLD);
		alerts += d.alert;
	}
	assert_int_equal(alerts, 1);
	assert_string_equal(d.text, "outbound quota: user www-data sent 12 of "
				    "10 per 1h; held until the window ends at "
				    "2027-01-15 09:00:00 UTC");
	assert_int_equal(store_read(st, QUOTA_GROUP "www-data", ws, held_cb, &h),
			 STORE_OK);
	assert_int_equal(h.n, 2);
	assert_int_equal(quota_held_parse(h.rows[0], &qh), 0);
	assert_string_equal(qh.queue_id, "QID11");
	assert_int_equal(qh.time, now + 11);
	assert_string_equal(qh.sender, "www-data@example.org");
	assert_string_equal(qh.rcpts, "a@example.net,b@example.net");
	/* controls of a Subject never break the row */
	assert_string_equal(qh.subject, "hello world ");
	/* another user has a window of its own */
	m.user = "alice";
	assert_int_equal(quota_check(st, cfg, &m, now, &d), 0);
	assert_int_equal(d.verdict, QUOTA_PASS);
	assert_int_equal(d.count, 1);
	/* the next window starts again */
	m.user = "www-data";
	assert_int_equal(quota_check(st, cfg, &m, ws + 3600, &d), 0);
	assert_int_equal(d.verdict, QUOTA_PASS);
	assert_int_equal(d.count, 1);
}

/* OutboundQuotaUser and OutboundQuotaExempt */
static void
test_quota_users(void **state)
{
	struct config *cfg = state[0];
	struct store *st = state[1];
	struct config_quota_user u[] = {{"shop", 2}, {"bulk", 0}};
	char *exempt[] = {"mailman", "lists@example.org"};
	struct quota_msg m = {"shop", "shop@example.org", "Q", "", NULL, 0};
	struct quota_decision d;

	cfg->quota_users = u;
	cfg->nquota_users = 2;
	cfg->quota_exempt = exempt;
	cfg->nquota_exempt = 2;
	for (int i = 1; i <= 3; i++)
		assert_int_equal(quota_check(st, cfg, &m, 1800007200, &d), 0);
	assert_int_equal(d.verdict, QUOTA_HOLD);
	assert_int_equal(d.limit, 2);
	/* a limit of 0 holds everything */
	m.user = "bulk";
	assert_int_equal(quota_check(st, cfg, &m, 1800007200, &d), 0);
	assert_int_equal(d.verdict, QUOTA_HOLD);
	m.user = "mailman";
	assert_int_equal(quota_check(st, cfg, &m, 1800007200, &d), 0);
	assert_int_equal(d.verdict, QUOTA_EXEMPT);
	m.user = "someone";
	m.sender = "Lists@Example.org";
	assert_int_equal(quota_check(st, cfg, &m, 1800007200, &d), 0);
	assert_int_equal(d.verdict, QUOTA_EXEMPT);
	cfg->quota_users = NULL;
	cfg->nquota_users = 0;
	cfg->quota_exempt = NULL;
	cfg->nquota_exempt = 0;
}

/* no store: the message passes, uncounted, and says why */
static void
test_quota_down(void **state)
{
	struct config *cfg = state[0];
	struct quota_msg m = {"www-data", "", "Q", "", NULL, 0};
	struct quota_decision d;
	char err[256] = "";
	struct store *gone = store_open("sqlite:/nonexistent-dir/x/state.db",
					err, sizeof(err));

	assert_int_equal(quota_check(NULL, cfg, &m, 1800000000, &d), -1);
	assert_int_equal(d.verdict, QUOTA_DOWN);
	assert_non_null(gone);
	assert_int_equal(quota_check(gone, cfg, &m, 1800000000, &d), -1);
	assert_int_equal(d.verdict, QUOTA_DOWN);
	assert_non_null(strstr(d.text, "quota not counted for www-data"));
	store_close(gone);
}

static void
test_held_parse(void **state)
{
	struct quota_held h;

	(void)state;
	assert_int_equal(quota_held_parse("Q1\t5\ts@x\tr@y\tsubj", &h), 0);
	assert_string_equal(h.subject, "subj");
	assert_int_equal(quota_held_parse("Q1\t5\ts@x\tr@y", &h), -1);
	assert_int_equal(quota_held_parse("\t5\ts\tr\ts", &h), -1);
	assert_int_equal(quota_held_parse("", &h), -1);
}

/* pairs: kept lower case, looked up either way; addresses with
 * blanks or '>' are not kept; learning again a day later moves the
 * expiry on */
static void
test_welcome(void **state)
{
	struct store *st = state[1];
	bool known = true;
	int64_t now = 1800000000;
	int64_t v = 0;

	assert_int_equal(welcome_learn(st, "Alice@Example.org",
				       "<Bob@Partner.example>", 3600, now),
			 0);
	assert_int_equal(welcome_known(st, "alice@example.org",
				       "bob@partner.example", &known),
			 0);
	assert_true(known);
	assert_int_equal(welcome_known(st, "carol@example.org",
				       "bob@partner.example", &known),
			 0);
	assert_false(known);
	assert_int_equal(welcome_learn(st, "alice@example.org", "a b@x.org",
				       3600, now),
			 -1);
	assert_int_equal(welcome_learn(st, "alice@example.org", "x>y@x.org",
				       3600, now),
			 -1);
	assert_int_equal(welcome_learn(st, "alice@example.org", "nobody",
				       3600, now),
			 -1);
	/* within a day: no write; a day later: the time moves on */
	assert_int_equal(welcome_learn(st, "alice@example.org",
				       "bob@partner.example", 3600, now + 60),
			 0);
	assert_int_equal(store_counter_get(st,
					   "welcome:alice@example.org>bob@"
					   "partner.example",
					   &v),
			 STORE_OK);
	assert_int_equal(v, now);
	assert_int_equal(welcome_learn(st, "alice@example.org",
				       "bob@partner.example", 3600,
				       now + 86400 + 1),
			 0);
	assert_int_equal(store_counter_get(st,
					   "welcome:alice@example.org>bob@"
					   "partner.example",
					   &v),
			 STORE_OK);
	assert_int_equal(v, now + 86400 + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_quota_limit, ob_setup,
					    ob_teardown),
	    cmocka_unit_test_setup_teardown(test_quota_users, ob_setup,
					    ob_teardown),
	    cmocka_unit_test_setup_teardown(test_quota_down, ob_setup,
					    ob_teardown),
	    cmocka_unit_test(test_held_parse),
	    cmocka_unit_test_setup_teardown(test_welcome, ob_setup,
					    ob_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
