/*
 * engine_int.h - what engine.c and engine_edits.c share (lib/ only)
 *
 * The engine's state for an engine, a connection and a message, and the
 * functions that turn a message's state into the edits and the action.
 * Nothing outside the engine's own files includes this header: programs
 * see engine.h.
 */
#ifndef AUTHTAG_ENGINE_INT_H
#define AUTHTAG_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "outbound/quota.h"
#include "result.h"
#include "score/score.h"
#include "strbuf.h"

#define ENGINE_HEADER_BYTES (1024 * 1024) /* kept per message, at most */
#define ENGINE_MAX_HEADERS  10000
/*
 * DNS time budget of each phase (SPF at MAIL FROM, DKIM keys at end of
 * headers, DMARC at end of message). RFC 7208 4.6.4 suggests 20 s for
 * SPF; it also keeps MAIL FROM under Postfix's 30 s milter_command_timeout.
 */
#define ENGINE_PHASE_DNS_MS 20000
/* From values kept: DMARC's bound on author domains, and one more */
#define ENGINE_FROM_KEEP (RES_AUTHORS_MAX + 1)

struct engine {
	const struct config *cfg;
	struct dns_resolver *dns;
	struct dkim_verifier *dkim;
	struct dmarc_ctx *dmarc;
	struct score_stage *score;
	struct dkim_signtab *signtab; /* KeyTable/SigningTable and keys */
	struct arc_verifier *arc;
	struct dkim_signkey *arc_key; /* ARCSignKeyFile, NULL: no sealing */
	const struct dkim_signkey *arc_sealkey; /* arc_key or a KeyTable's */
	const char *arc_domain, *arc_selector;  /* d= and s= of our seals */
	size_t body_limit; /* body bytes the scorers want */
	struct report_rec *recorder; /* the daemon's, not owned; NULL */
	struct store *store; /* quotas and learned pairs; NULL: off */
};

struct engine_conn {
	struct engine *eng;
	char *client_ip; /* NULL: unknown (no SPF) */
	char *client_name; /* the MTA's name for the client, or NULL */
	char *helo;
	char *auth_user;
	bool trusted;
};

struct engine_header {
	char *name;
	char *value;
};

/* one X-Spam-* field name and how many of it arrived */
struct spam_name {
	char *name;
	unsigned count;
};

struct engine_msg {
	struct engine_conn *conn;
	struct dns_cache *dns;
	struct dkim_msg *dkim;
	struct arc_msg *arc;
	bool arc_seen;   /* an ARC-* field arrived: validate at eoh */
	struct arc_sealer *sealer; /* sealing this message (ARCSign) */
	char arc_log[256];         /* "i=N cv=X", "no(why)" or "" */
	char *mail_from; /* without <>; "" = null sender; NULL = not seen */
	char **rcpts;
	size_t nrcpts;
	struct engine_header *headers; /* kept for scoring, up to the cap */
	size_t nheaders;
	size_t header_bytes;
	bool headers_truncated;
	/* counted on every header, whatever the cap: a sender must not be
	 * able to hide a forged A-R or a second From behind 1 MB of filler */
	unsigned ar_count; /* A-R headers seen */
	unsigned *forged;  /* 1-based A-R indexes that claim our id */
	size_t nforged, forged_cap;
	bool forged_lost;       /* an index was not kept: remove every A-R */
	/* the same for ARC-Authentication-Results claiming our id: ARC is
	 * not verified yet, so no chain can show we sealed one */
	unsigned aar_count;
	unsigned *aar_forged;
	size_t naar_forged, aar_forged_cap;
	bool aar_lost;
	char *from[ENGINE_FROM_KEEP]; /* the first From values */
	unsigned from_count;    /* From fields seen */
	bool out_of_memory;     /* results-affecting bookkeeping failed */
	struct spam_name *spam; /* incoming X-Spam-* fields, to remove */
	size_t nspam, spam_cap;
	bool spam_lost; /* an X-Spam-* name was not kept: tempfail */
	size_t rcpts_cap, headers_cap;
	struct strbuf body; /* the first body_limit bytes, for scoring */
	bool body_truncated;
	bool local; /* local submission: never rejected */
	char mail_domain[RES_DOMAIN_MAX]; /* for logs */
	char from_log[RES_DOMAIN_MAX + 32]; /* for logs */
	struct score_outcome score;
	bool scored;
	struct auth_results results;
	struct engine_sign *sign; /* signing this message (engine_sign.c) */
	char sign_log[512];       /* "d:s,d:s", "no(why)" or "" */
	bool done;
	struct trace *trace;      /* explain mode (engine_msg_explain) */
	/* outbound (engine_outbound.c) */
	char *queue_id;               /* the MTA's, NULL: unknown */
	struct quota_decision quota;  /* valid when quota_done */
	bool quota_done;
	char quota_alert[400];        /* "alert mailed to ...", or "" */
	unsigned learned, learn_failed; /* pairs learned from this one */
	char outbound_log[800];
};

/* engine_grow - room for one more element in *arr (geometric); -1 */
int engine_grow(void *arr, size_t *cap, size_t n, size_t sz);

/* engine_edits_insert - append a header to insert (value taken over) */
int engine_edits_insert(struct engine_edits *edits, size_t *cap,
			const char *name, char *value);

/* engine_msg_removals - list the forged and X-Spam-* headers to remove */
int engine_msg_removals(struct engine_msg *msg, struct engine_edits *edits);

/* engine_msg_decide - the action DMARC asks for (RejectFailures,
 * DMARCTempError) */
void engine_msg_decide(const struct engine_msg *msg,
		       struct engine_edits *edits);

/* engine_edits_cut - keep inserted headers under ENGINE_HEADER_MAX */
void engine_edits_cut(struct engine_edits *edits);

/* engine_header_removed - a header the engine removes (forged A-R,
 * ARC-A-R claiming our id, incoming X-Spam-*) */
bool engine_header_removed(const struct engine *eng, const char *name,
			   const char *value);

/* engine_sign_eoh, engine_sign_body, engine_sign_eom, engine_sign_free -
 * signing the message (engine_sign.c); eom appends the DKIM-Signature
 * fields to edits and returns -1 when memory ran out */
void engine_sign_eoh(struct engine_msg *msg);
void engine_sign_body(struct engine_msg *msg, const unsigned char *data,
		      size_t len);
int engine_sign_eom(struct engine_msg *msg, struct engine_edits *edits,
		    size_t *cap);
void engine_sign_free(struct engine_msg *msg);

/* engine_arc_new, engine_arc_free, engine_arc_eoh, engine_arc_body,
 * engine_arc_seal, engine_arc_msg_free - ARC in the engine
 * (engine_arc.c); seal appends the new set to edits, -1 on no memory */
int engine_arc_new(struct engine *eng, char *err, size_t errlen);
void engine_arc_free(struct engine *eng);
void engine_arc_eoh(struct engine_msg *msg);
void engine_arc_body(struct engine_msg *msg, const unsigned char *data,
		     size_t len);
int engine_arc_seal(struct engine_msg *msg, const char *ar_value,
		    struct engine_edits *edits, size_t *cap);
void engine_arc_msg_free(struct engine_msg *msg);

/* engine_arc_override - ARCTrustedSealers: a trusted sealer's results
 * override a DMARC failure's disposition (after DMARC) */
void engine_arc_override(struct engine_msg *msg);

/* engine_edits_drop_inserts - forget every header to insert */
void engine_edits_drop_inserts(struct engine_edits *edits);

/* engine_outbound_new, engine_outbound_free - the store of quotas and
 * learned pairs (engine_outbound.c); new is -1 with err on a bad spec */
int engine_outbound_new(struct engine *eng, char *err, size_t errlen);
void engine_outbound_free(struct engine *eng);

/* engine_outbound_inbound - mark a learned correspondent's mail whose
 * From domain authenticates (before the A-R is written) */
void engine_outbound_inbound(struct engine_msg *msg);

/* engine_outbound_eom - learn pairs and apply the quota (after the
 * action is decided: a hold overrides it) */
void engine_outbound_eom(struct engine_msg *msg, struct engine_edits *edits,
			 size_t *cap);

/* engine_msg_report - hand the message's report row to the recorder */
void engine_msg_report(const struct engine_msg *msg,
		       const struct engine_edits *edits);

#endif
