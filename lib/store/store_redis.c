/*
 * store_redis.c - the redis backend of the state store (being written)
 */
#include "build.h" /* first: feature macros */

#include <stdio.h>

#include "store.h"

static void *
st_open(const char *spec, char *err, size_t errlen)
{
	(void)spec;
	snprintf(err, errlen, "the redis backend is not built yet");
	return NULL;
}

const struct store_backend store_backend_redis = {.name = "redis", .open = st_open};
