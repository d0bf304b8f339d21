/*
 * test_dmarc.c - the DMARC matrix, record parsing and the PSL vectors
 *
 * Every matrix case runs in both DMARCStandard modes against hermetic
 * DNS (libunbound local-data, see dns_conf below) and states each mode's
 * expected outcome; where the two are written the same, the RFCs agree.
 * Expectations come from RFC 9989 (draft-ietf-dmarc-dmarcbis-41 text:
 * 4.7, 4.8, 4.10, A.4, A.6 and the examples of B.4) and RFC 7489 (3.2,
 * 6.6.3). RFC 7489 mode uses a small test list (psl_test) so that which
 * names are suffixes is plain; one test repeats key cases with Debian's
 * real list, and the PSL project's vectors check the list code itself.
 */
#include "build.h" /* first: feature macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "auth/dmarc.h"
#include "auth/dmarc_psl.h"
#include "auth/dmarc_record.h"
#include "dns/dns.h"
#include "testutil.h"

#define DEBIAN_PSL "/usr/share/publicsuffix/public_suffix_list.dat"

/*
 * Every name the code may ask lies in a local zone, so nothing is ever
 * forwarded. tempfail.example and _dmarc.flaky.example answer REFUSED,
 * which lib/dns reports as a temporary failure. "test." is a static zone
 * of our own, which lifts libunbound's built-in NXDOMAIN for it.
 */
static const char dns_conf[] =
    "server:\n"
    "  local-zone: \"com.\" static\n"
    "  local-zone: \"org.\" static\n"
    "  local-zone: \"net.\" static\n"
    "  local-zone: \"example.\" static\n"
    "  local-zone: \"test.\" static\n"
    "  local-zone: \"tempfail.example.\" refuse\n"
    "  local-zone: \"_dmarc.flaky.example.\" refuse\n"
    /* example.com: p=reject, relaxed; a record the deep walk skips */
    "  local-data: 'example.com. A 192.0.2.1'\n"
    "  local-data: 'mail.example.com. A 192.0.2.2'\n"
    "  local-data: '_dmarc.example.com. TXT \"v=DMARC1; p=reject; "
    "rua=mailto:dmarc@example.com\"'\n"
    "  local-data: '_dmarc.b.c.d.e.f.g.example.com. TXT \"v=DMARC1; "
    "p=none; psd=n\"'\n"
    /* example.org: strict alignment */
    "  local-data: 'example.org. A 192.0.2.3'\n"
    "  local-data: 'sub.example.org. A 192.0.2.4'\n"
    "  local-data: '_dmarc.example.org. TXT \"v=DMARC1; p=quarantine; "
    "adkim=s; aspf=s\"'\n"
    /* example.net: p, sp and np all different */
    "  local-data: 'example.net. A 192.0.2.5'\n"
    "  local-data: 'sub.example.net. A 192.0.2.6'\n"
    "  local-data: 'mxonly.example.net. MX 10 mail.example.com.'\n"
    "  local-data: '_dmarc.example.net. TXT \"v=DMARC1; p=none; "
    "sp=quarantine; np=reject\"'\n"
    /* a Public Suffix Operator (RFC 9989 B.4.3) */
    "  local-data: '_dmarc.bank.example. TXT \"v=DMARC1; p=reject; "
    "sp=quarantine; np=reject; psd=y\"'\n"
    "  local-data: 'giant.bank.example. A 192.0.2.7'\n"
    "  local-data: 'mail.giant.bank.example. A 192.0.2.8'\n"
    "  local-data: 'mega.bank.example. A 192.0.2.9'\n"
    "  local-data: 'mail.mega.bank.example. A 192.0.2.10'\n"
    "  local-data: '_dmarc.giant.bank.example. TXT \"v=DMARC1; "
    "p=quarantine\"'\n"
    /* psd=n below an organisation's own record */
    "  local-data: '_dmarc.psdn.example. TXT \"v=DMARC1; p=none\"'\n"
    "  local-data: '_dmarc.dept.psdn.example. TXT \"v=DMARC1; "
    "p=reject; psd=n\"'\n"
    /* each p=, t=, legacy pct= */
    "  local-data: '_dmarc.none.example. TXT \"v=DMARC1; p=none\"'\n"
    "  local-data: '_dmarc.quarantine.example. TXT \"v=DMARC1; "
    "p=quarantine\"'\n"
    "  local-data: '_dmarc.reject.example. TXT \"v=DMARC1; "
    "p=reject\"'\n"
    "  local-data: '_dmarc.t-reject.example. TXT \"v=DMARC1; p=reject; "
    "t=y\"'\n"
    "  local-data: '_dmarc.t-quarantine.example. TXT \"v=DMARC1; "
    "p=quarantine; t=y\"'\n"
    "  local-data: '_dmarc.pct0.example. TXT \"v=DMARC1; p=reject; "
    "pct=0\"'\n"
    "  local-data: '_dmarc.pct50.example. TXT \"v=DMARC1; p=reject; "
    "pct=50\"'\n"
    "  local-data: '_dmarc.pct100.example. TXT \"v=DMARC1; p=reject; "
    "pct=100\"'\n"
    "  local-data: '_dmarc.tn-pct0.example. TXT \"v=DMARC1; p=reject; "
    "t=n; pct=0\"'\n"
    /* no record, several records, odd records */
    "  local-data: 'norecord.example. A 192.0.2.11'\n"
    "  local-data: '_dmarc.multi.example. TXT \"v=DMARC1; "
    "p=reject\"'\n"
    "  local-data: '_dmarc.multi.example. TXT \"v=DMARC1; p=none\"'\n"
    "  local-data: 'sub.multi2.example. A 192.0.2.12'\n"
    "  local-data: '_dmarc.sub.multi2.example. TXT \"v=DMARC1; "
    "p=reject\"'\n"
    "  local-data: '_dmarc.sub.multi2.example. TXT \"v=DMARC1; "
    "p=none\"'\n"
    "  local-data: '_dmarc.multi2.example. TXT \"v=DMARC1; "
    "p=quarantine\"'\n"
    "  local-data: '_dmarc.mixed.example. TXT \"v=spf1 -all\"'\n"
    "  local-data: '_dmarc.mixed.example. TXT \"v=DMARC1; "
    "p=reject\"'\n"
    "  local-data: '_dmarc.split.example. TXT \"v=DMARC1; \" "
    "\"p=reject\"'\n"
    "  local-data: '_dmarc.badp.example. TXT \"v=DMARC1; "
    "p=rejectt\"'\n"
    "  local-data: '_dmarc.badp-rua.example. TXT \"v=DMARC1; p=bogus; "
    "rua=mailto:d@badp-rua.example\"'\n"
    "  local-data: '_dmarc.nop.example. TXT \"v=DMARC1; "
    "rua=mailto:x@nop.example\"'\n"
    "  local-data: '_dmarc.nop2.example. TXT \"v=DMARC1\"'\n"
    "  local-data: '_dmarc.badsp.example. TXT \"v=DMARC1; p=reject; "
    "sp=maybe\"'\n"
    "  local-data: '_dmarc.badnp.example. TXT \"v=DMARC1; p=reject; "
    "np=bogus\"'\n"
    "  local-data: '_dmarc.notfirst.example. TXT \"p=reject; "
    "v=DMARC1\"'\n"
    "  local-data: '_dmarc.garbage.example. TXT \"v=DMARC1; p=reject; "
    "adkim=x; foo=bar; ;;junk; aspf\"'\n"
    "  local-data: '_dmarc.case.example. TXT \"V=DMARC1; "
    "P=Reject\"'\n"
    "  local-data: '_dmarc.v10.example. TXT \"v=DMARC10; "
    "p=reject\"'\n"
    "  local-data: '_dmarc.dup.example. TXT \"v=DMARC1; p=none; "
    "p=reject\"'\n"
    "  local-data: '_dmarc.xn--bcher-kva.example. TXT \"v=DMARC1; "
    "p=reject\"'\n"
    /* DNS trouble above a record */
    "  local-data: 'sub.flaky.example. A 192.0.2.13'\n"
    "  local-data: 'ok.flaky.example. A 192.0.2.14'\n"
    "  local-data: '_dmarc.ok.flaky.example. TXT \"v=DMARC1; "
    "p=reject\"'\n"
    /* .test, for the header-injection case */
    "  local-data: 'evil.test. A 192.0.2.15'\n"
    "  local-data: '_dmarc.evil.test. TXT \"v=DMARC1; p=none\"'\n";

/* the RFC 7489 test list: which names are public suffixes */
static const char psl_test[] = "// test list for test_dmarc.c\n"
			       "com\norg\nnet\nexample\nbank.example\ntest\n";

struct fixture {
	char *conf_path, *psl_path;
	struct config *cfg;
	struct dns_resolver *res;
	struct dmarc_ctx *rfc9989, *rfc7489, *rfc7489_debian;
};

/* setup - one resolver on the local data, one context per mode */
static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	if (f == NULL)
		return -1;
	*state = f;
	f->conf_path = testutil_write_temp(dns_conf);
	f->psl_path = testutil_write_temp(psl_test);
	if (f->conf_path == NULL || f->psl_path == NULL)
		return -1;
	f->cfg = testutil_hermetic_config(f->conf_path);
	if (f->cfg == NULL)
		return -1;
	f->cfg->resolver_timeout = 2; /* a case that escapes fails fast */
	f->res = dns_resolver_new(f->cfg, err, sizeof(err));
	if (f->res == NULL) {
		fprintf(stderr, "resolver: %s\n", err);
		return -1;
	}
	f->cfg->dmarc_standard = DMARC_RFC9989;
	f->rfc9989 = dmarc_ctx_new(f->cfg, err, sizeof(err));
	f->cfg->dmarc_standard = DMARC_RFC7489;
	free(f->cfg->public_suffix_list);
	f->cfg->public_suffix_list = NULL; /* the default: Debian's list */
	f->rfc7489_debian = dmarc_ctx_new(f->cfg, err, sizeof(err));
	f->cfg->public_suffix_list = strdup(f->psl_path);
	f->rfc7489 = dmarc_ctx_new(f->cfg, err, sizeof(err));
	if (f->rfc9989 == NULL || f->rfc7489 == NULL ||
	    f->rfc7489_debian == NULL) {
		fprintf(stderr, "dmarc_ctx_new: %s\n", err);
		return -1;
	}
	return 0;
}

/* teardown - free the fixture */
static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f == NULL)
		return 0;
	dmarc_ctx_free(f->rfc9989);
	dmarc_ctx_free(f->rfc7489);
	dmarc_ctx_free(f->rfc7489_debian);
	dns_resolver_free(f->res);
	config_free(f->cfg);
	unlink(f->conf_path);
	unlink(f->psl_path);
	free(f->conf_path);
	free(f->psl_path);
	free(f);
	return 0;
}

struct expect {
	enum ar_result res;
	const char *policy, *sub, *dis;
	bool testing;
	const char *pdom, *org;
	bool spf_al, dkim_al;
};

struct dm_case {
	const char *name;
	const char *from, *from2; /* From values; from NULL: no From */
	const char *fromdom;      /* expected header.from */
	const char *spf;          /* MAIL FROM domain with SPF pass */
	const char *spf_fail;     /* MAIL FROM domain with SPF fail */
	const char *dkim;         /* d= of a passing signature */
	const char *dkim_bad;     /* d= of a failing signature */
	struct expect e9989, e7489;
};

#define X(r, p, sp, dis, t, pdom, org, sa, da)                                 \
	{                                                                      \
		RES_##r, p, sp, dis, t, pdom, org, sa, da                      \
	}
#define BOTH(...) .e9989 = X(__VA_ARGS__), .e7489 = X(__VA_ARGS__)
#define F         false
#define T         true

static const struct dm_case cases[] = {
    /* SPF and DKIM alignment, relaxed (the default) */
    {"spf aligned", "u@example.com", .fromdom = "example.com",
     .spf = "example.com",
     BOTH(PASS, "reject", "reject", "none", F, "example.com", "example.com", T,
	  F)},
    {"spf relaxed", "u@example.com", .fromdom = "example.com",
     .spf = "bounce.example.com",
     BOTH(PASS, "reject", "reject", "none", F, "example.com", "example.com", T,
	  F)},
    {"spf unaligned", "u@example.com", .fromdom = "example.com",
     .spf = "example.net",
     BOTH(FAIL, "reject", "reject", "reject", F, "example.com", "example.com",
	  F, F)},
    {"spf fail never aligns", "u@example.com", .fromdom = "example.com",
     .spf_fail = "example.com",
     BOTH(FAIL, "reject", "reject", "reject", F, "example.com", "example.com",
	  F, F)},
    {"dkim aligned", "u@example.com", .fromdom = "example.com",
     .dkim = "example.com",
     BOTH(PASS, "reject", "reject", "none", F, "example.com", "example.com", F,
	  T)},
    {"dkim relaxed", "u@example.com", .fromdom = "example.com",
     .dkim = "mail.example.com",
     BOTH(PASS, "reject", "reject", "none", F, "example.com", "example.com", F,
	  T)},
    {"dkim failed sig, unaligned pass", "u@example.com",
     .fromdom = "example.com", .dkim = "example.net", .dkim_bad = "example.com",
     BOTH(FAIL, "reject", "reject", "reject", F, "example.com", "example.com",
	  F, F)},
    {"dkim d= case and final dot", "u@example.com", .fromdom = "example.com",
     .dkim = "EXAMPLE.COM.",
     BOTH(PASS, "reject", "reject", "none", F, "example.com", "example.com", F,
	  T)},
    {"nothing authenticated", "John <u@Example.COM>", .fromdom = "example.com",
     BOTH(FAIL, "reject", "reject", "reject", F, "example.com", "example.com",
	  F, F)},
    {"several mailboxes, one domain", "a@example.com, b@example.com",
     .fromdom = "example.com", .dkim = "example.com",
     BOTH(PASS, "reject", "reject", "none", F, "example.com", "example.com", F,
	  T)},
    /* strict alignment: adkim=s aspf=s */
    {"strict dkim subdomain", "u@example.org", .fromdom = "example.org",
     .dkim = "mail.example.org",
     BOTH(FAIL, "quarantine", "quarantine", "quarantine", F, "example.org",
	  "example.org", F, F)},
    {"strict spf subdomain", "u@example.org", .fromdom = "example.org",
     .spf = "bounce.example.org",
     BOTH(FAIL, "quarantine", "quarantine", "quarantine", F, "example.org",
	  "example.org", F, F)},
    {"strict exact", "u@example.org", .fromdom = "example.org",
     .dkim = "example.org", .spf = "example.org",
     BOTH(PASS, "quarantine", "quarantine", "none", F, "example.org",
	  "example.org", T, T)},
    {"strict sub-domain sender", "u@sub.example.org",
     .fromdom = "sub.example.org", .dkim = "sub.example.org",
     BOTH(PASS, "quarantine", "quarantine", "none", F, "example.org",
	  "example.org", F, T)},
    /* sub-domain sender under the org domain's policy; sp= and np= */
    {"sub-domain sender, org policy", "u@mail.example.com",
     .fromdom = "mail.example.com", .dkim = "example.com",
     BOTH(PASS, "reject", "reject", "none", F, "example.com", "example.com", F,
	  T)},
    {"p= for the org domain itself", "u@example.net", .fromdom = "example.net",
     BOTH(FAIL, "none", "quarantine", "none", F, "example.net", "example.net",
	  F, F)},
    {"sp= for an existing sub-domain", "u@sub.example.net",
     .fromdom = "sub.example.net",
     BOTH(FAIL, "quarantine", "quarantine", "quarantine", F, "example.net",
	  "example.net", F, F)},
    {"np= for a non-existent sub-domain", "u@ghost.example.net",
     .fromdom = "ghost.example.net",
     .e9989 = X(FAIL, "reject", "quarantine", "reject", F, "example.net",
		"example.net", F, F),
     .e7489 = X(FAIL, "quarantine", "quarantine", "quarantine", F,
		"example.net", "example.net", F, F)},
    {"a name with only MX exists", "u@mxonly.example.net",
     .fromdom = "mxonly.example.net",
     BOTH(FAIL, "quarantine", "quarantine", "quarantine", F, "example.net",
	  "example.net", F, F)},
    /* psd=y at a Public Suffix Operator (RFC 9989 B.4.3) */
    {"psd: spf of a sub-domain", "u@giant.bank.example",
     .fromdom = "giant.bank.example", .spf = "mail.giant.bank.example",
     BOTH(PASS, "quarantine", "quarantine", "none", F, "giant.bank.example",
	  "giant.bank.example", T, F)},
    {"psd: dkim of another organisation", "u@giant.bank.example",
     .fromdom = "giant.bank.example", .dkim = "mail.mega.bank.example",
     BOTH(FAIL, "quarantine", "quarantine", "quarantine", F,
	  "giant.bank.example", "giant.bank.example", F, F)},
    {"psd: existing name, PSD policy", "u@mega.bank.example",
     .fromdom = "mega.bank.example",
     .e9989 = X(FAIL, "quarantine", "quarantine", "quarantine", F,
		"bank.example", "mega.bank.example", F, F),
     .e7489 = X(NONE, "", "", "", F, "", "mega.bank.example", F, F)},
    {"psd: non-existent name, np=", "u@nx.bank.example",
     .fromdom = "nx.bank.example",
     .e9989 = X(FAIL, "reject", "quarantine", "reject", F, "bank.example",
		"nx.bank.example", F, F),
     .e7489 = X(NONE, "", "", "", F, "", "nx.bank.example", F, F)},
    {"psd: org domain one label below", "u@mega.bank.example",
     .fromdom = "mega.bank.example", .dkim = "mail.mega.bank.example",
     .e9989 = X(PASS, "quarantine", "quarantine", "none", F, "bank.example",
		"mega.bank.example", F, T),
     .e7489 = X(NONE, "", "", "", F, "", "mega.bank.example", F, F)},
    {"psd=n makes its own org domain", "u@x.dept.psdn.example",
     .fromdom = "x.dept.psdn.example", .dkim = "other.psdn.example",
     .e9989 = X(FAIL, "reject", "reject", "reject", F, "dept.psdn.example",
		"dept.psdn.example", F, F),
     .e7489 = X(PASS, "none", "none", "none", F, "psdn.example", "psdn.example",
		F, T)},
    /* each p=, t=y, legacy pct= */
    {"p=none", "u@none.example", .fromdom = "none.example",
     BOTH(FAIL, "none", "none", "none", F, "none.example", "none.example", F,
	  F)},
    {"p=quarantine", "u@quarantine.example", .fromdom = "quarantine.example",
     BOTH(FAIL, "quarantine", "quarantine", "quarantine", F,
	  "quarantine.example", "quarantine.example", F, F)},
    {"p=reject", "u@reject.example", .fromdom = "reject.example",
     BOTH(FAIL, "reject", "reject", "reject", F, "reject.example",
	  "reject.example", F, F)},
    {"t=y reject", "u@t-reject.example", .fromdom = "t-reject.example",
     .e9989 = X(FAIL, "reject", "reject", "quarantine", T, "t-reject.example",
		"t-reject.example", F, F),
     .e7489 = X(FAIL, "reject", "reject", "reject", F, "t-reject.example",
		"t-reject.example", F, F)},
    {"t=y quarantine", "u@t-quarantine.example",
     .fromdom = "t-quarantine.example",
     .e9989 = X(FAIL, "quarantine", "quarantine", "none", T,
		"t-quarantine.example", "t-quarantine.example", F, F),
     .e7489 = X(FAIL, "quarantine", "quarantine", "quarantine", F,
		"t-quarantine.example", "t-quarantine.example", F, F)},
    {"t=y pass", "u@t-reject.example", .fromdom = "t-reject.example",
     .dkim = "t-reject.example",
     .e9989 = X(PASS, "reject", "reject", "none", T, "t-reject.example",
		"t-reject.example", F, T),
     .e7489 = X(PASS, "reject", "reject", "none", F, "t-reject.example",
		"t-reject.example", F, T)},
    {"pct=0", "u@pct0.example", .fromdom = "pct0.example",
     BOTH(FAIL, "reject", "reject", "quarantine", T, "pct0.example",
	  "pct0.example", F, F)},
    {"pct=50", "u@pct50.example", .fromdom = "pct50.example",
     BOTH(FAIL, "reject", "reject", "quarantine", T, "pct50.example",
	  "pct50.example", F, F)},
    {"pct=100", "u@pct100.example", .fromdom = "pct100.example",
     BOTH(FAIL, "reject", "reject", "reject", F, "pct100.example",
	  "pct100.example", F, F)},
    {"t=n wins over pct=0", "u@tn-pct0.example", .fromdom = "tn-pct0.example",
     .e9989 = X(FAIL, "reject", "reject", "reject", F, "tn-pct0.example",
		"tn-pct0.example", F, F),
     .e7489 = X(FAIL, "reject", "reject", "quarantine", T, "tn-pct0.example",
		"tn-pct0.example", F, F)},
    /* the tree walk across more than five labels */
    {"deep walk", "u@a.b.c.d.e.f.g.example.com",
     .fromdom = "a.b.c.d.e.f.g.example.com",
     BOTH(FAIL, "reject", "reject", "reject", F, "example.com", "example.com",
	  F, F)},
    {"deep walk, aligned", "u@a.b.c.d.e.f.g.example.com",
     .fromdom = "a.b.c.d.e.f.g.example.com", .dkim = "example.com",
     BOTH(PASS, "reject", "reject", "none", F, "example.com", "example.com", F,
	  T)},
    /* no record, several records, odd records */
    {"no record", "u@norecord.example", .fromdom = "norecord.example",
     .dkim = "norecord.example",
     BOTH(NONE, "", "", "", F, "", "norecord.example", F, F)},
    {"two records at the author domain", "u@multi.example",
     .fromdom = "multi.example",
     BOTH(NONE, "", "", "", F, "", "multi.example", F, F)},
    {"two records, parent has one", "u@sub.multi2.example",
     .fromdom = "sub.multi2.example",
     .e9989 = X(FAIL, "quarantine", "quarantine", "quarantine", F,
		"multi2.example", "multi2.example", F, F),
     .e7489 = X(NONE, "", "", "", F, "", "multi2.example", F, F)},
    {"a non-DMARC TXT beside the record", "u@mixed.example",
     .fromdom = "mixed.example",
     BOTH(FAIL, "reject", "reject", "reject", F, "mixed.example",
	  "mixed.example", F, F)},
    {"record in two strings", "u@split.example", .fromdom = "split.example",
     BOTH(FAIL, "reject", "reject", "reject", F, "split.example",
	  "split.example", F, F)},
    {"bad p=, no rua", "u@badp.example", .fromdom = "badp.example",
     BOTH(PERMERROR, "", "", "", F, "badp.example", "badp.example", F, F)},
    {"bad p= with rua: p=none", "u@badp-rua.example",
     .fromdom = "badp-rua.example",
     BOTH(FAIL, "none", "none", "none", F, "badp-rua.example",
	  "badp-rua.example", F, F)},
    {"no p= with rua", "u@nop.example", .fromdom = "nop.example",
     BOTH(FAIL, "none", "none", "none", F, "nop.example", "nop.example", F, F)},
    {"no p=, no rua", "u@nop2.example", .fromdom = "nop2.example",
     .e9989 = X(FAIL, "none", "none", "none", F, "nop2.example", "nop2.example",
		F, F),
     .e7489 =
	 X(PERMERROR, "", "", "", F, "nop2.example", "nop2.example", F, F)},
    {"bad sp=", "u@badsp.example", .fromdom = "badsp.example",
     BOTH(PERMERROR, "", "", "", F, "badsp.example", "badsp.example", F, F)},
    {"bad np=", "u@badnp.example", .fromdom = "badnp.example",
     .e9989 =
	 X(PERMERROR, "", "", "", F, "badnp.example", "badnp.example", F, F),
     .e7489 = X(FAIL, "reject", "reject", "reject", F, "badnp.example",
		"badnp.example", F, F)},
    {"p= given twice", "u@dup.example", .fromdom = "dup.example",
     BOTH(PERMERROR, "", "", "", F, "dup.example", "dup.example", F, F)},
    {"v= not first", "u@notfirst.example", .fromdom = "notfirst.example",
     BOTH(NONE, "", "", "", F, "", "notfirst.example", F, F)},
    {"v=DMARC10 is not DMARC1", "u@v10.example", .fromdom = "v10.example",
     BOTH(NONE, "", "", "", F, "", "v10.example", F, F)},
    {"junk and unknown tags ignored", "u@garbage.example",
     .fromdom = "garbage.example", .dkim = "mail.garbage.example",
     BOTH(PASS, "reject", "reject", "none", F, "garbage.example",
	  "garbage.example", F, T)},
    /* tag names: case-sensitive in RFC 9989 (DKIM tag-list), so P= is
     * unknown and p is absent (p=none); RFC 7489's ABNF strings are not */
    {"tag names and values in upper case", "u@case.example",
     .fromdom = "case.example",
     .e9989 = X(FAIL, "none", "none", "none", F, "case.example",
		"case.example", F, F),
     .e7489 = X(FAIL, "reject", "reject", "reject", F, "case.example",
		"case.example", F, F)},
    {"IDN From domain",
     "u@b\xc3\xbc"
     "cher.example",
     .fromdom = "xn--bcher-kva.example",
     BOTH(FAIL, "reject", "reject", "reject", F, "xn--bcher-kva.example",
	  "xn--bcher-kva.example", F, F)},
    /* DNS trouble */
    {"temp failure at the author domain", "u@tempfail.example",
     .fromdom = "tempfail.example",
     .e9989 = X(TEMPERROR, "", "", "", F, "", "", F, F),
     .e7489 = X(TEMPERROR, "", "", "", F, "", "tempfail.example", F, F)},
    {"temp failure higher up the walk", "u@sub.flaky.example",
     .fromdom = "sub.flaky.example",
     .e9989 = X(TEMPERROR, "", "", "", F, "", "", F, F),
     .e7489 = X(TEMPERROR, "", "", "", F, "", "flaky.example", F, F)},
    {"temp failure finding the org domain", "u@ok.flaky.example",
     .fromdom = "ok.flaky.example", .dkim = "mail.ok.flaky.example",
     .e9989 =
	 X(TEMPERROR, "reject", "reject", "", F, "ok.flaky.example", "", F, F),
     .e7489 = X(PASS, "reject", "reject", "none", F, "ok.flaky.example",
		"flaky.example", F, T)},
    {"exact alignment needs no org domain", "u@ok.flaky.example",
     .fromdom = "ok.flaky.example", .spf = "ok.flaky.example",
     .e9989 =
	 X(PASS, "reject", "reject", "none", F, "ok.flaky.example", "", T, F),
     .e7489 = X(PASS, "reject", "reject", "none", F, "ok.flaky.example",
		"flaky.example", T, F)},
    /* missing, multiple and hostile From */
    {"a .test domain", "u@evil.test", .fromdom = "evil.test",
     BOTH(FAIL, "none", "none", "none", F, "evil.test", "evil.test", F, F)},
    {"header injection", "evil.test; dmarc=pass", .fromdom = "",
     .dkim = "evil.test", BOTH(PERMERROR, "", "", "", F, "", "", F, F)},
    {"header injection after an address", "u@evil.test; dmarc=pass",
     .fromdom = "", .dkim = "evil.test",
     BOTH(PERMERROR, "", "", "", F, "", "", F, F)},
    {"no From", NULL, .fromdom = "", .dkim = "example.com",
     BOTH(NONE, "", "", "", F, "", "", F, F)},
    {"two From fields", "u@example.com", "u@example.com", .fromdom = "",
     .dkim = "example.com", BOTH(PERMERROR, "", "", "", F, "", "", F, F)},
    /* each author domain counts, the strictest failing policy wins
     * (RFC 7489 6.6.1, RFC 9989 11.5): example.com passes by DKIM,
     * example.org (p=quarantine) fails */
    {"From in two domains", "u@example.com, v@example.org",
     .fromdom = "example.org", .dkim = "example.com",
     BOTH(FAIL, "quarantine", "quarantine", "quarantine", F, "example.org",
	  "example.org", F, F)},
};

/* run_case - evaluate one case with one context */
static void
run_case(const struct fixture *f, const struct dmarc_ctx *ctx,
	 const struct dm_case *c, struct dmarc_outcome *out, unsigned *queries)
{
	struct dns_cache *dns = dns_cache_new(f->res);
	const char *from[2] = {c->from, c->from2};
	size_t nfrom = c->from == NULL ? 0 : c->from2 == NULL ? 1 : 2;
	struct spf_outcome spf = {0};
	struct dkim_outcome sigs[2];
	size_t nsigs = 0;

	assert_non_null(dns);
	memset(sigs, 0, sizeof(sigs));
	if (c->spf != NULL || c->spf_fail != NULL) {
		spf.checked = true;
		spf.result = c->spf != NULL ? RES_PASS : RES_FAIL;
		snprintf(spf.domain, sizeof(spf.domain), "%s",
			 c->spf != NULL ? c->spf : c->spf_fail);
	}
	if (c->dkim_bad != NULL) {
		sigs[nsigs].result = RES_FAIL;
		snprintf(sigs[nsigs++].domain, sizeof(sigs[0].domain), "%s",
			 c->dkim_bad);
	}
	if (c->dkim != NULL) {
		sigs[nsigs].result = RES_PASS;
		snprintf(sigs[nsigs++].domain, sizeof(sigs[0].domain), "%s",
			 c->dkim);
	}
	dmarc_evaluate(ctx, dns, from, nfrom, &spf, sigs, nsigs, out);
	if (queries != NULL)
		*queries = dns_cache_queries(dns);
	dns_cache_free(dns);
}

/* check - one outcome against one expectation; false and a message if
 * they differ */
static bool
check(const char *mode, const struct dm_case *c, const struct expect *e,
      const struct dmarc_outcome *o)
{
	if (o->checked && o->result == e->res &&
	    strcmp(o->from_domain, c->fromdom) == 0 &&
	    strcmp(o->policy, e->policy) == 0 &&
	    strcmp(o->subpolicy, e->sub) == 0 &&
	    strcmp(o->disposition, e->dis) == 0 && o->testing == e->testing &&
	    strcmp(o->policy_domain, e->pdom) == 0 &&
	    strcmp(o->org_domain, e->org) == 0 && o->spf_aligned == e->spf_al &&
	    o->dkim_aligned == e->dkim_al &&
	    (o->result == RES_PASS || o->reason[0] != '\0'))
		return true;
	fprintf(stderr,
		"%s [%s]: got %s from=%s p=%s sp=%s dis=%s t=%d pdom=%s "
		"org=%s spf=%d dkim=%d (%s)\n"
		"  want %s from=%s p=%s sp=%s dis=%s t=%d pdom=%s org=%s "
		"spf=%d dkim=%d\n",
		c->name, mode, result_name(o->result), o->from_domain,
		o->policy, o->subpolicy, o->disposition, o->testing,
		o->policy_domain, o->org_domain, o->spf_aligned,
		o->dkim_aligned, o->reason, result_name(e->res), c->fromdom,
		e->policy, e->sub, e->dis, e->testing, e->pdom, e->org,
		e->spf_al, e->dkim_al);
	return false;
}

/* test_matrix - every case in both modes */
static void
test_matrix(void **state)
{
	const struct fixture *f = *state;
	unsigned bad = 0, n = sizeof(cases) / sizeof(cases[0]);

	for (unsigned i = 0; i < n; i++) {
		struct dmarc_outcome out;

		run_case(f, f->rfc9989, &cases[i], &out, NULL);
		bad += !check("rfc9989", &cases[i], &cases[i].e9989, &out);
		run_case(f, f->rfc7489, &cases[i], &out, NULL);
		bad += !check("rfc7489", &cases[i], &cases[i].e7489, &out);
	}
	printf("DMARC matrix: %u cases x 2 modes, %u mismatches\n", n, bad);
	assert_int_equal(bad, 0);
}

/* find_case - a matrix case by name */
static const struct dm_case *
find_case(const char *name)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(cases[i].name, name) == 0)
			return &cases[i];
	fail_msg("no case %s", name);
	return NULL;
}

/*
 * test_walk_queries - the deep walk asks exactly RFC 9989 4.10's eight
 * names (the record at the skipped b.c.d.e.f.g.example.com, psd=n and
 * p=none, is never seen, as in section 5.1.8); RFC 7489 asks two
 */
static void
test_walk_queries(void **state)
{
	const struct fixture *f = *state;
	const struct dm_case *c = find_case("deep walk");
	struct dmarc_outcome out;
	unsigned q;

	run_case(f, f->rfc9989, c, &out, &q);
	assert_int_equal(q, 8);
	assert_string_equal(out.policy, "reject");
	run_case(f, f->rfc7489, c, &out, &q);
	assert_int_equal(q, 2);
}

/* test_header_injection - no domain with ";" or space can come out */
static void
test_header_injection(void **state)
{
	const struct fixture *f = *state;
	static const char *const hostile[] = {
	    "evil.test; dmarc=pass",
	    "u@evil.test; dmarc=pass",
	    "u@evil.test;dmarc=pass",
	    "u@evil.test dmarc=pass",
	    "\"u@evil.test; dmarc=pass\" <u@evil.test>",
	    "u@(dmarc=pass;)evil.test",
	    "u@evil.test\r\n dmarc=pass",
	};

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct dm_case c = {.name = hostile[i], .from = hostile[i]};
		struct dmarc_outcome out;

		run_case(f, f->rfc9989, &c, &out, NULL);
		assert_null(strpbrk(out.from_domain, "; \t\r\n=()\"<>"));
		assert_true(out.result != RES_PASS);
		assert_true(out.from_domain[0] == '\0' ||
			    strcmp(out.from_domain, "evil.test") == 0);
	}
}

/*
 * test_debian_psl - RFC 7489 mode with Debian's list: bank.example is
 * not listed there, so bank.example is every name's org domain and the
 * mega.bank.example signature aligns; .com names work as with ours
 */
static void
test_debian_psl(void **state)
{
	const struct fixture *f = *state;
	struct dm_case c = {.name = "debian",
			    .from = "u@giant.bank.example",
			    .dkim = "mail.mega.bank.example"};
	struct dmarc_outcome out;

	run_case(f, f->rfc7489_debian, &c, &out, NULL);
	assert_int_equal(out.result, RES_PASS);
	assert_string_equal(out.org_domain, "bank.example");
	assert_string_equal(out.policy_domain, "giant.bank.example");
	c.from = "u@mail.example.com";
	c.dkim = "example.com";
	run_case(f, f->rfc7489_debian, &c, &out, NULL);
	assert_int_equal(out.result, RES_PASS);
	assert_string_equal(out.org_domain, "example.com");
	assert_string_equal(out.policy_domain, "example.com");
	assert_string_equal(out.policy, "reject");
}

/* parse - dmarc_record_parse on a C string */
static bool
parse(const char *txt, bool rfc7489, struct dmarc_record *r)
{
	return dmarc_record_parse(txt, strlen(txt), rfc7489, r);
}

/* test_record_parse - the grammar and error rules of 4.7/4.8 */
static void
test_record_parse(void **state)
{
	static const char nul[] = "v=DMARC1; p=re\0ject; sp=none";
	struct dmarc_record r;

	(void)state;
	assert_true(parse("v=DMARC1; p=reject; sp=none; np=quarantine; "
			  "adkim=s; aspf=s; psd=y; t=y; pct=20; "
			  "rua=mailto:a@example.com",
			  false, &r));
	assert_int_equal(r.p, DMARC_POL_REJECT);
	assert_int_equal(r.sp, DMARC_POL_NONE);
	assert_int_equal(r.np, DMARC_POL_QUARANTINE);
	assert_int_equal(r.adkim, 's');
	assert_int_equal(r.aspf, 's');
	assert_int_equal(r.psd, 'y');
	assert_int_equal(r.t, 'y');
	assert_int_equal(r.pct, 20);
	assert_true(r.rua_valid);

	/* RFC 7489 mode: np, psd and t are unknown tags */
	assert_true(parse("v=DMARC1;p=none;np=reject;psd=y;t=y", true, &r));
	assert_int_equal(r.np, DMARC_POL_UNSET);
	assert_int_equal(r.psd, 'u');
	assert_int_equal(r.t, 0);

	/* defaults, WSP around "=" and ";", a trailing ";" */
	assert_true(parse("v = DMARC1 ;  p = quarantine ;", false, &r));
	assert_int_equal(r.p, DMARC_POL_QUARANTINE);
	assert_int_equal(r.adkim, 'r');
	assert_int_equal(r.aspf, 'r');
	assert_int_equal(r.psd, 'u');
	assert_int_equal(r.pct, -1);
	assert_false(r.rua_valid);

	/* bad optional values fall back to defaults; bad policies stay bad */
	assert_true(parse("v=DMARC1; p=; adkim=strict; pct=101; t=1; "
			  "psd=maybe",
			  false, &r));
	assert_int_equal(r.p, DMARC_POL_INVALID);
	assert_int_equal(r.adkim, 'r');
	assert_int_equal(r.pct, -1);
	assert_int_equal(r.t, 0);
	assert_int_equal(r.psd, 'u');

	/* rua: one good URI among bad ones is enough; the obsolete size
	 * suffix is allowed */
	assert_true(
	    parse("v=DMARC1; rua=bad, mailto:x@example.com!10m", false, &r));
	assert_true(r.rua_valid);
	assert_true(parse("v=DMARC1; rua=nocolon, :x, mailto:%zz", false, &r));
	assert_false(r.rua_valid);

	/* tag names: exact in RFC 9989 mode (a DKIM tag-list), any case
	 * in RFC 7489 mode (ABNF strings); keywords any case in both */
	assert_true(parse("v=DMARC1; P=reject; SP=none; ADKIM=s; Pct=0",
			  false, &r));
	assert_int_equal(r.p, DMARC_POL_UNSET);
	assert_int_equal(r.sp, DMARC_POL_UNSET);
	assert_int_equal(r.adkim, 'r');
	assert_int_equal(r.pct, -1);
	assert_true(parse("v=DMARC1; P=reject; SP=none; ADKIM=s; Pct=0",
			  true, &r));
	assert_int_equal(r.p, DMARC_POL_REJECT);
	assert_int_equal(r.sp, DMARC_POL_NONE);
	assert_int_equal(r.adkim, 's');
	assert_int_equal(r.pct, 0);
	assert_true(parse("v=DMARC1; p=REJECT; adkim=S", false, &r));
	assert_int_equal(r.p, DMARC_POL_REJECT);
	assert_int_equal(r.adkim, 's');

	/* not DMARC records at all */
	assert_false(parse("v=DMARC2; p=reject", false, &r));
	assert_false(parse("v=dmarc1; p=reject", false, &r));
	assert_false(parse("p=reject; v=DMARC1", false, &r));
	assert_false(parse("", false, &r));
	assert_false(parse("v=DMARC1x", false, &r));
	/* an embedded NUL or 8-bit octet spoils only that value */
	assert_true(dmarc_record_parse(nul, sizeof(nul) - 1, false, &r));
	assert_int_equal(r.p, DMARC_POL_INVALID);
	assert_int_equal(r.sp, DMARC_POL_NONE);
	assert_true(parse("v=DMARC1; p=r\xc3\xa9ject; sp=reject", false, &r));
	assert_int_equal(r.p, DMARC_POL_INVALID);
	assert_int_equal(r.sp, DMARC_POL_REJECT);
}

/* vector_field - the next quoted argument (or null) of a PSL line */
static const char *
vector_field(const char **p, char *buf, size_t len)
{
	const char *s = *p, *e = NULL;

	while (*s == ' ' || *s == ',' || *s == '(')
		s++;
	if (strncmp(s, "null", 4) == 0) {
		*p = s + 4;
		return NULL;
	}
	if (*s == '\'')
		e = strchr(s + 1, '\'');
	if (e == NULL || (size_t)(e - s) > len) {
		fail_msg("bad vector line near %s", s);
		return NULL;
	}
	memcpy(buf, s + 1, (size_t)(e - s - 1));
	buf[e - s - 1] = '\0';
	*p = e + 1;
	return buf;
}

/*
 * test_psl_vectors - the PSL project's checkPublicSuffix vectors on
 * Debian's list: expected registrable domain, or null where the input
 * is itself a suffix, empty, or starts with a dot
 */
static void
test_psl_vectors(void **state)
{
	char path[1024], line[1024], err[256];
	struct dmarc_psl *psl;
	unsigned total = 0, good = 0;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/data/psl/test_psl.txt",
		 testutil_srcdir());
	fp = fopen(path, "r");
	assert_non_null(fp);
	psl = dmarc_psl_load(DEBIAN_PSL, err, sizeof(err));
	if (psl == NULL) {
		fclose(fp);
		fail_msg("%s", err);
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char in[256], want[256], got[256];
		const char *p = line + strlen("checkPublicSuffix");
		const char *din, *dwant;
		int r;

		if (strncmp(line, "checkPublicSuffix(", 18) != 0)
			continue;
		din = vector_field(&p, in, sizeof(in));
		dwant = vector_field(&p, want, sizeof(want));
		total++;
		r = dmarc_psl_org_domain(psl, din, got, sizeof(got));
		if (dwant == NULL ? r != 0
				  : r == 0 && strcmp(got, dwant) == 0) {
			good++;
			continue;
		}
		fprintf(stderr, "PSL vector %s: got %s, want %s\n",
			din != NULL ? din : "null", r == 0 ? got : "null",
			dwant != NULL ? dwant : "null");
	}
	fclose(fp);
	printf("PSL vectors: %u of %u match (%zu rules loaded)\n", good, total,
	       dmarc_psl_rules(psl));
	dmarc_psl_free(psl);
	assert_true(total > 70);
	assert_int_equal(good, total);
}

/* test_ctx_errors - a missing list is an error; NULL inputs are safe */
static void
test_ctx_errors(void **state)
{
	struct config *cfg = config_new_defaults();
	struct dmarc_outcome out;
	char err[256] = "";

	(void)state;
	assert_non_null(cfg);
	cfg->dmarc_standard = DMARC_RFC7489;
	free(cfg->public_suffix_list);
	cfg->public_suffix_list = strdup("/nonexistent/psl.dat");
	assert_null(dmarc_ctx_new(cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/psl.dat"));
	/* RFC 9989 mode needs no list */
	cfg->dmarc_standard = DMARC_RFC9989;
	struct dmarc_ctx *ctx = dmarc_ctx_new(cfg, err, sizeof(err));
	assert_non_null(ctx);
	dmarc_evaluate(ctx, NULL, NULL, 0, NULL, NULL, 0, &out);
	assert_true(out.checked);
	assert_int_equal(out.result, RES_TEMPERROR);
	dmarc_ctx_free(ctx);
	dmarc_ctx_free(NULL);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_parse),
	    cmocka_unit_test(test_matrix),
	    cmocka_unit_test(test_walk_queries),
	    cmocka_unit_test(test_header_injection),
	    cmocka_unit_test(test_debian_psl),
	    cmocka_unit_test(test_psl_vectors),
	    cmocka_unit_test(test_ctx_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
