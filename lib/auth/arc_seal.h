/*
 * arc_seal.h - adding our ARC set to a message we pass on (RFC 8617
 * 5.1), see arc_seal.c
 */
#ifndef AUTHTAG_ARC_SEAL_H
#define AUTHTAG_ARC_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "arc.h"
#include "dkim_sign.h"

struct arc_sealer;

struct arc_sealopts {
	const struct dkim_signkey *key; /* must outlive the sealer */
	const char *domain;             /* d= */
	const char *selector;           /* s= */
	const char *sign_headers;       /* AMS h=, colon-separated; NULL:
					   the DKIM default list */
	time_t now;                     /* t= (0: the time of the call) */
};

/* the new set's three field values (after the colon, folded with
 * "\n\t"), malloc'd; a field name is arc_seal_names[k] */
struct arc_newset {
	char *value[3]; /* ARC-Authentication-Results, ARC-Message-Signature,
			   ARC-Seal */
	unsigned instance;
};

extern const char *const arc_seal_names[3];

/* arc_sealer_new - start sealing one message; NULL on no memory */
struct arc_sealer *arc_sealer_new(const struct arc_sealopts *opts);

/* arc_sealer_header - one header field of the message as it will be
 * delivered (name without colon, value as received) */
void arc_sealer_header(struct arc_sealer *s, const char *name,
		       const char *value);

/* arc_sealer_body - a body chunk */
void arc_sealer_body(struct arc_sealer *s, const unsigned char *data,
		     size_t len);

/*
 * arc_sealer_finish - the next set, over the chain msg holds (may be
 * NULL: no chain) with the validation status out; aar is the
 * ARC-Authentication-Results text after "i=N; " (authserv-id and
 * results). Returns 1 with set filled, 0 when the chain gets no set
 * (its newest seal already says cv=fail, or it has 50), -1 with err.
 */
int arc_sealer_finish(struct arc_sealer *s, const struct arc_msg *msg,
		      const struct arc_outcome *out, const char *aar,
		      struct arc_newset *set, char *err, size_t errlen);

/* arc_newset_free - free the values of a set */
void arc_newset_free(struct arc_newset *set);

/* arc_sealer_free - free a sealer */
void arc_sealer_free(struct arc_sealer *s);

#endif
