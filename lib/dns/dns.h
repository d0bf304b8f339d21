/*
 * dns.h - one libunbound resolver for every check, and a per-message cache
 *
 * dns.c owns the process's single struct ub_ctx (thread-safe, one shared
 * answer cache) and the thread that drives its asynchronous queries, so a
 * lookup can time out (ResolverTimeout) instead of hanging. SPF, DMARC and
 * the DKIM key callbacks all ask through a struct dns_cache, which lives
 * for one message and makes sure no name/type is asked twice in it.
 *
 * Answers are owned by the dns_cache that returned them and stay valid
 * until dns_cache_free(). Every failure that may go away (timeout,
 * SERVFAIL, REFUSED, no memory, a name that cannot be asked) is
 * DNS_TEMPFAIL or DNS_BADNAME, never a hang.
 */
#ifndef AUTHTAG_DNS_H
#define AUTHTAG_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>

struct config;

/* RR types we ask for */
#define DNS_T_A     1
#define DNS_T_NS    2
#define DNS_T_CNAME 5
#define DNS_T_PTR   12
#define DNS_T_MX    15
#define DNS_T_TXT   16
#define DNS_T_AAAA  28
#define DNS_T_SPF   99

enum dns_status {
	DNS_OK = 0,   /* at least one record of the type */
	DNS_NODATA,   /* the name exists, no record of this type */
	DNS_NXDOMAIN, /* the name does not exist */
	DNS_TEMPFAIL, /* timeout, SERVFAIL, REFUSED, bogus DNSSEC, no memory */
	DNS_BADNAME,  /* not a valid query name (label > 63, name > 253, ...) */
};

struct dns_answer {
	enum dns_status status;
	int rrtype;
	int rcode;             /* DNS rcode of the reply (0 when none) */
	int count;             /* number of records */
	unsigned char **rdata; /* record data, network order, uncompressed */
	int *rdlen;
	const unsigned char *packet; /* whole wire-format reply, or NULL */
	int packet_len;
	bool secure; /* DNSSEC validated */
};

struct dns_resolver;
struct dns_cache;

/*
 * dns_resolver_new - create the resolver as the config says
 *
 * Reads Resolver, ResolverConfig, TrustAnchorFile and ResolverTimeout.
 * Call once at start-up, from one thread: ub_ctx_config() is not
 * thread-safe. Returns NULL with a reason in err.
 */
struct dns_resolver *dns_resolver_new(const struct config *cfg, char *err,
				      size_t errlen);

/* dns_resolver_free - stop the driver thread and free the context */
void dns_resolver_free(struct dns_resolver *res);

/* dns_resolver_sent - how many queries were handed to libunbound */
unsigned dns_resolver_sent(struct dns_resolver *res);

/* dns_resolver_set_timeout - change the per-query timeout (milliseconds) */
void dns_resolver_set_timeout(struct dns_resolver *res, unsigned ms);

/*
 * dns_resolver_rotations - how many times a fresh libunbound context
 * replaced one holding too many timed-out queries (their memory goes with
 * the old context)
 */
unsigned dns_resolver_rotations(struct dns_resolver *res);

/* dns_resolver_set_rotate_after - timed-out queries before a fresh context
 * (default 512; for tests) */
void dns_resolver_set_rotate_after(struct dns_resolver *res, unsigned n);

/* dns_cache_new - an empty per-message cache on a resolver; NULL on ENOMEM */
struct dns_cache *dns_cache_new(struct dns_resolver *res);

/* dns_cache_free - free the cache and every answer it handed out */
void dns_cache_free(struct dns_cache *cache);

/*
 * dns_lookup - ask for name/rrtype once per message
 *
 * name may end in '.' or not; case does not matter. Never returns NULL:
 * on no memory the answer is a static DNS_TEMPFAIL one.
 */
const struct dns_answer *dns_lookup(struct dns_cache *cache, const char *name,
				    int rrtype);

/* what the resolver counted since it was made (metrics) */
struct dns_stats {
	unsigned long sent;       /* queries handed to libunbound */
	unsigned long store_hits; /* answered from the answer store */
	unsigned long timeouts;   /* queries without an answer in time */
};

/* dns_resolver_stats - those counters */
void dns_resolver_stats(struct dns_resolver *res, struct dns_stats *st);

/* dns_cache_set_trace - explain mode: a line per lookup into t (NULL:
 * none); trace.h */
struct trace;
void dns_cache_set_trace(struct dns_cache *cache, struct trace *t);
/* dns_cache_trace - that trace (the checks write theirs there), or NULL */
struct trace *dns_cache_trace(const struct dns_cache *cache);

/*
 * dns_cache_set_deadline - a time budget: after ms from now this cache
 * sends no more queries (new lookups are DNS_TEMPFAIL) and each query
 * waits at most what is left. Without it only ResolverTimeout applies,
 * per query, which one hostile SPF record could multiply a hundredfold.
 */
void dns_cache_set_deadline(struct dns_cache *cache, unsigned ms);

/*
 * dns_cache_queries - how many lookups this cache could not answer itself
 * (each went to the resolver's answer store, then to libunbound)
 */
unsigned dns_cache_queries(const struct dns_cache *cache);

/*
 * dns_txt_join - the i-th TXT record's strings joined into one NUL-ended
 * string in out; returns its length, or -1 if it did not fit or is
 * malformed. A NUL octet inside the data is kept (returned length tells).
 */
int dns_txt_join(const struct dns_answer *ans, int i, char *out, size_t outlen);

/*
 * dns_name_decode - a wire-format (uncompressed) domain name at data into
 * dotted text without the final dot; returns the number of octets read,
 * or -1 if malformed or too long for out.
 */
int dns_name_decode(const unsigned char *data, int len, char *out,
		    size_t outlen);

/* dns_mx_decode - the i-th MX record: preference and exchange name; 0/-1 */
int dns_mx_decode(const struct dns_answer *ans, int i, unsigned *pref,
		  char *name, size_t namelen);

/* dns_status_name - "ok", "nodata", "nxdomain", "tempfail", "badname" */
const char *dns_status_name(enum dns_status st);

/*
 * dns_name_valid - may this name be asked? (labels 1..63, total <= 253,
 * no empty label, no control
 * characters); a trailing dot is allowed. Spaces are allowed: SPF macros
 * can produce them and DNS carries them
 */
bool dns_name_valid(const char *name);

#endif
