/*
 * test_dns.c - lib/dns: answers from hermetic local data, the per-message
 * cache, timeouts and server failures as DNS_TEMPFAIL, and many threads
 * sharing one resolver
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "dns/dns.h"
#include "dns/dns_store.h"

#include <unbound.h>
#include "testutil.h"

struct fixture {
	char *conf_path;
	struct config *cfg;
	struct dns_resolver *res;
	int silent_fd;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char conf[2048], err[256];
	int port = testutil_silent_udp_port(&f->silent_fd);

	assert_true(port > 0);
	snprintf(conf, sizeof(conf),
		 "server:\n"
		 "  local-zone: \"example.com.\" static\n"
		 "  local-data: 'example.com. 300 IN TXT \"v=spf1 \" "
		 "\"ip4:192.0.2.0/24 -all\"'\n"
		 "  local-data: 'example.com. 300 IN TXT \"other\"'\n"
		 "  local-data: 'mail.example.com. 300 IN A 192.0.2.1'\n"
		 "  local-data: 'mail.example.com. 300 IN A 192.0.2.2'\n"
		 "  local-data: 'example.com. 300 IN MX 10 "
		 "mail.example.com.'\n"
		 "  local-data: 'alias.example.com. 300 IN CNAME "
		 "mail.example.com.'\n"
		 "  local-zone: \"refused.example.net.\" refuse\n"
		 "  local-zone: \"slow.example.net.\" transparent\n"
		 "forward-zone:\n"
		 "  name: \"slow.example.net.\"\n"
		 "  forward-addr: 127.0.0.1@%d\n",
		 port);
	f->conf_path = testutil_write_temp(conf);
	f->cfg = testutil_hermetic_config(f->conf_path);
	f->res = dns_resolver_new(f->cfg, err, sizeof(err));
	if (f->res == NULL)
		fail_msg("dns_resolver_new: %s", err);
	dns_resolver_set_timeout(f->res, 300);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	dns_resolver_free(f->res);
	config_free(f->cfg);
	unlink(f->conf_path);
	free(f->conf_path);
	close(f->silent_fd);
	free(f);
	return 0;
}

static void
test_txt_and_cache(void **state)
{
	struct fixture *f = *state;
	struct dns_cache *c = dns_cache_new(f->res);
	const struct dns_answer *a, *b;
	char txt[512];
	bool spf = false, other = false;

	a = dns_lookup(c, "example.com", DNS_T_TXT);
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(a->count, 2);
	for (int i = 0; i < a->count; i++) {
		assert_true(dns_txt_join(a, i, txt, sizeof(txt)) > 0);
		/* two character-strings are joined with nothing between */
		spf |= strcmp(txt, "v=spf1 ip4:192.0.2.0/24 -all") == 0;
		other |= strcmp(txt, "other") == 0;
	}
	assert_true(spf && other);
	assert_int_equal(dns_txt_join(a, 0, txt, 4), -1); /* too small */
	/* same name, other case and a final dot: answered from the cache */
	b = dns_lookup(c, "EXAMPLE.com.", DNS_T_TXT);
	assert_ptr_equal(a, b);
	assert_int_equal(dns_cache_queries(c), 1);
	dns_cache_free(c);
}

static void
test_statuses(void **state)
{
	struct fixture *f = *state;
	struct dns_cache *c = dns_cache_new(f->res);
	const struct dns_answer *a;
	char name[300];
	unsigned pref;

	a = dns_lookup(c, "mail.example.com", DNS_T_A);
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(a->count, 2);
	assert_int_equal(a->rdlen[0], 4);
	a = dns_lookup(c, "alias.example.com", DNS_T_A); /* CNAME followed */
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(a->count, 2);
	a = dns_lookup(c, "example.com", DNS_T_MX);
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(dns_mx_decode(a, 0, &pref, name, sizeof(name)), 0);
	assert_int_equal(pref, 10);
	assert_string_equal(name, "mail.example.com");
	a = dns_lookup(c, "mail.example.com", DNS_T_TXT);
	assert_int_equal(a->status, DNS_NODATA);
	a = dns_lookup(c, "nosuch.example.com", DNS_T_A);
	assert_int_equal(a->status, DNS_NXDOMAIN);
	assert_non_null(a->packet); /* DKIM needs the wire reply */
	a = dns_lookup(c, "x.refused.example.net", DNS_T_TXT);
	assert_int_equal(a->status, DNS_TEMPFAIL);
	a = dns_lookup(c, "a..example.com", DNS_T_A);
	assert_int_equal(a->status, DNS_BADNAME);
	memset(name, 'a', 64);
	strcpy(name + 64, ".example.com");
	assert_int_equal(dns_lookup(c, name, DNS_T_A)->status, DNS_BADNAME);
	assert_int_equal(dns_cache_queries(c), 6);
	dns_cache_free(c);
}

static void
test_timeout_is_tempfail(void **state)
{
	struct fixture *f = *state;
	struct dns_cache *c = dns_cache_new(f->res);
	struct timespec t0, t1;
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(dns_lookup(c, "slow.example.net", DNS_T_TXT)->status,
			 DNS_TEMPFAIL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs >= 0.25 && secs < 2.0); /* the 300 ms bound */
	dns_cache_free(c);
}

static void
test_deadline_bounds_a_message(void **state)
{
	struct fixture *f = *state;
	struct dns_cache *c = dns_cache_new(f->res);
	static const char *names[] = {
	    "a.slow.example.net", "b.slow.example.net", "c.slow.example.net",
	    "d.slow.example.net"};
	struct timespec t0, t1;
	double secs;

	/* four lookups of 300 ms each, but a budget of 400 ms in all */
	dns_cache_set_deadline(c, 400);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(dns_lookup(c, names[i], DNS_T_TXT)->status,
				 DNS_TEMPFAIL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs >= 0.35 && secs < 0.8);
	/* the budget does not touch answers already cached */
	dns_cache_set_deadline(c, 0);
	assert_int_equal(dns_lookup(c, "a.slow.example.net", DNS_T_TXT)->status,
			 DNS_TEMPFAIL);
	assert_int_equal(dns_lookup(c, "mail.example.com", DNS_T_A)->status,
			 DNS_TEMPFAIL); /* a new name after the deadline */
	dns_cache_free(c);
}

static void
test_store_between_messages(void **state)
{
	struct fixture *f = *state;
	struct dns_cache *c1 = dns_cache_new(f->res), *c2;
	unsigned before = dns_resolver_sent(f->res);

	assert_int_equal(dns_lookup(c1, "mail.example.com", DNS_T_A)->status,
			 DNS_OK);
	assert_int_equal(dns_lookup(c1, "nosuch.example.com", DNS_T_A)->status,
			 DNS_NXDOMAIN);
	assert_int_equal(
	    dns_lookup(c1, "x.slow.example.net", DNS_T_TXT)->status,
	    DNS_TEMPFAIL);
	assert_int_equal(dns_resolver_sent(f->res) - before, 3);
	/* the next message: answers and NXDOMAIN come from the store, the
	 * time-out is asked again (a failure is never kept) */
	c2 = dns_cache_new(f->res);
	dns_cache_free(c1); /* the store keeps its own reference */
	assert_int_equal(dns_lookup(c2, "MAIL.example.com.", DNS_T_A)->count,
			 2);
	assert_int_equal(dns_lookup(c2, "nosuch.example.com", DNS_T_A)->status,
			 DNS_NXDOMAIN);
	assert_int_equal(dns_resolver_sent(f->res) - before, 3);
	assert_int_equal(
	    dns_lookup(c2, "x.slow.example.net", DNS_T_TXT)->status,
	    DNS_TEMPFAIL);
	assert_int_equal(dns_resolver_sent(f->res) - before, 4);
	dns_cache_free(c2);
}

static void
test_name_decode(void **state)
{
	static const unsigned char good[] = "\3mx1\7example\3com";
	static const unsigned char bad[] = {5, 'a', 'b'};
	char out[64];

	(void)state;
	assert_int_equal(dns_name_decode(good, sizeof(good), out, sizeof(out)),
			 17);
	assert_string_equal(out, "mx1.example.com");
	assert_int_equal(dns_name_decode(bad, sizeof(bad), out, sizeof(out)),
			 -1);
	assert_int_equal(dns_name_decode(good, sizeof(good), out, 8), -1);
	assert_true(dns_name_valid("example.com."));
	assert_false(dns_name_valid(""));
	assert_false(dns_name_valid("."));
	assert_true(dns_name_valid("a b.example")); /* SPF %_ makes these */
	assert_false(dns_name_valid("a\tb.example"));
}

static void *
thread_lookups(void *arg)
{
	struct dns_resolver *res = arg;
	long bad = 0;

	for (int i = 0; i < 200; i++) {
		struct dns_cache *c = dns_cache_new(res);

		bad += dns_lookup(c, "mail.example.com", DNS_T_A)->status !=
		       DNS_OK;
		bad += dns_lookup(c, "nosuch.example.com", DNS_T_A)->status !=
		       DNS_NXDOMAIN;
		dns_cache_free(c);
	}
	return (void *)bad;
}

static void
test_threads_share_resolver(void **state)
{
	struct fixture *f = *state;
	pthread_t th[8];

	for (int i = 0; i < 8; i++)
		assert_int_equal(
		    pthread_create(&th[i], NULL, thread_lookups, f->res), 0);
	for (int i = 0; i < 8; i++) {
		void *bad;

		pthread_join(th[i], &bad);
		assert_int_equal((long)bad, 0);
	}
}

/* big_result - a libunbound result holding one TXT answer of size
 * bytes, made the way libunbound makes one (ub_resolve_free frees it) */
static struct ub_result *
big_result(const char *name, size_t size)
{
	struct ub_result *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->qname = strdup(name);
	r->qtype = 16;
	r->qclass = 1;
	r->data = calloc(2, sizeof(char *));
	r->len = calloc(2, sizeof(int));
	assert_non_null(r->data);
	assert_non_null(r->len);
	r->data[0] = malloc(size);
	assert_non_null(r->data[0]);
	memset(r->data[0], 'k', size);
	r->len[0] = (int)size;
	r->answer_packet = malloc(size + 64);
	assert_non_null(r->answer_packet);
	memset(r->answer_packet, 0, size + 64);
	r->answer_len = (int)size + 64;
	r->havedata = 1;
	r->ttl = 300;
	return r;
}

/* rss_kb - this process's resident memory */
static long
rss_kb(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;

	if (fp != NULL) {
		if (fscanf(fp, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(fp);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* test_store_byte_bound - 2,000 distinct 60 KB answers into a store of
 * DNSCacheSize 8 MB: what it keeps stays under 8 MB, and so does the
 * memory (without the bound they would hold over 120 MB) */
static void
test_store_byte_bound(void **state)
{
	size_t limit = (size_t)8 << 20;
	struct dns_store *st = dns_store_new(65536, limit);
	long before = rss_kb(), after;
	char name[64];

	(void)state;
	assert_non_null(st);
	for (int i = 0; i < 2000; i++) {
		struct dns_blob *b;

		snprintf(name, sizeof(name), "k%d._domainkey.big.example", i);
		b = dns_blob_new(name, strlen(name), 16,
				 big_result(name, 60000));
		assert_non_null(b);
		dns_store_put(st, b);
		dns_blob_unref(b);
		assert_true(dns_store_bytes(st) <= limit);
	}
	after = rss_kb();
	print_message("DNS store: %zu bytes kept (limit %zu); RSS %ld kB -> "
		      "%ld kB for 2,000 answers of 60 KB\n",
		      dns_store_bytes(st), limit, before, after);
	assert_true(dns_store_bytes(st) > limit / 2); /* it does keep some */
	/* RSS says something only with the C library's allocator:
	 * valgrind's and ASan's hold freed memory back in quarantine */
#ifndef __SANITIZE_ADDRESS__
	if (getenv("AUTHTAG_VALGRIND") == NULL)
		assert_true(after - before < 3 * (long)(limit / 1024));
#endif
	/* what is kept is found again */
	{
		struct dns_blob *b =
		    dns_store_get(st, "k0._domainkey.big.example", 25, 16);

		assert_non_null(b);
		dns_blob_unref(b);
	}
	dns_store_free(st);
}

struct slow_arg {
	struct dns_resolver *res;
	int id;
	int n; /* lookups that time out */
};

/* thread_timeouts - lookups that time out, each followed by one that must
 * still be answered, whatever context is current */
static void *
thread_timeouts(void *arg)
{
	struct slow_arg *a = arg;
	long bad = 0;
	char name[64];

	for (int i = 0; i < a->n; i++) {
		struct dns_cache *c = dns_cache_new(a->res);

		snprintf(name, sizeof(name), "t%d-%d.slow.example.net", a->id,
			 i);
		bad += dns_lookup(c, name, DNS_T_TXT)->status != DNS_TEMPFAIL;
		bad += dns_lookup(c, "mail.example.com", DNS_T_A)->status !=
		       DNS_OK;
		dns_cache_free(c);
	}
	return (void *)bad;
}

/* timeout_round - 8 threads, 8 * n timed-out queries in all */
static void
timeout_round(struct dns_resolver *res, int round, int n)
{
	struct slow_arg args[8];
	pthread_t th[8];
	long total = 0;

	for (int i = 0; i < 8; i++) {
		args[i].res = res;
		args[i].id = round * 8 + i;
		args[i].n = n;
		assert_int_equal(
		    pthread_create(&th[i], NULL, thread_timeouts, &args[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		void *bad;

		pthread_join(th[i], &bad);
		total += (long)bad;
	}
	assert_int_equal(total, 0); /* after every join: no thread left */
}

/* test_timeouts_rotate - five rounds of 2,000 timed-out queries: the
 * resolver starts fresh contexts (libunbound keeps every timed-out query's
 * state until its context goes, ~11 KB each: 22 MB a round), memory stays
 * bounded after the first round, and answers stay right across the
 * switches */
static void
test_timeouts_rotate(void **state)
{
	struct fixture *f = *state;
	/* under valgrind a local answer takes longer than 5 ms */
	bool slow = getenv("AUTHTAG_VALGRIND") != NULL;
	int rounds = slow ? 2 : 5, n = slow ? 20 : 250, after = slow ? 16 : 100;
	long first, last;

	dns_resolver_set_timeout(f->res, slow ? 200 : 5);
	dns_resolver_set_rotate_after(f->res, (unsigned)after);
	timeout_round(f->res, 0, n);
	first = rss_kb();
	for (int round = 1; round < rounds; round++)
		timeout_round(f->res, round, n);
	last = rss_kb();
	print_message("%d timed-out queries: %u fresh contexts, RSS %ld kB "
		      "after the first %d, %ld kB after all\n",
		      rounds * 8 * n, dns_resolver_rotations(f->res), first,
		      8 * n, last);
	/* at most one per `after` timeouts; while one rotation runs, the
	 * timeouts of other threads start none */
	assert_true(dns_resolver_rotations(f->res) >=
		    (unsigned)(rounds * 8 * n / after / 2));
#ifndef __SANITIZE_ADDRESS__
	if (getenv("AUTHTAG_VALGRIND") == NULL)
		/* 88 MB more without; the allocator's per-thread arenas
		 * (each context has its own worker thread) make the rest */
		assert_true(last - first < 24 * 1024);
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_txt_and_cache, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_statuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_is_tempfail, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_deadline_bounds_a_message,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_between_messages, setup,
					    teardown),
	    cmocka_unit_test(test_name_decode),
	    cmocka_unit_test(test_store_byte_bound),
	    cmocka_unit_test_setup_teardown(test_threads_share_resolver, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_timeouts_rotate, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
