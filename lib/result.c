/*
 * result.c - names of RFC 8601 results and the outcome container's free
 */
#include "build.h" /* first: feature macros */

#include <stdlib.h>

#include "result.h"

/* result_name - the RFC 8601 keyword for a result */
const char *
result_name(enum ar_result res)
{
	switch (res) {
	case RES_NONE:
		return "none";
	case RES_PASS:
		return "pass";
	case RES_FAIL:
		return "fail";
	case RES_SOFTFAIL:
		return "softfail";
	case RES_NEUTRAL:
		return "neutral";
	case RES_TEMPERROR:
		return "temperror";
	case RES_PERMERROR:
		return "permerror";
	case RES_POLICY:
		return "policy";
	}
	return "none";
}

/* auth_results_free - free what an auth_results holds */
void
auth_results_free(struct auth_results *res)
{
	free(res->dkim);
	res->dkim = NULL;
	res->ndkim = 0;
}
