/*
 * dkim_sig.h - one DKIM-Signature header field parsed and checked
 * (RFC 6376 3.5, 6.1.1; RFC 8463), see dkim_sig.c
 */
#ifndef AUTHTAG_DKIM_SIG_H
#define AUTHTAG_DKIM_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "dkim_canon.h"
#include "result.h"

enum dkim_alg {
	DKIM_ALG_RSA_SHA256,
	DKIM_ALG_RSA_SHA1,
	DKIM_ALG_ED25519_SHA256,
};

#define DKIM_SIG_MAXB  2048 /* b= octets: an RSA-16384 signature */
#define DKIM_SIG_MAXBH 64   /* bh= octets */

/* the three fields that share this grammar */
enum dkim_sig_kind {
	DKIM_SIG_DKIM, /* DKIM-Signature (RFC 6376 3.5) */
	DKIM_SIG_AMS,  /* ARC-Message-Signature (RFC 8617 4.1.2): i= is the
			  instance, no v= */
	DKIM_SIG_AS,   /* ARC-Seal (RFC 8617 4.1.3): i=, cv=, no h=, bh=, c=;
			  relaxed header canonicalisation */
};

enum dkim_cv {
	DKIM_CV_NONE,
	DKIM_CV_PASS,
	DKIM_CV_FAIL,
};

#define DKIM_ARC_MAX 50 /* ARC instances, RFC 8617 4.2.1 */

struct dkim_sig {
	enum dkim_alg alg;
	enum dkim_canon hcanon, bcanon;
	char domain[RES_DOMAIN_MAX];     /* d= */
	char selector[RES_SELECTOR_MAX]; /* s= */
	char identity[RES_ADDRESS_MAX];  /* i=, or "@" d= */
	char algorithm[32];              /* a= as written */
	char b8[9];                      /* first 8 characters of b= */
	unsigned char b[DKIM_SIG_MAXB];
	size_t blen;
	unsigned char bh[DKIM_SIG_MAXBH];
	size_t bhlen;
	char *hnames;  /* h= names, each NUL-terminated, one after another */
	size_t nh;
	ssize_t length;  /* l=, or -1 */
	long long t, x;  /* t= and x=, or -1 */
	size_t bstart, bend; /* b='s value within the header value */
	unsigned instance;   /* ARC: i=, 1..DKIM_ARC_MAX */
	enum dkim_cv cv;     /* ARC-Seal: cv= */
};

/*
 * dkim_sig_parse - parse a DKIM-Signature value into sig
 *
 * Fills what it can of domain, selector, identity, algorithm and b8 even
 * when the signature is unusable, for the report. v05 accepts draft-era
 * "v=0.5" signatures (corpus tests only). Returns 0, or -1 with the
 * reason in err (a permanent error), or -2 on no memory. Free with
 * dkim_sig_clear() either way.
 */
int dkim_sig_parse(const char *value, struct dkim_sig *sig, bool v05,
		   char *err, size_t errlen);

/*
 * dkim_sig_parse_kind - the same for an ARC-Message-Signature or an
 * ARC-Seal value (kind), with RFC 8617's rules for it: i= is the
 * instance; an ARC-Seal has cv= and no h=. Same returns.
 */
int dkim_sig_parse_kind(enum dkim_sig_kind kind, const char *value,
			struct dkim_sig *sig, char *err, size_t errlen);

/* dkim_arc_instance - the i= instance of an ARC-Authentication-Results
 * value ("i=N;" first, RFC 8617 4.1.1), or 0 when it has none valid */
unsigned dkim_arc_instance(const char *value);

/* dkim_sig_clear - free what a parsed signature holds */
void dkim_sig_clear(struct dkim_sig *sig);

/* dkim_domain_valid - is s a plain domain name (LDH labels)? */
bool dkim_domain_valid(const char *s);

#endif
