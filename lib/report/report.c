/*
 * report.c - one run of authtag-report (see report.h for the contract)
 *
 * Owns the order of the steps that make sending exactly-once: claim,
 * build, per destination "already sent?", send, mark sent, and done
 * last. The XML and the mail are report_xml.c's and report_mail.c's;
 * where a report may go (rua=, RFC 9990 "Verifying External
 * Destinations") is decided here, on lib/dns and lib/auth/dmarc.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "auth/dmarc.h"
#include "auth/dmarc_record.h"
#include "config.h"
#include "dns/dns.h"
#include "report.h"
#include "report_mail.h"
#include "report_row.h"
#include "report_xml.h"
#include "command.h"
#include "store/store.h"
#include "strbuf.h"

#define REPORT_LEASE 900        /* seconds a claim lasts */
#define REPORT_SENDMAIL_WAIT 120 /* seconds sendmail may take */
#define REPORT_DESTS_MAX 8       /* rua URIs we send to (RFC: "up to the
				    Receiver's limits") */

/* the run's shared state */
struct rp {
	const struct config *cfg;
	const struct report_run_opts *opts;
	struct report_run_stats *stats;
	struct store *st;
	struct dns_resolver *res;
	struct dmarc_ctx *dmarc;
	char owner[300];
	const char *submitter; /* AuthservID: the receiver's domain */
	char from[RES_ADDRESS_MAX];
	bool left; /* something is left for a later run */
};

/* one bucket from the store */
struct rp_bucket {
	char *group;
	int64_t start, end;
	bool done;
};

struct rp_buckets {
	struct rp_bucket *v;
	size_t n;
	bool nomem;
};

/* the rows of one report */
struct rp_rows {
	struct report_row *rows;
	struct report_entry *entries;
	size_t n;
	int64_t messages;
	bool nomem;
	unsigned bad; /* rows that did not parse */
};

/* rp_log - a line to the run's log */
static void rp_log(struct rp *rp, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
rp_log(struct rp *rp, int prio, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (rp->opts->log == NULL)
		return;
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	if (!sb_failed(&sb))
		rp->opts->log(prio, sb_str(&sb));
	sb_free(&sb);
}

/* rp_bucket_cb - collect a bucket */
static int
rp_bucket_cb(void *arg, const char *group, int64_t start, int64_t end,
	     bool done)
{
	struct rp_buckets *b = arg;
	char *g;

	/* a group with a ':' is another feature's (held mail of the
	 * quotas is "quota:USER"): a policy domain never has one */
	if (strchr(group, ':') != NULL)
		return 0;
	if (sb_array_room(&b->v, b->n, sizeof(*b->v)) != 0 ||
	    (g = strdup(group)) == NULL) {
		b->nomem = true;
		return 1;
	}
	b->v[b->n++] = (struct rp_bucket){g, start, end, done};
	return 0;
}

/* rp_row_cb - collect and parse a row */
static int
rp_row_cb(void *arg, const char *text, int64_t count)
{
	struct rp_rows *r = arg;
	const char *why;

	if (sb_array_room(&r->rows, r->n, sizeof(*r->rows)) != 0) {
		r->nomem = true;
		return 1;
	}
	if (report_row_parse(text, &r->rows[r->n], &why) != 0 || count <= 0) {
		r->bad++;
		return 0;
	}
	r->messages += count;
	/* the entries point into rows: filled once rows stops moving */
	if (sb_array_room(&r->entries, r->n, sizeof(*r->entries)) != 0) {
		r->nomem = true;
		return 1;
	}
	r->entries[r->n].count = count;
	r->n++;
	return 0;
}

/* rp_token - a fresh unique-id: 1*(ALPHA / DIGIT), RFC 9990 */
static void
rp_token(char *out, size_t outlen)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, rnd, sizeof(rnd)) : -1;
	size_t i;

	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)sizeof(rnd)) { /* no urandom: time and pid */
		uint64_t x = (uint64_t)time(NULL) * 2654435761u ^
			     (uint64_t)getpid() << 20;

		for (i = 0; i < sizeof(rnd); i++, x = x * 6364136223846793005ULL + 1)
			rnd[i] = (unsigned char)(x >> 33);
	}
	for (i = 0; i < sizeof(rnd) && i + 1 < outlen; i++)
		out[i] = al[rnd[i] % (sizeof(al) - 1)];
	out[i] = '\0';
}

/* rp_iso - seconds since the epoch as ISO 8601 UTC, for logs */
static const char *
rp_iso(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* rp_suppressed - is domain (or a parent of it) in ReportSuppress? */
static bool
rp_suppressed(const struct config *cfg, const char *domain)
{
	for (size_t i = 0; i < cfg->nreport_suppress; i++) {
		const char *s = cfg->report_suppress[i];
		size_t dl = strlen(domain), sl = strlen(s);

		if (strcasecmp(domain, s) == 0 ||
		    (dl > sl && domain[dl - sl - 1] == '.' &&
		     strcasecmp(domain + dl - sl, s) == 0))
			return true;
	}
	return false;
}

/*
 * rp_mailto - the address of a mailto: URI (RFC 6068): percent-decoded,
 * hfields ("?subject=...") dropped; -1 when it is not one address we
 * can hand to sendmail safely
 */
static int
rp_mailto(const char *uri, char *addr, size_t addrlen, const char **domain)
{
	size_t n = 0;
	const char *p;
	char *at;

	if (strncasecmp(uri, "mailto:", 7) != 0)
		return -1;
	for (p = uri + 7; *p != '\0' && *p != '?'; p++) {
		char c = *p;

		if (c == '%' && isxdigit((unsigned char)p[1]) &&
		    isxdigit((unsigned char)p[2])) {
			char hex[3] = {p[1], p[2], 0};

			c = (char)strtol(hex, NULL, 16);
			p += 2;
		}
		/* one addr-spec: no list, no spaces, nothing a shell or
		 * sendmail's argument parser would read as more */
		if (c <= ' ' || c >= 0x7f || strchr(",;<>()\"\\'`|&$", c))
			return -1;
		if (n + 1 >= addrlen)
			return -1;
		addr[n++] = c;
	}
	addr[n] = '\0';
	at = strrchr(addr, '@');
	if (at == NULL || at == addr || at[1] == '\0' || addr[0] == '-' ||
	    !dns_name_valid(at + 1))
		return -1;
	for (char *d = at + 1; *d; d++)
		*d = (char)tolower((unsigned char)*d);
	*domain = at + 1;
	return 0;
}

/*
 * rp_authorised - RFC 9990 "Verifying External Destinations": may a
 * report for policy_domain go to dest_domain? 1 yes, 0 no, -1 DNS
 * trouble (ask again next run). A rua= in the authorising record
 * replaces the destination if it names the same host (*override).
 */
static int
rp_authorised(struct rp *rp, struct dns_cache *dns, const char *policy_domain,
	      const char *dest_domain, char *override, size_t overlen)
{
	char org_p[RES_DOMAIN_MAX], org_d[RES_DOMAIN_MAX], name[600];
	char txt[1024];
	const struct dns_answer *ans;
	int ok = 0;

	override[0] = '\0';
	if (dmarc_org_domain(rp->dmarc, dns, policy_domain, org_p,
			     sizeof(org_p)) != 0 ||
	    dmarc_org_domain(rp->dmarc, dns, dest_domain, org_d,
			     sizeof(org_d)) != 0)
		return -1;
	if (strcasecmp(org_p, org_d) == 0)
		return 1;
	if ((size_t)snprintf(name, sizeof(name), "%s._report._dmarc.%s",
			     policy_domain, dest_domain) >= sizeof(name) ||
	    !dns_name_valid(name))
		return 0; /* step 4: too long for the DNS */
	ans = dns_lookup(dns, name, DNS_T_TXT);
	if (ans == NULL || ans->status == DNS_TEMPFAIL)
		return -1;
	for (int i = 0; ans->status == DNS_OK && i < ans->count; i++) {
		int len = dns_txt_join(ans, i, txt, sizeof(txt));
		struct dmarc_record rec;
		struct dmarc_uri uri[REPORT_DESTS_MAX];
		size_t nuri;

		if (len < 0 || !dmarc_record_parse(txt, (size_t)len, false,
						   &rec))
			continue;
		ok = 1;
		nuri = dmarc_rua_list(rec.rua, uri, REPORT_DESTS_MAX);
		for (size_t k = 0; k < nuri && override[0] == '\0'; k++) {
			char a[RES_ADDRESS_MAX];
			const char *d;

			/* step 9: the override must keep the same host */
			if (rp_mailto(uri[k].uri, a, sizeof(a), &d) == 0 &&
			    strcasecmp(d, dest_domain) == 0)
				snprintf(override, overlen, "%s", a);
		}
	}
	return ok;
}

/*
 * rp_sendmail - hand one message to sendmail(1) for rcpt; 0 when it
 * exited 0 (the mail is queued), -1 with why
 */
static int
rp_sendmail(struct rp *rp, const char *rcpt, const struct strbuf *mail,
	    char *why, size_t whylen)
{
	return sendmail_pipe(rp->cfg->sendmail_path, rp->from, rcpt, mail->s,
			     mail->len, REPORT_SENDMAIL_WAIT, why, whylen);
}

/* rp_sent_key - the counter that says "this destination has it" */
static void
rp_sent_key(const struct rp_bucket *b, const char *rcpt, struct strbuf *key)
{
	sb_printf(key, "report-sent\t%s\t%lld\t%s", b->group,
		  (long long)b->start, rcpt);
}

/* one destination of a report */
struct rp_dest {
	char addr[RES_ADDRESS_MAX];
	char uri[512]; /* as rua= gave it, for the log */
	unsigned long max_size;
};

/*
 * rp_destinations - where the report of this policy may go: rua=
 * mailto URIs (authorised when external, ReportSuppress honoured),
 * then ReportBcc; -1 on DNS trouble (a later run asks again)
 */
static int
rp_destinations(struct rp *rp, const struct report_policy *pol,
		struct rp_dest *dests, size_t *ndests)
{
	struct dmarc_uri uri[REPORT_DESTS_MAX];
	size_t nuri = dmarc_rua_list(pol->rua, uri, REPORT_DESTS_MAX);
	struct dns_cache *dns = dns_cache_new(rp->res);
	int rc = 0;

	*ndests = 0;
	if (dns == NULL)
		return -1;
	for (size_t i = 0; i < nuri; i++) {
		struct rp_dest *d = &dests[*ndests];
		char override[RES_ADDRESS_MAX];
		const char *domain;
		int ok;

		if (rp_mailto(uri[i].uri, d->addr, sizeof(d->addr), &domain) !=
		    0) {
			rp_log(rp, LOG_INFO,
			       "report for %s: rua %s: not a mailto: URI we "
			       "send to, skipped",
			       pol->domain, uri[i].uri);
			continue;
		}
		if (rp_suppressed(rp->cfg, domain)) {
			rp_log(rp, LOG_INFO,
			       "report for %s: %s is in ReportSuppress",
			       pol->domain, d->addr);
			continue;
		}
		ok = rp_authorised(rp, dns, pol->domain, domain, override,
				   sizeof(override));
		if (ok < 0) {
			rp_log(rp, LOG_WARNING,
			       "report for %s: DNS error checking whether %s "
			       "takes its reports; trying again next run",
			       pol->domain, domain);
			rc = -1;
			break;
		}
		if (ok == 0) {
			rp_log(rp, LOG_NOTICE,
			       "report for %s: %s did not authorise reports "
			       "for it (no v=DMARC1 at %s._report._dmarc.%s): "
			       "not sent there",
			       pol->domain, domain, pol->domain, domain);
			continue;
		}
		if (override[0] != '\0')
			snprintf(d->addr, sizeof(d->addr), "%s", override);
		_Static_assert(sizeof(d->uri) == sizeof(uri[i].uri),
			       "rua URI sizes");
		memcpy(d->uri, uri[i].uri, sizeof(d->uri));
		d->max_size = uri[i].max_size;
		(*ndests)++;
	}
	for (size_t i = 0; rc == 0 && i < rp->cfg->nreport_bcc &&
			   *ndests < REPORT_DESTS_MAX * 2;
	     i++) {
		struct rp_dest *d = &dests[(*ndests)++];

		snprintf(d->addr, sizeof(d->addr), "%s", rp->cfg->report_bcc[i]);
		snprintf(d->uri, sizeof(d->uri), "ReportBcc");
		d->max_size = 0;
	}
	dns_cache_free(dns);
	return rc;
}

/* rp_main_policy - the policy of the most messages (the record may have
 * changed during the period; the report shows one) */
static const struct report_policy *
rp_main_policy(const struct rp_rows *r)
{
	size_t best = 0;

	for (size_t i = 1; i < r->n; i++)
		if (r->entries[i].count > r->entries[best].count)
			best = i;
	return &r->rows[best].pol;
}

/* rp_rows_free - free a report's rows */
static void
rp_rows_free(struct rp_rows *r)
{
	free(r->rows);
	free(r->entries);
	memset(r, 0, sizeof(*r));
}

/* rp_build - the XML and its gzip for one bucket */
static int
rp_build(struct rp *rp, const struct rp_bucket *b, struct rp_rows *r,
	 const char *report_id, struct strbuf *xml, struct strbuf *gz)
{
	struct report_meta meta = {
	    .org_name = rp->cfg->report_org_name != NULL
			    ? rp->cfg->report_org_name
			    : rp->submitter,
	    .email = rp->from,
	    .report_id = report_id,
	    .generator = rp->opts->generator,
	    .begin = b->start,
	    .end = b->end,
	};

	report_xml(&meta, rp_main_policy(r), r->entries, r->n, xml);
	if (sb_failed(xml))
		return -1;
	return gz != NULL ? report_gzip(xml->s, xml->len, gz) : 0;
}

/* rp_dry_run - write the bucket's XML into the directory */
static int
rp_dry_run(struct rp *rp, const struct rp_bucket *b, struct rp_rows *r)
{
	struct strbuf xml = STRBUF_INIT, name = STRBUF_INIT, path = STRBUF_INIT;
	FILE *fp;
	int rc = -1;

	if (rp_build(rp, b, r, "dry-run", &xml, NULL) != 0)
		goto out;
	report_filename(rp->submitter, b->group, b->start, b->end, NULL,
			&name);
	/* report_filename ends in .xml.gz; a dry run writes plain XML */
	if (name.len > 3 && strcmp(name.s + name.len - 3, ".gz") == 0)
		sb_truncate(&name, name.len - 3);
	sb_printf(&path, "%s/%s", rp->opts->dry_run_dir, sb_str(&name));
	if (sb_failed(&path) || (fp = fopen(sb_str(&path), "w")) == NULL) {
		rp_log(rp, LOG_ERR, "dry run: %s: %s", sb_str(&path),
		       strerror(errno));
		goto out;
	}
	fwrite(xml.s, 1, xml.len, fp);
	if (fclose(fp) == 0)
		rc = 0;
	rp_log(rp, LOG_INFO,
	       "dry run: %s (%zu records, %lld messages), nothing marked",
	       sb_str(&path), r->n, (long long)r->messages);
out:
	sb_free(&xml);
	sb_free(&name);
	sb_free(&path);
	return rc;
}

/* rp_send_one - send one report to each destination that lacks it;
 * true when every destination has it */
static bool
rp_send_all(struct rp *rp, const struct rp_bucket *b, struct rp_rows *r,
	    const char *token)
{
	const struct report_policy *pol = rp_main_policy(r);
	struct strbuf xml = STRBUF_INIT, gz = STRBUF_INIT, rid = STRBUF_INIT;
	struct strbuf fname = STRBUF_INIT;
	struct rp_dest dests[REPORT_DESTS_MAX * 2];
	size_t ndests;
	bool all = true;
	char t1[32], t2[32];

	sb_printf(&rid, "%s.%lld.%s@%s", b->group, (long long)b->start, token,
		  rp->submitter);
	report_filename(rp->submitter, b->group, b->start, b->end, token,
			&fname);
	if (rp_destinations(rp, pol, dests, &ndests) != 0) {
		all = false;
		goto out;
	}
	if (rp_build(rp, b, r, sb_str(&rid), &xml, &gz) != 0 ||
	    sb_failed(&rid) || sb_failed(&fname)) {
		rp_log(rp, LOG_ERR, "report for %s: out of memory", b->group);
		all = false;
		goto out;
	}
	for (size_t i = 0; i < ndests; i++) {
		struct rp_dest *d = &dests[i];
		struct strbuf key = STRBUF_INIT, mail = STRBUF_INIT;
		struct report_mailinfo mi = {
		    .from = rp->from,
		    .org_name = rp->cfg->report_org_name != NULL
				    ? rp->cfg->report_org_name
				    : rp->submitter,
		    .to = d->addr,
		    .policy_domain = b->group,
		    .submitter = rp->submitter,
		    .report_id = sb_str(&rid),
		    .filename = sb_str(&fname),
		    .date = (int64_t)time(NULL),
		    .begin = b->start,
		    .end = b->end,
		};
		unsigned long limit = d->max_size;
		int64_t sent = 0;
		char why[300];

		rp_sent_key(b, d->addr, &key);
		if (store_counter_get(rp->st, sb_str(&key), &sent) != STORE_OK) {
			rp_log(rp, LOG_ERR, "report for %s: %s", b->group,
			       store_error(rp->st));
			all = false;
			sb_free(&key);
			break;
		}
		if (sent > 0) { /* a rerun: this one has it */
			sb_free(&key);
			continue;
		}
		report_mail(&mi, gz.s, gz.len, &mail);
		if (rp->cfg->report_max_size > 0 &&
		    (limit == 0 || rp->cfg->report_max_size < limit))
			limit = rp->cfg->report_max_size;
		if (limit > 0 && mail.len > limit) {
			/* RFC 9990 leaves it to us: never sent, said so */
			rp_log(rp, LOG_WARNING,
			       "report for %s to %s: %zu bytes, over the "
			       "limit of %lu: not sent",
			       b->group, d->addr, mail.len, limit);
		} else if (sb_failed(&mail) ||
			   rp_sendmail(rp, d->addr, &mail, why, sizeof(why)) !=
			       0) {
			rp_log(rp, LOG_ERR,
			       "report for %s to %s: %s; trying again next "
			       "run",
			       b->group, d->addr,
			       sb_failed(&mail) ? "out of memory" : why);
			all = false;
			sb_free(&key);
			sb_free(&mail);
			continue;
		} else {
			rp->stats->mails++;
			rp_log(rp, LOG_INFO,
			       "report sent: domain=%s period=%s..%s "
			       "records=%zu messages=%lld rua=%s to=%s "
			       "report-id=%s bytes=%zu",
			       b->group, rp_iso(b->start, t1, sizeof(t1)),
			       rp_iso(b->end, t2, sizeof(t2)), r->n,
			       (long long)r->messages, d->uri, d->addr,
			       sb_str(&rid), mail.len);
		}
		/* marked at once: a kill after this never resends to d */
		if (store_counter_add(rp->st, sb_str(&key), 1,
				      rp->cfg->report_retention + 86400,
				      NULL) != STORE_OK) {
			rp_log(rp, LOG_ERR,
			       "report for %s to %s: sent, but not marked "
			       "(%s): a rerun sends it again with the same "
			       "Report-ID",
			       b->group, d->addr, store_error(rp->st));
			all = false;
		}
		sb_free(&key);
		sb_free(&mail);
	}
	if (ndests == 0)
		rp_log(rp, LOG_NOTICE,
		       "report for %s (%s..%s, %lld messages): no "
		       "destination to send to",
		       b->group, rp_iso(b->start, t1, sizeof(t1)),
		       rp_iso(b->end, t2, sizeof(t2)), (long long)r->messages);
out:
	sb_free(&xml);
	sb_free(&gz);
	sb_free(&rid);
	sb_free(&fname);
	return all;
}

/* rp_dead_here - is holder ("host:pid") a run on this host that is
 * gone? */
static bool
rp_dead_here(const struct rp *rp, const char *holder)
{
	const char *colon = strrchr(rp->owner, ':');
	size_t hostlen = colon != NULL ? (size_t)(colon - rp->owner) + 1 : 0;
	char *end;
	long pid;

	if (hostlen == 0 || strncmp(holder, rp->owner, hostlen) != 0)
		return false;
	pid = strtol(holder + hostlen, &end, 10);
	return *end == '\0' && pid > 0 && kill((pid_t)pid, 0) != 0 &&
	       errno == ESRCH;
}

/* rp_bucket - one finished bucket: claim, send, done */
static void
rp_bucket(struct rp *rp, const struct rp_bucket *b)
{
	struct rp_rows r = {0};
	char token[300], owner[300];
	int rc;

	snprintf(owner, sizeof(owner), "%s", rp->owner);

	if (rp->opts->dry_run_dir == NULL) {
		rp_token(token, sizeof(token));
		rc = store_claim(rp->st, b->group, b->start, rp->owner,
				 REPORT_LEASE, token, sizeof(token));
		if (rc == STORE_TAKEN && rp_dead_here(rp, token)) {
			/* a run of ours on this host was killed: go on
			 * in its name (its lease would keep the report
			 * back for REPORT_LEASE seconds) */
			rp_log(rp, LOG_NOTICE,
			       "report for %s: taking over from %s, which "
			       "is gone",
			       b->group, token);
			snprintf(owner, sizeof(owner), "%s", token);
			rp_token(token, sizeof(token));
			rc = store_claim(rp->st, b->group, b->start, owner,
					 REPORT_LEASE, token, sizeof(token));
		}
		if (rc == STORE_TAKEN) {
			rp->stats->busy++;
			rp_log(rp, LOG_INFO,
			       "report for %s: another host is sending it",
			       b->group);
			return;
		}
		if (rc == STORE_DONE)
			return;
		if (rc != STORE_OK) {
			rp_log(rp, LOG_ERR, "report for %s: claim: %s",
			       b->group, store_error(rp->st));
			rp->left = true;
			return;
		}
	}
	rc = store_read(rp->st, b->group, b->start, rp_row_cb, &r);
	if (rc != STORE_OK || r.nomem) {
		rp_log(rp, LOG_ERR, "report for %s: reading rows: %s", b->group,
		       r.nomem ? "out of memory" : store_error(rp->st));
		rp->left = true;
		rp_rows_free(&r);
		return;
	}
	for (size_t i = 0; i < r.n; i++)
		r.entries[i].row = &r.rows[i];
	if (r.bad > 0)
		rp_log(rp, LOG_WARNING,
		       "report for %s: %u rows in the store are not ours, "
		       "left out",
		       b->group, r.bad);
	if (rp->opts->dry_run_dir != NULL) {
		if (r.n > 0 && rp_dry_run(rp, b, &r) != 0)
			rp->left = true;
		rp_rows_free(&r);
		return;
	}
	if (r.n == 0 || rp_suppressed(rp->cfg, b->group) ||
	    rp_send_all(rp, b, &r, token)) {
		if (r.n > 0 && rp_suppressed(rp->cfg, b->group))
			rp_log(rp, LOG_INFO,
			       "report for %s: in ReportSuppress, not sent",
			       b->group);
		if (store_done(rp->st, b->group, b->start, owner) == STORE_OK)
			rp->stats->reports++;
		else {
			rp_log(rp, LOG_ERR, "report for %s: marking done: %s",
			       b->group, store_error(rp->st));
			rp->left = true;
		}
	} else {
		/* let another host take it now rather than after the lease
		 * (a lease of 0 keeps the claim's token, frees the claim) */
		char keep[300];

		snprintf(keep, sizeof(keep), "%s", token);
		(void)store_claim(rp->st, b->group, b->start, owner, 0, keep,
				  sizeof(keep));
		rp->stats->left++;
		rp->left = true;
	}
	rp_rows_free(&r);
}

/* report_run - see report.h */
int
report_run(const struct config *cfg, const struct report_run_opts *opts,
	   struct report_run_stats *stats, char *err, size_t errlen)
{
	struct rp rp = {.cfg = cfg, .opts = opts, .stats = stats};
	struct rp_buckets b = {NULL, 0, false};
	char host[256];
	size_t pruned = 0;
	int rc;

	memset(stats, 0, sizeof(*stats));
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(rp.owner, sizeof(rp.owner), "%s:%ld", host, (long)getpid());
	rp.submitter = cfg->authserv_id;
	if (cfg->report_email != NULL)
		snprintf(rp.from, sizeof(rp.from), "%s", cfg->report_email);
	else
		snprintf(rp.from, sizeof(rp.from), "dmarc-noreply@%s",
			 cfg->authserv_id);
	if ((rp.st = store_open(cfg->state_store, err, errlen)) == NULL) {
		if (err[0] == '\0')
			snprintf(err, errlen, "StateStore none: no reports");
		return -1;
	}
	if (opts->dry_run_dir == NULL &&
	    ((rp.res = dns_resolver_new(cfg, err, errlen)) == NULL ||
	     (rp.dmarc = dmarc_ctx_new(cfg, err, errlen)) == NULL)) {
		rc = -1;
		goto out;
	}
	rc = store_buckets(rp.st, opts->period_end, rp_bucket_cb, &b);
	if (rc != STORE_OK || b.nomem) {
		snprintf(err, errlen, "state store %s: %s",
			 store_spec(rp.st),
			 b.nomem ? "out of memory" : store_error(rp.st));
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < b.n; i++)
		if (!b.v[i].done)
			rp_bucket(&rp, &b.v[i]);
	if (opts->dry_run_dir == NULL &&
	    store_prune(rp.st, (int64_t)time(NULL) - cfg->report_retention,
			&pruned) == STORE_OK &&
	    pruned > 0)
		rp_log(&rp, LOG_INFO,
		       "pruned %zu report periods older than %u days", pruned,
		       cfg->report_retention / 86400);
	rc = rp.left ? 1 : 0;
out:
	for (size_t i = 0; i < b.n; i++)
		free(b.v[i].group);
	free(b.v);
	dmarc_ctx_free(rp.dmarc);
	dns_resolver_free(rp.res);
	store_close(rp.st);
	return rc;
}
