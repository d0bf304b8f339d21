/*
 * result.h - the result vocabulary shared by every check (RFC 8601)
 *
 * Owns the enum of RFC 8601 result values and the per-message outcome
 * structs that spf.c, dkim.c and dmarc.c fill in and authres.c formats.
 * Outcomes use fixed-size buffers so that they have no owner but the
 * struct auth_results that holds them; only the DKIM array is allocated,
 * and auth_results_free() frees it.
 */
#ifndef AUTHTAG_RESULT_H
#define AUTHTAG_RESULT_H

#include <stdbool.h>
#include <stddef.h>

enum ar_result {
	RES_NONE = 0,
	RES_PASS,
	RES_FAIL,
	RES_SOFTFAIL,
	RES_NEUTRAL,
	RES_TEMPERROR,
	RES_PERMERROR,
	RES_POLICY,
};

#define RES_DOMAIN_MAX   256 /* 253 octets + NUL, rounded */
#define RES_ADDRESS_MAX  512 /* local-part@domain, generous */
#define RES_REASON_MAX   160 /* one short comment */
#define RES_SELECTOR_MAX 256

/* result_name - the RFC 8601 keyword for a result ("pass", "fail", ...) */
const char *result_name(enum ar_result res);

struct spf_outcome {
	bool checked;          /* false: this identity was not checked */
	enum ar_result result; /* pass fail softfail neutral none
				  temperror permerror */
	char identity[RES_ADDRESS_MAX]; /* smtp.mailfrom / smtp.helo value */
	char domain[RES_DOMAIN_MAX];    /* the domain that was checked */
	char reason[RES_REASON_MAX];    /* comment, e.g. "too many lookups" */
	char explanation[512];          /* exp= text on fail, else "" */
};

struct dkim_outcome {
	enum ar_result result;           /* pass fail neutral policy temperror
					    permerror */
	char domain[RES_DOMAIN_MAX];     /* d= */
	char identity[RES_ADDRESS_MAX];  /* i= (default @d) */
	char selector[RES_SELECTOR_MAX]; /* s= */
	char algorithm[32];              /* a=, e.g. "rsa-sha256" */
	char b[9];                       /* first 8 characters of b= */
	unsigned keybits;            /* RSA key size; 0 for ed25519/unknown */
	char reason[RES_REASON_MAX]; /* comment, e.g. "body hash mismatch" */
};

/* author domains evaluated per message (each costs DNS queries) */
#define RES_AUTHORS_MAX 8

/* one more author domain of a message, beside the one reported */
struct dmarc_author {
	char domain[RES_DOMAIN_MAX];
	enum ar_result result;
};

/* the DMARC Policy Record as published, after RFC 9989's defaults and
 * error rules (aggregate reports, RFC 9990 policy_published) */
struct dmarc_published {
	char p[16], sp[16], np[16]; /* "" when absent (sp, np) */
	char adkim, aspf;           /* 'r' or 's' */
	char testing;               /* 'y' or 'n' */
	bool treewalk;              /* discovery: tree walk, else PSL */
	char fo[32];                /* "" when absent */
	char rua[512];              /* "" when absent or unusable */
};

struct dmarc_outcome {
	bool checked;          /* false: DMARC not evaluated */
	enum ar_result result; /* pass fail none temperror permerror */
	char
	    from_domain[RES_DOMAIN_MAX]; /* RFC5322.From domain (header.from) */
	char policy_domain[RES_DOMAIN_MAX]; /* where the record was found */
	char org_domain[RES_DOMAIN_MAX];    /* Organizational Domain */
	char policy[16];      /* p= of the applicable record: none,
				 quarantine, reject; "" when no record */
	char subpolicy[16];   /* sp= as published (or inherited p=) */
	char disposition[16]; /* what the policy asks of us after t=:
				 none, quarantine, reject */
	bool testing;         /* t=y (or legacy pct<100) */
	bool spf_aligned;
	bool dkim_aligned;
	char reason[RES_REASON_MAX];
	/* temperror: the disposition a fail would have had; "" when the
	 * policy itself is unknown (engine: DMARCTempError) */
	char dis_at_stake[16];
	/* several author domains: the fields above are the strictest
	 * result's, the others' domains and results are here */
	struct dmarc_author others[RES_AUTHORS_MAX];
	unsigned nothers;
	unsigned nauthors; /* author domains found, up to RES_AUTHORS_MAX + 1 */
	/* local policy (RFC 8617 7.2): a trusted ARC sealer vouched for
	 * the author; the disposition is then none. "" when not */
	char arc_override[RES_DOMAIN_MAX];
	/* the record that applied (policy_domain set), for reports */
	struct dmarc_published published;
	/* LearnWelcome: the one recipient wrote to this From address and
	 * the From domain authenticates (engine_outbound.c) */
	bool known_correspondent;
};

#define RES_ARC_SEALERS 8 /* sealers named in the A-R comment */

/* an ARC chain (RFC 8617), as the A-R reports it */
struct arc_outcome {
	bool checked;           /* false: not evaluated (trusted source) */
	enum ar_result result;  /* none, pass or fail */
	unsigned instances;     /* ARC sets (0: none) */
	unsigned oldest_pass;   /* 0, or the oldest AMS that validated
				   when an older one did not */
	char reason[RES_REASON_MAX]; /* why it failed */
	/* d= of each seal, newest first (valid domain names only) */
	char sealers[RES_ARC_SEALERS][RES_DOMAIN_MAX];
	unsigned sealer_i[RES_ARC_SEALERS]; /* each one's instance */
	unsigned nsealers;
	char remote_ip[64]; /* smtp.remote-ip, "" when unknown */
};

struct auth_results {
	bool trusted;                    /* client in TrustedNetworks */
	char auth_user[RES_ADDRESS_MAX]; /* SMTP AUTH user, "" if none */
	struct spf_outcome spf_mailfrom;
	struct spf_outcome spf_helo;
	struct dkim_outcome *dkim; /* malloc'd array, ndkim entries */
	size_t ndkim;
	struct arc_outcome arc;
	struct dmarc_outcome dmarc;
};

/* auth_results_free - free what an auth_results holds (not the struct) */
void auth_results_free(struct auth_results *res);

#endif
