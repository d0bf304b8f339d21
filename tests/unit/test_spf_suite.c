/*
 * test_spf_suite.c - the openspf RFC 7208 test suite through lib/spf
 *
 * Reads tests/data/spf-rfc7208/rfc7208-tests.yml with libyaml and turns
 * each scenario's `zonedata` into an unbound.conf: every record is
 * local-data in a static root zone, so unknown names are NXDOMAIN. A
 * TIMEOUT name gets a typetransparent zone (the types it has data for
 * still answer) and a forward-zone to a loopback UDP port this program
 * binds and never reads, so the other types really time out in lib/dns.
 * Each case runs spf_check_mailfrom() with the default explanation
 * "DEFAULT" and must give a result the suite accepts and, when the suite
 * names one, its explanation. Every failure is printed; any failure
 * makes the exit status non-zero.
 * Usage: test_spf_suite [-v] [CASE...]  (-v: print passing cases too)
 */
#include "build.h" /* first: feature macros */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"
#include "dns/dns.h"
#include "result.h"
#include "auth/spf.h"
#include "testutil.h"

#define SUITE_CASES      203 /* cases in the copied suite file */
#define SUITE_TIMEOUT_MS 750 /* lib/dns timeout: TIMEOUT names cost this */

/* a growable string for the generated unbound.conf */
struct text {
	char *p;
	size_t len, cap;
};

struct run {
	int silent_port; /* where TIMEOUT names are forwarded */
	int argc;        /* case names to run, or 0 for all */
	char **argv;
	bool verbose; /* -v: print passing cases too */
	unsigned passed, failed, skipped;
};

/* text_add - append printf output; exits on no memory (test code) */
static void __attribute__((format(printf, 2, 3)))
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL,
			      t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if (t->p && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)n + 1) * 2;
		if ((t->p = realloc(t->p, t->cap)) == NULL)
			abort();
	}
}

/* node_at - a node of the document by its index */
static yaml_node_t *
node_at(yaml_document_t *doc, int index)
{
	return yaml_document_get_node(doc, index);
}

/* is_scalar - is this node a scalar? */
static bool
is_scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE;
}

/* scalar - a scalar node's text, or NULL */
static const char *
scalar(const yaml_node_t *n)
{
	return is_scalar(n) ? (const char *)n->data.scalar.value : NULL;
}

/* map_get - the value of key in a mapping node, or NULL */
static yaml_node_t *
map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pr;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		const char *k = scalar(node_at(doc, pr->key));

		if (k != NULL && strcmp(k, key) == 0)
			return node_at(doc, pr->value);
	}
	return NULL;
}

/* add_name - a domain name in zone-file form, odd octets as \DDD */
static void
add_name(struct text *t, const char *name, size_t len)
{
	size_t i;

	if (len == 0) {
		text_add(t, ".");
		return;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')
			text_add(t, "%c", c);
		else
			text_add(t, "\\%03u", c);
	}
	if (name[len - 1] != '.')
		text_add(t, ".");
}

/* add_string - one TXT character-string, quoted, odd octets as \DDD */
static void
add_string(struct text *t, const yaml_node_t *n)
{
	const unsigned char *s = n->data.scalar.value;
	size_t i;

	text_add(t, " \"");
	for (i = 0; i < n->data.scalar.length; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' &&
		    s[i] != '\\' && s[i] != '\'')
			text_add(t, "%c", s[i]);
		else
			text_add(t, "\\%03u", s[i]);
	}
	text_add(t, "\"");
}

/* add_txt - TXT/SPF rdata: one string or a list of strings */
static void
add_txt(struct text *t, yaml_document_t *doc, yaml_node_t *v)
{
	yaml_node_item_t *it;

	if (is_scalar(v)) {
		add_string(t, v);
		return;
	}
	/* a record with no strings is not valid DNS and unbound refuses
	 * it; one empty string is the nearest record it will serve */
	if (v->data.sequence.items.start == v->data.sequence.items.top)
		text_add(t, " \"\"");
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++)
		add_string(t, node_at(doc, *it));
}

/* add_record - one local-data line for a {TYPE: value} entry */
static void
add_record(struct text *t, yaml_document_t *doc, const yaml_node_t *owner,
	   const char *type, yaml_node_t *v)
{
	const char *s = scalar(v);

	text_add(t, "  local-data: '");
	add_name(t, (const char *)owner->data.scalar.value,
		 owner->data.scalar.length);
	text_add(t, " 300 IN %s", type);
	if (strcmp(type, "TXT") == 0 || strcmp(type, "SPF") == 0) {
		add_txt(t, doc, v);
	} else if (strcmp(type, "MX") == 0) {
		yaml_node_t *pref =
		    node_at(doc, v->data.sequence.items.start[0]);
		yaml_node_t *host =
		    node_at(doc, v->data.sequence.items.start[1]);

		text_add(t, " %s ", scalar(pref));
		add_name(t, (const char *)host->data.scalar.value,
			 host->data.scalar.length);
	} else if (strcmp(type, "PTR") == 0 || strcmp(type, "CNAME") == 0) {
		text_add(t, " ");
		add_name(t, s, strlen(s));
	} else {
		text_add(t, " %s", s); /* A, AAAA */
	}
	text_add(t, "'\n");
}

/* entry_type - the type of a zonedata entry, "TIMEOUT", or NULL */
static const char *
entry_type(yaml_document_t *doc, yaml_node_t *e, yaml_node_t **value)
{
	*value = NULL;
	if (is_scalar(e))
		return scalar(e);
	if (e->type != YAML_MAPPING_NODE ||
	    e->data.mapping.pairs.start == e->data.mapping.pairs.top)
		return NULL;
	*value = node_at(doc, e->data.mapping.pairs.start->value);
	return scalar(node_at(doc, e->data.mapping.pairs.start->key));
}

/* has_entry - does this name's list hold an entry of this type? */
static bool
has_entry(yaml_document_t *doc, yaml_node_t *list, const char *type)
{
	yaml_node_item_t *it;
	yaml_node_t *v;

	for (it = list->data.sequence.items.start;
	     it < list->data.sequence.items.top; it++) {
		const char *ty = entry_type(doc, node_at(doc, *it), &v);

		if (ty != NULL && strcmp(ty, type) == 0)
			return true;
	}
	return false;
}

/* below - is name strictly below parent? (any case) */
static bool
below(const char *name, const char *parent)
{
	size_t n = strlen(name), p = strlen(parent);

	return n > p + 1 && name[n - p - 1] == '.' &&
	       strcasecmp(name + n - p, parent) == 0;
}

/* zone_config - the unbound.conf text for one scenario's zonedata */
static char *
zone_config(yaml_document_t *doc, yaml_node_t *zone, int silent_port)
{
	struct text t = {0};
	yaml_node_pair_t *pr, *q;
	yaml_node_item_t *it;
	yaml_node_t *v;

	text_add(&t, "server:\n"
		     "  do-not-query-localhost: no\n"
		     "  local-zone: \".\" static\n");
	for (pr = zone->data.mapping.pairs.start;
	     pr < zone->data.mapping.pairs.top; pr++) {
		yaml_node_t *owner = node_at(doc, pr->key);
		yaml_node_t *list = node_at(doc, pr->value);
		const char *name = scalar(owner);
		bool has_txt = has_entry(doc, list, "TXT");

		if (has_entry(doc, list, "TIMEOUT")) {
			text_add(&t, "  local-zone: \"");
			add_name(&t, name, strlen(name));
			text_add(&t, "\" typetransparent\n");
		} else {
			/* a name below a TIMEOUT name must not time out */
			for (q = zone->data.mapping.pairs.start;
			     q < zone->data.mapping.pairs.top; q++)
				if (has_entry(doc, node_at(doc, q->value),
					      "TIMEOUT") &&
				    below(name, scalar(node_at(doc, q->key))) &&
				    !has_entry(doc, list, "CNAME")) {
					text_add(&t, "  local-zone: \"");
					add_name(&t, name, strlen(name));
					text_add(&t, "\" static\n");
					break;
				}
		}
		for (it = list->data.sequence.items.start;
		     it < list->data.sequence.items.top; it++) {
			const char *type =
			    entry_type(doc, node_at(doc, *it), &v);

			if (type == NULL || v == NULL)
				continue;
			if (strcmp(type, "TXT") == 0 &&
			    strcmp(scalar(v) ? scalar(v) : "", "NONE") == 0)
				continue;
			add_record(&t, doc, owner, type, v);
			/* the suite's rule: SPF records stand in for TXT */
			if (strcmp(type, "SPF") == 0 && !has_txt)
				add_record(&t, doc, owner, "TXT", v);
		}
	}
	for (pr = zone->data.mapping.pairs.start;
	     pr < zone->data.mapping.pairs.top; pr++) {
		const char *name = scalar(node_at(doc, pr->key));

		if (!has_entry(doc, node_at(doc, pr->value), "TIMEOUT"))
			continue;
		text_add(&t, "forward-zone:\n  name: \"");
		add_name(&t, name, strlen(name));
		text_add(&t, "\"\n  forward-addr: 127.0.0.1@%d\n", silent_port);
	}
	return t.p;
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

/* run_case - one test case; prints it if it fails */
static void
run_case(struct run *run, struct dns_resolver *res, yaml_document_t *doc,
	 const char *name, yaml_node_t *tc)
{
	const char *helo = scalar(map_get(doc, tc, "helo"));
	const char *host = scalar(map_get(doc, tc, "host"));
	const char *from = scalar(map_get(doc, tc, "mailfrom"));
	const char *want_exp = scalar(map_get(doc, tc, "explanation"));
	yaml_node_t *want = map_get(doc, tc, "result");
	struct spf_request req = {
	    .client_ip = host,
	    .helo = helo,
	    .mail_from = from,
	    .default_explanation = "DEFAULT",
	};
	struct spf_outcome out = {0};
	struct dns_cache *cache = dns_cache_new(res);
	const char *got;
	char wanted_list[128] = "";
	bool ok = false;
	yaml_node_item_t *it;

	if (cache == NULL || want == NULL) {
		printf("FAIL %s: cannot run (no memory or no result)\n", name);
		run->failed++;
		dns_cache_free(cache);
		return;
	}
	spf_check_mailfrom(cache, &req, &out);
	dns_cache_free(cache);
	got = result_name(out.result);
	if (is_scalar(want)) {
		ok = strcmp(scalar(want), got) == 0;
		snprintf(wanted_list, sizeof wanted_list, "%s", scalar(want));
	} else {
		for (it = want->data.sequence.items.start;
		     it < want->data.sequence.items.top; it++) {
			const char *w = scalar(node_at(doc, *it));

			ok |= w != NULL && strcmp(w, got) == 0;
			snprintf(wanted_list + strlen(wanted_list),
				 sizeof wanted_list - strlen(wanted_list),
				 "%s%s", *wanted_list ? "|" : "", w ? w : "?");
		}
	}
	if (ok && want_exp != NULL && strcmp(want_exp, out.explanation) != 0) {
		printf("FAIL %s: explanation expected \"%s\", got \"%s\" "
		       "(reason: %s)\n",
		       name, want_exp, out.explanation, out.reason);
		run->failed++;
		return;
	}
	if (!ok) {
		printf("FAIL %s: expected %s, got %s (reason: %s)\n", name,
		       wanted_list, got, out.reason);
		run->failed++;
		return;
	}
	run->passed++;
	if (run->verbose)
		printf("ok   %s: %s (reason: %s)\n", name, got, out.reason);
}

/* run_scenario - load one scenario's zone data and run its cases */
static void
run_scenario(struct run *run, yaml_document_t *doc, yaml_node_t *root)
{
	yaml_node_t *zone = map_get(doc, root, "zonedata");
	yaml_node_t *tests = map_get(doc, root, "tests");
	struct dns_resolver *res;
	struct config *cfg;
	char err[256], *conf, *path;
	yaml_node_pair_t *pr;

	if (zone == NULL || tests == NULL || tests->type != YAML_MAPPING_NODE) {
		printf("FAIL scenario \"%s\": no zonedata or tests\n",
		       scalar(map_get(doc, root, "description")));
		run->failed++;
		return;
	}
	conf = zone_config(doc, zone, run->silent_port);
	path = testutil_write_temp(conf);
	cfg = path ? testutil_hermetic_config(path) : NULL;
	res = cfg ? dns_resolver_new(cfg, err, sizeof err) : NULL;
	if (res == NULL) {
		printf("FAIL scenario \"%s\": resolver: %s\n",
		       scalar(map_get(doc, root, "description")),
		       cfg ? err : "no config");
		run->failed += (unsigned)(tests->data.mapping.pairs.top -
					  tests->data.mapping.pairs.start);
	} else {
		dns_resolver_set_timeout(res, SUITE_TIMEOUT_MS);
		for (pr = tests->data.mapping.pairs.start;
		     pr < tests->data.mapping.pairs.top; pr++) {
			const char *name = scalar(node_at(doc, pr->key));

			if (wanted(run, name))
				run_case(run, res, doc, name,
					 node_at(doc, pr->value));
			else
				run->skipped++;
		}
		dns_resolver_free(res);
	}
	config_free(cfg);
	if (path != NULL)
		unlink(path);
	free(path);
	free(conf);
}

int
main(int argc, char **argv)
{
	struct run run = {.argc = argc - 1, .argv = argv + 1};
	char path[4096];
	yaml_parser_t parser;
	yaml_document_t doc;
	int fd = -1, expect;
	FILE *f;

	if (run.argc > 0 && strcmp(run.argv[0], "-v") == 0) {
		run.verbose = true;
		run.argc--;
		run.argv++;
	}
	/* SPF_SUITE_FILE runs another file of the same format (e.g. the
	 * historic RFC 4408 suite) for counts; its size is not checked */
	if (getenv("SPF_SUITE_FILE") != NULL)
		snprintf(path, sizeof path, "%s", getenv("SPF_SUITE_FILE"));
	else
		snprintf(path, sizeof path,
			 "%s/tests/data/spf-rfc7208/rfc7208-tests.yml",
			 testutil_srcdir());
	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return 1;
	}
	if ((run.silent_port = testutil_silent_udp_port(&fd)) < 0) {
		perror("silent UDP port");
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
	close(fd);

	/* a suite that silently ran fewer cases must not look passed */
	expect = getenv("SPF_SUITE_FILE") == NULL ? SUITE_CASES
		 : getenv("SPF_SUITE_CASES") != NULL
		     ? atoi(getenv("SPF_SUITE_CASES"))
		     : -1;
	if (run.argc == 0 && expect >= 0 &&
	    run.passed + run.failed != (unsigned)expect) {
		printf("FAIL: ran %u cases, the suite has %d\n",
		       run.passed + run.failed, expect);
		run.failed++;
	}
	printf("SPF suite %s: %u passed, %u failed\n",
	       strrchr(path, '/') ? strrchr(path, '/') + 1 : path, run.passed,
	       run.failed);
	printf("%u passed, %u failed\n", run.passed, run.failed);
	return run.failed == 0 ? 0 : 1;
}
