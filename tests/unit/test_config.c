/*
 * test_config.c - authtag.conf parsing: defaults, every key type, and the
 * error messages an administrator sees (file:line: Key: reason)
 */
#include "build.h" /* first: feature macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "hostlist.h"
#include "testutil.h"

/* load_text - config_load on a temporary file holding text */
static int
load_text(const char *text, struct config **cfg, char *err, size_t errlen)
{
	char *path = testutil_write_temp(text);
	int rc;

	assert_non_null(path);
	rc = config_load(path, cfg, err, errlen);
	if (rc != 0) {
		/* the message must start with the file's name */
		assert_int_equal(strncmp(err, path, strlen(path)), 0);
		memmove(err, err + strlen(path),
			strlen(err + strlen(path)) + 1);
	}
	unlink(path);
	free(path);
	return rc;
}

static void
test_defaults(void **state)
{
	struct config *cfg = config_new_defaults();
	char host[256];

	(void)state;
	assert_non_null(cfg);
	gethostname(host, sizeof(host));
	assert_string_equal(cfg->authserv_id, host);
	assert_int_equal(cfg->resolver, RESOLVER_SYSTEM);
	assert_int_equal(cfg->resolver_timeout, 5);
	assert_int_equal(cfg->dkim_max_signatures, 10);
	assert_int_equal(cfg->dkim_min_key_bits, 1024);
	assert_int_equal(cfg->dmarc_standard, DMARC_RFC9989);
	assert_false(cfg->reject_failures);
	assert_false(cfg->spf_check_helo);
	assert_string_equal(cfg->public_suffix_list,
			    "/usr/share/publicsuffix/public_suffix_list.dat");
	/* the scoring stage: rules alone, SpamAssassin's threshold */
	assert_int_equal(cfg->nscorers, 1);
	assert_string_equal(cfg->scorers[0], "rules");
	assert_true(cfg->required_score == 5.0);
	assert_false(cfg->x_spam_report);
	assert_string_equal(cfg->user_prefs, "~%u/.spamassassin/user_prefs");
	assert_string_equal(cfg->spamd_socket, "inet:783@127.0.0.1");
	assert_int_equal(cfg->spamd_max_size, 512000);
	assert_int_equal(cfg->spamd_timeout, 30);
	assert_string_equal(cfg->spamd_user, "%u");
	assert_non_null(strstr(cfg->rules_dir, "/rules"));
	assert_true(config_is_trusted(cfg, "127.0.0.1"));
	assert_true(config_is_trusted(cfg, "127.1.2.3"));
	assert_true(config_is_trusted(cfg, "::1"));
	assert_true(config_is_trusted(cfg, "::ffff:127.0.0.1"));
	assert_false(config_is_trusted(cfg, "192.0.2.1"));
	assert_false(config_is_trusted(cfg, "::2"));
	assert_false(config_is_trusted(cfg, "not an address"));
	config_free(cfg);
}

static void
test_full_file(void **state)
{
	struct config *cfg;
	char err[512];

	(void)state;
	assert_int_equal(
	    load_text("# authtag test\n"
		      "AuthservID   mx.example.org   # trailing comment\n"
		      "\n"
		      "resolver 127.0.0.1@5353, ::1\n"
		      "ResolverTimeout 2\n"
		      "SPFCheckHelo yes\n"
		      "DKIMMaxSignatures 3\n"
		      "DMARCStandard rfc7489\n"
		      "TrustedNetworks 192.0.2.0/24 2001:db8::/32\n"
		      "RejectFailures true\n"
		      "Socket inet:8891@127.0.0.1\n"
		      "UMask 002\n"
		      "UserID authtag:authtag\n"
		      "PidFile /run/authtag/authtag.pid\n"
		      "SyslogFacility local3\n",
		      &cfg, err, sizeof(err)),
	    0);
	assert_string_equal(cfg->authserv_id, "mx.example.org");
	assert_int_equal(cfg->resolver, RESOLVER_FORWARD);
	assert_int_equal(cfg->nforwarders, 2);
	assert_string_equal(cfg->forwarders[0], "127.0.0.1@5353");
	assert_string_equal(cfg->forwarders[1], "::1");
	assert_int_equal(cfg->resolver_timeout, 2);
	assert_true(cfg->spf_check_helo);
	assert_int_equal(cfg->dkim_max_signatures, 3);
	assert_int_equal(cfg->dmarc_standard, DMARC_RFC7489);
	assert_true(cfg->reject_failures);
	assert_string_equal(cfg->socket, "inet:8891@127.0.0.1");
	assert_int_equal(cfg->umask, 002);
	assert_string_equal(cfg->syslog_facility, "local3");
	/* TrustedNetworks replaces the default list */
	assert_true(config_is_trusted(cfg, "192.0.2.200"));
	assert_true(config_is_trusted(cfg, "2001:db8:ffff::1"));
	assert_false(config_is_trusted(cfg, "127.0.0.1"));
	assert_false(config_is_trusted(cfg, "192.0.3.1"));
	config_free(cfg);
}

static void
test_scoring_keys(void **state)
{
	struct config *cfg;
	char err[512];

	(void)state;
	assert_int_equal(load_text("Scorers rules, spamd\n"
				   "RulesDir /etc/authtag/rules\n"
				   "RequiredScore 6.5\n"
				   "XSpamReport yes\n"
				   "UserPrefs /var/sa/%d/%u/user_prefs\n"
				   "SpamdSocket unix:/run/spamd.sock\n"
				   "SpamdMaxSize 1048576\n"
				   "SpamdTimeout 10\n"
				   "SpamdUser %u@%d\n",
				   &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(cfg->nscorers, 2);
	assert_string_equal(cfg->scorers[0], "rules");
	assert_string_equal(cfg->scorers[1], "spamd");
	assert_string_equal(cfg->rules_dir, "/etc/authtag/rules");
	assert_true(cfg->required_score == 6.5);
	assert_true(cfg->x_spam_report);
	assert_string_equal(cfg->user_prefs, "/var/sa/%d/%u/user_prefs");
	assert_string_equal(cfg->spamd_socket, "unix:/run/spamd.sock");
	assert_int_equal(cfg->spamd_max_size, 1048576);
	assert_int_equal(cfg->spamd_timeout, 10);
	assert_string_equal(cfg->spamd_user, "%u@%d");
	config_free(cfg);
	/* "none" turns the templates off; inet6 sockets are numbers too */
	assert_int_equal(load_text("UserPrefs none\nSpamdUser NONE\n"
				   "SpamdSocket inet6:783@::1\n"
				   "RequiredScore -2\n",
				   &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(cfg->user_prefs, "");
	assert_string_equal(cfg->spamd_user, "");
	assert_string_equal(cfg->spamd_socket, "inet6:783@::1");
	assert_true(cfg->required_score == -2);
	config_free(cfg);
}

static void
test_errors_name_line_and_key(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"AuthservID a\nNoSuchKey 1\n", ":2: NoSuchKey: unknown key"},
	    {"resolvertimeout ten\n",
	     ":1: ResolverTimeout: expected a whole number from 1 to 300"},
	    {"ResolverTimeout 0\n",
	     ":1: ResolverTimeout: expected a whole number from 1 to 300"},
	    {"SPFCheckHelo maybe\n", ":1: SPFCheckHelo: expected yes or no"},
	    {"\n\nResolver 300.1.1.1\n",
	     ":3: Resolver: expected system, recursive, or forwarders "
	     "IP[@port],..."},
	    {"Resolver 127.0.0.1@99999\n",
	     ":1: Resolver: expected system, recursive, or forwarders "
	     "IP[@port],..."},
	    {"TrustedNetworks 10.0.0.0/33\n",
	     ":1: TrustedNetworks: expected an address or address/prefix"},
	    {"DMARCStandard rfc1\n",
	     ":1: DMARCStandard: expected rfc9989 or rfc7489"},
	    {"AuthservID mx.example.org; dmarc=pass\n",
	     ":1: AuthservID: expected a host name"},
	    {"AuthservID a\nAuthservID b\n", ":2: AuthservID: given twice"},
	    {"AuthservID\n", ":1: AuthservID: has no value"},
	    {"ResolverConfig /nonexistent/unbound.conf\n",
	     ":1: ResolverConfig: cannot read that file"},
	    {"Socket tcp:25\n",
	     ":1: Socket: expected unix:/path, local:/path, inet:port@host or "
	     "inet6:port@host"},
	    {"UMask 999\n", ":1: UMask: expected an octal mask such as 007"},
	    {"Scorers rules;spamd\n",
	     ":1: Scorers: expected scorer names such as rules,spamd"},
	    {"RequiredScore five\n",
	     ":1: RequiredScore: expected a number such as 5.0"},
	    {"RequiredScore 1e9\n",
	     ":1: RequiredScore: expected a number such as 5.0"},
	    {"XSpamReport perhaps\n", ":1: XSpamReport: expected yes or no"},
	    {"UserPrefs /home/%x/prefs\n",
	     ":1: UserPrefs: expected %u, %d or %% after %"},
	    {"SpamdUser %\n", ":1: SpamdUser: expected %u, %d or %% after %"},
	    {"SpamdSocket inet:783@spamd.example.org\n",
	     ":1: SpamdSocket: expected inet:port@address, inet6:port@address "
	     "or unix:/path"},
	    {"SpamdSocket inet:0@127.0.0.1\n",
	     ":1: SpamdSocket: expected inet:port@address, inet6:port@address "
	     "or unix:/path"},
	    {"SpamdSocket tcp:783\n",
	     ":1: SpamdSocket: expected inet:port@address, inet6:port@address "
	     "or unix:/path"},
	    {"SpamdMaxSize 10\n",
	     ":1: SpamdMaxSize: expected a whole number from 1024 to 67108864"},
	    {"SpamdTimeout 0\n",
	     ":1: SpamdTimeout: expected a whole number from 1 to 600"},
	};
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg = (void *)1;

		assert_int_equal(
		    load_text(cases[i].text, &cfg, err, sizeof(err)), -1);
		assert_null(cfg);
		assert_string_equal(err, cases[i].msg);
	}
}

/* the outbound keys: OutboundQuota COUNT/WINDOW, the per-user lines
 * that may repeat, exemptions by login or sender address */
static void
test_outbound_keys(void **state)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
	    {"OutboundQuota 100\n",
	     ":1: OutboundQuota: not COUNT/WINDOW (e.g. 100/1h), 0 or none"},
	    {"OutboundQuota 100/1w\n",
	     ":1: OutboundQuota: unit is not s, m, h or d"},
	    {"OutboundQuota 0/1h\n",
	     ":1: OutboundQuota: count out of range (1 to 10000000)"},
	    {"OutboundQuota 10/31d\n", ":1: OutboundQuota: out of range"},
	    {"OutboundQuotaUser www-data\n",
	     ":1: OutboundQuotaUser: not NAME LIMIT (e.g. www-data 500)"},
	    {"QuotaAlertTo postmaster\n",
	     ":1: QuotaAlertTo: not a bare address (postmaster@example.org)"},
	    {"PostsuperPath postsuper\n",
	     ":1: PostsuperPath: not an absolute path"},
	    {"LearnedWelcomeTTL forever\n",
	     ":1: LearnedWelcomeTTL: not a number of seconds (e.g. 90, 15m, "
	     "12h, 7d)"},
	    {"OutboundQuota 1/1h\nOutboundQuota 2/1h\n",
	     ":2: OutboundQuota: given twice"},
	};
	struct config *cfg = NULL;
	char err[512];

	(void)state;
	assert_int_equal(
	    load_text("OutboundQuota 100/1h\nOutboundQuotaAuth yes\n"
		      "OutboundQuotaUser www-data 500\n"
		      "OutboundQuotaUser Shop 0\n"
		      "OutboundQuotaExempt mailman, Lists@Example.org\n"
		      "OutboundQuotaExempt backup\n"
		      "QuotaAlertTo postmaster@example.org\n"
		      "LearnWelcome yes\nLearnedWelcomeTTL 365d\n",
		      &cfg, err, sizeof(err)),
	    0);
	assert_int_equal(cfg->quota_limit, 100);
	assert_int_equal(cfg->quota_window, 3600);
	assert_true(cfg->quota_auth);
	assert_int_equal(config_quota_limit(cfg, "www-data"), 500);
	assert_int_equal(config_quota_limit(cfg, "shop"), 0);
	assert_int_equal(config_quota_limit(cfg, "alice"), 100);
	assert_true(config_quota_exempt(cfg, "mailman", "x@example.org"));
	assert_true(config_quota_exempt(cfg, "backup", NULL));
	/* an address entry matches the sender, or a SASL login that is
	 * an address; a name entry never matches a sender */
	assert_true(config_quota_exempt(cfg, "bob", "lists@example.org"));
	assert_true(config_quota_exempt(cfg, "lists@example.org", "b@x.org"));
	assert_false(config_quota_exempt(cfg, "bob", "mailman"));
	assert_false(config_quota_exempt(cfg, "alice", "alice@example.org"));
	assert_string_equal(cfg->quota_alert_to, "postmaster@example.org");
	assert_true(cfg->learn_welcome);
	assert_int_equal(cfg->learn_welcome_ttl, 365u * 86400);
	assert_string_equal(cfg->postsuper_path, "/usr/sbin/postsuper");
	config_free(cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg = (void *)1;
		assert_int_equal(load_text(bad[i].text, &cfg, err, sizeof(err)),
				 -1);
		assert_null(cfg);
		assert_string_equal(err, bad[i].msg);
	}
}

static void
test_missing_file(void **state)
{
	struct config *cfg;
	char err[512];

	(void)state;
	assert_int_equal(
	    config_load("/nonexistent/authtag.conf", &cfg, err, sizeof(err)),
	    -1);
	assert_string_equal(
	    err, "/nonexistent/authtag.conf: No such file or directory");
}

static void
test_parse_net(void **state)
{
	struct config_net net;

	(void)state;
	assert_int_equal(hostlist_parse_net("192.0.2.77/24", &net), 0);
	assert_int_equal(net.prefix, 24);
	assert_int_equal(net.addr[3], 0); /* host bits masked */
	assert_int_equal(hostlist_parse_net("2001:db8::/0", &net), 0);
	assert_int_equal(net.prefix, 0);
	assert_int_equal(hostlist_parse_net("192.0.2.1/", &net), -1);
	assert_int_equal(hostlist_parse_net("192.0.2.1/x", &net), -1);
	assert_int_equal(hostlist_parse_net("", &net), -1);
	assert_int_equal(
	    hostlist_parse_net("1111:2222:3333:4444:5555:6666:7777:8888:9999/1",
			     &net),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_full_file),
	    cmocka_unit_test(test_scoring_keys),
	    cmocka_unit_test(test_errors_name_line_and_key),
	    cmocka_unit_test(test_outbound_keys),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_parse_net),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
