/*
 * config_sign.c - the signing part of authtag.conf, with opendkim's key
 * names so that an opendkim.conf's signing lines carry over
 *
 * Owns the parsers of Domain, Selector, KeyFile, KeyTable, SigningTable,
 * MultipleSignatures, SignHeaders, OversignHeaders, OmitHeaders,
 * Canonicalization, SignatureTTL, SubDomains, MinimumKeyBits,
 * RequireSafeKeys, SigningRequireAuthDomain, InternalHosts, PeerList and
 * ExternalIgnoreList, the ARC sealing keys (ARCSign, ARCSignDomain,
 * ARCSignSelector, ARCSignKeyFile, ARCSignKey, ARCSealMail,
 * ARCSealArrivalResults, ARCAuthResComments,
 * ARCTrustedSealers), and
 * freeing what they hold. Client lists are read
 * here (a bad entry is an error naming its file and line); the key and
 * signing tables are read when the engine is built, where the keys are
 * loaded (lib/auth/dkim_signtab.c).
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dataset.h"
#include "hostlist.h"

/* config_hostlist - replace *slot with the list spec names; why points
 * at a static buffer holding the file and line of a bad entry */
static int
config_hostlist(struct hostlist **slot, const char *v, const char **why)
{
	static __thread char msg[512];
	struct hostlist *hl;

	if (hostlist_load(v, &hl, msg, sizeof(msg)) != 0) {
		*why = msg;
		return -1;
	}
	hostlist_free(*slot);
	*slot = hl;
	return 0;
}

static int
key_domain(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->sign_domain, v, why);
}

static int
key_selector(struct config *cfg, const char *v, const char **why)
{
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		      *p == '_')) {
			*why = "expected a selector (letters, digits, '-', "
			       "'.')";
			return -1;
		}
	return config_strdup_into(&cfg->sign_selector, v, why);
}

static int
key_keyfile(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->sign_keyfile, v, why);
}

static int
key_key_table(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->key_table, v, why);
}

static int
key_signing_table(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->signing_table, v, why);
}

static int
key_multiple(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->multiple_signatures, why);
}

static int
key_sign_headers(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->sign_headers, v, why);
}

static int
key_oversign(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->oversign_headers, v, why);
}

static int
key_omit(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->omit_headers, v, why);
}

/* config_canon_word - "simple" or "relaxed" */
static int
config_canon_word(const char *w, size_t len, enum sign_canon *out)
{
	if (len == 6 && strncasecmp(w, "simple", 6) == 0)
		*out = SIGN_CANON_SIMPLE;
	else if (len == 7 && strncasecmp(w, "relaxed", 7) == 0)
		*out = SIGN_CANON_RELAXED;
	else
		return -1;
	return 0;
}

static int
key_canon(struct config *cfg, const char *v, const char **why)
{
	const char *slash = strchr(v, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - v) : strlen(v);

	/* opendkim: one word applies to the header; the body is simple */
	cfg->sign_bcanon = SIGN_CANON_SIMPLE;
	if (config_canon_word(v, hlen, &cfg->sign_hcanon) != 0 ||
	    (slash != NULL && config_canon_word(slash + 1, strlen(slash + 1),
						&cfg->sign_bcanon) != 0)) {
		*why = "expected simple, relaxed, or header/body such as "
		       "relaxed/simple";
		return -1;
	}
	return 0;
}

static int
key_ttl(struct config *cfg, const char *v, const char **why)
{
	return config_parse_uint(v, 0, 366u * 86400, &cfg->signature_ttl,
				 why);
}

static int
key_sub_domains(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->sub_domains, why);
}

static int
key_min_bits(struct config *cfg, const char *v, const char **why)
{
	if (cfg->min_key_bits_set) {
		*why = "DKIMMinKeyBits and MinimumKeyBits both given";
		return -1;
	}
	cfg->min_key_bits_set = true;
	if (strcmp(v, "0") == 0) {
		*why = "0 (accept every key) is not offered: RFC 8301 forbids "
		       "keys under 1024 bits; 512 is the least";
		return -1;
	}
	return config_parse_uint(v, 512, 16384, &cfg->dkim_min_key_bits, why);
}

static int
key_safe_keys(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->require_safe_keys, why);
}

static int
key_auth_domain(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->sign_require_auth_domain, why);
}

static int
key_internal(struct config *cfg, const char *v, const char **why)
{
	return config_hostlist(&cfg->internal_hosts, v, why);
}

static int
key_peers(struct config *cfg, const char *v, const char **why)
{
	return config_hostlist(&cfg->peer_list, v, why);
}

static int
key_external(struct config *cfg, const char *v, const char **why)
{
	return config_hostlist(&cfg->external_ignore, v, why);
}

static int
key_arc_sign(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->arc_sign, why);
}

static int
key_arc_domain(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->arc_sign_domain, v, why);
}

static int
key_arc_selector(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->arc_sign_selector, v, why);
}

static int
key_arc_keyfile(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->arc_sign_keyfile, v, why);
}

static int
key_arc_key(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->arc_sign_key, v, why);
}

static int
key_arc_seal_mail(struct config *cfg, const char *v, const char **why)
{
	/* inbound: mail from outside that we checked (forwarders);
	 * submitted: our users' (a list manager's resubmissions); all */
	cfg->arc_seal_inbound = strcasecmp(v, "inbound") == 0 ||
				strcasecmp(v, "all") == 0;
	cfg->arc_seal_submitted = strcasecmp(v, "submitted") == 0 ||
				  strcasecmp(v, "all") == 0;
	if (!cfg->arc_seal_inbound && !cfg->arc_seal_submitted) {
		*why = "expected inbound, submitted or all";
		return -1;
	}
	return 0;
}

static int
key_arc_arrival(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->arc_arrival_results, why);
}

static int
key_arc_comments(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->arc_ar_comments, why);
}

static int
key_arc_trusted(struct config *cfg, const char *v, const char **why)
{
	static __thread char msg[512];
	struct dataset *ds;
	char **list;

	if (dataset_load(v, &ds, msg, sizeof(msg)) != 0) {
		*why = msg;
		return -1;
	}
	if ((list = calloc(ds->n + 1, sizeof(*list))) == NULL) {
		dataset_free(ds);
		*why = "out of memory";
		return -1;
	}
	for (size_t i = 0; i < ds->n; i++) {
		char *d = ds->entries[i].key;

		for (char *q = d; *q; q++) {
			if (!isalnum((unsigned char)*q) && *q != '.' &&
			    *q != '-' && *q != '_') {
				snprintf(msg, sizeof(msg),
					 "%s is not a domain name", d);
				*why = msg;
				for (size_t k = 0; k < i; k++)
					free(list[k]);
				free(list);
				dataset_free(ds);
				return -1;
			}
			*q = (char)tolower((unsigned char)*q);
		}
		list[i] = d;
		ds->entries[i].key = NULL; /* now the list's */
	}
	for (size_t i = 0; i < cfg->narc_trusted; i++)
		free(cfg->arc_trusted[i]);
	free(cfg->arc_trusted);
	cfg->arc_trusted = list;
	cfg->narc_trusted = ds->n;
	dataset_free(ds);
	return 0;
}

const struct config_key config_sign_keys[] = {
    {"ARCTrustedSealers", key_arc_trusted, false},
    {"ARCAuthResComments", key_arc_comments, false},
    {"ARCSealArrivalResults", key_arc_arrival, false},
    {"ARCSealMail", key_arc_seal_mail, false},
    {"ARCSign", key_arc_sign, false},
    {"ARCSignDomain", key_arc_domain, false},
    {"ARCSignKey", key_arc_key, false},
    {"ARCSignKeyFile", key_arc_keyfile, false},
    {"ARCSignSelector", key_arc_selector, false},
    {"Canonicalization", key_canon, false},
    {"Domain", key_domain, false},
    {"ExternalIgnoreList", key_external, false},
    {"InternalHosts", key_internal, false},
    {"KeyFile", key_keyfile, false},
    {"KeyTable", key_key_table, false},
    {"MinimumKeyBits", key_min_bits, false},
    {"MultipleSignatures", key_multiple, false},
    {"OmitHeaders", key_omit, false},
    {"OversignHeaders", key_oversign, false},
    {"PeerList", key_peers, false},
    {"RequireSafeKeys", key_safe_keys, false},
    {"Selector", key_selector, false},
    {"SignatureTTL", key_ttl, false},
    {"SignHeaders", key_sign_headers, false},
    {"SigningRequireAuthDomain", key_auth_domain, false},
    {"SigningTable", key_signing_table, false},
    {"SubDomains", key_sub_domains, false},
};

const size_t config_sign_nkeys =
    sizeof(config_sign_keys) / sizeof(config_sign_keys[0]);

_Static_assert(sizeof(config_sign_keys) / sizeof(config_sign_keys[0]) <=
		   CONFIG_SIGN_KEYS_MAX,
	       "raise CONFIG_SIGN_KEYS_MAX");

/* config_free_signing - free the signing part */
void
config_free_signing(struct config *cfg)
{
	free(cfg->sign_domain);
	free(cfg->sign_selector);
	free(cfg->sign_keyfile);
	free(cfg->key_table);
	free(cfg->signing_table);
	free(cfg->sign_headers);
	free(cfg->oversign_headers);
	free(cfg->omit_headers);
	for (size_t i = 0; i < cfg->narc_trusted; i++)
		free(cfg->arc_trusted[i]);
	free(cfg->arc_trusted);
	free(cfg->arc_sign_domain);
	free(cfg->arc_sign_selector);
	free(cfg->arc_sign_keyfile);
	free(cfg->arc_sign_key);
	hostlist_free(cfg->internal_hosts);
	hostlist_free(cfg->peer_list);
	hostlist_free(cfg->external_ignore);
}
