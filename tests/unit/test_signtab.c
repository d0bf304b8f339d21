/*
 * test_signtab.c - the signing configuration: opendkim datasets, client
 * lists with '!' and precedence, the SigningTable lookup order, the h=
 * list after SignHeaders/OmitHeaders, and the signing keys of
 * authtag.conf. Expected values come from opendkim.conf(5) and
 * opendkim(8) (DATA SETS), the behaviour sites carry over.
 */
#include "build.h" /* first: feature macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/dkim_signtab.h"
#include "config.h"
#include "dataset.h"
#include "hostlist.h"
#include "testutil.h"

static char *key_path; /* an ed25519 key, mode 600 */

/* setup_key - a fresh ed25519 private key in a temporary PEM file */
static int
setup_key(void **state)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *fp;

	(void)state;
	key_path = testutil_write_temp("");
	if (pk == NULL || key_path == NULL ||
	    (fp = fopen(key_path, "w")) == NULL)
		return -1;
	PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	EVP_PKEY_free(pk);
	return chmod(key_path, 0600);
}

static int
teardown_key(void **state)
{
	(void)state;
	unlink(key_path);
	free(key_path);
	return 0;
}

static void
test_dataset_file(void **state)
{
	char *path = testutil_write_temp("# comment\n\n  key1   value one \t\n"
					 "key2\nkey3 a:b:c # trailing\n");
	struct dataset *ds;
	char err[256];

	(void)state;
	assert_int_equal(dataset_load(path, &ds, err, sizeof(err)), 0);
	assert_int_equal(ds->kind, DATASET_FILE);
	assert_int_equal(ds->n, 3);
	assert_string_equal(ds->entries[0].key, "key1");
	assert_string_equal(ds->entries[0].value, "value one");
	assert_int_equal(ds->entries[0].line, 3);
	assert_null(ds->entries[1].value);
	assert_string_equal(ds->entries[2].value, "a:b:c");
	assert_int_equal(ds->entries[2].line, 5);
	dataset_free(ds);
	unlink(path);
	free(path);
}

static void
test_dataset_list_and_errors(void **state)
{
	struct dataset *ds;
	char err[256];

	(void)state;
	assert_int_equal(dataset_load("csl: a , b=c,,d = e", &ds, err,
				      sizeof(err)),
			 0);
	assert_int_equal(ds->kind, DATASET_LIST);
	assert_int_equal(ds->n, 3);
	assert_string_equal(ds->entries[0].key, "a");
	assert_string_equal(ds->entries[1].key, "b");
	assert_string_equal(ds->entries[1].value, "c");
	assert_string_equal(ds->entries[2].key, "d");
	assert_string_equal(ds->entries[2].value, "e");
	dataset_free(ds);
	assert_int_equal(dataset_load("From,Subject", &ds, err, sizeof(err)),
			 0);
	assert_int_equal(ds->n, 2);
	dataset_free(ds);
	assert_int_equal(dataset_load("ldap://x/", &ds, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "dataset type ldap: is not supported"));
	assert_int_equal(dataset_load("/etc/keys.db", &ds, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "Berkeley DB"));
	assert_int_equal(dataset_load("refile:/nonexistent/x", &ds, err,
				      sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "/nonexistent/x: No such file"));
}

static void
test_wildcard(void **state)
{
	char text[4001];

	(void)state;
	assert_true(dataset_wildcard("*@example.com", "alice@example.com"));
	assert_true(dataset_wildcard("*@EXAMPLE.com", "alice@example.COM"));
	assert_false(dataset_wildcard("*@example.com", "alice@example.co"));
	assert_false(dataset_wildcard("*@example.com", "a@sub.example.org"));
	assert_true(dataset_wildcard("*@*.example.com", "a@b.example.com"));
	assert_false(dataset_wildcard("*@*.example.com", "a@example.com"));
	assert_true(dataset_wildcard("*", ""));
	assert_true(dataset_wildcard("a**b", "ab"));
	assert_false(dataset_wildcard("", "a"));
	/* the pathological case for backtracking matchers stays quick */
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_false(dataset_wildcard("*a*a*a*a*a*a*a*a*b", text));
}

static void
test_hostlist(void **state)
{
	struct hostlist *hl;
	char err[256];

	(void)state;
	assert_int_equal(hostlist_load("192.0.2.0/24, !192.0.2.9, "
				       "[2001:db8::]/32, !2001:db8::/48, "
				       "mail.example.com, .example.org, "
				       "!bad.example.org, *.example.net",
				       &hl, err, sizeof(err)),
			 0);
	assert_true(hostlist_match(hl, "192.0.2.1", NULL));
	/* the more precise entry wins, whichever comes first */
	assert_false(hostlist_match(hl, "192.0.2.9", NULL));
	assert_true(hostlist_match(hl, "::ffff:192.0.2.1", NULL));
	assert_false(hostlist_match(hl, "198.51.100.1", NULL));
	assert_true(hostlist_match(hl, "2001:db8:1::1", NULL));
	assert_false(hostlist_match(hl, "2001:db8:0::1", NULL));
	/* names first, then the address */
	assert_true(hostlist_match(hl, "203.0.113.1", "mail.example.com"));
	assert_true(hostlist_match(hl, "203.0.113.1", "MX.Example.ORG"));
	assert_false(hostlist_match(hl, "192.0.2.1", "bad.example.org"));
	assert_false(hostlist_match(hl, "203.0.113.1", "example.org"));
	assert_true(hostlist_match(hl, "203.0.113.1", "a.example.net"));
	/* a bracketed name is the MTA saying it has none */
	assert_true(hostlist_match(hl, "192.0.2.1", "[192.0.2.1]"));
	assert_false(hostlist_match(NULL, "192.0.2.1", NULL));
	hostlist_free(hl);
	assert_int_equal(hostlist_load("192.0.2.0/33", &hl, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "item 1 (192.0.2.0/33)"));
}

/* signtab_with - a table from KeyTable and SigningTable texts */
static struct dkim_signtab *
signtab_with(const char *kt_text, const char *st_text, bool refile,
	     bool multiple, char *err, size_t errlen, char **paths)
{
	struct config *cfg = config_new_defaults();
	struct dkim_signtab *tab;
	char spec[512];

	assert_non_null(cfg);
	paths[0] = testutil_write_temp(kt_text);
	paths[1] = testutil_write_temp(st_text);
	snprintf(spec, sizeof(spec), "%s%s", refile ? "refile:" : "",
		 paths[1]);
	cfg->key_table = strdup(paths[0]);
	cfg->signing_table = strdup(spec);
	cfg->multiple_signatures = multiple;
	tab = dkim_signtab_new(cfg, err, errlen);
	config_free(cfg);
	return tab;
}

static void
signtab_paths_free(char **paths)
{
	for (int i = 0; i < 2; i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
}

/* select_names - the keys chosen for local@domain, "k1,k2" or "-" + why */
static void
select_names(struct dkim_signtab *tab, const char *local, const char *domain,
	     char *out, size_t outlen)
{
	struct dkim_signchoice c[DKIM_SIGN_MAX];
	char why[256];
	int n = dkim_signtab_select(tab, local, domain, c, DKIM_SIGN_MAX, why,
				    sizeof(why));
	size_t used = 0;

	out[0] = '\0';
	if (n <= 0) {
		snprintf(out, outlen, "-%s", why);
		return;
	}
	for (int i = 0; i < n; i++) {
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
					 i ? "," : "", c[i].keyname);
		dkim_signchoice_free(&c[i]);
	}
}

static void
test_lookup_order(void **state)
{
	char kt[2048], err[512], got[512], *paths[2];
	struct dkim_signtab *tab;

	(void)state;
	snprintf(kt, sizeof(kt),
		 "full example.com:s:%s\nhost example.com:s:%s\n"
		 "userparent example.com:s:%s\nparent example.com:s:%s\n"
		 "userany example.com:s:%s\nany example.com:s:%s\n",
		 key_path, key_path, key_path, key_path, key_path, key_path);
	/* listed least precise first: the order of lookups decides */
	tab = signtab_with(kt,
			   "*  any\nalice@*  userany\n.example.com parent\n"
			   "alice@.example.com userparent\n"
			   "mail.example.com host\n"
			   "alice@mail.example.com full\n",
			   false, false, err, sizeof(err), paths);
	assert_non_null(tab);
	select_names(tab, "alice", "mail.example.com", got, sizeof(got));
	assert_string_equal(got, "full");
	select_names(tab, "bob", "mail.example.com", got, sizeof(got));
	assert_string_equal(got, "host");
	select_names(tab, "alice", "www.example.com", got, sizeof(got));
	assert_string_equal(got, "userparent");
	select_names(tab, "bob", "www.example.com", got, sizeof(got));
	assert_string_equal(got, "parent");
	select_names(tab, "alice", "example.org", got, sizeof(got));
	assert_string_equal(got, "userany");
	select_names(tab, "bob", "example.org", got, sizeof(got));
	assert_string_equal(got, "any");
	dkim_signtab_free(tab);
	signtab_paths_free(paths);

	/* MultipleSignatures: every match, in lookup order */
	tab = signtab_with(kt, "example.com host\nalice@example.com full\n"
			       "* any\n",
			   false, true, err, sizeof(err), paths);
	assert_non_null(tab);
	select_names(tab, "alice", "example.com", got, sizeof(got));
	assert_string_equal(got, "full,host,any");
	dkim_signtab_free(tab);
	signtab_paths_free(paths);

	/* refile: patterns in file order, the first unless multiple */
	tab = signtab_with(kt, "*@*.example.com parent\n*@example.com host\n"
			       "* any\n",
			   true, false, err, sizeof(err), paths);
	assert_non_null(tab);
	select_names(tab, "x", "example.com", got, sizeof(got));
	assert_string_equal(got, "host");
	select_names(tab, "x", "a.example.com", got, sizeof(got));
	assert_string_equal(got, "parent");
	dkim_signtab_free(tab);
	signtab_paths_free(paths);
}

static void
test_table_errors(void **state)
{
	char kt[1024], err[512], *paths[2];

	(void)state;
	snprintf(kt, sizeof(kt), "k1 example.com:s:%s\nk2 example.com:s\n",
		 key_path);
	assert_null(signtab_with(kt, "* k1\n", true, false, err, sizeof(err),
				 paths));
	assert_non_null(strstr(err, ":2: k2: expected domain:selector"));
	signtab_paths_free(paths);
	snprintf(kt, sizeof(kt), "k1 exa(mple.com:s:%s\n", key_path);
	assert_null(signtab_with(kt, "* k1\n", true, false, err, sizeof(err),
				 paths));
	assert_non_null(strstr(err, ":1: k1: bad domain, selector or key path"));
	signtab_paths_free(paths);
	snprintf(kt, sizeof(kt), "k1 example.com:s:%s\n", key_path);
	assert_null(signtab_with(kt, "* k1\n*@x.org\n", true, false, err,
				 sizeof(err), paths));
	assert_non_null(strstr(err, ":2: *@x.org: expected a key name"));
	signtab_paths_free(paths);
	/* an inline key that is not one */
	assert_null(signtab_with("k1 example.com:s:bm90IGEga2V5\n", "* k1\n",
				 true, false, err, sizeof(err), paths));
	assert_non_null(strstr(err, ":1: no private key"));
	signtab_paths_free(paths);
}

static void
test_header_lists(void **state)
{
	struct config *cfg = config_new_defaults();
	struct dkim_signchoice c[1];
	struct dkim_signopts opts;
	struct dkim_signtab *tab;
	char err[512], why[128];

	(void)state;
	assert_non_null(cfg);
	cfg->sign_domain = strdup("example.com");
	cfg->sign_selector = strdup("s");
	cfg->sign_keyfile = strdup(key_path);
	cfg->sub_domains = true;
	/* SignHeaders as a delta; OmitHeaders may not drop From */
	cfg->sign_headers = strdup("*,+X-Mailer,-Cc");
	cfg->omit_headers = strdup("*,+Subject,+From");
	free(cfg->oversign_headers);
	cfg->oversign_headers = strdup("From,To");
	tab = dkim_signtab_new(cfg, err, sizeof(err));
	assert_non_null(tab);
	assert_int_equal(dkim_signtab_select(tab, "a", "sub.example.com", c, 1,
					     why, sizeof(why)),
			 1);
	assert_string_equal(c[0].domain, "example.com");
	dkim_signtab_opts(tab, &c[0], &opts);
	assert_non_null(strstr(opts.sign_headers, "from:reply-to:date:to:"));
	assert_non_null(strstr(opts.sign_headers, ":x-mailer"));
	assert_null(strstr(opts.sign_headers, "subject"));
	assert_null(strstr(opts.sign_headers, ":cc:"));
	assert_string_equal(opts.oversign, "from:to");
	assert_int_equal(dkim_signtab_select(tab, "a", "example.org", c, 1, why,
					     sizeof(why)),
			 0);
	assert_string_equal(why, "example.org is not a Domain to sign");
	dkim_signtab_free(tab);
	config_free(cfg);
}

/* conf_text - config_load on text; 0 or -1 with err */
static int
conf_text(const char *text, struct config **cfg, char *err, size_t errlen)
{
	char *path = testutil_write_temp(text);
	int rc = config_load(path, cfg, err, errlen);

	unlink(path);
	free(path);
	return rc;
}

static void
test_config_keys(void **state)
{
	struct config *cfg;
	char err[512];

	(void)state;
	/* defaults: relaxed/relaxed (opendkim's is simple), From oversigned */
	assert_int_equal(conf_text("AuthservID x\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->sign_hcanon, SIGN_CANON_RELAXED);
	assert_int_equal(cfg->sign_bcanon, SIGN_CANON_RELAXED);
	assert_string_equal(cfg->oversign_headers, "From");
	config_free(cfg);
	/* one word: the header's; the body is simple, as in opendkim */
	assert_int_equal(conf_text("Canonicalization relaxed\nSignatureTTL 60\n"
				   "MinimumKeyBits 2048\n",
				   &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(cfg->sign_hcanon, SIGN_CANON_RELAXED);
	assert_int_equal(cfg->sign_bcanon, SIGN_CANON_SIMPLE);
	assert_int_equal(cfg->signature_ttl, 60);
	assert_int_equal(cfg->dkim_min_key_bits, 2048);
	config_free(cfg);
	assert_int_equal(conf_text("Canonicalization relaxed/fancy\n", &cfg,
				   err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, ":1: Canonicalization: expected simple"));
	assert_int_equal(conf_text("MinimumKeyBits 0\n", &cfg, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "RFC 8301"));
	assert_int_equal(conf_text("DKIMMinKeyBits 1024\nMinimumKeyBits 2048\n",
				   &cfg, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, ":2: MinimumKeyBits: DKIMMinKeyBits and "
				    "MinimumKeyBits both given"));
	assert_int_equal(conf_text("Selector bad/sel\n", &cfg, err, sizeof(err)),
			 -1);
	assert_int_equal(conf_text("InternalHosts 10.0.0.0/8,!10.1.0.0/16\n"
				   "PeerList csl:192.0.2.1\n",
				   &cfg, err, sizeof(err)),
			 0);
	assert_true(hostlist_match(cfg->internal_hosts, "10.2.3.4", NULL));
	assert_false(hostlist_match(cfg->internal_hosts, "10.1.3.4", NULL));
	assert_true(hostlist_match(cfg->peer_list, "192.0.2.1", NULL));
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dataset_file),
	    cmocka_unit_test(test_dataset_list_and_errors),
	    cmocka_unit_test(test_wildcard),
	    cmocka_unit_test(test_hostlist),
	    cmocka_unit_test(test_lookup_order),
	    cmocka_unit_test(test_table_errors),
	    cmocka_unit_test(test_header_lists),
	    cmocka_unit_test(test_config_keys),
	};

	return cmocka_run_group_tests(tests, setup_key, teardown_key);
}
