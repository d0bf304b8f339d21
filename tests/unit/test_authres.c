/*
 * test_authres.c - cmocka tests of lib/authres.c (RFC 8601 header)
 *
 * The expected header texts are written by hand from RFC 8601 and
 * DESIGN.md: results in the order auth, spf, dkim, dmarc, one per line
 * after the authserv-id, a result longer than 78 characters folded at the
 * spaces between its parts. The injection cases check what a procmail
 * rule or an RFC 8601 parser downstream would see: one result per method
 * we computed, no line break from data, every line within limits. A small
 * independent RFC 8601 parser (t_parse) re-reads each header.
 * ar_is_ours is checked with case, comments, folding, versions and ids
 * that are nearly ours.
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "authres.h"

#define SET(field, text) snprintf((field), sizeof(field), "%s", (text))

/* --- a test-side RFC 8601 reader, independent of lib/authres.c --- */

struct t_prop {
	char name[64];
	char value[1024];
};

struct t_res {
	char method[32];
	char result[32];
	struct t_prop props[16];
	int nprops;
};

struct t_hdr {
	char id[1024];
	bool none;
	int nres;
	struct t_res res[32];
};

/* t_cfws - skip blanks, line breaks and nested comments */
static const char *
t_cfws(const char *p)
{
	int depth = 0;

	for (; *p != '\0'; p++) {
		if (depth > 0 && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !strchr(" \t\r\n", *p))
			return p;
	}
	return depth == 0 ? p : NULL;
}

/* t_word - a run of keyword characters (method, ptype.property, result) */
static const char *
t_word(const char *p, char *out, size_t size)
{
	size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");

	if (p == NULL || n == 0 || n >= size)
		return NULL;
	memcpy(out, p, n);
	out[n] = '\0';
	return p + n;
}

/* t_value - a quoted-string (decoded) or a bare pvalue */
static const char *
t_value(const char *p, char *out, size_t size)
{
	size_t n = 0;

	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0')
				return NULL;
			if (*p == '\\')
				p++;
			if (n + 1 >= size)
				return NULL;
			out[n++] = *p;
		}
		p++;
		/* a quoted local-part followed by @domain */
		while (*p != '\0' && !strchr(" \t\r\n(;\"", *p) && n + 1 < size)
			out[n++] = *p++;
	} else {
		while (*p != '\0' && !strchr(" \t\r\n(;\"", *p) && n + 1 < size)
			out[n++] = *p++;
	}
	out[n] = '\0';
	return n > 0 ? p : NULL;
}

/* t_parse - read an A-R value into h; -1 if it breaks the grammar */
static int
t_parse(const char *v, struct t_hdr *h)
{
	const char *p = t_cfws(v);

	memset(h, 0, sizeof(*h));
	if (p == NULL || (p = t_value(p, h->id, sizeof(h->id))) == NULL)
		return -1;
	if ((p = t_cfws(p)) == NULL)
		return -1;
	while (*p != '\0') {
		struct t_res *r = &h->res[h->nres];

		if (*p != ';' || h->nres == 32 || h->none)
			return -1;
		p = t_cfws(p + 1);
		if ((p = t_word(p, r->method, sizeof(r->method))) == NULL)
			return -1;
		p = t_cfws(p);
		if (p == NULL)
			return -1;
		if (strcmp(r->method, "none") == 0 && h->nres == 0 &&
		    *p == '\0') {
			h->none = true;
			break;
		}
		if (*p != '=' || (p = t_cfws(p + 1)) == NULL)
			return -1;
		if ((p = t_word(p, r->result, sizeof(r->result))) == NULL)
			return -1;
		for (;;) {
			struct t_prop *pr = &r->props[r->nprops];

			if ((p = t_cfws(p)) == NULL)
				return -1;
			if (*p == ';' || *p == '\0')
				break;
			if (r->nprops == 16)
				return -1;
			p = t_word(p, pr->name, sizeof(pr->name));
			if (p == NULL || *p != '=')
				return -1;
			p = t_value(p + 1, pr->value, sizeof(pr->value));
			if (p == NULL)
				return -1;
			r->nprops++;
		}
		h->nres++;
	}
	return 0;
}

/* t_count - how many results of this method */
static int
t_count(const struct t_hdr *h, const char *method)
{
	int n = 0;

	for (int i = 0; i < h->nres; i++)
		n += strcmp(h->res[i].method, method) == 0;
	return n;
}

/* t_prop - a property's decoded value, or NULL */
static const char *
t_prop(const struct t_res *r, const char *name)
{
	for (int i = 0; i < r->nprops; i++)
		if (strcmp(r->props[i].name, name) == 0)
			return r->props[i].value;
	return NULL;
}

/* t_count_str - occurrences of needle in hay */
static int
t_count_str(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/*
 * t_check_lines - what every header must satisfy: 7-bit, no CR, each LF
 * followed by a tab, no line over 998 (the first counted with the field
 * name), lines over 78 only when they hold a single unfoldable part
 */
static void
t_check_lines(const char *v)
{
	size_t col = strlen("Authentication-Results: ");
	const char *line = v;

	for (const char *p = v;; p++) {
		if (*p == '\n' || *p == '\0') {
			size_t len = col + (size_t)(p - line);

			assert_true(len <= 998);
			if (len > 78 && line != v) {
				/* one part alone: no space outside quotes */
				bool q = false;

				for (const char *s = line + 1; s < p; s++) {
					if (*s == '\\')
						s++;
					else if (*s == '"')
						q = !q;
					else
						assert_false(*s == ' ' && !q);
				}
			}
			if (*p == '\0')
				break;
			assert_int_equal(p[1], '\t');
			line = p + 1;
			col = 0;
			continue;
		}
		assert_true((unsigned char)*p >= 0x20 || *p == '\t');
		assert_true((unsigned char)*p < 0x7f);
	}
}

/* t_format - format, check the universal properties, parse */
static char *
t_format(const char *id, const struct auth_results *res, struct t_hdr *h)
{
	char *v = ar_format(id, res);

	assert_non_null(v);
	t_check_lines(v);
	assert_int_equal(t_parse(v, h), 0);
	assert_true(ar_is_ours(v, id));
	return v;
}

static struct dkim_outcome *
t_add_dkim(struct auth_results *res)
{
	struct dkim_outcome *d;

	res->dkim = realloc(res->dkim, (res->ndkim + 1) * sizeof(*d));
	assert_non_null(res->dkim);
	d = &res->dkim[res->ndkim++];
	memset(d, 0, sizeof(*d));
	return d;
}

static void
t_dkim_example(struct dkim_outcome *d)
{
	d->result = RES_PASS;
	d->keybits = 2048;
	SET(d->domain, "example.com");
	SET(d->identity, "@example.com");
	SET(d->selector, "sel1");
	SET(d->algorithm, "rsa-sha256");
	SET(d->b, "AbCdEfGh");
}

static void
t_dmarc_example(struct dmarc_outcome *dm, enum ar_result r, const char *p,
		const char *from)
{
	dm->checked = true;
	dm->result = r;
	SET(dm->policy, p);
	SET(dm->disposition, r == RES_PASS ? "none" : p);
	SET(dm->from_domain, from);
}

/* --- typical headers --- */

static void
test_typical(void **state)
{
	struct auth_results res = {0};
	struct t_hdr h;
	char *v;

	(void)state;
	res.spf_mailfrom.checked = true;
	res.spf_mailfrom.result = RES_PASS;
	SET(res.spf_mailfrom.identity, "user@example.com");
	SET(res.spf_mailfrom.domain, "example.com");
	t_dkim_example(t_add_dkim(&res));
	t_dmarc_example(&res.dmarc, RES_PASS, "reject", "example.com");
	SET(res.dmarc.subpolicy, "reject");

	v = t_format("mx.example.org", &res, &h);
	assert_string_equal(
	    v, "mx.example.org;\n"
	       "\tspf=pass smtp.mailfrom=user@example.com;\n"
	       "\tdkim=pass (2048-bit key) header.d=example.com "
	       "header.i=@example.com\n"
	       "\theader.s=sel1 header.a=rsa-sha256 header.b=AbCdEfGh;\n"
	       "\tdmarc=pass (p=reject sp=reject dis=none) "
	       "header.from=example.com");
	assert_int_equal(h.nres, 3);
	assert_string_equal(h.id, "mx.example.org");
	assert_string_equal(h.res[1].method, "dkim");
	assert_string_equal(t_prop(&h.res[1], "header.b"), "AbCdEfGh");
	/* what procmail recipes match */
	assert_non_null(strstr(v, "spf=pass"));
	assert_non_null(strstr(v, "dkim=pass"));
	assert_non_null(strstr(v, "dmarc=pass"));
	free(v);
	auth_results_free(&res);
}

static void
test_nothing(void **state)
{
	struct auth_results res = {0};
	struct t_hdr h;
	char *v;

	(void)state;
	v = t_format("mx.example.org", &res, &h);
	assert_string_equal(v, "mx.example.org; none");
	assert_true(h.none);
	free(v);
	v = t_format("mx.example.org", NULL, &h);
	assert_string_equal(v, "mx.example.org; none");
	free(v);
	/* ndkim without an array is no signature */
	res.ndkim = 3;
	v = t_format("mx.example.org", &res, &h);
	assert_string_equal(v, "mx.example.org; none");
	free(v);
}

static void
test_errors(void **state)
{
	struct auth_results res = {0};
	struct t_hdr h;
	char *v;

	(void)state;
	res.spf_mailfrom.checked = true;
	res.spf_mailfrom.result = RES_PERMERROR;
	SET(res.spf_mailfrom.identity, "user@example.com");
	SET(res.spf_mailfrom.reason, "too many DNS lookups");
	res.dmarc.checked = true;
	res.dmarc.result = RES_PERMERROR;
	SET(res.dmarc.reason, "multiple From domains");

	v = t_format("mx.example.org", &res, &h);
	assert_string_equal(v, "mx.example.org;\n"
			       "\tspf=permerror (too many DNS lookups) "
			       "smtp.mailfrom=user@example.com;\n"
			       "\tdkim=none;\n"
			       "\tdmarc=permerror (multiple From domains)");
	assert_int_equal(h.nres, 3);
	free(v);
}

static void
test_auth_helo_dkim_mix(void **state)
{
	struct auth_results res = {0};
	struct dkim_outcome *d;
	struct t_hdr h;
	char *v;

	(void)state;
	SET(res.auth_user, "alice");
	res.spf_helo.checked = true;
	res.spf_helo.result = RES_NONE;
	SET(res.spf_helo.identity, "mail.example.com");
	d = t_add_dkim(&res);
	t_dkim_example(d);
	d->result = RES_FAIL;
	SET(d->reason, "body hash mismatch");
	d = t_add_dkim(&res);
	d->result = RES_PASS;
	SET(d->domain, "example.net");
	SET(d->identity, "@example.net");
	SET(d->selector, "ed");
	SET(d->algorithm, "ed25519-sha256");
	SET(d->b, "Xy+z/Abc");

	v = t_format("mx.example.org", &res, &h);
	assert_string_equal(
	    v, "mx.example.org;\n"
	       "\tauth=pass smtp.auth=alice;\n"
	       "\tspf=none smtp.helo=mail.example.com;\n"
	       "\tdkim=fail (2048-bit key; body hash mismatch) "
	       "header.d=example.com\n"
	       "\theader.i=@example.com header.s=sel1 header.a=rsa-sha256 "
	       "header.b=AbCdEfGh;\n"
	       "\tdkim=pass (ed25519 key) header.d=example.net "
	       "header.i=@example.net\n"
	       "\theader.s=ed header.a=ed25519-sha256 header.b=\"Xy+z/Abc\"");
	assert_int_equal(h.nres, 4);
	assert_int_equal(t_count(&h, "dkim"), 2);
	assert_string_equal(t_prop(&h.res[3], "header.b"), "Xy+z/Abc");
	free(v);
	auth_results_free(&res);
}

static void
test_trusted_dkim_only(void **state)
{
	struct auth_results res = {0};
	struct t_hdr h;
	char *v;

	(void)state;
	res.trusted = true;
	t_dkim_example(t_add_dkim(&res));
	v = t_format("mx.example.org", &res, &h);
	assert_string_equal(v,
			    "mx.example.org;\n"
			    "\tdkim=pass (2048-bit key) header.d=example.com "
			    "header.i=@example.com\n"
			    "\theader.s=sel1 header.a=rsa-sha256 "
			    "header.b=AbCdEfGh");
	assert_int_equal(h.nres, 1);
	free(v);
	auth_results_free(&res);
}

static void
test_pass_reason(void **state)
{
	struct auth_results res = {0};
	struct dkim_outcome *d;
	struct t_hdr h;
	char *v;

	(void)state;
	res.trusted = true;
	d = t_add_dkim(&res);
	t_dkim_example(d);
	SET(d->reason, "testing key");
	v = t_format("mx.example.org", &res, &h);
	assert_string_equal(v, "mx.example.org;\n"
			       "\tdkim=pass (2048-bit key; testing key) "
			       "header.d=example.com\n"
			       "\theader.i=@example.com header.s=sel1 "
			       "header.a=rsa-sha256 header.b=AbCdEfGh");
	free(v);
	auth_results_free(&res);
}

static void
test_dmarc_fail_comment(void **state)
{
	struct auth_results res = {0};
	struct t_hdr h;
	char *v;

	(void)state;
	t_dmarc_example(&res.dmarc, RES_FAIL, "reject", "example.com");
	/* p/sp/dis values that are not words are left out */
	SET(res.dmarc.subpolicy, "re ject");
	v = t_format("mx.example.org", &res, &h);
	assert_string_equal(v, "mx.example.org;\n"
			       "\tdkim=none;\n"
			       "\tdmarc=fail (p=reject dis=reject) "
			       "header.from=example.com");
	assert_non_null(strstr(v, "dmarc=fail"));
	free(v);
}

/* --- quoting and dropping --- */

static void
test_quoting(void **state)
{
	struct auth_results res = {0};
	struct dkim_outcome *d;
	struct t_hdr h;
	char *v;

	(void)state;
	res.spf_mailfrom.checked = true;
	res.spf_mailfrom.result = RES_PASS;
	/* "=" is atext, but never bare: the local-part is quoted */
	SET(res.spf_mailfrom.identity, "prvs=1234=user@example.com");
	res.spf_helo.checked = true;
	res.spf_helo.result = RES_NEUTRAL;
	SET(res.spf_helo.identity, "[192.0.2.1]");
	d = t_add_dkim(&res);
	d->result = RES_PERMERROR;
	SET(d->domain, "example.com");
	SET(d->selector, "a\"b\\c");
	SET(d->reason, "key (p=) \\ x; y");

	v = t_format("mx.example.org", &res, &h);
	assert_string_equal(
	    v, "mx.example.org;\n"
	       "\tspf=pass smtp.mailfrom=\"prvs\\=1234\\=user\"@example.com;\n"
	       "\tspf=neutral smtp.helo=\"[192.0.2.1]\";\n"
	       "\tdkim=permerror (key \\(p\\=\\) \\\\ x\\; y) "
	       "header.d=example.com header.s=\"a\\\"b\\\\c\"");
	assert_string_equal(t_prop(&h.res[0], "smtp.mailfrom"),
			    "prvs=1234=user@example.com");
	assert_string_equal(t_prop(&h.res[2], "header.s"), "a\"b\\c");
	free(v);

	/* an already quoted local-part keeps its meaning */
	SET(res.spf_mailfrom.identity, "\"john doe\"@example.com");
	res.spf_helo.checked = false;
	auth_results_free(&res);
	v = t_format("mx.example.org", &res, &h);
	assert_string_equal(v, "mx.example.org;\n"
			       "\tspf=pass "
			       "smtp.mailfrom=\"john doe\"@example.com;\n"
			       "\tdkim=none");
	free(v);
}

static void
test_inject_from_domain(void **state)
{
	struct auth_results res = {0};
	struct t_hdr h;
	char *v;

	(void)state;
	t_dmarc_example(&res.dmarc, RES_FAIL, "reject",
			"evil.test; dmarc=pass");
	v = t_format("mx.example.org", &res, &h);
	assert_string_equal(v, "mx.example.org;\n"
			       "\tdkim=none;\n"
			       "\tdmarc=fail (p=reject dis=reject) "
			       "header.from=\"evil.test\\; dmarc\\=pass\"");
	assert_int_equal(t_count_str(v, "dmarc="), 1);
	assert_null(strstr(v, "dmarc=pass"));
	assert_int_equal(h.nres, 2);
	assert_int_equal(t_count(&h, "dmarc"), 1);
	assert_string_equal(t_prop(&h.res[1], "header.from"),
			    "evil.test; dmarc=pass");
	free(v);

	/* the same attack through a local-part and a comment */
	res.spf_mailfrom.checked = true;
	res.spf_mailfrom.result = RES_FAIL;
	SET(res.spf_mailfrom.identity, "dmarc=pass@evil.test");
	SET(res.spf_mailfrom.reason, "x; dmarc=pass (y)");
	v = t_format("mx.example.org", &res, &h);
	assert_int_equal(t_count_str(v, "dmarc="), 1);
	assert_int_equal(h.nres, 3);
	assert_string_equal(t_prop(&h.res[0], "smtp.mailfrom"),
			    "dmarc=pass@evil.test");
	free(v);
}

static void
test_inject_crlf(void **state)
{
	struct auth_results res = {0};
	struct dkim_outcome *d;
	struct t_hdr h;
	char *v;

	(void)state;
	t_dmarc_example(&res.dmarc, RES_FAIL, "reject",
			"evil.test\r\nAuthentication-Results: mx.example.org; "
			"dmarc=pass");
	d = t_add_dkim(&res);
	t_dkim_example(d);
	d->result = RES_FAIL;
	SET(d->selector, "sel1\r\n\tX-Injected: yes");
	SET(d->reason, "bad\r\nkey\n");
	v = t_format("mx.example.org", &res, &h);
	assert_string_equal(v, "mx.example.org;\n"
			       "\tdkim=fail (2048-bit key; bad key) "
			       "header.d=example.com header.i=@example.com\n"
			       "\theader.a=rsa-sha256 header.b=AbCdEfGh;\n"
			       "\tdmarc=fail (p=reject dis=reject)");
	assert_null(strchr(v, '\r'));
	assert_null(strstr(v, "Injected"));
	assert_int_equal(t_count_str(v, "dmarc="), 1);
	assert_int_equal(h.nres, 2);
	free(v);
	auth_results_free(&res);
}

static void
test_selector_spaces(void **state)
{
	struct auth_results res = {0};
	struct dkim_outcome *d;
	struct t_hdr h;
	char *v;

	(void)state;
	d = t_add_dkim(&res);
	d->result = RES_PERMERROR;
	SET(d->domain, "example.com");
	SET(d->selector, "sel 1 header.d=bank.example");
	v = t_format("mx.example.org", &res, &h);
	assert_string_equal(v, "mx.example.org;\n"
			       "\tdkim=permerror header.d=example.com "
			       "header.s=\"sel 1 header.d\\=bank.example\"");
	assert_int_equal(h.res[0].nprops, 2);
	assert_string_equal(t_prop(&h.res[0], "header.d"), "example.com");
	free(v);
	auth_results_free(&res);
}

static void
test_non_ascii(void **state)
{
	struct auth_results res = {0};
	struct t_hdr h;
	char *v;

	(void)state;
	t_dmarc_example(&res.dmarc, RES_NONE, "", "ex\xc3\xa4mple.com");
	SET(res.dmarc.reason, "cl\xc3\xa9 absente");
	SET(res.auth_user, "j\xc3\xb6rg");
	v = t_format("mx.example.org", &res, &h);
	assert_string_equal(v, "mx.example.org;\n"
			       "\tauth=pass;\n"
			       "\tdkim=none;\n"
			       "\tdmarc=none (cl?? absente)");
	free(v);
}

static void
test_lengths(void **state)
{
	struct auth_results res = {0};
	struct t_hdr h;
	char *big, *v;

	(void)state;
	/* a 2,000-character authserv-id cannot be written at all */
	big = malloc(2001);
	assert_non_null(big);
	memset(big, 'a', 2000);
	big[2000] = '\0';
	errno = 0;
	assert_null(ar_format(big, &res));
	assert_int_equal(errno, EINVAL);
	assert_null(ar_format("", &res));
	assert_null(ar_format(NULL, &res));
	assert_null(ar_format("mx\r\n.example.org", &res));

	/* a domain filling its buffer with no NUL is dropped, not overrun */
	t_dmarc_example(&res.dmarc, RES_FAIL, "reject", "");
	memset(res.dmarc.from_domain, 'a', sizeof(res.dmarc.from_domain));
	memset(res.dmarc.reason, 'r', sizeof(res.dmarc.reason));
	/* an address over the value cap is dropped */
	res.spf_mailfrom.checked = true;
	memset(res.spf_mailfrom.identity, 'u', 400);
	memcpy(res.spf_mailfrom.identity + 400, "@example.com", 13);
	v = t_format("mx.example.org", &res, &h);
	assert_int_equal(h.nres, 3);
	assert_null(t_prop(&h.res[0], "smtp.mailfrom"));
	assert_null(t_prop(&h.res[2], "header.from"));
	assert_null(strstr(v, "aaaa"));
	free(v);

	/* a long but acceptable id: "none" moves to its own line */
	memset(big, 'a', 60);
	big[60] = '\0';
	v = t_format(big, NULL, &h);
	assert_int_equal(strlen(v), 60 + strlen(";\n\tnone"));
	assert_string_equal(v + 60, ";\n\tnone");
	free(v);
	free(big);
}

static void
test_folding_many(void **state)
{
	struct auth_results res = {0};
	char label[64], domain[RES_DOMAIN_MAX];
	struct t_hdr h;
	char *v;

	(void)state;
	memset(label, 'x', 63);
	label[63] = '\0';
	snprintf(domain, sizeof(domain), "%s.%s.example", label, label);
	for (int i = 0; i < 10; i++) {
		struct dkim_outcome *d = t_add_dkim(&res);

		t_dkim_example(d);
		SET(d->domain, domain);
		snprintf(d->identity, sizeof(d->identity), "@%s", domain);
		SET(d->reason, "signature and a long reason that goes on");
		d->result = i % 2 ? RES_PASS : RES_FAIL;
	}
	res.spf_mailfrom.checked = true;
	res.spf_mailfrom.result = RES_SOFTFAIL;
	snprintf(res.spf_mailfrom.identity, sizeof(res.spf_mailfrom.identity),
		 "someone.with.a.long.name@%s", domain);
	t_dmarc_example(&res.dmarc, RES_FAIL, "quarantine", domain);
	SET(res.dmarc.subpolicy, "none");

	v = t_format("mx.example.org", &res, &h);
	assert_int_equal(h.nres, 12);
	assert_int_equal(t_count(&h, "dkim"), 10);
	assert_int_equal(t_count(&h, "dmarc"), 1);
	assert_string_equal(t_prop(&h.res[11], "header.from"), domain);
	assert_string_equal(t_prop(&h.res[1], "header.d"), domain);
	assert_int_equal(t_count_str(v, "dkim=pass"), 5);
	assert_int_equal(t_count_str(v, "dkim=fail"), 5);
	free(v);
	auth_results_free(&res);
}

/* --- ar_is_ours --- */

static void
test_is_ours(void **state)
{
	const char *id = "mx.example.org";

	(void)state;
	assert_true(ar_is_ours("mx.example.org; spf=pass", id));
	assert_true(ar_is_ours("MX.Example.ORG; none", id));
	assert_true(ar_is_ours("mx.example.org;dkim=pass", id));
	assert_true(ar_is_ours(" mx.example.org ; dkim=pass", id));
	assert_true(
	    ar_is_ours("(c (nested) \\) x) mx.example.org(y); none", id));
	assert_true(ar_is_ours("\r\n\tmx.example.org;\r\n\tdkim=pass", id));
	assert_true(ar_is_ours("\n mx.example.org\n\t;\n\tdkim=pass", id));
	assert_true(ar_is_ours("mx.example.org 1; none", id));
	assert_true(ar_is_ours("mx.example.org (v) 1 (one); none", id));
	assert_true(ar_is_ours("\"mx.example.org\"; none", id));
	assert_true(ar_is_ours("\"mx.ex\\ample.org\"; none", id));
	assert_true(ar_is_ours("mx.example.org", id));
	assert_true(ar_is_ours("\"my host\"; none", "my host"));

	assert_false(ar_is_ours("mx.example.org.evil; none", id));
	assert_false(ar_is_ours("xmx.example.org; none", id));
	assert_false(ar_is_ours("mx.example.or; none", id));
	assert_false(ar_is_ours("mx.example.org1; none", id));
	/* malformed, but claiming our id: removed all the same */
	assert_true(ar_is_ours("mx.example.org/evil; none", id));
	assert_true(ar_is_ours("mx.example.org evil; none", id));
	assert_true(ar_is_ours("mx.example.org 1 2; none", id));
	assert_true(ar_is_ours("mx.example.org dmarc=pass", id));
	assert_true(ar_is_ours("mx.example.org, dmarc=pass", id));
	assert_true(ar_is_ours("MX.EXAMPLE.ORG.; dmarc=pass", id));
	assert_false(ar_is_ours("mx.example.org..; none", id));
	assert_false(ar_is_ours("\"mx.example.org \"; none", id));
	assert_false(ar_is_ours("\"mx.example.org", id));
	assert_false(ar_is_ours("(mx.example.org; none", id));
	assert_false(ar_is_ours("(x) (mx.example.org); none", id));
	assert_false(ar_is_ours("other.example; mx.example.org", id));
	assert_false(ar_is_ours("", id));
	assert_false(ar_is_ours("   \r\n\t", id));
	assert_false(ar_is_ours(";", id));
	assert_false(ar_is_ours("\x01\xff garbage", id));
	assert_false(ar_is_ours(NULL, id));
	assert_false(ar_is_ours("mx.example.org; none", ""));
	assert_false(ar_is_ours("mx.example.org; none", NULL));
}

/* every white space a reader may skip before the id: SpamAssassin's
 * AuthRes plugin uses Perl's \s (VT and FF too), a decoding reader
 * Unicode White_Space; and ARC-Authentication-Results after "i=N;" */
static void
test_is_ours_hostile(void **state)
{
	const char *id = "mx.example.org";
	static const char *const ours[] = {
	    "\vmx.example.org; dmarc=pass",
	    "\fmx.example.org; dmarc=pass",
	    " \v\f\t mx.example.org; dmarc=pass",
	    "\xa0mx.example.org; dmarc=pass",
	    "\x85mx.example.org; dmarc=pass",
	    "\xc2\xa0mx.example.org; dmarc=pass",
	    "\xe2\x80\x83mx.example.org; dmarc=pass",
	    "\xe2\x80\xa8mx.example.org; dmarc=pass",
	    "\xe3\x80\x80mx.example.org; dmarc=pass",
	    "(x)\v(y)\fmx.example.org.; dmarc=pass",
	    "\v\"MX.EXAMPLE.ORG\"; dmarc=pass",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (!ar_is_ours(ours[i], id))
			fail_msg("not recognised as ours: variant %zu", i);
	assert_false(ar_is_ours("\v\fother.example; dmarc=pass", id));
	assert_false(ar_is_ours("\xa0mx.example.org.evil; dmarc=pass", id));
	assert_false(ar_is_ours("\xc2mx.example.org; dmarc=pass", id));

	assert_true(ar_arc_is_ours("i=1; mx.example.org; dmarc=pass", id));
	assert_true(ar_arc_is_ours(" i = 2 ;\vMX.Example.Org.; dmarc=pass", id));
	assert_true(ar_arc_is_ours("\fi=1;\fmx.example.org; dmarc=pass", id));
	assert_true(ar_arc_is_ours("i=1 (c); (d) mx.example.org; spf=pass", id));
	assert_true(ar_arc_is_ours("mx.example.org; dmarc=pass", id));
	assert_false(ar_arc_is_ours("i=1; other.example; dmarc=pass", id));
	assert_false(ar_arc_is_ours("i=1; mx.example.org.evil; none", id));
	assert_false(ar_arc_is_ours("i=1", id));
	assert_false(ar_arc_is_ours("", id));
	assert_false(ar_arc_is_ours(NULL, id));
}

static void
test_is_ours_long(void **state)
{
	char *big = malloc(4001);

	(void)state;
	assert_non_null(big);
	memset(big, 'a', 4000);
	big[4000] = '\0';
	assert_false(ar_is_ours(big, "mx.example.org"));
	assert_true(ar_is_ours(big, big));
	/* deeply nested comment, then unterminated */
	memset(big, '(', 4000);
	assert_false(ar_is_ours(big, "mx.example.org"));
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_typical),
	    cmocka_unit_test(test_nothing),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_auth_helo_dkim_mix),
	    cmocka_unit_test(test_trusted_dkim_only),
	    cmocka_unit_test(test_pass_reason),
	    cmocka_unit_test(test_dmarc_fail_comment),
	    cmocka_unit_test(test_quoting),
	    cmocka_unit_test(test_inject_from_domain),
	    cmocka_unit_test(test_inject_crlf),
	    cmocka_unit_test(test_selector_spaces),
	    cmocka_unit_test(test_non_ascii),
	    cmocka_unit_test(test_lengths),
	    cmocka_unit_test(test_folding_many),
	    cmocka_unit_test(test_is_ours),
	    cmocka_unit_test(test_is_ours_long),
	    cmocka_unit_test(test_is_ours_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
