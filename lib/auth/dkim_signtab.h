/*
 * dkim_signtab.h - which keys sign a message: opendkim's KeyTable and
 * SigningTable, or Domain/Selector/KeyFile (see dkim_signtab.c)
 */
#ifndef AUTHTAG_DKIM_SIGNTAB_H
#define AUTHTAG_DKIM_SIGNTAB_H

#include <stdbool.h>
#include <stddef.h>

#include "dkim_sign.h"
#include "result.h"

struct config;
struct dkim_signtab;

#define DKIM_SIGN_MAX 8 /* signatures one message gets, at most */

/* one signature to make: the key and the tags it signs with */
struct dkim_signchoice {
	const struct dkim_signkey *key; /* the table's, or owned */
	struct dkim_signkey *owned;     /* read for this message ('%') */
	char keyname[RES_SELECTOR_MAX];
	char domain[RES_DOMAIN_MAX];     /* d= */
	char selector[RES_SELECTOR_MAX]; /* s= */
	char identity[RES_ADDRESS_MAX];  /* i=, "" for none */
};

/*
 * dkim_signtab_new - read the tables and keys cfg names
 *
 * Every key file is read now (a key path holding '%' is read per
 * message), so a missing or unreadable key, an unknown key name or a
 * syntax error is an error here with file and line. Warnings (a key
 * readable by others, settings that opendkim would ignore) go to
 * dkim_signtab_warnings. With no signing configured the table is
 * inactive. NULL + err.
 */
struct dkim_signtab *dkim_signtab_new(const struct config *cfg, char *err,
				      size_t errlen);

/* dkim_signtab_free - free the tables and their keys */
void dkim_signtab_free(struct dkim_signtab *tab);

/* dkim_signtab_active - is any signing configured? */
bool dkim_signtab_active(const struct dkim_signtab *tab);

/* dkim_signtab_warnings - "" or warning lines, each ending in '\n' */
const char *dkim_signtab_warnings(const struct dkim_signtab *tab);

/*
 * dkim_signtab_select - the signatures for a message from local@domain
 * (the From address; domain lower case)
 *
 * Returns how many choices were filled (at most max; one unless
 * MultipleSignatures), 0 with the reason in why ("no signing table
 * match for example.com"), or -1 with why when a matched key could not
 * be used (a '%' key file that is missing). Free each choice with
 * dkim_signchoice_free.
 */
int dkim_signtab_select(const struct dkim_signtab *tab, const char *local,
			const char *domain, struct dkim_signchoice *out,
			size_t max, char *why, size_t whylen);

/* dkim_signchoice_free - free what a choice owns */
void dkim_signchoice_free(struct dkim_signchoice *c);

/* dkim_signtab_opts - the signer's options for a choice (pointers into
 * tab and c: valid while both are) */
void dkim_signtab_opts(const struct dkim_signtab *tab,
		       const struct dkim_signchoice *c,
		       struct dkim_signopts *opts);

/*
 * dkim_signtab_published - call fn for each (d=, s=, key) known before
 * any message (keys whose file name holds '%' and "%" domains of a
 * KeyTable are not), for `authtag -n`'s check of the DNS records
 */
void dkim_signtab_published(const struct dkim_signtab *tab,
			    void (*fn)(void *arg, const char *domain,
				       const char *selector,
				       const struct dkim_signkey *key,
				       const char *where),
			    void *arg);

/* dkim_signtab_named - a KeyTable entry by name (ARCSignKey), when its
 * domain and key are fixed; false when there is none such */
bool dkim_signtab_named(const struct dkim_signtab *tab, const char *name,
			const char **domain, const char **selector,
			const struct dkim_signkey **key);

#endif
