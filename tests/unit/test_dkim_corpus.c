/*
 * test_dkim_corpus.c - lib/dkim against the Mail::DKIM corpus and mailauth
 *
 * The 57 DKIM messages of Mail::DKIM's t/corpus (tests/data/dkim-mail-dkim)
 * are verified with their FAKE_DNS.dat served as hermetic DNS, and each
 * message result (the best of its signatures: pass > fail > invalid >
 * none, as Mail::DKIM reports it) is compared with expected.tsv, in two
 * profiles:
 *   strict - the filter's own settings (RFC 6376, RFC 8301: 1024-bit
 *            minimum, no rsa-sha1, no v=0.5);
 *   compat - 512-bit keys, rsa-sha1 and v=0.5 accepted, as the corpus
 *            (2006-2011 era) assumes; this is what checks key-record and
 *            error handling, since most messages are rsa-sha1 with
 *            512-bit keys.
 * Every difference must be in known_diffs[] with its reason: a new
 * difference, or a listed one that no longer happens, fails the test.
 * The mailauth ed25519 fixture (RFC 8463 example) must give two passes.
 */
#include "build.h" /* first: feature macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "auth/dkim.h"
#include "dkim_testlib.h"
#include "dns/dns.h"

enum profile {
	PROF_STRICT = 1,
	PROF_COMPAT = 2,
	PROF_BOTH = 3,
};

/* a difference from Mail::DKIM's expectation that we accept, and why */
struct known_diff {
	const char *file;
	unsigned profiles; /* PROF_* where it happens */
	const char *got;   /* our message result: pass, fail, invalid */
	const char *why;
};

#define WHY_MISSING_V                                                          \
	"draft-era signature without v=; RFC 6376 3.5 makes v= required, "     \
	"so permerror"
#define WHY_V05                                                                \
	"v=0.5 draft signature; RFC 6376 accepts only v=1 (the compat "        \
	"profile allows it)"
#define WHY_SHA1                                                               \
	"rsa-sha1: RFC 8301 3.1 says verifiers must not treat it as valid, "   \
	"so policy"
#define WHY_SHA1_512                                                           \
	"rsa-sha1 with a 512-bit key: RFC 8301 (sha1 and keys under 1024 "     \
	"bits), so policy"
#define WHY_G                                                                  \
	"key g= granularity tag: removed by RFC 6376 (unknown key tags "       \
	"are ignored), the signature verifies"

static const struct known_diff known_diffs[] = {
    /* RFC 6376 3.5: v= is required; the library has no way around it */
    {"mine_ietf01_1.txt", PROF_BOTH, "invalid", WHY_MISSING_V},
    {"mine_ietf01_2.txt", PROF_BOTH, "invalid", WHY_MISSING_V},
    {"mine_ietf01_3.txt", PROF_BOTH, "invalid", WHY_MISSING_V},
    {"mine_ietf01_4.txt", PROF_BOTH, "invalid", WHY_MISSING_V},
    {"good_ietf01_1.txt", PROF_BOTH, "invalid", WHY_MISSING_V},
    {"good_ietf01_2.txt", PROF_BOTH, "invalid", WHY_MISSING_V},
    {"multiple_1.txt", PROF_BOTH, "invalid", WHY_MISSING_V},
    {"bad_ietf01_1.txt", PROF_BOTH, "invalid", WHY_MISSING_V},
    {"bad_ietf01_2.txt", PROF_BOTH, "invalid", WHY_MISSING_V},
    {"bad_ietf01_3.txt", PROF_BOTH, "invalid", WHY_MISSING_V},
    {"bad_1.txt", PROF_BOTH, "invalid", WHY_MISSING_V},
    /* RFC 6376 6.1.2: an empty p= is "a failed signature check" */
    {"badkey_2.txt", PROF_COMPAT, "fail",
     "revoked key (empty p=): RFC 6376 6.1.2 says to treat it as a failed "
     "signature check, so fail"},
    /* RFC 6376 removed g=; Mail::DKIM still applies RFC 4871's rule */
    {"badkey_8.txt", PROF_COMPAT, "pass", WHY_G},
    {"badkey_9.txt", PROF_COMPAT, "pass", WHY_G},
    {"badkey_12.txt", PROF_COMPAT, "pass", WHY_G},
    {"badkey_13.txt", PROF_COMPAT, "pass", WHY_G},
    /* strict profile only: v=0.5, then RFC 8301 */
    {"mine_ietf05_1.txt", PROF_STRICT, "invalid", WHY_V05},
    {"no_body_1.txt", PROF_STRICT, "invalid", WHY_V05},
    {"no_body_2.txt", PROF_STRICT, "invalid", WHY_V05},
    {"no_body_3.txt", PROF_STRICT, "invalid", WHY_V05},
    {"good_rfc4871_3.txt", PROF_STRICT, "invalid", WHY_SHA1_512},
    {"good_rfc4871_4.txt", PROF_STRICT, "invalid", WHY_SHA1_512},
    {"good_1878523.txt", PROF_STRICT, "invalid", WHY_SHA1_512},
    {"good_qp_1.txt", PROF_STRICT, "invalid", WHY_SHA1_512},
    {"good_qp_2.txt", PROF_STRICT, "invalid", WHY_SHA1_512},
    {"good_qp_3.txt", PROF_STRICT, "invalid", WHY_SHA1_512},
    {"goodkey_1.txt", PROF_STRICT, "invalid", WHY_SHA1_512},
    {"goodkey_2.txt", PROF_STRICT, "invalid", WHY_SHA1_512},
    {"goodkey_3.txt", PROF_STRICT, "invalid", WHY_SHA1_512},
    {"goodkey_4.txt", PROF_STRICT, "invalid", WHY_SHA1_512},
    {"good_83176.txt", PROF_STRICT, "invalid", WHY_SHA1},
    {"multiple_2.txt", PROF_STRICT, "invalid", WHY_SHA1},
    {"bad_1878954.txt", PROF_STRICT, "invalid", WHY_SHA1},
};

#define NKNOWN (sizeof(known_diffs) / sizeof(known_diffs[0]))

/*
 * Signatures whose RFC 8601 result follows from the corpus' own DNS data
 * and the RFCs, checked beyond expected.tsv's pass/fail/invalid classes.
 */
static const struct detail_check {
	const char *file;
	unsigned profiles;
	enum ar_result result;
	const char *reason; /* must appear in the reason */
} detail_checks[] = {
    /* strict stops badkey_1 at its v=0.5 */
    {"badkey_1.txt", PROF_COMPAT, RES_PERMERROR, "no key"}, /* NXDOMAIN */
    {"badkey_2.txt", PROF_COMPAT, RES_FAIL, "key revoked"},
    {"badkey_14.txt", PROF_BOTH, RES_TEMPERROR, "timed out"},
    {"badkey_15.txt", PROF_BOTH, RES_TEMPERROR, "SERVFAIL"},
    {"ignore_7.txt", PROF_BOTH, RES_POLICY, "expired"}, /* x= passed */
    {"ignore_2.txt", PROF_BOTH, RES_PERMERROR, NULL},   /* rsa-md5 */
    {"goodkey_ed25519.txt", PROF_BOTH, RES_PASS, NULL},
};

#define NDETAIL (sizeof(detail_checks) / sizeof(detail_checks[0]))

struct corpus {
	struct dkim_test_dns dns;
	char summary[256]; /* one line per profile, printed at the end */
	struct dkim_test_record *recs;
	size_t nrecs;
	char **zones;   /* NULL-terminated */
	char *fake_dns; /* FAKE_DNS.dat, cut into the records' strings */
};

/* trim - strip white space at both ends, in place */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* add_zone - remember the static zone that holds a key name */
static void
add_zone(struct corpus *c, size_t *nz, const char *name)
{
	const char *z = strstr(name, "._domainkey.");

	z = z != NULL ? z + 12 : name;
	for (size_t i = 0; i < *nz; i++)
		if (strcmp(c->zones[i], z) == 0)
			return;
	c->zones[(*nz)++] = strdup(z);
	c->zones[*nz] = NULL;
}

/* load_fake_dns - FAKE_DNS.dat into hermetic DNS records */
static int
load_fake_dns(struct corpus *c, const char *path)
{
	size_t nlines = 1, nz = 0;
	char *line, *save = NULL;

	if ((c->fake_dns = dkim_test_read_file(path, NULL)) == NULL)
		return -1;
	for (const char *p = c->fake_dns; *p != '\0'; p++)
		nlines += *p == '\n';
	c->recs = calloc(nlines, sizeof(*c->recs));
	c->zones = calloc(nlines + 1, sizeof(*c->zones));
	if (c->recs == NULL || c->zones == NULL)
		return -1;
	for (line = strtok_r(c->fake_dns, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		struct dkim_test_record *r = &c->recs[c->nrecs];
		char *data;

		line = trim(line);
		if (line[0] == '#' || line[0] == '\0')
			continue;
		data = line + strcspn(line, " \t");
		if (*data != '\0')
			*data++ = '\0';
		data = trim(data);
		r->name = line;
		if (strcmp(data, "NXDOMAIN") == 0) {
			r->kind = DKIM_TEST_NXDOMAIN;
		} else if (strcmp(data, "~~Query timed out~~") == 0) {
			r->kind = DKIM_TEST_TIMEOUT;
		} else if (strcmp(data, "~~SERVFAIL~~") == 0) {
			r->kind = DKIM_TEST_SERVFAIL;
		} else {
			r->kind = DKIM_TEST_TXT;
			r->txt = strcmp(data, "\"\"") == 0 ? "" : data;
		}
		add_zone(c, &nz, line);
		c->nrecs++;
	}
	return 0;
}

/* setup - hermetic DNS from FAKE_DNS.dat */
static int
setup(void **st)
{
	struct corpus *c = calloc(1, sizeof(*c));
	char path[4096];

	if (c == NULL)
		return -1;
	*st = c; /* teardown frees it even when setup fails */
	snprintf(path, sizeof(path),
		 "%s/tests/data/dkim-mail-dkim/FAKE_DNS.dat",
		 dkim_test_srcdir());
	if (load_fake_dns(c, path) != 0) {
		fprintf(stderr, "cannot load %s\n", path);
		return -1;
	}
	if (dkim_test_dns_start(&c->dns, (const char *const *)c->zones, c->recs,
				c->nrecs) != 0)
		return -1;
	/* badkey_14's key server never answers */
	dns_resolver_set_timeout(c->dns.res, 300);
	return 0;
}

/* teardown - free what setup made */
static int
teardown(void **st)
{
	struct corpus *c = *st;

	if (c == NULL)
		return 0;
	if (c->summary[0] != '\0')
		printf("Mail::DKIM corpus, 57 DKIM messages: %s\n", c->summary);
	dkim_test_dns_stop(&c->dns);
	for (size_t i = 0; c->zones != NULL && c->zones[i] != NULL; i++)
		free(c->zones[i]);
	free(c->zones);
	free(c->recs);
	free(c->fake_dns);
	free(c);
	return 0;
}

/* message_class - Mail::DKIM's message result from our signature results */
static const char *
message_class(const struct dkim_outcome *o, size_t n, size_t *best)
{
	int rank = 0; /* 0 none, 1 invalid, 2 fail, 3 pass */

	*best = 0;
	for (size_t i = 0; i < n; i++) {
		int r = o[i].result == RES_PASS   ? 3
			: o[i].result == RES_FAIL ? 2
						  : 1;

		if (r > rank) {
			rank = r;
			*best = i;
		}
	}
	return rank == 3   ? "pass"
	       : rank == 2 ? "fail"
	       : rank == 1 ? "invalid"
			   : "none";
}

/* find_known - the accepted difference for this file and profile */
static const struct known_diff *
find_known(const char *file, enum profile prof)
{
	for (size_t i = 0; i < NKNOWN; i++)
		if (strcmp(known_diffs[i].file, file) == 0 &&
		    (known_diffs[i].profiles & prof))
			return &known_diffs[i];
	return NULL;
}

/* print_sigs - every signature's result, to explain a difference */
static void
print_sigs(const struct dkim_outcome *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("    sig %zu: %s d=%s s=%s a=%s%s%s\n", i + 1,
		       result_name(o[i].result), o[i].domain, o[i].selector,
		       o[i].algorithm, o[i].reason[0] ? " reason: " : "",
		       o[i].reason);
}

/* check_details - the detail checks for this file; number failed */
static unsigned
check_details(const char *pname, enum profile prof, const char *file,
	      const struct dkim_outcome *o, size_t n)
{
	unsigned bad = 0;

	for (size_t i = 0; i < NDETAIL; i++) {
		const struct detail_check *d = &detail_checks[i];

		if (strcmp(d->file, file) != 0 || !(d->profiles & prof))
			continue;
		if (n == 1 && o[0].result == d->result &&
		    (d->reason == NULL || strstr(o[0].reason, d->reason)))
			continue;
		printf("[%s] %s: expected one signature %s%s%s\n", pname, file,
		       result_name(d->result),
		       d->reason ? " with reason containing " : "",
		       d->reason ? d->reason : "");
		print_sigs(o, n);
		bad++;
	}
	return bad;
}

/* run_profile - verify every kind=dkim message; count surprises */
static void
run_profile(struct corpus *c, enum profile prof)
{
	const char *pname = prof == PROF_STRICT ? "strict" : "compat";
	char path[4096], err[256];
	char *tsv, *line, *save = NULL;
	struct dkim_verifier *ver;
	unsigned passed = 0, failed = 0, known = 0, surprises = 0;
	bool seen[NKNOWN] = {false};
	unsigned saved_bits = c->dns.cfg->dkim_min_key_bits;

	if (prof == PROF_COMPAT)
		c->dns.cfg->dkim_min_key_bits = 512;
	ver = dkim_verifier_new(c->dns.cfg, err, sizeof(err));
	c->dns.cfg->dkim_min_key_bits = saved_bits;
	assert_non_null(ver);
	if (prof == PROF_COMPAT)
		assert_int_equal(
		    dkim_verifier_compat(ver, DKIM_COMPAT_V05 |
						  DKIM_COMPAT_RSA_SHA1),
		    0);
	snprintf(path, sizeof(path),
		 "%s/tests/data/dkim-mail-dkim/expected.tsv",
		 dkim_test_srcdir());
	tsv = dkim_test_read_file(path, NULL);
	assert_non_null(tsv);
	for (line = strtok_r(tsv, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char file[128], want[32], kind[64];
		struct dkim_outcome *o = NULL;
		size_t n = 0, best, len;
		const struct known_diff *k;
		const char *got;
		char *msg;

		if (line[0] == '#' ||
		    sscanf(line, "%127s %31s %63s", file, want, kind) != 3 ||
		    strcmp(kind, "dkim") != 0)
			continue;
		snprintf(path, sizeof(path),
			 "%s/tests/data/dkim-mail-dkim/corpus/%s",
			 dkim_test_srcdir(), file);
		msg = dkim_test_read_file(path, &len);
		if (msg == NULL) {
			printf("[%s] %s: cannot read %s\n", pname, file, path);
			failed++;
			surprises++;
			continue;
		}
		dkim_test_verify(ver, c->dns.res, msg, len, 0, &o, &n);
		got = message_class(o, n, &best);
		k = find_known(file, prof);
		if (strcmp(got, want) == 0) {
			passed++;
			if (k != NULL) {
				printf("[%s] %s: STALE known difference: "
				       "now %s as expected\n",
				       pname, file, got);
				surprises++;
			}
		} else {
			failed++;
			printf("[%s] %s: expected %s, got %s (%s%s%s)%s\n",
			       pname, file, want, got,
			       n > 0 ? result_name(o[best].result) : "none",
			       n > 0 && o[best].reason[0] ? ": " : "",
			       n > 0 ? o[best].reason : "",
			       k != NULL && strcmp(k->got, got) == 0
				   ? ""
				   : "  <-- UNEXPLAINED");
			if (n > 1)
				print_sigs(o, n);
			if (k != NULL && strcmp(k->got, got) == 0) {
				printf("    known: %s\n", k->why);
				seen[k - known_diffs] = true;
				known++;
			} else {
				surprises++;
			}
		}
		surprises += check_details(pname, prof, file, o, n);
		free(o);
		free(msg);
	}
	free(tsv);
	dkim_verifier_free(ver);
	printf("[%s] %u passed, %u failed (%u known and explained, %u "
	       "unexplained)\n",
	       pname, passed, failed, known, surprises);
	snprintf(c->summary + strlen(c->summary),
		 sizeof(c->summary) - strlen(c->summary),
		 "%s%s %u passed, %u failed", c->summary[0] ? "; " : "", pname,
		 passed, failed);
	fflush(stdout);
	assert_int_equal(surprises, 0);
	for (size_t i = 0; i < NKNOWN; i++)
		if ((known_diffs[i].profiles & prof) && !seen[i])
			fail_msg("known difference %s not seen",
				 known_diffs[i].file);
}

/* test_corpus_strict - the filter's own RFC-strict settings */
static void
test_corpus_strict(void **st)
{
	run_profile(*st, PROF_STRICT);
}

/* test_corpus_compat - the corpus' era: rsa-sha1, 512 bits, v=0.5 */
static void
test_corpus_compat(void **st)
{
	run_profile(*st, PROF_COMPAT);
}

/*
 * json_txt_records - the TXT records of mailauth's dns.json
 *
 * The file is {"name": {"TXT": [["str", "str"], ...]}, ...}; each inner
 * array is one record whose strings are joined. A small scanner is all
 * this fixed layout needs.
 */
static size_t
json_txt_records(char *json, struct dkim_test_record *recs, size_t max,
		 char **texts)
{
	int depth = 0;
	size_t n = 0;
	char *name = NULL, text[2048];
	size_t tlen = 0;

	for (char *p = json; *p != '\0'; p++) {
		if (*p == '{' || *p == '[') {
			depth++;
			tlen = 0;
		} else if (*p == '}' || *p == ']') {
			if (*p == ']' && depth == 4 && name != NULL &&
			    n < max) {
				text[tlen] = '\0';
				texts[n] = strdup(text);
				recs[n].name = name;
				recs[n].kind = DKIM_TEST_TXT;
				recs[n].txt = texts[n];
				n++;
			}
			depth--;
		} else if (*p == '"') {
			char *s = ++p;

			while (*p != '\0' && *p != '"')
				p += p[0] == '\\' && p[1] != '\0' ? 2 : 1;
			if (*p == '\0')
				break;
			*p = '\0';
			if (depth == 1)
				name = s;
			else if (depth == 4 &&
				 tlen + strlen(s) < sizeof(text)) {
				memcpy(text + tlen, s, strlen(s));
				tlen += strlen(s);
			}
		}
	}
	return n;
}

/* test_mailauth_ed25519 - RFC 8463 example: ed25519 and rsa-sha256 pass */
static void
test_mailauth_ed25519(void **st)
{
	static const char *const zones[] = {"football.example.com", NULL};
	struct dkim_test_record recs[8];
	char *texts[8] = {NULL};
	struct dkim_test_dns dns;
	struct dkim_verifier *ver;
	struct dkim_outcome *o = NULL;
	char path[4096], err[256], *json, *msg;
	size_t nrecs, n = 0, len;

	(void)st;
	snprintf(path, sizeof(path),
		 "%s/tests/data/dkim-mailauth/dkim-ec/dns.json",
		 dkim_test_srcdir());
	json = dkim_test_read_file(path, NULL);
	assert_non_null(json);
	nrecs = json_txt_records(json, recs, 8, texts);
	assert_int_equal(nrecs, 3);
	assert_int_equal(dkim_test_dns_start(&dns, zones, recs, nrecs), 0);
	ver = dkim_verifier_new(dns.cfg, err, sizeof(err)); /* strict */
	assert_non_null(ver);
	snprintf(path, sizeof(path),
		 "%s/tests/data/dkim-mailauth/dkim-ec/signed.eml",
		 dkim_test_srcdir());
	msg = dkim_test_read_file(path, &len);
	assert_non_null(msg);
	dkim_test_verify(ver, dns.res, msg, len, 0, &o, &n);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		printf("[mailauth] signed.eml: %s %s s=%s (%u-bit) %s\n",
		       result_name(o[i].result), o[i].algorithm, o[i].selector,
		       o[i].keybits, o[i].reason);
	assert_int_equal(o[0].result, RES_PASS);
	assert_string_equal(o[0].algorithm, "ed25519-sha256");
	assert_string_equal(o[0].selector, "brisbane");
	assert_int_equal(o[0].keybits, 0);
	assert_int_equal(o[1].result, RES_PASS);
	assert_string_equal(o[1].algorithm, "rsa-sha256");
	assert_int_equal(o[1].keybits, 1024);
	assert_string_equal(o[1].domain, "football.example.com");
	free(o);
	free(msg);
	dkim_verifier_free(ver);
	dkim_test_dns_stop(&dns);
	for (size_t i = 0; i < nrecs; i++)
		free(texts[i]);
	free(json);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus_strict),
	    cmocka_unit_test(test_corpus_compat),
	    cmocka_unit_test(test_mailauth_ed25519),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
