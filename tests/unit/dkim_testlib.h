/*
 * dkim_testlib.h - shared helpers for the DKIM tests
 *
 * Hermetic DNS: an unbound configuration written to a private temporary
 * directory (TXT data in static zones, NXDOMAIN, REFUSED, a forward to a
 * loopback UDP socket that never answers, SERVFAIL) and a lib/dns
 * resolver on it. A message feeder that splits an
 * RFC 5322 message into the header/body calls lib/dkim expects. The DKIM
 * signing helper lives in dkim_testsign.c.
 */
#ifndef AUTHTAG_TESTS_DKIM_TESTLIB_H
#define AUTHTAG_TESTS_DKIM_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

struct config;
struct dns_resolver;
struct dkim_verifier;

enum dkim_test_rr {
	DKIM_TEST_TXT,      /* TXT record in a static zone */
	DKIM_TEST_NXDOMAIN, /* the name does not exist */
	DKIM_TEST_TIMEOUT,  /* forwarded to a server that never answers */
	DKIM_TEST_SERVFAIL, /* forwarded where unbound may not ask */
	DKIM_TEST_REFUSED,  /* a local zone that refuses */
};

/* one hermetic DNS entry; zone is the static zone that holds name */
struct dkim_test_record {
	const char *name; /* without the final dot */
	enum dkim_test_rr kind;
	const char *txt; /* the record's text (split into strings here) */
};

struct dkim_test_dns {
	char dir[64];             /* private temporary directory */
	char conf[96];            /* the unbound configuration in it */
	int silent_fd;            /* UDP socket that never answers */
	struct config *cfg;       /* resolver settings pointing at conf */
	struct dns_resolver *res; /* resolver on cfg */
};

/*
 * dkim_test_dns_start - write the records as an unbound config and start
 * a resolver on it; zones lists the static zones (NULL-terminated).
 * Returns 0 or -1 (with a message on stderr).
 */
int dkim_test_dns_start(struct dkim_test_dns *env, const char *const *zones,
			const struct dkim_test_record *recs, size_t nrecs);

/* dkim_test_dns_stop - free the resolver, config and temporary files */
void dkim_test_dns_stop(struct dkim_test_dns *env);

/*
 * dkim_test_verify - feed a message (LF or CRLF) to a new dkim_msg with
 * its own dns_cache: headers one by one, then the body in pieces of
 * chunk bytes (0: all at once). the outcomes as dkim_msg_eom() returns them.
 */
void dkim_test_verify(struct dkim_verifier *ver, struct dns_resolver *res,
		      const char *text, size_t len, size_t chunk,
		      struct dkim_outcome **sigs, size_t *nsigs);

/* dkim_test_read_file - read a whole file (NUL-added); NULL on error */
char *dkim_test_read_file(const char *path, size_t *len);

/* dkim_test_srcdir - $top_srcdir or "." */
const char *dkim_test_srcdir(void);

#endif
