/*
 * config.c - authtag.conf: parse, validate and hold the configuration
 *
 * Owns struct config and its defaults. The format is opendkim.conf's: one
 * "Key value" per line, '#' starts a comment, keys are case-insensitive,
 * booleans are yes/no/true/false/1/0. Every key is described once in
 * config_keys[] with its parser; an unknown key, a repeated key or a bad
 * value is an error that names file, line and key, so an administrator's
 * typo never silently becomes a default.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "build.h"
#include "config.h"
#include "dataset.h"
#include "hostlist.h"

#ifndef PSL_DEFAULT
#define PSL_DEFAULT "/usr/share/publicsuffix/public_suffix_list.dat"
#endif

#ifndef RULES_DIR_DEFAULT
#define RULES_DIR_DEFAULT DATADIR "/rules"
#endif

#define CONFIG_LINE_MAX 4096

/* config_strdup_into - replace *slot with a copy of value */
int
config_strdup_into(char **slot, const char *value, const char **why)
{
	char *copy = strdup(value);

	if (copy == NULL) {
		*why = "out of memory";
		return -1;
	}
	free(*slot);
	*slot = copy;
	return 0;
}

/* config_parse_bool - yes/no and friends */
int
config_parse_bool(const char *value, bool *out, const char **why)
{
	static const char *yes[] = {"yes", "true", "on", "1"};
	static const char *no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	*why = "expected yes or no";
	return -1;
}

/* config_parse_uint - a decimal number in [min, max] */
int
config_parse_uint(const char *value, unsigned min, unsigned max, unsigned *out,
		  const char **why)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || value[0] == '-' ||
	    n < min || n > max) {
		/* the reason names the range; per thread, as *why is
		 * read at once by the caller that reports it */
		static __thread char range[64];

		snprintf(range, sizeof(range),
			 "expected a whole number from %u to %u", min, max);
		*why = range;
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

/* config_split_list - call fn for each comma/space separated item */
static int
config_split_list(const char *value,
		  int (*fn)(struct config *, const char *, const char **),
		  struct config *cfg, const char **why)
{
	char *copy = strdup(value), *save = NULL, *item;
	int rc = 0;

	if (copy == NULL) {
		*why = "out of memory";
		return -1;
	}
	for (item = strtok_r(copy, ", \t", &save); item != NULL && rc == 0;
	     item = strtok_r(NULL, ", \t", &save))
		rc = fn(cfg, item, why);
	free(copy);
	return rc;
}

/* config_add_trusted - append one TrustedNetworks entry */
static int
config_add_trusted(struct config *cfg, const char *item, const char **why)
{
	struct config_net net, *grown;

	if (hostlist_parse_net(item, &net) != 0) {
		*why = "expected an address or address/prefix";
		return -1;
	}
	grown = realloc(cfg->trusted, (cfg->ntrusted + 1) * sizeof(net));
	if (grown == NULL) {
		*why = "out of memory";
		return -1;
	}
	cfg->trusted = grown;
	cfg->trusted[cfg->ntrusted++] = net;
	return 0;
}

/* config_add_forwarder - append one forwarder IP[@port] */
static int
config_add_forwarder(struct config *cfg, const char *item, const char **why)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];
	const char *at = strchr(item, '@');
	size_t alen = at ? (size_t)(at - item) : strlen(item);
	char **grown;
	unsigned port;

	if (alen == 0 || alen >= sizeof(addr))
		goto bad;
	memcpy(addr, item, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, bin) != 1 &&
	    inet_pton(AF_INET6, addr, bin) != 1)
		goto bad;
	if (at != NULL && config_parse_uint(at + 1, 1, 65535, &port, why) != 0)
		goto bad;
	grown =
	    realloc(cfg->forwarders, (cfg->nforwarders + 1) * sizeof(*grown));
	if (grown == NULL) {
		*why = "out of memory";
		return -1;
	}
	cfg->forwarders = grown;
	if ((grown[cfg->nforwarders] = strdup(item)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	cfg->nforwarders++;
	return 0;
bad:
	*why = "expected system, recursive, or forwarders IP[@port],...";
	return -1;
}

/* the parsers of each key, one per line of the table below */

static int
key_authserv_id(struct config *cfg, const char *v, const char **why)
{
	/* the id is written into every header: keep it a plain token */
	if (strlen(v) > 255) {
		*why = "host name too long";
		return -1;
	}
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-_", *p)) {
			*why = "expected a host name";
			return -1;
		}
	return config_strdup_into(&cfg->authserv_id, v, why);
}

static int
key_resolver(struct config *cfg, const char *v, const char **why)
{
	for (size_t i = 0; i < cfg->nforwarders; i++)
		free(cfg->forwarders[i]);
	cfg->nforwarders = 0;
	if (strcasecmp(v, "system") == 0) {
		cfg->resolver = RESOLVER_SYSTEM;
		return 0;
	}
	if (strcasecmp(v, "recursive") == 0) {
		cfg->resolver = RESOLVER_RECURSIVE;
		return 0;
	}
	cfg->resolver = RESOLVER_FORWARD;
	return config_split_list(v, config_add_forwarder, cfg, why);
}

static int
key_resolver_config(struct config *cfg, const char *v, const char **why)
{
	if (access(v, R_OK) != 0) {
		*why = "cannot read that file";
		return -1;
	}
	return config_strdup_into(&cfg->resolver_config, v, why);
}

static int
key_trust_anchor(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->trust_anchor_file, v, why);
}

/* key_dns_cache_size - bytes, with an optional K, M or G suffix */
static int
key_dns_cache_size(struct config *cfg, const char *v, const char **why)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno == 0 && end != v && v[0] != '-') {
		if (*end == 'k' || *end == 'K')
			n <<= 10, end++;
		else if (*end == 'm' || *end == 'M')
			n <<= 20, end++;
		else if (*end == 'g' || *end == 'G')
			n <<= 30, end++;
	}
	if (errno != 0 || end == v || *end != '\0' || v[0] == '-' ||
	    n < (1u << 20) || n > (1ull << 40)) {
		*why = "expected a size from 1M to 1024G (bytes, K, M or G)";
		return -1;
	}
	cfg->dns_cache_size = (size_t)n;
	return 0;
}

static int
key_listen_backlog(struct config *cfg, const char *v, const char **why)
{
	return config_parse_uint(v, 0, 65535, &cfg->listen_backlog, why);
}

static int
key_workers(struct config *cfg, const char *v, const char **why)
{
	return config_parse_uint(v, 1, 1024, &cfg->workers, why);
}

static int
key_resolver_timeout(struct config *cfg, const char *v, const char **why)
{
	return config_parse_uint(v, 1, 300, &cfg->resolver_timeout, why);
}

static int
key_spf_check_helo(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->spf_check_helo, why);
}

static int
key_dkim_max_sigs(struct config *cfg, const char *v, const char **why)
{
	return config_parse_uint(v, 1, 100, &cfg->dkim_max_signatures, why);
}

static int
key_dkim_min_bits(struct config *cfg, const char *v, const char **why)
{
	/* opendkim's MinimumKeyBits (config_sign.c) sets the same */
	if (cfg->min_key_bits_set) {
		*why = "DKIMMinKeyBits and MinimumKeyBits both given";
		return -1;
	}
	cfg->min_key_bits_set = true;
	return config_parse_uint(v, 512, 16384, &cfg->dkim_min_key_bits, why);
}

static int
key_dmarc_standard(struct config *cfg, const char *v, const char **why)
{
	if (strcasecmp(v, "rfc9989") == 0)
		cfg->dmarc_standard = DMARC_RFC9989;
	else if (strcasecmp(v, "rfc7489") == 0)
		cfg->dmarc_standard = DMARC_RFC7489;
	else {
		*why = "expected rfc9989 or rfc7489";
		return -1;
	}
	return 0;
}

static int
key_dmarc_temperror(struct config *cfg, const char *v, const char **why)
{
	if (strcasecmp(v, "accept") == 0)
		cfg->dmarc_temperror = DMARC_TEMPERROR_ACCEPT;
	else if (strcasecmp(v, "tempfail") == 0)
		cfg->dmarc_temperror = DMARC_TEMPERROR_TEMPFAIL;
	else {
		*why = "expected accept or tempfail";
		return -1;
	}
	return 0;
}

static int
key_psl(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->public_suffix_list, v, why);
}

static int
key_trusted(struct config *cfg, const char *v, const char **why)
{
	cfg->ntrusted = 0;
	return config_split_list(v, config_add_trusted, cfg, why);
}

static int
key_metrics_socket(struct config *cfg, const char *v, const char **why)
{
	if (strncmp(v, "inet:", 5) != 0 && strncmp(v, "inet6:", 6) != 0) {
		*why = "not inet:PORT@ADDRESS or inet6:PORT@ADDRESS";
		return -1;
	}
	return config_strdup_into(&cfg->metrics_socket, v, why);
}

static int
key_log_why(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->log_why, why);
}

static int
key_reject_failures(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->reject_failures, why);
}

static int
key_socket(struct config *cfg, const char *v, const char **why)
{
	if (strncmp(v, "unix:", 5) != 0 && strncmp(v, "local:", 6) != 0 &&
	    strncmp(v, "inet:", 5) != 0 && strncmp(v, "inet6:", 6) != 0 &&
	    v[0] != '/') {
		*why = "expected unix:/path, local:/path, inet:port@host or "
		       "inet6:port@host";
		return -1;
	}
	return config_strdup_into(&cfg->socket, v, why);
}

static int
key_user_id(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->user_id, v, why);
}

static int
key_pid_file(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->pid_file, v, why);
}

static int
key_umask(struct config *cfg, const char *v, const char **why)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 8);
	if (errno || end == v || *end || n > 0777) {
		*why = "expected an octal mask such as 007";
		return -1;
	}
	cfg->umask = (unsigned)n;
	return 0;
}

static int
key_syslog(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->syslog, why);
}

static int
key_syslog_facility(struct config *cfg, const char *v, const char **why)
{
	static const char *ok[] = {"mail",   "daemon", "user",   "local0",
				   "local1", "local2", "local3", "local4",
				   "local5", "local6", "local7"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcasecmp(v, ok[i]) == 0)
			return config_strdup_into(&cfg->syslog_facility, ok[i],
						  why);
	*why = "expected mail, daemon, user or local0..local7";
	return -1;
}

/* config_add_scorer - append one Scorers name */
static int
config_add_scorer(struct config *cfg, const char *item, const char **why)
{
	char **grown;

	for (const char *p = item; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') {
			*why = "expected scorer names such as rules,spamd";
			return -1;
		}
	grown = realloc(cfg->scorers, (cfg->nscorers + 1) * sizeof(*grown));
	if (grown == NULL) {
		*why = "out of memory";
		return -1;
	}
	cfg->scorers = grown;
	if ((grown[cfg->nscorers] = strdup(item)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	cfg->nscorers++;
	return 0;
}

static int
key_scorers(struct config *cfg, const char *v, const char **why)
{
	for (size_t i = 0; i < cfg->nscorers; i++)
		free(cfg->scorers[i]);
	cfg->nscorers = 0;
	if (config_split_list(v, config_add_scorer, cfg, why) != 0)
		return -1;
	if (cfg->nscorers == 0) {
		*why = "expected scorer names such as rules,spamd";
		return -1;
	}
	return 0;
}

static int
key_rules_dir(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->rules_dir, v, why);
}

static int
key_required_score(struct config *cfg, const char *v, const char **why)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || !(d >= -1000.0) ||
	    !(d <= 1000.0)) {
		*why = "expected a number such as 5.0";
		return -1;
	}
	cfg->required_score = d;
	return 0;
}

static int
key_x_spam_report(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->x_spam_report, why);
}

/* config_template - a path or name template; "none" turns it off */
static int
config_template(char **slot, const char *v, const char **why)
{
	if (strcasecmp(v, "none") == 0)
		v = "";
	for (const char *p = v; *p; p++)
		if (*p == '%' && p[1] != 'u' && p[1] != 'd' && p[1] != '%') {
			*why = "expected %u, %d or %% after %";
			return -1;
		} else if (*p == '%')
			p++;
	return config_strdup_into(slot, v, why);
}

static int
key_user_prefs(struct config *cfg, const char *v, const char **why)
{
	return config_template(&cfg->user_prefs, v, why);
}

static int
key_spamd_user(struct config *cfg, const char *v, const char **why)
{
	return config_template(&cfg->spamd_user, v, why);
}

static int
key_spamd_socket(struct config *cfg, const char *v, const char **why)
{
	static const char *usage =
	    "expected inet:port@address, inet6:port@address or unix:/path";
	const char *orig = v;
	unsigned char bin[16];
	unsigned port;
	const char *at;
	char num[8];

	if (strncmp(v, "unix:", 5) == 0 || v[0] == '/') {
		const char *path = v[0] == '/' ? v : v + 5;

		if (path[0] != '/' || strlen(path) >= 108) {
			*why = usage;
			return -1;
		}
		return config_strdup_into(&cfg->spamd_socket, v, why);
	}
	if (strncmp(v, "inet:", 5) == 0)
		v += 5;
	else if (strncmp(v, "inet6:", 6) == 0)
		v += 6;
	else {
		*why = usage;
		return -1;
	}
	/* a number, not a name: the resolver is lib/dns, never the libc */
	if ((at = strchr(v, '@')) == NULL || (size_t)(at - v) >= sizeof(num) ||
	    (inet_pton(AF_INET, at + 1, bin) != 1 &&
	     inet_pton(AF_INET6, at + 1, bin) != 1)) {
		*why = usage;
		return -1;
	}
	memcpy(num, v, (size_t)(at - v));
	num[at - v] = '\0';
	if (config_parse_uint(num, 1, 65535, &port, why) != 0) {
		*why = usage;
		return -1;
	}
	return config_strdup_into(&cfg->spamd_socket, orig, why);
}

static int
key_spamd_max_size(struct config *cfg, const char *v, const char **why)
{
	return config_parse_uint(v, 1024, 64u << 20, &cfg->spamd_max_size, why);
}

static int
key_spamd_timeout(struct config *cfg, const char *v, const char **why)
{
	return config_parse_uint(v, 1, 600, &cfg->spamd_timeout, why);
}

static const struct config_key config_keys[] = {
    {"LogWhy", key_log_why, false},
    {"MetricsSocket", key_metrics_socket, false},
    {"AuthservID", key_authserv_id, false},
    {"DKIMMaxSignatures", key_dkim_max_sigs, false},
    {"DKIMMinKeyBits", key_dkim_min_bits, false},
    {"DMARCStandard", key_dmarc_standard, false},
    {"DMARCTempError", key_dmarc_temperror, false},
    {"PidFile", key_pid_file, false},
    {"PublicSuffixList", key_psl, false},
    {"RejectFailures", key_reject_failures, false},
    {"RequiredScore", key_required_score, false},
    {"Resolver", key_resolver, false},
    {"ResolverConfig", key_resolver_config, false},
    {"ResolverTimeout", key_resolver_timeout, false},
    {"ListenBacklog", key_listen_backlog, false},
    {"Workers", key_workers, false},
    {"DNSCacheSize", key_dns_cache_size, false},
    {"RulesDir", key_rules_dir, false},
    {"Scorers", key_scorers, false},
    {"Socket", key_socket, false},
    {"SpamdMaxSize", key_spamd_max_size, false},
    {"SpamdSocket", key_spamd_socket, false},
    {"SpamdTimeout", key_spamd_timeout, false},
    {"SpamdUser", key_spamd_user, false},
    {"SPFCheckHelo", key_spf_check_helo, false},
    {"Syslog", key_syslog, false},
    {"SyslogFacility", key_syslog_facility, false},
    {"TrustAnchorFile", key_trust_anchor, false},
    {"TrustedNetworks", key_trusted, false},
    {"UMask", key_umask, false},
    {"UserID", key_user_id, false},
    {"UserPrefs", key_user_prefs, false},
    {"XSpamReport", key_x_spam_report, false},
};

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

/* config_new_defaults - a config holding every default */
struct config *
config_new_defaults(void)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	char host[256];
	const char *why;

	if (cfg == NULL)
		return NULL;
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	cfg->dkim_max_signatures = 10;
	cfg->dkim_min_key_bits = 1024;
	cfg->resolver_timeout = 5;
	cfg->workers = 32;
	cfg->dns_cache_size = (size_t)32 << 20;
	cfg->umask = 007;
	cfg->syslog = true;
	cfg->required_score = 5.0;
	cfg->spamd_max_size = 512000; /* spamc's default, 500 KiB */
	cfg->spamd_timeout = 30;
	cfg->sign_hcanon = cfg->sign_bcanon = SIGN_CANON_RELAXED;
	cfg->arc_seal_inbound = true; /* ARCSealMail inbound */
	if (config_strdup_into(&cfg->authserv_id, host, &why) ||
	    config_strdup_into(&cfg->public_suffix_list, PSL_DEFAULT, &why) ||
	    config_strdup_into(&cfg->trust_anchor_file,
			       "/usr/share/dns/root.key", &why) ||
	    config_strdup_into(&cfg->syslog_facility, "mail", &why) ||
	    key_trusted(cfg, "127.0.0.0/8, ::1/128", &why) ||
	    config_strdup_into(&cfg->oversign_headers, "From", &why) ||
	    key_scorers(cfg, "rules", &why) ||
	    config_strdup_into(&cfg->rules_dir, RULES_DIR_DEFAULT, &why) ||
	    config_strdup_into(&cfg->user_prefs, "~%u/.spamassassin/user_prefs",
			       &why) ||
	    config_strdup_into(&cfg->spamd_socket, "inet:783@127.0.0.1",
			       &why) ||
	    config_strdup_into(&cfg->spamd_user, "%u", &why) ||
	    config_report_defaults(cfg) != 0 ||
	    config_outbound_defaults(cfg) != 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* the key tables, in lookup order; seen[] counts through all of them */
static const size_t cl_nkeys = CONFIG_NKEYS;
static const struct {
	const struct config_key *keys;
	const size_t *n;
} cl_tables[] = {
    {config_keys, &cl_nkeys},
    {config_sign_keys, &config_sign_nkeys},
    {config_report_keys, &config_report_nkeys},
    {config_outbound_keys, &config_outbound_nkeys},
};

/* config_apply_line - parse one non-empty line into cfg */
static int
config_apply_line(struct config *cfg, char *line, bool *seen,
		  const char **key_out, const char **why)
{
	char *key = line, *value;
	size_t klen = strcspn(line, " \t");

	value = dataset_trim(line + klen);
	key[klen] = '\0';
	*key_out = key;
	for (size_t t = 0, i = 0; t < sizeof(cl_tables) / sizeof(cl_tables[0]);
	     t++)
		for (size_t j = 0; j < *cl_tables[t].n; j++, i++) {
			const struct config_key *k = &cl_tables[t].keys[j];

			if (strcasecmp(key, k->name) != 0)
				continue;
			*key_out = k->name;
			if (seen[i] && !k->repeat) {
				*why = "given twice";
				return -1;
			}
			seen[i] = true;
			if (*value == '\0') {
				*why = "has no value";
				return -1;
			}
			return k->parse(cfg, value, why);
		}
	*why = "unknown key";
	return -1;
}

/* config_load - read and validate a file into a new config */
int
config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	bool seen[CONFIG_NKEYS + CONFIG_SIGN_KEYS_MAX + CONFIG_REPORT_KEYS_MAX +
		  CONFIG_OUTBOUND_KEYS_MAX] =
	    {false};
	char line[CONFIG_LINE_MAX], *text;
	struct config *cfg;
	unsigned lineno = 0;
	int rc;
	FILE *fp;

	*out = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((cfg = config_new_defaults()) == NULL ||
	    (cfg->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(fp);
		config_free(cfg);
		return -1;
	}
	while ((rc = dataset_line(fp, line, sizeof(line), &lineno, &text)) ==
	       1) {
		const char *key = "", *why = NULL;

		if (config_apply_line(cfg, text, seen, &key, &why) != 0) {
			snprintf(err, errlen, "%s:%u: %s: %s", path, lineno,
				 key, why);
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
	*out = cfg;
	return 0;
fail:
	fclose(fp);
	config_free(cfg);
	return -1;
}

/* config_free - free a config and everything it holds */
void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->authserv_id);
	free(cfg->public_suffix_list);
	free(cfg->trusted);
	for (size_t i = 0; i < cfg->nforwarders; i++)
		free(cfg->forwarders[i]);
	free(cfg->forwarders);
	free(cfg->resolver_config);
	free(cfg->trust_anchor_file);
	free(cfg->socket);
	free(cfg->user_id);
	free(cfg->pid_file);
	free(cfg->syslog_facility);
	free(cfg->metrics_socket);
	for (size_t i = 0; i < cfg->nscorers; i++)
		free(cfg->scorers[i]);
	free(cfg->scorers);
	free(cfg->rules_dir);
	free(cfg->user_prefs);
	free(cfg->spamd_socket);
	free(cfg->spamd_user);
	config_free_signing(cfg);
	config_free_report(cfg);
	config_free_outbound(cfg);
	free(cfg);
}

/* config_is_trusted - is this address in TrustedNetworks? */
bool
config_is_trusted(const struct config *cfg, const char *ip)
{
	unsigned char addr[16];
	int family;

	if (hostlist_parse_ip(ip, addr, &family) != 0)
		return false;
	for (size_t i = 0; i < cfg->ntrusted; i++)
		if (hostlist_net_contains(&cfg->trusted[i], family, addr))
			return true;
	return false;
}

/* config_user_lookup - resolve UserID's "user[:group]"; 0 or -1 */
int
config_user_lookup(const char *spec, uid_t *uid, gid_t *gid, char *err,
		   size_t errlen)
{
	char user[256];
	const char *colon = strchr(spec, ':');
	size_t ulen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	struct passwd *pw;

	if (ulen == 0 || ulen >= sizeof(user)) {
		snprintf(err, errlen, "UserID %s: bad user name", spec);
		return -1;
	}
	memcpy(user, spec, ulen);
	user[ulen] = '\0';
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "UserID %s: no such user", spec);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (colon != NULL) {
		struct group *gr = getgrnam(colon + 1);

		if (gr == NULL) {
			snprintf(err, errlen, "UserID %s: no such group", spec);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/* config_load_tool - a tool's configuration: path, else the default
 * file when it exists, else the defaults; 0, or -1 with err */
int
config_load_tool(const char *path, struct config **out, char *err,
		 size_t errlen)
{
	if (path == NULL && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		path = CONFIG_DEFAULT_PATH;
	if (path != NULL)
		return config_load(path, out, err, errlen);
	if ((*out = config_new_defaults()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}
