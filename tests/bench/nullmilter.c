/*
 * nullmilter.c - a libmilter filter that does no work, for the benchmark
 *
 * The floor of any libmilter-based filter: it negotiates away every step
 * and every reply the MTA offers to skip (SMFIP_NO*, SMFIP_NR_*), so the
 * MTA sends only option negotiation and end of message, and it answers
 * end of message with "continue". With -a it adds one fixed
 * Authentication-Results header at end of message, which exercises the
 * load generator's header-edit and result counting. miltergen against
 * this shows how fast the generator is (it must not be the bottleneck)
 * and what libmilter's thread-per-connection model costs by itself.
 * With -s it instead asks for the steps authtag needs (connect, HELO,
 * MAIL, RCPT, headers, end of headers, body; no replies but at end of
 * message) and ignores them: the libmilter floor of a filter like ours.
 *
 * usage: nullmilter -p SOCKET [-a] [-s]  (SOCKET as for smfi_setconn)
 */
#include "build.h" /* first: feature macros */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

/* Every step and reply a filter may decline (protocol version 6) */
#define NULL_SKIP                                                              \
	(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT |        \
	 SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOUNKNOWN |         \
	 SMFIP_NODATA | SMFIP_NR_HDR | SMFIP_NR_CONN | SMFIP_NR_HELO |         \
	 SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN |       \
	 SMFIP_NR_EOH | SMFIP_NR_BODY)

/* The steps a checking filter needs, each without a reply */
#define NULL_STEPS                                                             \
	(SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_CONN | SMFIP_NR_HELO |      \
	 SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH |         \
	 SMFIP_NR_BODY | SMFIP_HDR_LEADSPC)

/* Options: set before smfi_main, read-only after */
static int null_add_ar, null_steps;

/* null_negotiate - decline everything the MTA lets us decline */
static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
	       unsigned long f2, unsigned long f3, unsigned long *pf0,
	       unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)ctx;
	(void)f0;
	(void)f2;
	(void)f3;
	*pf0 = null_add_ar ? SMFIF_ADDHDRS : 0;
	*pf1 = f1 & (null_steps ? NULL_STEPS : NULL_SKIP);
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

/* null_noreply - any step of -s mode: nothing to do, nothing to say */
static sfsistat
null_noreply(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_NOREPLY;
}

/* null_connect - connect in -s mode */
static sfsistat
null_connect(SMFICTX *ctx, char *host, struct sockaddr *sa)
{
	(void)host;
	(void)sa;
	return null_noreply(ctx);
}

/* null_str - HELO in -s mode */
static sfsistat
null_str(SMFICTX *ctx, char *s)
{
	(void)s;
	return null_noreply(ctx);
}

/* null_argv - MAIL and RCPT in -s mode */
static sfsistat
null_argv(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return null_noreply(ctx);
}

/* null_header - one header in -s mode */
static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return null_noreply(ctx);
}

/* null_body - one body chunk in -s mode */
static sfsistat
null_body(SMFICTX *ctx, unsigned char *b, size_t len)
{
	(void)b;
	(void)len;
	return null_noreply(ctx);
}

/* null_eom - the only event left: continue (or add one A-R header) */
static sfsistat
null_eom(SMFICTX *ctx)
{
	if (null_add_ar)
		smfi_insheader(
		    ctx, 0, "Authentication-Results",
		    "null.example; spf=none smtp.mailfrom=x.example; "
		    "dkim=none; dmarc=none header.from=x.example");
	return SMFIS_CONTINUE;
}

/* main - register with libmilter and serve until stopped */
int
main(int argc, char **argv)
{
	struct smfiDesc desc = {
	    .xxfi_name = "nullmilter",
	    .xxfi_version = SMFI_VERSION,
	    .xxfi_flags = SMFIF_ADDHDRS,
	    .xxfi_eom = null_eom,
	    .xxfi_negotiate = null_negotiate,
	};
	const char *sock = NULL;
	int o;

	while ((o = getopt(argc, argv, "p:as")) != -1) {
		if (o == 'p')
			sock = optarg;
		else if (o == 'a')
			null_add_ar = 1;
		else if (o == 's')
			null_steps = 1;
		else
			sock = NULL;
	}
	if (null_steps) {
		desc.xxfi_connect = null_connect;
		desc.xxfi_helo = null_str;
		desc.xxfi_envfrom = null_argv;
		desc.xxfi_envrcpt = null_argv;
		desc.xxfi_header = null_header;
		desc.xxfi_eoh = null_noreply;
		desc.xxfi_body = null_body;
	}
	if (sock == NULL) {
		fprintf(stderr, "usage: nullmilter -p SOCKET [-a] [-s]\n");
		return 2;
	}
	if (strncmp(sock, "unix:", 5) == 0)
		unlink(sock + 5);
	if (smfi_setconn((char *)sock) != MI_SUCCESS ||
	    smfi_setbacklog(4096) != MI_SUCCESS ||
	    smfi_register(desc) != MI_SUCCESS) {
		fprintf(stderr, "nullmilter: cannot set up %s\n", sock);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
