/*
 * report_mail.h - a report as mail: its file name, gzip, the message
 *
 * report_mail.c owns RFC 9990's "Email" section: the attachment's file
 * name, the gzip (RFC 1952) of the XML, and the RFC 5322 / MIME message
 * that sendmail(1) is handed, with the Subject, Report-ID and a
 * Message-ID that a resend repeats. No I/O.
 */
#ifndef AUTHTAG_REPORT_MAIL_H
#define AUTHTAG_REPORT_MAIL_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/*
 * report_filename - receiver!policy-domain!begin!end[!unique-id].xml.gz
 * (unique_id NULL or "": none)
 */
void report_filename(const char *receiver, const char *policy_domain,
		     int64_t begin, int64_t end, const char *unique_id,
		     struct strbuf *out);

/* report_gzip - the gzip of in, appended to out; 0, or -1 */
int report_gzip(const void *in, size_t len, struct strbuf *out);

struct report_mailinfo {
	const char *from;      /* ReportEmail, a bare address */
	const char *org_name;  /* its display name */
	const char *to;        /* the destination, a bare address */
	const char *bcc;       /* unused in the header (sendmail gets it) */
	const char *policy_domain, *submitter; /* the Subject */
	const char *report_id; /* ridtxt; also makes the Message-ID */
	const char *filename;  /* the attachment's name */
	int64_t date;          /* Date:, seconds since the epoch */
	int64_t begin, end;    /* for the text part */
};

/* report_mail - the whole message, LF line ends, appended to out */
void report_mail(const struct report_mailinfo *mi, const void *gz,
		 size_t gzlen, struct strbuf *out);

#endif
