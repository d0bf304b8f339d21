/*
 * fuzz_mailaddr.c - libFuzzer harness for lib/mailaddr.c
 *
 * The input is up to four From field bodies separated by NUL octets (a
 * milter never hands us a NUL inside a header) for
 * mailaddr_from_domain(), and the whole input, NULs and all, as a domain
 * for mailaddr_domain_normalize(). Beyond the sanitizers it checks the
 * header's promises: an OK status names a domain that is already
 * normalised, any other status leaves the domain empty, and normalising
 * a normalised domain changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "mailaddr.h"

#define FZ_MAX_FIELDS 4

/* fz_check_normal - a normalised domain normalises to itself */
static void
fz_check_normal(const char *dom)
{
	char again[RES_DOMAIN_MAX];

	if (mailaddr_domain_normalize(dom, strlen(dom), again, sizeof again) !=
		0 ||
	    strcmp(again, dom) != 0)
		abort();
	for (const char *p = dom; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	char *vals[FZ_MAX_FIELDS];
	struct mailaddr_from from;
	char dom[RES_DOMAIN_MAX], small[12];
	size_t nvals = 0;

	while (nvals < FZ_MAX_FIELDS && (in.n > 0 || nvals == 0))
		vals[nvals++] = fz_str(&in);
	mailaddr_from_domain((const char *const *)vals, nvals, &from);
	if (mailaddr_status_name(from.status) == NULL)
		abort();
	if (from.status == MAILADDR_OK)
		fz_check_normal(from.domain);
	else if (from.domain[0] != '\0')
		abort();
	if (memchr(from.reason, '\0', sizeof from.reason) == NULL)
		abort();
	for (size_t i = 0; i < nvals; i++)
		free(vals[i]);

	if (mailaddr_domain_normalize((const char *)data, size, dom,
				      sizeof dom) == 0)
		fz_check_normal(dom);
	/* a short output buffer must fail cleanly, never overrun */
	(void)mailaddr_domain_normalize((const char *)data, size, small,
					sizeof small);
	return 0;
}
