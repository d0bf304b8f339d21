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
 */
#include "build.h" /* first: feature macros */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "auth/dkim.h"
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
	char err[512];
	double o[64], f[64];
	unsigned long pass;
	size_t n, ns;
	int rounds = argc > 3 ? atoi(argv[3]) : 5;

	if (argc < 3 || rounds < 2 || rounds > 64) {
		fprintf(stderr, "usage: dkimcost CONFIG CORPUS-DIR [ROUNDS 2..64]\n");
		return 2;
	}
	if (config_load(argv[1], &cfg, err, sizeof(err)) != 0 ||
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
