/*
 * fuzz_dmarc_psl.c - libFuzzer harness for dmarc_psl_org_domain()
 *
 * A small Public Suffix List (normal, wildcard and exception rules, an
 * IDN rule in U-label form and one in A-label form) is written to a
 * temporary file and loaded once with dmarc_psl_load(); each input is a
 * domain (up to the first NUL, as a From domain or DNS name reaches
 * dmarc.c) whose Organizational Domain is asked for. The answer must be
 * a label-aligned tail of the name, lower-cased, and its own
 * Organizational Domain.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth/dmarc_psl.h"
#include "fuzz_common.h"
#include "result.h"

static const char fz_psl_text[] =
    "// a few rules of each kind, after public_suffix_list.dat\n"
    "com\nnet\norg\nuk\nco.uk\nac.uk\njp\n*.kawasaki.jp\n"
    "!city.kawasaki.jp\nck\n*.ck\n!www.ck\ncn\n\xe5\x85\xac\xe5\x8f\xb8.cn\n"
    "xn--fiqs8s\n\xe4\xb8\xad\xe5\x9b\xbd\n"
    "// ===BEGIN PRIVATE DOMAINS===\n"
    "blogspot.com\ns3.amazonaws.com\n*.compute.amazonaws.com\n";

/* the list, loaded once; libFuzzer runs one input at a time */
static struct dmarc_psl *fz_psl;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/fuzz_psl.XXXXXX", err[256];
	int fd = mkstemp(path);

	(void)argc, (void)argv;
	if (fd < 0 || write(fd, fz_psl_text, sizeof fz_psl_text - 1) !=
			  (ssize_t)(sizeof fz_psl_text - 1))
		abort();
	close(fd);
	fz_psl = dmarc_psl_load(path, err, sizeof err);
	unlink(path);
	if (fz_psl == NULL) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	return 0;
}

/* fz_check_tail - is org the last labels of dom (any case, final dot)? */
static void
fz_check_tail(const char *dom, const char *org)
{
	size_t d = strlen(dom), o = strlen(org);

	if (d > 0 && dom[d - 1] == '.')
		d--;
	if (o == 0 || o > d || strncasecmp(dom + d - o, org, o) != 0 ||
	    (o < d && dom[d - o - 1] != '.'))
		abort();
	for (size_t i = 0; i < o; i++)
		if (org[i] >= 'A' && org[i] <= 'Z')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	char *dom = fz_str(&in);
	char org[RES_DOMAIN_MAX], again[RES_DOMAIN_MAX], tiny[8];

	if (dmarc_psl_org_domain(fz_psl, dom, org, sizeof org) == 0) {
		fz_check_tail(dom, org);
		if (dmarc_psl_org_domain(fz_psl, org, again, sizeof again) !=
			0 ||
		    strcmp(org, again) != 0)
			abort();
	}
	(void)dmarc_psl_org_domain(fz_psl, dom, tiny, sizeof tiny);
	free(dom);
	return 0;
}
