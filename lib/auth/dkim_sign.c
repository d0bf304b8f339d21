/*
 * dkim_sign.c - DKIM signing (RFC 6376 section 5, RFC 8463)
 *
 * Owns private keys (loaded from the files opendkim-genkey and dkimpy's
 * dknewkey write) and the making of one DKIM-Signature: header fields
 * are kept as they will be delivered, the body streams through the same
 * canonicaliser the verifier uses (dkim_canon.c) into its hash, and at the
 * end the h= list is built from the fields present (each instance named
 * once, the OversignHeaders once more so that no instance can be added),
 * the header hash made and signed with EVP: rsa-sha256 (PKCS#1 v1.5) or
 * ed25519-sha256 (Ed25519 over the SHA-256 hash, RFC 8463 3).
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim_sign.h"
#include "strbuf.h"

#define DKIM_KEYFILE_MAX 65536
#define DKIM_FOLD_AT     72 /* fold the field before this column */

/* RFC 6376 5.4.1's list, as opendkim signs by default */
static const char dkim_default_headers[] =
    "from:reply-to:subject:date:to:cc:resent-date:resent-from:"
    "resent-sender:resent-to:resent-cc:in-reply-to:references:list-id:"
    "list-help:list-unsubscribe:list-subscribe:list-post:list-owner:"
    "list-archive:message-id:mime-version:content-type:"
    "content-transfer-encoding";

struct dkim_signkey {
	EVP_PKEY *pkey;
	bool ed25519;
};

struct dkim_signer {
	const struct dkim_signkey *key;
	struct dkim_signopts opts;
	struct dkim_field *fields;
	size_t nfields;
	struct dkim_body body;
	bool body_ok; /* the body hash started */
	bool oom;
};

/* dkim_read_file - a whole small file into a NUL-terminated buffer */
static char *
dkim_read_file(const char *path, bool *unsafe, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > DKIM_KEYFILE_MAX) {
		snprintf(err, errlen, "%s: not a key file", path);
		close(fd);
		return NULL;
	}
	if (unsafe != NULL)
		*unsafe = (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return NULL;
	}
	while (len < (size_t)st.st_size &&
	       (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* dkim_raw_ed25519 - dkimpy's format: base64 of the 32-octet seed */
static EVP_PKEY *
dkim_raw_ed25519(const char *text)
{
	unsigned char raw[48];
	char clean[64];
	size_t o = 0;
	int n;

	for (; *text != '\0'; text++) {
		if (*text == ' ' || *text == '\t' || *text == '\r' ||
		    *text == '\n')
			continue;
		if (o + 1 >= sizeof(clean))
			return NULL;
		clean[o++] = *text;
	}
	clean[o] = '\0';
	if (o != 44 || (n = EVP_DecodeBlock(raw, (unsigned char *)clean,
					    (int)o)) != 33)
		return NULL; /* 32 octets and one of padding */
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, 32);
}

/* dkim_der_key - a base64 DER private key (PKCS#8 or PKCS#1 RSA), as
 * opendkim accepts inline in a KeyTable */
static EVP_PKEY *
dkim_der_key(const char *text)
{
	unsigned char *der;
	const unsigned char *p;
	char *clean;
	size_t o = 0, n = strlen(text);
	EVP_PKEY *pk = NULL;
	int len;

	if (n == 0 || (clean = malloc(n + 1)) == NULL)
		return NULL;
	for (; *text != '\0'; text++)
		if (*text != ' ' && *text != '\t' && *text != '\r' &&
		    *text != '\n')
			clean[o++] = *text;
	clean[o] = '\0';
	if (o % 4 != 0 || (der = malloc(o / 4 * 3 + 1)) == NULL) {
		free(clean);
		return NULL;
	}
	len = EVP_DecodeBlock(der, (unsigned char *)clean, (int)o);
	/* EVP_DecodeBlock counts the padding as data: DER ignores it */
	if (len > 0) {
		p = der;
		pk = d2i_AutoPrivateKey(NULL, &p, len);
	}
	OPENSSL_cleanse(der, o / 4 * 3 + 1);
	OPENSSL_cleanse(clean, o);
	free(der);
	free(clean);
	return pk;
}

/* dkim_signkey_parse - a private key from text (PEM, dkimpy's raw
 * ed25519, or base64 DER); what names it in messages */
struct dkim_signkey *
dkim_signkey_parse(const char *text, const char *what, char *err,
		   size_t errlen)
{
	struct dkim_signkey *key;
	BIO *bio;
	EVP_PKEY *pk = NULL;
	int id;

	if ((bio = BIO_new_mem_buf(text, -1)) != NULL) {
		pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (pk == NULL)
		pk = dkim_raw_ed25519(text);
	if (pk == NULL && strstr(text, "-----") == NULL)
		pk = dkim_der_key(text);
	ERR_clear_error();
	if (pk == NULL) {
		snprintf(err, errlen, "%s: no private key in PEM or dkimpy form",
			 what);
		return NULL;
	}
	id = EVP_PKEY_get_base_id(pk);
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "%s: not an RSA or ed25519 key", what);
		EVP_PKEY_free(pk);
		return NULL;
	}
	if ((key = calloc(1, sizeof(*key))) == NULL) {
		snprintf(err, errlen, "out of memory");
		EVP_PKEY_free(pk);
		return NULL;
	}
	key->pkey = pk;
	key->ed25519 = id == EVP_PKEY_ED25519;
	return key;
}

/* dkim_signkey_load - a private key from a file */
struct dkim_signkey *
dkim_signkey_load(const char *path, bool *unsafe, char *err, size_t errlen)
{
	struct dkim_signkey *key;
	char *text = dkim_read_file(path, unsafe, err, errlen);

	if (text == NULL)
		return NULL;
	key = dkim_signkey_parse(text, path, err, errlen);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return key;
}

/* dkim_signkey_free - free a key */
void
dkim_signkey_free(struct dkim_signkey *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

/* dkim_signkey_bits - RSA modulus size, 0 for ed25519 */
unsigned
dkim_signkey_bits(const struct dkim_signkey *key)
{
	return key->ed25519 ? 0 : (unsigned)EVP_PKEY_get_bits(key->pkey);
}

/* dkim_signkey_matches - is pub the public half of key? */
bool
dkim_signkey_matches(const struct dkim_signkey *key, const EVP_PKEY *pub)
{
	return pub != NULL && EVP_PKEY_eq(key->pkey, pub) == 1;
}

/* dkim_signkey_algorithm - "rsa-sha256" or "ed25519-sha256" */
const char *
dkim_signkey_algorithm(const struct dkim_signkey *key)
{
	return key->ed25519 ? "ed25519-sha256" : "rsa-sha256";
}

/* dkim_sign_default_headers - the h= list used when none is configured */
const char *
dkim_sign_default_headers(void)
{
	return dkim_default_headers;
}

/* dkim_b64 - base64 of data, malloc'd */
static char *
dkim_b64(const unsigned char *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* dkim_signkey_record - the DNS key record of key's public half */
char *
dkim_signkey_record(const struct dkim_signkey *key)
{
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof(raw);
	struct strbuf sb = {0};
	char *p = NULL;
	int n;

	if (key->ed25519) {
		if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &rawlen) == 1)
			p = dkim_b64(raw, rawlen);
	} else if ((n = i2d_PUBKEY(key->pkey, &der)) > 0) {
		p = dkim_b64(der, (size_t)n);
	}
	OPENSSL_free(der);
	if (p == NULL)
		return NULL;
	sb_printf(&sb, "v=DKIM1; k=%s; p=%s", key->ed25519 ? "ed25519" : "rsa",
		  p);
	free(p);
	return sb_steal(&sb);
}

/* dkim_signer_new - start a signature with key */
struct dkim_signer *
dkim_signer_new(const struct dkim_signkey *key,
		const struct dkim_signopts *opts)
{
	struct dkim_signer *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->key = key;
	s->opts = *opts;
	if (s->opts.now == 0)
		s->opts.now = time(NULL);
	s->body_ok = dkim_body_init(&s->body, opts->bcanon, EVP_sha256(), -1);
	return s;
}

/* dkim_signer_header - one header field as the message will carry it */
void
dkim_signer_header(struct dkim_signer *s, const char *name, const char *value)
{
	if (s == NULL || s->oom)
		return;
	if (!dkim_fields_add(&s->fields, &s->nfields, name, value))
		s->oom = true;
}

/* dkim_signer_body - a body chunk */
void
dkim_signer_body(struct dkim_signer *s, const unsigned char *data, size_t len)
{
	if (s != NULL && s->body_ok)
		dkim_body_update(&s->body, data, len);
}

/*
 * dkim_signer_hlist - h= as NUL-separated names: each listed field once
 * per instance present, in list order, then the oversigned ones once
 * more. Returns the count, -1 if From is absent (RFC 6376 5.4: it MUST be
 * signed), -2 on no memory.
 */
static long
dkim_signer_hlist(const struct dkim_signer *s, struct strbuf *out)
{
	const char *list = s->opts.sign_headers ? s->opts.sign_headers
						: dkim_default_headers;
	const char *over = s->opts.oversign ? s->opts.oversign : "from";
	long n = 0;
	bool from = false;

	for (int pass = 0; pass < 2; pass++) {
		const char *p = pass == 0 ? list : over;

		while (p != NULL && *p != '\0') {
			const char *colon = strchr(p, ':');
			size_t len = colon ? (size_t)(colon - p) : strlen(p);
			size_t count = 0;

			for (size_t i = 0; i < s->nfields && pass == 0; i++)
				count += strlen(s->fields[i].name) == len &&
					 strncasecmp(s->fields[i].name, p,
						     len) == 0;
			if (pass == 1)
				count = 1;
			if (len == 4 && strncasecmp(p, "from", 4) == 0 &&
			    pass == 0)
				from = count > 0;
			/* a name listed twice gets its instances once */
			for (const char *q = pass == 0 ? list : over;
			     q < p && count > 0;) {
				const char *c2 = strchr(q, ':');
				size_t l2 = c2 ? (size_t)(c2 - q) : strlen(q);

				if (l2 == len && strncasecmp(q, p, len) == 0)
					count = 0;
				q = c2 ? c2 + 1 : p;
			}
			for (size_t k = 0; k < count && len > 0; k++) {
				for (size_t i = 0; i < len; i++) {
					char c = p[i];

					sb_putc(out, c >= 'A' && c <= 'Z'
							 ? (char)(c + 32)
							 : c);
				}
				sb_putc(out, '\0');
				n++;
			}
			p = colon ? colon + 1 : NULL;
		}
	}
	if (sb_failed(out))
		return -2;
	return from ? n : -1;
}

/* dkim_fold_put - append text, breaking the line before DKIM_FOLD_AT */
static void
dkim_fold_put(struct strbuf *sb, size_t *col, const char *fold,
	      const char *text)
{
	size_t n = strlen(text);

	if (*col + n + 1 > DKIM_FOLD_AT && *col > 1) {
		sb_puts(sb, fold);
		*col = 1;
	} else {
		sb_putc(sb, ' ');
		(*col)++;
	}
	sb_puts(sb, text);
	*col += n;
}

/* dkim_signkey_sign - sign the header hash input with the key */
char *
dkim_signkey_sign(const struct dkim_signkey *key, const struct strbuf *data)
{
	unsigned char sig[2048], dig[32];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok;

	if (md == NULL)
		return NULL;
	if (key->ed25519)
		/* RFC 8463 3: Ed25519 over the SHA-256 hash */
		ok = EVP_Digest(data->s, data->len, dig, NULL, EVP_sha256(),
				NULL) == 1 &&
		     EVP_DigestSignInit(md, NULL, NULL, NULL, key->pkey) == 1 &&
		     EVP_DigestSign(md, sig, &siglen, dig, sizeof(dig)) == 1;
	else
		ok = EVP_PKEY_get_size(key->pkey) <= (int)sizeof(sig) &&
		     EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
					key->pkey) == 1 &&
		     EVP_DigestSign(md, sig, &siglen,
				    (const unsigned char *)data->s,
				    data->len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok ? dkim_b64(sig, siglen) : NULL;
}

/* dkim_signer_finish - the DKIM-Signature field's value */
char *
dkim_signer_finish(struct dkim_signer *s, bool crlf, char *err, size_t errlen)
{
	const char *fold = crlf ? "\r\n\t" : "\n\t";
	unsigned char bh[EVP_MAX_MD_SIZE];
	struct strbuf h = {0}, v = {0}, hin = {0}, tag = {0};
	char *bh64 = NULL, *b64 = NULL, *out = NULL;
	const char *name;
	size_t col = sizeof("DKIM-Signature:") - 1;
	unsigned bhlen;
	long nh;

	if (s == NULL || s->oom || !s->body_ok) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((nh = dkim_signer_hlist(s, &h)) < 0) {
		snprintf(err, errlen, "%s",
			 nh == -1 ? "no From field to sign" : "out of memory");
		goto out;
	}
	if ((bhlen = dkim_body_final(&s->body, bh)) == 0 ||
	    (bh64 = dkim_b64(bh, bhlen)) == NULL) {
		snprintf(err, errlen, "body hash failed");
		goto out;
	}
	sb_printf(&tag, "v=1; a=%s; c=%s/%s;",
		  s->key->ed25519 ? "ed25519-sha256" : "rsa-sha256",
		  s->opts.hcanon == DKIM_CANON_RELAXED ? "relaxed" : "simple",
		  s->opts.bcanon == DKIM_CANON_RELAXED ? "relaxed" : "simple");
	dkim_fold_put(&v, &col, fold, sb_str(&tag));
	sb_truncate(&tag, 0);
	sb_printf(&tag, "d=%s;", s->opts.domain);
	dkim_fold_put(&v, &col, fold, sb_str(&tag));
	sb_truncate(&tag, 0);
	sb_printf(&tag, "s=%s;", s->opts.selector);
	dkim_fold_put(&v, &col, fold, sb_str(&tag));
	if (s->opts.identity != NULL) {
		sb_truncate(&tag, 0);
		sb_printf(&tag, "i=%s;", s->opts.identity);
		dkim_fold_put(&v, &col, fold, sb_str(&tag));
	}
	sb_truncate(&tag, 0);
	sb_printf(&tag, "t=%lld;", (long long)s->opts.now);
	dkim_fold_put(&v, &col, fold, sb_str(&tag));
	if (s->opts.ttl > 0) {
		sb_truncate(&tag, 0);
		sb_printf(&tag, "x=%lld;",
			  (long long)s->opts.now + (long long)s->opts.ttl);
		dkim_fold_put(&v, &col, fold, sb_str(&tag));
	}
	/* h=a:b:c; folded between names */
	name = h.s;
	for (long i = 0; i < nh; i++, name += strlen(name) + 1) {
		sb_truncate(&tag, 0);
		sb_printf(&tag, "%s%s%s", i == 0 ? "h=" : "", name,
			  i + 1 == nh ? ";" : ":");
		if (i == 0)
			dkim_fold_put(&v, &col, fold, sb_str(&tag));
		else if (col + tag.len > DKIM_FOLD_AT) {
			sb_puts(&v, fold);
			sb_puts(&v, sb_str(&tag));
			col = 1 + tag.len;
		} else {
			sb_puts(&v, sb_str(&tag));
			col += tag.len;
		}
	}
	sb_truncate(&tag, 0);
	sb_printf(&tag, "bh=%s;", bh64);
	dkim_fold_put(&v, &col, fold, sb_str(&tag));
	dkim_fold_put(&v, &col, fold, "b=");
	if (sb_failed(&v) || sb_failed(&tag)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* the header hash: the signed fields, then this one with b= empty */
	dkim_canon_signed(&hin, s->opts.hcanon, s->fields, s->nfields, h.s,
			  (size_t)nh);
	dkim_canon_header(&hin, s->opts.hcanon, "DKIM-Signature", sb_str(&v),
			  false);
	if (sb_failed(&hin) || (b64 = dkim_signkey_sign(s->key, &hin)) == NULL) {
		snprintf(err, errlen, "signing failed");
		goto out;
	}
	/* b= folded in pieces; its value is outside the hash */
	for (size_t o = 0, n = strlen(b64); o < n;) {
		size_t room = col < DKIM_FOLD_AT ? DKIM_FOLD_AT - col : 0;

		if (room < 8) {
			sb_puts(&v, fold);
			col = 1;
			continue;
		}
		if (room > n - o)
			room = n - o;
		sb_putn(&v, b64 + o, room);
		o += room;
		col += room;
	}
	if (sb_failed(&v))
		snprintf(err, errlen, "out of memory");
	else
		out = sb_steal(&v);
out:
	free(bh64);
	free(b64);
	sb_free(&h);
	sb_free(&v);
	sb_free(&hin);
	sb_free(&tag);
	return out;
}

/* dkim_signer_free - free a signer */
void
dkim_signer_free(struct dkim_signer *s)
{
	if (s == NULL)
		return;
	dkim_fields_free(s->fields, s->nfields);
	dkim_body_free(&s->body);
	free(s);
}
