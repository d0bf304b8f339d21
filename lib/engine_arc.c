/*
 * engine_arc.c - ARC in the engine: validating a message's chain, and
 * sealing the mail we pass on
 *
 * Owns the engine's ARC sealing key (ARCSignKeyFile, loaded with the
 * engine, or a KeyTable entry named by ARCSignKey) and a message's ARC work: the chain is validated from the
 * header fields the engine keeps, and only when an ARC field arrived;
 * the seal (ARCSign yes) covers the message as it will be delivered
 * (the forged and X-Spam-* fields the engine removes left out), with
 * our own results, comments removed unless ARCAuthResComments yes, as
 * its ARC-Authentication-Results (or, ARCSealArrivalResults, those we
 * wrote when a resubmitted message first arrived). Which mail is sealed:
 * ARCSealMail inbound (the default: mail from outside that we checked,
 * the forwarder case), submitted (authenticated and local mail: a list
 * manager's resubmissions) or all. A chain whose newest seal already says cv=fail gets no
 * further set. A seal that cannot be made costs the message nothing:
 * it is delivered without it and the log says why.
 */
#include "build.h" /* first: feature macros */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/arc.h"
#include "auth/arc_seal.h"
#include "auth/dkim_sign.h"
#include "auth/dkim_signtab.h"
#include "authres.h"
#include "config.h"
#include "engine_int.h"

/* engine_arc_new - the sealing key, when ARCSign is on: ARCSignKey (a
 * KeyTable entry) or ARCSignDomain + ARCSignSelector + ARCSignKeyFile;
 * -1 + err */
int
engine_arc_new(struct engine *eng, char *err, size_t errlen)
{
	const struct config *cfg = eng->cfg;
	char why[512];
	bool unsafe = false;

	if (!cfg->arc_sign)
		return 0;
	if (cfg->arc_sign_key != NULL) {
		if (!dkim_signtab_named(eng->signtab, cfg->arc_sign_key,
					&eng->arc_domain, &eng->arc_selector,
					&eng->arc_sealkey)) {
			snprintf(err, errlen,
				 "ARCSignKey: %s is no KeyTable entry with a "
				 "fixed domain and key file",
				 cfg->arc_sign_key);
			return -1;
		}
		return 0;
	}
	if (cfg->arc_sign_domain == NULL || cfg->arc_sign_selector == NULL ||
	    cfg->arc_sign_keyfile == NULL) {
		snprintf(err, errlen,
			 "ARCSign yes needs ARCSignKey, or ARCSignDomain, "
			 "ARCSignSelector and ARCSignKeyFile");
		return -1;
	}
	if ((eng->arc_key = dkim_signkey_load(cfg->arc_sign_keyfile, &unsafe,
					      why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "ARCSignKeyFile: %s", why);
		return -1;
	}
	if (unsafe && cfg->require_safe_keys) {
		snprintf(err, errlen,
			 "ARCSignKeyFile: %s is readable or writable by group "
			 "or others (RequireSafeKeys yes)",
			 cfg->arc_sign_keyfile);
		return -1;
	}
	eng->arc_sealkey = eng->arc_key;
	eng->arc_domain = cfg->arc_sign_domain;
	eng->arc_selector = cfg->arc_sign_selector;
	return 0;
}

/* engine_arc_free - free the sealing key */
void
engine_arc_free(struct engine *eng)
{
	dkim_signkey_free(eng->arc_key);
}

/* engine_arc_eoh - validate the chain from the kept fields (only when
 * there is one), and start the seal */
void
engine_arc_eoh(struct engine_msg *msg)
{
	const struct engine_conn *conn = msg->conn;
	const struct engine *eng = conn->eng;
	bool inside = engine_conn_is_trusted(conn) || msg->local;
	bool sealing = eng->arc_sealkey != NULL &&
		       (inside ? eng->cfg->arc_seal_submitted
			       : eng->cfg->arc_seal_inbound);

	/* our own users' mail is validated too when we seal it: the new
	 * set's instance and cv= depend on the chain it already has */
	if (msg->arc_seen && (!inside || sealing)) {
		if (msg->headers_truncated)
			arc_msg_truncated(msg->arc);
		else
			for (size_t i = 0; i < msg->nheaders; i++)
				arc_msg_header(msg->arc, msg->headers[i].name,
					       msg->headers[i].value);
		arc_msg_eoh(msg->arc);
	}
	if (!sealing)
		return;
	if (msg->headers_truncated) {
		snprintf(msg->arc_log, sizeof(msg->arc_log),
			 "no(header over %u bytes)", ENGINE_HEADER_BYTES);
		return;
	}
	/* such a field is removed (engine_edits.c), and a seal over its set
	 * would then be broken for every later reader */
	if (msg->naar_forged > 0 || msg->aar_lost) {
		snprintf(msg->arc_log, sizeof(msg->arc_log),
			 "no(an ARC-Authentication-Results field claims our "
			 "AuthservID)");
		return;
	}
	{
		struct arc_sealopts o = {
		    .key = eng->arc_sealkey,
		    .domain = eng->arc_domain,
		    .selector = eng->arc_selector,
		};

		if ((msg->sealer = arc_sealer_new(&o)) == NULL) {
			msg->out_of_memory = true;
			return;
		}
	}
	for (size_t i = 0; i < msg->nheaders; i++)
		if (!engine_header_removed(eng, msg->headers[i].name,
					   msg->headers[i].value))
			arc_sealer_header(msg->sealer, msg->headers[i].name,
					  msg->headers[i].value);
}

/* engine_arc_body - a body chunk for the chain's and the seal's hashes */
void
engine_arc_body(struct engine_msg *msg, const unsigned char *data, size_t len)
{
	if (msg->arc_seen)
		arc_msg_body(msg->arc, data, len);
	if (msg->sealer != NULL)
		arc_sealer_body(msg->sealer, data, len);
}

/*
 * engine_arc_aar_source - what our ARC-Authentication-Results carries:
 * our results for this message, or, with ARCSealArrivalResults yes, for
 * mail our own users resubmit (a mailing list manager on this host, via
 * sendmail(1) or SMTP AUTH) the Authentication-Results we wrote when the
 * message first arrived (the newest one with our AuthservID): the list
 * rewrote the message since, so only those results say how its author
 * authenticated. Opt-in: whoever may submit can put such a field in.
 */
static const char *
engine_arc_aar_source(const struct engine_msg *msg, const char *ours)
{
	const struct engine_conn *conn = msg->conn;
	const struct config *cfg = conn->eng->cfg;

	if (!cfg->arc_arrival_results ||
	    !(msg->local || engine_conn_is_trusted(conn)))
		return ours;
	for (size_t i = 0; i < msg->nheaders; i++)
		if (strcasecmp(msg->headers[i].name,
			       "Authentication-Results") == 0 &&
		    ar_is_ours(msg->headers[i].value, cfg->authserv_id)) {
			const char *v = msg->headers[i].value;

			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
	return ours;
}

/* engine_arc_seal - append the new ARC set to edits (before our A-R,
 * whose value ar_value is); -1 when memory ran out */
int
engine_arc_seal(struct engine_msg *msg, const char *ar_value,
		struct engine_edits *edits, size_t *cap)
{
	struct arc_newset set;
	char err[256], *aar;
	int rc;

	if (msg->sealer == NULL)
		return 0;
	ar_value = engine_arc_aar_source(msg, ar_value);
	aar = msg->conn->eng->cfg->arc_ar_comments
		  ? strdup(ar_value)
		  : ar_strip_comments(ar_value);
	if (aar == NULL)
		return -1;
	rc = arc_sealer_finish(msg->sealer, msg->arc,
			       msg->results.arc.checked ? &msg->results.arc
							: NULL,
			       aar, &set, err, sizeof(err));
	free(aar);
	if (rc == 0) {
		snprintf(msg->arc_log, sizeof(msg->arc_log),
			 "no(the chain was already failed)");
		return 0;
	}
	if (rc < 0) {
		/* delivered without our seal rather than held */
		snprintf(msg->arc_log, sizeof(msg->arc_log), "no(%.200s)",
			 err);
		return strcmp(err, "out of memory") == 0 ? -1 : 0;
	}
	/* in delivery order: the seal on top, as sealers write them */
	for (int p = 2; p >= 0; p--) {
		if (engine_edits_insert(edits, cap, arc_seal_names[p],
					set.value[p]) != 0) {
			for (int q = p - 1; q >= 0; q--)
				free(set.value[q]);
			return -1;
		}
	}
	snprintf(msg->arc_log, sizeof(msg->arc_log), "i=%u cv=%s",
		 set.instance,
		 set.instance == 1				   ? "none"
		 : msg->results.arc.result == RES_PASS		   ? "pass"
								   : "fail");
	return 0;
}

/* arc_aligned - is d the From domain, or within its Organizational
 * Domain (relaxed alignment)? */
static bool
arc_aligned(const char *d, const struct dmarc_outcome *dm)
{
	const char *org = dm->org_domain[0] != '\0' ? dm->org_domain
						    : dm->from_domain;
	size_t dl = strlen(d), ol = strlen(org);

	if (strcasecmp(d, dm->from_domain) == 0 || strcasecmp(d, org) == 0)
		return true;
	return dl > ol && d[dl - ol - 1] == '.' &&
	       strcasecmp(d + dl - ol, org) == 0;
}

/* arc_prop - the value of property name ("header.d") in one result of
 * an A-R value (comments gone), copied into out; false when absent */
static bool
arc_prop(const char *result, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);

	for (const char *p = result; (p = strstr(p, name)) != NULL; p += n) {
		size_t len;

		if ((p != result && p[-1] != ' ' && p[-1] != '\t' &&
		     p[-1] != '\n') ||
		    p[n] != '=')
			continue;
		p += n + 1;
		len = strcspn(p, " \t\r\n;");
		if (len == 0 || len >= outlen)
			return false;
		memcpy(out, p, len);
		out[len] = '\0';
		return true;
	}
	return false;
}

/*
 * arc_vouches - does this ARC-Authentication-Results value show the
 * author authenticated: dmarc=pass for the From domain, or an aligned
 * dkim=pass (header.d) or spf=pass (smtp.mailfrom)?
 */
static bool
arc_vouches(const char *aar, const struct dmarc_outcome *dm)
{
	char *text = ar_strip_comments(aar), *save = NULL, *r;
	bool ok = false;
	int k = 0;

	if (text == NULL)
		return false;
	for (r = strtok_r(text, ";", &save); r != NULL && !ok;
	     r = strtok_r(NULL, ";", &save), k++) {
		char v[RES_ADDRESS_MAX];
		const char *at;

		while (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n')
			r++;
		if (k < 2) /* "i=N" and the authserv-id */
			continue;
		if (strncasecmp(r, "dmarc=pass", 10) == 0)
			ok = arc_prop(r, "header.from", v, sizeof(v)) &&
			     strcasecmp(v, dm->from_domain) == 0;
		else if (strncasecmp(r, "dkim=pass", 9) == 0)
			ok = arc_prop(r, "header.d", v, sizeof(v)) &&
			     arc_aligned(v, dm);
		else if (strncasecmp(r, "spf=pass", 8) == 0 &&
			 arc_prop(r, "smtp.mailfrom", v, sizeof(v)))
			ok = arc_aligned((at = strrchr(v, '@')) ? at + 1 : v,
					 dm);
	}
	free(text);
	return ok;
}

/*
 * engine_arc_override - local policy (RFC 8617 7.2, ARCTrustedSealers):
 * DMARC failed here, the chain validates, and the nearest sealer we
 * trust recorded that the author authenticated when it received the
 * message: dmarc stays fail (it did fail here) but the disposition is
 * none, and the A-R says which sealer vouched. An untrusted sealer's
 * word changes nothing.
 */
void
engine_arc_override(struct engine_msg *msg)
{
	const struct config *cfg = msg->conn->eng->cfg;
	struct dmarc_outcome *dm = &msg->results.dmarc;
	const struct arc_outcome *arc = &msg->results.arc;

	if (cfg->narc_trusted == 0 || !dm->checked || dm->result != RES_FAIL ||
	    arc->result != RES_PASS)
		return;
	/* newest first: the nearest trusted hop decides */
	for (unsigned k = 0; k < arc->nsealers; k++) {
		const char *names[3], *values[3];
		bool trusted = false;

		for (size_t t = 0; t < cfg->narc_trusted && !trusted; t++)
			trusted = strcasecmp(arc->sealers[k],
					     cfg->arc_trusted[t]) == 0;
		if (!trusted)
			continue;
		if (arc_msg_set(msg->arc, arc->sealer_i[k], names, values) &&
		    arc_vouches(values[0], dm)) {
			snprintf(dm->arc_override, sizeof(dm->arc_override),
				 "%s", arc->sealers[k]);
			snprintf(dm->disposition, sizeof(dm->disposition),
				 "none");
		}
		return;
	}
}

/* engine_arc_msg_free - free a message's seal in progress */
void
engine_arc_msg_free(struct engine_msg *msg)
{
	arc_sealer_free(msg->sealer);
	msg->sealer = NULL;
}

/* engine_msg_arc_log - "i=N cv=X" when sealed, "no(why)", or "" */
const char *
engine_msg_arc_log(const struct engine_msg *msg)
{
	return msg != NULL ? msg->arc_log : "";
}
