/*
 * dkim_sig.c - one DKIM-Signature header field parsed and checked
 *
 * Owns the meaning of the signature's tags (RFC 6376 3.5; a= values of
 * RFC 8463) and the checks RFC 6376 6.1.1 asks before any key is fetched:
 * required tags, v=, a plain-domain d=, i= within d=, From among the
 * signed fields, numeric t=/x=/l=. The tag-list itself is split by
 * dkim_tags.c; verifying is dkim.c's.
 */
#include "build.h" /* first: feature macros */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim_sig.h"
#include "dkim_tags.h"

/* dkim_copy_clean - a tag value without white space; "" if too long */
static void
dkim_copy_clean(char *dst, size_t dstlen, const char *src, size_t n)
{
	size_t o = 0;

	dst[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c <= ' ' || c == 0x7f)
			continue;
		if (o + 1 >= dstlen) {
			dst[0] = '\0';
			return;
		}
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
}

/* dkim_domain_valid - is s a plain domain name (LDH labels)? */
bool
dkim_domain_valid(const char *s)
{
	size_t label = 0, len = strlen(s);

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if ((c == '-' && label == 0) || ++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

/* dkim_number - a tag's decimal value (at most max digits), or -1 */
static long long
dkim_number(const struct dkim_tag *t, size_t max)
{
	long long v = 0;

	if (t->vlen == 0 || t->vlen > max)
		return -1;
	for (size_t i = 0; i < t->vlen; i++) {
		if (t->val[i] < '0' || t->val[i] > '9')
			return -1;
		v = v * 10 + (t->val[i] - '0');
	}
	return v;
}

/* dkim_sig_canon - c= into header and body canonicalisations */
static bool
dkim_sig_canon(const struct dkim_tag *t, struct dkim_sig *sig)
{
	const char *slash;
	size_t hl;

	sig->hcanon = sig->bcanon = DKIM_CANON_SIMPLE;
	if (t == NULL)
		return true;
	slash = memchr(t->val, '/', t->vlen);
	hl = slash != NULL ? (size_t)(slash - t->val) : t->vlen;
	if (hl == 7 && strncmp(t->val, "relaxed", 7) == 0)
		sig->hcanon = DKIM_CANON_RELAXED;
	else if (!(hl == 6 && strncmp(t->val, "simple", 6) == 0))
		return false;
	if (slash == NULL)
		return true;
	hl = t->vlen - hl - 1;
	if (hl == 7 && strncmp(slash + 1, "relaxed", 7) == 0)
		sig->bcanon = DKIM_CANON_RELAXED;
	else if (!(hl == 6 && strncmp(slash + 1, "simple", 6) == 0))
		return false;
	return true;
}

/* dkim_sig_hlist - h= into NUL-separated names; false on no memory */
static bool
dkim_sig_hlist(const struct dkim_tag *t, struct dkim_sig *sig)
{
	size_t o = 0;

	if ((sig->hnames = malloc(t->vlen + 1)) == NULL)
		return false;
	for (size_t i = 0; i <= t->vlen; i++) {
		char c = i < t->vlen ? t->val[i] : ':';

		if (c == ':') {
			if (o > 0 && sig->hnames[o - 1] != '\0') {
				sig->hnames[o++] = '\0';
				sig->nh++;
			}
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		sig->hnames[o++] = c;
	}
	return true;
}

/* dkim_sig_names - does h= name this field? */
static bool
dkim_sig_names(const struct dkim_sig *sig, const char *field)
{
	const char *p = sig->hnames;

	for (size_t i = 0; i < sig->nh; i++, p += strlen(p) + 1)
		if (strcasecmp(p, field) == 0)
			return true;
	return false;
}

/* dkim_sig_from_signed - does h= name From? */
static bool
dkim_sig_from_signed(const struct dkim_sig *sig)
{
	return dkim_sig_names(sig, "from");
}

/* dkim_hex - the value of a hex digit, or -1 */
static int
dkim_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* dkim_qp_decode - RFC 6376 2.11 dkim-quoted-printable, in place ("=2E"
 * is "."); a "=" not followed by two hex digits stays */
static void
dkim_qp_decode(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		int hi, lo;

		if (*s == '=' && (hi = dkim_hex(s[1])) >= 0 &&
		    (lo = dkim_hex(s[2])) >= 0) {
			*o++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* dkim_sig_identity - i= (or "@d"); false when it is not within d= */
static bool
dkim_sig_identity(const struct dkim_tag *t, struct dkim_sig *sig)
{
	const char *at, *dom;
	size_t dl, il;

	if (t == NULL) {
		snprintf(sig->identity, sizeof(sig->identity), "@%s",
			 sig->domain);
		return true;
	}
	dkim_copy_clean(sig->identity, sizeof(sig->identity), t->val, t->vlen);
	dkim_qp_decode(sig->identity);
	if ((at = strrchr(sig->identity, '@')) == NULL)
		return false;
	dom = at + 1;
	dl = strlen(sig->domain);
	il = strlen(dom);
	/* RFC 6376 3.5: the same domain or a subdomain of it */
	return il == dl ? strcasecmp(dom, sig->domain) == 0
			: il > dl && dom[il - dl - 1] == '.' &&
			      strcasecmp(dom + il - dl, sig->domain) == 0;
}

/* dkim_sig_fail - set the reason; -1 */
static int
dkim_sig_fail(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -1;
}

/* dkim_sig_times - t= and x=; 0 or -1 with err */
static int
dkim_sig_times(const struct dkim_taglist *tl, struct dkim_sig *sig, char *err,
	       size_t errlen)
{
	const struct dkim_tag *t;

	if ((t = dkim_tags_get(tl, "t")) != NULL &&
	    (sig->t = dkim_number(t, 12)) < 0)
		return dkim_sig_fail(err, errlen, "bad t= value");
	if ((t = dkim_tags_get(tl, "x")) != NULL &&
	    (sig->x = dkim_number(t, 12)) < 0)
		return dkim_sig_fail(err, errlen, "bad x= value");
	if (sig->t >= 0 && sig->x >= 0 && sig->x < sig->t)
		return dkim_sig_fail(err, errlen, "x= before t=");
	return 0;
}

/* dkim_sig_instance - an ARC i= value, 1..DKIM_ARC_MAX, or 0 */
static unsigned
dkim_sig_instance(const struct dkim_tag *t)
{
	long long n;

	/* RFC 8617 4.2.1: 1*2DIGIT, at most 50; no sign, no leading 0 */
	if (t == NULL || t->vlen == 0 || t->val[0] == '0' ||
	    (n = dkim_number(t, 2)) < 1 || n > DKIM_ARC_MAX)
		return 0;
	return (unsigned)n;
}

/* dkim_sig_arc - the tags only ARC fields have; 0 or -1 with err */
static int
dkim_sig_arc(enum dkim_sig_kind kind, const struct dkim_taglist *tl,
	     struct dkim_sig *sig, char *err, size_t errlen)
{
	const struct dkim_tag *t;

	if ((sig->instance = dkim_sig_instance(dkim_tags_get(tl, "i"))) == 0)
		return dkim_sig_fail(err, errlen, "bad or missing i= instance");
	snprintf(sig->identity, sizeof(sig->identity), "@%s", sig->domain);
	if (kind == DKIM_SIG_AMS)
		return 0;
	if ((t = dkim_tags_get(tl, "cv")) == NULL)
		return dkim_sig_fail(err, errlen, "cv= missing");
	if (dkim_tags_is(t, "none"))
		sig->cv = DKIM_CV_NONE;
	else if (dkim_tags_is(t, "pass"))
		sig->cv = DKIM_CV_PASS;
	else if (dkim_tags_is(t, "fail"))
		sig->cv = DKIM_CV_FAIL;
	else
		return dkim_sig_fail(err, errlen, "bad cv= value");
	/* RFC 8617 4.1.3: the seal signs the chain, never header lists */
	if (dkim_tags_get(tl, "h") != NULL)
		return dkim_sig_fail(err, errlen, "h= in an ARC-Seal");
	return 0;
}

/* dkim_sig_parse_any - one field of this grammar, as kind says */
static int
dkim_sig_parse_any(enum dkim_sig_kind kind, const char *value,
		   struct dkim_sig *sig, bool v05, char *err, size_t errlen)
{
	struct dkim_taglist tl;
	const struct dkim_tag *t, *b;
	bool cover, invalid;
	long long n;

	memset(sig, 0, sizeof(*sig));
	sig->length = -1;
	sig->t = sig->x = -1;
	invalid = dkim_tags_parse(value, strlen(value), &tl, err, errlen) != 0;
	if ((t = dkim_tags_get(&tl, "d")) != NULL)
		dkim_copy_clean(sig->domain, sizeof(sig->domain), t->val,
				t->vlen);
	if ((t = dkim_tags_get(&tl, "s")) != NULL)
		dkim_copy_clean(sig->selector, sizeof(sig->selector), t->val,
				t->vlen);
	if (invalid)
		return -1; /* d= and s= kept for the report */
	if ((t = dkim_tags_get(&tl, "a")) != NULL)
		dkim_copy_clean(sig->algorithm, sizeof(sig->algorithm), t->val,
				t->vlen);
	if ((b = dkim_tags_get(&tl, "b")) != NULL) {
		const char *eq = b->name + b->nlen, *semi;
		size_t o = 0;

		for (size_t i = 0; i < b->vlen && o < 8; i++)
			if ((unsigned char)b->val[i] > ' ' && b->val[i] != 0x7f)
				sig->b8[o++] = b->val[i];
		sig->b8[o] = '\0';
		/* b='s whole value, white space around it included, is
		 * what the signer hashed as empty (RFC 6376 3.7) */
		while (*eq != '=')
			eq++;
		semi = strchr(b->val + b->vlen, ';');
		sig->bstart = (size_t)(eq + 1 - value);
		sig->bend = semi != NULL ? (size_t)(semi - value) : strlen(value);
	}
	t = dkim_tags_get(&tl, "d");
	if (t == NULL)
		return dkim_sig_fail(err, errlen, "domain tag missing");
	if (sig->domain[0] == '\0' || !dkim_domain_valid(sig->domain))
		return dkim_sig_fail(err, errlen, "d= is not a domain name");
	if (kind != DKIM_SIG_DKIM) {
		/* RFC 6376 3.2 allows one final ";" only; ARC readers are
		 * expected to hold fields to the grammar */
		if (tl.empty > 0)
			return dkim_sig_fail(err, errlen, "empty tag-spec (;;)");
		if (dkim_sig_arc(kind, &tl, sig, err, errlen) != 0)
			return -1;
		cover = true;
	} else {
		/* i= (or "@d") for the report, checked below */
		cover = dkim_sig_identity(dkim_tags_get(&tl, "i"), sig);
		if ((t = dkim_tags_get(&tl, "v")) == NULL)
			return dkim_sig_fail(err, errlen, "version missing");
		if (!dkim_tags_is(t, "1") && !(v05 && dkim_tags_is(t, "0.5")))
			return dkim_sig_fail(err, errlen,
					     "unsupported signature version");
	}
	if (dkim_tags_get(&tl, "s") == NULL)
		return dkim_sig_fail(err, errlen, "selector tag missing");
	if (sig->selector[0] == '\0')
		return dkim_sig_fail(err, errlen, "bad selector");
	if ((t = dkim_tags_get(&tl, "a")) == NULL)
		return dkim_sig_fail(err, errlen, "algorithm tag missing");
	if (dkim_tags_is(t, "rsa-sha256"))
		sig->alg = DKIM_ALG_RSA_SHA256;
	else if (dkim_tags_is(t, "rsa-sha1"))
		sig->alg = DKIM_ALG_RSA_SHA1;
	else if (dkim_tags_is(t, "ed25519-sha256"))
		sig->alg = DKIM_ALG_ED25519_SHA256;
	else
		return dkim_sig_fail(err, errlen, "unknown algorithm");
	if (kind == DKIM_SIG_AS) {
		/* RFC 8617 5.1.1: relaxed headers; no body is signed */
		sig->hcanon = DKIM_CANON_RELAXED;
		if (b == NULL)
			return dkim_sig_fail(err, errlen,
					     "signature data missing");
		if ((n = dkim_tags_b64(b, sig->b, sizeof(sig->b))) <= 0)
			return dkim_sig_fail(err, errlen, "bad b= value");
		sig->blen = (size_t)n;
		return dkim_sig_times(&tl, sig, err, errlen);
	}
	if (!dkim_sig_canon(dkim_tags_get(&tl, "c"), sig))
		return dkim_sig_fail(err, errlen, "invalid canonicalization");
	/* an AMS without c=: relaxed/relaxed, as ARC signers write and the
	 * ValiMail suite (ams_fields_c_na) expects */
	if (kind == DKIM_SIG_AMS && dkim_tags_get(&tl, "c") == NULL)
		sig->hcanon = sig->bcanon = DKIM_CANON_RELAXED;
	if ((t = dkim_tags_get(&tl, "q")) != NULL && !dkim_tags_in(t, "dns/txt"))
		return dkim_sig_fail(err, errlen, "query method invalid");
	if (b == NULL)
		return dkim_sig_fail(err, errlen, "signature data missing");
	if ((n = dkim_tags_b64(b, sig->b, sizeof(sig->b))) <= 0)
		return dkim_sig_fail(err, errlen, "bad b= value");
	sig->blen = (size_t)n;
	if ((t = dkim_tags_get(&tl, "bh")) == NULL)
		return dkim_sig_fail(err, errlen, "body hash missing");
	if ((n = dkim_tags_b64(t, sig->bh, sizeof(sig->bh))) <= 0)
		return dkim_sig_fail(err, errlen, "bad bh= value");
	sig->bhlen = (size_t)n;
	if ((t = dkim_tags_get(&tl, "h")) == NULL)
		return dkim_sig_fail(err, errlen, "header list missing");
	if (!dkim_sig_hlist(t, sig))
		return -2;
	if (kind == DKIM_SIG_DKIM && !dkim_sig_from_signed(sig))
		return dkim_sig_fail(err, errlen, "From field not signed");
	/* RFC 8617 4.1.2: an AMS must not sign ARC-Seal fields */
	if (kind == DKIM_SIG_AMS && dkim_sig_names(sig, "arc-seal"))
		return dkim_sig_fail(err, errlen, "h= names ARC-Seal");
	if (!cover)
		return dkim_sig_fail(err, errlen, "invalid domain coverage");
	if ((t = dkim_tags_get(&tl, "l")) != NULL) {
		/* 1*76DIGIT; more than any message has is a failed hash */
		if ((n = dkim_number(t, 18)) < 0)
			return dkim_sig_fail(err, errlen, "bad l= value");
		sig->length = (ssize_t)n;
	}
	return dkim_sig_times(&tl, sig, err, errlen);
}

/* dkim_sig_parse - parse a DKIM-Signature value into sig */
int
dkim_sig_parse(const char *value, struct dkim_sig *sig, bool v05, char *err,
	       size_t errlen)
{
	return dkim_sig_parse_any(DKIM_SIG_DKIM, value, sig, v05, err, errlen);
}

/* dkim_sig_parse_kind - an ARC-Message-Signature or ARC-Seal value */
int
dkim_sig_parse_kind(enum dkim_sig_kind kind, const char *value,
		    struct dkim_sig *sig, char *err, size_t errlen)
{
	return dkim_sig_parse_any(kind, value, sig, false, err, errlen);
}

/* dkim_arc_instance - the i= of an ARC-Authentication-Results value */
unsigned
dkim_arc_instance(const char *value)
{
	struct dkim_tag t;
	const char *p = value, *semi;

	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (p[0] != 'i' || (semi = strchr(p, ';')) == NULL)
		return 0;
	p++;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p++ != '=')
		return 0;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	t.val = p;
	t.vlen = (size_t)(semi - p);
	while (t.vlen > 0 && (p[t.vlen - 1] == ' ' || p[t.vlen - 1] == '\t' ||
			      p[t.vlen - 1] == '\r' || p[t.vlen - 1] == '\n'))
		t.vlen--;
	return dkim_sig_instance(&t);
}

/* dkim_sig_clear - free what a parsed signature holds */
void
dkim_sig_clear(struct dkim_sig *sig)
{
	free(sig->hnames);
	sig->hnames = NULL;
	sig->nh = 0;
}
