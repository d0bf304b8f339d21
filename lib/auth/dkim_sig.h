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

/* dkim_sig_clear - free what a parsed signature holds */
void dkim_sig_clear(struct dkim_sig *sig);

/* dkim_domain_valid - is s a plain domain name (LDH labels)? */
bool dkim_domain_valid(const char *s);

#endif
