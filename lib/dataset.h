/*
 * dataset.h - opendkim's "dataset" values: a flat file, a wildcard
 * pattern file or an inline comma-separated list (see dataset.c)
 */
#ifndef AUTHTAG_DATASET_H
#define AUTHTAG_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum dataset_kind {
	DATASET_FILE,   /* "file:/path" or "/path": exact keys */
	DATASET_REFILE, /* "refile:/path": keys are '*' wildcard patterns */
	DATASET_LIST,   /* "csl:a,b=c" or "a,b=c": inline */
};

struct dataset_entry {
	char *key;
	char *value;   /* what follows the key, or NULL when nothing does */
	unsigned line; /* line in the file, or position in the list */
};

struct dataset {
	enum dataset_kind kind;
	char *where; /* the file, or "inline list", for messages */
	struct dataset_entry *entries;
	size_t n;
};

/*
 * dataset_load - read the dataset spec names
 *
 * Lines (or list items) are "key" or "key value" ("key=value" in a
 * list); '#' starts a comment in a file. Database types opendkim may be
 * built with (db:, dsn:, ldap:, lua:, memcache:, mdb:, erlang:) are an
 * error that says so. Returns 0 and *out, or -1 with "file:line: why"
 * in err.
 */
int dataset_load(const char *spec, struct dataset **out, char *err,
		 size_t errlen);

/* dataset_free - free a dataset */
void dataset_free(struct dataset *ds);

/*
 * dataset_line - the next line of an opendkim-style file (authtag.conf,
 * a dataset) that has text once '#' comments and blanks at both ends are
 * gone: 1 with *text in buf, 0 at the end, -1 for a line longer than
 * size, -2 on a read error; *lineno counts every line read
 */
int dataset_line(FILE *fp, char *buf, size_t size, unsigned *lineno,
		 char **text);

/* dataset_trim - strip blanks at both ends of s, in place */
char *dataset_trim(char *s);

/* dataset_wildcard - does text match pattern ('*' any run of
 * characters, otherwise equal without regard to ASCII case)? */
bool dataset_wildcard(const char *pattern, const char *text);

#endif
