/*
 * dmarc_psl.h - the Public Suffix List, for RFC 7489 Organizational Domains
 *
 * dmarc_psl.c owns one loaded copy of a public_suffix_list.dat file and
 * the PSL algorithm (normal, wildcard and exception rules; "*" when
 * nothing matches). A loaded list is read-only and may be shared by
 * every thread.
 */
#ifndef AUTHTAG_DMARC_PSL_H
#define AUTHTAG_DMARC_PSL_H

#include <stddef.h>

struct dmarc_psl;

/*
 * dmarc_psl_load - read a list file; NULL with a reason in err
 *
 * Rules in U-label form are stored as A-labels, so lookups work for
 * either form. A rule that is not a valid name is skipped.
 */
struct dmarc_psl *dmarc_psl_load(const char *path, char *err, size_t errlen);

/* dmarc_psl_free - release a loaded list */
void dmarc_psl_free(struct dmarc_psl *psl);

/* dmarc_psl_rules - how many rules were loaded */
size_t dmarc_psl_rules(const struct dmarc_psl *psl);

/*
 * dmarc_psl_org_domain - the registrable domain (RFC 7489 3.2)
 *
 * The public suffix of domain plus one label, written to out in the
 * form domain was given (U- or A-labels), lower-cased, without a final
 * dot. Returns 0, or -1 when domain is itself a public suffix, is not a
 * valid name, or does not fit.
 */
int dmarc_psl_org_domain(const struct dmarc_psl *psl, const char *domain,
			 char *out, size_t outlen);

#endif
