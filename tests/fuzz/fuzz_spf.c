/*
 * fuzz_spf.c - libFuzzer harness for lib/spf_parse.c (record terms and
 * macro expansion, RFC 7208 sections 4.6, 5, 6 and 7), with no DNS
 *
 * Input layout: one selector byte, the envelope sender up to the first
 * NUL, then the record text (the rest, NULs included, in a buffer of its
 * exact size so that a read past its end is caught). Each term goes
 * through spf_term_parse(); each domain-spec that parses is expanded as
 * spf.c would for the current domain, and the whole record is also
 * expanded as an explain-string, the exp= TXT text an attacker controls.
 * The selector picks the client address (IPv4, IPv6 in either case,
 * v4-mapped), the current domain (short, or long enough to force
 * section 7.3 truncation) and the %{p} value. spf_macro_p() lives in
 * spf.c with the DNS it needs, so this file supplies it: "unknown" or a
 * name, as spf.c returns without or with a validated PTR.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "fuzz_common.h"
#include "auth/spf.h"
#include "auth/spf_int.h"

static const char *const fz_clients[] = {
    "192.0.2.3",
    "2001:db8::cb01",
    "2001:DB8::CB01",
    "::ffff:192.0.2.3",
};

/* 4 long labels: 249 octets, so that expansions hit the 253 limit */
static const char fz_long_domain[] =
    "a123456789012345678901234567890123456789012345678901234567890.b1"
    "23456789012345678901234567890123456789012345678901234567890.c123"
    "456789012345678901234567890123456789012345678901234567890.d12345"
    "678901234567890123456789012345678901234567890.example.com";

/* spf_macro_p - %{p}: spf.c's answer without DNS (see the file comment) */
void
spf_macro_p(struct spf_ctx *ctx, const char *domain, char *dst, size_t dstsz)
{
	(void)domain;
	snprintf(dst, dstsz, "%s",
		 ctx->family == AF_INET ? "mx.email.example.com" : "unknown");
}

/* fz_check_name - an expanded name is one spf.c may ask DNS about */
static void
fz_check_name(const char *name, const char *domain)
{
	if (strlen(name) > 253 || !dns_name_valid(name))
		abort();
	(void)spf_name_under(name, domain);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	unsigned sel = fz_byte(&in);
	char *sender = fz_str(&in);
	struct spf_request req = {
	    .client_ip = fz_clients[sel % 4],
	    .helo = (sel & 4) ? "mail.example.org" : "",
	    .mail_from = sender,
	    .receiver = (sel & 8) ? "mx.example.net" : NULL,
	};
	struct spf_outcome out;
	struct spf_ctx ctx;
	const char *domain = (sel & 16) ? fz_long_domain : "email.example.com";
	const char *at, *p, *end, *s;
	char *rec, name[RES_DOMAIN_MAX], text[512], rev[80];
	size_t n, reclen = in.n;

	memset(&ctx, 0, sizeof ctx);
	memset(&out, 0, sizeof out);
	ctx.req = &req;
	ctx.out = &out;
	if (!spf_set_client(&ctx, req.client_ip))
		abort();
	spf_reverse_name(&ctx, rev, sizeof rev);
	/* as spf_check_host() sets up the sender macros */
	ctx.sender = sender;
	at = strrchr(sender, '@');
	ctx.local = sender;
	ctx.local_len = at ? (size_t)(at - sender) : 0;
	ctx.sdomain = at ? at + 1 : sender;
	if (ctx.local_len == 0) {
		ctx.local = "postmaster";
		ctx.local_len = 10;
	}

	rec = malloc(reclen ? reclen : 1);
	if (rec == NULL)
		abort();
	memcpy(rec, in.p, reclen);
	end = rec + reclen;
	for (p = rec; spf_next_term(&p, end, &s, &n);) {
		struct spf_term t;

		if (spf_term_parse(s, n, &t) != NULL || t.spec == NULL ||
		    t.kind == T_IP4 || t.kind == T_IP6)
			continue;
		if (t.spec < rec || t.spec + t.spec_len > end)
			abort();
		if (spf_expand_name(&ctx, domain, t.spec, t.spec_len, name,
				    sizeof name))
			fz_check_name(name, domain);
	}
	if (spf_expand_text(&ctx, domain, rec, reclen, text, sizeof text) ==
		0 &&
	    memchr(text, '\0', sizeof text) == NULL)
		abort();
	free(rec);
	free(sender);
	return 0;
}
