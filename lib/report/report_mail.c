/*
 * report_mail.c - a report as mail (RFC 9990 "Email"): file name, gzip,
 * the MIME message
 *
 * Owns the message's shape: From (ReportEmail with the organisation's
 * name), To, Subject as the RFC's ABNF has it (folded), Date,
 * Message-ID made from the Report-ID (a resend carries the same one),
 * and a multipart/mixed body: a short text part and the report as
 * application/gzip, base64. Values from the store or the configuration
 * are stripped of CR, LF and other controls before they enter a header.
 */
#include "build.h" /* first: feature macros */

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "report_mail.h"
#include "strbuf.h"

/* rm_safe - append s without control characters (header safety) */
static void
rm_safe(struct strbuf *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;
	     p++)
		if (*p >= 0x20 && *p != 0x7f)
			sb_putc(out, (char)*p);
}

/* report_filename - see report_mail.h */
void
report_filename(const char *receiver, const char *policy_domain,
		int64_t begin, int64_t end, const char *unique_id,
		struct strbuf *out)
{
	/* the ABNF allows only a domain-name, digits and ALPHA/DIGIT: keep
	 * to those, so no "/" or quote can reach a file name */
	const char *parts[2] = {receiver, policy_domain};

	for (int k = 0; k < 2; k++) {
		for (const char *p = parts[k]; *p; p++)
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
			    *p == '_')
				sb_putc(out, *p);
		sb_putc(out, '!');
	}
	sb_printf(out, "%lld!%lld", (long long)begin, (long long)end);
	if (unique_id != NULL && unique_id[0] != '\0') {
		sb_putc(out, '!');
		for (const char *p = unique_id; *p; p++)
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9'))
				sb_putc(out, *p);
	}
	sb_puts(out, ".xml.gz");
}

/* report_gzip - see report_mail.h */
int
report_gzip(const void *in, size_t len, struct strbuf *out)
{
	z_stream z;
	unsigned char buf[16384];
	int rc;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip wrapper (RFC 1952), not zlib's */
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -1;
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	if ((size_t)z.avail_in != len) { /* more than 4 GiB: not ours */
		deflateEnd(&z);
		return -1;
	}
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		rc = deflate(&z, Z_FINISH);
		if (rc == Z_STREAM_ERROR) {
			deflateEnd(&z);
			return -1;
		}
		sb_putn(out, buf, sizeof(buf) - z.avail_out);
	} while (rc != Z_STREAM_END);
	deflateEnd(&z);
	return sb_failed(out) ? -1 : 0;
}

/* rm_base64 - base64 (RFC 2045) in lines of 76 */
static void
rm_base64(struct strbuf *out, const unsigned char *p, size_t n)
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t col = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		sb_putc(out, al[(v >> 18) & 63]);
		sb_putc(out, al[(v >> 12) & 63]);
		sb_putc(out, i + 1 < n ? al[(v >> 6) & 63] : '=');
		sb_putc(out, i + 2 < n ? al[v & 63] : '=');
		if ((col += 4) >= 76) {
			sb_putc(out, '\n');
			col = 0;
		}
	}
	if (col > 0)
		sb_putc(out, '\n');
}

/* rm_date - an RFC 5322 date-time in UTC */
static void
rm_date(struct strbuf *out, int64_t t)
{
	static const char *const day[] = {"Sun", "Mon", "Tue", "Wed",
					  "Thu", "Fri", "Sat"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr",
					  "May", "Jun", "Jul", "Aug",
					  "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	sb_printf(out, "%s, %02d %s %04d %02d:%02d:%02d +0000",
		  day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon],
		  tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* rm_iso - an ISO 8601 UTC time, for the text part */
static void
rm_iso(struct strbuf *out, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];

	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sb_puts(out, buf);
}

/* rm_phrase - a display name as a quoted-string */
static void
rm_phrase(struct strbuf *out, const char *s)
{
	sb_putc(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			continue;
		if (*p == '"' || *p == '\\')
			sb_putc(out, '\\');
		sb_putc(out, (char)*p);
	}
	sb_putc(out, '"');
}

/* report_mail - see report_mail.h */
void
report_mail(const struct report_mailinfo *mi, const void *gz, size_t gzlen,
	    struct strbuf *out)
{
	struct strbuf rid = STRBUF_INIT;
	const char *r;
	char boundary[96];

	/* ridtxt may come with its angle brackets: the Message-ID and the
	 * Subject add their own */
	rm_safe(&rid, mi->report_id);
	r = sb_str(&rid);
	if (r[0] == '<')
		r++;
	snprintf(boundary, sizeof(boundary), "=_authtag_report_%08lx",
		 (unsigned long)(mi->date & 0xffffffff));
	sb_puts(out, "From: ");
	if (mi->org_name != NULL && mi->org_name[0] != '\0') {
		rm_phrase(out, mi->org_name);
		sb_puts(out, " <");
		rm_safe(out, mi->from);
		sb_puts(out, ">\n");
	} else {
		rm_safe(out, mi->from);
		sb_putc(out, '\n');
	}
	sb_puts(out, "To: ");
	rm_safe(out, mi->to);
	/* RFC 9990's dmarc-subject, folded before each part */
	sb_puts(out, "\nSubject: Report Domain: ");
	rm_safe(out, mi->policy_domain);
	sb_puts(out, "\n Submitter: ");
	rm_safe(out, mi->submitter);
	sb_puts(out, "\n Report-ID: <");
	sb_putn(out, r, strcspn(r, ">"));
	sb_puts(out, ">\nDate: ");
	rm_date(out, mi->date);
	/* the same Report-ID gives the same Message-ID: a resend is
	 * recognisable as one (RFC 9990 suggests it) */
	sb_puts(out, "\nMessage-ID: <");
	sb_putn(out, r, strcspn(r, ">"));
	if (strchr(r, '@') == NULL) {
		sb_putc(out, '@');
		rm_safe(out, mi->submitter);
	}
	sb_puts(out, ">\nMIME-Version: 1.0\n");
	sb_printf(out,
		  "Content-Type: multipart/mixed; boundary=\"%s\"\n"
		  "Auto-Submitted: auto-generated\n\n"
		  "This is a DMARC aggregate report (RFC 9990) in MIME format.\n"
		  "\n--%s\n"
		  "Content-Type: text/plain; charset=us-ascii\n\n"
		  "DMARC aggregate report for ",
		  boundary, boundary);
	rm_safe(out, mi->policy_domain);
	sb_puts(out, " from ");
	rm_safe(out, mi->submitter);
	sb_puts(out, ",\nmessages received from ");
	rm_iso(out, mi->begin);
	sb_puts(out, " to ");
	rm_iso(out, mi->end);
	sb_puts(out, ".\nReport-ID: ");
	sb_putn(out, r, strcspn(r, ">"));
	sb_printf(out, "\n\n--%s\nContent-Type: application/gzip; name=\"",
		  boundary);
	rm_safe(out, mi->filename);
	sb_puts(out, "\"\nContent-Transfer-Encoding: base64\n"
		     "Content-Disposition: attachment; filename=\"");
	rm_safe(out, mi->filename);
	sb_puts(out, "\"\n\n");
	rm_base64(out, gz, gzlen);
	sb_printf(out, "\n--%s--\n", boundary);
	sb_free(&rid);
}
