/*
 * dkim.c - DKIM verification (RFC 6376, RFC 8463, RFC 8301) on OpenSSL
 *
 * Owns the verifier (settings and the parsed-key cache, shared by every
 * thread) and the per-message state. Header fields are kept as they
 * arrive (a signature's h= picks fields from the bottom, so they are
 * needed whole at the end); at the end of the headers each signature is
 * parsed (dkim_sig.c), its key fetched through lib/dns and decoded once
 * (dkim_key.c), and a body hash started for it; body chunks stream
 * through the canonicalisers (dkim_canon.c) into those hashes and are
 * never held. At the end of the message the header hash of each
 * signature is made and checked with EVP.
 *
 * Our policy: rsa-sha1 never passes (RFC 8301), RSA keys under
 * DKIMMinKeyBits give "policy", x= in the past and t= in the future give
 * "policy"; at most DKIMMaxSignatures signatures (the top ones) are
 * looked at, the rest are neither fetched nor reported.
 */
#include "build.h" /* first: feature macros */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "config.h"
#include "dkim.h"
#include "dkim_canon.h"
#include "trace.h"
#include "dkim_key.h"
#include "dkim_sig.h"
#include "dns/dns.h"
#include "strbuf.h"

#define DKIM_HDR_NAME    "DKIM-Signature"
#define DKIM_CLOCK_DRIFT 300   /* seconds of t=/x= slack */
#define DKIM_KEYCACHE    4096  /* parsed keys kept */

struct dkim_verifier {
	unsigned max_sigs;     /* DKIMMaxSignatures */
	unsigned min_key_bits; /* DKIMMinKeyBits */
	bool accept_rsa_sha1;  /* DKIM_COMPAT_RSA_SHA1 (tests only) */
	bool accept_v05;       /* DKIM_COMPAT_V05 (tests only) */
	struct dkim_keycache *keys;
};

/* one signature being verified */
struct dkim_vsig {
	struct dkim_outcome out;
	bool done;      /* out is final (an error before the hashes) */
	size_t field;   /* its DKIM-Signature field in fields[] */
	struct dkim_sig sig;
	struct dkim_key *key;
	struct dkim_body *body; /* shared with signatures alike in c=, a=, l= */
};

struct dkim_msg {
	struct dkim_verifier *ver;
	struct dns_cache *dns;
	bool broken;   /* out of memory: no usable result */
	bool eoh_done;
	struct dkim_field *fields;
	size_t nfields;
	unsigned nsighdrs; /* DKIM-Signature fields seen */
	struct dkim_vsig *sigs;
	size_t nsigs;
	struct dkim_body **bodies; /* distinct body hashes */
	size_t nbodies;
};

/* dkim_verifier_new - the verifier as cfg says */
struct dkim_verifier *
dkim_verifier_new(const struct config *cfg, char *err, size_t errlen)
{
	struct dkim_verifier *ver = calloc(1, sizeof(*ver));

	if (ver == NULL || (ver->keys = dkim_keycache_new(DKIM_KEYCACHE)) == NULL) {
		free(ver);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ver->max_sigs = cfg->dkim_max_signatures;
	ver->min_key_bits = cfg->dkim_min_key_bits;
	return ver;
}

/* dkim_verifier_compat - relax RFC rules to score pre-RFC test corpora */
int
dkim_verifier_compat(struct dkim_verifier *ver, unsigned flags)
{
	ver->accept_v05 = (flags & DKIM_COMPAT_V05) != 0;
	ver->accept_rsa_sha1 = (flags & DKIM_COMPAT_RSA_SHA1) != 0;
	return 0;
}

/* dkim_verifier_free - free the verifier and its key cache */
void
dkim_verifier_free(struct dkim_verifier *ver)
{
	if (ver == NULL)
		return;
	dkim_keycache_free(ver->keys);
	free(ver);
}

/* dkim_verifier_keystats - key cache hits and keys decoded */
void
dkim_verifier_keystats(struct dkim_verifier *ver, unsigned long *hits,
		       unsigned long *parsed)
{
	dkim_keycache_stats(ver->keys, hits, parsed);
}

/* dkim_msg_new - start verifying one message */
struct dkim_msg *
dkim_msg_new(struct dkim_verifier *ver, struct dns_cache *dns)
{
	struct dkim_msg *msg = calloc(1, sizeof(*msg));

	if (msg == NULL)
		return NULL;
	msg->ver = ver;
	msg->dns = dns;
	return msg;
}

/* dkim_msg_header - feed one header field as received */
void
dkim_msg_header(struct dkim_msg *msg, const char *name, const char *value)
{
	if (msg == NULL || name == NULL || value == NULL || msg->eoh_done ||
	    msg->broken)
		return;
	if (strcasecmp(name, DKIM_HDR_NAME) == 0)
		msg->nsighdrs++;
	if (!dkim_fields_add(&msg->fields, &msg->nfields, name, value))
		msg->broken = true;
}

/* dkim_reason_add - append "; text" to an outcome's reason */
static void
dkim_reason_add(struct dkim_outcome *out, const char *text)
{
	size_t len = strlen(out->reason);

	snprintf(out->reason + len, sizeof(out->reason) - len, "%s%s",
		 len > 0 ? "; " : "", text);
}

/* dkim_finish - a signature's final result, before any hashing */
static void
dkim_finish(struct dkim_vsig *vs, enum ar_result r, const char *reason)
{
	vs->out.result = r;
	snprintf(vs->out.reason, sizeof(vs->out.reason), "%s", reason);
	vs->done = true;
}

/* dkim_fetch_key - look up and decode the signature's key; false when
 * the signature is done */
static bool
dkim_fetch_key(struct dkim_msg *msg, struct dkim_vsig *vs)
{
	char why[128];

	switch (dkim_key_fetch(msg->ver->keys, msg->dns, vs->sig.selector,
			       vs->sig.domain, &vs->key, why, sizeof(why))) {
	case DKIM_KEYFETCH_OK:
		return true;
	case DKIM_KEYFETCH_TEMP:
		dkim_finish(vs, RES_TEMPERROR, why);
		return false;
	case DKIM_KEYFETCH_PERM:
		dkim_finish(vs, RES_PERMERROR, why);
		return false;
	case DKIM_KEYFETCH_NOMEM:
		break;
	}
	msg->broken = true;
	return false;
}

/* dkim_check_key - the key against the signature and our policy */
static bool
dkim_check_key(const struct dkim_verifier *ver, struct dkim_vsig *vs)
{
	const struct dkim_key *key = vs->key;
	char why[RES_REASON_MAX];
	bool ed = vs->sig.alg == DKIM_ALG_ED25519_SHA256;
	unsigned hash = vs->sig.alg == DKIM_ALG_RSA_SHA1 ? DKIM_HASH_SHA1
							 : DKIM_HASH_SHA256;

	vs->out.keybits = key->bits;
	if (key->revoked) {
		/* RFC 6376 6.1.2: treat as a failed signature check */
		dkim_finish(vs, RES_FAIL, "key revoked");
		return false;
	}
	if (ed != (key->type == DKIM_KEY_ED25519)) {
		dkim_finish(vs, RES_PERMERROR, "key type does not match a=");
		return false;
	}
	if (!(key->hashes & hash)) {
		dkim_finish(vs, RES_PERMERROR, "signature-key hash mismatch");
		return false;
	}
	if (key->strict) {
		const char *at = strrchr(vs->sig.identity, '@');

		if (at == NULL || strcasecmp(at + 1, vs->sig.domain) != 0) {
			/* RFC 6376 3.6.1: t=s forbids subdomains in i= */
			dkim_finish(vs, RES_PERMERROR,
				    "unauthorized subdomain");
			return false;
		}
	}
	if (!ed && key->bits < ver->min_key_bits) {
		snprintf(why, sizeof(why), "%u-bit key under %u bits",
			 key->bits, ver->min_key_bits);
		dkim_finish(vs, RES_POLICY, why);
		return false;
	}
	return true;
}

/* dkim_md - the hash of an algorithm */
static const EVP_MD *
dkim_md(enum dkim_alg alg)
{
	return alg == DKIM_ALG_RSA_SHA1 ? EVP_sha1() : EVP_sha256();
}

/* dkim_body_for - a body hash for this signature, shared when possible */
static struct dkim_body *
dkim_body_for(struct dkim_msg *msg, const struct dkim_sig *sig)
{
	const EVP_MD *md = dkim_md(sig->alg);
	struct dkim_body *b;

	for (size_t i = 0; i < msg->nbodies; i++) {
		b = msg->bodies[i];
		if (b->canon == sig->bcanon && b->limit == sig->length &&
		    EVP_MD_CTX_get0_md(b->md) == md)
			return b;
	}
	if (sb_array_room(&msg->bodies, msg->nbodies, sizeof(*msg->bodies)) !=
		0 ||
	    (b = malloc(sizeof(*b))) == NULL)
		return NULL;
	if (!dkim_body_init(b, sig->bcanon, md, sig->length)) {
		free(b);
		return NULL;
	}
	msg->bodies[msg->nbodies++] = b;
	return b;
}

/* dkim_start_sig - parse one signature, check its times, fetch its key */
static void
dkim_start_sig(struct dkim_msg *msg, struct dkim_vsig *vs, time_t now)
{
	char err[RES_REASON_MAX];
	int rc = dkim_sig_parse(msg->fields[vs->field].value, &vs->sig,
				msg->ver->accept_v05, err, sizeof(err));

	snprintf(vs->out.domain, sizeof(vs->out.domain), "%s", vs->sig.domain);
	snprintf(vs->out.selector, sizeof(vs->out.selector), "%s",
		 vs->sig.selector);
	snprintf(vs->out.algorithm, sizeof(vs->out.algorithm), "%s",
		 vs->sig.algorithm);
	snprintf(vs->out.b, sizeof(vs->out.b), "%s", vs->sig.b8);
	snprintf(vs->out.identity, sizeof(vs->out.identity), "%s",
		 vs->sig.identity);
	if (rc == -2) {
		msg->broken = true;
		return;
	}
	if (rc != 0) {
		dkim_finish(vs, RES_PERMERROR, err);
		return;
	}
	/* RFC 6376 3.5: honouring x= is the verifier's choice */
	if (vs->sig.x >= 0 && vs->sig.x + DKIM_CLOCK_DRIFT < (long long)now) {
		dkim_finish(vs, RES_POLICY, "signature expired");
		return;
	}
	if (vs->sig.t > (long long)now + DKIM_CLOCK_DRIFT) {
		dkim_finish(vs, RES_POLICY, "signature timestamp in the future");
		return;
	}
	if (!dkim_fetch_key(msg, vs) || !dkim_check_key(msg->ver, vs))
		return;
	if ((vs->body = dkim_body_for(msg, &vs->sig)) == NULL)
		msg->broken = true;
}

/* dkim_msg_eoh - end of headers: signatures are parsed, keys fetched */
void
dkim_msg_eoh(struct dkim_msg *msg)
{
	unsigned want;
	time_t now = time(NULL);

	if (msg == NULL || msg->eoh_done)
		return;
	msg->eoh_done = true;
	if (msg->broken || msg->nsighdrs == 0)
		return;
	want = msg->nsighdrs < msg->ver->max_sigs ? msg->nsighdrs
						  : msg->ver->max_sigs;
	if ((msg->sigs = calloc(want, sizeof(*msg->sigs))) == NULL) {
		msg->broken = true;
		return;
	}
	for (size_t i = 0; i < msg->nfields && msg->nsigs < want; i++)
		if (strcasecmp(msg->fields[i].name, DKIM_HDR_NAME) == 0)
			msg->sigs[msg->nsigs++].field = i;
	for (size_t i = 0; i < msg->nsigs && !msg->broken; i++)
		dkim_start_sig(msg, &msg->sigs[i], now);
}

/* dkim_msg_body - feed a body chunk (LF or CRLF line ends, any split) */
void
dkim_msg_body(struct dkim_msg *msg, const unsigned char *data, size_t len)
{
	if (msg == NULL || !msg->eoh_done || msg->broken || data == NULL)
		return;
	for (size_t k = 0; k < msg->nbodies; k++)
		dkim_body_update(msg->bodies[k], data, len);
}

/* dkim_header_hash - the data a signature's b= signs, hashed into dig */
static unsigned
dkim_header_hash(struct dkim_msg *msg, struct dkim_vsig *vs, unsigned char *dig)
{
	const struct dkim_sig *sig = &vs->sig;
	const struct dkim_field *self = &msg->fields[vs->field];
	struct strbuf buf = {0};
	unsigned len = 0;
	char *stripped;

	dkim_canon_signed(&buf, sig->hcanon, msg->fields, msg->nfields,
			  sig->hnames, sig->nh);
	/* the signature field itself, b= emptied, no final CRLF */
	if ((stripped = strdup(self->value)) != NULL) {
		memmove(stripped + sig->bstart, stripped + sig->bend,
			strlen(stripped + sig->bend) + 1);
		dkim_canon_header(&buf, sig->hcanon, self->name, stripped,
				  false);
		free(stripped);
	}
	if (stripped != NULL && !sb_failed(&buf) &&
	    EVP_Digest(buf.s, buf.len, dig, &len, dkim_md(sig->alg), NULL) != 1)
		len = 0;
	if (stripped == NULL || sb_failed(&buf))
		msg->broken = true;
	sb_free(&buf);
	return len;
}

/* dkim_trace_hex - the first 8 octets of a digest in hex, for the trace */
static void
dkim_trace_hex(const unsigned char *d, unsigned n, char out[20])
{
	static const char hx[] = "0123456789abcdef";
	unsigned i;

	for (i = 0; i < n && i < 8; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * i] = '\0';
}

/* dkim_trace_sig - explain mode: how one signature's result came about */
static void
dkim_trace_sig(struct dkim_msg *msg, const struct dkim_vsig *vs,
	       const unsigned char *bdig, unsigned blen)
{
	struct trace *t = dns_cache_trace(msg->dns);
	char ours[20], theirs[20];

	if (t == NULL)
		return;
	dkim_trace_hex(bdig, blen, ours);
	dkim_trace_hex(vs->sig.bh, vs->sig.bhlen, theirs);
	trace_line(t, 1, "d=%s s=%s a=%s c=%s/%s, key %s %u bits",
		   vs->out.domain, vs->out.selector, vs->out.algorithm,
		   vs->sig.hcanon == DKIM_CANON_RELAXED ? "relaxed" : "simple",
		   vs->sig.bcanon == DKIM_CANON_RELAXED ? "relaxed" : "simple",
		   vs->key->type == DKIM_KEY_ED25519 ? "ed25519" : "rsa",
		   vs->key->type == DKIM_KEY_ED25519 ? 256 : vs->key->bits);
	trace_line(t, 2, "body hash computed %s..., bh= %s...: %s", ours,
		   theirs,
		   blen == vs->sig.bhlen && memcmp(bdig, vs->sig.bh, blen) == 0
		       ? "equal"
		       : "different: the body changed after signing");
	trace_line(t, 2, "result %s%s%s%s", result_name(vs->out.result),
		   vs->out.reason[0] ? " (" : "", vs->out.reason,
		   vs->out.reason[0] ? ")" : "");
}

/* dkim_sig_verifies - does b= sign this digest with the key? */
static bool
dkim_sig_verifies(const struct dkim_vsig *vs, const unsigned char *dig,
		  unsigned dlen)
{
	return dkim_key_verify(vs->key, dkim_md(vs->sig.alg), vs->sig.b,
			       vs->sig.blen, dig, dlen);
}

/* dkim_sig_result - hashes and signature of one signature at the end */
static void
dkim_sig_result(struct dkim_msg *msg, struct dkim_vsig *vs,
		const unsigned char *bdig, unsigned blen)
{
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned dlen;

	if (blen == 0) {
		msg->broken = true;
		return;
	}
	if (blen != vs->sig.bhlen || memcmp(bdig, vs->sig.bh, blen) != 0) {
		vs->out.result = RES_FAIL;
		snprintf(vs->out.reason, sizeof(vs->out.reason),
			 "body hash mismatch");
	} else if ((dlen = dkim_header_hash(msg, vs, dig)) == 0) {
		return; /* broken */
	} else if (!dkim_sig_verifies(vs, dig, dlen)) {
		vs->out.result = RES_FAIL;
		snprintf(vs->out.reason, sizeof(vs->out.reason),
			 "signature did not verify");
	} else {
		vs->out.result = RES_PASS;
		if (vs->sig.length >= 0 &&
		    vs->body->total > (size_t)vs->sig.length)
			snprintf(vs->out.reason, sizeof(vs->out.reason),
				 "body length limit %zd leaves %zu bytes "
				 "unsigned",
				 vs->sig.length,
				 vs->body->total - (size_t)vs->sig.length);
	}
	/* RFC 8301: rsa-sha1 is not acceptable whatever the check said */
	if (vs->sig.alg == DKIM_ALG_RSA_SHA1 && !msg->ver->accept_rsa_sha1) {
		vs->out.result = RES_POLICY;
		snprintf(vs->out.reason, sizeof(vs->out.reason),
			 "rsa-sha1 not accepted (RFC 8301)");
	}
	if (vs->key->testing &&
	    (vs->out.result == RES_PASS || vs->out.result == RES_FAIL))
		dkim_reason_add(&vs->out, "testing key");
	dkim_trace_sig(msg, vs, bdig, blen);
}

/* dkim_msg_eom - finish; one outcome per signature */
void
dkim_msg_eom(struct dkim_msg *msg, struct dkim_outcome **sigs, size_t *nsigs)
{
	unsigned char (*digs)[EVP_MAX_MD_SIZE] = NULL;
	unsigned *dlens = NULL;

	*sigs = NULL;
	*nsigs = 0;
	if (msg == NULL)
		return;
	if (!msg->eoh_done)
		dkim_msg_eoh(msg);
	if (!msg->broken && msg->nbodies > 0) {
		digs = calloc(msg->nbodies, sizeof(*digs));
		dlens = calloc(msg->nbodies, sizeof(*dlens));
		if (digs == NULL || dlens == NULL)
			msg->broken = true;
		for (size_t i = 0; !msg->broken && i < msg->nbodies; i++)
			dlens[i] = dkim_body_final(msg->bodies[i], digs[i]);
	}
	for (size_t i = 0; !msg->broken && i < msg->nsigs; i++) {
		struct dkim_vsig *vs = &msg->sigs[i];
		size_t k = 0;

		if (vs->done)
			continue;
		while (msg->bodies[k] != vs->body)
			k++;
		dkim_sig_result(msg, vs, digs[k], dlens[k]);
	}
	free(digs);
	free(dlens);
	if (msg->nsighdrs == 0)
		return;
	if (msg->broken) {
		size_t n = msg->nsighdrs < msg->ver->max_sigs
			       ? msg->nsighdrs
			       : msg->ver->max_sigs;

		if ((*sigs = calloc(n, sizeof(**sigs))) == NULL)
			return;
		for (size_t i = 0; i < n; i++) {
			(*sigs)[i].result = RES_TEMPERROR;
			snprintf((*sigs)[i].reason, sizeof((*sigs)[i].reason),
				 "verifier error");
		}
		*nsigs = n;
		return;
	}
	if ((*sigs = calloc(msg->nsigs, sizeof(**sigs))) == NULL)
		return;
	for (size_t i = 0; i < msg->nsigs; i++)
		(*sigs)[i] = msg->sigs[i].out;
	*nsigs = msg->nsigs;
}

/* dkim_msg_free - free the per-message state */
void
dkim_msg_free(struct dkim_msg *msg)
{
	if (msg == NULL)
		return;
	dkim_fields_free(msg->fields, msg->nfields);
	for (size_t i = 0; i < msg->nsigs; i++) {
		dkim_sig_clear(&msg->sigs[i].sig);
		dkim_key_unref(msg->sigs[i].key);
	}
	free(msg->sigs);
	for (size_t i = 0; i < msg->nbodies; i++) {
		dkim_body_free(msg->bodies[i]);
		free(msg->bodies[i]);
	}
	free(msg->bodies);
	free(msg);
}
