/*
 * spf_int.h - what spf.c (evaluation) and spf_parse.c (grammar, macros)
 * share; not for use outside the SPF module
 *
 * A struct spf_ctx lives on the stack of one spf_check_host() call and
 * holds the client, the sender and the counters of section 4.6.4 for
 * the whole include/redirect tree. A struct spf_term points into the
 * record text it was parsed from.
 */
#ifndef AUTHTAG_SPF_INT_H
#define AUTHTAG_SPF_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "result.h"

struct dns_cache;
struct spf_request;

enum spf_kind {
	T_ALL,
	T_INCLUDE,
	T_A,
	T_MX,
	T_PTR,
	T_IP4,
	T_IP6,
	T_EXISTS,
	T_REDIRECT, /* modifiers from here on */
	T_EXP,
	T_UNKNOWN_MOD,
};

/* one term of a record, pointing into the record text */
struct spf_term {
	enum spf_kind kind;
	enum ar_result qual; /* RES_PASS, RES_FAIL, RES_SOFTFAIL, RES_NEUTRAL */
	const char *spec;    /* domain-spec, macro-string or address; or NULL */
	size_t spec_len;
	unsigned cidr4, cidr6;
	unsigned char addr[16]; /* ip4 / ip6 network */
};

/* everything one check_host() needs, for the whole include/redirect tree */
struct spf_ctx {
	struct dns_cache *dns;
	const struct spf_request *req;
	struct spf_outcome *out;
	int family; /* AF_INET or AF_INET6; v4-mapped clients are AF_INET */
	unsigned char ip[16];
	char ip_c[INET6_ADDRSTRLEN]; /* %{c} */
	char ip_i[64];               /* %{i}: dotted quad or 32 nibbles */
	const char *sender;          /* %{s} */
	const char *local;           /* %{l}, local_len octets */
	size_t local_len;
	const char *sdomain; /* %{o} */
	unsigned dns_terms;  /* terms that caused DNS lookups */
	unsigned voids;      /* void lookups */
	bool have_reason;    /* the first error's reason is the one kept */
};

/* spf_ieq - case-insensitive compare of n octets with a lower-case word */
bool spf_ieq(const char *s, size_t n, const char *word);

/* spf_set_client - parse the client IP into ctx; false if it is not one */
bool spf_set_client(struct spf_ctx *ctx, const char *text);

/* spf_reverse_name - the in-addr.arpa or ip6.arpa name of the client */
void spf_reverse_name(const struct spf_ctx *ctx, char *buf, size_t bufsz);

/* spf_name_under - is name equal to suffix or below it? (any case) */
bool spf_name_under(const char *name, const char *suffix);

/* spf_next_term - the next SP-separated term in [*p, end), or false */
bool spf_next_term(const char **p, const char *end, const char **term,
		   size_t *len);

/* spf_term_parse - parse one term; NULL if valid, else what is wrong */
const char *spf_term_parse(const char *s, size_t n, struct spf_term *t);

/*
 * spf_expand_name - expand a checked domain-spec for the current domain
 * into a name that may be asked; false if the result is not one
 */
bool spf_expand_name(struct spf_ctx *ctx, const char *domain, const char *spec,
		     size_t len, char *name, size_t namesz);

/* spf_expand_text - check and expand an explain-string; 0 or -1 */
int spf_expand_text(struct spf_ctx *ctx, const char *domain, const char *text,
		    size_t len, char *dst, size_t dstsz);

/* spf_macro_p - the %{p} value: a validated name of the client (spf.c) */
void spf_macro_p(struct spf_ctx *ctx, const char *domain, char *dst,
		 size_t dstsz);

#endif
