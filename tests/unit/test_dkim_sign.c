/*
 * test_dkim_sign.c - lib/auth/dkim_sign.c: keys in every form opendkim
 * and dkimpy write, signatures that our verifier and the tests' own
 * independent signer agree on, the h= list (every instance, From
 * oversigned), refusals (no From, an unsafe key file). Messages signed
 * here are checked by dkimpy too: tests/interop/dkim_sign.sh.
 */
#include "build.h" /* first: feature macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/dkim.h"
#include "auth/dkim_sign.h"
#include "dkim_testkeys.h"
#include "dkim_testlib.h"
#include "dns/dns.h"

static const char base_msg[] = "From: Alice <alice@example.com>\r\n"
			       "To: Bob <bob@example.org>\r\n"
			       "Subject:  Signed   by authtag \r\n"
			       "Date: Sat, 05 Dec 2026 10:00:00 +0000\r\n"
			       "Message-ID: <sign-1@example.com>\r\n"
			       "\r\n"
			       "Hello Bob,  \r\n"
			       "\r\n"
			       "this message is signed.\r\n\r\n";

struct state {
	struct dkim_test_dns dns;
	struct dkim_verifier *ver;
	struct dkim_signkey *rsa, *ed;
	char *rec_rsa, *rec_ed;
	char dir[64];
};

/* write_key - a key file in the test's directory; its path */
static char *
write_key(struct state *s, const char *name, const char *text, mode_t mode)
{
	char *path = malloc(strlen(s->dir) + strlen(name) + 2);
	FILE *fp;

	assert_non_null(path);
	sprintf(path, "%s/%s", s->dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
	return path;
}

/* load - a key file; must load */
static struct dkim_signkey *
load(const char *path, bool *unsafe)
{
	char err[256];
	struct dkim_signkey *k = dkim_signkey_load(path, unsafe, err, sizeof(err));

	if (k == NULL)
		fail_msg("%s", err);
	return k;
}

static int
setup(void **st)
{
	static const char *const zones[] = {"example.com", NULL};
	struct state *s = calloc(1, sizeof(*s));
	char err[256], *p;
	bool unsafe;

	if (s == NULL)
		return -1;
	*st = s;
	snprintf(s->dir, sizeof(s->dir), "/tmp/authtag-sign.XXXXXX");
	if (mkdtemp(s->dir) == NULL)
		return -1;
	p = write_key(s, "rsa.pem", dkim_test_key_rsa2048, 0600);
	s->rsa = load(p, &unsafe);
	free(p);
	p = write_key(s, "ed.pem", dkim_test_key_ed25519, 0600);
	s->ed = load(p, &unsafe);
	free(p);
	s->rec_rsa = dkim_signkey_record(s->rsa);
	s->rec_ed = dkim_signkey_record(s->ed);
	if (s->rec_rsa == NULL || s->rec_ed == NULL)
		return -1;
	{
		const struct dkim_test_record recs[] = {
		    {"rsa._domainkey.example.com", DKIM_TEST_TXT, s->rec_rsa},
		    {"ed._domainkey.example.com", DKIM_TEST_TXT, s->rec_ed},
		};

		if (dkim_test_dns_start(&s->dns, zones, recs, 2) != 0)
			return -1;
	}
	s->ver = dkim_verifier_new(s->dns.cfg, err, sizeof(err));
	return s->ver != NULL ? 0 : -1;
}

static int
teardown(void **st)
{
	struct state *s = *st;
	char cmd[128];

	dkim_verifier_free(s->ver);
	dkim_test_dns_stop(&s->dns);
	dkim_signkey_free(s->rsa);
	dkim_signkey_free(s->ed);
	free(s->rec_rsa);
	free(s->rec_ed);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", s->dir);
	(void)!system(cmd);
	free(s);
	return 0;
}

/* sign_msg - sign a CRLF message; the message with the field on top */
static char *
sign_msg(const struct dkim_signkey *key, const char *text,
	 const struct dkim_signopts *o, char *err, size_t errlen)
{
	struct dkim_signer *sg = dkim_signer_new(key, o);
	const char *p = text, *body = strstr(text, "\r\n\r\n");
	char *value, *out;

	assert_non_null(sg);
	assert_non_null(body);
	while (p < body + 2) {
		const char *end = strstr(p, "\r\n"), *colon = strchr(p, ':');
		char name[64], *val;

		while (end[2] == ' ' || end[2] == '\t')
			end = strstr(end + 2, "\r\n");
		snprintf(name, sizeof(name), "%.*s", (int)(colon - p), p);
		val = strndup(colon + 1, (size_t)(end - colon - 1));
		dkim_signer_header(sg, name, val);
		free(val);
		p = end + 2;
	}
	dkim_signer_body(sg, (const unsigned char *)body + 4, strlen(body + 4));
	value = dkim_signer_finish(sg, true, err, errlen);
	dkim_signer_free(sg);
	if (value == NULL)
		return NULL;
	out = malloc(strlen(value) + strlen(text) + 32);
	assert_non_null(out);
	sprintf(out, "DKIM-Signature:%s\r\n%s", value, text);
	free(value);
	return out;
}

/* expect - verify text: one signature with this result */
static void
expect(struct state *s, const char *text, enum ar_result want)
{
	struct dkim_outcome *o = NULL;
	size_t n = 0;

	dkim_test_verify(s->ver, s->dns.res, text, strlen(text), 7, &o, &n);
	assert_int_equal(n, 1);
	if (o[0].result != want)
		fail_msg("got %d (%s), want %d", o[0].result, o[0].reason, want);
	free(o);
}

/* test_sign_verify - rsa and ed25519, every canonicalization: pass */
static void
test_sign_verify(void **st)
{
	struct state *s = *st;
	static const enum dkim_canon cs[] = {DKIM_CANON_SIMPLE,
					     DKIM_CANON_RELAXED};
	char err[128];

	for (int k = 0; k < 2; k++)
		for (int h = 0; h < 2; h++)
			for (int b = 0; b < 2; b++) {
				struct dkim_signopts o = {
				    .domain = "example.com",
				    .selector = k ? "ed" : "rsa",
				    .hcanon = cs[h],
				    .bcanon = cs[b],
				};
				char *m = sign_msg(k ? s->ed : s->rsa, base_msg,
						   &o, err, sizeof(err));

				assert_non_null(m);
				expect(s, m, RES_PASS);
				free(m);
			}
}

/* test_hlist_oversign - each present field once per instance, From once
 * more: a From added after signing breaks the signature */
static void
test_hlist_oversign(void **st)
{
	struct state *s = *st;
	struct dkim_signopts o = {.domain = "example.com",
				  .selector = "rsa",
				  .hcanon = DKIM_CANON_RELAXED,
				  .bcanon = DKIM_CANON_RELAXED,
				  .identity = "alice@example.com",
				  .ttl = 3600};
	char err[128], *m = sign_msg(s->rsa, base_msg, &o, err, sizeof(err));
	char *forged;

	assert_non_null(m);
	{
		/* the field unfolded, as a reader sees it */
		char *u = strdup(m), *q;

		assert_non_null(u);
		while ((q = strstr(u, "\r\n\t")) != NULL)
			memmove(q, q + 3, strlen(q + 3) + 1);
		if (strstr(u, "h=from:subject:date:to:message-id:from;") ==
		    NULL)
			fail_msg("h= not as expected in %s", u);
		assert_non_null(strstr(u, "i=alice@example.com;"));
		assert_non_null(strstr(u, "x="));
		free(u);
	}
	expect(s, m, RES_PASS);
	/* a second From below the first (what a replay adds) */
	forged = malloc(strlen(m) + 64);
	assert_non_null(forged);
	sprintf(forged, "%sFrom: ceo@example.com\r\n", m);
	{
		char *body = strstr(m, "\r\n\r\n");
		size_t head = (size_t)(body - m) + 2;

		memcpy(forged, m, head);
		sprintf(forged + head, "From: ceo@example.com\r\n%s", body + 2);
	}
	expect(s, forged, RES_FAIL);
	free(forged);
	free(m);
}

/* test_no_from - RFC 6376 5.4: From must be signed; no From, no signature */
static void
test_no_from(void **st)
{
	struct state *s = *st;
	struct dkim_signopts o = {.domain = "example.com", .selector = "rsa"};
	char err[128];

	assert_null(sign_msg(s->rsa, "Subject: x\r\n\r\nbody\r\n", &o, err,
			     sizeof(err)));
	assert_string_equal(err, "no From field to sign");
}

/* test_key_forms - PKCS#1 RSA PEM (opendkim-genkey), PKCS#8, dkimpy's
 * raw ed25519; a group-readable file is flagged; junk is refused */
static void
test_key_forms(void **st)
{
	struct state *s = *st;
	BIO *in = BIO_new_mem_buf(dkim_test_key_rsa2048, -1), *out;
	EVP_PKEY *pk = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
	BUF_MEM *mem;
	char *pem1, *path, err[256];
	unsigned char raw[32];
	size_t rawlen = sizeof(raw);
	char b64[64];
	bool unsafe = true;
	struct dkim_signkey *k;

	assert_non_null(pk);
	out = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey_traditional(
			     out, pk, NULL, NULL, 0, NULL, NULL),
			 1);
	BIO_get_mem_ptr(out, &mem);
	pem1 = strndup(mem->data, mem->length);
	assert_non_null(strstr(pem1, "BEGIN RSA PRIVATE KEY"));
	path = write_key(s, "pkcs1.pem", pem1, 0600);
	k = load(path, &unsafe);
	assert_false(unsafe);
	assert_int_equal(dkim_signkey_bits(k), 2048);
	dkim_signkey_free(k);
	free(path);
	path = write_key(s, "open.pem", pem1, 0644);
	k = load(path, &unsafe);
	assert_true(unsafe);
	dkim_signkey_free(k);
	free(path);
	/* dkimpy: base64 of the 32-octet ed25519 private key */
	BIO_free(in);
	in = BIO_new_mem_buf(dkim_test_key_ed25519, -1);
	EVP_PKEY_free(pk);
	pk = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
	assert_int_equal(EVP_PKEY_get_raw_private_key(pk, raw, &rawlen), 1);
	EVP_EncodeBlock((unsigned char *)b64, raw, 32);
	strcat(b64, "\n");
	path = write_key(s, "ed.dkimpy", b64, 0600);
	k = load(path, &unsafe);
	assert_int_equal(dkim_signkey_bits(k), 0);
	{
		char *rec = dkim_signkey_record(k);

		assert_string_equal(rec, s->rec_ed); /* the same key */
		free(rec);
	}
	dkim_signkey_free(k);
	free(path);
	path = write_key(s, "junk", "not a key\n", 0600);
	assert_null(dkim_signkey_load(path, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "no private key"));
	free(path);
	assert_null(dkim_signkey_load("/nonexistent/key", NULL, err,
				      sizeof(err)));
	BIO_free(in);
	BIO_free(out);
	EVP_PKEY_free(pk);
	free(pem1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign_verify),
	    cmocka_unit_test(test_hlist_oversign),
	    cmocka_unit_test(test_no_from),
	    cmocka_unit_test(test_key_forms),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
