/*
 * score_tool.c - run the scoring stage on a message file, or write the
 * messages the SpamAssassin comparison scores
 *
 * The scripts in tests/sa/ drive it: `score_tool [options] FILE` prints the
 * score, the rules hit with their scores and the X-Spam-* headers, in a form
 * the scripts compare with SpamAssassin's; `score_tool --gen DIR` writes one
 * message per authentication scenario, each with an Authentication-Results
 * header made by lib/authres.c itself, so the comparison uses exactly the
 * header authtag writes. Without arguments it prints its usage and exits
 * 0 (make check-valgrind runs every check program bare).
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "config.h"
#include "result.h"
#include "score/score.h"

#define TOOL_MAX_HEADERS 256

static const char usage[] =
    "usage: score_tool [-r RULESDIR] [-s SCORERS] [-S SPAMDSOCKET]\n"
    "                  [-u USERPREFS] [-U SPAMDUSER] [-R] [-t SECONDS]\n"
    "                  [--rcpt ADDR] [--mail-from ADDR] [--dkim-pass D]\n"
    "                  [--spf-pass] FILE\n"
    "       score_tool --gen DIR\n";

/* tool_read - a whole file */
static char *
tool_read(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (fp == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *g = realloc(buf, cap = (cap + 4096) * 2);

			if (g == NULL) {
				free(buf);
				fclose(fp);
				return NULL;
			}
			buf = g;
		}
		size_t r = fread(buf + n, 1, 4096, fp);

		n += r;
		if (r == 0)
			break;
	}
	fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* tool_split - header fields (name, value after the colon) and body */
static size_t
tool_split(char *text, size_t len, char **names, char **values, char **body,
	   size_t *blen)
{
	size_t n = 0, i = 0;

	*body = text + len;
	*blen = 0;
	while (i < len && n < TOOL_MAX_HEADERS) {
		size_t start = i, colon;
		char *line;

		if (text[i] == '\n' ||
		    (text[i] == '\r' && text[i + 1] == '\n')) {
			i += text[i] == '\r' ? 2 : 1;
			*body = text + i;
			*blen = len - i;
			break;
		}
		while (i < len) {
			char *nl = memchr(text + i, '\n', len - i);

			i = nl ? (size_t)(nl - text) + 1 : len;
			if (i >= len || (text[i] != ' ' && text[i] != '\t'))
				break;
		}
		line = text + start;
		colon = strcspn(line, ":\n");
		if (line[colon] != ':')
			continue;
		line[colon] = '\0';
		/* the value as a milter gets it: no final newline */
		text[i - 1] = '\0';
		if (i >= 2 && text[i - 2] == '\r')
			text[i - 2] = '\0';
		names[n] = line;
		values[n] = line + colon + 1 + (line[colon + 1] == ' ');
		n++;
	}
	return n;
}

/* one scenario of the comparison: results, and so our A-R header */
struct tool_case {
	const char *file, *from, *mailfrom, *subject;
	enum ar_result spf, dkim, dmarc;
	const char *dkim_d, *policy, *dis;
	bool auth, extra_forged;
};

static const struct tool_case tool_cases[] = {
    {"bank-forgery.eml", "Bank <alerts@bank.example>", "x@bank.example",
     "Your account", RES_SOFTFAIL, RES_NONE, RES_FAIL, NULL, "reject", "reject",
     false, false},
    {"vendor-via-esp.eml", "Orders <orders@vendor.example>",
     "bounce@esp.example", "Your order", RES_PASS, RES_PASS, RES_FAIL,
     "esp.example", "reject", "reject", false, false},
    {"vendor-forgery.eml", "Orders <orders@vendor.example>",
     "orders@vendor.example", "Invoice", RES_FAIL, RES_NONE, RES_FAIL, NULL,
     "reject", "reject", false, false},
    {"authenticated.eml", "Alice <alice@example.com>", "alice@example.com",
     "Lunch", RES_PASS, RES_PASS, RES_PASS, "example.com", "reject", "none",
     false, false},
    {"quarantine.eml", "news@shop.example", "news@shop.example", "Sale",
     RES_NONE, RES_NONE, RES_FAIL, NULL, "quarantine", "quarantine", false,
     false},
    {"dmarc-none.eml", "info@club.example", "info@club.example", "Meeting",
     RES_NEUTRAL, RES_FAIL, RES_FAIL, "club.example", "none", "none", false,
     false},
    {"testing.eml", "hr@corp.example", "hr@corp.example", "Payroll", RES_FAIL,
     RES_NONE, RES_FAIL, NULL, "reject", "quarantine", false, false},
    {"permerror.eml", "x@broken.example", "x@broken.example", "Hi",
     RES_PERMERROR, RES_NONE, RES_PERMERROR, NULL, NULL, NULL, false, false},
    {"submission.eml", "Bob <bob@example.org>", "bob@example.org", "Report",
     RES_NONE, RES_NONE, RES_FAIL, NULL, "none", "none", true, false},
    {"forged-pass-below.eml", "Bank <alerts@bank.example>", "x@bank.example",
     "Verify now", RES_FAIL, RES_NONE, RES_FAIL, NULL, "reject", "reject",
     false, true},
};

/* tool_gen_one - write one scenario message */
static int
tool_gen_one(const char *dir, const struct tool_case *c)
{
	struct auth_results r = {0};
	char path[4096], *ar;
	const char *at = strrchr(c->from, '@');
	char fromdom[128];
	FILE *fp;

	snprintf(fromdom, sizeof(fromdom), "%.*s", (int)strcspn(at + 1, ">"),
		 at + 1);
	if (c->auth)
		snprintf(r.auth_user, sizeof(r.auth_user), "bob");
	if (c->spf != RES_NONE || !c->auth) {
		r.spf_mailfrom.checked = true;
		r.spf_mailfrom.result = c->spf;
		snprintf(r.spf_mailfrom.identity,
			 sizeof(r.spf_mailfrom.identity), "%s", c->mailfrom);
		snprintf(r.spf_mailfrom.domain, sizeof(r.spf_mailfrom.domain),
			 "%s", strchr(c->mailfrom, '@') + 1);
	}
	if (c->dkim != RES_NONE) {
		r.dkim = calloc(1, sizeof(*r.dkim));
		if (r.dkim == NULL)
			return -1;
		r.ndkim = 1;
		r.dkim->result = c->dkim;
		r.dkim->keybits = 2048;
		snprintf(r.dkim->domain, sizeof(r.dkim->domain), "%s",
			 c->dkim_d);
		snprintf(r.dkim->identity, sizeof(r.dkim->identity), "@%s",
			 c->dkim_d);
		snprintf(r.dkim->selector, sizeof(r.dkim->selector), "s1");
		snprintf(r.dkim->algorithm, sizeof(r.dkim->algorithm),
			 "rsa-sha256");
		snprintf(r.dkim->b, sizeof(r.dkim->b), "AbCdEfGh");
		if (c->dkim == RES_FAIL)
			snprintf(r.dkim->reason, sizeof(r.dkim->reason),
				 "body hash mismatch");
	}
	r.dmarc.checked = true;
	r.dmarc.result = c->dmarc;
	snprintf(r.dmarc.from_domain, sizeof(r.dmarc.from_domain), "%s",
		 fromdom);
	if (c->policy != NULL) {
		snprintf(r.dmarc.policy, sizeof(r.dmarc.policy), "%s",
			 c->policy);
		snprintf(r.dmarc.subpolicy, sizeof(r.dmarc.subpolicy), "%s",
			 c->policy);
		snprintf(r.dmarc.disposition, sizeof(r.dmarc.disposition), "%s",
			 c->dis);
	}
	if (c->dmarc == RES_FAIL)
		snprintf(r.dmarc.reason, sizeof(r.dmarc.reason),
			 "no aligned identifier");
	ar = ar_format("mx.example.org", &r);
	auth_results_free(&r);
	if (ar == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, c->file);
	if ((fp = fopen(path, "w")) == NULL) {
		free(ar);
		return -1;
	}
	fprintf(fp, "Authentication-Results: %s\n", ar);
	fprintf(fp,
		"Received: from mail.%s (mail.%s [192.0.2.10])\n"
		"\tby mx.example.org (Postfix) with ESMTP id 4AbCdE\n"
		"\tfor <carol@example.net>; Mon, 1 Jan 2024 10:00:00 +0000\n",
		fromdom, fromdom);
	if (c->extra_forged)
		fprintf(fp, "Authentication-Results: evil.example; spf=pass "
			    "smtp.mailfrom=x@bank.example; dkim=pass "
			    "header.d=bank.example; dmarc=pass\n");
	fprintf(fp,
		"From: %s\nTo: carol@example.net\nSubject: %s\n"
		"Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
		"Message-ID: <%s@%s>\nMIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=us-ascii\n\n"
		"Hello,\n\nthis is a test message about %s.\n",
		c->from, c->subject, c->file, fromdom, c->subject);
	free(ar);
	return fclose(fp) == 0 ? 0 : -1;
}

/* tool_gen - every scenario into dir */
static int
tool_gen(const char *dir)
{
	for (size_t i = 0; i < sizeof(tool_cases) / sizeof(*tool_cases); i++)
		if (tool_gen_one(dir, &tool_cases[i]) != 0) {
			fprintf(stderr, "score_tool: %s/%s: %s\n", dir,
				tool_cases[i].file, strerror(errno));
			return 1;
		}
	return 0;
}

/* tool_replace - set a config string */
static void
tool_set(char **slot, const char *v)
{
	free(*slot);
	*slot = strdup(v);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"gen", required_argument, NULL, 'g'},
	    {"rcpt", required_argument, NULL, 'c'},
	    {"mail-from", required_argument, NULL, 'm'},
	    {"dkim-pass", required_argument, NULL, 'd'},
	    {"spf-pass", no_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0}};
	struct config *cfg = config_new_defaults();
	struct auth_results res = {0};
	struct score_message msg = {0};
	struct score_outcome out;
	struct score_header hdrs[SCORE_HEADERS_MAX];
	struct dkim_outcome dk = {.result = RES_PASS};
	char *names[TOOL_MAX_HEADERS], *values[TOOL_MAX_HEADERS], *text, *body;
	const char *rcpt = NULL;
	char err[512];
	size_t len, blen;
	int c, nh, rc = 0;
	struct score_stage *st;

	if (argc == 1) {
		fputs(usage, stdout);
		config_free(cfg);
		return 0;
	}
	if (cfg == NULL)
		return 2;
	tool_set(&cfg->rules_dir, "rules");
	while ((c = getopt_long(argc, argv, "r:s:S:u:U:Rt:", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'g':
			config_free(cfg);
			return tool_gen(optarg);
		case 'r':
			tool_set(&cfg->rules_dir, optarg);
			break;
		case 's':
			free(cfg->scorers[0]);
			free(cfg->scorers);
			cfg->scorers = NULL;
			cfg->nscorers = 0;
			for (char *save = NULL,
				  *w = strtok_r(optarg, ",", &save);
			     w != NULL; w = strtok_r(NULL, ",", &save)) {
				cfg->scorers =
				    realloc(cfg->scorers, (cfg->nscorers + 1) *
							      sizeof(char *));
				cfg->scorers[cfg->nscorers++] = strdup(w);
			}
			break;
		case 'S':
			tool_set(&cfg->spamd_socket, optarg);
			break;
		case 'u':
			tool_set(&cfg->user_prefs, optarg);
			break;
		case 'U':
			tool_set(&cfg->spamd_user, optarg);
			break;
		case 'R':
			cfg->x_spam_report = true;
			break;
		case 't':
			cfg->spamd_timeout = (unsigned)atoi(optarg);
			break;
		case 'c':
			rcpt = optarg;
			break;
		case 'm':
			msg.mail_from = optarg;
			break;
		case 'd':
			snprintf(dk.domain, sizeof(dk.domain), "%s", optarg);
			res.dkim = &dk;
			res.ndkim = 1;
			break;
		case 'p':
			res.spf_mailfrom.checked = true;
			res.spf_mailfrom.result = RES_PASS;
			break;
		default:
			fputs(usage, stderr);
			config_free(cfg);
			return 2;
		}
	}
	if (optind + 1 != argc ||
	    (text = tool_read(argv[optind], &len)) == NULL) {
		fputs(usage, stderr);
		config_free(cfg);
		return 2;
	}
	if ((st = score_stage_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "score_tool: %s\n", err);
		free(text);
		config_free(cfg);
		return 2;
	}
	nh = (int)tool_split(text, len, names, values, &body, &blen);
	msg.header_names = (const char *const *)names;
	msg.header_values = (const char *const *)values;
	msg.nheaders = (size_t)nh;
	msg.body = (const unsigned char *)body;
	msg.body_len = blen;
	if (blen > score_stage_body_limit(st)) {
		msg.body_len = score_stage_body_limit(st);
		msg.body_truncated = true;
	}
	msg.results = &res;
	if (rcpt != NULL) {
		msg.rcpts = &rcpt;
		msg.nrcpts = 1;
	}
	score_stage_run(st, &msg, &out);
	printf("score=%.3f\nrequired=%.3f\nspam=%s\n", out.score, out.required,
	       out.is_spam ? "yes" : "no");
	for (size_t i = 0; i < out.nhits; i++)
		printf("hit %s %.3f\n", out.hits[i].name,
		       isnan(out.hits[i].score) ? 0.0 : out.hits[i].score);
	if (out.problems[0])
		printf("problems=%s\n", out.problems);
	nh = score_headers(st, &out, hdrs);
	for (int i = 0; i < nh; i++)
		printf("%s: %s\n", hdrs[i].name, hdrs[i].value);
	if (nh < 0)
		rc = 1;
	else
		score_headers_free(hdrs, (size_t)nh);
	score_outcome_free(&out);
	score_stage_free(st);
	free(text);
	config_free(cfg);
	return rc;
}
