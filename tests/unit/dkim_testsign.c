/*
 * dkim_testsign.c - sign test messages and publish their keys
 *
 * A signer of the tests' own, on OpenSSL alone and written apart from
 * lib/auth (an independent signer checks the verifier better): rsa-sha256,
 * rsa-sha1 and ed25519-sha256 (RFC 8463) signatures with relaxed/relaxed
 * canonicalization (RFC 6376 3.4.2, 3.4.4), t=, x=, i= and l= as the
 * options say. Public key records come from the private key:
 * SubjectPublicKeyInfo for RSA (RFC 6376 3.6.1), the raw 32 octets for
 * ed25519 (RFC 8463 4.2).
 */
#include "build.h" /* first: feature macros */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "dkim_testsign.h"

#define DKIM_TEST_SIGHDR "DKIM-Signature: "

/* dkim_test_replace - copy of s with the first "from" replaced by "to" */
char *
dkim_test_replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t flen = strlen(from), tlen = strlen(to), slen = strlen(s);
	char *out;

	if (at == NULL || (out = malloc(slen - flen + tlen + 1)) == NULL)
		return NULL;
	memcpy(out, s, (size_t)(at - s));
	memcpy(out + (at - s), to, tlen);
	strcpy(out + (at - s) + tlen, at + flen);
	return out;
}

/* dkim_test_b64 - base64 of data (malloc'd) */
static char *
dkim_test_b64(const unsigned char *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* dkim_test_key_record_pkcs1 - an RSA key record whose p= is the bare
 * PKCS#1 RSAPublicKey, the form RFC 6376 3.6.1 literally names */
char *
dkim_test_key_record_pkcs1(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key =
	    bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	char *p = NULL, *rec = NULL;
	int derlen;

	if (key != NULL && (derlen = i2d_PublicKey(key, &der)) > 0 &&
	    (p = dkim_test_b64(der, (size_t)derlen)) != NULL &&
	    (rec = malloc(strlen(p) + 40)) != NULL)
		sprintf(rec, "v=DKIM1; k=rsa; p=%s", p);
	OPENSSL_free(der);
	free(p);
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rec;
}

/* dkim_test_key_record - the DNS key record for a PEM private key */
char *
dkim_test_key_record(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key =
	    bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	unsigned char raw[32], *der = NULL;
	char *p = NULL, *rec = NULL;
	size_t rawlen = sizeof(raw);
	int derlen;
	bool ed;

	if (key == NULL)
		goto out;
	ed = EVP_PKEY_get_id(key) == EVP_PKEY_ED25519;
	if (ed) {
		if (EVP_PKEY_get_raw_public_key(key, raw, &rawlen) == 1)
			p = dkim_test_b64(raw, rawlen);
	} else if ((derlen = i2d_PUBKEY(key, &der)) > 0) {
		p = dkim_test_b64(der, (size_t)derlen);
	}
	if (p != NULL && (rec = malloc(strlen(p) + 40)) != NULL)
		sprintf(rec, "v=DKIM1; k=%s; p=%s", ed ? "ed25519" : "rsa", p);
out:
	OPENSSL_free(der);
	free(p);
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rec;
}

/* a growing text buffer for canonical forms */
struct dkim_test_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

/* dkim_test_put - append n bytes */
static void
dkim_test_put(struct dkim_test_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = 2 * (b->len + n + 1);
		char *p = realloc(b->p, cap);

		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* dkim_test_wsp - space or tab */
static bool
dkim_test_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* dkim_test_relaxed_header - RFC 6376 3.4.2 of one "Name:value" field */
static void
dkim_test_relaxed_header(struct dkim_test_buf *b, const char *f, size_t n)
{
	const char *colon = memchr(f, ':', n);
	size_t nlen = (size_t)(colon - f), start;
	bool space = false;

	while (nlen > 0 && dkim_test_wsp(f[nlen - 1]))
		nlen--;
	for (size_t i = 0; i < nlen; i++) {
		char c = f[i] >= 'A' && f[i] <= 'Z' ? (char)(f[i] + 32) : f[i];

		dkim_test_put(b, &c, 1);
	}
	dkim_test_put(b, ":", 1);
	start = (size_t)(colon - f) + 1;
	while (start < n && (dkim_test_wsp(f[start]) || f[start] == '\r' ||
			     f[start] == '\n'))
		start++;
	for (size_t i = start; i < n; i++) {
		if (f[i] == '\r' || f[i] == '\n')
			continue; /* unfold */
		if (dkim_test_wsp(f[i])) {
			space = true;
			continue;
		}
		if (space)
			dkim_test_put(b, " ", 1);
		space = false;
		dkim_test_put(b, f + i, 1);
	}
}

/* dkim_test_relaxed_body - RFC 6376 3.4.4 of a CRLF body */
static void
dkim_test_relaxed_body(struct dkim_test_buf *b, const char *body)
{
	size_t blank = 0; /* empty lines held back: trailing ones vanish */

	while (*body != '\0') {
		const char *end = strstr(body, "\r\n");
		size_t n = end ? (size_t)(end - body) : strlen(body);
		struct dkim_test_buf line = {0};
		bool space = false;

		for (size_t i = 0; i < n; i++) {
			if (dkim_test_wsp(body[i])) {
				space = true;
				continue;
			}
			if (space)
				dkim_test_put(&line, " ", 1);
			space = false;
			dkim_test_put(&line, body + i, 1);
		}
		if (line.len == 0) {
			blank++;
		} else {
			for (; blank > 0; blank--)
				dkim_test_put(b, "\r\n", 2);
			dkim_test_put(b, line.p, line.len);
			dkim_test_put(b, "\r\n", 2);
		}
		b->oom |= line.oom;
		free(line.p);
		body += n + (end ? 2 : 0);
	}
}

/* dkim_test_field - the last not yet used field named name; or NULL */
static const char *
dkim_test_field(const char *msg, const char *name, size_t *len,
		const char **used, size_t nused)
{
	const char *found = NULL, *p = msg;
	size_t nlen = strlen(name);

	while (*p != '\0' && strncmp(p, "\r\n", 2) != 0) {
		const char *end = strstr(p, "\r\n");
		bool taken = false;

		while (end != NULL && dkim_test_wsp(end[2]))
			end = strstr(end + 2, "\r\n");
		if (end == NULL)
			break;
		for (size_t i = 0; i < nused; i++)
			taken |= used[i] == p;
		if (!taken && strncasecmp(p, name, nlen) == 0 &&
		    p[nlen] == ':') {
			found = p;
			*len = (size_t)(end - p);
		}
		p = end + 2;
	}
	return found;
}

/* dkim_test_sign - sign a CRLF message; the message with its signature */
char *
dkim_test_sign(const char *msg, const struct dkim_test_signopts *o)
{
	static const char *const names[] = {"from", "to", "subject", "date",
					    "message-id"};
	const char *used[5];
	const char *body = strstr(msg, "\r\n\r\n");
	struct dkim_test_buf canon = {0}, tags = {0}, hin = {0};
	unsigned char hash[32], sig[1024];
	size_t siglen = sizeof(sig), blen;
	char *bh = NULL, *b = NULL, *out = NULL, line[768], extra[128] = "";
	bool ed = o->alg == DKIM_SIGN_ED25519SHA256;
	bool sha1 = o->alg == DKIM_SIGN_RSASHA1;
	uint64_t t = o->sign_time ? o->sign_time : (uint64_t)time(NULL);
	BIO *bio = BIO_new_mem_buf(o->key_pem, -1);
	EVP_PKEY *key =
	    bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (key == NULL || md == NULL || body == NULL)
		goto out;
	dkim_test_relaxed_body(&canon, body + 4);
	blen = canon.len;
	if (o->length >= 0 && (size_t)o->length < blen)
		blen = (size_t)o->length;
	if (sha1)
		SHA1((unsigned char *)(canon.p ? canon.p : ""), blen, hash);
	else
		SHA256((unsigned char *)(canon.p ? canon.p : ""), blen, hash);
	bh = dkim_test_b64(hash, sha1 ? 20 : 32);
	if (o->length >= 0)
		snprintf(extra, sizeof(extra), " l=%zd;", o->length);
	if (o->ttl != 0)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
			 " x=%llu;", (unsigned long long)(t + o->ttl));
	snprintf(line, sizeof(line),
		 " v=1; a=%s; c=relaxed/relaxed; d=%s; s=%s;"
		 "%s%s%s t=%llu;%s h=from:to:subject:date:message-id;\r\n"
		 "\tbh=%s; b=",
		 ed ? "ed25519-sha256" : sha1 ? "rsa-sha1" : "rsa-sha256",
		 o->domain, o->selector, o->identity ? " i=" : "",
		 o->identity ? o->identity : "", o->identity ? ";" : "",
		 (unsigned long long)t, extra, bh ? bh : "");
	dkim_test_put(&tags, line, strlen(line));
	for (size_t i = 0; i < 5; i++) {
		size_t n = 0;
		const char *f = dkim_test_field(msg, names[i], &n, used, i);

		used[i] = f;
		if (f != NULL) {
			dkim_test_relaxed_header(&hin, f, n);
			dkim_test_put(&hin, "\r\n", 2);
		}
	}
	snprintf(line, sizeof(line), "DKIM-Signature:%s", tags.p);
	dkim_test_relaxed_header(&hin, line, strlen(line));
	if (canon.oom || tags.oom || hin.oom || bh == NULL)
		goto out;
	if (ed) {
		/* RFC 8463 3: Ed25519 signs the SHA-256 hash of the header
		 * input */
		SHA256((unsigned char *)hin.p, hin.len, hash);
		if (EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1 ||
		    EVP_DigestSign(md, sig, &siglen, hash, sizeof(hash)) != 1)
			goto out;
	} else if (EVP_DigestSignInit(md, NULL,
				      sha1 ? EVP_sha1() : EVP_sha256(), NULL,
				      key) != 1 ||
		   EVP_DigestSign(md, sig, &siglen, (unsigned char *)hin.p,
				  hin.len) != 1) {
		goto out;
	}
	if ((b = dkim_test_b64(sig, siglen)) == NULL)
		goto out;
	if ((out = malloc(strlen(tags.p) + strlen(b) + strlen(msg) + 32)) !=
	    NULL)
		sprintf(out, "DKIM-Signature:%s%s\r\n%s", tags.p, b, msg);
out:
	if (out == NULL)
		fprintf(stderr, "dkim_test_sign: failed\n");
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	BIO_free(bio);
	free(canon.p);
	free(tags.p);
	free(hin.p);
	free(bh);
	free(b);
	return out;
}

