/*
 * score_rules_parse.c - parse SpamAssassin rule-file lines into a rule set
 *
 * Owns the rule language subset authtag runs: header (=~, !~, exists:,
 * ALL, :raw :addr :name :first :last, [if-unset: ...]), body, rawbody,
 * meta, score, describe, tflags (nice), required_score, include, '#'
 * comments; ifplugin/if/else/endif blocks are SpamAssassin's alone and
 * are skipped whole; settings that only SpamAssassin acts on (loadplugin,
 * priority, lang, authres_*, ...) are accepted and ignored. Whatever
 * SpamAssassin's --lint rejects is rejected here too, and so is what it
 * accepts but authtag cannot run (eval:, full, uri): each error names
 * file:line and the reason. Regexes are compiled once with PCRE2 (JIT
 * when available).
 * Reading files and directories is score_rules_load.c's job.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "score.h"
#include "score_rules_int.h"
#include "strbuf.h"

/* PCRE2's JIT code reads past the subject in 16-byte loads: harmless,
 * but valgrind reports each one, so under valgrind the interpreter runs */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SR_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef SR_UNDER_VALGRIND
#define SR_UNDER_VALGRIND() 0
#endif

/* settings SpamAssassin acts on and authtag need not */
static const char *const sr_ignored[] = {"loadplugin",
					 "tryplugin",
					 "priority",
					 "lang",
					 "require_version",
					 "authres_networks",
					 "authres_trusted_authserv",
					 "authres_ignored_authserv",
					 "report_safe",
					 "add_header",
					 "remove_header",
					 "clear_headers",
					 "rewrite_header",
					 "report_contact",
					 "use_bayes",
					 "bayes_auto_learn",
					 "use_auto_welcomelist",
					 "use_auto_whitelist",
					 "dns_available",
					 "skip_rbl_checks",
					 "use_razor2",
					 "use_pyzor",
					 "use_dcc",
					 "normalize_charset",
					 "fold_headers",
					 "internal_networks",
					 "trusted_networks",
					 "msa_networks",
					 "envelope_sender_header",
					 "always_trust_envelope_sender",
					 "reuse",
					 "ok_locales",
					 "ok_languages",
					 "enable_compat",
					 NULL};

/* what SpamAssassin runs and authtag does not */
static const char *const sr_unsupported[] = {
    "full",      "uri",      "mimeheader", "uri_detail",  "askdns", "urirhsbl",
    "urirhssub", "uridnsbl", "uridnssub",  "header_eval", "test",   NULL};

/* sr_error - "file:line: reason"; always returns -1 */
int
sr_error(struct sr_load *ld, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(ld->err, ld->errlen, "%s:%u: %s", ld->file, ld->line, why);
	return -1;
}

/* sr_in - is word in the NULL-terminated list? */
static bool
sr_in(const char *word, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(word, list[i]) == 0)
			return true;
	return false;
}

/* sr_find - index of the rule named name, or -1 */
long
sr_find(const struct sr_set *set, const char *name)
{
	for (size_t i = 0; i < set->nrules; i++)
		if (strcmp(set->rules[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* sr_name_ok - SpamAssassin's IS_RULENAME, and its length limit */
static const char *
sr_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || (!isalpha((unsigned char)name[0]) && name[0] != '_'))
		return "has invalid characters";
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return "has invalid characters";
	if (n > 100)
		return "is too long";
	return NULL;
}

/* sr_rule_clear - free what a rule holds */
void
sr_rule_clear(struct sr_rule *r)
{
	free(r->name);
	free(r->header);
	free(r->unset);
	pcre2_code_free(r->re);
	sr_meta_free(r->meta);
	free(r->describe);
	free(r->file);
	memset(r, 0, sizeof(*r));
}

/* sr_regex - compile a /re/flags (or m{re}flags) value, as SpamAssassin's
 * compile_regexp accepts it with its lint checks; NULL + ld's error */
static pcre2_code *
sr_regex(struct sr_load *ld, const char *name, const char *value)
{
	char close, *re = NULL, msg[256];
	const char *start, *end, *mods;
	uint32_t opts = 0;
	pcre2_code *code;
	PCRE2_SIZE eoff;
	int ecode;
	size_t n;

	if (value[0] == '/') {
		close = '/';
		start = value + 1;
	} else if ((value[0] == 'm' || (value[0] == 'q' && value[1] == 'r')) &&
		   (start = value + (value[0] == 'm' ? 1 : 2)) &&
		   *start != '\0' && !isalnum((unsigned char)*start) &&
		   !isspace((unsigned char)*start) && *start != '_') {
		const char *pairs = "{}()<>[]", *pp = strchr(pairs, *start);

		if (*start == '\\') {
			sr_error(ld,
				 "invalid regexp for %s: backslash "
				 "delimiter not allowed",
				 name);
			return NULL;
		}
		close = pp != NULL && (pp - pairs) % 2 == 0 ? pp[1] : *start;
		start++;
	} else {
		sr_error(ld, "invalid regexp for %s: missing regexp delimiters",
			 name);
		return NULL;
	}
	/* the last close delimiter, then modifiers to the end */
	end = strrchr(start, close);
	if (end == NULL) {
		sr_error(ld,
			 "invalid regexp for %s: invalid end "
			 "delimiter/mods",
			 name);
		return NULL;
	}
	for (mods = end + 1; *mods; mods++) {
		switch (*mods) {
		case 'i':
			opts |= PCRE2_CASELESS;
			break;
		case 'm':
			opts |= PCRE2_MULTILINE;
			break;
		case 's':
			opts |= PCRE2_DOTALL;
			break;
		case 'x':
			opts |= PCRE2_EXTENDED;
			break;
		case 'n':
			opts |= PCRE2_NO_AUTO_CAPTURE;
			break;
		case 'o':
		case 'p':
		case 'a':
		case 'u':
		case 'l':
		case 'd':
			break; /* Perl accepts them; no meaning for bytes */
		default:
			sr_error(ld,
				 "invalid regexp for %s: invalid end "
				 "delimiter/mods",
				 name);
			return NULL;
		}
	}
	n = (size_t)(end - start);
	if ((re = strndup(start, n)) == NULL) {
		sr_error(ld, "out of memory");
		return NULL;
	}
	if (close != '}' && close != ')' && close != ']' && close != '>') {
		/* an unescaped delimiter inside: not one regex */
		for (size_t i = 0; i < n; i++) {
			if (re[i] == '\\' && i + 1 < n) {
				i++;
				continue;
			}
			if (re[i] == close) {
				sr_error(ld,
					 "invalid regexp for %s: unquoted "
					 "delimiter '%c' found",
					 name, close);
				goto fail;
			}
		}
	}
	if (strstr(re, "(?{") || strstr(re, "(??{")) {
		sr_error(ld, "invalid regexp for %s: eval (?{}) found", name);
		goto fail;
	}
	/* --lint refuses regexes that match everything */
	if (n == 0 || (strstr(re, "||") && !strstr(re, "\\||")) ||
	    re[0] == '|' || (n > 1 && re[n - 1] == '|' && re[n - 2] != '\\')) {
		sr_error(ld, "invalid regexp for %s: always matching regexp",
			 name);
		goto fail;
	}
	code = pcre2_compile((PCRE2_SPTR)re, n, opts, &ecode, &eoff, NULL);
	if (code == NULL) {
		pcre2_get_error_message(ecode, (PCRE2_UCHAR *)msg, sizeof(msg));
		sr_error(ld, "invalid regexp for %s: %s at offset %zu", name,
			 msg, (size_t)eoff);
		goto fail;
	}
	if (!SR_UNDER_VALGRIND())
		(void)pcre2_jit_compile(code,
					PCRE2_JIT_COMPLETE); /* optional */
	free(re);
	return code;
fail:
	free(re);
	return NULL;
}

/* sr_new_rule - a fresh rule named name (replacing an earlier one) */
static struct sr_rule *
sr_new_rule(struct sr_load *ld, const char *name, enum sr_type type)
{
	struct sr_set *set = ld->set;
	long at = sr_find(set, name);
	struct sr_rule *r;
	const char *why = sr_name_ok(name);

	if (why != NULL) {
		sr_error(ld, "rule '%s' %s", name, why);
		return NULL;
	}
	if (at >= 0) {
		/* SpamAssassin lets a later definition replace one */
		r = &set->rules[at];
		sr_rule_clear(r);
	} else {
		if (sb_array_room(&set->rules, set->nrules,
				  sizeof(*set->rules)) != 0) {
			sr_error(ld, "out of memory");
			return NULL;
		}
		r = &set->rules[set->nrules++];
		memset(r, 0, sizeof(*r));
	}
	r->type = type;
	r->line = ld->line;
	if ((r->name = strdup(name)) == NULL ||
	    (r->file = strdup(ld->file)) == NULL) {
		sr_error(ld, "out of memory");
		return NULL;
	}
	return r;
}

/* sr_header_rule - the text after the name of a header rule */
static int
sr_header_rule(struct sr_load *ld, const char *name, char *v)
{
	struct sr_rule *r;
	char *p = v, *spec, *pat, *unset;
	size_t n;

	if (strncmp(v, "eval:", 5) == 0)
		return sr_error(ld,
				"%s: eval: rules are not supported by "
				"authtag",
				name);
	if (strncmp(v, "exists:", 7) == 0) {
		char *h = v + 7;

		n = strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
			      "vwxyz0123456789_.-");
		if (n == 0 || (h[n] != '\0' && strcmp(h + n, ":") != 0))
			return sr_error(ld, "invalid head test %s header: %s",
					name, h);
		h[n] = '\0';
		if ((r = sr_new_rule(ld, name, SR_HEADER)) == NULL)
			return -1;
		r->exists = true;
		if ((r->header = strdup(h)) == NULL)
			return sr_error(ld, "out of memory");
		return 0;
	}
	/* Name[:mod[:mod]] op /pattern/ */
	n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789_.-");
	if (n == 0)
		return sr_error(ld, "invalid head test %s: %s", name, v);
	spec = strndup(p, n);
	if (spec == NULL)
		return sr_error(ld, "out of memory");
	p += n;
	unsigned mods = 0;

	if (*p == ':' && !islower((unsigned char)p[1])) {
		p++; /* a lone trailing colon */
	} else {
		for (int k = 0; k < 2 && *p == ':'; k++) {
			static const struct {
				const char *word;
				unsigned bit;
			} m[] = {{"raw", SR_HMOD_RAW},
				 {"addr", SR_HMOD_ADDR},
				 {"name", SR_HMOD_NAME},
				 {"first", SR_HMOD_FIRST},
				 {"last", SR_HMOD_LAST}};
			size_t w = 1, i;

			while (islower((unsigned char)p[w]))
				w++;
			for (i = 0; i < sizeof(m) / sizeof(*m); i++)
				if (strlen(m[i].word) == w - 1 &&
				    strncmp(p + 1, m[i].word, w - 1) == 0)
					break;
			if (i == sizeof(m) / sizeof(*m)) {
				int rc;

				/* :host, :domain, :ip, :revip are SA-only */
				if ((w == 5 &&
				     strncmp(p + 1, "host", 4) == 0) ||
				    (w == 7 &&
				     strncmp(p + 1, "domain", 6) == 0) ||
				    (w == 3 && strncmp(p + 1, "ip", 2) == 0) ||
				    (w == 6 && strncmp(p + 1, "revip", 5) == 0))
					rc =
					    sr_error(ld,
						     "%s: header modifier "
						     "%.*s is not supported by "
						     "authtag",
						     name, (int)w, p);
				else
					rc = sr_error(ld,
						      "invalid header "
						      "modifier for %s: %s%.*s",
						      name, spec, (int)w, p);
				free(spec);
				return rc;
			}
			mods |= m[i].bit;
			p += w;
		}
	}
	while (isspace((unsigned char)*p))
		p++;
	if ((p[0] != '=' && p[0] != '!') || p[1] != '~') {
		free(spec);
		return sr_error(ld, "invalid head test %s: %s", name, v);
	}
	bool negate = p[0] == '!';

	p += 2;
	while (isspace((unsigned char)*p))
		p++;
	pat = p;
	unset = NULL;
	/* a trailing [if-unset: text] gives the value of a missing field */
	{
		char *b = strstr(pat, "[if-unset:");

		if (b != NULL && b > pat && isspace((unsigned char)b[-1]) &&
		    isspace((unsigned char)b[10]) && b[strlen(b) - 1] == ']') {
			char *t = b + 10;

			while (isspace((unsigned char)*t))
				t++;
			unset = strndup(t, strlen(t) - 1);
			while (b > pat && isspace((unsigned char)b[-1]))
				b--;
			*b = '\0';
		}
	}
	if (*pat == '\0') {
		free(spec);
		free(unset);
		return sr_error(ld, "invalid head test %s: %s", name, v);
	}
	pcre2_code *re = sr_regex(ld, name, pat);

	if (re == NULL || (r = sr_new_rule(ld, name, SR_HEADER)) == NULL) {
		pcre2_code_free(re);
		free(spec);
		free(unset);
		return -1;
	}
	r->header = spec;
	r->hmods = mods;
	r->negate = negate;
	r->unset = unset;
	r->re = re;
	return 0;
}

/* sr_note - the note for name, created if needed */
struct sr_note *
sr_note(struct sr_load *ld, const char *name)
{
	struct sr_note *grown;

	for (size_t i = 0; i < ld->nnotes; i++)
		if (strcmp(ld->notes[i].name, name) == 0)
			return &ld->notes[i];
	if (sb_array_room(&ld->notes, ld->nnotes, sizeof(*ld->notes)) != 0)
		return NULL;
	grown = ld->notes;
	memset(&grown[ld->nnotes], 0, sizeof(*grown));
	if ((grown[ld->nnotes].name = strdup(name)) == NULL)
		return NULL;
	return &grown[ld->nnotes++];
}

/* sr_score_ok - SpamAssassin's score syntax: -?digits(.digits)? */
static bool
sr_score_ok(const char *s)
{
	if (*s == '-')
		s++;
	if (!isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s))
		s++;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

/* sr_score_line - score NAME n [n n n] */
static int
sr_score_line(struct sr_load *ld, char *v)
{
	char *save = NULL, *name = strtok_r(v, " \t", &save), *w;
	char *nums[5];
	size_t n = 0;
	struct sr_note *note;

	while ((w = strtok_r(NULL, " \t", &save)) != NULL && n < 5)
		nums[n++] = w;
	if (name == NULL || (n != 1 && n != 4))
		return sr_error(ld, "missing 'score' value");
	for (size_t i = 0; i < n; i++) {
		if (nums[i][0] == '(')
			return sr_error(ld,
					"score %s: relative scores are "
					"not supported by authtag",
					name);
		if (!sr_score_ok(nums[i]))
			return sr_error(ld, "invalid 'score' value");
	}
	if ((note = sr_note(ld, name)) == NULL)
		return sr_error(ld, "out of memory");
	/* the first score set: no Bayes, no network tests */
	note->score = score_clamp(strtod(nums[0], NULL));
	note->has_score = true;
	return 0;
}

/* sr_text_note - describe NAME text, tflags NAME flags */
static int
sr_text_note(struct sr_load *ld, const char *key, char *v, bool tflags)
{
	size_t n = strcspn(v, " \t");
	char *text = v + n;
	struct sr_note *note;

	if (n == 0 || *text == '\0')
		return sr_error(ld, "missing '%s' value", key);
	*text++ = '\0';
	while (isspace((unsigned char)*text))
		text++;
	if ((note = sr_note(ld, v)) == NULL)
		return sr_error(ld, "out of memory");
	if (tflags) {
		/* of the flags only "nice" matters: a negative default */
		char *save = NULL;

		note->nice = false;
		for (char *w = strtok_r(text, " \t", &save); w != NULL;
		     w = strtok_r(NULL, " \t", &save))
			if (strcmp(w, "nice") == 0)
				note->nice = true;
		return 0;
	}
	free(note->text);
	if ((note->text = strdup(text)) == NULL)
		return sr_error(ld, "out of memory");
	return 0;
}

/* sr_body_rule - body/rawbody NAME /re/ */
static int
sr_body_rule(struct sr_load *ld, const char *key, char *v, enum sr_type type)
{
	size_t n = strcspn(v, " \t");
	char *pat = v + n;
	struct sr_rule *r;
	pcre2_code *re;

	if (n == 0 || *pat == '\0')
		return sr_error(ld, "missing '%s' value", key);
	*pat++ = '\0';
	while (isspace((unsigned char)*pat))
		pat++;
	if (strncmp(pat, "eval:", 5) == 0)
		return sr_error(ld,
				"%s: eval: rules are not supported by "
				"authtag",
				v);
	if ((re = sr_regex(ld, v, pat)) == NULL)
		return -1;
	if ((r = sr_new_rule(ld, v, type)) == NULL) {
		pcre2_code_free(re);
		return -1;
	}
	r->re = re;
	ld->set->needs_body = true;
	return 0;
}

/* sr_meta_rule - meta NAME expression */
static int
sr_meta_rule(struct sr_load *ld, char *v)
{
	size_t n = strcspn(v, " \t");
	char *expr = v + n, why[160];
	struct sr_meta *m;
	struct sr_rule *r;

	if (n == 0 || *expr == '\0')
		return sr_error(ld, "missing 'meta' value");
	*expr++ = '\0';
	if ((m = sr_meta_compile(expr, why, sizeof(why))) == NULL)
		return sr_error(ld,
				"invalid expression for rule %s: \"%s\": "
				"%s",
				v, expr, why);
	if ((r = sr_new_rule(ld, v, SR_META)) == NULL) {
		sr_meta_free(m);
		return -1;
	}
	r->meta = m;
	return 0;
}

/* sr_directive - one directive line outside a skipped block */
int
sr_directive(struct sr_load *ld, const char *key, char *v)
{
	if (strcmp(key, "header") == 0) {
		size_t n = strcspn(v, " \t");
		char *rest = v + n;

		if (n == 0 || *rest == '\0')
			return sr_error(ld, "missing 'header' value");
		*rest++ = '\0';
		while (isspace((unsigned char)*rest))
			rest++;
		return sr_header_rule(ld, v, rest);
	}
	if (strcmp(key, "body") == 0)
		return sr_body_rule(ld, key, v, SR_BODY);
	if (strcmp(key, "rawbody") == 0)
		return sr_body_rule(ld, key, v, SR_RAWBODY);
	if (strcmp(key, "meta") == 0)
		return sr_meta_rule(ld, v);
	if (strcmp(key, "score") == 0)
		return sr_score_line(ld, v);
	if (strcmp(key, "describe") == 0)
		return sr_text_note(ld, key, v, false);
	if (strcmp(key, "tflags") == 0)
		return sr_text_note(ld, key, v, true);
	if (strcmp(key, "required_score") == 0 ||
	    strcmp(key, "required_hits") == 0) {
		char *end;
		double d = strtod(v, &end);

		if (*v == '\0' || *end != '\0' || !isfinite(d))
			return sr_error(ld, "invalid '%s' value", key);
		ld->set->required = d;
		ld->set->has_required = true;
		return 0;
	}
	if (strcmp(key, "include") == 0) {
		char path[4096];
		const char *slash = strrchr(ld->file, '/');
		const char *file = ld->file;
		unsigned line = ld->line;
		int rc;

		if (*v == '\0')
			return sr_error(ld, "missing 'include' value");
		if (ld->depth >= SR_INCLUDE_DEPTH)
			return sr_error(ld, "include nested too deeply");
		if (v[0] == '/' || slash == NULL)
			snprintf(path, sizeof(path), "%s", v);
		else
			snprintf(path, sizeof(path), "%.*s/%s",
				 (int)(slash - ld->file), ld->file, v);
		ld->depth++;
		rc = sr_load_file(ld, path);
		ld->depth--;
		ld->file = file;
		ld->line = line;
		return rc;
	}
	if (sr_in(key, sr_ignored))
		return 0;
	if (sr_in(key, sr_unsupported))
		return sr_error(ld, "'%s' rules are not supported by authtag",
				key);
	return sr_error(ld, "unknown or unsupported setting '%s'", key);
}
