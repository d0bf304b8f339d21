/*
 * dns.c - one libunbound resolver for every check, and a per-message cache
 *
 * Owns the process's struct ub_ctx and the driver thread that feeds its
 * asynchronous answers (ub_process) back to the threads waiting for them,
 * and replaces both with fresh ones when timed-out queries pile up (see
 * struct dns_ub).
 * A caller thread starts a query with ub_resolve_async() and waits on its
 * own condition variable for at most ResolverTimeout; on timeout the query
 * is cancelled and the lookup is DNS_TEMPFAIL. libunbound's own timeouts
 * are far longer than a mail filter may wait, which is why we do not use
 * the blocking ub_resolve().
 *
 * A struct dns_cache remembers every answer of one message so that SPF,
 * DKIM and DMARC never ask the same name/type twice for it. Behind it,
 * dns_store.c keeps answers between messages for their TTL, so a warm
 * lookup never leaves the calling thread. Answers are refcounted: the
 * cache drops its references when it is freed.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <unbound.h>

#include "config.h"
#include "dns.h"
#include "trace.h"
#include "dns_store.h"

#define DNS_CNAME_HOPS    8     /* CNAMEs followed by hand, at most */
#define DNS_STORE_ANSWERS 65536 /* answers kept between messages */
#define DNS_FDS_HEADROOM  8     /* descriptors libunbound's start needs */
#define DNS_WARM_MS       300   /* the warm-up query waits this long */
#define DNS_ROTATE_TIMEOUTS 512 /* timed-out queries before a fresh context */

/*
 * One libunbound context and the thread that drives it. libunbound keeps
 * the state of a query that never got an answer, cancelled or not, until
 * its context is deleted (about 11 KB each, measured with libunbound 1.17
 * alone); with unreachable name servers that is memory without bound. So
 * after rotate_after timed-out queries the resolver starts a fresh context
 * and the old one is deleted when the last query using it has left. A
 * query holds a reference while it uses the context; the resolver holds
 * one while the context is current.
 */
struct dns_ub {
	struct ub_ctx *ctx;
	pthread_t driver;
	bool driver_started;
	int stop_pipe[2];    /* written to stop the driver thread */
	atomic_uint refs;
	atomic_uint timeouts; /* queries of this context that timed out */
};

struct dns_resolver {
	const struct config *cfg; /* outlives the resolver (the engine's) */
	pthread_mutex_t lock;     /* cur, rotating */
	struct dns_ub *cur;
	bool rotating; /* a thread is building the next context */
	unsigned timeout_ms;
	unsigned rotate_after;   /* timeouts before a fresh context */
	struct dns_store *store; /* answers kept between messages */
	atomic_uint sent;        /* queries handed to libunbound */
	atomic_uint rotations;   /* fresh contexts started */
	atomic_ulong store_hits; /* answered from the answer store */
	atomic_ulong timed_out;  /* queries that timed out (all contexts) */
};

/* ub_ctx_config() is not thread-safe, even on different contexts */
static pthread_mutex_t dns_config_lock = PTHREAD_MUTEX_INITIALIZER;

/* one asynchronous query, shared by the waiting thread and the callback */
struct dns_pending {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;      /* the callback has run */
	bool abandoned; /* the waiter timed out and left; callback frees */
	int err;
	struct ub_result *result;
};

struct dns_entry {
	struct dns_entry *next;
	struct dns_blob *blob; /* one reference */
};

struct dns_cache {
	struct dns_resolver *res;
	struct dns_entry *entries;
	unsigned queries;
	bool has_deadline;
	struct timespec deadline; /* CLOCK_MONOTONIC; no query after it */
	struct trace *trace; /* explain mode, or NULL */
};

static const struct dns_answer dns_tempfail_answer = {.status = DNS_TEMPFAIL};

/* dns_status_name - short name of a lookup status, for logs and tests */
const char *
dns_status_name(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return "ok";
	case DNS_NODATA:
		return "nodata";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_TEMPFAIL:
		return "tempfail";
	case DNS_BADNAME:
		return "badname";
	}
	return "tempfail";
}

/* dns_name_valid - may this name be put in a query? */
bool
dns_name_valid(const char *name)
{
	size_t len = strlen(name);
	size_t label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		/* a label is octets; only what the wire and text forms
		 * cannot carry unambiguously is refused */
		if (c < ' ' || c == 0x7f || c == '\\')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

/* dns_driver - thread that hands finished queries to their callbacks */
static void *
dns_driver(void *arg)
{
	struct dns_ub *ub = arg;
	struct pollfd fds[2];

	fds[0].fd = ub_fd(ub->ctx);
	fds[0].events = POLLIN;
	fds[1].fd = ub->stop_pipe[0];
	fds[1].events = POLLIN;
	for (;;) {
		int n = poll(fds, 2, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents)
			break;
		if (fds[0].revents & POLLIN)
			(void)ub_process(ub->ctx);
		else if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			break;
	}
	return NULL;
}

/* libunbound's built-in local zones (unbound.conf(5), "local-zone"
 * defaults) other than localhost's */
static const char *const dns_special_zones[] = {
    "test.", "invalid.", "onion.", "home.arpa.", "resolver.arpa.",
    "service.arpa.", "local.", "0.in-addr.arpa.", "10.in-addr.arpa.",
    "64.100.in-addr.arpa.", "65.100.in-addr.arpa.", "66.100.in-addr.arpa.",
    "67.100.in-addr.arpa.", "68.100.in-addr.arpa.", "69.100.in-addr.arpa.",
    "70.100.in-addr.arpa.", "71.100.in-addr.arpa.", "72.100.in-addr.arpa.",
    "73.100.in-addr.arpa.", "74.100.in-addr.arpa.", "75.100.in-addr.arpa.",
    "76.100.in-addr.arpa.", "77.100.in-addr.arpa.", "78.100.in-addr.arpa.",
    "79.100.in-addr.arpa.", "80.100.in-addr.arpa.", "81.100.in-addr.arpa.",
    "82.100.in-addr.arpa.", "83.100.in-addr.arpa.", "84.100.in-addr.arpa.",
    "85.100.in-addr.arpa.", "86.100.in-addr.arpa.", "87.100.in-addr.arpa.",
    "88.100.in-addr.arpa.", "89.100.in-addr.arpa.", "90.100.in-addr.arpa.",
    "91.100.in-addr.arpa.", "92.100.in-addr.arpa.", "93.100.in-addr.arpa.",
    "94.100.in-addr.arpa.", "95.100.in-addr.arpa.", "96.100.in-addr.arpa.",
    "97.100.in-addr.arpa.", "98.100.in-addr.arpa.", "99.100.in-addr.arpa.",
    "100.100.in-addr.arpa.", "101.100.in-addr.arpa.",
    "102.100.in-addr.arpa.", "103.100.in-addr.arpa.",
    "104.100.in-addr.arpa.", "105.100.in-addr.arpa.",
    "106.100.in-addr.arpa.", "107.100.in-addr.arpa.",
    "108.100.in-addr.arpa.", "109.100.in-addr.arpa.",
    "110.100.in-addr.arpa.", "111.100.in-addr.arpa.",
    "112.100.in-addr.arpa.", "113.100.in-addr.arpa.",
    "114.100.in-addr.arpa.", "115.100.in-addr.arpa.",
    "116.100.in-addr.arpa.", "117.100.in-addr.arpa.",
    "118.100.in-addr.arpa.", "119.100.in-addr.arpa.",
    "120.100.in-addr.arpa.", "121.100.in-addr.arpa.",
    "122.100.in-addr.arpa.", "123.100.in-addr.arpa.",
    "124.100.in-addr.arpa.", "125.100.in-addr.arpa.",
    "126.100.in-addr.arpa.", "127.100.in-addr.arpa.",
    "254.169.in-addr.arpa.", "16.172.in-addr.arpa.", "17.172.in-addr.arpa.",
    "18.172.in-addr.arpa.", "19.172.in-addr.arpa.", "20.172.in-addr.arpa.",
    "21.172.in-addr.arpa.", "22.172.in-addr.arpa.", "23.172.in-addr.arpa.",
    "24.172.in-addr.arpa.", "25.172.in-addr.arpa.", "26.172.in-addr.arpa.",
    "27.172.in-addr.arpa.", "28.172.in-addr.arpa.", "29.172.in-addr.arpa.",
    "30.172.in-addr.arpa.", "31.172.in-addr.arpa.", "2.0.192.in-addr.arpa.",
    "100.51.198.in-addr.arpa.", "113.0.203.in-addr.arpa.",
    "255.255.255.255.in-addr.arpa.", "168.192.in-addr.arpa.",
    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6."
    "arpa.",
    "d.f.ip6.arpa.", "8.e.f.ip6.arpa.", "9.e.f.ip6.arpa.", "a.e.f.ip6.arpa.",
    "b.e.f.ip6.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa.", NULL};

/*
 * dns_forward_special - with forwarders, ask them for every name: the
 * administrator chose them, and libunbound would otherwise answer the
 * RFC 6761 special-use names and the private reverse zones NXDOMAIN
 * itself, never asking (a forwarder serving "example.test" was never
 * asked: issue 11). localhost stays local.
 */
static int
dns_forward_special(struct ub_ctx *ctx, char *err, size_t errlen)
{
	for (size_t i = 0; dns_special_zones[i] != NULL; i++) {
		char opt[96];
		int r;

		snprintf(opt, sizeof(opt), "%s transparent",
			 dns_special_zones[i]);
		if ((r = ub_ctx_set_option(ctx, "local-zone:", opt)) != 0) {
			snprintf(err, errlen, "libunbound: local-zone %s: %s",
				 opt, ub_strerror(r));
			return -1;
		}
	}
	return 0;
}

/* dns_resolver_configure - apply the config's resolver settings to ctx */
static int
dns_resolver_configure(struct ub_ctx *ctx, const struct config *cfg, char *err,
		       size_t errlen)
{
	int r;

	if ((r = ub_ctx_async(ctx, 1)) != 0) {
		snprintf(err, errlen, "libunbound: cannot use threads: %s",
			 ub_strerror(r));
		return -1;
	}
	/* before ResolverConfig: a local-zone of the administrator's own
	 * for one of these names comes after, and wins */
	if (cfg->resolver == RESOLVER_FORWARD &&
	    dns_forward_special(ctx, err, errlen) != 0)
		return -1;
	/* libunbound calls a file it cannot open a "syntax error" */
	if (cfg->resolver_config != NULL &&
	    access(cfg->resolver_config, R_OK) != 0) {
		snprintf(err, errlen, "ResolverConfig %s: %s",
			 cfg->resolver_config, strerror(errno));
		return -1;
	}
	if (cfg->resolver_config != NULL &&
	    (r = ub_ctx_config(ctx, cfg->resolver_config)) != 0) {
		snprintf(err, errlen, "ResolverConfig %s: %s",
			 cfg->resolver_config, ub_strerror(r));
		return -1;
	}
	switch (cfg->resolver) {
	case RESOLVER_SYSTEM:
		if ((r = ub_ctx_resolvconf(ctx, NULL)) != 0) {
			snprintf(err, errlen,
				 "Resolver system: cannot read "
				 "/etc/resolv.conf: %s",
				 ub_strerror(r));
			return -1;
		}
		break;
	case RESOLVER_FORWARD:
		for (size_t i = 0; i < cfg->nforwarders; i++) {
			r = ub_ctx_set_fwd(ctx, cfg->forwarders[i]);
			if (r != 0) {
				snprintf(err, errlen,
					 "Resolver: bad forwarder %s: %s",
					 cfg->forwarders[i], ub_strerror(r));
				return -1;
			}
		}
		break;
	case RESOLVER_RECURSIVE:
		if (cfg->trust_anchor_file == NULL ||
		    (r = ub_ctx_add_ta_file(ctx, cfg->trust_anchor_file)) !=
			0) {
			snprintf(err, errlen, "TrustAnchorFile %s: %s",
				 cfg->trust_anchor_file ? cfg->trust_anchor_file
							: "(unset)",
				 cfg->trust_anchor_file ? ub_strerror(r)
							: "required");
			return -1;
		}
		break;
	}
	return 0;
}

/* dns_ub_delete - stop the driver thread and delete the context */
static void
dns_ub_delete(struct dns_ub *ub)
{
	if (ub->driver_started) {
		(void)!write(ub->stop_pipe[1], "x", 1);
		pthread_join(ub->driver, NULL);
	}
	if (ub->stop_pipe[0] >= 0) {
		close(ub->stop_pipe[0]);
		close(ub->stop_pipe[1]);
	}
	if (ub->ctx != NULL)
		ub_ctx_delete(ub->ctx);
	free(ub);
#ifdef __GLIBC__
	/* the context's caches were spread over its worker thread's
	 * malloc arena; hand the freed pages back, or every rotation
	 * leaves its footprint behind (measured: +2.7 MB each) */
	(void)malloc_trim(0);
#endif
}

/* dns_ub_new - a configured context with its driver thread; one reference */
static struct dns_ub *
dns_ub_new(const struct config *cfg, char *err, size_t errlen)
{
	struct dns_ub *ub = calloc(1, sizeof(*ub));
	int rc;

	if (ub == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ub->stop_pipe[0] = ub->stop_pipe[1] = -1;
	atomic_init(&ub->refs, 1);
	if ((ub->ctx = ub_ctx_create()) == NULL) {
		snprintf(err, errlen, "libunbound: cannot create a context");
		goto fail;
	}
	pthread_mutex_lock(&dns_config_lock);
	rc = dns_resolver_configure(ub->ctx, cfg, err, errlen);
	pthread_mutex_unlock(&dns_config_lock);
	if (rc != 0)
		goto fail;
	if (pipe(ub->stop_pipe) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		ub->stop_pipe[0] = ub->stop_pipe[1] = -1;
		goto fail;
	}
	if (pthread_create(&ub->driver, NULL, dns_driver, ub) != 0) {
		snprintf(err, errlen, "cannot start the resolver thread");
		goto fail;
	}
	ub->driver_started = true;
	return ub;
fail:
	dns_ub_delete(ub);
	return NULL;
}

/* dns_ub_get - a reference to the current context */
static struct dns_ub *
dns_ub_get(struct dns_resolver *res)
{
	struct dns_ub *ub;

	/* under the lock: a rotation cannot drop cur's last reference
	 * between reading cur and taking ours */
	pthread_mutex_lock(&res->lock);
	ub = res->cur;
	atomic_fetch_add(&ub->refs, 1);
	pthread_mutex_unlock(&res->lock);
	return ub;
}

/* dns_ub_put - drop a reference; the last one deletes the context */
static void
dns_ub_put(struct dns_ub *ub)
{
	if (atomic_fetch_sub(&ub->refs, 1) == 1)
		dns_ub_delete(ub);
}

static struct ub_result *dns_ub_resolve(struct dns_ub *ub, const char *name,
					int rrtype, unsigned timeout_ms);

/* dns_fds_free - can n more descriptors be opened right now? */
static bool
dns_fds_free(int n)
{
	int fds[DNS_FDS_HEADROOM], k = 0;

	for (; k < n && k < DNS_FDS_HEADROOM; k++)
		if ((fds[k] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
			break;
	for (int i = 0; i < k; i++)
		close(fds[i]);
	return k == n;
}

/*
 * dns_ub_warm - make libunbound start its worker now: it does so at the
 * first query, with a libevent loop whose pipes and socketpairs libevent
 * cannot do without (it exits the process). At start-up, on reload and
 * before a rotation we check that descriptors are free; in the middle of
 * mail the table may be full, and then a query only fails (temperror).
 */
static int
dns_ub_warm(struct dns_ub *ub, char *err, size_t errlen)
{
	struct ub_result *r;

	if (!dns_fds_free(DNS_FDS_HEADROOM)) {
		snprintf(err, errlen,
			 "too few free file descriptors to start the resolver "
			 "(raise the limit: ulimit -n, LimitNOFILE)");
		return -1;
	}
	if ((r = dns_ub_resolve(ub, "localhost", 1, DNS_WARM_MS)) != NULL)
		ub_resolve_free(r);
	return 0;
}

/* dns_resolver_new - create the resolver as the config says */
struct dns_resolver *
dns_resolver_new(const struct config *cfg, char *err, size_t errlen)
{
	struct dns_resolver *res = calloc(1, sizeof(*res));

	if (res == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	res->cfg = cfg;
	pthread_mutex_init(&res->lock, NULL);
	res->timeout_ms = cfg->resolver_timeout * 1000;
	if (res->timeout_ms == 0)
		res->timeout_ms = 5000;
	res->rotate_after = DNS_ROTATE_TIMEOUTS;
	if ((res->store = dns_store_new(DNS_STORE_ANSWERS,
					cfg->dns_cache_size)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((res->cur = dns_ub_new(cfg, err, errlen)) == NULL ||
	    dns_ub_warm(res->cur, err, errlen) != 0)
		goto fail;
	return res;
fail:
	dns_resolver_free(res);
	return NULL;
}

/* dns_resolver_free - drop the current context and free the resolver */
void
dns_resolver_free(struct dns_resolver *res)
{
	if (res == NULL)
		return;
	/* the engine is freed when no connection uses it: ours is the
	 * last reference */
	if (res->cur != NULL)
		dns_ub_put(res->cur);
	pthread_mutex_destroy(&res->lock);
	dns_store_free(res->store);
	free(res);
}

/* dns_resolver_stats - the counters metrics show */
void
dns_resolver_stats(struct dns_resolver *res, struct dns_stats *st)
{
	st->sent = atomic_load(&res->sent);
	st->store_hits = atomic_load(&res->store_hits);
	st->timeouts = atomic_load(&res->timed_out);
}

/* dns_resolver_sent - how many queries were handed to libunbound */
unsigned
dns_resolver_sent(struct dns_resolver *res)
{
	return atomic_load(&res->sent);
}

/* dns_resolver_rotations - how many fresh contexts replaced timed-out ones */
unsigned
dns_resolver_rotations(struct dns_resolver *res)
{
	return atomic_load(&res->rotations);
}

/* dns_resolver_set_timeout - change the per-query timeout */
void
dns_resolver_set_timeout(struct dns_resolver *res, unsigned ms)
{
	res->timeout_ms = ms ? ms : 1;
}

/* dns_resolver_set_rotate_after - timeouts before a fresh context */
void
dns_resolver_set_rotate_after(struct dns_resolver *res, unsigned n)
{
	res->rotate_after = n ? n : 1;
}

/* dns_pending_free - free a finished or cancelled query's record */
static void
dns_pending_free(struct dns_pending *p)
{
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}

/* dns_callback - libunbound delivers an answer (driver thread) */
static void
dns_callback(void *arg, int err, struct ub_result *result)
{
	struct dns_pending *p = arg;
	bool abandoned;

	pthread_mutex_lock(&p->lock);
	abandoned = p->abandoned;
	p->done = true;
	p->err = err;
	p->result = result;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (abandoned) {
		if (result != NULL)
			ub_resolve_free(result);
		dns_pending_free(p);
	}
}

/* dns_deadline - now + ms on the monotonic clock */
static struct timespec
dns_deadline(unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/*
 * dns_ub_resolve - ask libunbound and wait at most the timeout
 *
 * Returns the ub_result (caller frees) or NULL on timeout or error.
 */
static struct ub_result *
dns_ub_resolve(struct dns_ub *ub, const char *name, int rrtype,
	       unsigned timeout_ms)
{
	struct dns_pending *p = calloc(1, sizeof(*p));
	pthread_condattr_t attr;
	struct timespec deadline;
	struct ub_result *result = NULL;
	int async_id, rc = 0;

	if (p == NULL)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &attr);
	pthread_condattr_destroy(&attr);

	if (ub_resolve_async(ub->ctx, name, rrtype, 1 /* IN */, p,
			     dns_callback, &async_id) != 0) {
		dns_pending_free(p);
		return NULL;
	}
	deadline = dns_deadline(timeout_ms);
	pthread_mutex_lock(&p->lock);
	while (!p->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&p->cond, &p->lock, &deadline);
	if (p->done) {
		result = p->err == 0 ? p->result : NULL;
		if (p->err != 0 && p->result != NULL)
			ub_resolve_free(p->result);
		pthread_mutex_unlock(&p->lock);
		dns_pending_free(p);
		return result;
	}
	/* Timed out. From here the callback owns p unless the cancel
	 * succeeds, in which case libunbound will never call it. */
	p->abandoned = true;
	pthread_mutex_unlock(&p->lock);
	atomic_fetch_add(&ub->timeouts, 1);
	/* a failed cancel means the answer came and the callback is
	 * running in the driver thread, which the context's deletion joins */
	if (ub_cancel(ub->ctx, async_id) == 0)
		dns_pending_free(p);
	return NULL;
}

/*
 * dns_rotate - replace the context old by a fresh one, once
 *
 * Runs on the thread of a query that timed out, after its answer, while it
 * still holds its reference to old. Skipped (tried again at the next
 * timeout) while another thread rotates or descriptors are short.
 */
static void
dns_rotate(struct dns_resolver *res, struct dns_ub *old)
{
	struct dns_ub *fresh;
	char err[256];

	pthread_mutex_lock(&res->lock);
	if (res->rotating || res->cur != old) {
		pthread_mutex_unlock(&res->lock);
		return;
	}
	res->rotating = true;
	pthread_mutex_unlock(&res->lock);

	fresh = dns_fds_free(DNS_FDS_HEADROOM)
		    ? dns_ub_new(res->cfg, err, sizeof(err))
		    : NULL;
	if (fresh != NULL && dns_ub_warm(fresh, err, sizeof(err)) != 0) {
		dns_ub_put(fresh);
		fresh = NULL;
	}
	pthread_mutex_lock(&res->lock);
	if (fresh != NULL)
		res->cur = fresh;
	res->rotating = false;
	pthread_mutex_unlock(&res->lock);
	if (fresh != NULL) {
		atomic_fetch_add(&res->rotations, 1);
		dns_ub_put(old); /* the resolver's reference */
	}
}

/* dns_resolve - one query on the current context, rotating it when due */
static struct ub_result *
dns_resolve(struct dns_resolver *res, const char *name, int rrtype,
	    unsigned timeout_ms)
{
	struct dns_ub *ub = dns_ub_get(res);
	struct ub_result *r;

	atomic_fetch_add(&res->sent, 1);
	r = dns_ub_resolve(ub, name, rrtype, timeout_ms);
	if (r == NULL)
		atomic_fetch_add_explicit(&res->timed_out, 1,
					  memory_order_relaxed);
	if (r == NULL && atomic_load(&ub->timeouts) >= res->rotate_after)
		dns_rotate(res, ub);
	dns_ub_put(ub);
	return r;
}

/* dns_cache_set_deadline - no query of this cache after ms from now */
void
dns_cache_set_deadline(struct dns_cache *cache, unsigned ms)
{
	cache->has_deadline = true;
	cache->deadline = dns_deadline(ms);
}

/*
 * dns_cache_time_left - how long the next query may wait (milliseconds):
 * the resolver's timeout, cut to what is left before the deadline; 0
 * when the deadline has passed
 */
static unsigned
dns_cache_time_left(const struct dns_cache *cache)
{
	struct timespec now;
	long long left;

	if (!cache->has_deadline)
		return cache->res->timeout_ms;
	clock_gettime(CLOCK_MONOTONIC, &now);
	left = (cache->deadline.tv_sec - now.tv_sec) * 1000LL +
	       (cache->deadline.tv_nsec - now.tv_nsec) / 1000000L;
	if (left <= 0)
		return 0;
	return left < cache->res->timeout_ms ? (unsigned)left
					     : cache->res->timeout_ms;
}

/* dns_same_name - equal names, ignoring case and a final dot */
static bool
dns_same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/*
 * dns_resolve_chasing - dns_resolve, following a CNAME left unresolved
 *
 * libunbound answers a CNAME held in local-data without looking up its
 * target (canonname is set, there is no data), where a recursive server
 * would have followed it; do that here, at most DNS_CNAME_HOPS times.
 */
static struct ub_result *
dns_resolve_chasing(struct dns_cache *cache, const char *name, int rrtype)
{
	struct dns_resolver *res = cache->res;
	unsigned ms = dns_cache_time_left(cache);
	struct ub_result *r = ms ? dns_resolve(res, name, rrtype, ms) : NULL;

	for (int hop = 0; hop < DNS_CNAME_HOPS && r != NULL; hop++) {
		struct ub_result *next;
		char *target;

		if (r->rcode != 0 || r->havedata || r->canonname == NULL ||
		    dns_same_name(r->canonname, r->qname))
			break;
		if ((target = strdup(r->canonname)) == NULL)
			break;
		ms = dns_cache_time_left(cache);
		next = ms ? dns_resolve(res, target, rrtype, ms) : NULL;
		free(target);
		ub_resolve_free(r);
		r = next;
	}
	return r;
}

/* dns_cache_new - an empty per-message cache */
struct dns_cache *
dns_cache_new(struct dns_resolver *res)
{
	struct dns_cache *cache = calloc(1, sizeof(*cache));

	if (cache != NULL)
		cache->res = res;
	return cache;
}

/* dns_cache_free - free the cache and every answer it handed out */
void
dns_cache_free(struct dns_cache *cache)
{
	struct dns_entry *e, *next;

	if (cache == NULL)
		return;
	for (e = cache->entries; e != NULL; e = next) {
		next = e->next;
		dns_blob_unref(e->blob);
		free(e);
	}
	free(cache);
}

/* dns_cache_queries - how many queries this cache sent */
unsigned
dns_cache_queries(const struct dns_cache *cache)
{
	return cache->queries;
}

/* dns_type_name - an RR type's mnemonic, for the trace */
static const char *
dns_type_name(int rrtype)
{
	switch (rrtype) {
	case DNS_T_A:
		return "A";
	case DNS_T_AAAA:
		return "AAAA";
	case DNS_T_MX:
		return "MX";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_TXT:
		return "TXT";
	default:
		return "?";
	}
}

/* dns_trace - explain mode: one line per query and what came back */
static void
dns_trace(struct dns_cache *cache, const char *name, int rrtype,
	  const struct dns_answer *a, const char *note)
{
	if (cache->trace == NULL)
		return;
	if (a->status == DNS_OK)
		trace_line(cache->trace, 1, "DNS %s %s: %d record%s%s",
			   dns_type_name(rrtype), name, a->count,
			   a->count == 1 ? "" : "s", note);
	else
		trace_line(cache->trace, 1, "DNS %s %s: %s%s",
			   dns_type_name(rrtype), name,
			   dns_status_name(a->status), note);
}

/* dns_cache_trace - the trace of this message, or NULL */
struct trace *
dns_cache_trace(const struct dns_cache *cache)
{
	return cache != NULL ? cache->trace : NULL;
}

/* dns_cache_set_trace - explain mode: trace every lookup into t */
void
dns_cache_set_trace(struct dns_cache *cache, struct trace *t)
{
	if (cache != NULL)
		cache->trace = t;
}

/* dns_lookup - ask for name/rrtype once per message */
const struct dns_answer *
dns_lookup(struct dns_cache *cache, const char *name, int rrtype)
{
	static const struct dns_answer badname = {.status = DNS_BADNAME};
	struct dns_entry *e;
	size_t len;

	if (cache == NULL || name == NULL)
		return &dns_tempfail_answer;
	if (!dns_name_valid(name))
		return &badname;
	len = strlen(name);
	if (name[len - 1] == '.')
		len--;
	for (e = cache->entries; e != NULL; e = e->next)
		if (e->blob->answer.rrtype == rrtype &&
		    strlen(e->blob->name) == len &&
		    strncasecmp(e->blob->name, name, len) == 0) {
			dns_trace(cache, name, rrtype, &e->blob->answer,
				  " (asked before)");
			return &e->blob->answer;
		}

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return &dns_tempfail_answer;
	cache->queries++;
	/* another message may have asked already; else ask libunbound */
	e->blob = dns_store_get(cache->res->store, name, len, rrtype);
	if (e->blob != NULL)
		atomic_fetch_add_explicit(&cache->res->store_hits, 1,
					  memory_order_relaxed);
	if (e->blob == NULL) {
		char *qname = strndup(name, len);

		e->blob = dns_blob_new(
		    name, len, rrtype,
		    qname ? dns_resolve_chasing(cache, qname, rrtype) : NULL);
		free(qname);
		if (e->blob != NULL)
			dns_store_put(cache->res->store, e->blob);
	}
	if (e->blob == NULL) {
		free(e);
		return &dns_tempfail_answer;
	}
	e->next = cache->entries;
	cache->entries = e;
	dns_trace(cache, name, rrtype, &e->blob->answer, "");
	return &e->blob->answer;
}

/* dns_txt_join - the i-th TXT record's strings joined into out */
int
dns_txt_join(const struct dns_answer *ans, int i, char *out, size_t outlen)
{
	const unsigned char *d;
	size_t o = 0;
	int len;

	if (ans->status != DNS_OK || i < 0 || i >= ans->count || outlen == 0)
		return -1;
	d = ans->rdata[i];
	len = ans->rdlen[i];
	for (int pos = 0; pos < len;) {
		unsigned n = d[pos++];

		if (pos + (int)n > len || o + n >= outlen)
			return -1;
		memcpy(out + o, d + pos, n);
		o += n;
		pos += n;
	}
	out[o] = '\0';
	return (int)o;
}

/* dns_name_decode - an uncompressed wire-format name into dotted text */
int
dns_name_decode(const unsigned char *data, int len, char *out, size_t outlen)
{
	size_t o = 0;
	int pos = 0;

	if (outlen == 0)
		return -1;
	while (pos < len) {
		unsigned n = data[pos++];

		if (n == 0) {
			if (o == 0)
				out[o++] = '.'; /* the root */
			out[o] = '\0';
			return pos;
		}
		if (n > 63 || pos + (int)n > len)
			return -1;
		if (o + n + 2 > outlen)
			return -1;
		if (o > 0)
			out[o++] = '.';
		memcpy(out + o, data + pos, n);
		o += n;
		pos += n;
	}
	return -1; /* no terminating root label */
}

/* dns_mx_decode - the i-th MX record's preference and exchange */
int
dns_mx_decode(const struct dns_answer *ans, int i, unsigned *pref, char *name,
	      size_t namelen)
{
	const unsigned char *d;

	if (ans->status != DNS_OK || i < 0 || i >= ans->count ||
	    ans->rdlen[i] < 3)
		return -1;
	d = ans->rdata[i];
	*pref = (unsigned)d[0] << 8 | d[1];
	return dns_name_decode(d + 2, ans->rdlen[i] - 2, name, namelen) < 0 ? -1
									    : 0;
}
