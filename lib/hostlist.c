/*
 * hostlist.c - client lists: TrustedNetworks' address matching, and the
 * InternalHosts, PeerList and ExternalIgnoreList of opendkim's form
 *
 * Owns parsing an address or CIDR network, testing an address against
 * one, and struct hostlist: entries from a dataset (dataset.c) that are
 * addresses, networks ("[addr]" allowed), host names, ".domain" suffixes
 * or '*' patterns, each optionally "!"-negated. The most precise
 * matching entry decides, as opendkim documents, so "!192.0.2.1" inside
 * "192.0.2.0/24" excludes that one host.
 */
#include "build.h" /* first: feature macros */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dataset.h"
#include "hostlist.h"

/* hostlist_parse_net - parse "addr[/prefix]" into a config_net */
int
hostlist_parse_net(const char *text, struct config_net *net)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	unsigned max;

	if (strlen(text) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, buf, net->addr) == 1) {
		net->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, net->addr) == 1) {
		net->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	net->prefix = max;
	if (slash != NULL) {
		char *end;
		unsigned long n;

		errno = 0;
		n = strtoul(slash, &end, 10);
		if (errno || end == slash || *end || n > max)
			return -1;
		net->prefix = (unsigned)n;
	}
	/* mask the host bits so that matching is a plain compare */
	for (unsigned bit = net->prefix; bit < max; bit++)
		net->addr[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
	return 0;
}

/* hostlist_parse_ip - a textual client address (an IPv4-mapped IPv6
 * address becomes IPv4); 0 or -1 */
int
hostlist_parse_ip(const char *ip, unsigned char addr[16], int *family)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
						 0, 0, 0, 0, 0xff, 0xff};

	if (ip == NULL)
		return -1;
	if (inet_pton(AF_INET, ip, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, addr) != 1)
		return -1;
	*family = AF_INET6;
	if (memcmp(addr, mapped, 12) == 0) {
		memmove(addr, addr + 12, 4);
		*family = AF_INET;
	}
	return 0;
}

/* hostlist_net_contains - is addr (of family) inside n? */
bool
hostlist_net_contains(const struct config_net *n, int family,
		      const unsigned char addr[16])
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;

	if (n->family != family || memcmp(addr, n->addr, full) != 0)
		return false;
	return rest == 0 ||
	       ((addr[full] ^ n->addr[full]) & (0xff00u >> rest) & 0xff) == 0;
}

/* hostlist_entry_parse - one entry; 0, or -1 with why */
static int
hostlist_entry_parse(const char *text, struct hostlist_entry *e,
		     const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	size_t len;

	memset(e, 0, sizeof(*e));
	if (*text == '!') {
		e->negate = true;
		text++;
	}
	len = strlen(text);
	/* "[addr]" and "[addr]/len" are the same as without brackets */
	if (text[0] == '[' && len < sizeof(buf)) {
		const char *close = strchr(text, ']');

		if (close != NULL) {
			snprintf(buf, sizeof(buf), "%.*s%s",
				 (int)(close - text - 1), text + 1, close + 1);
			text = buf;
		}
	}
	if (hostlist_parse_net(text, &e->net) == 0) {
		e->is_net = true;
		return 0;
	}
	if (*text == '\0' || strlen(text) > 253) {
		*why = "expected an address, a network or a host name";
		return -1;
	}
	for (const char *p = text; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-_*", *p)) {
			*why = "expected an address, a network or a host name";
			return -1;
		}
	if ((e->name = strdup(text)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	for (char *p = e->name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

/* hostlist_load - a list from a dataset spec */
int
hostlist_load(const char *spec, struct hostlist **out, char *err,
	      size_t errlen)
{
	struct dataset *ds;
	struct hostlist *hl;

	*out = NULL;
	if (dataset_load(spec, &ds, err, errlen) != 0)
		return -1;
	if ((hl = calloc(1, sizeof(*hl))) == NULL ||
	    (ds->n > 0 &&
	     (hl->entries = calloc(ds->n, sizeof(*hl->entries))) == NULL)) {
		snprintf(err, errlen, "out of memory");
		free(hl);
		dataset_free(ds);
		return -1;
	}
	for (size_t i = 0; i < ds->n; i++) {
		const char *why = NULL;

		if (hostlist_entry_parse(ds->entries[i].key, &hl->entries[i],
					 &why) != 0) {
			if (ds->kind == DATASET_LIST)
				snprintf(err, errlen, "item %u (%s): %s",
					 ds->entries[i].line,
					 ds->entries[i].key, why);
			else
				snprintf(err, errlen, "%s:%u: %s: %s",
					 ds->where, ds->entries[i].line,
					 ds->entries[i].key, why);
			hl->n = i;
			hostlist_free(hl);
			dataset_free(ds);
			return -1;
		}
	}
	hl->n = ds->n;
	dataset_free(ds);
	*out = hl;
	return 0;
}

/* hostlist_free - free a list */
void
hostlist_free(struct hostlist *hl)
{
	if (hl == NULL)
		return;
	for (size_t i = 0; i < hl->n; i++)
		free(hl->entries[i].name);
	free(hl->entries);
	free(hl);
}

/*
 * hostlist_name_rank - how precisely entry name matches host: 3 the
 * name itself, 2 a ".domain" suffix (more labels rank by length), 1 a
 * '*' pattern, 0 no match; *len gets the entry's length to break ties
 */
static int
hostlist_name_rank(const char *name, const char *host, size_t *len)
{
	size_t nl = strlen(name), hl = strlen(host);

	*len = nl;
	if (strchr(name, '*') != NULL)
		return dataset_wildcard(name, host) ? 1 : 0;
	if (strcasecmp(name, host) == 0)
		return 3;
	if (name[0] == '.' && hl > nl &&
	    strcasecmp(host + hl - nl, name) == 0)
		return 2;
	return 0;
}

/* hostlist_match - is the client in the list? */
bool
hostlist_match(const struct hostlist *hl, const char *ip, const char *hostname)
{
	const struct hostlist_entry *best = NULL;
	unsigned char addr[16];
	int best_rank = 0, family;
	size_t best_len = 0;

	if (hl == NULL)
		return false;
	if (hostname != NULL && *hostname != '\0' && *hostname != '[') {
		for (size_t i = 0; i < hl->n; i++) {
			const struct hostlist_entry *e = &hl->entries[i];
			size_t len;
			int rank;

			if (e->is_net || (rank = hostlist_name_rank(
					      e->name, hostname, &len)) == 0)
				continue;
			/* more precise wins; at equal precision "!" wins */
			if (rank > best_rank ||
			    (rank == best_rank && len > best_len) ||
			    (rank == best_rank && len == best_len &&
			     e->negate)) {
				best = e;
				best_rank = rank;
				best_len = len;
			}
		}
		if (best != NULL)
			return !best->negate;
	}
	if (hostlist_parse_ip(ip, addr, &family) != 0)
		return false;
	for (size_t i = 0; i < hl->n; i++) {
		const struct hostlist_entry *e = &hl->entries[i];

		if (!e->is_net || !hostlist_net_contains(&e->net, family, addr))
			continue;
		if (best == NULL || e->net.prefix > best->net.prefix ||
		    (e->net.prefix == best->net.prefix && e->negate))
			best = e;
	}
	return best != NULL && !best->negate;
}
