/*
 * mkcorpus.c - build the benchmark corpus and its DNS zone, deterministically
 *
 * From a fixed seed and the keys in tests/bench/keys, writes OUT/m/NNNN.eml
 * (LF line ends), OUT/index (one line per message: file, client IP, HELO,
 * MAIL FROM, RCPT TO and the spf, dkim and dmarc results the message
 * should get) and OUT/zone.conf (unbound local-zone/local-data lines: SPF,
 * DKIM keys, DMARC records). A few hundred invented domains under
 * ".example" (never ".test": libunbound answers NXDOMAIN for it without
 * asking) and some under example.com/.net/.org, each with its own SPF
 * shape and DMARC policy (p=/sp=/adkim/aspf). Messages: direct and signed
 * (RSA-2048, some also ed25519), sent through an ESP, broken signatures,
 * unsigned, forwarded (plain and through a list that edits them), spoofed
 * and sub-domain From; median ~5 KB, 5% of 50-200 KB with an attachment.
 * The expected results model RFC 7208/6376/7489 for exactly these cases.
 *
 * usage: mkcorpus -o OUT -k KEYDIR [-n 2000] [-d 300] [-s SEED]
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "mcdkim.h"

#define NRSA    8
#define NED     2
#define NESP    5
#define NFWD    4
#define T_BASE  1763683200L /* 2025-11-21 00:00 UTC: signatures' t= */
#define HLIST   "from:to:subject:date:message-id:mime-version:content-type"
#define MAXHDRS 16

/* dom - one sending domain and what its DNS says */
struct dom {
	char name[64];
	char all;     /* SPF all qualifier: '-', '~', '?'; 0 = no SPF */
	int spf_kind; /* 0 ip4, 1 a:, 2 include: */
	uint32_t net; /* its /30 of 100.64.0.0/10 */
	int rsa, ed;  /* key numbers; ed < 0: no ed25519 selector */
	int p, sp;    /* DMARC: -1 no record; 0 none 1 quarantine 2 reject */
	bool adkim_s, aspf_s;
};

/* gen - everything one run builds */
struct gen {
	uint64_t rng;
	EVP_PKEY *rsa[NRSA], *ed[NED];
	struct dom *d;
	int nd;
	FILE *zone;
};

static const char *const words[] = {
    "account",  "invoice",  "meeting",  "project",  "report",   "schedule",
    "team",     "update",   "review",   "budget",   "customer", "order",
    "shipping", "delivery", "weekly",   "summary",  "please",   "attached",
    "regards",  "thanks",   "question", "answer",   "release",  "version",
    "server",   "network",  "policy",   "security", "travel",   "office",
    "lunch",    "friday",   "monday",   "quarter",  "results",  "draft",
    "final",    "notes",    "agenda",   "minutes",  "contract", "partner"};
#define NWORDS (sizeof words / sizeof words[0])

/* rnd - xorshift64*: the only source of randomness (fixed seed) */
static uint64_t
rnd(struct gen *g)
{
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return g->rng * 2685821657736338717ULL;
}

/* below - uniform integer in [0, n) */
static int
below(struct gen *g, int n)
{
	return (int)(rnd(g) % (uint64_t)n);
}

/* chance - true with probability pct/100 */
static bool
chance(struct gen *g, int pct)
{
	return below(g, 100) < pct;
}

/* load_key - read one PEM private key */
static EVP_PKEY *
load_key(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f != NULL)
		fclose(f);
	if (k == NULL)
		fprintf(stderr, "mkcorpus: cannot read key %s\n", path);
	return k;
}

/* zone_txt - one TXT record, split into strings of at most 250 bytes */
static void
zone_txt(FILE *z, const char *name, const char *text)
{
	fprintf(z, "    local-data: '%s. 300 IN TXT", name);
	for (size_t i = 0, n = strlen(text); i < n; i += 250)
		fprintf(z, " \"%.250s\"", text + i);
	fprintf(z, "'\n");
}

/* ip_of - the dotted form of a 32-bit address */
static void
ip_of(uint32_t a, char *out, size_t len)
{
	snprintf(out, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
		 (a >> 8) & 255, a & 255);
}

/* make_domains - the domains, their DNS records and the helper domains */
static void
make_domains(struct gen *g)
{
	static const char *const stems[] = {
	    "acme", "bank",   "shop",  "news",   "corp",   "club",
	    "tech", "travel", "media", "health", "school", "cloud"};
	static const char *const parents[] = {"example.com", "example.net",
					      "example.org"};
	char ip[32], rec[2048], name[160];

	for (int i = 0; i < g->nd; i++) {
		struct dom *d = &g->d[i];

		if (i % 10 == 9) /* one in ten under example.com/.net/.org */
			snprintf(d->name, sizeof d->name, "%s%03d.%s",
				 stems[i % 12], i, parents[i % 3]);
		else
			snprintf(d->name, sizeof d->name, "%s%03d.example",
				 stems[i % 12], i);
		d->net = (100U << 24) | (64U << 16) | ((uint32_t)i * 4);
		int r = below(g, 100);

		d->all = r < 60 ? '-' : r < 85 ? '~' : r < 95 ? '?' : 0;
		d->spf_kind = below(g, 100) < 70 ? 0 : below(g, 2) + 1;
		d->rsa = i % NRSA;
		d->ed = chance(g, 20) ? i % NED : -1;
		r = below(g, 100);
		d->p = r < 5 ? -1 : r < 40 ? 0 : r < 70 ? 1 : 2;
		d->sp = chance(g, 30) ? below(g, 3) : -1;
		d->adkim_s = chance(g, 10);
		d->aspf_s = chance(g, 10);

		ip_of(d->net, ip, sizeof ip);
		if (d->all && d->spf_kind == 0)
			snprintf(rec, sizeof rec, "v=spf1 ip4:%s/30 %call", ip,
				 d->all);
		else if (d->all && d->spf_kind == 1)
			snprintf(rec, sizeof rec, "v=spf1 a:mail.%s %call",
				 d->name, d->all);
		else if (d->all)
			snprintf(rec, sizeof rec,
				 "v=spf1 include:_spf.%s %call", d->name,
				 d->all);
		if (d->all)
			zone_txt(g->zone, d->name, rec);
		for (uint32_t k = 0; k < 4; k++) {
			ip_of(d->net + k, ip, sizeof ip);
			fprintf(g->zone,
				"    local-data: 'mail.%s. 300 IN A %s'\n",
				d->name, ip);
		}
		ip_of(d->net, ip, sizeof ip);
		snprintf(name, sizeof name, "_spf.%s", d->name);
		snprintf(rec, sizeof rec, "v=spf1 ip4:%s/30 -all", ip);
		zone_txt(g->zone, name, rec);
		char *key = mc_dkim_pubkey(g->rsa[d->rsa], false);

		snprintf(name, sizeof name, "s2025._domainkey.%s", d->name);
		zone_txt(g->zone, name, key);
		free(key);
		if (d->ed >= 0) {
			key = mc_dkim_pubkey(g->ed[d->ed], true);
			snprintf(name, sizeof name, "e2025._domainkey.%s",
				 d->name);
			zone_txt(g->zone, name, key);
			free(key);
		}
		if (d->p >= 0) {
			static const char *const pol[] = {"none", "quarantine",
							  "reject"};
			int n = snprintf(rec, sizeof rec, "v=DMARC1; p=%s",
					 pol[d->p]);

			if (d->sp >= 0)
				n += snprintf(rec + n, sizeof rec - (size_t)n,
					      "; sp=%s", pol[d->sp]);
			if (d->adkim_s)
				n += snprintf(rec + n, sizeof rec - (size_t)n,
					      "; adkim=s");
			if (d->aspf_s)
				n += snprintf(rec + n, sizeof rec - (size_t)n,
					      "; aspf=s");
			snprintf(rec + n, sizeof rec - (size_t)n,
				 "; rua=mailto:dmarc@%s", d->name);
			snprintf(name, sizeof name, "_dmarc.%s", d->name);
			zone_txt(g->zone, name, rec);
		}
	}
	for (int k = 0; k < NESP; k++) { /* mail service providers */
		snprintf(name, sizeof name, "esp%d.example", k);
		snprintf(rec, sizeof rec, "v=spf1 ip4:100.100.%d.0/24 -all", k);
		zone_txt(g->zone, name, rec);
		snprintf(name, sizeof name, "s2025._domainkey.esp%d.example",
			 k);
		char *key = mc_dkim_pubkey(g->rsa[k % NRSA], false);

		zone_txt(g->zone, name, key);
		free(key);
		snprintf(name, sizeof name, "_dmarc.esp%d.example", k);
		zone_txt(g->zone, name, "v=DMARC1; p=none");
	}
	for (int k = 0; k < NFWD; k++) { /* mailing lists that forward */
		snprintf(name, sizeof name, "list%d.example", k);
		snprintf(rec, sizeof rec, "v=spf1 ip4:100.110.%d.0/24 -all", k);
		zone_txt(g->zone, name, rec);
	}
	/* the Postfix end-to-end run: smtp-source's sender, from 127.0.0.1 */
	zone_txt(g->zone, "e2e.example", "v=spf1 ip4:127.0.0.1 -all");
	zone_txt(g->zone, "_dmarc.e2e.example", "v=DMARC1; p=none");
}

/* xrealloc - realloc or exit: a test tool has no better answer */
static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL) {
		perror("mkcorpus");
		exit(1);
	}
	return p;
}

/* xfmt - a formatted string, or exit */
static char *
xfmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		perror("mkcorpus");
		exit(1);
	}
	va_end(ap);
	return s;
}

/* body_text - append text lines to b until it holds target bytes */
static void
body_text(struct gen *g, char **b, size_t *n, size_t target)
{
	size_t cap = target + 400;

	*b = xrealloc(*b, cap);
	while (*n < target) {
		int line = 0;

		if (*n + 200 > cap) {
			cap *= 2;
			*b = xrealloc(*b, cap);
		}

		while (line < 64) {
			const char *w = words[below(g, (int)NWORDS)];
			/* now and then two spaces or a tab, for relaxed canon
			 */
			int sp = below(g, 50) == 0 ? 2 : 1;

			*n += (size_t)sprintf(*b + *n, "%s%s", w,
					      sp == 2 ? "  " : " ");
			line += (int)strlen(w) + sp;
		}
		(*b)[*n - 1] = '\n';
		if (below(g, 12) == 0)
			(*b)[(*n)++] = '\n';
	}
}

/* body_attach - a multipart body: text part and a base64 attachment */
static void
body_attach(struct gen *g, char **b, size_t *n, size_t len, const char *bnd)
{
	*b = xrealloc(*b, *n + 400);
	*n += (size_t)sprintf(*b + *n,
			      "This is a multi-part message in MIME format.\n"
			      "\n--%s\nContent-Type: text/plain; charset=utf-8"
			      "\n\n",
			      bnd);
	body_text(g, b, n, *n + 1500);
	*b = xrealloc(*b, *n + len * 2 + 400);
	*n += (size_t)sprintf(*b + *n,
			      "\n--%s\nContent-Type: application/octet-stream;"
			      " name=\"data.bin\"\nContent-Transfer-Encoding: "
			      "base64\nContent-Disposition: attachment; "
			      "filename=\"data.bin\"\n\n",
			      bnd);
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
	    "uvwxyz0123456789+/";
	for (size_t done = 0; done < len; done += 77) {
		for (int i = 0; i < 76; i++)
			(*b)[(*n)++] = b64[below(g, 64)];
		(*b)[(*n)++] = '\n';
	}
	*n += (size_t)sprintf(*b + *n, "\n--%s--\n", bnd);
}

/* to_crlf - a CRLF copy of LF text, for signing; caller frees */
static char *
to_crlf(const char *s, size_t n, size_t *out)
{
	char *r = malloc(n * 2 + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			r[o++] = '\r';
		r[o++] = s[i];
	}
	*out = o;
	return r;
}

/* org_of - the organizational domain: our names make it simple */
static const char *
org_of(const char *dom, const struct dom *d)
{
	size_t a = strlen(dom), b = strlen(d->name);

	if (a >= b && strcmp(dom + a - b, d->name) == 0 &&
	    (a == b || dom[a - b - 1] == '.'))
		return d->name;
	return dom;
}

/* kind - the message kinds, in percent of the corpus */
enum kind {
	K_DIRECT,
	K_ESP_ALIGNED,
	K_ESP_OWN,
	K_BROKEN,
	K_FORWARD,
	K_LIST,
	K_UNSIGNED,
	K_SPOOF,
	K_SPOOF_SIG,
	K_SUBDOM,
	K_SUBSPOOF,
	K_JUNK,
	K_NKINDS
};
static const int kind_pct[K_NKINDS] = {39, 8, 3, 6, 8, 3, 12, 5, 2, 7, 3, 4};

/* one_message - build, sign and write message i; append its index line */
static int
one_message(struct gen *g, int i, const char *out, FILE *index)
{
	int r = below(g, 100), k = 0;

	while (k < K_NKINDS - 1 && r >= kind_pct[k])
		r -= kind_pct[k++];
	enum kind kind = (enum kind)k;
	struct dom *d = &g->d[below(g, g->nd)];
	char from_dom[128], mf_dom[128], ip[32], helo[160], sigdom[128];
	bool sign = true, sign_d = true, break_body = false, list = false;
	bool fake_key = false;
	uint32_t ipa = d->net + (uint32_t)below(g, 4);
	int esp = below(g, NESP), fwd = below(g, NFWD);

	snprintf(from_dom, sizeof from_dom, "%s", d->name);
	snprintf(mf_dom, sizeof mf_dom, "%s", d->name);
	snprintf(helo, sizeof helo, "mail.%s", d->name);
	switch (kind) {
	case K_DIRECT:
		break;
	case K_ESP_ALIGNED:
	case K_ESP_OWN:
		ipa = (100U << 24) | (100U << 16) | ((uint32_t)esp << 8) |
		      (uint32_t)(1 + below(g, 250));
		snprintf(mf_dom, sizeof mf_dom, "esp%d.example", esp);
		snprintf(helo, sizeof helo, "out.esp%d.example", esp);
		sign_d = kind == K_ESP_ALIGNED;
		break;
	case K_BROKEN:
		break_body = true;
		break;
	case K_FORWARD:
	case K_LIST:
		ipa = (100U << 24) | (110U << 16) | ((uint32_t)fwd << 8) |
		      (uint32_t)(1 + below(g, 250));
		snprintf(helo, sizeof helo, "fwd.list%d.example", fwd);
		if (kind == K_LIST) {
			list = true;
			snprintf(mf_dom, sizeof mf_dom, "list%d.example", fwd);
		}
		break;
	case K_UNSIGNED:
		sign = false;
		break;
	case K_SPOOF:
	case K_SPOOF_SIG:
		ipa =
		    (203U << 24) | (113U << 8) | (uint32_t)(1 + below(g, 250));
		snprintf(helo, sizeof helo, "host%d.spoof.example",
			 below(g, 99));
		sign = kind == K_SPOOF_SIG;
		fake_key = true;
		break;
	case K_SUBDOM:
		snprintf(from_dom, sizeof from_dom, "news.%s", d->name);
		snprintf(mf_dom, sizeof mf_dom, "news.%s", d->name);
		break;
	case K_SUBSPOOF:
		snprintf(from_dom, sizeof from_dom, "news.%s", d->name);
		snprintf(mf_dom, sizeof mf_dom, "news.%s", d->name);
		ipa =
		    (203U << 24) | (113U << 8) | (uint32_t)(1 + below(g, 250));
		sign = false;
		break;
	default: /* K_JUNK: a domain with no DNS at all */
		snprintf(from_dom, sizeof from_dom, "junk%03d.example",
			 below(g, 500));
		snprintf(mf_dom, sizeof mf_dom, "%s", from_dom);
		snprintf(helo, sizeof helo, "mx.%s", from_dom);
		ipa =
		    (203U << 24) | (113U << 8) | (uint32_t)(1 + below(g, 250));
		sign = false;
		break;
	}
	if (sign_d)
		snprintf(sigdom, sizeof sigdom, "%s", d->name);
	else
		snprintf(sigdom, sizeof sigdom, "esp%d.example", esp);
	ip_of(ipa, ip, sizeof ip);

	/* expected results, as RFC 7208 / 6376 / 7489 give them here */
	const char *spf, *dkim, *dmarc;
	bool spf_pass = false, dkim_pass = false;
	uint32_t mynet = d->net;

	if (strcmp(mf_dom, d->name) == 0) {
		spf_pass = d->all && (ipa & ~3U) == mynet;
		spf = spf_pass        ? "pass"
		      : d->all == '-' ? "fail"
		      : d->all == '~' ? "softfail"
		      : d->all == '?' ? "neutral"
				      : "none";
	} else if (strncmp(mf_dom, "esp", 3) == 0 ||
		   strncmp(mf_dom, "list", 4) == 0) {
		spf_pass = true;
		spf = "pass";
	} else {
		spf = "none"; /* news.<d> and junk: no SPF record */
	}
	dkim_pass = sign && !break_body && !list && !fake_key;
	dkim = !sign ? "none" : dkim_pass ? "pass" : "fail";
	if (kind == K_JUNK || d->p < 0) {
		dmarc = "none";
	} else {
		const char *fo = org_of(from_dom, d);
		bool spf_al = spf_pass &&
			      (d->aspf_s ? strcmp(mf_dom, from_dom) == 0
					 : strcmp(org_of(mf_dom, d), fo) == 0);
		bool dkim_al =
		    dkim_pass &&
		    (d->adkim_s ? strcmp(sigdom, from_dom) == 0
				: strcmp(org_of(sigdom, d), fo) == 0);

		dmarc = spf_al || dkim_al ? "pass" : "fail";
	}

	/* the message */
	char *hdr[MAXHDRS], *body = NULL;
	size_t nh = 0, blen = 0;
	int user = below(g, 50);
	bool attach = chance(g, 5);
	char bnd[64];

	snprintf(bnd, sizeof bnd, "=_bench_%d_%04x", i, below(g, 65536));
	if (list || kind == K_FORWARD)
		hdr[nh++] = xfmt("Received: from %s (%s [%s])\n\tby "
				 "fwd.list%d.example with ESMTP id F%05d",
				 helo, helo, ip, fwd, i);
	hdr[nh++] =
	    xfmt("Received: from [10.%d.%d.%d] (unknown [10.1.2.3])"
		 "\n\tby mail.%s (Postfix) with ESMTPSA id A%05d",
		 below(g, 255), below(g, 255), below(g, 255), d->name, i);
	hdr[nh++] = xfmt("Date: Fri, 21 Nov 2025 %02d:%02d:%02d +0000",
			 (i / 3600) % 24, (i / 60) % 60, i % 60);
	hdr[nh++] = xfmt("From: \"User %d\" <user%d@%s>", user, user, from_dom);
	hdr[nh++] = xfmt("To: <rcpt%d@mx.bench.example>", below(g, 100));
	hdr[nh++] =
	    xfmt("Subject: %s %s %s", words[below(g, (int)NWORDS)],
		 words[below(g, (int)NWORDS)], words[below(g, (int)NWORDS)]);
	hdr[nh++] =
	    xfmt("Message-ID: <%d.%08x@%s>", i, (unsigned)rnd(g), from_dom);
	hdr[nh++] = xfmt("MIME-Version: 1.0");
	if (attach) {
		hdr[nh++] = xfmt(
		    "Content-Type: multipart/mixed;\n\tboundary=\"%s\"", bnd);
		body_attach(g, &body, &blen, (size_t)(50000 + below(g, 150000)),
			    bnd);
	} else {
		hdr[nh++] = xfmt("Content-Type: text/plain; charset=utf-8");
		double z = sqrt(-2 * log((below(g, 9999) + 1) / 10000.0)) *
			   cos(6.283185 * below(g, 10000) / 10000.0);
		size_t len = (size_t)(4300 * exp(0.6 * z));

		body_text(g, &body, &blen,
			  len < 300     ? 300
			  : len > 40000 ? 40000
					: len);
	}
	/* sign the CRLF form, as the verifier will see it */
	char *ch[MAXHDRS];
	size_t cbl;
	char *cbody = to_crlf(body, blen, &cbl);
	char *sigs[2];
	int nsig = 0;

	for (size_t h = 0; h < nh; h++) {
		size_t l;

		ch[h] = to_crlf(hdr[h], strlen(hdr[h]), &l);
		ch[h][l] = '\0';
	}
	for (int s = 0; sign && s < 2; s++) {
		bool ed = s == 1;

		if (ed && (d->ed < 0 || !sign_d || fake_key))
			continue;
		struct mc_sig sg = {
		    .key = ed ? g->ed[d->ed]
			      : g->rsa[fake_key ? (d->rsa + 1) % NRSA : d->rsa],
		    .ed25519 = ed,
		    .domain = sigdom,
		    .selector = ed ? "e2025" : "s2025",
		    .hdr_simple = below(g, 10) == 0,
		    .body_simple = below(g, 5) == 0,
		    .hlist = HLIST,
		    .t = T_BASE + i};

		if (!sign_d) /* ESP keys: esp<k> uses rsa key k */
			sg.key = g->rsa[esp % NRSA];
		sigs[nsig] = mc_dkim_sign(&sg, ch, nh, cbody, cbl);
		if (sigs[nsig] == NULL) {
			fprintf(stderr, "mkcorpus: signing failed\n");
			return -1;
		}
		nsig++;
	}
	free(cbody);
	for (size_t h = 0; h < nh; h++)
		free(ch[h]);
	if (break_body) /* one changed word after signing */
		body[blen / 2] = body[blen / 2] == 'x' ? 'y' : 'x';
	if (list) { /* the list edits subject (signed) and body */
		for (size_t h = 0; h < nh; h++)
			if (strncmp(hdr[h], "Subject: ", 9) == 0) {
				char *t =
				    xfmt("Subject: [list] %s", hdr[h] + 9);

				free(hdr[h]);
				hdr[h] = t;
			}
		body = xrealloc(body, blen + 80);
		blen += (size_t)sprintf(body + blen,
					"-- \nlist%d mailing list\n", fwd);
	}

	char path[4096];

	snprintf(path, sizeof path, "%s/m/%04d.eml", out, i);
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "mkcorpus: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int s = nsig; s-- > 0;) { /* signatures on top, CRLF -> LF */
		for (char *p = sigs[s]; *p; p++)
			if (*p != '\r')
				fputc(*p, f);
		fputc('\n', f);
		free(sigs[s]);
	}
	for (size_t h = 0; h < nh; h++) {
		fprintf(f, "%s\n", hdr[h]);
		free(hdr[h]);
	}
	fputc('\n', f);
	fwrite(body, 1, blen, f);
	fclose(f);
	free(body);
	fprintf(index,
		"m/%04d.eml %s %s bounce@%s rcpt%d@mx.bench.example "
		"%s %s %s\n",
		i, ip, helo, mf_dom, i % 100, spf, dkim, dmarc);
	return 0;
}

/* main - build the corpus, its index and its zone */
int
main(int argc, char **argv)
{
	struct gen g = {.rng = 20261121};
	const char *out = NULL, *keys = NULL;
	int n = 2000, o;
	char path[4096];

	g.nd = 300;
	while ((o = getopt(argc, argv, "o:k:n:d:s:")) != -1) {
		switch (o) {
		case 'o':
			out = optarg;
			break;
		case 'k':
			keys = optarg;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'd':
			g.nd = atoi(optarg);
			break;
		case 's':
			g.rng = strtoull(optarg, NULL, 10) | 1;
			break;
		default:
			out = NULL;
		}
	}
	if (out == NULL || keys == NULL || n < 1 || g.nd < 1 || g.nd > 4000) {
		fprintf(stderr,
			"usage: mkcorpus -o OUT -k KEYDIR [-n 2000] [-d 300] "
			"[-s SEED]\n");
		return 2;
	}
	for (int i = 0; i < NRSA; i++) {
		snprintf(path, sizeof path, "rsa%d.pem", i);
		if ((g.rsa[i] = load_key(keys, path)) == NULL)
			return 1;
	}
	for (int i = 0; i < NED; i++) {
		snprintf(path, sizeof path, "ed%d.pem", i);
		if ((g.ed[i] = load_key(keys, path)) == NULL)
			return 1;
	}
	snprintf(path, sizeof path, "%s/m", out);
	if (mkdir(out, 0755) < 0 && errno != EEXIST)
		return 1;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return 1;
	snprintf(path, sizeof path, "%s/zone.conf", out);
	g.zone = fopen(path, "w");
	snprintf(path, sizeof path, "%s/index", out);
	FILE *index = fopen(path, "w");

	g.d = calloc((size_t)g.nd, sizeof *g.d);
	if (g.zone == NULL || index == NULL || g.d == NULL)
		return 1;
	fprintf(g.zone, "# generated by mkcorpus: the benchmark's DNS data\n"
			"    local-zone: \"example.\" static\n"
			"    local-zone: \"example.com.\" static\n"
			"    local-zone: \"example.net.\" static\n"
			"    local-zone: \"example.org.\" static\n");
	fprintf(index, "# file ip helo mailfrom rcpt spf dkim dmarc\n");
	make_domains(&g);
	for (int i = 0; i < n; i++)
		if (one_message(&g, i, out, index) < 0)
			return 1;
	fclose(index);
	fclose(g.zone);
	for (int i = 0; i < NRSA; i++)
		EVP_PKEY_free(g.rsa[i]);
	for (int i = 0; i < NED; i++)
		EVP_PKEY_free(g.ed[i]);
	free(g.d);
	return 0;
}
