/*
 * dkim_sign_tool.c - sign one message file with lib/auth/dkim_sign.c, for
 * the interoperability test (tests/interop/dkim_sign.sh): what we sign,
 * other implementations must verify
 *
 * usage: dkim_sign_tool KEYFILE DOMAIN SELECTOR simple|relaxed
 *        simple|relaxed [IDENTITY] < message > signed message
 * The message's line ends (LF or CRLF) are kept; the new field comes
 * first, folded the same way.
 */
#include "build.h" /* first: feature macros */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim_sign.h"

/* canon - a canonicalization name */
static enum dkim_canon
canon(const char *s)
{
	return strcmp(s, "relaxed") == 0 ? DKIM_CANON_RELAXED
					 : DKIM_CANON_SIMPLE;
}

int
main(int argc, char **argv)
{
	static char buf[4 << 20];
	size_t len = 0, n;
	char err[256], *p, *body, *value;
	struct dkim_signkey *key;
	struct dkim_signer *sg;
	struct dkim_signopts o = {0};
	bool crlf;

	if (argc < 6) {
		fprintf(stderr, "usage: dkim_sign_tool KEY DOMAIN SELECTOR "
				"HCANON BCANON [IDENTITY] < msg\n");
		return 2;
	}
	while ((n = fread(buf + len, 1, sizeof(buf) - 1 - len, stdin)) > 0)
		len += n;
	buf[len] = '\0';
	if ((key = dkim_signkey_load(argv[1], NULL, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	o.domain = argv[2];
	o.selector = argv[3];
	o.hcanon = canon(argv[4]);
	o.bcanon = canon(argv[5]);
	o.identity = argc > 6 ? argv[6] : NULL;
	crlf = strstr(buf, "\r\n") != NULL;
	if ((sg = dkim_signer_new(key, &o)) == NULL)
		return 1;
	/* header fields up to the empty line; folds stay in the value */
	for (p = buf; *p != '\0' && *p != '\n' && *p != '\r';) {
		char *end = strchr(p, '\n'), *colon = strchr(p, ':');

		while (end != NULL && (end[1] == ' ' || end[1] == '\t'))
			end = strchr(end + 1, '\n');
		if (end == NULL || colon == NULL || colon > end)
			break;
		*colon = '\0';
		*end = '\0';
		dkim_signer_header(sg, p, colon + 1);
		*colon = ':';
		*end = '\n';
		p = end + 1;
	}
	body = p + (*p == '\r') + 1;
	if (body <= buf + len)
		dkim_signer_body(sg, (unsigned char *)body,
				 len - (size_t)(body - buf));
	if ((value = dkim_signer_finish(sg, crlf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("DKIM-Signature:%s%s%s", value, crlf ? "\r\n" : "\n", buf);
	free(value);
	dkim_signer_free(sg);
	dkim_signkey_free(key);
	return 0;
}
