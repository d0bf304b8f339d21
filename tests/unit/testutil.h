/*
 * testutil.h - small helpers shared by the unit tests
 *
 * Temporary files for hermetic DNS (unbound.conf with local-data) and a
 * config whose resolver answers only from that data: the forwarder is a
 * loopback port where nothing listens, so no query ever leaves the host.
 */
#ifndef AUTHTAG_TESTUTIL_H
#define AUTHTAG_TESTUTIL_H

#include <stddef.h>

struct config;

/* testutil_write_temp - write text to a new temporary file; its path */
char *testutil_write_temp(const char *text);

/* testutil_hermetic_config - defaults + ResolverConfig = unbound_conf */
struct config *testutil_hermetic_config(const char *unbound_conf);

/* testutil_srcdir - $top_srcdir, or "." */
const char *testutil_srcdir(void);

/* testutil_silent_udp_port - bind a UDP socket on 127.0.0.1 that never
 * answers; returns the port and the fd in *fd */
int testutil_silent_udp_port(int *fd);

#endif
