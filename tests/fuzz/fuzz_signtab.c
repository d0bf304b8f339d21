/*
 * fuzz_signtab.c - libFuzzer harness for the signing configuration's
 * parsers: opendkim datasets (dataset.c), client lists (hostlist.c) and
 * KeyTable/SigningTable (lib/auth/dkim_signtab.c)
 *
 * Input: a flags byte, then NUL-separated pieces: KeyTable text,
 * SigningTable text, a client list, a From local part and domain. The
 * tables are written to files and loaded as a file or refile: table (the
 * flags say which, and MultipleSignatures); the list is loaded inline.
 * Loading must give a table or an error message, never a crash or a
 * leak; a loaded table's lookups must give at most DKIM_SIGN_MAX choices
 * or a reason, and every choice a key, d= and s=.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/dkim_signtab.h"
#include "config.h"
#include "fuzz_common.h"
#include "hostlist.h"

#define FZ_MAX_INPUT 65536

static char fz_kt[64], fz_st[64];

/* fz_write - text into path; -1 on error */
static int
fz_write(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		return -1;
	fputs(text, fp);
	return fclose(fp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	struct dkim_signchoice c[DKIM_SIGN_MAX];
	struct dkim_signtab *tab;
	struct hostlist *hl = NULL;
	struct config *cfg;
	char err[1024], why[512], spec[80];
	char *kt, *st, *list, *local, *domain;
	unsigned flags;
	int n;

	if (size > FZ_MAX_INPUT)
		return 0;
	if (fz_kt[0] == '\0') {
		snprintf(fz_kt, sizeof(fz_kt), "/tmp/fuzz_signtab.%d.kt", getpid());
		snprintf(fz_st, sizeof(fz_st), "/tmp/fuzz_signtab.%d.st", getpid());
	}
	flags = fz_byte(&in);
	kt = fz_str(&in);
	st = fz_str(&in);
	list = fz_str(&in);
	local = fz_str(&in);
	domain = fz_str(&in);
	if (kt == NULL || st == NULL || list == NULL || local == NULL ||
	    domain == NULL || (cfg = config_new_defaults()) == NULL)
		goto out;
	if (hostlist_load(list, &hl, err, sizeof(err)) == 0) {
		(void)hostlist_match(hl, "192.0.2.1", domain);
		(void)hostlist_match(hl, "2001:db8::1", local);
		(void)hostlist_match(hl, "::ffff:127.0.0.1", NULL);
	} else if (memchr(err, '\0', sizeof(err)) == NULL) {
		abort();
	}
	if (fz_write(fz_kt, kt) != 0 || fz_write(fz_st, st) != 0)
		goto cfg;
	snprintf(spec, sizeof(spec), "%s%s", flags & 1 ? "refile:" : "", fz_st);
	cfg->key_table = strdup(fz_kt);
	cfg->signing_table = strdup(spec);
	cfg->multiple_signatures = flags & 2;
	if ((tab = dkim_signtab_new(cfg, err, sizeof(err))) == NULL) {
		if (memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		goto cfg;
	}
	n = dkim_signtab_select(tab, local, domain, c, DKIM_SIGN_MAX, why,
				sizeof(why));
	if (n > DKIM_SIGN_MAX)
		abort();
	for (int i = 0; i < n; i++) {
		if (c[i].key == NULL || c[i].domain[0] == '\0' ||
		    c[i].selector[0] == '\0')
			abort();
		dkim_signchoice_free(&c[i]);
	}
	dkim_signtab_free(tab);
cfg:
	config_free(cfg);
out:
	hostlist_free(hl);
	free(kt);
	free(st);
	free(list);
	free(local);
	free(domain);
	return 0;
}
