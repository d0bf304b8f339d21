/*
 * report_xml.c - the XML of one DMARC aggregate report (RFC 9990)
 *
 * Owns the document's shape: feedback, version 1.0, report_metadata,
 * policy_published, then one record per entry, in the order and with
 * the names of the RFC's schema (namespace
 * urn:ietf:params:xml:ns:dmarc-2.0). Every value goes through xml_text
 * (escaped; octets XML 1.0 forbids dropped), and every value the schema
 * restricts to a list goes through xml_enum: a row is input that a
 * shared store may have had from another writer, so it is checked here
 * and not trusted.
 */
#include "build.h" /* first: feature macros */

#include <string.h>
#include <strings.h>

#include "report_xml.h"
#include "strbuf.h"

/* RFC 9990: at most 100 DKIM results per record */
#define XML_DKIM_MAX 100

/* xml_text - append s escaped for XML character data */
static void
xml_text(struct strbuf *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&':
			sb_puts(out, "&amp;");
			break;
		case '<':
			sb_puts(out, "&lt;");
			break;
		case '>':
			sb_puts(out, "&gt;");
			break;
		case '"':
			sb_puts(out, "&quot;");
			break;
		case '\'':
			sb_puts(out, "&apos;");
			break;
		default:
			/* XML 1.0 Char: no C0 control but TAB and LF; an
			 * 8-bit octet may not be UTF-8 (the document says it
			 * is): "?" keeps the document well-formed */
			if (*p >= 0x80)
				sb_putc(out, '?');
			else if (*p >= 0x20 || *p == '\t' || *p == '\n')
				sb_putc(out, (char)*p);
			break;
		}
	}
}

/* xml_elem - <name>text</name> at an indentation; empty text: nothing */
static void
xml_elem(struct strbuf *out, int depth, const char *name, const char *text)
{
	if (text == NULL || text[0] == '\0')
		return;
	sb_printf(out, "%*s<%s>", depth * 2, "", name);
	xml_text(out, text);
	sb_printf(out, "</%s>\n", name);
}

/* xml_enum - v when it is one of the allowed words, else fallback */
static const char *
xml_enum(const char *v, const char *const *allowed, const char *fallback)
{
	for (; *allowed != NULL; allowed++)
		if (strcmp(v, *allowed) == 0)
			return v;
	return fallback;
}

static const char *const xml_policies[] = {"none", "quarantine", "reject",
					   NULL};
static const char *const xml_actions[] = {"none", "pass", "quarantine",
					  "reject", NULL};
static const char *const xml_passfail[] = {"pass", "fail", NULL};
static const char *const xml_dkim_results[] = {
    "none", "pass", "fail", "policy", "neutral", "temperror", "permerror",
    NULL};
static const char *const xml_spf_results[] = {
    "none",    "pass",      "fail",      "softfail", "policy",
    "neutral", "temperror", "permerror", NULL};
static const char *const xml_reasons[] = {
    "local_policy",     "mailing_list",      "other",
    "policy_test_mode", "trusted_forwarder", NULL};
static const char *const xml_discovery[] = {"psl", "treewalk", NULL};

/* xml_flag - one letter of a restricted pair ("rs" for adkim/aspf, "ny"
 * for testing); NULL when the row holds neither (element left out) */
static const char *
xml_flag(char c, const char *pair)
{
	if (c == '\0' || strchr(pair, c) == NULL)
		return NULL;
	switch (c) {
	case 'r':
		return "r";
	case 's':
		return "s";
	case 'n':
		return "n";
	default:
		return "y";
	}
}

/* xml_req - a required element: written even when its text is empty */
static void
xml_req(struct strbuf *out, int depth, const char *name, const char *text)
{
	sb_printf(out, "%*s<%s>", depth * 2, "", name);
	xml_text(out, text != NULL ? text : "");
	sb_printf(out, "</%s>\n", name);
}

/* xml_policy - the policy_published element */
static void
xml_policy(struct strbuf *out, const struct report_policy *pol)
{
	const char *f;

	sb_puts(out, "  <policy_published>\n");
	xml_req(out, 2, "domain", pol->domain);
	xml_elem(out, 2, "discovery_method",
		 xml_enum(pol->discovery, xml_discovery, ""));
	xml_elem(out, 2, "p", xml_enum(pol->p, xml_policies, "none"));
	xml_elem(out, 2, "sp", xml_enum(pol->sp, xml_policies, ""));
	xml_elem(out, 2, "np", xml_enum(pol->np, xml_policies, ""));
	xml_elem(out, 2, "fo", pol->fo);
	if ((f = xml_flag(pol->adkim, "rs")) != NULL)
		xml_elem(out, 2, "adkim", f);
	if ((f = xml_flag(pol->aspf, "rs")) != NULL)
		xml_elem(out, 2, "aspf", f);
	if ((f = xml_flag(pol->testing, "ny")) != NULL)
		xml_elem(out, 2, "testing", f);
	sb_puts(out, "  </policy_published>\n");
}

/* xml_aligned - is d the header_from domain, or one a subdomain of the
 * other at a label boundary? (the relaxed alignment of RFC 9989 needs
 * the Organizational Domain; for ordering the signatures as RFC 9990
 * asks, this approximation is enough) */
static bool
xml_aligned(const char *d, const char *from, bool strict)
{
	size_t dl = strlen(d), fl = strlen(from);

	if (strcasecmp(d, from) == 0)
		return true;
	if (strict)
		return false;
	if (dl > fl)
		return d[dl - fl - 1] == '.' && strcasecmp(d + dl - fl, from) == 0;
	if (fl > dl)
		return from[fl - dl - 1] == '.' &&
		       strcasecmp(from + fl - dl, d) == 0;
	return false;
}

/* xml_dkim_rank - RFC 9990's order: strict-aligned pass, relaxed pass,
 * other passes, then the rest */
static int
xml_dkim_rank(const struct report_dkim *k, const char *from)
{
	if (strcmp(k->result, "pass") != 0)
		return 3;
	if (xml_aligned(k->domain, from, true))
		return 0;
	if (xml_aligned(k->domain, from, false))
		return 1;
	return 2;
}

/* xml_record - one record */
static void
xml_record(struct strbuf *out, const struct report_entry *e)
{
	const struct report_row *r = e->row;
	unsigned shown = 0;

	sb_puts(out, "  <record>\n    <row>\n");
	xml_req(out, 3, "source_ip", r->source_ip);
	sb_printf(out, "      <count>%lld</count>\n", (long long)e->count);
	sb_puts(out, "      <policy_evaluated>\n");
	xml_elem(out, 4, "disposition",
		 xml_enum(r->disposition, xml_actions, "none"));
	xml_elem(out, 4, "dkim", xml_enum(r->dmarc_dkim, xml_passfail, "fail"));
	xml_elem(out, 4, "spf", xml_enum(r->dmarc_spf, xml_passfail, "fail"));
	for (unsigned i = 0; i < r->nreasons && i < REPORT_REASONS_MAX; i++) {
		sb_puts(out, "        <reason>\n");
		xml_elem(out, 5, "type",
			 xml_enum(r->reasons[i].type, xml_reasons, "other"));
		xml_elem(out, 5, "comment", r->reasons[i].comment);
		sb_puts(out, "        </reason>\n");
	}
	sb_puts(out, "      </policy_evaluated>\n    </row>\n");
	sb_puts(out, "    <identifiers>\n");
	xml_req(out, 3, "header_from", r->header_from);
	xml_elem(out, 3, "envelope_from", r->envelope_from);
	xml_elem(out, 3, "envelope_to", r->envelope_to);
	sb_puts(out, "    </identifiers>\n    <auth_results>\n");
	for (int rank = 0; rank <= 3; rank++)
		for (unsigned i = 0; i < r->ndkim && i < REPORT_DKIM_MAX &&
				     shown < XML_DKIM_MAX;
		     i++) {
			const struct report_dkim *k = &r->dkim[i];

			if (k->domain[0] == '\0' ||
			    xml_dkim_rank(k, r->header_from) != rank)
				continue;
			sb_puts(out, "      <dkim>\n");
			xml_req(out, 4, "domain", k->domain);
			xml_req(out, 4, "selector", k->selector);
			xml_elem(out, 4, "result",
				 xml_enum(k->result, xml_dkim_results,
					  "permerror"));
			sb_puts(out, "      </dkim>\n");
			shown++;
		}
	if (r->spf_domain[0] != '\0') {
		sb_puts(out, "      <spf>\n");
		xml_req(out, 4, "domain", r->spf_domain);
		xml_elem(out, 4, "scope", "mfrom");
		xml_elem(out, 4, "result",
			 xml_enum(r->spf_result, xml_spf_results, "none"));
		sb_puts(out, "      </spf>\n");
	}
	sb_puts(out, "    </auth_results>\n  </record>\n");
}

/* report_xml - see report_xml.h */
void
report_xml(const struct report_meta *meta, const struct report_policy *pol,
	   const struct report_entry *entries, size_t n, struct strbuf *out)
{
	sb_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		     "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n"
		     "  <version>1.0</version>\n"
		     "  <report_metadata>\n");
	xml_req(out, 2, "org_name", meta->org_name);
	xml_req(out, 2, "email", meta->email);
	if (meta->extra_contact_info != NULL)
		xml_elem(out, 2, "extra_contact_info", meta->extra_contact_info);
	xml_req(out, 2, "report_id", meta->report_id);
	sb_printf(out,
		  "    <date_range>\n      <begin>%lld</begin>\n"
		  "      <end>%lld</end>\n    </date_range>\n",
		  (long long)meta->begin, (long long)meta->end);
	if (meta->error != NULL)
		xml_elem(out, 2, "error", meta->error);
	if (meta->generator != NULL)
		xml_elem(out, 2, "generator", meta->generator);
	sb_puts(out, "  </report_metadata>\n");
	xml_policy(out, pol);
	for (size_t i = 0; i < n; i++)
		xml_record(out, &entries[i]);
	sb_puts(out, "</feedback>\n");
}
