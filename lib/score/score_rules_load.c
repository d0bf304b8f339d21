/*
 * score_rules_load.c - load SpamAssassin rule files: files, lines, order
 *
 * Owns reading a RulesDir (its *.cf files in name order) or a list of
 * files into one rule set: the file size limit, include depth, comment
 * stripping and line continuation, then the final checks once all files
 * are read (scores and describes matched to rules, meta rules bound and
 * ordered so that each runs after the rules it uses). Each line is
 * handed to sr_directive() in score_rules_parse.c.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "score_rules_int.h"
#include "strbuf.h"

/* sr_strip_comment - SpamAssassin's comment rule: an unescaped '#' starts
 * a comment, "\#" is a '#'; then trim */
static char *
sr_strip_comment(char *line)
{
	char *s = line, *o = line, *end;

	for (; *s; s++) {
		if (*s == '#' && (s == line || s[-1] != '\\'))
			break;
		*o++ = *s;
	}
	*o = '\0';
	for (s = o = line; *s; s++) {
		if (*s == '\\' && s[1] == '#')
			continue;
		*o++ = *s;
	}
	*o = '\0';
	for (s = line; isspace((unsigned char)*s);)
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* sr_lines - apply every line of one file's text */
static int
sr_lines(struct sr_load *ld, char *text)
{
	unsigned skip = 0, open = 0, open_line = 0;
	char *save = NULL;

	ld->line = 0;
	for (char *p = text; p != NULL; p = save) {
		char *nl = strchr(p, '\n'), *line, *v;
		char key[64];
		size_t kl;

		save = nl ? nl + 1 : NULL;
		if (nl != NULL)
			*nl = '\0';
		ld->line++;
		line = sr_strip_comment(p);
		if (*line == '\0')
			continue;
		kl = strcspn(line, " \t");
		v = line + kl;
		while (isspace((unsigned char)*v))
			v++;
		snprintf(key, sizeof(key), "%.*s", (int)kl, line);
		for (char *k = key; *k; k++)
			*k = *k == '-' ? '_' : (char)tolower((unsigned char)*k);
		/* conditional blocks are SpamAssassin's: skip them whole */
		if (strcmp(key, "ifplugin") == 0 || strcmp(key, "if") == 0) {
			if (*v == '\0')
				return sr_error(ld, "missing '%s' condition",
						key);
			if (open++ == 0)
				open_line = ld->line;
			skip++;
			continue;
		}
		if (strcmp(key, "else") == 0 || strcmp(key, "endif") == 0) {
			if (*v != '\0')
				return sr_error(ld, "'%s' must be standalone",
						key);
			if (open == 0)
				return sr_error(ld,
						"missing starting 'if' "
						"for '%s'",
						key);
			if (key[0] == 'e' && key[1] == 'n') {
				open--;
				skip--;
			}
			continue;
		}
		if (skip > 0)
			continue;
		if (sr_directive(ld, key, v) != 0)
			return -1;
	}
	if (open > 0) {
		ld->line = open_line;
		return sr_error(ld, "unclosed 'if' found");
	}
	return 0;
}

/* sr_load_file - read and apply one file */
int
sr_load_file(struct sr_load *ld, const char *path)
{
	FILE *fp = fopen(path, "r");
	char *text;
	size_t n;
	int rc;

	ld->file = path;
	ld->line = 0;
	if (fp == NULL) {
		snprintf(ld->err, ld->errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((text = malloc(SR_FILE_MAX + 1)) == NULL) {
		fclose(fp);
		snprintf(ld->err, ld->errlen, "%s: out of memory", path);
		return -1;
	}
	n = fread(text, 1, SR_FILE_MAX + 1, fp);
	if (ferror(fp) || n > SR_FILE_MAX) {
		snprintf(ld->err, ld->errlen, "%s: %s", path,
			 n > SR_FILE_MAX ? "file too large" : "read error");
		fclose(fp);
		free(text);
		return -1;
	}
	fclose(fp);
	text[n] = '\0';
	if (memchr(text, '\0', n) != NULL) {
		free(text);
		snprintf(ld->err, ld->errlen, "%s: not a text file", path);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (text[i] == '\r')
			text[i] = ' ';
	rc = sr_lines(ld, text);
	free(text);
	return rc;
}

/* sr_order - plain rules first, then metas after what they use */
static int
sr_order(struct sr_load *ld)
{
	struct sr_set *set = ld->set;
	unsigned char *mark =
	    calloc(set->nrules + 1, 1); /* 0 new 1 busy 2 done */
	size_t *stack = calloc(set->nrules + 1, sizeof(*stack));
	size_t *dep = calloc(set->nrules + 1, sizeof(*dep));
	size_t n = 0;
	int rc = -1;

	set->order = calloc(set->nrules + 1, sizeof(*set->order));
	if (mark == NULL || stack == NULL || dep == NULL ||
	    set->order == NULL) {
		sr_error(ld, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < set->nrules; i++)
		if (set->rules[i].type != SR_META) {
			set->order[n++] = i;
			mark[i] = 2;
		}
	/* depth-first over the meta dependency graph, without recursion */
	for (size_t i = 0; i < set->nrules; i++) {
		size_t sp = 0;

		if (mark[i] != 0)
			continue;
		stack[sp] = i;
		dep[sp++] = 0;
		mark[i] = 1;
		while (sp > 0) {
			struct sr_rule *r = &set->rules[stack[sp - 1]];
			size_t nd;
			const long *deps = sr_meta_deps(r->meta, &nd);

			if (dep[sp - 1] < nd) {
				long d = deps[dep[sp - 1]++];

				if (d < 0 || mark[d] == 2)
					continue;
				if (mark[d] == 1) {
					ld->file = r->file;
					ld->line = r->line;
					sr_error(ld,
						 "meta test %s depends on "
						 "itself",
						 r->name);
					goto out;
				}
				mark[d] = 1;
				stack[sp] = (size_t)d;
				dep[sp++] = 0;
				continue;
			}
			mark[stack[sp - 1]] = 2;
			set->order[n++] = stack[--sp];
		}
	}
	rc = 0;
out:
	free(mark);
	free(stack);
	free(dep);
	return rc;
}

/* sr_finish - scores, descriptions and meta links onto the rules */
static int
sr_finish(struct sr_load *ld)
{
	struct sr_set *set = ld->set;

	for (size_t i = 0; i < set->nrules; i++) {
		struct sr_rule *r = &set->rules[i];
		const struct sr_note *note = NULL;

		for (size_t k = 0; k < ld->nnotes && note == NULL; k++)
			if (strcmp(ld->notes[k].name, r->name) == 0)
				note = &ld->notes[k];
		r->nice = note != NULL && note->nice;
		if (note != NULL && note->has_score) {
			r->score = note->score;
		} else {
			/* SpamAssassin's defaults: T_ rules 0.01, others 1 */
			r->score = strncmp(r->name, "T_", 2) == 0 ? 0.01 : 1.0;
			if (r->nice)
				r->score = -r->score;
		}
		if (note != NULL && note->text != NULL &&
		    (r->describe = strdup(note->text)) == NULL)
			return sr_error(ld, "out of memory");
		if (r->type == SR_META && sr_meta_resolve(r->meta, set) != 0)
			return sr_error(ld, "out of memory");
	}
	return sr_order(ld);
}

/* sr_begin - a new empty set in ld */
static int
sr_begin(struct sr_load *ld, char *err, size_t errlen)
{
	memset(ld, 0, sizeof(*ld));
	ld->err = err;
	ld->errlen = errlen;
	ld->file = "";
	if ((ld->set = calloc(1, sizeof(*ld->set))) == NULL ||
	    (ld->set->mctx = pcre2_match_context_create(NULL)) == NULL) {
		free(ld->set);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pcre2_set_match_limit(ld->set->mctx, SR_MATCH_LIMIT);
	return 0;
}

/* sr_end - finish or discard the set; frees the notes */
static int
sr_end(struct sr_load *ld, int rc, struct sr_set **out)
{
	if (rc == 0)
		rc = sr_finish(ld);
	for (size_t i = 0; i < ld->nnotes; i++) {
		free(ld->notes[i].name);
		free(ld->notes[i].text);
	}
	free(ld->notes);
	if (rc != 0) {
		sr_free(ld->set);
		*out = NULL;
		return -1;
	}
	*out = ld->set;
	return 0;
}

/* sr_load_files - read files in the order given */
int
sr_load_files(const char *const *files, size_t nfiles, struct sr_set **out,
	      char *err, size_t errlen)
{
	struct sr_load ld;
	int rc = 0;

	*out = NULL;
	if (sr_begin(&ld, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < nfiles && rc == 0; i++)
		rc = sr_load_file(&ld, files[i]);
	return sr_end(&ld, rc, out);
}

/* sr_cmp - qsort order of file names */
static int
sr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sr_load_dir - every *.cf of dir, in name order */
int
sr_load_dir(const char *dir, struct sr_set **out, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **files = NULL;
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	err[0] = '\0';
	if (d == NULL) {
		snprintf(err, errlen, "RulesDir %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 4 || strcmp(de->d_name + l - 3, ".cf") != 0 ||
		    de->d_name[0] == '.')
			continue;
		if (sb_array_room(&files, n, sizeof(*files)) != 0)
			goto out;
		{
			struct strbuf path = STRBUF_INIT;

			sb_printf(&path, "%s/%s", dir, de->d_name);
			if ((files[n] = sb_steal(&path)) == NULL)
				goto out;
		}
		n++;
	}
	qsort(files, n, sizeof(*files), sr_cmp);
	rc = sr_load_files((const char *const *)files, n, out, err, errlen);
out:
	if (rc != 0 && *out == NULL && err[0] == '\0')
		snprintf(err, errlen, "%s: out of memory", dir);
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	return rc;
}

/* sr_free - free a set */
void
sr_free(struct sr_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->nrules; i++)
		sr_rule_clear(&set->rules[i]);
	free(set->rules);
	free(set->order);
	pcre2_match_context_free(set->mctx);
	free(set);
}
