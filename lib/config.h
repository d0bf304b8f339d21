/*
 * config.h - authtag.conf: parse, validate and hold the configuration
 *
 * Owns struct config, the only place settings live. The file format is
 * opendkim.conf's: one "Key value" per line, '#' comments, keys compared
 * without regard to case. An unknown key or a bad value is an error that
 * names the file, the line and the key. A loaded config is read-only and
 * may be shared by all threads; a reload builds a new one.
 */
#ifndef AUTHTAG_CONFIG_H
#define AUTHTAG_CONFIG_H

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/authtag.conf"

enum resolver_mode {
	RESOLVER_SYSTEM = 0, /* /etc/resolv.conf (default) */
	RESOLVER_FORWARD,    /* explicit forwarders IP[@port] */
	RESOLVER_RECURSIVE,  /* full recursion, DNSSEC validating */
};

enum dmarc_standard {
	DMARC_RFC9989 = 0, /* DNS tree walk (default) */
	DMARC_RFC7489,     /* Public Suffix List, libopendmarc */
};

enum dmarc_temperror {
	DMARC_TEMPERROR_ACCEPT = 0, /* tag dmarc=temperror, deliver (default) */
	DMARC_TEMPERROR_TEMPFAIL,   /* 451: let the sender retry */
};

/* one network of TrustedNetworks */
struct config_net {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network order, masked */
	unsigned prefix;        /* prefix length */
};

enum sign_canon {
	SIGN_CANON_SIMPLE = 0,
	SIGN_CANON_RELAXED,
};

struct hostlist;

struct config {
	char *path; /* file it came from, or NULL for defaults */

	/* identity and results */
	char *authserv_id;            /* AuthservID (default: host name) */
	bool spf_check_helo;          /* SPFCheckHelo */
	unsigned dkim_max_signatures; /* DKIMMaxSignatures (10) */
	unsigned dkim_min_key_bits;   /* DKIMMinKeyBits (1024) */
	enum dmarc_standard dmarc_standard; /* DMARCStandard */
	char *public_suffix_list;           /* PublicSuffixList */
	struct config_net *trusted;         /* TrustedNetworks */
	size_t ntrusted;
	bool reject_failures;                 /* RejectFailures */
	bool log_why; /* LogWhy: log each non-pass result's reason */
	enum dmarc_temperror dmarc_temperror; /* DMARCTempError */

	/* signing (config_sign.c): opendkim's names; the tables are loaded
	 * and checked when the engine is built (lib/auth/dkim_signtab.c) */
	char *sign_domain;       /* Domain (dataset) */
	char *sign_selector;     /* Selector */
	char *sign_keyfile;      /* KeyFile */
	char *key_table;         /* KeyTable (dataset spec) */
	char *signing_table;     /* SigningTable (dataset spec) */
	bool multiple_signatures; /* MultipleSignatures */
	char *sign_headers;      /* SignHeaders (dataset), NULL: default */
	char *oversign_headers;  /* OversignHeaders (dataset), "From" */
	char *omit_headers;      /* OmitHeaders (dataset), NULL: default */
	enum sign_canon sign_hcanon, sign_bcanon; /* Canonicalization */
	unsigned signature_ttl;  /* SignatureTTL, seconds; 0: no x= */
	bool sub_domains;        /* SubDomains */
	bool require_safe_keys;  /* RequireSafeKeys: unsafe key = error */
	bool sign_require_auth_domain; /* SigningRequireAuthDomain */
	struct hostlist *internal_hosts; /* InternalHosts, NULL: trusted */
	struct hostlist *peer_list;      /* PeerList: not processed */
	struct hostlist *external_ignore; /* ExternalIgnoreList */
	bool min_key_bits_set;   /* DKIMMinKeyBits or MinimumKeyBits given */

	/* ARC sealing (config_sign.c) */
	bool arc_sign;            /* ARCSign */
	char *arc_sign_domain;    /* ARCSignDomain */
	char *arc_sign_selector;  /* ARCSignSelector */
	char *arc_sign_keyfile;   /* ARCSignKeyFile */
	char *arc_sign_key;       /* ARCSignKey: a KeyTable entry instead */
	bool arc_seal_inbound;    /* ARCSealMail inbound or all (default) */
	bool arc_seal_submitted;  /* ARCSealMail submitted or all */
	bool arc_ar_comments;     /* ARCAuthResComments (default no) */
	bool arc_arrival_results; /* ARCSealArrivalResults (default no) */
	char **arc_trusted;       /* ARCTrustedSealers: lower-case domains */
	size_t narc_trusted;

	/* DNS */
	enum resolver_mode resolver;
	char **forwarders; /* "IP" or "IP@port", nforwarders entries */
	size_t nforwarders;
	char *resolver_config;     /* ResolverConfig: unbound.conf for ub_ctx */
	char *trust_anchor_file;   /* TrustAnchorFile */
	unsigned resolver_timeout; /* ResolverTimeout, seconds (5) */
	unsigned listen_backlog;   /* ListenBacklog; 0 = the system's maximum */
	unsigned workers;          /* Workers: threads running the steps (32) */
	size_t dns_cache_size;     /* DNSCacheSize: bytes of kept answers (32M) */

	/* daemon (milter/) */
	char *socket;          /* Socket */
	char *user_id;         /* UserID: user[:group] */
	char *pid_file;        /* PidFile */
	unsigned umask;        /* UMask (octal) */
	bool syslog;           /* Syslog */
	char *syslog_facility; /* SyslogFacility */
	char *metrics_socket;  /* MetricsSocket: inet:PORT@ADDR, or NULL */

	/* scoring stage (lib/score.c) */
	char **scorers; /* Scorers: backend names in order ("rules") */
	size_t nscorers;
	char *rules_dir;         /* RulesDir: *.cf for the rules scorer */
	double required_score;   /* RequiredScore (5.0) */
	bool x_spam_report;      /* XSpamReport: add X-Spam-Report */
	char *user_prefs;        /* UserPrefs: path template, "" = off */
	char *spamd_socket;      /* SpamdSocket: inet:port@ip, unix:/path */
	unsigned spamd_max_size; /* SpamdMaxSize, bytes (512000) */
	unsigned spamd_timeout;  /* SpamdTimeout, seconds (30) */
	char *spamd_user;        /* SpamdUser: template for User:, "" = off */

	/* state store and DMARC reports (config_report.c) */
	char *state_store;        /* StateStore: spec, "none" = off */
	char *report_org_name;    /* ReportOrgName, NULL: AuthservID */
	char *report_email;       /* ReportEmail: From of reports */
	char **report_bcc;        /* ReportBcc: addresses */
	size_t nreport_bcc;
	char *sendmail_path;      /* SendmailPath */
	char **report_suppress;   /* ReportSuppress: lower-case domains */
	size_t nreport_suppress;
	bool report_envelope_to;  /* ReportEnvelopeTo */
	unsigned report_retention; /* ReportRetention, seconds (7 days) */
	unsigned long report_max_size; /* ReportMaxSize, bytes (10 MiB) */
	unsigned report_flush;    /* ReportFlushInterval, seconds (5) */
	unsigned report_queue_max; /* ReportQueueMax: distinct rows held */

	/* outbound quotas and learned welcome (config_outbound.c) */
	unsigned quota_limit;  /* OutboundQuota COUNT, 0 = off */
	unsigned quota_window; /* OutboundQuota /WINDOW, seconds */
	bool quota_auth;       /* OutboundQuotaAuth: SMTP AUTH mail too */
	struct config_quota_user *quota_users; /* OutboundQuotaUser */
	size_t nquota_users;
	char **quota_exempt;   /* OutboundQuotaExempt, lower case */
	size_t nquota_exempt;
	char *quota_alert_to;  /* QuotaAlertTo, NULL = log only */
	char *postsuper_path;  /* PostsuperPath */
	bool learn_welcome;    /* LearnWelcome */
	unsigned learn_welcome_ttl; /* LearnedWelcomeTTL, seconds (180d) */
};

/* one OutboundQuotaUser line */
struct config_quota_user {
	char *name; /* lower case */
	unsigned limit;
};

/*
 * config_new_defaults - a config holding every default; NULL on no memory
 */
struct config *config_new_defaults(void);

/*
 * config_load - read and validate a file into a new config
 *
 * Returns 0 and sets *out, or -1 with a message "file:line: Key: reason"
 * in err. A missing file is an error too (callers decide whether the
 * default path may be absent).
 */
int config_load(const char *path, struct config **out, char *err,
		size_t errlen);

/*
 * config_load_tool - the configuration of a tool run with -c path (NULL
 * without -c): path, else CONFIG_DEFAULT_PATH when it exists, else the
 * defaults; 0, or -1 with err
 */
int config_load_tool(const char *path, struct config **out, char *err,
		     size_t errlen);

/* config_free - free a config and everything it holds */
void config_free(struct config *cfg);

/* config_free_signing - free the signing part (config_sign.c) */
void config_free_signing(struct config *cfg);

/* one key of authtag.conf and its parser */
typedef int (*config_parser)(struct config *cfg, const char *value,
			     const char **why);
struct config_key {
	const char *name;
	config_parser parse;
	bool repeat; /* may be given more than once (each line adds) */
};

/* the signing keys (config_sign.c), looked up after config.c's own */
#define CONFIG_SIGN_KEYS_MAX 32
extern const struct config_key config_sign_keys[];
extern const size_t config_sign_nkeys;

/* the state store and report keys (config_report.c) */
#define CONFIG_REPORT_KEYS_MAX 16
extern const struct config_key config_report_keys[];
extern const size_t config_report_nkeys;
/* config_report_defaults - their defaults; -1 when memory ran out */
int config_report_defaults(struct config *cfg);
/* config_free_report - free the state and report part */
void config_free_report(struct config *cfg);

/* the outbound quota and learned welcome keys (config_outbound.c) */
#define CONFIG_OUTBOUND_KEYS_MAX 16
extern const struct config_key config_outbound_keys[];
extern const size_t config_outbound_nkeys;
/* config_outbound_defaults - their defaults; -1 when memory ran out */
int config_outbound_defaults(struct config *cfg);
/* config_free_outbound - free the outbound part */
void config_free_outbound(struct config *cfg);
/* config_quota_limit - a user's count per window (OutboundQuotaUser,
 * else OutboundQuota) */
unsigned config_quota_limit(const struct config *cfg, const char *user);
/* config_quota_exempt - is the user (login, SASL login) or the sender
 * address in OutboundQuotaExempt? */
bool config_quota_exempt(const struct config *cfg, const char *user,
			 const char *sender);

/* config_user_lookup - resolve UserID's "user[:group]" (the daemon
 * drops to it; the tools keep the store's files its own); 0 or -1 */
int config_user_lookup(const char *spec, uid_t *uid, gid_t *gid, char *err,
		       size_t errlen);

/* config_parse_bool, config_parse_uint, config_strdup_into - the value
 * parsers config.c and config_sign.c share; 0, or -1 with why */
int config_parse_bool(const char *value, bool *out, const char **why);
int config_parse_uint(const char *value, unsigned min, unsigned max,
		      unsigned *out, const char **why);
int config_strdup_into(char **slot, const char *value, const char **why);
/* config_add_words - append v's comma- or blank-separated words to
 * *list (n of them), lower-cased; 0, or -1 with why */
int config_add_words(char ***list, size_t *n, const char *v, const char **why);
/* config_parse_seconds - a time: "90", "90s", "15m", "12h", "7d", within
 * [min, max] seconds; 0, or -1 with why */
int config_parse_seconds(const char *value, unsigned min, unsigned max,
			 unsigned *out, const char **why);

/*
 * config_is_trusted - is this address in TrustedNetworks?
 *
 * ip is the textual client address (IPv4, IPv6, or IPv4-mapped IPv6).
 */
bool config_is_trusted(const struct config *cfg, const char *ip);

#endif
