/*
 * test_spf.c - unit tests of lib/spf beyond the RFC 7208 suite
 *
 * Macro expansion against the examples of RFC 7208 section 7.4 and the
 * rules of section 7.3 (transformers, URL escaping, truncation to 253
 * octets), the null sender checked as postmaster@HELO, one DNS query per
 * name and type per message, and hostile input: huge addresses, macro
 * bombs, long and looping records, and random bytes fed to the record
 * and macro parsers. DNS is hermetic: libunbound local-data only.
 */
#include "build.h" /* first: feature macros */

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
#include "result.h"
#include "auth/spf.h"
#include "auth/spf_int.h"
#include "testutil.h"

/* client 192.0.2.3 with PTR mx.example.org, as in RFC 7208 section 7.4 */
static const char zone[] =
    "server:\n"
    "  local-zone: \".\" static\n"
    "  local-data: '3.2.0.192.in-addr.arpa. 300 IN PTR mx.example.org.'\n"
    "  local-data: 'mx.example.org. 300 IN A 192.0.2.3'\n"
    "  local-data: 'mail.example.org. 300 IN A 192.0.2.3'\n"
    "  local-data: 'mail.example.org. 300 IN TXT \"v=spf1 a -all\"'\n"
    "  local-data: 'deny.example.org. 300 IN TXT "
    "\"v=spf1 -all exp=why.example.org\"'\n"
    "  local-data: 'why.example.org. 300 IN TXT \"%{l} from %{o} via %{h}\"'\n"
    "  local-data: 'once.example.org. 300 IN TXT "
    "\"v=spf1 a a:once.example.org mx a mx:once.example.org "
    "-exists:once.example.org ?all\"'\n"
    "  local-data: 'once.example.org. 300 IN A 198.51.100.1'\n"
    "  local-data: 'once.example.org. 300 IN MX 10 mx.example.org.'\n"
    "  local-data: 'loop.example.org. 300 IN TXT "
    "\"v=spf1 include:loop.example.org -all\"'\n"
    "  local-data: 'redir.example.org. 300 IN TXT "
    "\"v=spf1 redirect=redir.example.org\"'\n"
    "  local-data: 'bomb.example.org. 300 IN TXT \"v=spf1 exists:"
    "%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}"
    "%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}"
    ".example.org -all exp=bombexp.example.org\"'\n"
    "  local-data: 'bombexp.example.org. 300 IN TXT "
    "\"%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}\"'\n"
    "  local-data: 'v4mapped.example.org. 300 IN TXT "
    "\"v=spf1 ip6:::ffff:192.0.2.3 ip4:192.0.2.0/24 -all\"'\n";

struct fixture {
	char *conf_path;
	struct config *cfg;
	struct dns_resolver *res;
	struct dns_cache *cache;
};

/* long_zone_line - a TXT record of 82 strings, over 1 KB in all */
static char *
long_zone_line(void)
{
	size_t cap = 8192, len;
	char *s = malloc(cap);
	int i;

	assert_non_null(s);
	len = (size_t)snprintf(s, cap,
			       "  local-data: 'long.example.org. 300 "
			       "IN TXT \"v=spf1 \"");
	for (i = 0; i < 80; i++)
		len += (size_t)snprintf(s + len, cap - len,
					" \"ip4:198.51.100.%d \"", i + 1);
	snprintf(s + len, cap - len, " \"ip4:192.0.2.3 -all\"'\n");
	return s;
}

/* setup - one hermetic resolver for all tests, a fresh cache per test */
static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[256], *extra = long_zone_line();
	size_t n = strlen(zone) + strlen(extra) + 1;
	char *text = malloc(n);

	assert_non_null(f);
	assert_non_null(text);
	snprintf(text, n, "%s%s", zone, extra);
	f->conf_path = testutil_write_temp(text);
	free(text);
	free(extra);
	assert_non_null(f->conf_path);
	f->cfg = testutil_hermetic_config(f->conf_path);
	assert_non_null(f->cfg);
	f->res = dns_resolver_new(f->cfg, err, sizeof err);
	if (f->res == NULL)
		fail_msg("resolver: %s", err);
	*state = f;
	return 0;
}

/* teardown - free what setup() made */
static int
teardown(void **state)
{
	struct fixture *f = *state;

	dns_resolver_free(f->res);
	config_free(f->cfg);
	unlink(f->conf_path);
	free(f->conf_path);
	free(f);
	return 0;
}

/* cache_new - a fresh per-message DNS cache for one test */
static int
cache_new(void **state)
{
	struct fixture *f = *state;

	f->cache = dns_cache_new(f->res);
	assert_non_null(f->cache);
	return 0;
}

/* cache_free - free the per-test DNS cache */
static int
cache_free(void **state)
{
	struct fixture *f = *state;

	dns_cache_free(f->cache);
	f->cache = NULL;
	return 0;
}

/* macro_ctx - a context as spf_check_host() builds it, for expansion */
static void
macro_ctx(struct spf_ctx *ctx, struct dns_cache *dns,
	  const struct spf_request *req, struct spf_outcome *out,
	  const char *ip, const char *sender)
{
	const char *at = strrchr(sender, '@');

	memset(ctx, 0, sizeof *ctx);
	ctx->dns = dns;
	ctx->req = req;
	ctx->out = out;
	assert_true(spf_set_client(ctx, ip));
	ctx->sender = sender;
	ctx->local = sender;
	ctx->local_len = (size_t)(at - sender);
	ctx->sdomain = at + 1;
}

/* expand - expand text as exp= text would be; "" on a syntax error */
static const char *
expand(struct spf_ctx *ctx, const char *domain, const char *text)
{
	static char buf[RES_DOMAIN_MAX * 4];

	if (spf_expand_text(ctx, domain, text, strlen(text), buf, sizeof buf) <
	    0)
		return "";
	return buf;
}

/* test_rfc7208_examples - RFC 7208 section 7.4, the whole table */
static void
test_rfc7208_examples(void **state)
{
	static const struct {
		const char *macro, *expansion;
	} table[] = {
	    {"%{s}", "strong-bad@email.example.com"},
	    {"%{o}", "email.example.com"},
	    {"%{d}", "email.example.com"},
	    {"%{d4}", "email.example.com"},
	    {"%{d3}", "email.example.com"},
	    {"%{d2}", "example.com"},
	    {"%{d1}", "com"},
	    {"%{dr}", "com.example.email"},
	    {"%{d2r}", "example.email"},
	    {"%{l}", "strong-bad"},
	    {"%{l-}", "strong.bad"},
	    {"%{lr}", "strong-bad"},
	    {"%{lr-}", "bad.strong"},
	    {"%{l1r-}", "strong"},
	    {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
	    {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
	    {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	     "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
	    {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	     "3.2.0.192.in-addr.strong.lp._spf.example.com"},
	    {"%{d2}.trusted-domains.example.net",
	     "example.com.trusted-domains.example.net"},
	};
	struct fixture *f = *state;
	struct spf_request req = {.helo = "mx.example.org"};
	struct spf_outcome out = {0};
	struct spf_ctx ctx;
	char name[RES_DOMAIN_MAX];
	size_t i;

	macro_ctx(&ctx, f->cache, &req, &out, "192.0.2.3",
		  "strong-bad@email.example.com");
	for (i = 0; i < sizeof table / sizeof table[0]; i++) {
		assert_string_equal(
		    expand(&ctx, "email.example.com", table[i].macro),
		    table[i].expansion);
		/* the same as a domain-spec, asked in DNS */
		assert_true(
		    spf_expand_name(&ctx, "email.example.com", table[i].macro,
				    strlen(table[i].macro), name, sizeof name));
		assert_string_equal(name, table[i].expansion);
	}

	macro_ctx(&ctx, f->cache, &req, &out, "2001:db8::cb01",
		  "strong-bad@email.example.com");
	assert_string_equal(
	    expand(&ctx, "email.example.com", "%{ir}.%{v}._spf.%{d2}"),
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	    "ip6._spf.example.com");
	/* section 7.3: %{c} is the readable address, %{i} the dotted form */
	assert_string_equal(expand(&ctx, "email.example.com", "%{c}"),
			    "2001:db8::cb01");
}

/* test_macro_letters - section 7.3: other letters, %{p}, exp-only ones */
static void
test_macro_letters(void **state)
{
	struct fixture *f = *state;
	struct spf_request req = {.helo = "mx.example.org",
				  .receiver = "mx.receiver.example"};
	struct spf_outcome out = {0};
	struct spf_ctx ctx;
	struct spf_term t;
	const char *s;
	long long now = (long long)time(NULL), t_val;

	macro_ctx(&ctx, f->cache, &req, &out, "192.0.2.3",
		  "strong-bad@email.example.com");
	assert_string_equal(expand(&ctx, "email.example.com", "%{h}"),
			    "mx.example.org");
	assert_string_equal(expand(&ctx, "email.example.com", "%{v}"),
			    "in-addr");
	assert_string_equal(expand(&ctx, "email.example.com", "%{c}"),
			    "192.0.2.3");
	assert_string_equal(expand(&ctx, "email.example.com", "%{r}"),
			    "mx.receiver.example");
	/* the PTR name of 192.0.2.3 is mx.example.org, which resolves back */
	assert_string_equal(expand(&ctx, "email.example.com", "%{p}"),
			    "mx.example.org");
	assert_string_equal(expand(&ctx, "email.example.com", "%{p2}"),
			    "example.org");
	s = expand(&ctx, "email.example.com", "%{t}");
	t_val = atoll(s);
	assert_true(t_val >= now && t_val <= now + 60);

	/* no validated name: "unknown" (the PTR of 198.51.100.9 is absent) */
	macro_ctx(&ctx, f->cache, &req, &out, "198.51.100.9",
		  "strong-bad@email.example.com");
	assert_string_equal(expand(&ctx, "email.example.com", "%{p}"),
			    "unknown");
	req.receiver = NULL;
	assert_string_equal(expand(&ctx, "email.example.com", "%{r}"),
			    "unknown");

	/* section 7.1: c, r and t only in exp text, never in a domain-spec */
#define PARSE(s) spf_term_parse((s), strlen(s), &t)
	assert_non_null(PARSE("a:%{c}.example.com"));
	assert_non_null(PARSE("exists:%{r}.example.com"));
	assert_non_null(PARSE("exp=%{t}.example.com"));
	assert_null(PARSE("exists:%{i}.example.com"));
#undef PARSE
}

/* test_macro_edges - section 7.3: transformers, escapes, bad macros */
static void
test_macro_edges(void **state)
{
	struct fixture *f = *state;
	struct spf_request req = {.helo = "mx.example.org"};
	struct spf_outcome out = {0};
	struct spf_ctx ctx;

	macro_ctx(&ctx, f->cache, &req, &out, "192.0.2.3",
		  "~jack&jill=up-a_b3.c@email.example.com");
	/* upper-case letters are URL-escaped; unreserved stays */
	assert_string_equal(expand(&ctx, "email.example.com", "%{L}"),
			    "~jack%26jill%3Dup-a_b3.c");
	assert_string_equal(expand(&ctx, "email.example.com", "%{S}"),
			    "~jack%26jill%3Dup-a_b3.c%40email.example.com");
	/* several delimiters split at once; the parts are joined by "." */
	assert_string_equal(expand(&ctx, "email.example.com", "%{l=}"),
			    "~jack&jill.up-a_b3.c");
	assert_string_equal(expand(&ctx, "email.example.com", "%{l2r=_}"),
			    "up-a.~jack&jill");
	assert_string_equal(expand(&ctx, "email.example.com", "%{l.-+,/_=}"),
			    "~jack&jill.up.a.b3.c");
	/* more parts asked than there are: all of them */
	assert_string_equal(expand(&ctx, "email.example.com", "%{d99}"),
			    "email.example.com");
	assert_string_equal(
	    expand(&ctx, "email.example.com", "%{d4294967297r}"),
	    "com.example.email");
	/* the three escapes */
	assert_string_equal(expand(&ctx, "email.example.com", "a%%b%_c%-d"),
			    "a%b c%20d");

	/* syntax errors: these explanations are not used */
	assert_string_equal(expand(&ctx, "email.example.com", "%{d0}"), "");
	assert_string_equal(expand(&ctx, "email.example.com", "%{dr2}"), "");
	assert_string_equal(expand(&ctx, "email.example.com", "%{x}"), "");
	assert_string_equal(expand(&ctx, "email.example.com", "%{l&}"), "");
	assert_string_equal(expand(&ctx, "email.example.com", "%{d"), "");
	assert_string_equal(expand(&ctx, "email.example.com", "50%"), "");
	assert_string_equal(expand(&ctx, "email.example.com", "%(d)"), "");
	assert_string_equal(expand(&ctx, "email.example.com", "caf\xc3\xa9"),
			    "");

	/* section 4.3: no local-part is "postmaster" (spf_check_host) */
	out = (struct spf_outcome){0};
	spf_check_host(f->cache,
		       &(struct spf_request){.client_ip = "198.51.100.9",
					     .helo = "h.example.org"},
		       "deny.example.org", "@deny.example.org", &out);
	assert_int_equal(out.result, RES_FAIL);
	assert_string_equal(
	    out.explanation,
	    "postmaster from deny.example.org via h.example.org");
}

/* test_domain_truncation - past 253 octets, labels go on the left */
static void
test_domain_truncation(void **state)
{
	struct fixture *f = *state;
	struct spf_request req = {.helo = "mx.example.org"};
	struct spf_outcome out = {0};
	struct spf_ctx ctx;
	char name[RES_DOMAIN_MAX], local[200], sender[300], spec[64];
	char want[RES_DOMAIN_MAX] = "";
	const char *d8 = "%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.example.com";
	const char *l10 = "%{l}.%{l}.%{l}.%{l}.%{l}.%{l}.%{l}.%{l}.%{l}.%{l}"
			  ".end.example.com";
	int i;

	macro_ctx(&ctx, f->cache, &req, &out, "192.0.2.3",
		  "test@somewhat.long.exp.example.com");
	/* the suite's domain-name-truncation case: "foobar." + 8 x %{o} +
	 * "example.com" is 258 octets, so "foobar." goes */
	snprintf(spec, sizeof spec, "foobar.%s", d8);
	for (i = 0; i < 8; i++)
		strcat(want, "somewhat.long.exp.example.com.");
	strcat(want, "example.com");
	assert_true(spf_expand_name(&ctx, "e.example.com", spec, strlen(spec),
				    name, sizeof name));
	assert_string_equal(name, want);

	/* a trailing dot is not part of the name asked */
	assert_true(spf_expand_name(&ctx, "e.example.com", "%{o}.", 5, name,
				    sizeof name));
	assert_string_equal(name, "somewhat.long.exp.example.com");

	/* ten 199-octet local-parts: past the expansion window, yet the
	 * right end survives and the name is cut at a label */
	memset(local, 'x', sizeof local - 1);
	for (size_t k = 50; k < sizeof local - 1; k += 51)
		local[k] = '.';
	local[sizeof local - 1] = '\0';
	snprintf(sender, sizeof sender, "%s@example.net", local);
	macro_ctx(&ctx, f->cache, &req, &out, "192.0.2.3", sender);
	assert_true(spf_expand_name(&ctx, "e.example.com", l10, strlen(l10),
				    name, sizeof name));
	assert_true(strlen(name) <= 253);
	assert_true(strlen(name) > 253 - 51);
	assert_string_equal(name + strlen(name) - 16, ".end.example.com");
	assert_true(name[0] == 'x');

	/* a label longer than 63 octets cannot be asked */
	memset(local, 'y', 100);
	snprintf(sender, sizeof sender, "%.100s@example.net", local);
	macro_ctx(&ctx, f->cache, &req, &out, "192.0.2.3", sender);
	assert_false(spf_expand_name(&ctx, "e.example.com", "%{l}.example.com",
				     16, name, sizeof name));
}

/* test_null_sender_uses_helo - section 2.4: <> is postmaster@HELO */
static void
test_null_sender_uses_helo(void **state)
{
	struct fixture *f = *state;
	struct spf_request req = {.client_ip = "192.0.2.3",
				  .helo = "mail.example.org",
				  .mail_from = ""};
	struct spf_outcome out = {0};

	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_PASS);
	assert_true(out.checked);
	assert_string_equal(out.identity, "postmaster@mail.example.org");
	assert_string_equal(out.domain, "mail.example.org");

	req.mail_from = "<>";
	memset(&out, 0, sizeof out);
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_PASS);
	assert_string_equal(out.identity, "postmaster@mail.example.org");

	/* the same identity on its own, as smtp.helo */
	memset(&out, 0, sizeof out);
	assert_int_equal(spf_check_helo(f->cache, &req, &out), RES_PASS);
	assert_string_equal(out.identity, "mail.example.org");
	assert_string_equal(out.domain, "mail.example.org");

	/* another client: the HELO's "-all" */
	req.client_ip = "198.51.100.7";
	memset(&out, 0, sizeof out);
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_FAIL);

	/* a null sender with no HELO, or an address literal, is "none" */
	req.helo = NULL;
	memset(&out, 0, sizeof out);
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_NONE);
	assert_true(out.checked);
	req.helo = "[192.0.2.3]";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_NONE);
	assert_int_equal(spf_check_helo(f->cache, &req, &out), RES_NONE);

	/* a path with its brackets is the same address */
	req.helo = "mail.example.org";
	req.mail_from = "<someone@deny.example.org>";
	memset(&out, 0, sizeof out);
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_FAIL);
	assert_string_equal(out.identity, "someone@deny.example.org");
	assert_string_equal(
	    out.explanation,
	    "someone from deny.example.org via mail.example.org");
}

/* test_lookup_once - one query per name and type for a message */
static void
test_lookup_once(void **state)
{
	struct fixture *f = *state;
	struct spf_request req = {.client_ip = "203.0.113.5",
				  .helo = "once.example.org",
				  .mail_from = "a@once.example.org"};
	struct spf_outcome out = {0};
	unsigned n;

	/* TXT, A, MX and the MX host's A: four names/types, asked once;
	 * "-exists" (an A query again) ends it with fail */
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_FAIL);
	n = dns_cache_queries(f->cache);
	assert_int_equal(n, 4);
	assert_int_equal(spf_check_helo(f->cache, &req, &out), RES_FAIL);
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_FAIL);
	assert_int_equal(dns_cache_queries(f->cache), n);
}

/* test_v4_mapped - IPv4-mapped IPv6 clients are IPv4 (section 5) */
static void
test_v4_mapped(void **state)
{
	struct fixture *f = *state;
	struct spf_request req = {.client_ip = "::ffff:192.0.2.3",
				  .mail_from = "x@v4mapped.example.org"};
	struct spf_outcome out = {0};

	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_PASS);
	/* it was ip4: that matched, not the ip6: of the mapped address */
	assert_non_null(strstr(out.reason, "ip4:192.0.2.0/24"));
}

/* test_long_record - many strings, longer than the stack buffer */
static void
test_long_record(void **state)
{
	struct fixture *f = *state;
	struct spf_request req = {.client_ip = "192.0.2.3",
				  .mail_from = "x@long.example.org"};
	struct spf_outcome out = {0};

	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_PASS);
	req.client_ip = "198.51.100.80";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_PASS);
	req.client_ip = "198.51.100.81";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_FAIL);
}

/* test_hostile_records - hostile DNS data: loops, macro bombs */
static void
test_hostile_records(void **state)
{
	struct fixture *f = *state;
	char from[700];
	struct spf_request req = {.client_ip = "192.0.2.3",
				  .helo = "mx.example.org",
				  .default_explanation = "DEFAULT"};
	struct spf_outcome out = {0};

	req.mail_from = "x@loop.example.org";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out),
			 RES_PERMERROR);
	req.mail_from = "x@redir.example.org";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out),
			 RES_PERMERROR);

	/* 32 copies of a 600-octet local-part: the expansion is given up,
	 * the mechanism cannot match; the explanation is cut on the right */
	memset(from, 'a', 600);
	snprintf(from + 600, sizeof from - 600, "@bomb.example.org");
	req.mail_from = from;
	memset(&out, 0, sizeof out);
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_FAIL);
	assert_int_equal(strlen(out.explanation), sizeof out.explanation - 1);
	assert_int_equal(strspn(out.explanation, "a"),
			 sizeof out.explanation - 1);
	/* a short local-part makes a name that does not exist */
	req.mail_from = "a@bomb.example.org";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_FAIL);
	assert_string_equal(out.explanation, "aaaaaaaaaaaaaaa");
}

/* test_hostile_requests - huge, empty, NULL or nonsense requests */
static void
test_hostile_requests(void **state)
{
	struct fixture *f = *state;
	size_t big = 100000;
	char *junk = malloc(big + 1);
	struct spf_request req = {0};
	struct spf_outcome out = {0};

	assert_non_null(junk);
	memset(junk, 'a', big);
	junk[big] = '\0';
	junk[big / 2] = '@';

	/* no client address: nothing to check */
	req.mail_from = "x@mail.example.org";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_NONE);
	req.client_ip = "not-an-address";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_NONE);
	req.client_ip = "1.2.3.4.5";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_NONE);

	req.client_ip = "192.0.2.3";
	req.mail_from = junk; /* a 50000-octet domain */
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_NONE);
	assert_true(strlen(out.identity) < sizeof out.identity);
	req.mail_from = NULL;
	req.helo = junk;
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_NONE);
	assert_int_equal(spf_check_helo(f->cache, &req, &out), RES_NONE);
	req.helo = "";
	assert_int_equal(spf_check_helo(f->cache, &req, &out), RES_NONE);

	/* a 50000-octet local-part on a real domain is still checked */
	memcpy(junk + big / 2 + 1, "mail.example.org", 17);
	req.mail_from = junk;
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_PASS);
	assert_string_equal(out.identity, "mail.example.org");

	/* one final dot is the root, two are an empty label: malformed,
	 * never the record of the name without them (RFC 7208 4.3) */
	req.client_ip = "192.0.2.3";
	req.mail_from = "x@mail.example.org.";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_PASS);
	req.mail_from = "x@mail.example.org..";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_NONE);
	req.mail_from = "x@mail.example.org...";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_NONE);
	req.mail_from = "x@mail..example.org";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_NONE);

	req.mail_from = "@";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_NONE);
	req.mail_from = "<";
	assert_int_equal(spf_check_mailfrom(f->cache, &req, &out), RES_NONE);
	assert_int_equal(spf_check_host(f->cache, &req, NULL, NULL, &out),
			 RES_NONE);
	free(junk);
}

/* test_parser_fuzz - random bytes through the term and macro parsers */
static void
test_parser_fuzz(void **state)
{
	static const char alphabet[] = "%{}:/.-+=_,~?aAilLdDrRsSpPvVhHcCtTx"
				       "0123456789 \x01\x80\xff";
	struct spf_request req = {.helo = "mx.example.org"};
	struct spf_outcome out = {0};
	struct spf_ctx ctx;
	struct spf_term t;
	char buf[300], name[RES_DOMAIN_MAX], text[512];
	unsigned seed = 7208;
	int i, ok = 0;

	(void)state;
	/* no DNS: %{p} then sees a failure and expands to "unknown" */
	macro_ctx(&ctx, NULL, &req, &out, "2001:db8::1",
		  "local-part@example.com");
	for (i = 0; i < 20000; i++) {
		size_t n = (size_t)(rand_r(&seed) % (sizeof buf - 1)), k;

		for (k = 0; k < n; k++)
			buf[k] =
			    alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
		buf[n] = '\0';
		if (spf_term_parse(buf, n, &t) == NULL) {
			ok++;
			if (t.spec != NULL && t.kind != T_IP4 &&
			    t.kind != T_IP6 && t.kind != T_UNKNOWN_MOD &&
			    spf_expand_name(&ctx, "example.com", t.spec,
					    t.spec_len, name, sizeof name))
				assert_true(strlen(name) <= 253);
		}
		if (spf_expand_text(&ctx, "example.com", buf, n, text,
				    sizeof text) == 0)
			assert_true(strlen(text) < sizeof text);
	}
	/* the alphabet makes some valid terms; the count is not the point */
	assert_true(ok > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rfc7208_examples, cache_new,
					    cache_free),
	    cmocka_unit_test_setup_teardown(test_macro_letters, cache_new,
					    cache_free),
	    cmocka_unit_test_setup_teardown(test_macro_edges, cache_new,
					    cache_free),
	    cmocka_unit_test_setup_teardown(test_domain_truncation, cache_new,
					    cache_free),
	    cmocka_unit_test_setup_teardown(test_null_sender_uses_helo,
					    cache_new, cache_free),
	    cmocka_unit_test_setup_teardown(test_lookup_once, cache_new,
					    cache_free),
	    cmocka_unit_test_setup_teardown(test_v4_mapped, cache_new,
					    cache_free),
	    cmocka_unit_test_setup_teardown(test_long_record, cache_new,
					    cache_free),
	    cmocka_unit_test_setup_teardown(test_hostile_records, cache_new,
					    cache_free),
	    cmocka_unit_test_setup_teardown(test_hostile_requests, cache_new,
					    cache_free),
	    cmocka_unit_test_setup_teardown(test_parser_fuzz, cache_new,
					    cache_free),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
