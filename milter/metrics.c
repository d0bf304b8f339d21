/*
 * metrics.c - Prometheus metrics: the counters and the /metrics endpoint
 *
 * Owns struct milter_metrics (relaxed atomic counters that the milter
 * callbacks add to once per message: no lock on the message path) and
 * the small HTTP server of MetricsSocket (one thread, one request per
 * connection, GET /metrics only) that writes them in Prometheus' text
 * exposition format, version 0.0.4. DNS counters are read from the
 * current engine at scrape time (they start again after a reload, which
 * Prometheus' rate() takes as a counter reset).
 */
#include "build.h" /* first: feature macros */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "milter.h"
#include "result.h"

#define MM_RESULTS 8 /* enum ar_result values */
#define MM_BUCKETS 12
static const double mm_bounds[MM_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005,
					     0.01,   0.025, 0.05,   0.1,
					     0.25,   0.5,   1,      5};

enum mm_action { MM_TAGGED, MM_REJECTED, MM_QUARANTINED, MM_TEMPFAILED,
		 MM_UNTAGGED, MM_ACTIONS };
static const char *const mm_action_names[MM_ACTIONS] = {
    "tagged", "rejected", "quarantined", "tempfailed", "untagged"};

struct milter_metrics {
	atomic_ulong spf[MM_RESULTS], dkim[MM_RESULTS], dmarc[MM_RESULTS],
	    arc[MM_RESULTS];
	atomic_ulong actions[MM_ACTIONS];
	atomic_ulong signed_msgs, forged_removed, scored, spam, scorer_errors;
	atomic_ulong buckets[MM_BUCKETS + 1]; /* the last is +Inf */
	atomic_ulong latency_us;              /* sum, microseconds */
	atomic_ulong messages;
	struct milter_shared *shared;
	int listen_fd, stop_pipe[2];
	pthread_t thread;
	bool started;
};

/* mm_add - one more, relaxed: a counter needs no ordering */
static void
mm_add(atomic_ulong *c, unsigned long n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* milter_metrics_message - count one finished message */
void
milter_metrics_message(struct milter_metrics *mm,
		       const struct auth_results *res, const char *action,
		       bool signed_msg, unsigned forged, bool scored,
		       bool spam, bool scorer_error, double seconds)
{
	enum mm_action a = MM_TAGGED;

	if (mm == NULL)
		return;
	if (res != NULL) {
		if (res->spf_mailfrom.checked)
			mm_add(&mm->spf[res->spf_mailfrom.result % MM_RESULTS],
			       1);
		if (res->ndkim == 0 && !res->trusted && res->auth_user[0] == 0)
			mm_add(&mm->dkim[RES_NONE], 1);
		for (size_t i = 0; i < res->ndkim; i++)
			mm_add(&mm->dkim[res->dkim[i].result % MM_RESULTS], 1);
		if (res->arc.checked)
			mm_add(&mm->arc[res->arc.result % MM_RESULTS], 1);
		if (res->dmarc.checked)
			mm_add(&mm->dmarc[res->dmarc.result % MM_RESULTS], 1);
	}
	if (strncmp(action, "rejected", 8) == 0)
		a = MM_REJECTED;
	else if (strncmp(action, "quarantined", 11) == 0)
		a = MM_QUARANTINED;
	else if (strncmp(action, "tempfailed", 10) == 0)
		a = MM_TEMPFAILED;
	else if (strncmp(action, "untagged", 8) == 0)
		a = MM_UNTAGGED;
	mm_add(&mm->actions[a], 1);
	if (signed_msg)
		mm_add(&mm->signed_msgs, 1);
	mm_add(&mm->forged_removed, forged);
	if (scored)
		mm_add(&mm->scored, 1);
	if (spam)
		mm_add(&mm->spam, 1);
	if (scorer_error)
		mm_add(&mm->scorer_errors, 1);
	for (int i = 0; i <= MM_BUCKETS; i++)
		if (i == MM_BUCKETS || seconds <= mm_bounds[i]) {
			mm_add(&mm->buckets[i], 1);
			break;
		}
	mm_add(&mm->latency_us, (unsigned long)(seconds * 1e6));
	mm_add(&mm->messages, 1);
}

/* mm_get - a counter's value */
static unsigned long
mm_get(atomic_ulong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* mm_results - one family of per-result counters */
static void
mm_results(FILE *fp, const char *method, atomic_ulong *v)
{
	for (int r = 0; r < MM_RESULTS; r++)
		fprintf(fp, "authtag_results_total{method=\"%s\",result=\"%s\"} %lu\n",
			method, result_name((enum ar_result)r), mm_get(&v[r]));
}

/* mm_render - the whole exposition into a memory stream */
static char *
mm_render(struct milter_metrics *mm, size_t *len)
{
	char *buf = NULL;
	FILE *fp = open_memstream(&buf, len);
	unsigned long cum = 0, sent = 0, hits = 0, timeouts = 0;
	unsigned conns = 0;
	struct milter_engine *me;

	if (fp == NULL)
		return NULL;
	fputs("# HELP authtag_results_total Results of the checks: SPF (MAIL "
	      "FROM) and DMARC per message, DKIM per signature (none: "
	      "a message without one), ARC per chain.\n"
	      "# TYPE authtag_results_total counter\n",
	      fp);
	mm_results(fp, "spf", mm->spf);
	mm_results(fp, "dkim", mm->dkim);
	mm_results(fp, "arc", mm->arc);
	mm_results(fp, "dmarc", mm->dmarc);
	fputs("# HELP authtag_messages_total Messages finished, by what was "
	      "done with them.\n# TYPE authtag_messages_total counter\n",
	      fp);
	for (int a = 0; a < MM_ACTIONS; a++)
		fprintf(fp, "authtag_messages_total{action=\"%s\"} %lu\n",
			mm_action_names[a], mm_get(&mm->actions[a]));
	fprintf(fp,
		"# HELP authtag_signed_total Messages we DKIM-signed.\n"
		"# TYPE authtag_signed_total counter\n"
		"authtag_signed_total %lu\n"
		"# HELP authtag_forged_headers_removed_total "
		"Authentication-Results and X-Spam-* fields removed.\n"
		"# TYPE authtag_forged_headers_removed_total counter\n"
		"authtag_forged_headers_removed_total %lu\n"
		"# HELP authtag_scored_total Messages the scoring stage scored.\n"
		"# TYPE authtag_scored_total counter\n"
		"authtag_scored_total %lu\n"
		"# HELP authtag_spam_total Messages scored as spam.\n"
		"# TYPE authtag_spam_total counter\n"
		"authtag_spam_total %lu\n"
		"# HELP authtag_scorer_errors_total Messages a scorer gave no "
		"score for (down, slow, refused).\n"
		"# TYPE authtag_scorer_errors_total counter\n"
		"authtag_scorer_errors_total %lu\n",
		mm_get(&mm->signed_msgs), mm_get(&mm->forged_removed),
		mm_get(&mm->scored), mm_get(&mm->spam),
		mm_get(&mm->scorer_errors));
	fputs("# HELP authtag_message_seconds Time from the end of a message "
	      "to our answer (the checks, scoring, signing).\n"
	      "# TYPE authtag_message_seconds histogram\n",
	      fp);
	for (int i = 0; i <= MM_BUCKETS; i++) {
		cum += mm_get(&mm->buckets[i]);
		if (i < MM_BUCKETS)
			fprintf(fp,
				"authtag_message_seconds_bucket{le=\"%g\"} %lu\n",
				mm_bounds[i], cum);
		else
			fprintf(fp,
				"authtag_message_seconds_bucket{le=\"+Inf\"} "
				"%lu\n",
				cum);
	}
	fprintf(fp,
		"authtag_message_seconds_sum %.6f\n"
		"authtag_message_seconds_count %lu\n",
		(double)mm_get(&mm->latency_us) / 1e6, cum);
	pthread_mutex_lock(&mm->shared->lock);
	conns = mm->shared->nconns;
	me = mm->shared->current;
	if (me != NULL) { /* held as a connection holds it, for a moment */
		me->refs++;
		mm->shared->nconns++;
	}
	pthread_mutex_unlock(&mm->shared->lock);
	if (me != NULL) {
		engine_dns_stats(me->eng, &sent, &hits, &timeouts);
		milter_shared_release(mm->shared, me);
	}
	fprintf(fp,
		"# HELP authtag_connections_open Milter connections open.\n"
		"# TYPE authtag_connections_open gauge\n"
		"authtag_connections_open %u\n"
		"# HELP authtag_dns_queries_total DNS queries sent (since the "
		"configuration was loaded).\n"
		"# TYPE authtag_dns_queries_total counter\n"
		"authtag_dns_queries_total %lu\n"
		"# HELP authtag_dns_store_hits_total DNS answers taken from the "
		"answer store (since the configuration was loaded).\n"
		"# TYPE authtag_dns_store_hits_total counter\n"
		"authtag_dns_store_hits_total %lu\n"
		"# HELP authtag_dns_timeouts_total DNS queries without an "
		"answer in time (since the configuration was loaded).\n"
		"# TYPE authtag_dns_timeouts_total counter\n"
		"authtag_dns_timeouts_total %lu\n",
		conns, sent, hits, timeouts);
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* mm_serve - one connection: read the request line, answer, close */
static void
mm_serve(struct milter_metrics *mm, int fd)
{
	char req[2048], head[256];
	size_t got = 0;
	char *body = NULL;
	size_t blen = 0;
	const char *status = "404 Not Found", *ctype = "text/plain";

	/* the request line within 2 s, or nothing */
	while (got < sizeof(req) - 1 && memchr(req, '\n', got) == NULL) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t n;

		if (poll(&p, 1, 2000) <= 0)
			return;
		if ((n = read(fd, req + got, sizeof(req) - 1 - got)) <= 0)
			return;
		got += (size_t)n;
	}
	req[got] = '\0';
	if (strncmp(req, "GET /metrics ", 13) == 0 ||
	    strncmp(req, "GET /metrics?", 13) == 0) {
		body = mm_render(mm, &blen);
		status = body != NULL ? "200 OK" : "500 Internal Server Error";
		ctype = "text/plain; version=0.0.4; charset=utf-8";
	}
	snprintf(head, sizeof(head),
		 "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n",
		 status, ctype, body != NULL ? blen : 0);
	if (write(fd, head, strlen(head)) > 0 && body != NULL) {
		size_t off = 0;

		while (off < blen) {
			ssize_t n = write(fd, body + off, blen - off);

			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	free(body);
}

/* mm_thread - accept until told to stop */
static void *
mm_thread(void *arg)
{
	struct milter_metrics *mm = arg;

	for (;;) {
		struct pollfd p[2] = {{mm->listen_fd, POLLIN, 0},
				      {mm->stop_pipe[0], POLLIN, 0}};
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents != 0)
			break;
		if ((fd = accept4(mm->listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		mm_serve(mm, fd);
		close(fd);
	}
	return NULL;
}

/* mm_listen - bind inet:PORT@ADDR or inet6:PORT@ADDR; fd or -1 */
static int
mm_listen(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	const char *at = strchr(spec, '@');
	bool v6 = strncmp(spec, "inet6:", 6) == 0;
	char addr[64];
	long port;
	char *end;
	int fd, one = 1;

	if ((!v6 && strncmp(spec, "inet:", 5) != 0) || at == NULL) {
		snprintf(err, errlen,
			 "MetricsSocket %s: not inet:PORT@ADDRESS or "
			 "inet6:PORT@ADDRESS",
			 spec);
		return -1;
	}
	port = strtol(spec + (v6 ? 6 : 5), &end, 10);
	snprintf(addr, sizeof(addr), "%s", at + 1);
	if (end != at || port < 1 || port > 65535) {
		snprintf(err, errlen, "MetricsSocket %s: bad port", spec);
		return -1;
	}
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			goto bad;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			goto bad;
		sl = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 16) != 0) {
		snprintf(err, errlen, "MetricsSocket %s: %s", spec,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
bad:
	snprintf(err, errlen, "MetricsSocket %s: not a numeric address",
		 spec);
	return -1;
}

/* milter_metrics_new - the counters, and the endpoint when spec is set */
struct milter_metrics *
milter_metrics_new(struct milter_shared *sh, const char *spec, char *err,
		   size_t errlen)
{
	struct milter_metrics *mm = calloc(1, sizeof(*mm));

	if (mm == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mm->shared = sh;
	mm->listen_fd = mm->stop_pipe[0] = mm->stop_pipe[1] = -1;
	if (spec == NULL)
		return mm;
	if ((mm->listen_fd = mm_listen(spec, err, errlen)) < 0 ||
	    pipe2(mm->stop_pipe, O_CLOEXEC) != 0 ||
	    pthread_create(&mm->thread, NULL, mm_thread, mm) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "MetricsSocket %s: %s", spec,
				 strerror(errno));
		milter_metrics_free(mm);
		return NULL;
	}
	mm->started = true;
	return mm;
}

/* milter_metrics_free - stop the endpoint and free */
void
milter_metrics_free(struct milter_metrics *mm)
{
	if (mm == NULL)
		return;
	if (mm->started) {
		(void)!write(mm->stop_pipe[1], "x", 1);
		pthread_join(mm->thread, NULL);
	}
	if (mm->listen_fd >= 0)
		close(mm->listen_fd);
	if (mm->stop_pipe[0] >= 0) {
		close(mm->stop_pipe[0]);
		close(mm->stop_pipe[1]);
	}
	free(mm);
}
