/*
 * dkim_canon.h - RFC 6376 section 3.4 canonicalisation: header fields one
 * at a time, the body streamed into a hash (see dkim_canon.c)
 */
#ifndef AUTHTAG_DKIM_CANON_H
#define AUTHTAG_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>

struct strbuf;

enum dkim_canon {
	DKIM_CANON_SIMPLE,
	DKIM_CANON_RELAXED,
};

/*
 * dkim_canon_header - append one header field, canonicalised, to out
 *
 * name without the colon; value everything after the colon as received
 * (folding kept, LF or CRLF line breaks). The field ends in CRLF unless
 * crlf is false (the signature's own field, RFC 6376 3.7).
 */
void dkim_canon_header(struct strbuf *out, enum dkim_canon c, const char *name,
		       const char *value, bool crlf);

/* one header field as received: name without the colon, value after it */
struct dkim_field {
	char *name;
	char *value;
};

/* dkim_fields_add - append a copy of one field; false on no memory */
bool dkim_fields_add(struct dkim_field **fields, size_t *n, const char *name,
		     const char *value);

/* dkim_fields_free - free n fields and the array */
void dkim_fields_free(struct dkim_field *fields, size_t n);

/*
 * dkim_canon_signed - append the fields a signature's h= names, in h=
 * order, canonicalised: the k-th naming of a field signs its k-th
 * instance from the bottom (RFC 6376 5.4.2), a naming with no instance
 * left signs nothing. hnames holds nh NUL-terminated names one after
 * another.
 */
void dkim_canon_signed(struct strbuf *out, enum dkim_canon c,
		       const struct dkim_field *fields, size_t nfields,
		       const char *hnames, size_t nh);

/* a streaming body canonicaliser feeding one hash */
struct dkim_body {
	enum dkim_canon canon;
	EVP_MD_CTX *md;
	ssize_t limit;       /* l=, or -1: hash at most this much */
	size_t hashed;       /* octets given to the hash */
	size_t total;        /* octets of the whole canonical body */
	unsigned blank;      /* empty lines held back (trailing ones go) */
	bool wsp;            /* relaxed: white space held back */
	bool in_line;        /* the current line has content */
	bool cr;             /* a CR held back (CRLF or content?) */
	size_t olen;         /* bytes in out */
	unsigned char out[4096];
};

/* dkim_body_init - start a body hash; false when OpenSSL fails */
bool dkim_body_init(struct dkim_body *b, enum dkim_canon c, const EVP_MD *md,
		    ssize_t limit);

/* dkim_body_update - feed body octets, any split; a bare LF ends a line
 * as CRLF does (what an MTA makes of it on the wire) */
void dkim_body_update(struct dkim_body *b, const unsigned char *p, size_t n);

/* dkim_body_final - finish: the digest into dig (EVP_MAX_MD_SIZE), its
 * length, or 0 when OpenSSL failed */
unsigned dkim_body_final(struct dkim_body *b, unsigned char *dig);

/* dkim_body_free - release the hash (after final or instead of it) */
void dkim_body_free(struct dkim_body *b);

#endif
