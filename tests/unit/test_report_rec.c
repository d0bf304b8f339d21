/*
 * test_report_rec.c - report rows and the daemon's recorder
 *
 * The row's text form round-trips hostile values and refuses text that
 * is not a row; the recorder, on a real SQLite store, counts every
 * message added from many threads exactly once, keeps rows while the
 * store cannot be written (one log line, not one per flush) and writes
 * them when it can, bounds what it holds (a row already held still
 * counts, a new one is dropped and counted), and says so at stop.
 */
#include "build.h" /* first: feature macros */

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "report/report_rec.h"
#include "report/report_row.h"
#include "store/store.h"
#include "strbuf.h"

/* the recorder's log lines, for the checks */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct strbuf log_text = STRBUF_INIT;

static void
test_log(int prio, const char *text)
{
	(void)prio;
	pthread_mutex_lock(&log_lock);
	sb_puts(&log_text, text);
	sb_putc(&log_text, '\n');
	pthread_mutex_unlock(&log_lock);
}

/* log_count - lines of the log holding needle */
static int
log_count(const char *needle)
{
	int n = 0;

	pthread_mutex_lock(&log_lock);
	for (const char *p = sb_str(&log_text); (p = strstr(p, needle)) != NULL;
	     p++)
		n++;
	pthread_mutex_unlock(&log_lock);
	return n;
}

/* a_row - a plausible row for domain, from ip */
static void
a_row(struct report_row *r, const char *domain, const char *ip)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->pol.domain, sizeof(r->pol.domain), "%s", domain);
	snprintf(r->pol.p, sizeof(r->pol.p), "reject");
	r->pol.adkim = r->pol.aspf = 'r';
	r->pol.testing = 'n';
	snprintf(r->pol.discovery, sizeof(r->pol.discovery), "treewalk");
	snprintf(r->pol.rua, sizeof(r->pol.rua), "mailto:d@%s", domain);
	snprintf(r->source_ip, sizeof(r->source_ip), "%s", ip);
	snprintf(r->header_from, sizeof(r->header_from), "%s", domain);
	snprintf(r->dmarc_dkim, sizeof(r->dmarc_dkim), "fail");
	snprintf(r->dmarc_spf, sizeof(r->dmarc_spf), "pass");
	snprintf(r->disposition, sizeof(r->disposition), "pass");
}

/* the text form keeps every value, whatever it holds */
static void
test_row_roundtrip(void **state)
{
	struct report_row a, b;
	struct strbuf t = STRBUF_INIT, t2 = STRBUF_INIT;
	const char *why = NULL;

	(void)state;
	a_row(&a, "example.com", "2001:db8::1");
	snprintf(a.envelope_from, sizeof(a.envelope_from), "bounce.example.com");
	a.ndkim = 2;
	snprintf(a.dkim[0].domain, sizeof(a.dkim[0].domain), "example.com");
	snprintf(a.dkim[0].selector, sizeof(a.dkim[0].selector), "s/1=x");
	snprintf(a.dkim[0].result, sizeof(a.dkim[0].result), "pass");
	snprintf(a.dkim[1].domain, sizeof(a.dkim[1].domain), "esp.example");
	snprintf(a.dkim[1].selector, sizeof(a.dkim[1].selector), "sel");
	snprintf(a.dkim[1].result, sizeof(a.dkim[1].result), "fail");
	a.nreasons = 1;
	snprintf(a.reasons[0].type, sizeof(a.reasons[0].type), "local_policy");
	snprintf(a.reasons[0].comment, sizeof(a.reasons[0].comment),
		 "tab\there, newline\nthere, 100%% / a=b");
	snprintf(a.pol.rua, sizeof(a.pol.rua),
		 "mailto:a@example.com!10m, mailto:b@example.com");
	snprintf(a.pol.fo, sizeof(a.pol.fo), "0:1:d");
	report_row_format(&a, &t);
	assert_null(strchr(sb_str(&t), '\n'));
	assert_int_equal(report_row_parse(sb_str(&t), &b, &why), 0);
	report_row_format(&b, &t2);
	assert_string_equal(sb_str(&t), sb_str(&t2));
	assert_string_equal(b.reasons[0].comment, a.reasons[0].comment);
	assert_string_equal(b.dkim[0].selector, "s/1=x");
	assert_string_equal(b.pol.rua, a.pol.rua);
	assert_int_equal(b.ndkim, 2);
	assert_int_equal(b.pol.adkim, 'r');
	sb_free(&t);
	sb_free(&t2);
}

/* what is not a row of ours is refused, with a reason */
static void
test_row_refused(void **state)
{
	static const char *const bad[] = {
	    "",
	    "v=2\tip=1.2.3.4",
	    "v=1\tip=1.2.3.4%zz",
	    "v=1\tip=1.2%00.3.4",
	    "v=1\tnoequals",
	    "v=1\tdk=only-a-domain",
	    "v=1\tadkim=rs",
	};
	struct report_row r;
	struct strbuf big = STRBUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;

		assert_int_equal(report_row_parse(bad[i], &r, &why), -1);
		assert_non_null(why);
	}
	sb_puts(&big, "v=1\tip=");
	for (int i = 0; i < 100; i++)
		sb_puts(&big, "1.2.3.4");
	{
		const char *why = NULL;

		assert_int_equal(report_row_parse(sb_str(&big), &r, &why), -1);
	}
	/* a newer writer's field is ignored */
	{
		const char *why = NULL;

		assert_int_equal(
		    report_row_parse("v=1\tip=1.2.3.4\tzz=new", &r, &why), 0);
		assert_string_equal(r.source_ip, "1.2.3.4");
	}
	sb_free(&big);
}

/* a temporary directory for a store */
static char *
tmpdir(void)
{
	char *d = strdup("/tmp/authtag-rec.XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

/* sum_rows - total count and rows of one bucket */
struct sums {
	int64_t total;
	size_t rows;
};

static int
sum_cb(void *arg, const char *row, int64_t count)
{
	struct sums *s = arg;

	(void)row;
	s->total += count;
	s->rows++;
	return 0;
}

static struct sums
store_sum(const char *spec, const char *group, int64_t start)
{
	char err[256];
	struct store *st = store_open(spec, err, sizeof(err));
	struct sums s = {0, 0};

	assert_non_null(st);
	assert_int_equal(store_read(st, group, start, sum_cb, &s), STORE_OK);
	store_close(st);
	return s;
}

struct adder {
	struct report_rec *rec;
	int64_t now;
	int n;
};

static void *
adder(void *arg)
{
	struct adder *a = arg;
	struct report_row r[3];

	a_row(&r[0], "example.com", "192.0.2.1");
	a_row(&r[1], "example.com", "192.0.2.2");
	a_row(&r[2], "example.net", "192.0.2.1");
	for (int i = 0; i < a->n; i++)
		report_rec_add(a->rec, &r[i % 3], a->now);
	return NULL;
}

/* four threads, the writer flushing meanwhile: every message once */
static void
test_rec_threads(void **state)
{
	char *d = tmpdir(), spec[300], err[256];
	int64_t now = 1796256000 + 3600; /* a day's bucket: 1796256000 */
	struct report_rec_opts o = {.period = 86400, .flush_ms = 20,
				    .max_rows = 1000, .instance = "t1",
				    .log = test_log};
	struct report_rec *rec;
	pthread_t th[4];
	struct adder a;
	struct sums com, net;

	(void)state;
	snprintf(spec, sizeof(spec), "sqlite:%s/state.db", d);
	o.store = spec;
	rec = report_rec_new(&o, err, sizeof(err));
	assert_non_null(rec);
	a = (struct adder){rec, now, 3000};
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, adder, &a), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	report_rec_stop(rec, 2000);
	com = store_sum(spec, "example.com", 1796256000);
	net = store_sum(spec, "example.net", 1796256000);
	assert_int_equal(com.total, 8000);
	assert_int_equal(com.rows, 2);
	assert_int_equal(net.total, 4000);
	assert_int_equal(net.rows, 1);
	free(d);
}

/* a store that cannot be written: rows kept, one log line, written once
 * it can be; a full table drops new rows only, and counts them */
static void
test_rec_down(void **state)
{
	char *d = tmpdir(), spec[400], sub[300], err[256];
	int64_t now = 1796256000 + 7200;
	struct report_rec_opts o = {.period = 86400, .flush_ms = 60000,
				    .max_rows = 5, .instance = "t2",
				    .log = test_log};
	struct report_rec *rec;
	struct report_row r;
	struct sums s;
	char ip[32];

	(void)state;
	sb_free(&log_text);
	snprintf(sub, sizeof(sub), "%s/not-yet", d);
	snprintf(spec, sizeof(spec), "sqlite:%s/state.db", sub);
	o.store = spec;
	rec = report_rec_new(&o, err, sizeof(err));
	assert_non_null(rec);
	for (int i = 0; i < 8; i++) { /* 8 distinct rows, 5 are kept */
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		a_row(&r, "example.org", ip);
		report_rec_add(rec, &r, now);
	}
	a_row(&r, "example.org", "192.0.2.1"); /* held: still counts */
	report_rec_add(rec, &r, now);
	for (int i = 0; i < 3; i++)
		assert_int_equal(report_rec_flush(rec), -1);
	assert_int_equal(log_count("holding report rows of 6 messages"), 1);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(report_rec_flush(rec), 0);
	assert_int_equal(log_count(": back after"), 1);
	report_rec_stop(rec, 0);
	assert_int_equal(log_count("3 messages not recorded"), 1);
	s = store_sum(spec, "example.org", 1796256000);
	assert_int_equal(s.total, 6);
	assert_int_equal(s.rows, 5);
	free(d);
}

/* rows for a period already claimed by a reporter are refused, and the
 * log says how many; stopping with the store away says what is lost */
static void
test_rec_late_and_stop(void **state)
{
	char *d = tmpdir(), spec[300], err[256], token[40] = "abc";
	int64_t now = 1796256000 + 60;
	struct report_rec_opts o = {.period = 86400, .flush_ms = 60000,
				    .max_rows = 100, .instance = "t3",
				    .log = test_log};
	struct report_rec *rec;
	struct report_row r;
	struct store *st;

	(void)state;
	sb_free(&log_text);
	snprintf(spec, sizeof(spec), "sqlite:%s/state.db", d);
	st = store_open(spec, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_claim(st, "example.com", 1796256000, "rep", 60,
				     token, sizeof(token)),
			 STORE_OK);
	store_close(st);
	o.store = spec;
	rec = report_rec_new(&o, err, sizeof(err));
	assert_non_null(rec);
	a_row(&r, "example.com", "192.0.2.9");
	report_rec_add(rec, &r, now);
	report_rec_add(rec, &r, now);
	assert_int_equal(report_rec_flush(rec), 0);
	assert_int_equal(log_count("1 report rows came after their period"),
			 1);
	report_rec_stop(rec, 0);
	assert_int_equal(store_sum(spec, "example.com", 1796256000).total, 0);

	/* a store that never comes: stop reports the loss */
	sb_free(&log_text);
	o.store = "sqlite:/nonexistent/authtag/state.db";
	rec = report_rec_new(&o, err, sizeof(err));
	assert_non_null(rec);
	report_rec_add(rec, &r, now);
	report_rec_stop(rec, 300);
	assert_int_equal(log_count("still away at stop; report rows of 1 "
				   "messages not recorded"),
			 1);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_row_roundtrip),
	    cmocka_unit_test(test_row_refused),
	    cmocka_unit_test(test_rec_threads),
	    cmocka_unit_test(test_rec_down),
	    cmocka_unit_test(test_rec_late_and_stop),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	sb_free(&log_text);
	return rc;
}
