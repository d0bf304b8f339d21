/*
 * dkimcost.c - the DKIM part of a message's cost against its floor: the
 * raw OpenSSL work its signatures need
 *
 * usage: dkimcost CONFIG CORPUS-DIR [ROUNDS]
 *
 * Reads every message of a mkcorpus corpus into memory, then, single
 * threaded, per round:
 *   ours   lib/auth/dkim.c over each message as the milter feeds it
 *          (header fields, end of headers, the body in one chunk, end of
 *          message), keys from lib/dns (CONFIG's hermetic zone) and the
 *          parsed-key cache, warm after the first round;
 *   floor  for each signature ours checked, only what OpenSSL must do:
 *          SHA-256 over the body octets, then EVP_DigestVerify of the b=
 *          value over the header octets with the key decoded once
 *          before the round (rsa-sha256: SHA-256 + RSA; ed25519:
 *          SHA-256 of the headers, then Ed25519 over the hash).
 * Both are timed with CLOCK_PROCESS_CPUTIME_ID; the floor times only its
 * OpenSSL calls. Prints ms per message of each and their ratio for every
 * round, then the median of the rounds after the first.
 *
 * Then ARC: every message is sealed three times by lib/auth/arc_seal.c
 * (three sealers, RSA-2048 keys made here and added to the hermetic
 * zone), and validating each 3-hop chain (lib/auth/arc.c, as the engine
 * feeds it) is timed the same way: "arc3 ... ms/msg" and how many chains
 * passed (all must).
 */
#include "build.h" /* first: feature macros */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth/arc.h"
#include "auth/arc_seal.h"
#include "auth/dkim.h"
#include "auth/dkim_sign.h"
#include "auth/dkim_key.h"
#include "auth/dkim_sig.h"
#include "config.h"
#include "dns/dns.h"

#define COST_MAX_MSGS 100000

struct cost_field {
	char *name, *value;
};

struct cost_msg {
	struct cost_field *fields;
	size_t nfields;
	const unsigned char *body;
	size_t body_len;
	char *text;
};

/* cost_now - process CPU time in seconds */
static double
cost_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* cost_parse - split a message's text into fields and body (in place) */
static int
cost_parse(struct cost_msg *m)
{
	char *p = m->text, *end;
	size_t cap = 0;

	for (;;) {
		char *colon, *line_end;

		if (*p == '\n' || (*p == '\r' && p[1] == '\n')) {
			p += *p == '\r' ? 2 : 1;
			break;
		}
		if (*p == '\0')
			break;
		/* a field runs to the newline not followed by white space */
		for (line_end = p; (line_end = strchr(line_end, '\n')) != NULL &&
				   (line_end[1] == ' ' || line_end[1] == '\t');
		     line_end++)
			;
		if (line_end == NULL || (colon = memchr(p, ':', (size_t)(line_end - p))) == NULL)
			return -1;
		if (m->nfields == cap) {
			cap = cap ? cap * 2 : 32;
			m->fields = realloc(m->fields, cap * sizeof(*m->fields));
			if (m->fields == NULL)
				return -1;
		}
		*colon = '\0';
		end = line_end;
		if (end > p && end[-1] == '\r')
			end[-1] = '\0';
		*line_end = '\0';
		m->fields[m->nfields].name = p;
		m->fields[m->nfields].value = colon + 1;
		m->nfields++;
		p = line_end + 1;
	}
	m->body = (const unsigned char *)p;
	m->body_len = strlen(p);
	return 0;
}

/* cost_load - every *.eml under dir/m */
static size_t
cost_load(const char *dir, struct cost_msg *msgs)
{
	char path[4096];
	struct dirent **names;
	size_t n = 0;
	int count;

	snprintf(path, sizeof(path), "%s/m", dir);
	if ((count = scandir(path, &names, NULL, alphasort)) < 0)
		return 0;
	for (int i = 0; i < count; i++) {
		FILE *fp;
		long len;

		if (strstr(names[i]->d_name, ".eml") != NULL && n < COST_MAX_MSGS) {
			snprintf(path, sizeof(path), "%s/m/%s", dir, names[i]->d_name);
			if ((fp = fopen(path, "rb")) != NULL &&
			    fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) > 0 &&
			    fseek(fp, 0, SEEK_SET) == 0 &&
			    (msgs[n].text = malloc((size_t)len + 1)) != NULL &&
			    fread(msgs[n].text, 1, (size_t)len, fp) == (size_t)len) {
				msgs[n].text[len] = '\0';
				if (cost_parse(&msgs[n]) == 0)
					n++;
			}
			if (fp != NULL)
				fclose(fp);
		}
		free(names[i]);
	}
	free(names);
	return n;
}

/* one signature's floor work, prepared before the timed loop */
struct cost_sig {
	EVP_PKEY *pkey;
	bool ed25519;
	const unsigned char *body;
	size_t body_len;
	char *headers; /* the header octets: fields h= names, and the signature */
	size_t headers_len;
	unsigned char b[DKIM_SIG_MAXB];
	size_t blen;
};

/* cost_signed - does h= name this field? */
static bool
cost_signed(const struct dkim_sig *sig, const char *name)
{
	const char *h = sig->hnames;

	for (size_t i = 0; i < sig->nh; i++, h += strlen(h) + 1)
		if (strcasecmp(h, name) == 0)
			return true;
	return false;
}

/* cost_prepare - the signatures of every message, keys decoded once */
static size_t
cost_prepare(struct cost_msg *msgs, size_t n, struct dns_resolver *res,
	     struct dkim_keycache *kc, struct cost_sig **out)
{
	struct cost_sig *sigs = NULL;
	size_t ns = 0, cap = 0;

	for (size_t i = 0; i < n; i++) {
		struct dns_cache *dns = dns_cache_new(res);
		size_t hlen = 0;

		for (size_t f = 0; f < msgs[i].nfields; f++)
			hlen += strlen(msgs[i].fields[f].name) +
				strlen(msgs[i].fields[f].value) + 3;
		for (size_t f = 0; f < msgs[i].nfields; f++) {
			struct dkim_sig sig;
			char err[128], name[600], rec[8192];
			const struct dns_answer *ans;
			struct dkim_key *key;
			int len;

			if (strcasecmp(msgs[i].fields[f].name, "DKIM-Signature") != 0)
				continue;
			memset(&sig, 0, sizeof(sig));
			if (dkim_sig_parse(msgs[i].fields[f].value, &sig, false,
					   err, sizeof(err)) != 0) {
				dkim_sig_clear(&sig);
				continue;
			}
			snprintf(name, sizeof(name), "%s._domainkey.%s",
				 sig.selector, sig.domain);
			ans = dns_lookup(dns, name, DNS_T_TXT);
			if (ans->status != DNS_OK || ans->count < 1 ||
			    (len = dns_txt_join(ans, 0, rec, sizeof(rec))) < 0 ||
			    (key = dkim_key_get(kc, rec, (size_t)len, err,
						sizeof(err))) == NULL) {
				dkim_sig_clear(&sig);
				continue;
			}
			if (ns == cap) {
				cap = cap ? cap * 2 : 1024;
				sigs = realloc(sigs, cap * sizeof(*sigs));
			}
			sigs[ns].pkey = key->pkey;
			EVP_PKEY_up_ref(key->pkey);
			sigs[ns].ed25519 = key->type == DKIM_KEY_ED25519;
			sigs[ns].body = msgs[i].body;
			sigs[ns].body_len = msgs[i].body_len;
			sigs[ns].headers = malloc(hlen + 1);
			sigs[ns].headers_len = 0;
			/* the fields h= names, and this signature's own */
			for (size_t g = 0; g < msgs[i].nfields; g++)
				if (g == f || cost_signed(&sig, msgs[i].fields[g].name))
				sigs[ns].headers_len += (size_t)snprintf(
				    sigs[ns].headers + sigs[ns].headers_len,
				    hlen + 1 - sigs[ns].headers_len, "%s:%s\r\n",
				    msgs[i].fields[g].name,
				    msgs[i].fields[g].value);
			memcpy(sigs[ns].b, sig.b, sig.blen);
			sigs[ns].blen = sig.blen;
			ns++;
			dkim_key_unref(key);
			dkim_sig_clear(&sig);
		}
		dns_cache_free(dns);
	}
	*out = sigs;
	return ns;
}

/* cost_floor - the OpenSSL work of every signature; CPU seconds */
static double
cost_floor(struct cost_sig *sigs, size_t ns)
{
	unsigned char md[32], hh[32];
	double t0 = cost_now();

	for (size_t i = 0; i < ns; i++) {
		struct cost_sig *s = &sigs[i];
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		EVP_Digest(s->body, s->body_len, md, NULL, EVP_sha256(), NULL);
		if (s->ed25519) {
			/* RFC 8463: Ed25519 over the SHA-256 of the headers */
			EVP_Digest(s->headers, s->headers_len, hh, NULL,
				   EVP_sha256(), NULL);
			EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, s->pkey);
			(void)EVP_DigestVerify(ctx, s->b, s->blen, hh, sizeof(hh));
		} else {
			EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
					     s->pkey);
			(void)EVP_DigestVerify(ctx, s->b, s->blen,
					       (unsigned char *)s->headers,
					       s->headers_len);
		}
		EVP_MD_CTX_free(ctx);
	}
	return cost_now() - t0;
}

/* cost_ours - lib/auth/dkim.c over every message; CPU seconds */
static double
cost_ours(struct cost_msg *msgs, size_t n, struct dns_resolver *res,
	  struct dkim_verifier *ver, unsigned long *pass)
{
	double t0 = cost_now();

	*pass = 0;
	for (size_t i = 0; i < n; i++) {
		struct dns_cache *dns = dns_cache_new(res);
		struct dkim_msg *dm = dkim_msg_new(ver, dns);
		struct dkim_outcome *out = NULL;
		size_t nout = 0;

		for (size_t f = 0; f < msgs[i].nfields; f++)
			dkim_msg_header(dm, msgs[i].fields[f].name,
					msgs[i].fields[f].value);
		dkim_msg_eoh(dm);
		dkim_msg_body(dm, msgs[i].body, msgs[i].body_len);
		dkim_msg_eom(dm, &out, &nout);
		for (size_t k = 0; k < nout; k++)
			*pass += out[k].result == RES_PASS;
		free(out);
		dkim_msg_free(dm);
		dns_cache_free(dns);
	}
	return cost_now() - t0;
}

#define ARC_HOPS 3

/* arc_keys - three RSA-2048 sealing keys, and an unbound configuration
 * that serves the corpus zone (the config's) plus their records; the
 * new configuration's path replaces cfg's; -1 on failure */
static int
arc_keys(struct config *cfg, struct dkim_signkey **keys, char *conf,
	 size_t conflen)
{
	FILE *fp;

	snprintf(conf, conflen, "/tmp/dkimcost-arc.%d.conf", getpid());
	if ((fp = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(fp, "server:\n    include: \"%s\"\n", cfg->resolver_config);
	for (int h = 0; h < ARC_HOPS; h++) {
		EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		unsigned char *der = NULL;
		char pem[4096], b64[1024], err[256];
		BIO *bio = BIO_new(BIO_s_mem());
		int n, dl;

		if (pk == NULL || bio == NULL ||
		    !PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) ||
		    (n = BIO_read(bio, pem, sizeof(pem) - 1)) <= 0 ||
		    (dl = i2d_PUBKEY(pk, &der)) <= 0) {
			fclose(fp);
			return -1;
		}
		pem[n] = '\0';
		EVP_EncodeBlock((unsigned char *)b64, der, dl);
		/* TXT strings of at most 255 octets */
		fprintf(fp, "    local-data: 'arc._domainkey.hop%d.example. 300 IN TXT \"v=DKIM1; k=rsa; p=\"", h);
		for (size_t o = 0; o < strlen(b64); o += 200)
			fprintf(fp, " \"%.200s\"", b64 + o);
		fprintf(fp, "'\n");
		keys[h] = dkim_signkey_parse(pem, "arc key", err, sizeof(err));
		OPENSSL_free(der);
		BIO_free(bio);
		EVP_PKEY_free(pk);
		if (keys[h] == NULL) {
			fclose(fp);
			return -1;
		}
	}
	fclose(fp);
	free(cfg->resolver_config);
	cfg->resolver_config = strdup(conf);
	return 0;
}

/* arc_fields_add - prepend a field to a message's list */
static void
arc_field_prepend(struct cost_msg *m, const char *name, char *value)
{
	m->fields = realloc(m->fields, (m->nfields + 1) * sizeof(*m->fields));
	memmove(m->fields + 1, m->fields, m->nfields * sizeof(*m->fields));
	m->fields[0].name = (char *)name;
	m->fields[0].value = value;
	m->nfields++;
}

/* arc_seal_all - seal every message ARC_HOPS times; the values added
 * are kept in owned[] for freeing */
static void
arc_seal_all(struct cost_msg *msgs, size_t n, struct dns_resolver *res,
	     struct arc_verifier *ver, struct dkim_signkey **keys,
	     char **owned, size_t *nowned)
{
	for (size_t i = 0; i < n; i++)
		for (int h = 0; h < ARC_HOPS; h++) {
			char dom[32], err[256];
			struct arc_sealopts o = {.key = keys[h], .domain = dom,
						 .selector = "arc"};
			struct dns_cache *dns = dns_cache_new(res);
			struct arc_msg *am = arc_msg_new(ver, dns);
			struct arc_sealer *s;
			struct arc_outcome out;
			struct arc_newset set;

			snprintf(dom, sizeof(dom), "hop%d.example", h);
			s = arc_sealer_new(&o);
			for (size_t f = 0; f < msgs[i].nfields; f++) {
				arc_msg_header(am, msgs[i].fields[f].name,
					       msgs[i].fields[f].value);
				arc_sealer_header(s, msgs[i].fields[f].name,
						  msgs[i].fields[f].value);
			}
			arc_msg_eoh(am);
			arc_msg_body(am, msgs[i].body, msgs[i].body_len);
			arc_sealer_body(s, msgs[i].body, msgs[i].body_len);
			arc_msg_eom(am, &out);
			if (arc_sealer_finish(s, am, &out,
					      "mx.hop.example; dkim=pass",
					      &set, err, sizeof(err)) == 1)
				for (int p = 0; p < 3; p++) {
					/* AAR deepest, the seal on top */
					arc_field_prepend(&msgs[i],
							  arc_seal_names[p],
							  set.value[p]);
					owned[(*nowned)++] = set.value[p];
				}
			arc_sealer_free(s);
			arc_msg_free(am);
			dns_cache_free(dns);
		}
}

/* arc_validate_all - validate every chain; CPU seconds */
static double
arc_validate_all(struct cost_msg *msgs, size_t n, struct dns_resolver *res,
		 struct arc_verifier *ver, unsigned long *pass)
{
	double t0 = cost_now();

	*pass = 0;
	for (size_t i = 0; i < n; i++) {
		struct dns_cache *dns = dns_cache_new(res);
		struct arc_msg *am = arc_msg_new(ver, dns);
		struct arc_outcome out;

		for (size_t f = 0; f < msgs[i].nfields; f++)
			arc_msg_header(am, msgs[i].fields[f].name,
				       msgs[i].fields[f].value);
		arc_msg_eoh(am);
		arc_msg_body(am, msgs[i].body, msgs[i].body_len);
		arc_msg_eom(am, &out);
		*pass += out.result == RES_PASS && out.instances == ARC_HOPS;
		arc_msg_free(am);
		dns_cache_free(dns);
	}
	return cost_now() - t0;
}

static int
cost_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static struct cost_msg msgs[COST_MAX_MSGS];
	struct config *cfg;
	struct dns_resolver *res;
	struct dkim_verifier *ver;
	struct dkim_keycache *kc;
	struct cost_sig *sigs;
	struct dkim_signkey *akeys[ARC_HOPS] = {NULL};
	struct arc_verifier *aver;
	char **owned, aconf[128], err[512] = "no ResolverConfig, or ARC keys";
	size_t nowned = 0;
	double o[64], f[64];
	unsigned long pass;
	size_t n, ns;
	int rounds = argc > 3 ? atoi(argv[3]) : 5;

	if (argc < 3 || rounds < 2 || rounds > 64) {
		fprintf(stderr, "usage: dkimcost CONFIG CORPUS-DIR [ROUNDS 2..64]\n");
		return 2;
	}
	if (config_load(argv[1], &cfg, err, sizeof(err)) != 0 ||
	    cfg->resolver_config == NULL ||
	    arc_keys(cfg, akeys, aconf, sizeof(aconf)) != 0 ||
	    (res = dns_resolver_new(cfg, err, sizeof(err))) == NULL ||
	    (ver = dkim_verifier_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dkimcost: %s\n", err);
		return 2;
	}
	if ((n = cost_load(argv[2], msgs)) == 0) {
		fprintf(stderr, "dkimcost: no messages in %s/m\n", argv[2]);
		return 2;
	}
	kc = dkim_keycache_new(4096);
	ns = cost_prepare(msgs, n, res, kc, &sigs);
	printf("messages %zu, signatures with a key %zu\n", n, ns);
	for (int r = 0; r < rounds; r++) {
		o[r] = cost_ours(msgs, n, res, ver, &pass) * 1e3 / (double)n;
		f[r] = cost_floor(sigs, ns) * 1e3 / (double)n;
		printf("round %d: ours %.4f ms/msg, floor %.4f ms/msg, ratio %.2f "
		       "(%lu pass)\n",
		       r + 1, o[r], f[r], o[r] / f[r], pass);
	}
	/* the first round filled the DNS and key caches: left out */
	qsort(o + 1, (size_t)rounds - 1, sizeof(double), cost_cmp);
	qsort(f + 1, (size_t)rounds - 1, sizeof(double), cost_cmp);
	printf("median of rounds 2..%d: ours %.4f ms/msg, floor %.4f ms/msg, "
	       "ratio %.2f\n",
	       rounds, o[1 + (rounds - 1) / 2], f[1 + (rounds - 1) / 2],
	       o[1 + (rounds - 1) / 2] / f[1 + (rounds - 1) / 2]);
	for (size_t i = 0; i < ns; i++) {
		EVP_PKEY_free(sigs[i].pkey);
		free(sigs[i].headers);
	}
	free(sigs);

	/* ARC: seal every message three times, then time the validation */
	aver = arc_verifier_new(cfg, err, sizeof(err));
	owned = calloc(n * ARC_HOPS * 3, sizeof(*owned));
	arc_seal_all(msgs, n, res, aver, akeys, owned, &nowned);
	for (int r = 0; r < rounds; r++) {
		o[r] = arc_validate_all(msgs, n, res, aver, &pass) * 1e3 /
		       (double)n;
		printf("arc3 round %d: %.4f ms/msg (%lu of %zu chains pass)\n",
		       r + 1, o[r], pass, n);
	}
	qsort(o + 1, (size_t)rounds - 1, sizeof(double), cost_cmp);
	printf("arc3 median of rounds 2..%d: validating a 3-hop chain %.4f "
	       "ms/msg (%lu of %zu chains pass)\n",
	       rounds, o[1 + (rounds - 1) / 2], pass, n);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	arc_verifier_free(aver);
	for (int h = 0; h < ARC_HOPS; h++)
		dkim_signkey_free(akeys[h]);
	unlink(aconf);
	for (size_t i = 0; i < n; i++) {
		free(msgs[i].fields);
		free(msgs[i].text);
	}
	dkim_keycache_free(kc);
	dkim_verifier_free(ver);
	dns_resolver_free(res);
	config_free(cfg);
	return 0;
}
