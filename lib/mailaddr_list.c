/*
 * mailaddr_list.c - the addresses SpamAssassin sees in header values
 *
 * Owns the loose scan SpamAssassin 4.0.1 applies to From (and similar)
 * header values before matching welcome and block list globs: every
 * "local@domain" candidate, in angle brackets or bare, comments skipped.
 * It is deliberately not RFC 5322 parsing (mailaddr.c does that for
 * DMARC): a welcome list must match what SpamAssassin would match. Part
 * of the mailaddr module, where every address in authtag is parsed.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "mailaddr.h"

/* ma_skip_sa_comment - past a (possibly nested) comment; s at '(' */
static const char *
ma_skip_sa_comment(const char *s)
{
	int depth = 0;

	for (; *s; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '(')
			depth++;
		else if (*s == ')' && --depth == 0)
			return s + 1;
	}
	return s;
}

/* ma_keep_addr - store one candidate "local@domain" if it looks like one */
static size_t
ma_keep_addr(const char *buf, size_t len, char (*out)[RES_ADDRESS_MAX],
	     size_t n, size_t max, bool lower)
{
	const char *at;

	/* drop an obsolete source route "@a,@b:" */
	if (len > 0 && buf[0] == '@') {
		const char *colon = memchr(buf, ':', len);

		if (colon == NULL)
			return n;
		len -= (size_t)(colon + 1 - buf);
		buf = colon + 1;
	}
	at = len > 0 ? memrchr(buf, '@', len) : NULL;
	if (at == NULL || at == buf || at == buf + len - 1 ||
	    len >= RES_ADDRESS_MAX || n >= max)
		return n;
	memcpy(out[n], buf, len);
	out[n][len] = '\0';
	if (lower)
		for (char *q = out[n]; *q; q++)
			*q = (char)tolower((unsigned char)*q);
	return n + 1;
}

/* mailaddr_header_addrs - the addr-specs in header values */
size_t
mailaddr_header_addrs(const char *const *values, size_t nvalues,
		       char (*out)[RES_ADDRESS_MAX], size_t max, bool lower)
{
	size_t n = 0;

	for (size_t v = 0; v < nvalues; v++) {
		const char *s = values[v];
		char bare[RES_ADDRESS_MAX], angle[RES_ADDRESS_MAX];
		size_t nb = 0, na = 0;
		bool in_angle = false, have_angle = false;

		if (s == NULL)
			continue;
		/* one mailbox per top-level ',' (or ':'/';' of a group):
		 * the <angle-addr> if there is one, else the bare words */
		for (;; s++) {
			char c = *s;

			if (c == '(') {
				s = ma_skip_sa_comment(s) - 1;
				continue;
			}
			if (c == '"') {
				for (s++; *s && *s != '"'; s++)
					if (*s == '\\' && s[1] != '\0')
						s++;
				if (*s == '\0')
					s--;
				continue;
			}
			if (c == '<' && !in_angle) {
				in_angle = have_angle = true;
				na = 0;
				continue;
			}
			if (c == '>' && in_angle) {
				in_angle = false;
				continue;
			}
			if (c == '\0' || (!in_angle && strchr(",:;", c))) {
				if (c == ':' && !have_angle)
					nb = 0; /* a group's display name */
				else if (have_angle)
					n = ma_keep_addr(angle, na, out, n, max,
							 lower);
				else
					n = ma_keep_addr(bare, nb, out, n, max,
							 lower);
				nb = na = 0;
				have_angle = false;
				if (c == '\0')
					break;
				continue;
			}
			if (isspace((unsigned char)c))
				continue;
			if (in_angle && na < sizeof(angle) - 1)
				angle[na++] = c;
			else if (!in_angle && nb < sizeof(bare) - 1)
				bare[nb++] = c;
		}
	}
	return n;
}
