/*
 * test_report_xml.c - the report's XML, file name, gzip and mail
 *
 * Builds reports from rows as the store may hold them, hostile values
 * included (markup, control characters, 8-bit octets, values outside the
 * schema's lists), and checks what a receiver relies on: the DKIM
 * results in RFC 9990's order, restricted values mapped into the
 * schema's lists, the file name's ABNF, a gzip that inflates back to the
 * XML, and a mail whose Subject follows RFC 9990 and whose attachment
 * decodes to that gzip. With AUTHTAG_XML_DIR set, each XML is also
 * written there: tests/test_report_xml.sh validates them with xmllint
 * against the RFC's schema and counts their records.
 */
#include "build.h" /* first: feature macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "report/report_mail.h"
#include "report/report_row.h"
#include "report/report_xml.h"
#include "strbuf.h"

/* a_row - a row of example.com from ip */
static void
a_row(struct report_row *r, const char *ip)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->pol.domain, sizeof(r->pol.domain), "example.com");
	snprintf(r->pol.p, sizeof(r->pol.p), "reject");
	snprintf(r->pol.sp, sizeof(r->pol.sp), "quarantine");
	r->pol.adkim = 'r';
	r->pol.aspf = 's';
	r->pol.testing = 'n';
	snprintf(r->pol.discovery, sizeof(r->pol.discovery), "treewalk");
	snprintf(r->source_ip, sizeof(r->source_ip), "%s", ip);
	snprintf(r->header_from, sizeof(r->header_from), "example.com");
	snprintf(r->envelope_from, sizeof(r->envelope_from), "example.com");
	snprintf(r->spf_domain, sizeof(r->spf_domain), "example.com");
	snprintf(r->spf_scope, sizeof(r->spf_scope), "mfrom");
	snprintf(r->spf_result, sizeof(r->spf_result), "pass");
	snprintf(r->dmarc_dkim, sizeof(r->dmarc_dkim), "fail");
	snprintf(r->dmarc_spf, sizeof(r->dmarc_spf), "pass");
	snprintf(r->disposition, sizeof(r->disposition), "pass");
}

static void
a_dkim(struct report_row *r, const char *d, const char *s, const char *res)
{
	struct report_dkim *k = &r->dkim[r->ndkim++];

	snprintf(k->domain, sizeof(k->domain), "%s", d);
	snprintf(k->selector, sizeof(k->selector), "%s", s);
	snprintf(k->result, sizeof(k->result), "%s", res);
}

static const struct report_meta meta = {
    .org_name = "Example Org",
    .email = "dmarc-reports@mx.example.org",
    .report_id = "example.com.1796428800.k3j9@mx.example.org",
    .generator = "authtag test",
    .begin = 1796428800,
    .end = 1796515200,
};

/* save - the XML into $AUTHTAG_XML_DIR/NAME, when set */
static void
save(const char *name, const struct strbuf *xml)
{
	const char *dir = getenv("AUTHTAG_XML_DIR");
	char path[1024];
	FILE *fp;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(xml->s, 1, xml->len, fp), xml->len);
	assert_int_equal(fclose(fp), 0);
}

/* pos - where needle first is in hay, or -1 */
static long
pos(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	return p != NULL ? p - hay : -1;
}

/* DKIM results in the RFC's order: strictly aligned pass, relaxed
 * pass, other passes, the rest; two records with their counts */
static void
test_order_counts(void **state)
{
	struct report_row r[2];
	struct report_entry e[2] = {{&r[0], 7}, {&r[1], 3}};
	struct strbuf x = STRBUF_INIT;
	const char *s;

	(void)state;
	a_row(&r[0], "192.0.2.1");
	a_dkim(&r[0], "esp.example", "e1", "fail");
	a_dkim(&r[0], "other.example", "o1", "pass");
	a_dkim(&r[0], "mail.example.com", "m1", "pass");
	a_dkim(&r[0], "example.com", "s1", "pass");
	a_row(&r[1], "2001:db8::5");
	snprintf(r[1].disposition, sizeof(r[1].disposition), "none");
	r[1].nreasons = 1;
	snprintf(r[1].reasons[0].type, sizeof(r[1].reasons[0].type),
		 "local_policy");
	snprintf(r[1].reasons[0].comment, sizeof(r[1].reasons[0].comment),
		 "tagged, not rejected (tag mode)");
	report_xml(&meta, &r[0].pol, e, 2, &x);
	s = sb_str(&x);
	assert_true(pos(s, "<domain>example.com</domain>\n        <selector>s1") <
		    pos(s, "<selector>m1"));
	assert_true(pos(s, "<selector>m1") < pos(s, "<selector>o1"));
	assert_true(pos(s, "<selector>o1") < pos(s, "<selector>e1"));
	assert_true(pos(s, "<count>7</count>") > 0);
	assert_true(pos(s, "<count>3</count>") > 0);
	assert_true(pos(s, "xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\"") > 0);
	assert_true(pos(s, "<version>1.0</version>") > 0);
	assert_true(pos(s, "<sp>quarantine</sp>") > 0);
	assert_true(pos(s, "<discovery_method>treewalk</discovery_method>") > 0);
	save("order.xml", &x);
	sb_free(&x);
}

/* values from mail and DNS cannot break the document or the schema */
static void
test_hostile(void **state)
{
	struct report_row r;
	struct report_entry e = {&r, 1};
	struct strbuf x = STRBUF_INIT;
	const char *s;

	(void)state;
	a_row(&r, "192.0.2.9</source_ip><count>99");
	snprintf(r.header_from, sizeof(r.header_from),
		 "a&b<c>\"d'\x01\x1b\xff.example");
	snprintf(r.disposition, sizeof(r.disposition), "discard");
	snprintf(r.dmarc_dkim, sizeof(r.dmarc_dkim), "maybe");
	snprintf(r.pol.p, sizeof(r.pol.p), "bounce");
	snprintf(r.pol.np, sizeof(r.pol.np), "x");
	r.pol.adkim = 'q';
	r.pol.testing = 0;
	snprintf(r.pol.discovery, sizeof(r.pol.discovery), "dns");
	snprintf(r.spf_result, sizeof(r.spf_result), "pass;dmarc=ok");
	a_dkim(&r, "example.com", "", "excellent");
	r.nreasons = 1;
	snprintf(r.reasons[0].type, sizeof(r.reasons[0].type), "because");
	snprintf(r.reasons[0].comment, sizeof(r.reasons[0].comment),
		 "]]><x/>");
	report_xml(&meta, &r.pol, &e, 1, &x);
	s = sb_str(&x);
	assert_int_equal(pos(s, "<count>99"), -1);
	assert_true(pos(s, "a&amp;b&lt;c&gt;&quot;d&apos;?.example") > 0);
	assert_true(pos(s, "<disposition>none</disposition>") > 0);
	assert_true(pos(s, "<p>none</p>") > 0);
	assert_int_equal(pos(s, "<np>"), -1);
	assert_int_equal(pos(s, "<adkim>"), -1);
	assert_int_equal(pos(s, "<testing>"), -1);
	assert_int_equal(pos(s, "<discovery_method>"), -1);
	assert_true(pos(s, "<type>other</type>") > 0);
	assert_true(pos(s, "<result>permerror</result>") > 0);
	assert_true(pos(s, "<selector></selector>") > 0);
	assert_int_equal(pos(s, "<x/>"), -1);
	save("hostile.xml", &x);
	sb_free(&x);
}

/* no envelope_from (the null sender), envelope_to, no SPF, a test mode
 * reason: what the optional elements look like */
static void
test_optional(void **state)
{
	struct report_row r;
	struct report_entry e = {&r, 2};
	struct strbuf x = STRBUF_INIT;
	const char *s;

	(void)state;
	a_row(&r, "198.51.100.7");
	r.envelope_from[0] = '\0';
	r.spf_domain[0] = '\0';
	snprintf(r.envelope_to, sizeof(r.envelope_to), "dest.example.org");
	r.pol.testing = 'y';
	r.nreasons = 1;
	snprintf(r.reasons[0].type, sizeof(r.reasons[0].type),
		 "policy_test_mode");
	report_xml(&meta, &r.pol, &e, 1, &x);
	s = sb_str(&x);
	assert_int_equal(pos(s, "<envelope_from>"), -1);
	assert_true(pos(s, "<envelope_to>dest.example.org</envelope_to>") > 0);
	assert_int_equal(pos(s, "<spf>\n"), -1);
	assert_true(pos(s, "<testing>y</testing>") > 0);
	assert_int_equal(pos(s, "<comment>"), -1);
	save("optional.xml", &x);
	sb_free(&x);
}

/* inflate - gunzip gz into out */
static void
inflate_all(const struct strbuf *gz, struct strbuf *out)
{
	z_stream z;
	unsigned char buf[4096];
	int rc;

	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (unsigned char *)gz->s;
	z.avail_in = (uInt)gz->len;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		rc = inflate(&z, Z_NO_FLUSH);
		assert_true(rc == Z_OK || rc == Z_STREAM_END);
		sb_putn(out, buf, sizeof(buf) - z.avail_out);
	} while (rc != Z_STREAM_END);
	inflateEnd(&z);
}

/* b64val - a base64 digit's value, -1 for anything else */
static int
b64val(char c)
{
	const char *al =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c != '\0' ? strchr(al, c) : NULL;

	return p != NULL ? (int)(p - al) : -1;
}

/* the file name, the gzip, the mail */
static void
test_mail(void **state)
{
	struct report_row r;
	struct report_entry e = {&r, 1};
	struct strbuf x = STRBUF_INIT, gz = STRBUF_INIT, back = STRBUF_INIT;
	struct strbuf name = STRBUF_INIT, mail = STRBUF_INIT, dec = STRBUF_INIT;
	struct report_mailinfo mi = {
	    .from = "dmarc-reports@mx.example.org",
	    .org_name = "Example \"Org\"",
	    .to = "rua@example.com\r\nBcc: victim@example.net",
	    .policy_domain = "example.com",
	    .submitter = "mx.example.org",
	    .report_id = "<example.com.1796428800.k3j9@mx.example.org>",
	    .date = 1796515500,
	    .begin = 1796428800,
	    .end = 1796515200,
	};
	const char *s, *att;
	unsigned acc = 0;
	int bits = 0;

	(void)state;
	a_row(&r, "192.0.2.1");
	report_xml(&meta, &r.pol, &e, 1, &x);
	assert_int_equal(report_gzip(x.s, x.len, &gz), 0);
	inflate_all(&gz, &back);
	assert_int_equal(back.len, x.len);
	assert_memory_equal(back.s, x.s, x.len);

	report_filename("mx.example.org", "ex/am\"ple.com", 1796428800,
			1796515200, "k3j9", &name);
	assert_string_equal(sb_str(&name),
			    "mx.example.org!example.com!1796428800!1796515200!"
			    "k3j9.xml.gz");
	mi.filename = sb_str(&name);
	report_mail(&mi, gz.s, gz.len, &mail);
	s = sb_str(&mail);
	assert_true(pos(s, "\nSubject: Report Domain: example.com\n Submitter: "
			   "mx.example.org\n Report-ID: "
			   "<example.com.1796428800.k3j9@mx.example.org>\n") >
		    0);
	assert_true(pos(s, "\nMessage-ID: "
			   "<example.com.1796428800.k3j9@mx.example.org>\n") > 0);
	assert_true(pos(s, "From: \"Example \\\"Org\\\"\" "
			   "<dmarc-reports@mx.example.org>\n") == 0);
	/* a CR LF in a value cannot start a header of its own */
	assert_int_equal(pos(s, "\nBcc:"), -1);
	assert_true(pos(s, "\nDate: Sun, 06 Dec 2026 00:05:00 +0000\n") > 0);
	assert_true(pos(s, "Content-Type: application/gzip;") > 0);
	att = strstr(s, "filename=\"mx.example.org!example.com!1796428800!"
			"1796515200!k3j9.xml.gz\"\n\n");
	assert_non_null(att);
	for (att = strstr(att, "\n\n") + 2; *att != '\0' && *att != '-'; att++) {
		int v = b64val(*att);

		if (*att == '\n' || *att == '=')
			continue;
		assert_true(v >= 0);
		acc = acc << 6 | (unsigned)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			sb_putc(&dec, (char)(acc >> bits & 0xff));
		}
	}
	assert_int_equal(dec.len, gz.len);
	assert_memory_equal(dec.s, gz.s, gz.len);
	sb_free(&x);
	sb_free(&gz);
	sb_free(&back);
	sb_free(&name);
	sb_free(&mail);
	sb_free(&dec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_counts),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_optional),
	    cmocka_unit_test(test_mail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
