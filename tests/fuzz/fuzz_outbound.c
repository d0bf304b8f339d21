/*
 * fuzz_outbound.c - libFuzzer harness for lib/outbound's two parsers
 *
 * A held-mail row as the state store hands it back (quota_held_parse: a
 * store shared with other hosts is input we did not write), and a pair
 * of addresses as the engine hands them to welcome_pair_key (an
 * envelope recipient and a From address, both the sender's choice).
 * The input is split at its first newline: user before, address after.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "outbound/quota.h"
#include "outbound/welcome.h"
#include "strbuf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *nl;
	struct quota_held h;
	struct strbuf k = STRBUF_INIT;

	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (quota_held_parse(text, &h) == 0) {
		/* fields are strings in their arrays, with no tab inside */
		if (h.queue_id[0] == '\0' ||
		    strlen(h.queue_id) >= sizeof(h.queue_id) ||
		    strchr(h.sender, '\t') || strchr(h.rcpts, '\t') ||
		    strchr(h.queue_id, '\t'))
			abort();
	}
	nl = strchr(text, '\n');
	if (nl != NULL) {
		*nl = '\0';
		if (welcome_pair_key(&k, text, nl + 1) == 0) {
			const char *p = sb_str(&k);

			/* one '>' between the two, no blank, no control */
			if (strncmp(p, "welcome:", 8) != 0 ||
			    strchr(p, '>') != strrchr(p, '>') ||
			    strchr(p, '>') == NULL)
				abort();
			for (; *p != '\0'; p++)
				if ((unsigned char)*p <= ' ' || *p == 0x7f)
					abort();
		}
	}
	sb_free(&k);
	free(text);
	return 0;
}
