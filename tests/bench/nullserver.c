/*
 * nullserver.c - a filter on authtag's own milter server that does no
 * work, for the benchmark
 *
 * The counterpart of nullmilter -s: it asks for the steps authtag needs
 * (connect, HELO, MAIL, RCPT, headers, end of headers, body; no replies
 * but at end of message) through milter/server.c and milter/proto.c,
 * the code the daemon runs, and ignores them. What it costs per message
 * is the floor of authtag's milter layer, as nullmilter -s is
 * libmilter's. With -a it is instead the cheapest tagging filter there
 * can be on this server: every step skipped, one Authentication-Results
 * header inserted at end of message (what nullmilter -a does on
 * libmilter) - the floor of what Postfix pays for a tagging milter.
 *
 * usage: nullserver -p SOCKET [-w WORKERS] [-a]
 */
#include "build.h" /* first: feature macros */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "server.h"

/* null_negotiate - the steps authtag asks for */
static void
null_negotiate(struct mserver_sess *s, struct mserver_neg *neg)
{
	(void)s;
	neg->actions = MPA_ADDHDRS | MPA_CHGHDRS | MPA_QUARANTINE;
	neg->steps = MPP_NOUNKNOWN | MPP_NODATA | MPP_NR_CONN | MPP_NR_HELO |
		     MPP_NR_MAIL | MPP_NR_RCPT | MPP_NR_HDR | MPP_NR_EOH |
		     MPP_NR_BODY | MPP_HDR_LEADSPC;
}

/* null_negotiate_a - -a: every step skipped, only end of message */
static void
null_negotiate_a(struct mserver_sess *s, struct mserver_neg *neg)
{
	(void)s;
	neg->actions = MPA_ADDHDRS;
	neg->steps = MPP_NOCONNECT | MPP_NOHELO | MPP_NOMAIL | MPP_NORCPT |
		     MPP_NOBODY | MPP_NOHDRS | MPP_NOEOH | MPP_NOUNKNOWN |
		     MPP_NODATA | MPP_NR_HDR | MPP_NR_CONN | MPP_NR_HELO |
		     MPP_NR_MAIL | MPP_NR_RCPT | MPP_NR_DATA | MPP_NR_UNKN |
		     MPP_NR_EOH | MPP_NR_BODY;
}

/* null_eom - the only answer: continue */
static enum mserver_verdict
null_eom(struct mserver_sess *s)
{
	(void)s;
	return MV_CONTINUE;
}

/* null_eom_a - -a: one fixed Authentication-Results header, continue */
static enum mserver_verdict
null_eom_a(struct mserver_sess *s)
{
	(void)mserver_sess_insheader(
	    s, 0, "Authentication-Results",
	    "null.example; spf=none smtp.mailfrom=x.example; dkim=none; "
	    "dmarc=none header.from=x.example");
	return MV_CONTINUE;
}

/* null_log - the server's lines to stderr */
static void
null_log(int prio, const char *text)
{
	(void)prio;
	fprintf(stderr, "nullserver: %s\n", text);
}

/* main - listen, serve until a signal */
int
main(int argc, char **argv)
{
	static const struct mserver_ops ops = {.negotiate = null_negotiate,
					       .eom = null_eom};
	static const struct mserver_ops ops_a = {
	    .negotiate = null_negotiate_a, .eom = null_eom_a};
	struct mserver_conf conf = {.backlog = 4096, .workers = 32,
				    .ops = &ops, .log = null_log};
	struct mserver *srv;
	char err[256];
	sigset_t set;
	int o, sig;

	while ((o = getopt(argc, argv, "p:w:a")) != -1) {
		if (o == 'p')
			conf.spec = optarg;
		else if (o == 'w')
			conf.workers = (unsigned)atoi(optarg);
		else if (o == 'a')
			conf.ops = &ops_a;
		else
			conf.spec = NULL;
	}
	if (conf.spec == NULL) {
		fprintf(stderr,
			"usage: nullserver -p SOCKET [-w WORKERS] [-a]\n");
		return 2;
	}
	if (strncmp(conf.spec, "unix:", 5) == 0)
		unlink(conf.spec + 5);
	/* the workers inherit the mask: only main takes the signals */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((srv = mserver_new(&conf, err, sizeof(err))) == NULL ||
	    mserver_start(srv) != 0) {
		fprintf(stderr, "nullserver: cannot listen on %s: %s\n",
			conf.spec, srv == NULL ? err : "no workers");
		return 1;
	}
	(void)sigwait(&set, &sig);
	return mserver_free(srv, 1000) == 0 ? 0 : 1;
}
