/*
 * arc.c - ARC chain validation (RFC 8617 section 5.2)
 *
 * Owns a message's ARC sets (ARC-Authentication-Results,
 * ARC-Message-Signature and ARC-Seal with instances 1..50) and their
 * validation: the structure (every instance complete and once, cv=none
 * on the first seal and pass on the others), the newest
 * ARC-Message-Signature (body hash and signature, like a DKIM-Signature),
 * the older ones for oldest-pass, and every ARC-Seal from the newest
 * down, each over the sets up to its own. Everything DKIM has in common
 * with ARC is the DKIM core's: the tag grammar and field parser
 * (dkim_sig.c), canonicalisation and body hashes (dkim_canon.c), keys
 * from lib/dns and their cache, and the signature check (dkim_key.c).
 * The body streams through the hashes; nothing but header fields is
 * kept.
 */
#include "build.h" /* first: feature macros */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "arc.h"
#include "config.h"
#include "dkim_canon.h"
#include "dkim_key.h"
#include "dkim_sig.h"
#include "strbuf.h"

#define ARC_HEADER_BYTES (1024 * 1024) /* header section kept, at most */

enum arc_part { ARC_AAR, ARC_AMS, ARC_AS, ARC_NPARTS };

static const char *const arc_names[ARC_NPARTS] = {
    "ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"};

struct arc_verifier {
	struct dkim_keycache *keys;
	unsigned min_key_bits;
};

/* a body hash, shared by the AMSes alike in c=, a= and l= */
struct arc_body {
	struct dkim_body hash;
	bool done;
	unsigned len; /* the digest's length, 0 when hashing failed */
	unsigned char dig[EVP_MAX_MD_SIZE];
};

/* one instance's three fields */
struct arc_set {
	long field[ARC_NPARTS]; /* index in fields[], -1 when missing */
	struct dkim_sig ams, as;
	struct dkim_key *ams_key, *as_key;
	char ams_why[RES_REASON_MAX], as_why[RES_REASON_MAX];
	struct arc_body *body; /* the AMS's body hash (shared) */
};

struct arc_msg {
	struct arc_verifier *ver;
	struct dns_cache *dns;
	struct dkim_field *fields;
	size_t nfields, bytes;
	bool broken;    /* out of memory */
	bool too_big;   /* the header section outgrew ARC_HEADER_BYTES */
	bool eoh_done;
	unsigned n;     /* instances: the highest i= */
	bool any;       /* an ARC field was seen */
	char fail[RES_REASON_MAX]; /* a structural failure, "" when none */
	/* 1..n, allocated as instances appear: most mail has none, and a
	 * whole array of sets (two parsed signatures each) would cost every
	 * message a third of a megabyte */
	struct arc_set *set[DKIM_ARC_MAX + 1];
	struct arc_body *bodies[DKIM_ARC_MAX];
	size_t nbodies;
};

/* arc_verifier_new - settings and a key cache */
struct arc_verifier *
arc_verifier_new(const struct config *cfg, char *err, size_t errlen)
{
	struct arc_verifier *ver = calloc(1, sizeof(*ver));

	if (ver == NULL || (ver->keys = dkim_keycache_new(4096)) == NULL) {
		free(ver);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ver->min_key_bits = cfg->dkim_min_key_bits;
	return ver;
}

/* arc_verifier_free - free the verifier */
void
arc_verifier_free(struct arc_verifier *ver)
{
	if (ver == NULL)
		return;
	dkim_keycache_free(ver->keys);
	free(ver);
}

/* arc_msg_new - validate one message's chain */
struct arc_msg *
arc_msg_new(struct arc_verifier *ver, struct dns_cache *dns)
{
	struct arc_msg *msg;

	if (ver == NULL || (msg = calloc(1, sizeof(*msg))) == NULL)
		return NULL;
	msg->ver = ver;
	msg->dns = dns;
	return msg;
}

/* arc_part_of - which ARC field name this is, or -1 */
static int
arc_part_of(const char *name)
{
	for (int p = 0; p < ARC_NPARTS; p++)
		if (strcasecmp(name, arc_names[p]) == 0)
			return p;
	return -1;
}

/* arc_msg_header - one header field as received */
void
arc_msg_header(struct arc_msg *msg, const char *name, const char *value)
{
	size_t size;

	if (msg == NULL || name == NULL || value == NULL || msg->eoh_done)
		return;
	if (arc_part_of(name) >= 0)
		msg->any = true;
	size = strlen(name) + strlen(value) + 3;
	if (msg->too_big || msg->bytes + size > ARC_HEADER_BYTES) {
		msg->too_big = true;
		return;
	}
	if (!dkim_fields_add(&msg->fields, &msg->nfields, name, value))
		msg->broken = true;
	msg->bytes += size;
}

/* arc_msg_truncated - the caller could not keep every header field */
void
arc_msg_truncated(struct arc_msg *msg)
{
	if (msg != NULL) {
		msg->any = true;
		msg->too_big = true;
	}
}

/* arc_fail - record the first structural failure */
static void
arc_fail(struct arc_msg *msg, const char *why, unsigned i)
{
	if (msg->fail[0] != '\0')
		return;
	if (i > 0)
		snprintf(msg->fail, sizeof(msg->fail), "%.140s in set %u", why, i);
	else
		snprintf(msg->fail, sizeof(msg->fail), "%.150s", why);
}

/* arc_set_at - instance i's set, made when first needed; NULL on no
 * memory */
static struct arc_set *
arc_set_at(struct arc_msg *msg, unsigned i)
{
	if (msg->set[i] == NULL &&
	    (msg->set[i] = calloc(1, sizeof(*msg->set[i]))) != NULL)
		for (int p = 0; p < ARC_NPARTS; p++)
			msg->set[i]->field[p] = -1;
	if (msg->set[i] == NULL)
		msg->broken = true;
	return msg->set[i];
}

/* arc_collect - sort the ARC fields into sets by instance */
static void
arc_collect(struct arc_msg *msg)
{
	for (size_t f = 0; f < msg->nfields; f++) {
		const struct dkim_field *fd = &msg->fields[f];
		int p = arc_part_of(fd->name);
		struct dkim_sig sig;
		char err[RES_REASON_MAX], why[RES_REASON_MAX + 40];
		unsigned i;

		if (p < 0)
			continue;
		if (p == ARC_AAR) {
			if ((i = dkim_arc_instance(fd->value)) == 0) {
				arc_fail(msg, "ARC-Authentication-Results "
					      "without a valid i=", 0);
				continue;
			}
			if (arc_set_at(msg, i) == NULL)
				continue;
		} else {
			int rc = dkim_sig_parse_kind(
			    p == ARC_AMS ? DKIM_SIG_AMS : DKIM_SIG_AS,
			    fd->value, &sig, err, sizeof(err));

			if (rc != 0) {
				if (rc == -2)
					msg->broken = true;
				snprintf(why, sizeof(why), "%s: %s",
					 arc_names[p], err);
				arc_fail(msg, why, sig.instance);
				dkim_sig_clear(&sig);
				continue;
			}
			i = sig.instance;
			if (arc_set_at(msg, i) == NULL) {
				dkim_sig_clear(&sig);
				continue;
			}
			if (msg->set[i]->field[p] >= 0) {
				dkim_sig_clear(&sig);
				arc_fail(msg, "two fields of one set", i);
				continue;
			}
			if (p == ARC_AMS)
				msg->set[i]->ams = sig;
			else
				msg->set[i]->as = sig;
		}
		if (msg->set[i]->field[p] >= 0) {
			arc_fail(msg, "two fields of one set", i);
			continue;
		}
		msg->set[i]->field[p] = (long)f;
		if (i > msg->n)
			msg->n = i;
	}
}

/* arc_structure - every set complete, the cv= chain right (RFC 8617
 * 5.2 steps 1-2, 4.1.3) */
static void
arc_structure(struct arc_msg *msg)
{
	for (unsigned i = 1; i <= msg->n; i++) {
		const struct arc_set *s = msg->set[i];

		for (int p = 0; p < ARC_NPARTS; p++)
			if (s == NULL || s->field[p] < 0) {
				char why[64];

				snprintf(why, sizeof(why), "no %s",
					 arc_names[p]);
				arc_fail(msg, why, i);
				return;
			}
	}
	if (msg->n == 0)
		return;
	if (msg->set[msg->n]->as.cv == DKIM_CV_FAIL) {
		arc_fail(msg, "the chain was already failed (cv=fail)", msg->n);
		return;
	}
	if (msg->set[1]->as.cv != DKIM_CV_NONE)
		arc_fail(msg, "first seal not cv=none", 1);
	for (unsigned i = 2; i <= msg->n; i++)
		if (msg->set[i]->as.cv != DKIM_CV_PASS)
			arc_fail(msg, "seal not cv=pass", i);
}

/* arc_md - the hash an algorithm uses */
static const EVP_MD *
arc_md(enum dkim_alg alg)
{
	return alg == DKIM_ALG_RSA_SHA1 ? EVP_sha1() : EVP_sha256();
}

/* arc_body_for - a body hash for this AMS, shared with alike ones */
static struct arc_body *
arc_body_for(struct arc_msg *msg, const struct dkim_sig *sig)
{
	const EVP_MD *md = arc_md(sig->alg);
	struct arc_body *b;

	for (size_t i = 0; i < msg->nbodies; i++) {
		b = msg->bodies[i];
		if (b->hash.canon == sig->bcanon &&
		    b->hash.limit == sig->length &&
		    EVP_MD_CTX_get0_md(b->hash.md) == md)
			return b;
	}
	if (msg->nbodies == DKIM_ARC_MAX ||
	    (b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if (!dkim_body_init(&b->hash, sig->bcanon, md, sig->length)) {
		free(b);
		return NULL;
	}
	msg->bodies[msg->nbodies++] = b;
	return b;
}

/* arc_body_digest - the body hash's digest, finished once */
static unsigned
arc_body_digest(struct arc_body *b, const unsigned char **dig)
{
	if (!b->done) {
		b->len = dkim_body_final(&b->hash, b->dig);
		b->done = true;
	}
	*dig = b->dig;
	return b->len;
}

/* arc_key - fetch and check the key of one signature; NULL with why */
static struct dkim_key *
arc_key(struct arc_msg *msg, const struct dkim_sig *sig, char *why,
	size_t whylen)
{
	struct dkim_key *key = NULL;
	bool ed = sig->alg == DKIM_ALG_ED25519_SHA256;

	switch (dkim_key_fetch(msg->ver->keys, msg->dns, sig->selector,
			       sig->domain, &key, why, whylen)) {
	case DKIM_KEYFETCH_OK:
		break;
	case DKIM_KEYFETCH_NOMEM:
		msg->broken = true;
		return NULL;
	default:
		return NULL;
	}
	if (key->revoked)
		snprintf(why, whylen, "key revoked");
	else if (ed != (key->type == DKIM_KEY_ED25519))
		snprintf(why, whylen, "key type does not match a=");
	else if (!(key->hashes & (sig->alg == DKIM_ALG_RSA_SHA1
					  ? DKIM_HASH_SHA1
					  : DKIM_HASH_SHA256)))
		snprintf(why, whylen, "signature-key hash mismatch");
	else if (!ed && key->bits < msg->ver->min_key_bits)
		snprintf(why, whylen, "%u-bit key under %u bits", key->bits,
			 msg->ver->min_key_bits);
	else
		return key;
	dkim_key_unref(key);
	return NULL;
}

/* arc_msg_eoh - collect the sets, check them, fetch keys, start hashes */
void
arc_msg_eoh(struct arc_msg *msg)
{
	if (msg == NULL || msg->eoh_done)
		return;
	msg->eoh_done = true;
	if (!msg->any)
		return;
	if (msg->too_big) {
		arc_fail(msg, "header section too large", 0);
		return;
	}
	arc_collect(msg);
	arc_structure(msg);
	if (msg->fail[0] != '\0')
		return;
	for (unsigned i = msg->n; i >= 1; i--) {
		struct arc_set *s = msg->set[i];

		/* RFC 8301 and RFC 8617 5.2: rsa-sha1 never validates */
		if (s->as.alg == DKIM_ALG_RSA_SHA1)
			snprintf(s->as_why, sizeof(s->as_why),
				 "rsa-sha1 not accepted");
		else
			s->as_key = arc_key(msg, &s->as, s->as_why,
					    sizeof(s->as_why));
		if (s->ams.alg == DKIM_ALG_RSA_SHA1)
			snprintf(s->ams_why, sizeof(s->ams_why),
				 "rsa-sha1 not accepted");
		else if ((s->ams_key = arc_key(msg, &s->ams, s->ams_why,
					       sizeof(s->ams_why))) != NULL &&
			 (s->body = arc_body_for(msg, &s->ams)) == NULL)
			msg->broken = true;
	}
}

/* arc_msg_body - a body chunk into every AMS's hash */
void
arc_msg_body(struct arc_msg *msg, const unsigned char *data, size_t len)
{
	if (msg == NULL || data == NULL)
		return;
	for (size_t i = 0; i < msg->nbodies; i++)
		dkim_body_update(&msg->bodies[i]->hash, data, len);
}

/* arc_without_b - the field's value with b='s value emptied (malloc'd) */
static char *
arc_without_b(const char *value, const struct dkim_sig *sig)
{
	char *v = strdup(value);

	if (v != NULL)
		memmove(v + sig->bstart, v + sig->bend,
			strlen(v + sig->bend) + 1);
	return v;
}

/* arc_check_sig - b= of sig over data (hashed with its algorithm) */
static bool
arc_check_sig(const struct dkim_key *key, const struct dkim_sig *sig,
	      const struct strbuf *data)
{
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;

	if (sb_failed(data) || EVP_Digest(data->s, data->len, dig, &dlen,
					  arc_md(sig->alg), NULL) != 1)
		return false;
	return dkim_key_verify(key, arc_md(sig->alg), sig->b, sig->blen, dig,
			       dlen);
}

/* arc_ams_ok - does instance i's AMS validate? why says why not */
static bool
arc_ams_ok(struct arc_msg *msg, unsigned i, char *why, size_t whylen)
{
	struct arc_set *s = msg->set[i];
	const struct dkim_field *self = &msg->fields[s->field[ARC_AMS]];
	const unsigned char *bh;
	struct strbuf data = STRBUF_INIT;
	unsigned bhlen;
	char *stripped;
	bool ok;

	if (s->ams_key == NULL) {
		snprintf(why, whylen, "message signature: %.120s",
			 s->ams_why[0] ? s->ams_why : "no key");
		return false;
	}
	if (s->body == NULL)
		return false;
	if ((bhlen = arc_body_digest(s->body, &bh)) == 0 ||
	    bhlen != s->ams.bhlen || memcmp(bh, s->ams.bh, bhlen) != 0) {
		snprintf(why, whylen, "message signature: body hash mismatch");
		return false;
	}
	dkim_canon_signed(&data, s->ams.hcanon, msg->fields, msg->nfields,
			  s->ams.hnames, s->ams.nh);
	if ((stripped = arc_without_b(self->value, &s->ams)) == NULL) {
		msg->broken = true;
		sb_free(&data);
		return false;
	}
	dkim_canon_header(&data, s->ams.hcanon, self->name, stripped, false);
	free(stripped);
	ok = arc_check_sig(s->ams_key, &s->ams, &data);
	if (sb_failed(&data))
		msg->broken = true;
	sb_free(&data);
	if (!ok)
		snprintf(why, whylen,
			 "message signature did not verify");
	return ok;
}

/* arc_as_ok - does instance i's seal validate over sets 1..i? */
static bool
arc_as_ok(struct arc_msg *msg, unsigned i, char *why, size_t whylen)
{
	struct arc_set *s = msg->set[i];
	struct strbuf data = STRBUF_INIT;
	char *stripped;
	bool ok;

	if (s->as_key == NULL) {
		snprintf(why, whylen, "seal: %.120s",
			 s->as_why[0] ? s->as_why : "no key");
		return false;
	}
	/* RFC 8617 5.1.1: each set in increasing instance order, AAR,
	 * AMS, AS; the seal itself last with b= empty and no CRLF */
	for (unsigned j = 1; j <= i; j++)
		for (int p = 0; p < ARC_NPARTS; p++) {
			const struct dkim_field *f =
			    &msg->fields[msg->set[j]->field[p]];

			if (j == i && p == ARC_AS)
				break;
			dkim_canon_header(&data, DKIM_CANON_RELAXED, f->name,
					  f->value, true);
		}
	stripped = arc_without_b(msg->fields[s->field[ARC_AS]].value, &s->as);
	if (stripped == NULL) {
		msg->broken = true;
		sb_free(&data);
		return false;
	}
	dkim_canon_header(&data, DKIM_CANON_RELAXED, arc_names[ARC_AS],
			  stripped, false);
	free(stripped);
	ok = arc_check_sig(s->as_key, &s->as, &data);
	if (sb_failed(&data))
		msg->broken = true;
	sb_free(&data);
	if (!ok)
		snprintf(why, whylen, "seal did not verify");
	return ok;
}

/* arc_outcome_fail - out says fail, with why */
static void
arc_outcome_fail(struct arc_outcome *out, const char *why)
{
	out->result = RES_FAIL;
	snprintf(out->reason, sizeof(out->reason), "%.150s", why);
}

/* arc_msg_eom - the chain's validation status */
int
arc_msg_eom(struct arc_msg *msg, struct arc_outcome *out)
{
	char why[RES_REASON_MAX], r[RES_REASON_MAX + 16];
	unsigned oldest;

	memset(out, 0, sizeof(*out));
	out->checked = true;
	if (msg == NULL || msg->broken) {
		arc_outcome_fail(out, "out of memory");
		return -1;
	}
	arc_msg_eoh(msg); /* a message that ended in its headers */
	if (!msg->any)
		return 0;
	out->instances = msg->n;
	/* the comment names them: only what is a domain name goes in */
	for (unsigned i = msg->n; i >= 1 && out->nsealers < RES_ARC_SEALERS;
	     i--)
		if (msg->set[i] != NULL &&
		    dkim_domain_valid(msg->set[i]->as.domain)) {
			out->sealer_i[out->nsealers] = i;
			snprintf(out->sealers[out->nsealers++], RES_DOMAIN_MAX,
				 "%s", msg->set[i]->as.domain);
		}
	if (msg->fail[0] != '\0') {
		arc_outcome_fail(out, msg->fail);
		return 0;
	}
	/* RFC 8617 5.2 step 3: the newest AMS */
	if (!arc_ams_ok(msg, msg->n, why, sizeof(why))) {
		snprintf(r, sizeof(r), "%.150s in set %u", why, msg->n);
		arc_outcome_fail(out, r);
		return msg->broken ? -1 : 0;
	}
	/* step 4: how far back the message is unchanged */
	oldest = msg->n;
	while (oldest > 1 && arc_ams_ok(msg, oldest - 1, why, sizeof(why)))
		oldest--;
	out->oldest_pass = oldest > 1 ? oldest : 0;
	/* step 5: every seal, newest first */
	for (unsigned i = msg->n; i >= 1; i--)
		if (!arc_as_ok(msg, i, why, sizeof(why))) {
			snprintf(r, sizeof(r), "%.150s in set %u", why, i);
			arc_outcome_fail(out, r);
			return msg->broken ? -1 : 0;
		}
	if (msg->broken) {
		arc_outcome_fail(out, "out of memory");
		return -1;
	}
	out->result = RES_PASS;
	return 0;
}

/* arc_msg_set - instance i's three fields, for a new seal */
bool
arc_msg_set(const struct arc_msg *msg, unsigned i, const char *names[3],
	    const char *values[3])
{
	if (msg == NULL || i < 1 || i > msg->n || msg->fail[0] != '\0')
		return false;
	for (int p = 0; p < ARC_NPARTS; p++) {
		const struct dkim_field *f = &msg->fields[msg->set[i]->field[p]];

		names[p] = f->name;
		values[p] = f->value;
	}
	return true;
}

/* arc_msg_newest_cv_fail - does the newest seal say cv=fail? */
bool
arc_msg_newest_cv_fail(const struct arc_msg *msg)
{
	const struct arc_set *s =
	    msg != NULL && msg->n > 0 ? msg->set[msg->n] : NULL;

	return s != NULL && s->field[ARC_AS] >= 0 && s->as.cv == DKIM_CV_FAIL;
}

/* arc_msg_free - free the per-message state */
void
arc_msg_free(struct arc_msg *msg)
{
	if (msg == NULL)
		return;
	for (unsigned i = 1; i <= DKIM_ARC_MAX; i++) {
		if (msg->set[i] == NULL)
			continue;
		dkim_sig_clear(&msg->set[i]->ams);
		dkim_sig_clear(&msg->set[i]->as);
		dkim_key_unref(msg->set[i]->ams_key);
		dkim_key_unref(msg->set[i]->as_key);
		free(msg->set[i]);
	}
	for (size_t i = 0; i < msg->nbodies; i++) {
		dkim_body_free(&msg->bodies[i]->hash);
		free(msg->bodies[i]);
	}
	dkim_fields_free(msg->fields, msg->nfields);
	free(msg);
}
