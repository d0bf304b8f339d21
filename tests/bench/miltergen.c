/*
 * miltergen.c - milter load generator: Postfix's side of the protocol, fast
 *
 * Plays a Postfix 3.7 smtpd/cleanup towards one milter, or a chain of
 * milters in order (-s a -s b, as smtpd_milters = a, b), for every message
 * of a corpus: connect and HELO per connection, then MAIL, RCPT, DATA,
 * headers, body and end of message per message; the milters' header edits
 * are applied before the next milter sees the message. Each concurrent
 * client is one thread with blocking sockets (the milter is the thing
 * measured; mgproto.c batches every packet that needs no reply into one
 * write). It prints one "RESULT key=value ..." line with msgs/s, latency
 * percentiles, the CPU and RSS of the milter processes named with -P (and
 * their children), and counts of every Authentication-Results method and
 * result returned, compared with what the corpus index expects, so that a
 * run that returns wrong results cannot pass for a fast one.
 *
 * Corpus: DIR/index lines "file ip helo mailfrom rcpt spf dkim dmarc [auth]"
 * ("{seq}" in mailfrom becomes the message's sequence number)
 * ("-" = none); the files are RFC 5322 messages with LF or CRLF endings.
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mgproto.h"
#include "mgstats.h"

#define MG_MAXCHAIN 8

/* msg - one corpus message, ready to send */
struct msg {
	char *file, *ip, *helo, *from, *rcpt, *auth;
	char *exp[MGS_NMETHODS]; /* expected spf, dkim, dmarc, or NULL */
	struct mg_hdrs hdrs;
	char *hdrbuf; /* the header names and values live here */
	char *body;   /* CRLF text */
	size_t bodylen;
};

/* run - everything the workers share */
struct run {
	struct mg_endpoint ep[MG_MAXCHAIN];
	int nep;
	struct msg *msgs;
	size_t nmsgs;
	long total, per_conn, conc;
	double deadline, start, rate; /* rate > 0: open loop, msgs/s */
	atomic_long next;
	double *lat; /* seconds, by message sequence number; <0 = not done */
	double *late; /* open loop: seconds the client woke after the due time */
	size_t hold_at;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long held, finished;
	bool released;
	struct mgs_counts counts;
};

/* now - monotonic seconds */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* load_file - read a whole file; NULL on error */
static char *
load_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 65536 + 1 > cap) {
			cap = cap ? cap * 2 : 131072;
			char *p = realloc(buf, cap);

			if (p == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		size_t r = fread(buf + n, 1, 65536, f);

		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* parse_msg - split a message into Postfix-style header events and a
 * CRLF body */
static int
parse_msg(struct msg *m, char *text, size_t len)
{
	char *p = text, *end = text + len;

	m->hdrbuf = text;
	while (p < end) {
		char *eol = memchr(p, '\n', (size_t)(end - p));
		char *next = eol ? eol + 1 : end;

		if (eol == NULL)
			eol = end;
		if (eol > p && eol[-1] == '\r')
			eol[-1] = '\0';
		*eol = '\0';
		if (*p == '\0') { /* the empty line: body follows */
			p = next;
			break;
		}
		if ((*p == ' ' || *p == '\t') && m->hdrs.n > 0) {
			/* a folded line: rejoin it to its field with "\n" */
			struct mg_hdr *h = &m->hdrs.h[m->hdrs.n - 1];
			char *v = (char *)h->value;
			size_t vl = strlen(v);

			memmove(v + vl + 1, p, strlen(p) + 1);
			v[vl] = '\n';
			p = next;
			continue;
		}
		char *colon = strchr(p, ':');

		if (colon == NULL)
			return -1;
		*colon = '\0';
		char *v = colon + 1; /* with its leading space: see mgproto.c */

		if (mg_hdrs_add(&m->hdrs, m->hdrs.n, p, v, false) < 0)
			return -1;
		p = next;
	}
	size_t blen = (size_t)(end - p), lines = 0;

	for (size_t i = 0; i < blen; i++)
		lines += p[i] == '\n';
	m->body = malloc(blen + lines + 3);
	if (m->body == NULL)
		return -1;
	size_t o = 0;

	for (size_t i = 0; i < blen; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			m->body[o++] = '\r';
		m->body[o++] = p[i];
	}
	if (o > 0 && m->body[o - 1] != '\n') { /* end the last line */
		m->body[o++] = '\r';
		m->body[o++] = '\n';
	}
	m->bodylen = o;
	return 0;
}

/* field - the next whitespace-separated field; "-" means none */
static char *
field(char **save)
{
	char *f = strtok_r(NULL, " \t\r\n", save);

	if (f == NULL || strcmp(f, "-") == 0)
		return NULL;
	return strdup(f);
}

/* load_corpus - read DIR/index and every message it names */
static int
load_corpus(struct run *r, const char *dir)
{
	char path[4096], line[4096];

	snprintf(path, sizeof path, "%s/index", dir);
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "miltergen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 0;

	while (fgets(line, sizeof line, f) != NULL) {
		char *save = NULL, *file = strtok_r(line, " \t\r\n", &save);

		if (file == NULL || *file == '#')
			continue;
		if (r->nmsgs == cap) {
			cap = cap ? cap * 2 : 1024;
			r->msgs = realloc(r->msgs, cap * sizeof *r->msgs);
			if (r->msgs == NULL)
				return -1;
		}
		struct msg *m = &r->msgs[r->nmsgs];

		memset(m, 0, sizeof *m);
		m->file = strdup(file);
		m->ip = field(&save);
		m->helo = field(&save);
		m->from = field(&save);
		m->rcpt = field(&save);
		for (int k = 0; k < MGS_NMETHODS; k++)
			m->exp[k] = field(&save);
		m->auth = field(&save);
		if (m->ip == NULL)
			m->ip = strdup("192.0.2.1");
		if (m->helo == NULL)
			m->helo = strdup("client.example");
		if (m->rcpt == NULL)
			m->rcpt = strdup("user@mx.example");
		snprintf(path, sizeof path, "%s/%s", dir, file);
		size_t len;
		char *text = load_file(path, &len);

		if (text == NULL || parse_msg(m, text, len) < 0) {
			fprintf(stderr, "miltergen: %s: unreadable\n", path);
			fclose(f);
			return -1;
		}
		r->nmsgs++;
	}
	fclose(f);
	if (r->nmsgs == 0) {
		fprintf(stderr, "miltergen: %s: no messages\n", dir);
		return -1;
	}
	return 0;
}

/* free_corpus - free every message (a synthetic body is shared) */
static void
free_corpus(struct run *r, bool shared_body)
{
	for (size_t i = 0; i < r->nmsgs; i++) {
		struct msg *m = &r->msgs[i];

		free(m->file);
		free(m->ip);
		free(m->helo);
		free(m->from);
		free(m->rcpt);
		free(m->auth);
		for (int k = 0; k < MGS_NMETHODS; k++)
			free(m->exp[k]);
		mg_hdrs_free(&m->hdrs);
		free(m->hdrbuf);
		if (!shared_body || i == 0)
			free(m->body);
	}
	free(r->msgs);
}

/* hold - park a client mid-message until the main thread has looked */
static void
hold(void *arg)
{
	struct run *r = arg;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 300;
	pthread_mutex_lock(&r->mu);
	r->held++;
	pthread_cond_broadcast(&r->cv);
	while (!r->released &&
	       pthread_cond_timedwait(&r->cv, &r->mu, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&r->mu);
}

/* worker_state - one client: its connections and its counters */
struct worker_state {
	struct run *r;
	struct mg_conn conn[MG_MAXCHAIN];
	bool open;
	long conn_msgs;
	const char *conn_ip; /* the client of this connection (-m > 1) */
	struct mgs_counts counts;
	struct mgs_msg cur;
};

/* on_ar - record one method=result of an A-R header */
static void
on_ar(void *arg, const char *method, const char *result)
{
	struct worker_state *w = arg;

	mgs_count_ar(&w->counts, &w->cur, method, result);
}

/* close_all - end the session towards every milter of the chain */
static void
close_all(struct worker_state *w, bool quit)
{
	for (int k = 0; k < w->r->nep; k++)
		mg_close(&w->conn[k], quit);
	w->open = false;
}

/* one_message - run one message through the chain; <0: connection lost */
static int
one_message(struct worker_state *w, const struct msg *m, long seq, bool do_hold)
{
	struct run *r = w->r;
	char qid[32];
	struct mg_macros mac = {.j = "mx.bench.example",
				.daemon_name = "mx.bench.example",
				.daemon_addr = "127.0.0.1",
				.v = "Postfix 3.7.11",
				.mail_addr = m->from ? m->from : "",
				.auth_type = m->auth ? "PLAIN" : NULL,
				.auth_authen = m->auth,
				.rcpt_addr = m->rcpt};
	char under[300], from[512];
	const char *tok = m->from ? strstr(m->from, "{seq}") : NULL;
	enum mg_verdict v = MG_CONTINUE, vk;

	/* "{seq}" in the envelope sender: the message's sequence number,
	 * so that every message can ask DNS about a name of its own */
	if (tok != NULL) {
		snprintf(from, sizeof from, "%.*s%ld%s", (int)(tok - m->from),
			 m->from, seq, tok + 5);
		mac.mail_addr = from;
	}
	snprintf(under, sizeof under, "unknown [%s]", m->ip);
	mac.underscore = under;
	if (!w->open || w->conn_msgs >= r->per_conn) {
		if (w->open)
			close_all(w, true);
		for (int k = 0; k < r->nep; k++)
			if (mg_open(&w->conn[k], &r->ep[k]) < 0 ||
			    mg_connect(&w->conn[k], &mac, m->ip, m->helo) ==
				MG_ERROR) {
				close_all(w, false);
				return -1;
			}
		w->open = true;
		w->conn_msgs = 0;
		w->conn_ip = m->ip;
	}
	w->conn_msgs++;
	/* "i" is known only from DATA on (the brief: as Postfix 3.7 sends) */
	for (int k = 0; k < r->nep && v == MG_CONTINUE; k++)
		if ((vk = mg_envelope(&w->conn[k], MG_ST_MAIL, &mac,
				      mac.mail_addr)) != MG_ACCEPT)
			v = vk;
	for (int k = 0; k < r->nep && v == MG_CONTINUE; k++)
		if ((vk = mg_envelope(&w->conn[k], MG_ST_RCPT, &mac,
				      m->rcpt)) != MG_ACCEPT)
			v = vk;
	snprintf(qid, sizeof qid, "4B%010lX", seq + 1);
	mac.i = qid;
	for (int k = 0; k < r->nep && v == MG_CONTINUE; k++)
		if ((vk = mg_data(&w->conn[k], &mac)) != MG_ACCEPT)
			v = vk;
	struct mg_hdrs hdrs = {0};

	for (size_t i = 0; i < m->hdrs.n && v == MG_CONTINUE; i++)
		if (mg_hdrs_add(&hdrs, i, m->hdrs.h[i].name, m->hdrs.h[i].value,
				false) < 0)
			v = MG_ERROR;
	for (int k = 0; k < r->nep && v == MG_CONTINUE; k++)
		if ((vk = mg_content(&w->conn[k], &mac, &hdrs, m->body,
				     m->bodylen, r->hold_at,
				     do_hold && k == r->nep - 1 ? hold : NULL,
				     r, on_ar, w)) != MG_ACCEPT)
			v = vk;
	mg_hdrs_free(&hdrs);
	if (v == MG_ERROR) {
		close_all(w, false);
		return -1;
	}
	if (v == MG_REJECT)
		w->counts.rejected++;
	for (int k = 0; k < r->nep; k++)
		mg_abort(&w->conn[k]);
	return 0;
}

/* worker - one concurrent client: take the next message until done */
static void *
worker(void *arg)
{
	struct worker_state *w = arg;
	struct run *r = w->r;
	long seq, fails = 0;

	while ((seq = atomic_fetch_add(&r->next, 1)) < r->total) {
		if (now() > r->deadline)
			break;
		const struct msg *m = &r->msgs[(size_t)seq % r->nmsgs];
		double t0 = now();

		if (r->rate > 0) { /* open loop: latency counts from the
				    * scheduled start, queueing included */
			double due = r->start + (double)seq / r->rate;

			if (due > t0) {
				double d = due - t0;

				nanosleep(
				    &(struct timespec){
					(time_t)d,
					(long)((d - (double)(time_t)d) * 1e9)},
				    NULL);
			}
			r->late[seq] = now() - due;
			t0 = due;
		}

		mgs_msg_start(&w->cur);
		if (one_message(w, m, seq, r->hold_at > 0) < 0) {
			w->counts.errors++;
			if (++fails > 20 && w->counts.ok == 0)
				break; /* nobody listens: do not spin */
			continue;
		}
		r->lat[seq] = now() - t0;
		w->counts.ok++;
		/* with several messages per connection the client is the
		 * first one's: SPF and DMARC expectations no longer hold */
		const char *exp[MGS_NMETHODS] = {m->exp[0], m->exp[1],
						 m->exp[2]};

		if (strcmp(w->conn_ip, m->ip) != 0)
			exp[MGS_SPF] = exp[MGS_DMARC] = NULL;
		mgs_msg_end(&w->counts, &w->cur, exp, m->file);
	}
	if (w->open)
		close_all(w, true);
	pthread_mutex_lock(&r->mu);
	mgs_merge(&r->counts, &w->counts);
	r->finished++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* wait_held - hold mode: wait until every client is parked, then report
 * the milters' memory and let them go on */
static void
wait_held(struct run *r, struct mgs_pids *pids, long expect)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 600;
	pthread_mutex_lock(&r->mu);
	while (r->held + r->finished < expect &&
	       pthread_cond_timedwait(&r->cv, &r->mu, &ts) != ETIMEDOUT)
		;
	long held = r->held;

	pthread_mutex_unlock(&r->mu);
	sleep(1); /* let the milters take in what is still in the sockets */
	mgs_pids_report(pids, "HOLD", held);
	pthread_mutex_lock(&r->mu);
	r->released = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* usage - print the options and exit */
static void
usage(void)
{
	fprintf(
	    stderr,
	    "usage: miltergen -s SOCKET [-s SOCKET...] -d CORPUS [options]\n"
	    "  -s SOCKET  milter: unix:/path, inet:port@host, inet:host:port"
	    " (repeat for a chain)\n"
	    "  -d DIR     corpus directory (DIR/index)\n"
	    "  -c N       concurrent clients (1)\n"
	    "  -n N       messages (corpus size)\n"
	    "  -m N       messages per connection (1)\n"
	    "  -P [NAME=]PID  measure this process and its children"
	    " (repeatable)\n"
	    "  -B BYTES   replace every body with BYTES of text\n"
	    "  -H BYTES   hold every client after BYTES of body until all"
	    " are there; report RSS\n"
	    "  -T SECS    stop starting messages after SECS (600)\n"
	    "  -r RATE    open loop: start RATE messages/s whatever the"
	    " replies\n"
	    "  -l LABEL   label of the RESULT line\n"
	    "  -L FILE    write one line per message: sequence, due time (s),"
	    " client late (ms), latency (ms)\n"
	    "  -v         list the messages whose results differ from the"
	    " index\n");
	exit(2);
}

/* synth_body - a text body of the given size, CRLF lines */
static char *
synth_body(size_t size)
{
	static const char line[] = "The quick brown fox jumps over the lazy "
				   "dog, again and again and again.\r\n";
	char *b = malloc(size + 1);

	if (b == NULL)
		return NULL;
	for (size_t o = 0; o < size; o += sizeof line - 1)
		memcpy(b + o, line,
		       size - o < sizeof line - 1 ? size - o : sizeof line - 1);
	if (size >= 2)
		memcpy(b + size - 2, "\r\n", 2);
	return b;
}

/* write_latencies - the -L file: one line per message started, in the
 * order they were due (mgs_report sorts r->lat afterwards) */
static int
write_latencies(const struct run *r, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	for (long i = 0; i < r->total; i++)
		if (r->lat[i] >= 0)
			fprintf(f, "%ld %.6f %.3f %.3f\n", i,
				r->rate > 0 ? (double)i / r->rate : 0,
				r->late[i] * 1000, r->lat[i] * 1000);
	return fclose(f) == 0 ? 0 : -1;
}

/* main - run the clients and print the report */
int
main(int argc, char **argv)
{
	static struct run r;
	struct mgs_pids pids = {0};
	const char *corpus = NULL, *label = "run", *latfile = NULL;
	long body_size = 0;
	bool verbose = false;
	int o;

	r.conc = 1;
	r.per_conn = 1;
	r.total = -1;
	double tlimit = 600;
	while ((o = getopt(argc, argv, "s:d:c:n:m:P:B:H:T:l:L:r:v")) != -1) {
		switch (o) {
		case 's':
			if (r.nep == MG_MAXCHAIN ||
			    mg_endpoint_parse(&r.ep[r.nep++], optarg) < 0) {
				fprintf(stderr, "miltergen: bad socket %s\n",
					optarg);
				return 2;
			}
			break;
		case 'd':
			corpus = optarg;
			break;
		case 'c':
			r.conc = atol(optarg);
			break;
		case 'n':
			r.total = atol(optarg);
			break;
		case 'm':
			r.per_conn = atol(optarg);
			break;
		case 'P':
			if (mgs_pids_add(&pids, optarg) < 0)
				usage();
			break;
		case 'B':
			body_size = atol(optarg);
			break;
		case 'H':
			r.hold_at = (size_t)atol(optarg);
			break;
		case 'T':
			tlimit = atof(optarg);
			break;
		case 'l':
			label = optarg;
			break;
		case 'L':
			latfile = optarg;
			break;
		case 'r':
			r.rate = atof(optarg);
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage();
		}
	}
	if (r.nep == 0 || corpus == NULL || r.conc < 1 || r.conc > 5000 ||
	    r.per_conn < 1)
		usage();
	if (load_corpus(&r, corpus) < 0)
		return 1;
	if (body_size > 0) {
		char *b = synth_body((size_t)body_size);

		for (size_t i = 0; b != NULL && i < r.nmsgs; i++) {
			free(r.msgs[i].body);
			r.msgs[i].body = b; /* shared: freed once */
			r.msgs[i].bodylen = (size_t)body_size;
		}
	}
	if (r.total < 0)
		r.total = (long)r.nmsgs;
	r.lat = malloc(((size_t)r.total + 1) * sizeof *r.lat);
	r.late = calloc((size_t)r.total + 1, sizeof *r.late);
	if (r.lat == NULL || r.late == NULL)
		return 1;
	for (long i = 0; i < r.total; i++)
		r.lat[i] = -1;
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);

	struct worker_state *ws = calloc((size_t)r.conc, sizeof *ws);
	pthread_t *tid = calloc((size_t)r.conc, sizeof *tid);
	pthread_attr_t attr;
	struct rusage ru0, ru1;

	if (ws == NULL || tid == NULL)
		return 1;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	mgs_pids_sample(&pids, 0);
	getrusage(RUSAGE_SELF, &ru0);
	double t0 = now();

	r.deadline = t0 + tlimit;
	r.start = t0;
	for (long i = 0; i < r.conc; i++) {
		ws[i].r = &r;
		if (pthread_create(&tid[i], &attr, worker, &ws[i]) != 0) {
			fprintf(stderr, "miltergen: pthread_create failed\n");
			return 1;
		}
	}
	if (r.hold_at > 0)
		wait_held(&r, &pids, r.conc < r.total ? r.conc : r.total);
	for (long i = 0; i < r.conc; i++)
		pthread_join(tid[i], NULL);
	double secs = now() - t0;

	getrusage(RUSAGE_SELF, &ru1);
	mgs_pids_sample(&pids, 1);
	if (latfile != NULL && write_latencies(&r, latfile) < 0)
		fprintf(stderr, "miltergen: cannot write %s\n", latfile);
	mgs_report(&r.counts, &pids, label, r.conc, r.per_conn, r.lat, r.total,
		   secs,
		   (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec +
			    ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		       (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec +
				ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) /
			   1e6,
		   verbose);
	free(ws);
	free(tid);
	free(r.lat);
	free(r.late);
	free_corpus(&r, body_size > 0);
	for (int k = 0; k < r.nep; k++)
		free(r.ep[k].spec);
	return r.counts.ok > 0 && r.counts.errors == 0 ? 0 : 1;
}
