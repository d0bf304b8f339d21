/*
 * engine_sign.c - signing our own outbound mail: whether, with which
 * keys, and the DKIM-Signature fields at the top of the message
 *
 * Owns a message's signing state (struct engine_sign): the decision at
 * end of headers (local submission, an authenticated client or one in
 * InternalHosts, and a key for the From address; SigningRequireAuthDomain
 * when set), the signers fed with the headers as the MTA will deliver
 * them (without the forged and X-Spam-* fields the engine removes) and
 * with the body as it streams, and the fields they produce at end of
 * message. A message we cannot sign is delivered unsigned, never held:
 * the log line says why. Also `authtag -n`'s check that each selector's
 * published key is the public half of our private key.
 */
#include "build.h" /* first: feature macros */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim_key.h"
#include "auth/dkim_sign.h"
#include "auth/dkim_signtab.h"
#include "authres.h"
#include "config.h"
#include "dns/dns.h"
#include "engine_int.h"
#include "hostlist.h"
#include "mailaddr.h"
#include "score/score.h"

#define SIGN_KEY_RECORD 65536 /* the longest key record -n reads */

struct engine_sign {
	struct dkim_signchoice choice[DKIM_SIGN_MAX];
	struct dkim_signer *signer[DKIM_SIGN_MAX];
	size_t n;
};

/* engine_header_removed - is this a header the engine removes (forged
 * A-R or ARC-A-R claiming our id, incoming X-Spam-*)? */
bool
engine_header_removed(const struct engine *eng, const char *name,
		      const char *value)
{
	return score_header_is_spam(name) ||
	       (strcasecmp(name, "Authentication-Results") == 0 &&
		ar_is_ours(value, eng->cfg->authserv_id)) ||
	       (strcasecmp(name, "ARC-Authentication-Results") == 0 &&
		ar_arc_is_ours(value, eng->cfg->authserv_id));
}

/* engine_conn_internal - may this connection's mail be signed? */
static bool
engine_conn_internal(const struct engine_conn *conn)
{
	const struct config *cfg = conn->eng->cfg;

	if (conn->auth_user != NULL)
		return true;
	if (cfg->internal_hosts == NULL)
		return conn->trusted; /* InternalHosts defaults to these */
	return hostlist_match(cfg->internal_hosts, conn->client_ip,
			      conn->client_name);
}

/* engine_sign_from - the From address as local and domain; false with
 * the reason in why */
static bool
engine_sign_from(const struct engine_msg *msg, char *local, size_t llen,
		 char *domain, size_t dlen, char *why, size_t whylen)
{
	char addrs[2][RES_ADDRESS_MAX];
	const char *vals[2];
	struct mailaddr_from from;
	const char *at;
	size_t n = msg->from_count < 2 ? msg->from_count : 2;

	for (size_t i = 0; i < n; i++)
		vals[i] = msg->from[i] != NULL ? msg->from[i] : "";
	mailaddr_from_domain(vals, n, &from);
	if (from.status != MAILADDR_OK) {
		snprintf(why, whylen, "From: %s",
			 mailaddr_status_name(from.status));
		return false;
	}
	if (mailaddr_header_addrs(vals, n, addrs, 1, true) != 1 ||
	    (at = strrchr(addrs[0], '@')) == NULL ||
	    (size_t)(at - addrs[0]) >= llen) {
		snprintf(why, whylen, "From: no address");
		return false;
	}
	snprintf(local, llen, "%.*s", (int)(at - addrs[0]), addrs[0]);
	snprintf(domain, dlen, "%s", from.domain);
	return true;
}

/* engine_sign_auth_domain - SigningRequireAuthDomain: may the login
 * sign for domain? */
static bool
engine_sign_auth_domain(const struct engine_conn *conn, const char *domain,
			char *why, size_t whylen)
{
	const char *at;

	if (!conn->eng->cfg->sign_require_auth_domain || conn->auth_user == NULL)
		return true;
	if ((at = strrchr(conn->auth_user, '@')) == NULL) {
		snprintf(why, whylen,
			 "login has no domain (SigningRequireAuthDomain)");
		return false;
	}
	if (strcasecmp(at + 1, domain) != 0) {
		snprintf(why, whylen,
			 "From domain %s is not the login's domain "
			 "(SigningRequireAuthDomain)",
			 domain);
		return false;
	}
	return true;
}

/* engine_sign_start - make the signers and feed them the headers */
static void
engine_sign_start(struct engine_msg *msg, struct engine_sign *sg)
{
	const struct engine *eng = msg->conn->eng;
	struct dkim_signopts opts;
	size_t used = 0;

	for (size_t i = 0; i < sg->n; i++) {
		dkim_signtab_opts(eng->signtab, &sg->choice[i], &opts);
		if ((sg->signer[i] = dkim_signer_new(sg->choice[i].key,
						     &opts)) == NULL) {
			msg->out_of_memory = true;
			return;
		}
	}
	for (size_t h = 0; h < msg->nheaders; h++) {
		const struct engine_header *hd = &msg->headers[h];

		if (engine_header_removed(eng, hd->name, hd->value))
			continue;
		for (size_t i = 0; i < sg->n; i++)
			dkim_signer_header(sg->signer[i], hd->name, hd->value);
	}
	for (size_t i = 0; i < sg->n && used < sizeof(msg->sign_log); i++) {
		int w = snprintf(msg->sign_log + used,
				 sizeof(msg->sign_log) - used, "%s%s:%s",
				 i ? "," : "", sg->choice[i].domain,
				 sg->choice[i].selector);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* engine_sign_eoh - end of headers: decide whether and how to sign */
void
engine_sign_eoh(struct engine_msg *msg)
{
	const struct engine_conn *conn = msg->conn;
	const struct engine *eng = conn->eng;
	char local[RES_ADDRESS_MAX], domain[RES_DOMAIN_MAX], why[512];
	struct engine_sign *sg;
	int n;

	if (!dkim_signtab_active(eng->signtab) || msg->sign != NULL)
		return;
	if (!msg->local && !engine_conn_internal(conn)) {
		struct dkim_signchoice c;

		/* opendkim's "external host tried to send mail as": only
		 * when a key would match, and not for ExternalIgnoreList */
		if (hostlist_match(eng->cfg->external_ignore, conn->client_ip,
				   conn->client_name) ||
		    !engine_sign_from(msg, local, sizeof(local), domain,
				      sizeof(domain), why, sizeof(why)) ||
		    dkim_signtab_select(eng->signtab, local, domain, &c, 1,
					why, sizeof(why)) <= 0)
			return;
		dkim_signchoice_free(&c);
		snprintf(msg->sign_log, sizeof(msg->sign_log),
			 "no(external client sent mail as %s)", domain);
		return;
	}
	if (msg->headers_truncated) {
		snprintf(msg->sign_log, sizeof(msg->sign_log),
			 "no(header over %u bytes)", ENGINE_HEADER_BYTES);
		return;
	}
	if (!engine_sign_from(msg, local, sizeof(local), domain,
			      sizeof(domain), why, sizeof(why)) ||
	    !engine_sign_auth_domain(conn, domain, why, sizeof(why))) {
		snprintf(msg->sign_log, sizeof(msg->sign_log), "no(%.400s)", why);
		return;
	}
	if ((sg = calloc(1, sizeof(*sg))) == NULL) {
		msg->out_of_memory = true;
		return;
	}
	n = dkim_signtab_select(eng->signtab, local, domain, sg->choice,
				DKIM_SIGN_MAX, why, sizeof(why));
	if (n <= 0) {
		snprintf(msg->sign_log, sizeof(msg->sign_log), "no(%.400s)", why);
		free(sg);
		return;
	}
	sg->n = (size_t)n;
	msg->sign = sg;
	engine_sign_start(msg, sg);
}

/* engine_sign_body - a body chunk for every signer */
void
engine_sign_body(struct engine_msg *msg, const unsigned char *data, size_t len)
{
	if (msg->sign == NULL)
		return;
	for (size_t i = 0; i < msg->sign->n; i++)
		dkim_signer_body(msg->sign->signer[i], data, len);
}

/* engine_sign_eom - the DKIM-Signature fields, appended to edits (they
 * must be the first inserts); -1 when memory ran out */
int
engine_sign_eom(struct engine_msg *msg, struct engine_edits *edits,
		size_t *cap)
{
	struct engine_sign *sg = msg->sign;
	char err[256];

	if (sg == NULL)
		return 0;
	for (size_t i = 0; i < sg->n; i++) {
		char *v = dkim_signer_finish(sg->signer[i], false, err,
					     sizeof(err));
		char *lead;

		if (v == NULL) {
			/* deliver unsigned rather than hold our own mail */
			snprintf(msg->sign_log, sizeof(msg->sign_log),
				 "no(%s:%s: %s)", sg->choice[i].domain,
				 sg->choice[i].selector, err);
			engine_edits_drop_inserts(edits);
			*cap = 0;
			return strcmp(err, "out of memory") == 0 ? -1 : 0;
		}
		/* the MTA writes "Name: value": the signer's value starts
		 * with that one space, and the hash covered it */
		lead = v[0] == ' ' ? v + 1 : v;
		memmove(v, lead, strlen(lead) + 1);
		if (engine_edits_insert(edits, cap, "DKIM-Signature", v) != 0)
			return -1;
	}
	return 0;
}

/* engine_sign_free - free a message's signing state */
void
engine_sign_free(struct engine_msg *msg)
{
	struct engine_sign *sg = msg->sign;

	if (sg == NULL)
		return;
	for (size_t i = 0; i < sg->n; i++) {
		dkim_signer_free(sg->signer[i]);
		dkim_signchoice_free(&sg->choice[i]);
	}
	free(sg);
	msg->sign = NULL;
}

/* the state of one `authtag -n` key check */
struct sign_check {
	struct dns_cache *dns;
	struct dkim_keycache *kc;
	void (*report)(void *arg, bool ok, const char *line);
	void *arg;
	int problems;
};

/* engine_check_one - compare one selector's DNS record with our key */
static void
engine_check_one(void *arg, const char *domain, const char *selector,
		 const struct dkim_signkey *key, const char *where)
{
	struct sign_check *ck = arg;
	const struct dns_answer *ans;
	char name[RES_DOMAIN_MAX + RES_SELECTOR_MAX + 16], line[1024];
	char err[128] = "", *rec, *mine = dkim_signkey_record(key);
	bool match = false, any = false;

	snprintf(name, sizeof(name), "%s._domainkey.%s", selector, domain);
	ans = dns_lookup(ck->dns, name, DNS_T_TXT);
	if (ans->status != DNS_OK) {
		snprintf(line, sizeof(line),
			 "%s: %s TXT: %s; publish: %s", where, name,
			 dns_status_name(ans->status), mine ? mine : "?");
		ck->report(ck->arg, false, line);
		ck->problems++;
		free(mine);
		return;
	}
	if ((rec = malloc(SIGN_KEY_RECORD)) != NULL)
		for (int i = 0; i < ans->count && !match; i++) {
			int len = dns_txt_join(ans, i, rec, SIGN_KEY_RECORD);
			struct dkim_key *k;

			if (len < 0)
				continue;
			if ((k = dkim_key_get(ck->kc, rec, (size_t)len, err,
					      sizeof(err))) == NULL)
				continue;
			any = true;
			match = dkim_signkey_matches(key, k->pkey);
			dkim_key_unref(k);
		}
	free(rec);
	if (match)
		snprintf(line, sizeof(line), "%s: %s: published key matches",
			 where, name);
	else
		snprintf(line, sizeof(line),
			 "%s: %s: %s; publish: %s", where, name,
			 any ? "published key is not this private key's "
			       "public half"
			     : (err[0] ? err : "no usable key record"),
			 mine ? mine : "?");
	ck->report(ck->arg, match, line);
	ck->problems += !match;
	free(mine);
}

/* engine_check_keys - look up each signing key's DNS record and report
 * whether it is our private key's public half; the count of problems */
int
engine_check_keys(struct engine *eng,
		  void (*report)(void *arg, bool ok, const char *line),
		  void *arg)
{
	struct sign_check ck = {.report = report, .arg = arg};

	if (!dkim_signtab_active(eng->signtab))
		return 0;
	if ((ck.dns = dns_cache_new(eng->dns)) == NULL ||
	    (ck.kc = dkim_keycache_new(64)) == NULL) {
		dns_cache_free(ck.dns);
		report(arg, false, "out of memory");
		return 1;
	}
	dns_cache_set_deadline(ck.dns, ENGINE_PHASE_DNS_MS);
	dkim_signtab_published(eng->signtab, engine_check_one, &ck);
	dkim_keycache_free(ck.kc);
	dns_cache_free(ck.dns);
	return ck.problems;
}

/* engine_warnings - what the configuration loaded with but should not */
const char *
engine_warnings(const struct engine *eng)
{
	return dkim_signtab_warnings(eng->signtab);
}

/* engine_msg_sign_log - "example.com:sel", "no(why)" or "" */
const char *
engine_msg_sign_log(const struct engine_msg *msg)
{
	return msg != NULL ? msg->sign_log : "";
}
