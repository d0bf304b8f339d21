/*
 * fuzz_userprefs.c - libFuzzer harness for lib/userprefs.c
 *
 * Input layout: one selector byte, a From header value up to the first
 * NUL (hostile: any sender writes it), an envelope sender up to the next
 * NUL, then the text of a user_prefs file (the rest, in a buffer of its
 * exact size) for userprefs_parse(), which has a from-text entry point,
 * so no file is needed. The From addresses found by
 * mailaddr_header_addrs() and the envelope sender are then matched by
 * userprefs_eval() against the lists, with SPF passing and one DKIM
 * signature passing for a domain the selector picks; every rule it
 * reports must be one of the four USER_IN_* names. The envelope sender
 * is also tried as a glob against the From value, for
 * userprefs_glob_match() with a pattern and subject both arbitrary.
 *
 * userprefs_path(), which reads the password database, lives in
 * userprefs_cache.c and is not linked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "mailaddr.h"
#include "score/userprefs.h"

#define FZ_MAX_ADDRS 8

/* fz_hit - a reported rule is one of the four userprefs.h names */
static int
fz_hit(void *arg, const char *rule, double score, const char *description)
{
	(void)arg, (void)score;
	if (description == NULL ||
	    (strcmp(rule, USERPREFS_WELCOMELIST) != 0 &&
	     strcmp(rule, USERPREFS_BLOCKLIST) != 0 &&
	     strcmp(rule, USERPREFS_DKIM_WELCOMELIST) != 0 &&
	     strcmp(rule, USERPREFS_SPF_WELCOMELIST) != 0))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sdids[] = {"esp.example", "vendor.example",
					    "mail.vendor.example", ""};
	struct fz_in in = {data, size};
	unsigned sel = fz_byte(&in);
	char *from = fz_str(&in), *env = fz_str(&in), *text;
	char addrs[FZ_MAX_ADDRS][RES_ADDRESS_MAX];
	const char *addrp[FZ_MAX_ADDRS];
	const char *const values[1] = {from};
	struct dkim_outcome dkim;
	struct auth_results res;
	struct userprefs_facts facts;
	struct userprefs *p;
	size_t naddrs;
	double d;

	naddrs =
	    mailaddr_header_addrs(values, 1, addrs, FZ_MAX_ADDRS, sel & 1);
	if (naddrs > FZ_MAX_ADDRS)
		abort();
	for (size_t i = 0; i < naddrs; i++) {
		if (strchr(addrs[i], '@') == NULL)
			abort();
		addrp[i] = addrs[i];
	}

	memset(&res, 0, sizeof res);
	memset(&dkim, 0, sizeof dkim);
	dkim.result = (sel & 2) ? RES_PASS : RES_FAIL;
	strcpy(dkim.domain, sdids[(sel >> 2) % 4]);
	if (sel & 16)
		strcpy(dkim.identity, "@mail.vendor.example");
	res.dkim = &dkim;
	res.ndkim = 1;
	res.spf_mailfrom.checked = true;
	res.spf_mailfrom.result = (sel & 32) ? RES_PASS : RES_SOFTFAIL;
	memset(&facts, 0, sizeof facts); /* no trace: not explain mode */
	facts.from_addrs = addrp;
	facts.nfrom = naddrs;
	facts.envelope_from = (sel & 64) ? NULL : env;
	facts.results = (sel & 128) ? NULL : &res;

	if ((text = malloc(in.n ? in.n : 1)) == NULL)
		abort();
	memcpy(text, in.p, in.n);
	if ((p = userprefs_parse(text, in.n)) == NULL)
		abort();
	(void)userprefs_required(p, &d);
	(void)userprefs_score(p, USERPREFS_WELCOMELIST, &d);
	(void)userprefs_eval(p, &facts, fz_hit, NULL);
	userprefs_free(p);
	free(text);

	(void)userprefs_glob_match(env, from);
	free(from);
	free(env);
	return 0;
}
