/*
 * fuzz_arc.c - libFuzzer harness for ARC chain validation and sealing
 * (lib/auth/arc.c, arc_seal.c) and the field parser they share with
 * DKIM (dkim_sig.c)
 *
 * Input: a message (header fields, an empty line, a body), given to
 * arc_msg_* as the engine does, then to a sealer over the result. Keys
 * come from a resolver whose only zone is a static root (every lookup
 * NXDOMAIN, no network). The status must be none, pass or fail, never a
 * crash, a hang or a leak; a sealed set must have all three values.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/arc.h"
#include "auth/arc_seal.h"
#include "config.h"
#include "dns/dns.h"

#define FZ_MAX_INPUT 65536

static struct config *fz_cfg;
static struct dns_resolver *fz_res;
static struct arc_verifier *fz_ver;
static struct dkim_signkey *fz_key;

/* fz_init - the resolver, the verifier and an ed25519 sealing key */
static int
fz_init(void)
{
	char path[64], err[256], pem[512];
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	BIO *bio = BIO_new(BIO_s_mem());
	FILE *fp;
	int n;

	snprintf(path, sizeof(path), "/tmp/fuzz_arc.%d.conf", getpid());
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	fputs("server:\n    local-zone: \".\" static\n", fp);
	fclose(fp);
	if ((fz_cfg = config_new_defaults()) == NULL)
		return -1;
	fz_cfg->resolver_config = strdup(path);
	fz_cfg->resolver = RESOLVER_FORWARD;
	fz_cfg->forwarders = calloc(1, sizeof(char *));
	fz_cfg->forwarders[0] = strdup("127.0.0.1@9");
	fz_cfg->nforwarders = 1;
	fz_cfg->resolver_timeout = 1;
	if ((fz_res = dns_resolver_new(fz_cfg, err, sizeof(err))) == NULL ||
	    (fz_ver = arc_verifier_new(fz_cfg, err, sizeof(err))) == NULL)
		return -1;
	if (pk == NULL || bio == NULL ||
	    !PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) ||
	    (n = BIO_read(bio, pem, sizeof(pem) - 1)) <= 0)
		return -1;
	pem[n] = '\0';
	fz_key = dkim_signkey_parse(pem, "fuzz key", err, sizeof(err));
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return fz_key != NULL ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arc_sealopts o = {.domain = "example.org", .selector = "s",
				 .now = 12345};
	struct dns_cache *cache;
	struct arc_sealer *sealer;
	struct arc_outcome out;
	struct arc_newset set;
	struct arc_msg *msg;
	char *text, *p, err[256];
	int rc;

	if (size > FZ_MAX_INPUT)
		return 0;
	if (fz_ver == NULL && fz_init() != 0)
		abort();
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	o.key = fz_key;
	cache = dns_cache_new(fz_res);
	msg = arc_msg_new(fz_ver, cache);
	sealer = arc_sealer_new(&o);
	/* header fields: "name:value" lines, continuation lines folded in */
	for (p = text; *p != '\0' && *p != '\n';) {
		char *end = p, *colon;

		while ((end = strchr(end, '\n')) != NULL &&
		       (end[1] == ' ' || end[1] == '\t'))
			end++;
		if (end != NULL)
			*end = '\0';
		if ((colon = strchr(p, ':')) != NULL) {
			*colon = '\0';
			arc_msg_header(msg, p, colon + 1);
			arc_sealer_header(sealer, p, colon + 1);
		}
		if (end == NULL) {
			p += strlen(p);
			break;
		}
		p = end + 1;
	}
	arc_msg_eoh(msg);
	if (*p == '\n') {
		arc_msg_body(msg, (unsigned char *)p + 1, strlen(p + 1));
		arc_sealer_body(sealer, (unsigned char *)p + 1, strlen(p + 1));
	}
	arc_msg_eom(msg, &out);
	if (out.result != RES_NONE && out.result != RES_PASS &&
	    out.result != RES_FAIL)
		abort();
	rc = arc_sealer_finish(sealer, msg, &out, "example.org; arc=none",
			       &set, err, sizeof(err));
	if (rc == 1 && (set.value[0] == NULL || set.value[1] == NULL ||
			set.value[2] == NULL))
		abort();
	if (rc == 1)
		arc_newset_free(&set);
	arc_sealer_free(sealer);
	arc_msg_free(msg);
	dns_cache_free(cache);
	free(text);
	return 0;
}
