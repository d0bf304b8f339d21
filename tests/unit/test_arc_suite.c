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
#include "dkim_testlib.h"
#include "dns/dns.h"
#include "result.h"
#include "testutil.h"

#define SUITE_CASES 175 /* validation cases in the copied suite file */
#define SUITE_ZONES 16  /* distinct key domains a scenario may name */

struct run {
	int argc;
	char **argv;
	bool verbose;
	unsigned passed, failed;
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
 * them to msg: a field runs to the next line that does not start with
 * white space; the body starts after the first empty line
 */
static void
feed(struct arc_msg *msg, const char *text)
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
			free(name);
			free(value);
		}
		p = end;
	}
	arc_msg_eoh(msg);
	if (*p == '\n')
		arc_msg_body(msg, (const unsigned char *)p + 1, strlen(p + 1));
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

/* run_scenario - one YAML document: its keys, then its cases */
static void
run_scenario(struct run *run, yaml_document_t *doc, yaml_node_t *root)
{
	yaml_node_t *tests = map_get(doc, root, "tests");
	yaml_node_t *txt = map_get(doc, root, "txt-records");
	struct dkim_test_record recs[64];
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

			recs[nrecs++] = (struct dkim_test_record){
			    name, DKIM_TEST_TXT,
			    scalar(yaml_document_get_node(doc, pr->value))};
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
		return;
	}
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
		feed(msg, scalar(map_get(doc, tc, "message")));
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

int
main(int argc, char **argv)
{
	struct run run = {.argc = argc - 1, .argv = argv + 1};
	char path[4096];
	yaml_parser_t parser;
	yaml_document_t doc;
	FILE *f;

	if (run.argc > 0 && strcmp(run.argv[0], "-v") == 0) {
		run.verbose = true;
		run.argc--;
		run.argv++;
	}
	snprintf(path, sizeof path, "%s/tests/data/arc/arc-draft-validation-tests.yml",
		 testutil_srcdir());
	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return 1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	for (;;) {
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			printf("FAIL %s: YAML error: %s at line %zu\n", path,
			       parser.problem ? parser.problem : "?",
			       parser.problem_mark.line + 1);
			run.failed++;
			break;
		}
		if ((root = yaml_document_get_root_node(&doc)) == NULL) {
			yaml_document_delete(&doc);
			break;
		}
		run_scenario(&run, &doc, root);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	/* a suite that silently ran fewer cases must not look passed */
	if (run.argc == 0 && run.passed + run.failed != SUITE_CASES) {
		printf("FAIL: ran %u cases, the suite has %d\n",
		       run.passed + run.failed, SUITE_CASES);
		run.failed++;
	}
	printf("ARC validation suite: %u passed, %u failed\n", run.passed,
	       run.failed);
	return run.failed == 0 ? 0 : 1;
}
