/*
 * config_report.c - authtag.conf: the state store and DMARC reports
 *
 * Owns the keys of lib/store/ and lib/report/: StateStore and what
 * authtag-report needs to send (ReportOrgName, ReportEmail, ReportBcc,
 * SendmailPath, ReportSuppress, ReportEnvelopeTo, ReportRetention,
 * ReportMaxSize) and the daemon's recorder (ReportFlushInterval,
 * ReportQueueMax). The names follow OpenDMARC's where it has one
 * (ReportCommand became SendmailPath: we build the mail ourselves).
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

/* config_parse_seconds - "90", "90s", "15m", "12h", "7d" in [min, max] */
int
config_parse_seconds(const char *v, unsigned min, unsigned max, unsigned *out,
	   const char **why)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10), mult = 1;

	if (end == v || !isdigit((unsigned char)v[0])) {
		*why = "not a number of seconds (e.g. 90, 15m, 12h, 7d)";
		return -1;
	}
	if (*end != '\0') {
		switch (tolower((unsigned char)*end)) {
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		default:
			*why = "unit is not s, m, h or d";
			return -1;
		}
		if (end[1] != '\0') {
			*why = "text after the unit";
			return -1;
		}
	}
	if (n > max / mult || n * mult < min || n * mult > max) {
		*why = "out of range";
		return -1;
	}
	*out = (unsigned)(n * mult);
	return 0;
}

static int
key_state_store(struct config *cfg, const char *v, const char **why)
{
	if (strcmp(v, "none") != 0 && strncmp(v, "sqlite:/", 8) != 0 &&
	    strncmp(v, "redis://", 8) != 0 &&
	    strncmp(v, "redis:unix:/", 12) != 0) {
		*why = "not none, sqlite:/PATH, redis://HOST:PORT/DB or "
		       "redis:unix:/PATH";
		return -1;
	}
	return config_strdup_into(&cfg->state_store, v, why);
}

static int
key_org_name(struct config *cfg, const char *v, const char **why)
{
	return config_strdup_into(&cfg->report_org_name, v, why);
}

/* cr_address - a bare addr-spec without spaces or angle brackets */
static int
cr_address(char **slot, const char *v, const char **why)
{
	const char *at = strchr(v, '@');

	if (at == NULL || at == v || at[1] == '\0' ||
	    strpbrk(v, " \t<>\",;") != NULL) {
		*why = "not a bare address (user@example.org)";
		return -1;
	}
	return config_strdup_into(slot, v, why);
}

static int
key_report_email(struct config *cfg, const char *v, const char **why)
{
	return cr_address(&cfg->report_email, v, why);
}

/* key_report_bcc - addresses, comma or space separated */
static int
key_report_bcc(struct config *cfg, const char *v, const char **why)
{
	char *copy = strdup(v), *save = NULL;
	int rc = 0;

	if (copy == NULL) {
		*why = "out of memory";
		return -1;
	}
	for (char *a = strtok_r(copy, ", \t", &save); a != NULL && rc == 0;
	     a = strtok_r(NULL, ", \t", &save)) {
		char *one = NULL;
		char **list;

		if ((rc = cr_address(&one, a, why)) != 0)
			break;
		list = realloc(cfg->report_bcc,
			       (cfg->nreport_bcc + 1) * sizeof(*list));
		if (list == NULL) {
			free(one);
			*why = "out of memory";
			rc = -1;
			break;
		}
		cfg->report_bcc = list;
		list[cfg->nreport_bcc++] = one;
	}
	free(copy);
	return rc;
}

static int
key_sendmail(struct config *cfg, const char *v, const char **why)
{
	if (v[0] != '/') {
		*why = "not an absolute path";
		return -1;
	}
	return config_strdup_into(&cfg->sendmail_path, v, why);
}

/* config_add_words - append the comma- or blank-separated words of v to
 * *list, lower-cased: ReportSuppress, OutboundQuotaExempt */
int
config_add_words(char ***list, size_t *n, const char *v, const char **why)
{
	char *copy = strdup(v), *save = NULL;
	int rc = 0;

	if (copy == NULL) {
		*why = "out of memory";
		return -1;
	}
	for (char *d = strtok_r(copy, ", \t", &save); d != NULL && rc == 0;
	     d = strtok_r(NULL, ", \t", &save)) {
		char **l = realloc(*list, (*n + 1) * sizeof(*l));

		if (l == NULL || (d = strdup(d)) == NULL) {
			if (l != NULL)
				*list = l;
			*why = "out of memory";
			rc = -1;
			break;
		}
		for (char *p = d; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		*list = l;
		l[(*n)++] = d;
	}
	free(copy);
	return rc;
}

/* key_suppress - domains never reported to (lower-cased) */
static int
key_suppress(struct config *cfg, const char *v, const char **why)
{
	return config_add_words(&cfg->report_suppress, &cfg->nreport_suppress,
				v, why);
}

static int
key_envelope_to(struct config *cfg, const char *v, const char **why)
{
	return config_parse_bool(v, &cfg->report_envelope_to, why);
}

static int
key_retention(struct config *cfg, const char *v, const char **why)
{
	return config_parse_seconds(v, 3600, 366u * 86400, &cfg->report_retention, why);
}

/* key_max_size - bytes, with k or m (as a rua's "!10m") */
static int
key_max_size(struct config *cfg, const char *v, const char **why)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (end == v || !isdigit((unsigned char)v[0])) {
		*why = "not a size (e.g. 10m, 500k)";
		return -1;
	}
	if (strcasecmp(end, "k") == 0)
		n *= 1024;
	else if (strcasecmp(end, "m") == 0)
		n *= 1024 * 1024;
	else if (*end != '\0') {
		*why = "unit is not k or m";
		return -1;
	}
	if (n < 1024 || n > 1024ul * 1024 * 1024) {
		*why = "out of range (1k to 1024m)";
		return -1;
	}
	cfg->report_max_size = n;
	return 0;
}

static int
key_flush(struct config *cfg, const char *v, const char **why)
{
	return config_parse_seconds(v, 1, 300, &cfg->report_flush, why);
}

static int
key_queue_max(struct config *cfg, const char *v, const char **why)
{
	return config_parse_uint(v, 100, 10000000, &cfg->report_queue_max,
				 why);
}

const struct config_key config_report_keys[] = {
    {"ReportBcc", key_report_bcc, false},
    {"ReportEmail", key_report_email, false},
    {"ReportEnvelopeTo", key_envelope_to, false},
    {"ReportFlushInterval", key_flush, false},
    {"ReportMaxSize", key_max_size, false},
    {"ReportOrgName", key_org_name, false},
    {"ReportQueueMax", key_queue_max, false},
    {"ReportRetention", key_retention, false},
    {"ReportSuppress", key_suppress, false},
    {"SendmailPath", key_sendmail, false},
    {"StateStore", key_state_store, false},
};

const size_t config_report_nkeys =
    sizeof(config_report_keys) / sizeof(config_report_keys[0]);

_Static_assert(sizeof(config_report_keys) / sizeof(config_report_keys[0]) <=
		   CONFIG_REPORT_KEYS_MAX,
	       "raise CONFIG_REPORT_KEYS_MAX");

/* config_report_defaults - the defaults of these keys; -1 no memory */
int
config_report_defaults(struct config *cfg)
{
	const char *why;

	cfg->report_retention = 7 * 86400;
	cfg->report_max_size = 10ul * 1024 * 1024;
	cfg->report_flush = 5;
	cfg->report_queue_max = 100000;
	return config_strdup_into(&cfg->state_store,
				  "sqlite:" STATEDIR "/state.db", &why) ||
		       config_strdup_into(&cfg->sendmail_path,
					  "/usr/sbin/sendmail", &why)
		   ? -1
		   : 0;
}

/* config_free_report - free the state and report part */
void
config_free_report(struct config *cfg)
{
	free(cfg->state_store);
	free(cfg->report_org_name);
	free(cfg->report_email);
	for (size_t i = 0; i < cfg->nreport_bcc; i++)
		free(cfg->report_bcc[i]);
	free(cfg->report_bcc);
	free(cfg->sendmail_path);
	for (size_t i = 0; i < cfg->nreport_suppress; i++)
		free(cfg->report_suppress[i]);
	free(cfg->report_suppress);
}
