/*
 * config_outbound.c - authtag.conf: outbound quotas and learned welcome
 *
 * Owns the keys of lib/outbound/: OutboundQuota (count per fixed
 * window), OutboundQuotaAuth, OutboundQuotaUser (repeatable),
 * OutboundQuotaExempt, QuotaAlertTo, PostsuperPath, LearnWelcome and
 * LearnedWelcomeTTL.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

/* key_quota - "COUNT/WINDOW", e.g. 100/1h; 0 turns quotas off */
static int
key_quota(struct config *cfg, const char *v, const char **why)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (strcmp(v, "0") == 0 || strcasecmp(v, "none") == 0) {
		cfg->quota_limit = 0;
		return 0;
	}
	if (end == v || !isdigit((unsigned char)v[0]) || *end != '/') {
		*why = "not COUNT/WINDOW (e.g. 100/1h), 0 or none";
		return -1;
	}
	if (n == 0 || n > 10000000) {
		*why = "count out of range (1 to 10000000)";
		return -1;
	}
	cfg->quota_limit = (unsigned)n;
	return config_parse_seconds(end + 1, 1, 30 * 86400, &cfg->quota_window,
				    why);
}

static int
key_quota_auth(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->quota_auth, why);
}

/* co_lower - a lower-case copy; NULL on no memory */
static char *
co_lower(const char *v, size_t len)
{
	char *c = strndup(v, len);

	for (char *p = c; p != NULL && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return c;
}

/* key_quota_user - "NAME LIMIT": that user's count per window */
static int
key_quota_user(struct config *cfg, const char *v, const char **why)
{
	size_t nlen = strcspn(v, " \t");
	const char *lim = v + nlen;
	struct config_quota_user *u;
	unsigned n;

	while (*lim == ' ' || *lim == '\t')
		lim++;
	if (nlen == 0 || *lim == '\0') {
		*why = "not NAME LIMIT (e.g. www-data 500)";
		return -1;
	}
	if (config_parse_uint(lim, 0, 10000000, &n, why) != 0)
		return -1;
	u = realloc(cfg->quota_users, (cfg->nquota_users + 1) * sizeof(*u));
	if (u == NULL) {
		*why = "out of memory";
		return -1;
	}
	cfg->quota_users = u;
	u += cfg->nquota_users;
	if ((u->name = co_lower(v, nlen)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	u->limit = n;
	cfg->nquota_users++;
	return 0;
}

/* key_quota_exempt - names (login, SASL login) or sender addresses,
 * comma or space separated; lower-cased */
static int
key_quota_exempt(struct config *cfg, const char *v, const char **why)
{
	return config_add_words(&cfg->quota_exempt, &cfg->nquota_exempt, v,
				why);
}

static int
key_alert_to(struct config *cfg, const char *v, const char **why)
{
	const char *at = strchr(v, '@');

	if (at == NULL || at == v || at[1] == '\0' ||
	    strpbrk(v, " \t<>\",;") != NULL) {
		*why = "not a bare address (postmaster@example.org)";
		return -1;
	}
	return config_strdup_into(&cfg->quota_alert_to, v, why);
}

static int
key_postsuper(struct config *cfg, const char *v, const char **why)
{
	if (v[0] != '/') {
		*why = "not an absolute path";
		return -1;
	}
	return config_strdup_into(&cfg->postsuper_path, v, why);
}

static int
key_learn(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->learn_welcome, why);
}

static int
key_learn_ttl(struct config *cfg, const char *v, const char **why)
{
	return config_parse_seconds(v, 1, 3660u * 86400, &cfg->learn_welcome_ttl,
				    why);
}

const struct config_key config_outbound_keys[] = {
    {"LearnWelcome", key_learn, false},
    {"LearnedWelcomeTTL", key_learn_ttl, false},
    {"OutboundQuota", key_quota, false},
    {"OutboundQuotaAuth", key_quota_auth, false},
    {"OutboundQuotaExempt", key_quota_exempt, true},
    {"OutboundQuotaUser", key_quota_user, true},
    {"PostsuperPath", key_postsuper, false},
    {"QuotaAlertTo", key_alert_to, false},
};

const size_t config_outbound_nkeys =
    sizeof(config_outbound_keys) / sizeof(config_outbound_keys[0]);

_Static_assert(sizeof(config_outbound_keys) /
			   sizeof(config_outbound_keys[0]) <=
		   CONFIG_OUTBOUND_KEYS_MAX,
	       "raise CONFIG_OUTBOUND_KEYS_MAX");

/* config_outbound_defaults - the defaults of these keys; -1 no memory */
int
config_outbound_defaults(struct config *cfg)
{
	const char *why;

	cfg->learn_welcome_ttl = 180 * 86400;
	return config_strdup_into(&cfg->postsuper_path, "/usr/sbin/postsuper",
				  &why);
}

/* config_quota_limit - the count per window for a user (its
 * OutboundQuotaUser line, else OutboundQuota) */
unsigned
config_quota_limit(const struct config *cfg, const char *user)
{
	for (size_t i = 0; i < cfg->nquota_users; i++)
		if (strcasecmp(cfg->quota_users[i].name, user) == 0)
			return cfg->quota_users[i].limit;
	return cfg->quota_limit;
}

/* config_quota_exempt - is this user or sender in OutboundQuotaExempt? */
bool
config_quota_exempt(const struct config *cfg, const char *user,
		    const char *sender)
{
	for (size_t i = 0; i < cfg->nquota_exempt; i++) {
		const char *e = cfg->quota_exempt[i];

		if ((user != NULL && strcasecmp(e, user) == 0) ||
		    (sender != NULL && strchr(e, '@') != NULL &&
		     strcasecmp(e, sender) == 0))
			return true;
	}
	return false;
}

/* config_free_outbound - free the outbound part */
void
config_free_outbound(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nquota_users; i++)
		free(cfg->quota_users[i].name);
	free(cfg->quota_users);
	for (size_t i = 0; i < cfg->nquota_exempt; i++)
		free(cfg->quota_exempt[i]);
	free(cfg->quota_exempt);
	free(cfg->quota_alert_to);
	free(cfg->postsuper_path);
}
