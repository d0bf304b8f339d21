/*
 * arc_seal.c - adding our ARC set to a message we pass on (RFC 8617 5.1)
 *
 * Owns one message's sealing: the header fields and relaxed body hash
 * of the message as it will be delivered, then the new set: the
 * ARC-Authentication-Results (our results, "i=N; " in front), the
 * ARC-Message-Signature over the message (relaxed/relaxed, like a
 * DKIM-Signature with i= the instance and no v=), and the ARC-Seal over
 * every set up to the new one with cv= as the chain validated. Tags are
 * written in the order the ValiMail suite standardised (alphabetical),
 * "; " apart, and folded only between tags, so that what is hashed is
 * what a verifier reconstructs. Keys and the signature
 * itself are the DKIM signer's (dkim_sign.c).
 */
#include "build.h" /* first: feature macros */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "arc_seal.h"
#include "dkim_canon.h"
#include "dkim_sig.h"
#include "strbuf.h"

#define ARC_LINE 76 /* fold before this column, where tags allow */

const char *const arc_seal_names[3] = {
    "ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"};

struct arc_sealer {
	struct arc_sealopts opts;
	struct dkim_field *fields;
	size_t nfields;
	struct dkim_body body;
	bool body_ok;
	bool oom;
};

/* arc_sealer_new - start sealing one message */
struct arc_sealer *
arc_sealer_new(const struct arc_sealopts *opts)
{
	struct arc_sealer *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->opts = *opts;
	if (s->opts.now == 0)
		s->opts.now = time(NULL);
	s->body_ok =
	    dkim_body_init(&s->body, DKIM_CANON_RELAXED, EVP_sha256(), -1);
	return s;
}

/* arc_sealer_header - one header field as it will be delivered */
void
arc_sealer_header(struct arc_sealer *s, const char *name, const char *value)
{
	if (s != NULL && !dkim_fields_add(&s->fields, &s->nfields, name, value))
		s->oom = true;
}

/* arc_sealer_body - a body chunk */
void
arc_sealer_body(struct arc_sealer *s, const unsigned char *data, size_t len)
{
	if (s != NULL && s->body_ok)
		dkim_body_update(&s->body, data, len);
}

/* arc_hlist - h= as NUL-separated names: each listed name once per
 * instance the message has (absent ones left out, ARC-Seal never);
 * returns the count */
static size_t
arc_hlist(const struct arc_sealer *s, struct strbuf *out, struct strbuf *tag)
{
	const char *list = s->opts.sign_headers != NULL
			       ? s->opts.sign_headers
			       : dkim_sign_default_headers();
	size_t n = 0;

	for (const char *p = list; *p != '\0';) {
		size_t len = strcspn(p, ":"), count = 0;

		for (size_t i = 0; i < s->nfields; i++)
			count += strlen(s->fields[i].name) == len &&
				 strncasecmp(s->fields[i].name, p, len) == 0;
		if (len == 8 && strncasecmp(p, "arc-seal", 8) == 0)
			count = 0;
		for (size_t k = 0; k < count; k++) {
			sb_putn(out, p, len);
			sb_putc(out, '\0');
			sb_printf(tag, "%s%.*s", n ? ":" : "", (int)len, p);
			n++;
		}
		p += len + (p[len] == ':');
	}
	return n;
}

/*
 * arc_fold - the tags "a; b=; c" with b's value put in, folded between
 * tags only (each tag whole, b= too): a later seal covers this field
 * relaxed, where a break between tags is the one space that was there,
 * but a break inside b= would add one. This is what the ValiMail suite's
 * expected seals were computed over.
 */
static char *
arc_fold(const char *before_b, const char *b64, const char *after_b)
{
	struct strbuf all = STRBUF_INIT, out = STRBUF_INIT;
	size_t col = 0;
	char *copy, *save = NULL, *tag;

	sb_printf(&all, "%s%s%s", before_b, b64, after_b);
	if (sb_failed(&all) || (copy = sb_steal(&all)) == NULL)
		return NULL;
	for (tag = strtok_r(copy, ";", &save); tag != NULL;
	     tag = strtok_r(NULL, ";", &save)) {
		bool last;
		size_t len;

		while (*tag == ' ')
			tag++;
		last = save == NULL || *save == '\0';
		len = strlen(tag) + !last; /* with its ';' */
		if (col > 0 && col + 1 + len > ARC_LINE) {
			sb_puts(&out, "\n\t");
			col = 1;
		} else if (col > 0) {
			sb_putc(&out, ' ');
			col++;
		}
		sb_puts(&out, tag);
		if (!last)
			sb_putc(&out, ';');
		col += len;
	}
	free(copy);
	return sb_failed(&out) ? (sb_free(&out), NULL) : sb_steal(&out);
}

/* arc_sign_value - sign the hash input ending in this field with an
 * empty b=, and give the field's value with b= in it */
static char *
arc_sign_value(const struct arc_sealer *s, struct strbuf *hin,
	       const char *name, const char *before_b, const char *after_b)
{
	struct strbuf empty = STRBUF_INIT;
	char *b64, *v = NULL;

	sb_printf(&empty, "%s%s", before_b, after_b);
	dkim_canon_header(hin, DKIM_CANON_RELAXED, name, sb_str(&empty), false);
	if (!sb_failed(&empty) && !sb_failed(hin) &&
	    (b64 = dkim_signkey_sign(s->opts.key, hin)) != NULL) {
		v = arc_fold(before_b, b64, after_b);
		free(b64);
	}
	sb_free(&empty);
	return v;
}

/* arc_sealer_finish - the next set */
int
arc_sealer_finish(struct arc_sealer *s, const struct arc_msg *msg,
		  const struct arc_outcome *out, const char *aar,
		  struct arc_newset *set, char *err, size_t errlen)
{
	static const char *const cvs[] = {"none", "pass", "fail"};
	struct strbuf hnames = STRBUF_INIT, htag = STRBUF_INIT,
		      hin = STRBUF_INIT, pre = STRBUF_INIT, post = STRBUF_INIT;
	unsigned char bh[EVP_MAX_MD_SIZE];
	char *bh64 = NULL;
	const char *alg = dkim_signkey_algorithm(s->opts.key);
	unsigned n = out != NULL ? out->instances : 0, bhlen;
	size_t nh;
	int cv, rc = -1;

	memset(set, 0, sizeof(*set));
	if (arc_msg_newest_cv_fail(msg) || n >= DKIM_ARC_MAX)
		return 0;
	cv = n == 0 ? 0 : out->result == RES_PASS ? 1 : 2;
	set->instance = n + 1;
	if (s->oom || !s->body_ok ||
	    (bhlen = dkim_body_final(&s->body, bh)) == 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	s->body_ok = false; /* finished */
	if ((bh64 = malloc(4 * ((bhlen + 2) / 3) + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)bh64, bh, (int)bhlen);

	/* ARC-Authentication-Results */
	sb_printf(&pre, "i=%u; %s", set->instance, aar);
	if (sb_failed(&pre) || (set->value[0] = sb_steal(&pre)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}

	/* ARC-Message-Signature: the listed fields, then itself */
	if ((nh = arc_hlist(s, &hnames, &htag)) == 0) {
		snprintf(err, errlen, "no header field to sign");
		goto out;
	}
	dkim_canon_signed(&hin, DKIM_CANON_RELAXED, s->fields, s->nfields,
			  hnames.s, nh);
	sb_printf(&pre, "a=%s; b=", alg);
	sb_printf(&post,
		  "; bh=%s; c=relaxed/relaxed; d=%s; h=%s; i=%u; s=%s; t=%lld",
		  bh64, s->opts.domain, sb_str(&htag), set->instance,
		  s->opts.selector, (long long)s->opts.now);
	if ((set->value[1] = arc_sign_value(s, &hin, arc_seal_names[1],
					    sb_str(&pre), sb_str(&post))) ==
	    NULL) {
		snprintf(err, errlen, "signing failed");
		goto out;
	}

	/* ARC-Seal: every set in instance order (AAR, AMS, AS), ours last */
	sb_truncate(&hin, 0);
	/* a failed chain: the new seal covers its own set only (RFC 8617
	 * 5.1.2), so that nothing rests on the broken ones */
	for (unsigned i = 1; i <= n && cv != 2; i++) {
		const char *names[3], *values[3];

		if (!arc_msg_set(msg, i, names, values)) {
			/* a broken chain: the new seal covers only its set */
			sb_truncate(&hin, 0);
			break;
		}
		for (int p = 0; p < 3; p++)
			dkim_canon_header(&hin, DKIM_CANON_RELAXED, names[p],
					  values[p], true);
	}
	dkim_canon_header(&hin, DKIM_CANON_RELAXED, arc_seal_names[0],
			  set->value[0], true);
	dkim_canon_header(&hin, DKIM_CANON_RELAXED, arc_seal_names[1],
			  set->value[1], true);
	sb_truncate(&pre, 0);
	sb_truncate(&post, 0);
	sb_printf(&pre, "a=%s; b=", alg);
	sb_printf(&post, "; cv=%s; d=%s; i=%u; s=%s; t=%lld", cvs[cv],
		  s->opts.domain, set->instance, s->opts.selector,
		  (long long)s->opts.now);
	if ((set->value[2] = arc_sign_value(s, &hin, arc_seal_names[2],
					    sb_str(&pre), sb_str(&post))) ==
	    NULL) {
		snprintf(err, errlen, "signing failed");
		goto out;
	}
	rc = 1;
out:
	if (rc != 1)
		arc_newset_free(set);
	free(bh64);
	sb_free(&hnames);
	sb_free(&htag);
	sb_free(&hin);
	sb_free(&pre);
	sb_free(&post);
	return rc;
}

/* arc_newset_free - free the values of a set */
void
arc_newset_free(struct arc_newset *set)
{
	for (int p = 0; p < 3; p++) {
		free(set->value[p]);
		set->value[p] = NULL;
	}
}

/* arc_sealer_free - free a sealer */
void
arc_sealer_free(struct arc_sealer *s)
{
	if (s == NULL)
		return;
	dkim_fields_free(s->fields, s->nfields);
	dkim_body_free(&s->body);
	free(s);
}
