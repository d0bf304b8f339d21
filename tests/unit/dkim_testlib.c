/*
 * dkim_testlib.c - hermetic DNS and a message feeder for the DKIM tests
 *
 * The DNS data becomes an unbound configuration that libunbound loads
 * with no server: TXT records in static zones, always_nxdomain and refuse
 * zones, and forward-zones for the failures: to a loopback UDP socket we
 * hold open and never read (queries time out), and to 127.0.0.2, which
 * the configuration forbids unbound to ask (it answers SERVFAIL at once,
 * as it does when no upstream server can be used). Every other name is
 * forwarded there too, so nothing ever leaves the machine.
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
#include "auth/dkim.h"
#include "dkim_testlib.h"
#include "dns/dns.h"

/* a loopback address unbound is told never to ask: instant SERVFAIL */
#define DKIM_TEST_DEAD "127.0.0.2"

/* dkim_test_srcdir - $top_srcdir or "." */
const char *
dkim_test_srcdir(void)
{
	const char *d = getenv("top_srcdir");

	return d != NULL && d[0] != '\0' ? d : ".";
}

/* dkim_test_read_file - read a whole file (NUL-added); NULL on error */
char *
dkim_test_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (fp == NULL)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			char *p = realloc(buf, cap = n + 65536);

			if (p == NULL) {
				free(buf);
				fclose(fp);
				return NULL;
			}
			buf = p;
		}
		r = fread(buf + n, 1, cap - n - 1, fp);
		n += r;
	} while (r > 0);
	fclose(fp);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

/* dkim_test_udp_port - bind a loopback UDP socket; its fd and port */
static int
dkim_test_udp_port(unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &slen) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* dkim_test_write_txt - one TXT local-data line, split in <= 250 strings */
static void
dkim_test_write_txt(FILE *fp, const char *name, const char *txt)
{
	size_t len = strlen(txt), pos = 0;

	fprintf(fp, "    local-data: '%s. 300 IN TXT", name);
	do {
		size_t n = len - pos > 250 ? 250 : len - pos;

		fputs(" \"", fp);
		for (size_t i = pos; i < pos + n; i++) {
			if (txt[i] == '"' || txt[i] == '\\')
				fputc('\\', fp);
			fputc(txt[i], fp);
		}
		fputc('"', fp);
		pos += n;
	} while (pos < len);
	fputs("'\n", fp);
}

/* dkim_test_write_conf - the unbound configuration for the records */
static int
dkim_test_write_conf(const char *path, const char *const *zones,
		     const struct dkim_test_record *recs, size_t nrecs,
		     unsigned silent_port)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		return -1;
	fputs("server:\n"
	      "    do-not-query-localhost: no\n"
	      "    do-ip6: no\n"
	      "    module-config: \"iterator\"\n"
	      "    do-not-query-address: " DKIM_TEST_DEAD "/32\n",
	      fp);
	for (size_t i = 0; zones != NULL && zones[i] != NULL; i++)
		fprintf(fp, "    local-zone: \"%s.\" static\n", zones[i]);
	for (size_t i = 0; i < nrecs; i++) {
		switch (recs[i].kind) {
		case DKIM_TEST_TXT:
			dkim_test_write_txt(fp, recs[i].name, recs[i].txt);
			break;
		case DKIM_TEST_NXDOMAIN:
			fprintf(fp, "    local-zone: \"%s.\" always_nxdomain\n",
				recs[i].name);
			break;
		case DKIM_TEST_REFUSED:
			fprintf(fp, "    local-zone: \"%s.\" refuse\n",
				recs[i].name);
			break;
		case DKIM_TEST_TIMEOUT:
		case DKIM_TEST_SERVFAIL:
			/* lift any static parent so the forward applies */
			fprintf(fp, "    local-zone: \"%s.\" transparent\n",
				recs[i].name);
			break;
		}
	}
	for (size_t i = 0; i < nrecs; i++) {
		if (recs[i].kind != DKIM_TEST_TIMEOUT &&
		    recs[i].kind != DKIM_TEST_SERVFAIL)
			continue;
		if (recs[i].kind == DKIM_TEST_TIMEOUT)
			fprintf(fp,
				"forward-zone:\n    name: \"%s.\"\n"
				"    forward-addr: 127.0.0.1@%u\n",
				recs[i].name, silent_port);
		else
			fprintf(fp,
				"forward-zone:\n    name: \"%s.\"\n"
				"    forward-addr: " DKIM_TEST_DEAD "@53\n",
				recs[i].name);
	}
	return fclose(fp) == 0 ? 0 : -1;
}

/* dkim_test_dns_start - hermetic DNS for the records, and a resolver */
int
dkim_test_dns_start(struct dkim_test_dns *env, const char *const *zones,
		    const struct dkim_test_record *recs, size_t nrecs)
{
	char err[256];
	unsigned silent_port = 0;

	memset(env, 0, sizeof(*env));
	env->silent_fd = -1;
	snprintf(env->dir, sizeof(env->dir), "/tmp/authtag-dkim-XXXXXX");
	if (mkdtemp(env->dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(env->conf, sizeof(env->conf), "%s/unbound.conf", env->dir);
	if ((env->silent_fd = dkim_test_udp_port(&silent_port)) < 0) {
		perror("socket");
		return -1;
	}
	if (dkim_test_write_conf(env->conf, zones, recs, nrecs, silent_port) !=
	    0) {
		perror(env->conf);
		return -1;
	}
	if ((env->cfg = config_new_defaults()) == NULL ||
	    (env->cfg->resolver_config = strdup(env->conf)) == NULL ||
	    (env->cfg->forwarders = calloc(1, sizeof(char *))) == NULL ||
	    (env->cfg->forwarders[0] = strdup(DKIM_TEST_DEAD "@53")) == NULL) {
		fprintf(stderr, "out of memory\n");
		return -1;
	}
	env->cfg->nforwarders = 1;
	env->cfg->resolver = RESOLVER_FORWARD;
	env->res = dns_resolver_new(env->cfg, err, sizeof(err));
	if (env->res == NULL) {
		fprintf(stderr, "dns_resolver_new: %s\n", err);
		return -1;
	}
	return 0;
}

/* dkim_test_dns_stop - free the resolver, config and temporary files */
void
dkim_test_dns_stop(struct dkim_test_dns *env)
{
	if (env->dir[0] == '\0')
		return; /* never started */
	dns_resolver_free(env->res);
	env->res = NULL;
	config_free(env->cfg);
	env->cfg = NULL;
	if (env->silent_fd >= 0)
		close(env->silent_fd);
	env->silent_fd = -1;
	if (env->conf[0] != '\0')
		unlink(env->conf);
	if (env->dir[0] != '\0')
		rmdir(env->dir);
}

/* dkim_test_line_end - index just past the line starting at pos */
static size_t
dkim_test_line_end(const char *text, size_t len, size_t pos)
{
	while (pos < len && text[pos] != '\n')
		pos++;
	return pos < len ? pos + 1 : pos;
}

/* dkim_test_verify - feed a message through lib/dkim */
void
dkim_test_verify(struct dkim_verifier *ver, struct dns_resolver *res,
		 const char *text, size_t len, size_t chunk,
		 struct dkim_outcome **sigs, size_t *nsigs)
{
	struct dns_cache *cache = dns_cache_new(res);
	struct dkim_msg *msg = dkim_msg_new(ver, cache);
	size_t pos = 0;

	while (pos < len && text[pos] != '\n' &&
	       !(text[pos] == '\r' && pos + 1 < len && text[pos + 1] == '\n')) {
		size_t start = pos, end = dkim_test_line_end(text, len, pos);
		const char *colon;
		char *name, *value;

		/* a field runs on over continuation lines */
		while (end < len && (text[end] == ' ' || text[end] == '\t'))
			end = dkim_test_line_end(text, len, end);
		pos = end;
		colon = memchr(text + start, ':', end - start);
		if (colon == NULL)
			continue;
		while (end > start &&
		       (text[end - 1] == '\n' || text[end - 1] == '\r'))
			end--;
		name = strndup(text + start, (size_t)(colon - text - start));
		value = strndup(colon + 1, (size_t)(text + end - colon - 1));
		if (name != NULL && value != NULL)
			dkim_msg_header(msg, name, value);
		free(name);
		free(value);
	}
	pos = dkim_test_line_end(text, len, pos);
	dkim_msg_eoh(msg);
	while (pos < len) {
		size_t n = chunk == 0 || len - pos < chunk ? len - pos : chunk;

		dkim_msg_body(msg, (const unsigned char *)text + pos, n);
		pos += n;
	}
	dkim_msg_eom(msg, sigs, nsigs);
	dkim_msg_free(msg);
	dns_cache_free(cache);
}
