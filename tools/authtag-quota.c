/*
 * authtag-quota.c - outbound quotas: release held mail, status, reset
 *
 *     authtag-quota [-c CONFIG] [-v] release [--dry-run]
 *     authtag-quota [-c CONFIG] status [USER]
 *     authtag-quota [-c CONFIG] reset USER
 *
 * A thin adapter over lib/outbound/quota_tool.c: arguments, the log,
 * the exit status (0 done, 1 something left for the next run, 2 usage
 * or configuration). release runs from the shipped systemd timer or
 * cron line, as root (postsuper -H needs it).
 */
#include "build.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "outbound/outbound_tool.h"

static bool quota_verbose; /* -v: the log on stderr too */

/* quota_usage - the synopsis */
static void
quota_usage(FILE *fp)
{
	fprintf(fp, "usage: authtag-quota [-c CONFIG] [-v] release [--dry-run]\n"
		    "       authtag-quota [-c CONFIG] status [USER]\n"
		    "       authtag-quota [-c CONFIG] reset USER\n");
}

/* quota_log - syslog, and stderr with -v (warnings always) */
static void
quota_log(int prio, const char *text)
{
	syslog(prio, "%s", text);
	if (quota_verbose || prio <= LOG_WARNING)
		fprintf(stderr, "authtag-quota: %s\n", text);
}

/* quota_out - a line of output */
static void
quota_out(const char *line)
{
	printf("%s\n", line);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct outbound_tool_opts o = {
	    .out = quota_out, .log = quota_log, .now = (int64_t)time(NULL)};
	const char *path = NULL, *cmd;
	struct config *cfg = NULL;
	char err[1024] = "";
	int c, rc;

	while ((c = getopt_long(argc, argv, "+c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'v':
			quota_verbose = true;
			break;
		case 'n':
			o.dry_run = true;
			break;
		case 'h':
			quota_usage(stdout);
			return 0;
		default:
			quota_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		quota_usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	/* options after the command: release --dry-run */
	while (optind < argc && strcmp(argv[optind], "--dry-run") == 0) {
		o.dry_run = true;
		optind++;
	}
	if ((strcmp(cmd, "release") == 0 && optind != argc) ||
	    (strcmp(cmd, "status") == 0 && argc - optind > 1) ||
	    (strcmp(cmd, "reset") == 0 && argc - optind != 1) ||
	    (strcmp(cmd, "release") != 0 && strcmp(cmd, "status") != 0 &&
	     strcmp(cmd, "reset") != 0)) {
		quota_usage(stderr);
		return 2;
	}
	if (config_load_tool(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "authtag-quota: %s\n", err);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	openlog("authtag-quota", LOG_PID, LOG_MAIL);
	if (outbound_tool_as_user(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "authtag-quota: %s\n", err);
		config_free(cfg);
		return 2;
	}
	if (strcmp(cmd, "release") == 0) {
		struct quota_release_stats st;

		rc = quota_release(cfg, &o, &st, err, sizeof(err));
		if (rc >= 0 && (quota_verbose || o.dry_run))
			fprintf(stderr,
				"authtag-quota: %u released, %u still held "
				"(no room in this window), %u no longer "
				"held, %u failed\n",
				st.released, st.left, st.gone, st.failed);
	} else if (strcmp(cmd, "status") == 0)
		rc = quota_status(cfg, &o, optind < argc ? argv[optind] : NULL,
				  err, sizeof(err));
	else
		rc = quota_reset(cfg, &o, argv[optind], err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "authtag-quota: %s\n", err);
	config_free(cfg);
	closelog();
	return rc < 0 ? 2 : rc;
}
