/*
 * welcome.h - welcome lists learned from the mail our users send
 *
 * welcome.c owns the pairs: when a local or authenticated user U sends
 * to address A, the pair (U, A) is kept in the state store with the
 * time it was last seen (counter "welcome:U>A", value = that time,
 * expiring LearnedWelcomeTTL after it); inbound mail from A to U asks
 * whether the pair exists. Whether that mail authenticates is the
 * engine's question, not this file's.
 */
#ifndef AUTHTAG_WELCOME_H
#define AUTHTAG_WELCOME_H

#include <stdbool.h>
#include <stdint.h>

struct store;
struct strbuf;

/*
 * welcome_pair_key - the store key of a pair, "welcome:USER>ADDR", both
 * addresses without <> and blanks, lower case; -1 when either is not
 * an address we keep (no @, empty local part or domain, blanks,
 * controls or '>' inside, longer than 254)
 */
int welcome_pair_key(struct strbuf *k, const char *user, const char *addr);

/*
 * welcome_learn - remember that user wrote to rcpt at now (at most one
 * write a day per pair); 0, -1 for an address we do not keep (empty,
 * no @, blanks or '>'), or a store status < 0
 */
int welcome_learn(struct store *st, const char *user, const char *rcpt,
		  unsigned ttl, int64_t now);

/* welcome_known - has user written to addr (within the TTL)? 0 and
 * *known, or a store status < 0 */
int welcome_known(struct store *st, const char *user, const char *addr,
		  bool *known);

#endif
