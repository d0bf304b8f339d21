/*
 * userprefs_int.h - the parsed form of a user_prefs file (lib/score/ only)
 *
 * Shared by userprefs.c, which parses and evaluates it, and
 * userprefs_cache.c, which keeps parsed files reference counted.
 */
#ifndef AUTHTAG_USERPREFS_INT_H
#define AUTHTAG_USERPREFS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "userprefs.h"

enum up_list {
	UP_WELCOME = 0, /* welcomelist_from */
	UP_BLOCK,       /* blocklist_from */
	UP_AUTH,        /* welcomelist_auth: SPF or DKIM */
	UP_SPF,         /* welcomelist_from_spf */
	UP_DKIM,        /* welcomelist_from_dkim ADDR [SDID] */
	UP_NLISTS,
};

struct up_entry {
	char *glob; /* lower case */
	char *sdid; /* UP_DKIM only: "" = the author's domain */
};

struct up_score {
	char *rule;
	double score;
};

struct userprefs {
	struct up_entry *lists[UP_NLISTS];
	size_t nlists[UP_NLISTS];
	struct up_score *scores;
	size_t nscores;
	bool has_required;
	double required;
	unsigned refs; /* under the cache lock; 0 for uncached prefs */
};

/* up_lower - lower-case a string in place; it is returned */
char *up_lower(char *s);

#endif
