/*
 * test_score_spamd.c - the spamd scorer against scripted servers on
 * 127.0.0.1: the exact SPAMC/1.5 request bytes (as spamc sends them,
 * see notes/integration.md), parsing SPAMD replies, User: from SpamdUser,
 * a unix socket, and every way spamd can fail a message without failing
 * it: refused, silent (timeout, bounded), error reply, garbage, and a
 * message over SpamdMaxSize that is never sent. The real spamd is
 * tests/sa/spamd.sh.
 */
#include "build.h" /* first: feature macros */

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "score/score.h"

/* a scripted spamd: one connection, then it answers reply (or nothing) */
struct fake {
	int lfd;
	char sock[128];    /* SpamdSocket value */
	const char *reply; /* NULL: accept and never answer */
	char req[8192];
	size_t reqlen;
	bool connected;
	int stop[2]; /* the test writes here when the client is done */
	pthread_t thread;
};

static void *
fake_run(void *arg)
{
	struct fake *f = arg;
	struct pollfd p[2] = {{.fd = f->lfd, .events = POLLIN},
			      {.fd = f->stop[0], .events = POLLIN}};
	int fd;

	/* bounded: a call, or the test saying it is over, within 5 s */
	if (poll(p, 2, 5000) < 1 || !(p[0].revents & POLLIN) ||
	    (fd = accept(f->lfd, NULL, NULL)) < 0)
		return NULL;
	f->connected = true;
	if (f->reply == NULL) {
		/* the slow spamd: hold the line until the test is over */
		struct pollfd s = {.fd = f->stop[0], .events = POLLIN};

		poll(&s, 1, 5000);
		close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t n = read(fd, f->req + f->reqlen,
				 sizeof(f->req) - 1 - f->reqlen);

		if (n <= 0)
			break; /* the client's half-close */
		f->reqlen += (size_t)n;
	}
	f->req[f->reqlen] = '\0';
	(void)!write(fd, f->reply, strlen(f->reply));
	close(fd);
	return NULL;
}

/* fake_start - listen on a free loopback port (or a unix socket) */
static void
fake_start(struct fake *f, const char *reply, bool unix_socket)
{
	memset(f, 0, sizeof(*f));
	f->reply = reply;
	assert_int_equal(pipe(f->stop), 0);
	if (unix_socket) {
		struct sockaddr_un un = {.sun_family = AF_UNIX};

		snprintf(un.sun_path, sizeof(un.sun_path),
			 "/tmp/authtag-spamd-%d.sock", (int)getpid());
		unlink(un.sun_path);
		f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_int_equal(
		    bind(f->lfd, (struct sockaddr *)&un, sizeof(un)), 0);
		snprintf(f->sock, sizeof(f->sock), "unix:%s", un.sun_path);
	} else {
		struct sockaddr_in in = {.sin_family = AF_INET};
		socklen_t len = sizeof(in);

		in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		f->lfd = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(
		    bind(f->lfd, (struct sockaddr *)&in, sizeof(in)), 0);
		getsockname(f->lfd, (struct sockaddr *)&in, &len);
		snprintf(f->sock, sizeof(f->sock), "inet:%u@127.0.0.1",
			 ntohs(in.sin_port));
	}
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
}

static void
fake_stop(struct fake *f)
{
	(void)!write(f->stop[1], "", 1);
	pthread_join(f->thread, NULL);
	close(f->stop[0]);
	close(f->stop[1]);
	close(f->lfd);
	if (strncmp(f->sock, "unix:", 5) == 0)
		unlink(f->sock + 5);
}

/* a stage of Scorers lists, against socket */
static struct score_stage *
stage(struct config **cfg, const char *scorers, const char *socket)
{
	struct score_stage *st;
	char err[256];

	*cfg = config_new_defaults();
	free((*cfg)->scorers[0]);
	(*cfg)->scorers[0] = strdup(scorers);
	free((*cfg)->spamd_socket);
	(*cfg)->spamd_socket = strdup(socket);
	free((*cfg)->user_prefs);
	(*cfg)->user_prefs = strdup("");
	(*cfg)->spamd_timeout = 1;
	st = score_stage_new(*cfg, err, sizeof(err));
	if (st == NULL)
		fail_msg("%s", err);
	return st;
}

static const char *const names[] = {"Subject", "X-Folded"};
static const char *const values[] = {"hi", " a\n\tb"};
static const char *const rcpt_bob[] = {"<Bob+x@Example.org>"};
static const char *const rcpt_two[] = {"bob@example.org", "eve@example.org"};

static struct score_message
message(const char *const *rcpts, size_t nrcpts)
{
	struct score_message m = {
	    .header_names = names,
	    .header_values = values,
	    .nheaders = 2,
	    .body = (const unsigned char *)"hello\r\n",
	    .body_len = 7,
	    .rcpts = rcpts,
	    .nrcpts = nrcpts,
	};

	return m;
}

#define SPAM_REPLY                                                             \
	"SPAMD/1.1 0 EX_OK\r\nContent-length: 28\r\n"                          \
	"Spam: True ; 7.3 / 5.0\r\n\r\nNO_RECEIVED,TEST_SPAM_MARKER"

static void
test_request_and_reply(void **state)
{
	/* the message as spamc sends it: CRLF, folding kept */
	static const char body[] = "Subject: hi\r\nX-Folded: a\r\n\tb\r\n"
				   "\r\nhello\r\n";
	struct config *cfg;
	struct score_stage *st;
	struct score_outcome out;
	struct score_message m = message(rcpt_bob, 1);
	struct fake f;
	char want[512];

	(void)state;
	fake_start(&f, SPAM_REPLY, false);
	st = stage(&cfg, "spamd", f.sock);
	assert_int_equal(score_stage_run(st, &m, &out), 0);
	fake_stop(&f);
	snprintf(want, sizeof(want),
		 "SYMBOLS SPAMC/1.5\r\nContent-length: %zu\r\nUser: bob\r\n"
		 "\r\n%s",
		 sizeof(body) - 1, body);
	assert_string_equal(f.req, want);
	assert_true(out.score == 7.3);
	assert_true(out.is_spam);
	assert_int_equal(out.nhits, 2);
	assert_string_equal(out.hits[0].name, "NO_RECEIVED");
	assert_string_equal(out.hits[1].name, "TEST_SPAM_MARKER");
	assert_true(isnan(out.hits[1].score));
	assert_string_equal(out.problems, "");
	score_outcome_free(&out);
	score_stage_free(st);
	config_free(cfg);
}

/* user_line - the User: header spamd got for cfg's SpamdUser */
static void
user_line(const char *tmpl, const char *const *rcpts, size_t n, char *got,
	  size_t len)
{
	struct config *cfg;
	struct score_stage *st;
	struct score_outcome out;
	struct score_message m = message(rcpts, n);
	struct fake f;
	const char *u;

	fake_start(&f, "SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.0 / 5.0\r\n\r\n",
		   true);
	st = stage(&cfg, "spamd", f.sock);
	score_stage_free(st);
	free(cfg->spamd_user);
	cfg->spamd_user = strdup(tmpl);
	st = score_stage_new(cfg, got, len);
	assert_non_null(st);
	assert_int_equal(score_stage_run(st, &m, &out), 0);
	fake_stop(&f);
	assert_false(out.is_spam);
	assert_true(out.score == 0);
	u = strstr(f.req, "\r\nUser: ");
	snprintf(got, len, "%.*s", u ? (int)strcspn(u + 8, "\r") : 0,
		 u ? u + 8 : "");
	score_outcome_free(&out);
	score_stage_free(st);
	config_free(cfg);
}

static void
test_user_header(void **state)
{
	char got[128];

	(void)state;
	user_line("%u@%d", rcpt_bob, 1, got, sizeof(got));
	assert_string_equal(got, "bob@example.org");
	user_line("", rcpt_bob, 1, got, sizeof(got)); /* SpamdUser none */
	assert_string_equal(got, "");
	user_line("%u", rcpt_two, 2, got, sizeof(got)); /* not one user */
	assert_string_equal(got, "");
}

/* elapsed - seconds since t0 */
static double
elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
test_refused(void **state)
{
	struct sockaddr_in in = {.sin_family = AF_INET};
	socklen_t len = sizeof(in);
	struct config *cfg;
	struct score_stage *st;
	struct score_outcome out;
	struct score_message m = message(NULL, 0);
	struct timespec t0;
	char sock[64], want[128];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	/* a port that was just free: nothing listens there */
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	getsockname(fd, (struct sockaddr *)&in, &len);
	close(fd);
	snprintf(sock, sizeof(sock), "inet:%u@127.0.0.1", ntohs(in.sin_port));
	st = stage(&cfg, "spamd", sock);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(score_stage_run(st, &m, &out), -1);
	assert_true(elapsed(&t0) < 1.0);
	snprintf(want, sizeof(want),
		 "spamd: connect 127.0.0.1:%u: Connection refused",
		 ntohs(in.sin_port));
	assert_string_equal(out.problems, want);
	assert_int_equal(out.nfailed, 1);
	score_outcome_free(&out);
	score_stage_free(st);
	config_free(cfg);
}

static void
test_silent_times_out(void **state)
{
	struct config *cfg;
	struct score_stage *st;
	struct score_outcome out;
	struct score_message m = message(NULL, 0);
	struct timespec t0;
	struct fake f;
	double took;

	(void)state;
	fake_start(&f, NULL, false);
	st = stage(&cfg, "spamd", f.sock); /* SpamdTimeout 1 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(score_stage_run(st, &m, &out), -1);
	took = elapsed(&t0);
	fake_stop(&f);
	assert_true(f.connected);
	assert_true(took >= 0.9 && took < 3.0);
	assert_non_null(strstr(out.problems, ": timed out"));
	score_outcome_free(&out);
	score_stage_free(st);
	config_free(cfg);
}

/* failing - the outcome's problems for one scripted reply */
static void
failing(const char *reply, const char *want)
{
	struct config *cfg;
	struct score_stage *st;
	struct score_outcome out;
	struct score_message m = message(NULL, 0);
	struct fake f;

	fake_start(&f, reply, false);
	st = stage(&cfg, "spamd", f.sock);
	assert_int_equal(score_stage_run(st, &m, &out), -1);
	fake_stop(&f);
	assert_string_equal(out.problems, want);
	assert_true(out.score == 0);
	score_outcome_free(&out);
	score_stage_free(st);
	config_free(cfg);
}

/* a misbehaving spamd: a 65,000-octet name, control bytes, 8-bit junk and
 * a huge score; only rule names SpamAssassin could have are kept and
 * every X-Spam line stays under 998 octets, printable, score clamped */
static void
test_hostile_names(void **state)
{
	struct config *cfg;
	struct score_stage *st;
	struct score_outcome out;
	struct score_message m = message(NULL, 0);
	struct score_header hdrs[SCORE_HEADERS_MAX];
	struct fake f;
	size_t blen = 65000 + 64, n;
	char *body = malloc(blen), *reply = malloc(blen + 200);
	int nh;

	(void)state;
	assert_non_null(body);
	assert_non_null(reply);
	n = (size_t)snprintf(body, blen, "GOOD_ONE,");
	memset(body + n, 'A', 65000);
	n += 65000;
	n += (size_t)snprintf(body + n, blen - n,
			      ",BAD\x01NAME,\xff\xfe,OK_2,9LIVES");
	snprintf(reply, blen + 200,
		 "SPAMD/1.1 0 EX_OK\r\nContent-length: %zu\r\n"
		 "Spam: True ; 1e306 / 5.0\r\n\r\n%s",
		 n, body);
	fake_start(&f, reply, false);
	st = stage(&cfg, "spamd", f.sock);
	assert_int_equal(score_stage_run(st, &m, &out), 0);
	fake_stop(&f);
	assert_true(out.score == SCORE_LIMIT);
	assert_int_equal(out.nhits, 2);
	assert_string_equal(out.hits[0].name, "GOOD_ONE");
	assert_string_equal(out.hits[1].name, "OK_2");
	nh = score_headers(st, &out, hdrs);
	assert_true(nh > 0);
	for (int i = 0; i < nh; i++) {
		const char *v = hdrs[i].value, *nl;

		for (const char *p = v; *p; p++)
			assert_true((*p >= 32 && *p < 127) || *p == '\n' ||
				    *p == '\t');
		for (const char *p = v; p != NULL; p = nl ? nl + 1 : NULL) {
			nl = strchr(p, '\n');
			assert_true((nl ? (size_t)(nl - p) : strlen(p)) +
					strlen(hdrs[i].name) + 2 <
				    998);
		}
	}
	score_headers_free(hdrs, (size_t)nh);
	score_outcome_free(&out);
	score_stage_free(st);
	config_free(cfg);
	free(body);
	free(reply);
}

static void
test_bad_replies(void **state)
{
	(void)state;
	failing("SPAMD/1.0 76 Bad header line: (Content-Length mismatch)\r\n",
		"spamd: SPAMD/1.0 76 Bad header line: (Content-Length "
		"mismatch)");
	failing("HTTP/1.0 200 OK\r\n\r\n", "spamd: bad reply: HTTP/1.0 200 "
					   "OK\r\n\r\n");
	failing("SPAMD/1.1 0 EX_OK\r\n\r\n", "spamd: reply without a Spam: "
					     "line");
	failing("SPAMD/1.1 0 EX_OK\r\nSpam: True ; lots / 5\r\n\r\n",
		"spamd: bad Spam: line");
	failing("", "spamd: bad reply: ");
}

static void
test_too_big_not_sent(void **state)
{
	struct config *cfg;
	struct score_stage *st;
	struct score_outcome out;
	struct score_message m = message(NULL, 0);
	char *big = malloc(2000), m_err[256];
	struct fake f;

	(void)state;
	memset(big, 'x', 2000);
	fake_start(&f, SPAM_REPLY, false);
	st = stage(&cfg, "spamd", f.sock);
	score_stage_free(st);
	cfg->spamd_max_size = 1024;
	st = score_stage_new(cfg, m_err, sizeof(m_err));
	assert_non_null(st);
	assert_int_equal(score_stage_body_limit(st), 1024);
	/* over the limit with its headers, and a body the caller cut */
	m.body = (const unsigned char *)big;
	m.body_len = 1020;
	assert_int_equal(score_stage_run(st, &m, &out), -1);
	assert_string_equal(out.problems, "spamd: not sent: message over "
					  "SpamdMaxSize (1024 bytes)");
	score_outcome_free(&out);
	m.body_len = 100;
	m.body_truncated = true;
	assert_int_equal(score_stage_run(st, &m, &out), -1);
	assert_string_equal(out.problems, "spamd: not sent: message over "
					  "SpamdMaxSize (1024 bytes)");
	score_outcome_free(&out);
	fake_stop(&f);
	assert_false(f.connected);
	score_stage_free(st);
	config_free(cfg);
	free(big);
}

static void
test_rules_then_spamd(void **state)
{
	char dir[] = "/tmp/authtag-sr.XXXXXX", path[64];
	struct config *cfg;
	struct score_stage *st;
	struct score_outcome out;
	struct score_message m = message(NULL, 0);
	struct fake f;
	FILE *fp;
	char err[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.cf", dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("header ZZ_RULES Subject =~ /hi/\nscore ZZ_RULES 1.5\n"
	      "header NO_RECEIVED exists:Subject\nscore NO_RECEIVED 0.5\n",
	      fp);
	fclose(fp);
	fake_start(&f, SPAM_REPLY, false);
	st = stage(&cfg, "spamd", f.sock);
	score_stage_free(st);
	free(cfg->rules_dir);
	cfg->rules_dir = strdup(dir);
	cfg->scorers = realloc(cfg->scorers, 2 * sizeof(char *));
	cfg->scorers[1] = cfg->scorers[0];
	cfg->scorers[0] = strdup("rules");
	cfg->nscorers = 2;
	st = score_stage_new(cfg, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(score_stage_run(st, &m, &out), 0);
	fake_stop(&f);
	/* scores add up; names in scorer order, each once */
	assert_true(fabs(out.score - 9.3) < 1e-9);
	assert_int_equal(out.nhits, 3);
	assert_string_equal(out.hits[0].name, "NO_RECEIVED");
	assert_true(out.hits[0].score == 0.5);
	assert_string_equal(out.hits[1].name, "ZZ_RULES");
	assert_string_equal(out.hits[2].name, "TEST_SPAM_MARKER");
	score_outcome_free(&out);
	score_stage_free(st);
	config_free(cfg);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_and_reply),
	    cmocka_unit_test(test_user_header),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_silent_times_out),
	    cmocka_unit_test(test_bad_replies),
	    cmocka_unit_test(test_hostile_names),
	    cmocka_unit_test(test_too_big_not_sent),
	    cmocka_unit_test(test_rules_then_spamd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
