/*
 * dataset.c - opendkim's "dataset" values, so that an opendkim.conf's
 * KeyTable, SigningTable, InternalHosts and header lists carry over
 *
 * Owns reading one dataset into memory: a flat file ("file:" or a path
 * starting with '/'), a wildcard pattern file ("refile:") or an inline
 * list ("csl:" or anything else). Only the kinds that need no database
 * are supported; the others are an error that names them. Lines longer
 * than DATASET_LINE_MAX and files with more than DATASET_MAX_ENTRIES
 * entries are errors with the line, not silently cut.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"

#define DATASET_LINE_MAX    8192
#define DATASET_MAX_ENTRIES 1000000

/* dataset_add - append key/value (copied; value may be NULL) */
static int
dataset_add(struct dataset *ds, size_t *cap, const char *key, const char *value,
	    unsigned line)
{
	struct dataset_entry *e;

	if (ds->n >= DATASET_MAX_ENTRIES)
		return -1;
	if (ds->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct dataset_entry *grown =
		    reallocarray(ds->entries, ncap, sizeof(*grown));

		if (grown == NULL)
			return -1;
		ds->entries = grown;
		*cap = ncap;
	}
	e = &ds->entries[ds->n];
	e->line = line;
	e->key = strdup(key);
	e->value = value != NULL ? strdup(value) : NULL;
	if (e->key == NULL || (value != NULL && e->value == NULL)) {
		free(e->key);
		free(e->value);
		return -1;
	}
	ds->n++;
	return 0;
}

/* dataset_trim - strip blanks at both ends, in place */
char *
dataset_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* dataset_line - the next line with text, comment and blanks removed */
int
dataset_line(FILE *fp, char *buf, size_t size, unsigned *lineno, char **text)
{
	while (fgets(buf, (int)size, fp) != NULL) {
		char *hash;

		(*lineno)++;
		if (strchr(buf, '\n') == NULL && !feof(fp))
			return -1;
		if ((hash = strchr(buf, '#')) != NULL)
			*hash = '\0';
		*text = dataset_trim(buf);
		if (**text != '\0')
			return 1;
	}
	return ferror(fp) ? -2 : 0;
}

/* dataset_read_file - the lines of a flat or pattern file */
static int
dataset_read_file(struct dataset *ds, const char *path, char *err,
		  size_t errlen)
{
	char line[DATASET_LINE_MAX], *text;
	unsigned lineno = 0;
	size_t cap = 0;
	int rc;
	FILE *fp = fopen(path, "re");

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((rc = dataset_line(fp, line, sizeof(line), &lineno, &text)) ==
	       1) {
		char *value = NULL;
		size_t klen = strcspn(text, " \t");

		if (text[klen] != '\0') {
			text[klen] = '\0';
			value = dataset_trim(text + klen + 1);
		}
		if (dataset_add(ds, &cap, text, value, lineno) != 0) {
			snprintf(err, errlen, "%s:%u: out of memory or too "
					      "many entries",
				 path, lineno);
			goto fail;
		}
	}
	if (rc == -1) {
		snprintf(err, errlen, "%s:%u: line too long", path, lineno);
		goto fail;
	}
	if (rc == -2) {
		snprintf(err, errlen, "%s: read error", path);
		goto fail;
	}
	fclose(fp);
	return 0;
fail:
	fclose(fp);
	return -1;
}

/* dataset_read_list - the items of an inline list, "a,b=c" */
static int
dataset_read_list(struct dataset *ds, const char *list, char *err,
		  size_t errlen)
{
	char *copy = strdup(list), *save = NULL, *item;
	unsigned pos = 0;
	size_t cap = 0;
	int rc = 0;

	if (copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (item = strtok_r(copy, ",", &save); item != NULL && rc == 0;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq, *value = NULL;

		pos++;
		item = dataset_trim(item);
		if (*item == '\0')
			continue;
		if ((eq = strchr(item, '=')) != NULL) {
			*eq = '\0';
			value = dataset_trim(eq + 1);
			item = dataset_trim(item);
		}
		if ((rc = dataset_add(ds, &cap, item, value, pos)) != 0)
			snprintf(err, errlen, "out of memory");
	}
	free(copy);
	return rc;
}

/* dataset_load - read the dataset spec names */
int
dataset_load(const char *spec, struct dataset **out, char *err, size_t errlen)
{
	static const char *databases[] = {"db:",  "dsn:",      "ldap:",
					  "ldaps:", "ldapi:",  "lua:",
					  "memcache:", "mdb:", "erlang:"};
	struct dataset *ds;
	const char *path = NULL;
	size_t len = strlen(spec);
	int rc;

	*out = NULL;
	for (size_t i = 0; i < sizeof(databases) / sizeof(databases[0]); i++)
		if (strncasecmp(spec, databases[i], strlen(databases[i])) ==
		    0) {
			snprintf(err, errlen,
				 "%s: dataset type %s is not supported: use "
				 "a file, refile: or csl:",
				 spec, databases[i]);
			return -1;
		}
	if (len > 3 && strcasecmp(spec + len - 3, ".db") == 0) {
		snprintf(err, errlen,
			 "%s: Berkeley DB datasets are not supported: use a "
			 "file",
			 spec);
		return -1;
	}
	if ((ds = calloc(1, sizeof(*ds))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (strncasecmp(spec, "refile:", 7) == 0) {
		ds->kind = DATASET_REFILE;
		path = spec + 7;
	} else if (strncasecmp(spec, "file:", 5) == 0) {
		ds->kind = DATASET_FILE;
		path = spec + 5;
	} else if (spec[0] == '/') {
		ds->kind = DATASET_FILE;
		path = spec;
	} else {
		ds->kind = DATASET_LIST;
	}
	ds->where = strdup(path != NULL ? path : "inline list");
	if (ds->where == NULL) {
		snprintf(err, errlen, "out of memory");
		dataset_free(ds);
		return -1;
	}
	if (path != NULL)
		rc = dataset_read_file(ds, path, err, errlen);
	else
		rc = dataset_read_list(
		    ds, strncasecmp(spec, "csl:", 4) == 0 ? spec + 4 : spec,
		    err, errlen);
	if (rc != 0) {
		dataset_free(ds);
		return -1;
	}
	*out = ds;
	return 0;
}

/* dataset_free - free a dataset */
void
dataset_free(struct dataset *ds)
{
	if (ds == NULL)
		return;
	for (size_t i = 0; i < ds->n; i++) {
		free(ds->entries[i].key);
		free(ds->entries[i].value);
	}
	free(ds->entries);
	free(ds->where);
	free(ds);
}

/*
 * dataset_wildcard - '*' matches any run; the classic two-pointer walk
 * with one backtrack point, so the cost is bounded by the product of
 * the lengths, never exponential
 */
bool
dataset_wildcard(const char *pattern, const char *text)
{
	const char *star = NULL, *resume = NULL;

	while (*text != '\0') {
		if (*pattern == '*') {
			star = pattern++;
			resume = text;
		} else if (*pattern != '\0' &&
			   tolower((unsigned char)*pattern) ==
			       tolower((unsigned char)*text)) {
			pattern++;
			text++;
		} else if (star != NULL) {
			pattern = star + 1;
			text = ++resume;
		} else {
			return false;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}
