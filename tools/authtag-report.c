/*
 * authtag-report.c - send the DMARC aggregate reports (RFC 9990)
 *
 *     authtag-report [-c CONFIG] [--period-end TIME] [--dry-run DIR] [-v]
 *
 * Reads the rows the daemon recorded in the state store and sends the
 * report of every period that ended at or before TIME (default: now),
 * for cron or a systemd timer (contrib/). A thin adapter over
 * lib/report/report.c: argument parsing, the log, the exit status.
 * Exit 0 when every report was sent (or had nowhere to go), 1 when some
 * are left for the next run, 2 for usage or configuration errors.
 */
#include "build.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "report/report.h"

static bool report_verbose; /* -v: the log on stderr too */

/* report_usage - the synopsis */
static void
report_usage(FILE *fp)
{
	fprintf(fp,
		"usage: authtag-report [-c CONFIG] [--period-end TIME] "
		"[--dry-run DIR] [-v]\n"
		"Sends the DMARC aggregate reports of the periods that ended "
		"at or before TIME\n"
		"(ISO 8601 UTC, 2026-12-06T00:00:00Z, or seconds since the "
		"epoch; default now).\n");
}

/* report_log - syslog, and stderr with -v (errors always) */
static void
report_log(int prio, const char *text)
{
	syslog(prio, "%s", text);
	if (report_verbose || prio <= LOG_WARNING)
		fprintf(stderr, "authtag-report: %s\n", text);
}

/* report_parse_time - ISO 8601 UTC or epoch seconds; -1 on error */
static int
report_parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	char *end;
	long long n;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end != NULL && (strcmp(end, "Z") == 0 || strcmp(end, "+00:00") == 0 ||
			    *end == '\0')) {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end != NULL && *end == '\0') {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < 0)
		return -1;
	*out = (int64_t)n;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"period-end", required_argument, NULL, 'e'},
	    {"dry-run", required_argument, NULL, 'd'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	struct report_run_opts opts = {
	    .period_end = (int64_t)time(NULL),
	    .log = report_log,
	    .generator = PACKAGE_NAME " " PACKAGE_VERSION,
	};
	struct report_run_stats stats;
	struct config *cfg = NULL;
	char err[1024];
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'e':
			if (report_parse_time(optarg, &opts.period_end) != 0) {
				fprintf(stderr,
					"authtag-report: --period-end %s: not "
					"ISO 8601 UTC or seconds\n",
					optarg);
				return 2;
			}
			break;
		case 'd':
			opts.dry_run_dir = optarg;
			break;
		case 'v':
			report_verbose = true;
			break;
		case 'h':
			report_usage(stdout);
			return 0;
		default:
			report_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		report_usage(stderr);
		return 2;
	}
	if (config_load_tool(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "authtag-report: %s\n", err);
		return 2;
	}
	/* a sendmail that dies must not kill us with SIGPIPE: its exit
	 * status says what happened */
	signal(SIGPIPE, SIG_IGN);
	openlog("authtag-report", LOG_PID, LOG_MAIL);
	rc = report_run(cfg, &opts, &stats, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "authtag-report: %s\n", err);
	else if (report_verbose)
		fprintf(stderr,
			"authtag-report: %u reports finished, %u mails sent, "
			"%u left for the next run, %u being sent by another "
			"host\n",
			stats.reports, stats.mails, stats.left, stats.busy);
	config_free(cfg);
	closelog();
	return rc < 0 ? 2 : rc;
}
