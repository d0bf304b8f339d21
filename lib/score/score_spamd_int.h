/*
 * score_spamd_int.h - the spamd answer parser, for its fuzz harness only
 *
 * score_spamd.c uses spamd_parse() on every answer; it is declared here
 * (not in score.h) so that tests/fuzz/fuzz_spamd_reply.c can drive it
 * without a socket. Nothing else includes this header.
 */
#ifndef AUTHTAG_SCORE_SPAMD_INT_H
#define AUTHTAG_SCORE_SPAMD_INT_H

#include <stddef.h>

#include "score.h"

/*
 * spamd_parse - a SYMBOLS answer (NUL-terminated, len octets) into res:
 * the score (clamped) and the rule names that fit SpamAssassin's grammar;
 * 0, or -1 with res->problem saying why
 */
int spamd_parse(char *reply, size_t len, struct score_result *res);

#endif
