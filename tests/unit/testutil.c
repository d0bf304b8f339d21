/*
 * testutil.c - small helpers shared by the unit tests (see testutil.h)
 */
#include "build.h" /* first: feature macros */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

/* testutil_write_temp - write text to a new temporary file */
char *
testutil_write_temp(const char *text)
{
	char *path = strdup("/tmp/authtag-test-XXXXXX");
	int fd;

	if (path == NULL || (fd = mkstemp(path)) < 0) {
		free(path);
		return NULL;
	}
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		unlink(path);
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

/* testutil_hermetic_config - defaults answering only from local data */
struct config *
testutil_hermetic_config(const char *unbound_conf)
{
	struct config *cfg = config_new_defaults();

	if (cfg == NULL)
		return NULL;
	cfg->resolver_config = strdup(unbound_conf);
	cfg->resolver = RESOLVER_FORWARD;
	cfg->forwarders = calloc(1, sizeof(char *));
	cfg->forwarders[0] = strdup("127.0.0.1@9");
	cfg->nforwarders = 1;
	return cfg;
}

/* testutil_srcdir - $top_srcdir, or "." */
const char *
testutil_srcdir(void)
{
	const char *dir = getenv("top_srcdir");

	return dir != NULL && *dir ? dir : ".";
}

/* testutil_silent_udp_port - a UDP port on 127.0.0.1 that never answers */
int
testutil_silent_udp_port(int *fd)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((*fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		return -1;
	if (bind(*fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(*fd, (struct sockaddr *)&sin, &len) != 0) {
		close(*fd);
		return -1;
	}
	return ntohs(sin.sin_port);
}
