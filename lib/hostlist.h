/*
 * hostlist.h - client lists in opendkim's PeerList form: addresses,
 * CIDR networks, host and domain names, '!' exclusions (see hostlist.c)
 */
#ifndef AUTHTAG_HOSTLIST_H
#define AUTHTAG_HOSTLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct hostlist_entry {
	bool negate;
	bool is_net;
	struct config_net net; /* when is_net */
	char *name;            /* lower case: "host", ".domain" or "*.x" */
};

struct hostlist {
	struct hostlist_entry *entries;
	size_t n;
};

/* hostlist_parse_net - parse "addr[/prefix]" into a config_net; 0 or -1 */
int hostlist_parse_net(const char *text, struct config_net *net);

/* hostlist_parse_ip - a textual client address, IPv4-mapped IPv6 as
 * IPv4; 0 or -1 */
int hostlist_parse_ip(const char *ip, unsigned char addr[16], int *family);

/* hostlist_net_contains - is addr (of family) inside the network? */
bool hostlist_net_contains(const struct config_net *n, int family,
			   const unsigned char addr[16]);

/*
 * hostlist_load - a list from a dataset spec (a file, refile: or an
 * inline comma-separated list); 0 and *out, or -1 with "file:line: why"
 */
int hostlist_load(const char *spec, struct hostlist **out, char *err,
		  size_t errlen);

/* hostlist_free - free a list */
void hostlist_free(struct hostlist *hl);

/*
 * hostlist_match - is the client in the list?
 *
 * Names are matched first (the client's host name as the MTA gave it,
 * may be NULL), the most precise entry deciding: the name itself, then
 * ".parent" domains from the nearest, then '*' patterns; then the
 * address, the longest matching prefix deciding. A '!' entry that
 * decides means "not in the list".
 */
bool hostlist_match(const struct hostlist *hl, const char *ip,
		    const char *hostname);

#endif
