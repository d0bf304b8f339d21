/*
 * report_row.h - one row of a DMARC aggregate report (RFC 9990 record)
 *
 * report_row.c owns struct report_row, the text form a row has in the
 * state store (one line of "name=value" fields split by tabs, values
 * percent-encoded), and the one parser of that form. Two messages whose
 * rows have the same text are counted together: the text is the
 * report's grouping key (source IP, identifiers, results, disposition,
 * reasons, and the policy as published).
 */
#ifndef AUTHTAG_REPORT_ROW_H
#define AUTHTAG_REPORT_ROW_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

struct strbuf;

#define REPORT_DKIM_MAX 8    /* DKIM results kept per row */
#define REPORT_REASONS_MAX 4 /* policy override reasons per row */

/* the DMARC Policy Record as published (RFC 9990 policy_published) */
struct report_policy {
	char domain[RES_DOMAIN_MAX]; /* where the record was found */
	char p[16], sp[16], np[16];  /* none quarantine reject; "" absent */
	char adkim, aspf;            /* 'r' or 's' */
	char fo[32];                 /* fo= as published, "" absent */
	char testing;                /* 'y' or 'n' */
	char discovery[12];          /* "treewalk" or "psl" */
	char rua[512];               /* rua= as published */
};

struct report_dkim {
	char domain[RES_DOMAIN_MAX];
	char selector[RES_SELECTOR_MAX];
	char result[16]; /* RFC 8601 keyword */
};

struct report_reason {
	char type[24]; /* local_policy, policy_test_mode, ... */
	char comment[RES_REASON_MAX];
};

struct report_row {
	struct report_policy pol;
	char source_ip[64];
	char header_from[RES_DOMAIN_MAX];
	char envelope_from[RES_DOMAIN_MAX]; /* "" for the null sender */
	char envelope_to[RES_DOMAIN_MAX];   /* "" unless ReportEnvelopeTo */
	char spf_domain[RES_DOMAIN_MAX];    /* "" when SPF was not checked */
	char spf_scope[8];                  /* "mfrom" or "helo" */
	char spf_result[16];
	struct report_dkim dkim[REPORT_DKIM_MAX];
	unsigned ndkim;
	char dmarc_dkim[8]; /* policy_evaluated: "pass" or "fail" */
	char dmarc_spf[8];
	char disposition[16]; /* applied: none pass quarantine reject */
	char requested[16];   /* what the policy asked: none quarantine
				 reject */
	struct report_reason reasons[REPORT_REASONS_MAX];
	unsigned nreasons;
};

/* report_row_format - append the row's text form to out */
void report_row_format(const struct report_row *row, struct strbuf *out);

/*
 * report_row_parse - read a row's text form (NUL-terminated)
 *
 * Returns 0, or -1 with *why set when the text is not a row of ours
 * (unknown version, a field too long, bad percent-encoding). Unknown
 * field names are ignored (a newer writer's extra fields).
 */
int report_row_parse(const char *text, struct report_row *row,
		     const char **why);

#endif
