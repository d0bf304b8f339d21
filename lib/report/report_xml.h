/*
 * report_xml.h - the XML of one DMARC aggregate report (RFC 9990)
 *
 * report_xml.c owns the document: the elements, their order, and that
 * every value in it is valid for the RFC's schema (Appendix A) and
 * escaped for XML, whatever the mail and the DNS put in the rows.
 */
#ifndef AUTHTAG_REPORT_XML_H
#define AUTHTAG_REPORT_XML_H

#include <stddef.h>
#include <stdint.h>

#include "report_row.h"

struct strbuf;

struct report_meta {
	const char *org_name, *email;
	const char *extra_contact_info; /* NULL: none */
	const char *report_id;          /* ridtxt */
	const char *generator;          /* "authtag 0.1.0", NULL: none */
	int64_t begin, end;             /* date_range */
	const char *error;              /* NULL: none */
};

/* one <record>: a row and how many messages it stands for */
struct report_entry {
	const struct report_row *row;
	int64_t count;
};

/* report_xml - the RFC 9990 XML of one report, appended to out */
void report_xml(const struct report_meta *meta,
		const struct report_policy *pol,
		const struct report_entry *entries, size_t n,
		struct strbuf *out);

#endif
