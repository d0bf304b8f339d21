/*
 * test_arc_suite.c - the ValiMail ARC test suite through lib/auth/arc.c
 *
 * Reads tests/data/arc/arc-draft-validation-tests.yml with libyaml. Each
 * YAML document is a scenario: its `txt-records` become hermetic DNS
 * (dkim_testlib.c), and each case's message is fed to arc_msg_* as the
 * milter feeds it (each header field, end of headers, the body). The
 * chain validation status must be the case's cv (Pass, Fail, None; an
 * empty cv is a chain whose newest seal says cv=fail, so Fail). Every
 * failure is printed with authtag's reason; the counts are printed.
 *
 * Then tests/data/arc/arc-draft-sign-tests.yml: each case's message is
 * validated the same way and sealed by lib/auth/arc_seal.c with the
 * scenario's key, the case's t= and h= list; the ARC-Authentication-
 * Results text is the message's Authentication-Results fields of the
 * case's srv-id, merged (the suite's rule for its signer). The new
 * ARC-Seal, ARC-Message-Signature and ARC-Authentication-Results must be
 * the expected ones once white space is removed (RSA signatures are
 * deterministic, so b= must match exactly); an empty expectation means
 * no set is added.
 * Usage: test_arc_suite [-v] [CASE...]  (-v: print passing cases too)
 */
#include "build.h" /* first: feature macros */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "auth/arc.h"
#include "auth/arc_seal.h"
#include "auth/dkim_sign.h"
#include "strbuf.h"
#include "dkim_testlib.h"
#include "dns/dns.h"
#include "result.h"
#include "testutil.h"

#define SUITE_CASES 175 /* validation cases in the copied suite file */
#define SIGN_CASES  17  /* signing cases */
#define SUITE_ZONES 16  /* distinct key domains a scenario may name */

struct run {
	int argc;
	char **argv;
	bool verbose;
	bool sign; /* running the signing file */
	unsigned passed, failed;
	unsigned sign_passed, sign_failed;
};

/* map_get - the value of key in a mapping node, or NULL */
static yaml_node_t *
map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pr;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(doc, pr->key);

		if (k->type == YAML_SCALAR_NODE &&
		    strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, pr->value);
	}
	return NULL;
}

/* scalar - a scalar node's text, or "" */
static const char *
scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE
		   ? (const char *)n->data.scalar.value
		   : "";
}

/* wanted - was this case named on the command line (or none named)? */
static bool
wanted(const struct run *run, const char *name)
{
	for (int i = 0; i < run->argc; i++)
		if (strcmp(run->argv[i], name) == 0)
			return true;
	return run->argc == 0;
}

/*
 * feed - split text (LF line ends) into header fields and body and give
 * them to msg (and sealer, when not NULL): a field runs to the next line
 * that does not start with white space; the body starts after the first
 * empty line
 */
static void
feed(struct arc_msg *msg, struct arc_sealer *sealer, const char *text)
{
	const char *p = text;
	char *name, *value;

	while (*p != '\0' && *p != '\n') {
		const char *colon = NULL, *end = p;

		while (*end != '\0') {
			const char *nl = strchr(end, '\n');

			if (nl == NULL) {
				end += strlen(end);
				break;
			}
			end = nl + 1;
			if (*end != ' ' && *end != '\t')
				break;
		}
		for (const char *q = p; q < end; q++)
			if (*q == ':') {
				colon = q;
				break;
			}
		if (colon != NULL) {
			size_t vlen = (size_t)(end - colon - 1);

			if (vlen > 0 && colon[vlen] == '\n')
				vlen--; /* the field's own line end */
			name = strndup(p, (size_t)(colon - p));
			value = strndup(colon + 1, vlen);
			arc_msg_header(msg, name, value);
			if (sealer != NULL)
				arc_sealer_header(sealer, name, value);
			free(name);
			free(value);
		}
		p = end;
	}
	arc_msg_eoh(msg);
	if (*p == '\n') {
		arc_msg_body(msg, (const unsigned char *)p + 1, strlen(p + 1));
		if (sealer != NULL)
			arc_sealer_body(sealer, (const unsigned char *)p + 1,
					strlen(p + 1));
	}
}

/* squeeze - s without white space, into a static buffer */
static const char *
squeeze(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o + 1 < len; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			buf[o++] = *s;
	buf[o] = '\0';
	return buf;
}

/*
 * aar_text - the message's Authentication-Results fields whose
 * authserv-id is srvid, merged: "srvid; r1; r2..." (each field's results
 * after its authserv-id, trimmed of white space and a final ';')
 */
static char *
aar_text(const char *text, const char *srvid)
{
	struct strbuf out = STRBUF_INIT;
	const char *p = text;
	size_t idlen = strlen(srvid);

	sb_puts(&out, srvid);
	while (*p != '\0' && *p != '\n') {
		const char *end = p, *v;

		while ((end = strchr(end, '\n')) != NULL &&
		       (end[1] == ' ' || end[1] == '\t'))
			end++;
		if (end == NULL)
			end = p + strlen(p);
		if (strncasecmp(p, "Authentication-Results:", 23) == 0) {
			v = p + 23;
			while (*v == ' ' || *v == '\t')
				v++;
			if ((size_t)(end - v) > idlen &&
			    strncasecmp(v, srvid, idlen) == 0 &&
			    (v[idlen] == ';' || v[idlen] == ' ')) {
				const char *r = strchr(v, ';'), *e = end;

				if (r != NULL && r < end) {
					r++;
					while (r < e && (*r == ' ' || *r == '\t' ||
							 *r == '\n'))
						r++;
					while (e > r && (e[-1] == ' ' ||
							 e[-1] == '\t' ||
							 e[-1] == '\n' ||
							 e[-1] == ';'))
						e--;
					if (e > r) {
						sb_puts(&out, "; ");
						sb_putn(&out, r, (size_t)(e - r));
					}
				}
			}
		}
		p = *end == '\n' ? end + 1 : end;
	}
	return sb_steal(&out);
}

/* expected - the case's cv as a result */
static enum ar_result
expected(const char *cv)
{
	if (strcasecmp(cv, "pass") == 0)
		return RES_PASS;
	if (strcasecmp(cv, "none") == 0)
		return RES_NONE;
	return RES_FAIL; /* "Fail", and the empty cv of a cv=fail chain */
}

/* sign_check - one expected field against ours; true when they match */
static bool
sign_check(const char *case_name, const char *what, const char *want,
	   const char *got)
{
	char a[8192], b[8192];

	if (strcmp(squeeze(want, a, sizeof(a)), squeeze(got, b, sizeof(b))) ==
	    0)
		return true;
	printf("FAIL sign %s: %s\n  want %s\n  got  %s\n", case_name, what, a,
	       b);
	return false;
}

/* sign_case - seal one case's message and compare the new set */
static void
sign_case(struct run *run, yaml_document_t *doc, yaml_node_t *root,
	  const char *name, yaml_node_t *tc, struct arc_msg *msg)
{
	const char *text = scalar(map_get(doc, tc, "message"));
	const char *want[3] = {scalar(map_get(doc, tc, "AAR")),
			       scalar(map_get(doc, tc, "AMS")),
			       scalar(map_get(doc, tc, "AS"))};
	struct arc_sealopts opts = {
	    .domain = scalar(map_get(doc, root, "domain")),
	    .selector = scalar(map_get(doc, root, "sel")),
	    .sign_headers = scalar(map_get(doc, tc, "sig-headers")),
	    .now = (time_t)atoll(scalar(map_get(doc, tc, "t"))),
	};
	struct dkim_signkey *key;
	struct arc_sealer *sealer;
	struct arc_outcome out;
	struct arc_newset set;
	char err[256], *aar;
	bool ok = true, none = true;
	int rc;

	key = dkim_signkey_parse(scalar(map_get(doc, root, "privatekey")),
				 "privatekey", err, sizeof(err));
	if (key == NULL) {
		printf("FAIL sign %s: %s\n", name, err);
		run->sign_failed++;
		return;
	}
	opts.key = key;
	sealer = arc_sealer_new(&opts);
	feed(msg, sealer, text);
	arc_msg_eom(msg, &out);
	aar = aar_text(text, scalar(map_get(doc, tc, "srv-id")));
	rc = arc_sealer_finish(sealer, msg, &out, aar, &set, err, sizeof(err));
	for (int p = 0; p < 3; p++)
		none &= strspn(want[p], " \t\r\n") == strlen(want[p]);
	if (none)
		ok = rc == 0 ||
		     (printf("FAIL sign %s: want no new set, got one (rc %d)\n",
			     name, rc),
		      false);
	else if (rc != 1) {
		printf("FAIL sign %s: no set (rc %d): %s\n", name, rc,
		       rc < 0 ? err : "chain refused");
		ok = false;
	} else {
		ok &= sign_check(name, "ARC-Authentication-Results", want[0],
				 set.value[0]);
		ok &= sign_check(name, "ARC-Message-Signature", want[1],
				 set.value[1]);
		ok &= sign_check(name, "ARC-Seal", want[2], set.value[2]);
	}
	if (ok) {
		run->sign_passed++;
		if (run->verbose)
			printf("ok sign %s (chain %s, i=%u)\n", name,
			       result_name(out.result), set.instance);
	} else {
		run->sign_failed++;
	}
	arc_newset_free(&set);
	free(aar);
	arc_sealer_free(sealer);
	dkim_signkey_free(key);
}

/* run_scenario - one YAML document: its keys, then its cases */
static void
run_scenario(struct run *run, yaml_document_t *doc, yaml_node_t *root)
{
	yaml_node_t *tests = map_get(doc, root, "tests");
	yaml_node_t *txt = map_get(doc, root, "txt-records");
	struct dkim_test_record recs[64];
	char *vals[64];
	const char *zones[SUITE_ZONES + 1];
	struct dkim_test_dns dns;
	struct arc_verifier *ver;
	struct config *cfg;
	char err[256];
	size_t nrecs = 0, nzones = 0;
	yaml_node_pair_t *pr;

	if (tests == NULL || tests->type != YAML_MAPPING_NODE)
		return;
	if (txt != NULL && txt->type == YAML_MAPPING_NODE)
		for (pr = txt->data.mapping.pairs.start;
		     pr < txt->data.mapping.pairs.top && nrecs < 64; pr++) {
			const char *name =
			    scalar(yaml_document_get_node(doc, pr->key));
			const char *dom = strstr(name, "._domainkey.");
			bool known = false;

			/* a literal block's line breaks are FWS inside p=,
			 * which unbound's local-data cannot hold: joined */
			if ((vals[nrecs] = strdup(scalar(
				 yaml_document_get_node(doc, pr->value)))) ==
			    NULL)
				break;
			for (char *q = vals[nrecs]; *q != '\0'; q++)
				if (*q == '\n')
					*q = ' ';
			recs[nrecs] = (struct dkim_test_record){
			    name, DKIM_TEST_TXT, vals[nrecs]};
			nrecs++;
			if (dom == NULL)
				continue;
			dom += strlen("._domainkey.");
			for (size_t z = 0; z < nzones; z++)
				known |= strcmp(zones[z], dom) == 0;
			if (!known && nzones < SUITE_ZONES)
				zones[nzones++] = dom;
		}
	zones[nzones] = NULL;
	if (dkim_test_dns_start(&dns, zones, recs, nrecs) != 0) {
		printf("FAIL: hermetic DNS for a scenario\n");
		run->failed++;
		for (size_t i = 0; i < nrecs; i++)
			free(vals[i]);
		return;
	}
	for (size_t i = 0; i < nrecs; i++)
		free(vals[i]); /* written into the unbound config */
	cfg = dns.cfg;
	if ((ver = arc_verifier_new(cfg, err, sizeof(err))) == NULL) {
		printf("FAIL: arc_verifier_new: %s\n", err);
		run->failed++;
		dkim_test_dns_stop(&dns);
		return;
	}
	for (pr = tests->data.mapping.pairs.start;
	     pr < tests->data.mapping.pairs.top; pr++) {
		const char *name = scalar(yaml_document_get_node(doc, pr->key));
		yaml_node_t *tc = yaml_document_get_node(doc, pr->value);
		const char *cv = scalar(map_get(doc, tc, "cv"));
		enum ar_result want = expected(cv);
		struct dns_cache *cache;
		struct arc_msg *msg;
		struct arc_outcome out;

		if (!wanted(run, name))
			continue;
		cache = dns_cache_new(dns.res);
		msg = arc_msg_new(ver, cache);
		if (run->sign) {
			sign_case(run, doc, root, name, tc, msg);
			arc_msg_free(msg);
			dns_cache_free(cache);
			continue;
		}
		feed(msg, NULL, scalar(map_get(doc, tc, "message")));
		arc_msg_eom(msg, &out);
		if (out.result == want) {
			run->passed++;
			if (run->verbose)
				printf("ok %s: %s%s%s\n", name,
				       result_name(out.result),
				       out.reason[0] ? " - " : "", out.reason);
		} else {
			run->failed++;
			printf("FAIL %s (%s): want %s, got %s%s%s\n", name,
			       scalar(map_get(doc, tc, "description")),
			       result_name(want), result_name(out.result),
			       out.reason[0] ? " - " : "", out.reason);
		}
		arc_msg_free(msg);
		dns_cache_free(cache);
	}
	arc_verifier_free(ver);
	dkim_test_dns_stop(&dns);
}

/* run_file - every scenario of one suite file; -1 when it cannot be read */
static int
run_file(struct run *run, const char *name)
{
	char path[4096];
	yaml_parser_t parser;
	yaml_document_t doc;
	FILE *f;

	snprintf(path, sizeof path, "%s/tests/data/arc/%s", testutil_srcdir(),
		 name);
	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	for (;;) {
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			printf("FAIL %s: YAML error: %s at line %zu\n", path,
			       parser.problem ? parser.problem : "?",
			       parser.problem_mark.line + 1);
			run->failed++;
			break;
		}
		if ((root = yaml_document_get_root_node(&doc)) == NULL) {
			yaml_document_delete(&doc);
			break;
		}
		run_scenario(run, &doc, root);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return 0;
}

int
main(int argc, char **argv)
{
	struct run run = {.argc = argc - 1, .argv = argv + 1};

	if (run.argc > 0 && strcmp(run.argv[0], "-v") == 0) {
		run.verbose = true;
		run.argc--;
		run.argv++;
	}
	if (run_file(&run, "arc-draft-validation-tests.yml") != 0)
		return 1;
	run.sign = true;
	if (run_file(&run, "arc-draft-sign-tests.yml") != 0)
		return 1;
	/* a suite that silently ran fewer cases must not look passed */
	if (run.argc == 0 && run.passed + run.failed != SUITE_CASES) {
		printf("FAIL: ran %u validation cases, the suite has %d\n",
		       run.passed + run.failed, SUITE_CASES);
		run.failed++;
	}
	if (run.argc == 0 &&
	    run.sign_passed + run.sign_failed != SIGN_CASES) {
		printf("FAIL: ran %u signing cases, the suite has %d\n",
		       run.sign_passed + run.sign_failed, SIGN_CASES);
		run.sign_failed++;
	}
	printf("ARC validation suite: %u passed, %u failed\n", run.passed,
	       run.failed);
	printf("ARC signing suite: %u passed, %u failed\n", run.sign_passed,
	       run.sign_failed);
	return run.failed == 0 && run.sign_failed == 0 ? 0 : 1;
}
