/*
 * dmarc_record.h - DMARC Policy Record parsing (RFC 9989 4.7, 4.8)
 *
 * dmarc_record.c owns the tag-value syntax of a DMARC record and its
 * error rules: the record is one only if it starts with v=DMARC1;
 * unknown tags are ignored; a bad value of an optional tag falls back to
 * the default; a bad p, sp or np is kept as DMARC_POL_INVALID so that
 * dmarc.c can apply the "rua present, act as p=none" rule. In RFC 7489
 * mode the RFC 9989 tags np, psd and t are unknown tags.
 */
#ifndef AUTHTAG_DMARC_RECORD_H
#define AUTHTAG_DMARC_RECORD_H

#include <stdbool.h>
#include <stddef.h>

enum dmarc_pol {
	DMARC_POL_UNSET = 0, /* tag absent */
	DMARC_POL_NONE,
	DMARC_POL_QUARANTINE,
	DMARC_POL_REJECT,
	DMARC_POL_INVALID, /* present but not none/quarantine/reject, or
			      given twice */
};

struct dmarc_record {
	enum dmarc_pol p, sp, np;
	char adkim;     /* 'r' (default) or 's' */
	char aspf;      /* 'r' (default) or 's' */
	char psd;       /* 'y', 'n' or 'u' (default) */
	char t;         /* 'y' or 'n'; 0 when absent or invalid */
	int pct;        /* legacy pct= 0..100; -1 when absent or invalid */
	bool rua_valid; /* rua= holds at least one well-formed URI */
	char rua[512];  /* rua= as published (when it fits), for reports */
	char fo[32];    /* fo= as published, for reports; "" absent */
};

/*
 * dmarc_record_is_dmarc - does this TXT string start with v=DMARC1?
 *
 * len is the string's length (it may hold NUL octets).
 */
bool dmarc_record_is_dmarc(const char *txt, size_t len);

/*
 * dmarc_record_parse - parse a record into rec
 *
 * Returns false (rec zeroed) when txt is not a DMARC record at all.
 * rfc7489 selects the RFC 7489 tag set.
 */
bool dmarc_record_parse(const char *txt, size_t len, bool rfc7489,
			struct dmarc_record *rec);

/* one reporting URI of rua= (RFC 9989 4.7, with RFC 7489's size limit) */
struct dmarc_uri {
	char uri[512];          /* the URI, without the size suffix */
	unsigned long max_size; /* "!10m": bytes; 0 when unlimited */
};

/*
 * dmarc_rua_list - the well-formed URIs of a rua= value, in order (a
 * malformed one is skipped, RFC 9990 "Report Delivery"); at most max;
 * returns how many
 */
size_t dmarc_rua_list(const char *value, struct dmarc_uri *out, size_t max);

/* dmarc_pol_name - "none", "quarantine", "reject", or "" */
const char *dmarc_pol_name(enum dmarc_pol pol);

#endif
