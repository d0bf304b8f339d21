/*
 * report.h - authtag-report's door: send the finished periods' reports
 *
 * report.c owns one run: list the buckets that ended, claim each (one
 * host sends it; a rerun after a crash gets the same token, so the same
 * Report-ID and file name), build the RFC 9990 report from its rows,
 * find where it may go (rua= mailto URIs; an external destination only
 * with its _report._dmarc authorisation), hand one mail per destination
 * to sendmail(1), mark each destination sent as soon as sendmail took
 * it, mark the bucket done when every destination has it, and prune
 * what is older than ReportRetention. Each step is idempotent: a run
 * killed at any point is finished by the next without sending anything
 * twice, except a destination whose sendmail had accepted the mail in
 * the instant before the kill (then the resend has the same Report-ID,
 * file name and Message-ID, for the receiver to drop).
 */
#ifndef AUTHTAG_REPORT_H
#define AUTHTAG_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report_rec.h"

struct config;

struct report_run_opts {
	int64_t period_end;      /* report buckets whose end <= this */
	const char *dry_run_dir; /* write the XML here, send and mark
				    nothing; NULL: send */
	report_log_fn log;       /* one line per report, and errors */
	const char *generator;   /* "authtag 0.1.0" */
};

struct report_run_stats {
	unsigned reports;      /* reports finished (sent, or nothing to send) */
	unsigned mails;        /* mails handed to sendmail */
	unsigned left;         /* reports left for a later run */
	unsigned busy;         /* claimed by another host */
};

/*
 * report_run - one run; 0 when everything finished, 1 when some report
 * is left for a later run (a destination failed, the store was down),
 * -1 with err set when nothing could be done (no store, bad config)
 */
int report_run(const struct config *cfg, const struct report_run_opts *opts,
	       struct report_run_stats *stats, char *err, size_t errlen);

#endif
