/*
 * fuzz_authres.c - libFuzzer harness for lib/authres.c
 *
 * Input layout: one selector byte, then NUL-separated pieces. The first
 * piece is an authserv-id, the second an existing A-R header value for
 * ar_is_ours() (as a message would carry it). The rest fill a struct
 * auth_results for ar_format(): every string field of the SPF, DKIM and
 * DMARC outcomes, copied without a NUL when the piece fills the field,
 * as data from DNS or a message could. The selector picks which outcomes
 * are set and how many DKIM signatures there are. The output is checked
 * against authres.h's promises: no line over 998 octets, only printable
 * US-ASCII with "\n\t" folds, and a header that ar_is_ours() claims.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "fuzz_common.h"

#define FZ_MAX_DKIM 3

/* fz_spf - one SPF outcome from the input */
static void
fz_spf(struct fz_in *in, struct spf_outcome *o, bool checked)
{
	o->checked = checked;
	o->result = (enum ar_result)(fz_byte(in) % (RES_POLICY + 1));
	fz_field(in, o->identity, sizeof o->identity);
	fz_field(in, o->domain, sizeof o->domain);
	fz_field(in, o->reason, sizeof o->reason);
	fz_field(in, o->explanation, sizeof o->explanation);
}

/* fz_dkim - one DKIM outcome from the input */
static void
fz_dkim(struct fz_in *in, struct dkim_outcome *d)
{
	d->result = (enum ar_result)(fz_byte(in) % (RES_POLICY + 1));
	d->keybits = fz_byte(in) * 64u;
	fz_field(in, d->domain, sizeof d->domain);
	fz_field(in, d->identity, sizeof d->identity);
	fz_field(in, d->selector, sizeof d->selector);
	fz_field(in, d->algorithm, sizeof d->algorithm);
	fz_field(in, d->b, sizeof d->b);
	fz_field(in, d->reason, sizeof d->reason);
}

/* fz_dmarc - the DMARC outcome from the input */
static void
fz_dmarc(struct fz_in *in, struct dmarc_outcome *dm, bool checked)
{
	unsigned flags = fz_byte(in);

	dm->checked = checked;
	dm->result = (enum ar_result)(fz_byte(in) % (RES_POLICY + 1));
	dm->testing = flags & 1;
	dm->spf_aligned = flags & 2;
	dm->dkim_aligned = flags & 4;
	fz_field(in, dm->from_domain, sizeof dm->from_domain);
	fz_field(in, dm->policy_domain, sizeof dm->policy_domain);
	fz_field(in, dm->org_domain, sizeof dm->org_domain);
	fz_field(in, dm->policy, sizeof dm->policy);
	fz_field(in, dm->subpolicy, sizeof dm->subpolicy);
	fz_field(in, dm->disposition, sizeof dm->disposition);
	fz_field(in, dm->reason, sizeof dm->reason);
}

/* fz_check_header - the formatted value keeps the header grammar */
static void
fz_check_header(const char *h, const char *id)
{
	/* "Authentication-Results: " precedes the first line */
	size_t col = 24;

	for (const char *p = h; *p; p++) {
		if (*p == '\n') {
			if (p[1] != '\t' && p[1] != ' ')
				abort(); /* a line break that is not a fold */
			col = 0;
			continue;
		}
		if ((*p < ' ' || *p > '~') && *p != '\t')
			abort();
		if (++col > 998)
			abort();
	}
	if (!ar_is_ours(h, id))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	struct auth_results res;
	unsigned sel = fz_byte(&in);
	char *id = fz_str(&in);
	char *value = fz_str(&in);
	char *h;

	(void)ar_is_ours(value, id);
	(void)ar_is_ours(value, "mx.example.org");
	free(value);

	memset(&res, 0, sizeof res);
	res.trusted = sel & 1;
	fz_field(&in, res.auth_user, sizeof res.auth_user);
	fz_spf(&in, &res.spf_mailfrom, sel & 2);
	fz_spf(&in, &res.spf_helo, sel & 4);
	res.ndkim = (sel >> 3) % (FZ_MAX_DKIM + 1);
	if (res.ndkim > 0) {
		res.dkim = calloc(res.ndkim, sizeof *res.dkim);
		if (res.dkim == NULL)
			abort();
		for (size_t i = 0; i < res.ndkim; i++)
			fz_dkim(&in, &res.dkim[i]);
	}
	fz_dmarc(&in, &res.dmarc, sel & 0x40);

	h = ar_format(id, &res);
	if (h != NULL)
		fz_check_header(h, id);
	else if (errno != EINVAL)
		abort();
	free(h);
	/* our usual id, so that inputs with a bad id still reach the body */
	h = ar_format("mx.example.org", &res);
	if (h == NULL)
		abort();
	fz_check_header(h, "mx.example.org");
	free(h);
	auth_results_free(&res);
	free(id);
	return 0;
}
