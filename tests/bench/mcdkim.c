/*
 * mcdkim.c - a small DKIM signer for the benchmark corpus (RFC 6376, 8463)
 *
 * Canonicalization (RFC 6376 s3.4), the body hash, the header hash over
 * the h= fields and the signature field with an empty b=, and the
 * signature itself: RSASSA-PKCS1-v1_5 with SHA-256, or for ed25519 the
 * PureEdDSA signature of the SHA-256 hash (RFC 8463 s3). Both are
 * deterministic, so a corpus built twice from the same keys and seed is
 * byte-identical. The public key comes out as a DKIM key record.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mcdkim.h"

/* buf - a growing byte string */
struct buf {
	char *p;
	size_t n, cap;
};

/* bput - append bytes (exits on allocation failure: a test tool) */
static void
bput(struct buf *b, const void *d, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL) {
			perror("mkcorpus");
			exit(1);
		}
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = '\0';
}

/* bstr - append a C string */
static void
bstr(struct buf *b, const char *s)
{
	bput(b, s, strlen(s));
}

/* b64 - base64 without line breaks; caller frees */
static char *
b64(const unsigned char *d, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, d, (int)n);
	return out;
}

/* canon_header - one header field in relaxed or simple form, CRLF-ended */
static void
canon_header(struct buf *out, const char *field, bool simple)
{
	if (simple) {
		bstr(out, field);
		bstr(out, "\r\n");
		return;
	}
	const char *colon = strchr(field, ':');
	const char *name_end = colon;

	while (name_end > field &&
	       (name_end[-1] == ' ' || name_end[-1] == '\t'))
		name_end--;
	for (const char *p = field; p < name_end; p++) {
		char c = (char)tolower((unsigned char)*p);

		bput(out, &c, 1);
	}
	bput(out, ":", 1);
	bool space = false, started = false;

	for (const char *p = colon + 1; *p; p++) {
		if (*p == '\r' || *p == '\n')
			continue; /* unfold */
		if (*p == ' ' || *p == '\t') {
			space = true;
			continue;
		}
		if (space && started)
			bput(out, " ", 1);
		space = false;
		started = true;
		bput(out, p, 1);
	}
	bstr(out, "\r\n");
}

/* canon_body - the body in relaxed or simple form */
static void
canon_body(struct buf *out, const char *body, size_t len, bool simple)
{
	for (size_t i = 0; i < len;) {
		const char *eol = memchr(body + i, '\n', len - i);
		size_t end = eol ? (size_t)(eol - body) : len;
		size_t l = end - i;

		if (l > 0 && body[i + l - 1] == '\r')
			l--;
		if (simple) {
			bput(out, body + i, l);
		} else {
			bool space = false;

			for (size_t k = 0; k < l; k++) {
				char c = body[i + k];

				if (c == ' ' || c == '\t') {
					space = true;
					continue;
				}
				if (space)
					bput(out, " ", 1);
				space = false;
				bput(out, &c, 1);
			}
		}
		bstr(out, "\r\n");
		i = end + 1;
	}
	while (out->n >= 4 && memcmp(out->p + out->n - 4, "\r\n\r\n", 4) == 0)
		out->n -= 2; /* no empty lines at the end */
	if (out->n == 2 && !simple)
		out->n = 0; /* relaxed: an empty body hashes as nothing */
	if (out->n == 0 && simple)
		bstr(out, "\r\n");
}

/* find_header - the last field with this name (RFC 6376 s5.4.2) */
static const char *
find_header(char *const *hdrs, size_t n, const char *name, size_t nl)
{
	for (size_t i = n; i-- > 0;)
		if (strncasecmp(hdrs[i], name, nl) == 0 && hdrs[i][nl] == ':')
			return hdrs[i];
	return NULL;
}

/* mc_dkim_sign - the DKIM-Signature field (folded, no final CRLF) */
char *
mc_dkim_sign(const struct mc_sig *s, char *const *hdrs, size_t nhdrs,
	     const char *body, size_t bodylen)
{
	struct buf cb = {0}, hh = {0}, sig = {0};
	unsigned char bh[32], hash[32], sigbin[512];
	size_t siglen = sizeof sigbin;

	canon_body(&cb, body, bodylen, s->body_simple);
	EVP_Digest(cb.p ? cb.p : "", cb.n, bh, NULL, EVP_sha256(), NULL);
	free(cb.p);
	char *bh64 = b64(bh, sizeof bh), head[1024];

	snprintf(head, sizeof head,
		 "DKIM-Signature: v=1; a=%s; c=%s/%s; d=%s; s=%s;\r\n"
		 "\tt=%ld; h=%s;\r\n\tbh=%s;\r\n\tb=",
		 s->ed25519 ? "ed25519-sha256" : "rsa-sha256",
		 s->hdr_simple ? "simple" : "relaxed",
		 s->body_simple ? "simple" : "relaxed", s->domain, s->selector,
		 s->t, s->hlist, bh64);
	free(bh64);
	for (const char *p = s->hlist; *p;) {
		size_t nl = strcspn(p, ":");
		const char *f = find_header(hdrs, nhdrs, p, nl);

		if (f != NULL)
			canon_header(&hh, f, s->hdr_simple);
		p += nl + (p[nl] == ':');
	}
	canon_header(&hh, head, s->hdr_simple);
	hh.n -= 2; /* the signature field is hashed without its CRLF */

	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	if (s->ed25519) {
		EVP_Digest(hh.p, hh.n, hash, NULL, EVP_sha256(), NULL);
		ok =
		    EVP_DigestSignInit(md, NULL, NULL, NULL, s->key) == 1 &&
		    EVP_DigestSign(md, sigbin, &siglen, hash, sizeof hash) == 1;
	} else {
		ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, s->key) ==
			 1 &&
		     EVP_DigestSign(md, sigbin, &siglen,
				    (const unsigned char *)hh.p, hh.n) == 1;
	}
	EVP_MD_CTX_free(md);
	free(hh.p);
	if (!ok)
		return NULL;
	char *b = b64(sigbin, siglen);

	bstr(&sig, head);
	for (size_t i = 0, n = strlen(b); i < n; i += 64) {
		if (i > 0)
			bstr(&sig, "\r\n\t ");
		bput(&sig, b + i, n - i < 64 ? n - i : 64);
	}
	free(b);
	return sig.p;
}

/* mc_dkim_pubkey - "v=DKIM1; k=...; p=..." for a key; caller frees */
char *
mc_dkim_pubkey(EVP_PKEY *key, bool ed25519)
{
	unsigned char der[1024], *p = der;
	size_t n = sizeof der;
	char *rec = NULL, *k64;

	if (ed25519) {
		if (EVP_PKEY_get_raw_public_key(key, der, &n) != 1)
			return NULL;
	} else {
		int l = i2d_PUBKEY(key, NULL);

		if (l <= 0 || (size_t)l > sizeof der ||
		    i2d_PUBKEY(key, &p) != l)
			return NULL;
		n = (size_t)l;
	}
	k64 = b64(der, n);
	if (k64 != NULL && asprintf(&rec, "v=DKIM1; k=%s; p=%s",
				    ed25519 ? "ed25519" : "rsa", k64) < 0)
		rec = NULL;
	free(k64);
	return rec;
}
