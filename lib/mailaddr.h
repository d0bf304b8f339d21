/*
 * mailaddr.h - the Author Domain of a message from its From header fields
 *
 * mailaddr.c owns RFC 5322 address-list parsing (with RFC 6854 groups,
 * the obsolete syntax, comments, quoted strings and RFC 6532 UTF-8) as
 * far as DMARC needs it: which single domain, if any, the From header
 * names. It also owns domain normalisation (lower case, no final dot,
 * the host-name label grammar, U-labels to A-labels), which dmarc.c and
 * the Public Suffix List code reuse for every domain they compare.
 */
#ifndef AUTHTAG_MAILADDR_H
#define AUTHTAG_MAILADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

enum mailaddr_status {
	MAILADDR_OK = 0,           /* one Author Domain (maybe several
				      mailboxes, all in that domain) */
	MAILADDR_NO_FROM,          /* no From header field */
	MAILADDR_MULTIPLE_FIELDS,  /* more than one From header field */
	MAILADDR_MULTIPLE_DOMAINS, /* mailboxes in different domains */
	MAILADDR_NO_ADDRESS,       /* empty field, or only empty groups */
	MAILADDR_SYNTAX,           /* not an RFC 5322 address list */
	MAILADDR_BAD_DOMAIN,       /* domain literal, or not a host name */
};

struct mailaddr_from {
	enum mailaddr_status status;
	char domain[RES_DOMAIN_MAX]; /* A-labels, lower case, no final dot;
					"" unless status is MAILADDR_OK */
	unsigned naddrs;             /* mailboxes found in the field(s) */
	char reason[RES_REASON_MAX]; /* why, when status is not OK */
	/* for DMARC's several-author-domains rule: every distinct usable
	 * domain of every field, in order, whatever the status */
	char domains[RES_AUTHORS_MAX][RES_DOMAIN_MAX];
	unsigned ndomains;
	bool more_domains; /* there were more than RES_AUTHORS_MAX */
	bool unusable;     /* a field or mailbox gave no usable domain */
};

/*
 * mailaddr_from_domain - the Author Domain named by the From fields
 *
 * values are the bodies of every From header field of the message (the
 * text after the colon, folding kept), nvalues of them. Always fills out;
 * work is linear in the input length. Every field is parsed, so that
 * domains lists the author domains even when status is not OK.
 */
void mailaddr_from_domain(const char *const *values, size_t nvalues,
			  struct mailaddr_from *out);

/*
 * mailaddr_domain_normalize - a domain in the form DMARC compares
 *
 * Lower-cases ASCII, drops one final dot, converts U-labels (UTF-8) to
 * A-labels (RFC 3492) and checks the host-name grammar: labels of 1..63
 * letters, digits and inner hyphens, at most 253 octets, a last label
 * that is not all digits. Returns 0, or -1 if in is not such a name or
 * does not fit in out.
 */
int mailaddr_domain_normalize(const char *in, size_t len, char *out,
			      size_t outlen);

/*
 * mailaddr_envelope_strip - an envelope address (MAIL FROM, RCPT TO
 * argument) without surrounding blanks and <>; malloc'd, NULL on no memory
 */
char *mailaddr_envelope_strip(const char *addr);

/*
 * mailaddr_envelope_domain - the domain of an envelope address, for logs:
 * the text after the last '@' up to '>' or a blank, lower case, cut to
 * fit out; "" when there is no '@'. Not validated: callers sanitise it.
 */
void mailaddr_envelope_domain(const char *addr, char *out, size_t outlen);

/*
 * mailaddr_header_addrs - the addr-specs in header values (From) the way
 * SpamAssassin 4.0.1 finds them (loosely: every local@domain candidate,
 * comments skipped), at most max of them into out, lower-cased if
 * lower; returns how many. For welcome and block lists, not for DMARC.
 */
size_t mailaddr_header_addrs(const char *const *values, size_t nvalues,
			     char (*out)[RES_ADDRESS_MAX], size_t max,
			     bool lower);

/*
 * mailaddr_envelope_parts - the local part and domain of an envelope
 * address (blanks and <> allowed around it; the domain after the last
 * '@', "" for a bare local name); 0, or -1 when one does not fit
 */
int mailaddr_envelope_parts(const char *addr, char *local, size_t locallen,
			    char *domain, size_t domainlen);

/* mailaddr_status_name - a short name for a status, for logs and tests */
const char *mailaddr_status_name(enum mailaddr_status st);

#endif
