/*
 * dkim.c - DKIM verification (RFC 6376, RFC 8463, RFC 8301) on libopendkim
 *
 * Owns the process's one DKIM_LIB and the per-message DKIM handles. Every
 * library option and callback is set in dkim_verifier_new(), before any
 * thread exists, because dkim_options() writes the shared handle without a
 * lock. Key lookups never use the library's resolver (it shares one
 * unlocked res_state between threads): the dkim_dns_set_query_* callbacks
 * below answer them from lib/dns and hand the library a wire-format reply.
 *
 * Our policy on top of the library: a signature passes only when its
 * header signature verified, its body hash matched and no error was set;
 * rsa-sha1 never passes (RFC 8301); RSA keys under DKIMMinKeyBits give
 * "policy" (the library refuses them); at most DKIMMaxSignatures
 * signatures are looked at, the rest are ignored before any key lookup
 * and not reported.
 */
#include "build.h" /* first: feature macros */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <opendkim/dkim.h> /* lib/dkim.h shadows <dkim.h> */

#include "config.h"
#include "dkim.h"
#include "dkim_tags.h"
#include "dns/dns.h"
#include "strbuf.h"

#define DKIM_HDR_NAME     "DKIM-Signature"
#define DKIM_BODY_PIECE   8192 /* CRLF-converted body is fed in pieces */
#define DKIM_DNS_HDRLEN   12
#define DKIM_DNS_RCODE_NX 3

struct dkim_verifier {
	DKIM_LIB *lib;
	unsigned max_sigs;     /* DKIMMaxSignatures */
	unsigned min_key_bits; /* DKIMMinKeyBits */
	bool accept_rsa_sha1;  /* DKIM_COMPAT_RSA_SHA1 (tests only) */
};

struct dkim_msg {
	struct dkim_verifier *ver;
	struct dns_cache *dns;
	DKIM *dkim;        /* NULL if the library could not start */
	bool active;       /* the library still wants data */
	bool body_failed;  /* dkim_body() refused: feed no more of it */
	bool broken;       /* an internal error: no usable result */
	bool eoh_done;     /* dkim_eoh() has been called */
	bool last_cr;      /* the body so far ends in CR */
	unsigned nsighdrs; /* DKIM-Signature fields seen */
	struct strbuf hbuf; /* reused buffer for one header field */
	/* signatures refused before the library saw them (a tag named
	 * twice): their outcomes follow the library's */
	struct dkim_outcome *refused;
	size_t nrefused;
};

/* one key query: its outcome waits here until waitreply asks */
struct dkim_query {
	int status;   /* DKIM_DNS_* */
	size_t bytes; /* reply length written into the library's buffer */
};

/*
 * The DNS callbacks get only the service handle, which is shared by every
 * message and thread, never the message's DKIM handle. The message's
 * dns_cache (and so "no name asked twice per message") must reach them
 * some other way; the key lookups run synchronously inside dkim_eoh()
 * and dkim_eom() on the caller's thread, so a thread-local pointer set
 * around exactly those calls is the narrowest channel there is.
 */
static _Thread_local struct dns_cache *dkim_tls_cache;

/* dkim_dns_encode_name - a dotted name into wire format; length or -1 */
static int
dkim_dns_encode_name(const char *name, unsigned char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = name;

	while (*p != '\0') {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (n == 0 || n > 63 || o + n + 2 > outlen || o + n + 2 > 255)
			return -1;
		out[o++] = (unsigned char)n;
		memcpy(out + o, p, n);
		o += n;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	if (o + 1 > outlen)
		return -1;
	out[o++] = 0;
	return (int)o;
}

/* dkim_put16 - store a 16-bit value in network order */
static void
dkim_put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

/*
 * dkim_dns_build - write a DNS reply for name/type into buf
 *
 * Used when lib/dns has no wire reply to give (or the name could not be
 * asked): the library parses the reply with dn_expand and needs the
 * question section. A name that cannot be encoded gets the root as its
 * question, which the library skips without comparing. Returns the length
 * or -1 if buf is too small.
 */
static int
dkim_dns_build(unsigned char *buf, size_t buflen, const char *name, int type,
	       int rcode, const struct dns_answer *ans)
{
	size_t o = DKIM_DNS_HDRLEN;
	int n, count = ans != NULL ? ans->count : 0;

	if (buflen < DKIM_DNS_HDRLEN + 5)
		return -1;
	memset(buf, 0, DKIM_DNS_HDRLEN);
	buf[2] = 0x85;                                   /* QR, AA, RD */
	buf[3] = (unsigned char)(0x80 | (rcode & 0x0f)); /* RA, rcode */
	dkim_put16(buf + 4, 1);
	n = dkim_dns_encode_name(name, buf + o, buflen - o - 4);
	if (n < 0) {
		buf[o] = 0;
		n = 1;
	}
	o += (size_t)n;
	dkim_put16(buf + o, (unsigned)type);
	dkim_put16(buf + o + 2, 1); /* IN */
	o += 4;
	for (int i = 0; i < count; i++) {
		size_t len = (size_t)ans->rdlen[i];

		if (o + 12 + len > buflen || len > 0xffff)
			return -1;
		dkim_put16(buf + o, 0xc00c); /* the question's name */
		dkim_put16(buf + o + 2, (unsigned)type);
		dkim_put16(buf + o + 4, 1);
		memset(buf + o + 6, 0, 4); /* TTL */
		dkim_put16(buf + o + 10, (unsigned)len);
		memcpy(buf + o + 12, ans->rdata[i], len);
		o += 12 + len;
	}
	dkim_put16(buf + 6, (unsigned)count);
	return (int)o;
}

/* dkim_dns_reply - copy or build the reply for one answer into buf */
static int
dkim_dns_reply(const struct dns_answer *ans, const char *name, int type,
	       unsigned char *buf, size_t buflen, size_t *bytes)
{
	int n;

	switch (ans->status) {
	case DNS_OK:
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		if (ans->packet != NULL && ans->packet_len >= DKIM_DNS_HDRLEN &&
		    (size_t)ans->packet_len <= buflen) {
			memcpy(buf, ans->packet, (size_t)ans->packet_len);
			*bytes = (size_t)ans->packet_len;
			return DKIM_DNS_SUCCESS;
		}
		n = dkim_dns_build(
		    buf, buflen, name, type,
		    ans->status == DNS_NXDOMAIN ? DKIM_DNS_RCODE_NX : 0,
		    ans->status == DNS_OK ? ans : NULL);
		break;
	case DNS_BADNAME:
		/* no such key can exist: the library reads NXDOMAIN as
		 * "no key", a permanent error */
		n = dkim_dns_build(buf, buflen, "", type, DKIM_DNS_RCODE_NX,
				   NULL);
		break;
	case DNS_TEMPFAIL:
	default:
		/* With no rcode there was no reply: a timeout (or no
		 * memory). Never DKIM_DNS_NOREPLY: libopendkim would
		 * then parse a stale buffer. Any other rcode must not
		 * reach the library, which reads every rcode but
		 * NXDOMAIN with no answer as a permanent "no key". */
		return ans->rcode == 0 ? DKIM_DNS_EXPIRED : DKIM_DNS_ERROR;
	}
	if (n < 0)
		return DKIM_DNS_ERROR;
	*bytes = (size_t)n;
	return DKIM_DNS_SUCCESS;
}

/* dkim_cb_dns_start - library callback: look the key name up through lib/dns */
static int
dkim_cb_dns_start(void *srv, int type, unsigned char *query, unsigned char *buf,
		  size_t buflen, void **qh)
{
	struct dkim_query *q = calloc(1, sizeof(*q));

	(void)srv;
	if (q == NULL)
		return DKIM_DNS_ERROR;
	if (dkim_tls_cache == NULL || query == NULL) {
		q->status = DKIM_DNS_ERROR;
	} else {
		const struct dns_answer *ans =
		    dns_lookup(dkim_tls_cache, (const char *)query, type);

		q->status = dkim_dns_reply(ans, (const char *)query, type, buf,
					   buflen, &q->bytes);
	}
	*qh = q;
	return 0;
}

/* dkim_cb_dns_waitreply - library callback: the lookup already finished */
static int
dkim_cb_dns_waitreply(void *srv, void *qh, struct timeval *timeout,
		      size_t *bytes, int *error, int *dnssec)
{
	struct dkim_query *q = qh;

	(void)srv;
	(void)timeout;
	if (q == NULL)
		return DKIM_DNS_ERROR;
	if (bytes != NULL)
		*bytes = q->bytes;
	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	return q->status;
}

/* dkim_cb_dns_cancel - library callback: forget a query (always called) */
static int
dkim_cb_dns_cancel(void *srv, void *qh)
{
	(void)srv;
	free(qh);
	return 0;
}

/* dkim_cb_dns_init - library callback: our service needs no set-up */
static int
dkim_cb_dns_init(void **srv)
{
	(void)srv;
	return 0;
}

/*
 * dkim_cb_dns_close - library callback: nothing to free
 *
 * Without it dkim_close() would call res_nclose() and free() on our
 * service handle, which is the verifier itself.
 */
static void
dkim_cb_dns_close(void *srv)
{
	(void)srv;
}

/* dkim_cb_prescreen - library callback: ignore signatures past the limit */
static DKIM_CBSTAT
dkim_cb_prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	struct dkim_msg *msg = dkim_get_user_context(dkim);
	unsigned max = msg != NULL ? msg->ver->max_sigs : 0;

	for (int i = 0; i < nsigs; i++)
		if ((unsigned)i >= max)
			dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

/* dkim_setopt - set one library option; 0 or -1 */
static int
dkim_setopt(DKIM_LIB *lib, int opt, unsigned value)
{
	unsigned v = value;
	DKIM_STAT st = dkim_options(lib, DKIM_OP_SETOPT, opt, &v, sizeof(v));

	return st == DKIM_STAT_OK ? 0 : -1;
}

/* dkim_verifier_new - set up the library as cfg says */
struct dkim_verifier *
dkim_verifier_new(const struct config *cfg, char *err, size_t errlen)
{
	struct dkim_verifier *ver = calloc(1, sizeof(*ver));

	if (ver == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ver->max_sigs = cfg->dkim_max_signatures;
	ver->min_key_bits = cfg->dkim_min_key_bits;
	if ((ver->lib = dkim_init(NULL, NULL)) == NULL) {
		snprintf(err, errlen, "libopendkim: cannot initialise");
		free(ver);
		return NULL;
	}
	/* BADSIGHANDLES: a malformed signature must give permerror, not
	 * vanish; no DKIM_LIBFLAGS_CACHE: its cache is process-global */
	if (dkim_setopt(ver->lib, DKIM_OPTS_FLAGS,
			DKIM_LIBFLAGS_BADSIGHANDLES) != 0 ||
	    dkim_setopt(ver->lib, DKIM_OPTS_MINKEYBITS, ver->min_key_bits) !=
		0) {
		snprintf(err, errlen, "libopendkim: cannot set options");
		dkim_verifier_free(ver);
		return NULL;
	}
	dkim_set_prescreen(ver->lib, dkim_cb_prescreen);
	(void)dkim_dns_set_query_service(ver->lib, ver);
	dkim_dns_set_init(ver->lib, dkim_cb_dns_init);
	dkim_dns_set_close(ver->lib, dkim_cb_dns_close);
	dkim_dns_set_query_start(ver->lib, dkim_cb_dns_start);
	dkim_dns_set_query_waitreply(ver->lib, dkim_cb_dns_waitreply);
	dkim_dns_set_query_cancel(ver->lib, dkim_cb_dns_cancel);
	return ver;
}

/* dkim_verifier_compat - relax RFC rules to score pre-RFC test corpora */
int
dkim_verifier_compat(struct dkim_verifier *ver, unsigned flags)
{
	if (flags & DKIM_COMPAT_V05) {
		unsigned cur = 0;

		if (dkim_options(ver->lib, DKIM_OP_GETOPT, DKIM_OPTS_FLAGS,
				 &cur, sizeof(cur)) != DKIM_STAT_OK ||
		    dkim_setopt(ver->lib, DKIM_OPTS_FLAGS,
				cur | DKIM_LIBFLAGS_ACCEPTV05) != 0)
			return -1;
	}
	ver->accept_rsa_sha1 = (flags & DKIM_COMPAT_RSA_SHA1) != 0;
	return 0;
}

/* dkim_verifier_free - release the library handle */
void
dkim_verifier_free(struct dkim_verifier *ver)
{
	if (ver == NULL)
		return;
	if (ver->lib != NULL)
		dkim_close(ver->lib);
	free(ver);
}

/* dkim_msg_new - start verifying one message */
struct dkim_msg *
dkim_msg_new(struct dkim_verifier *ver, struct dns_cache *dns)
{
	struct dkim_msg *msg = calloc(1, sizeof(*msg));
	DKIM_STAT st;

	if (msg == NULL)
		return NULL;
	msg->ver = ver;
	msg->dns = dns;
	msg->dkim =
	    dkim_verify(ver->lib, (const unsigned char *)"authtag", NULL, &st);
	if (msg->dkim == NULL) {
		msg->broken = true;
		return msg;
	}
	dkim_set_user_context(msg->dkim, msg);
	msg->active = true;
	return msg;
}

/*
 * dkim_refuse_dup_tags - a signature naming a tag twice is invalid (RFC
 * 6376 3.2): keep a permerror outcome for it and do not hand it to the
 * library, which would take the last value; true when refused
 */
static bool
dkim_refuse_dup_tags(struct dkim_msg *msg, const char *value)
{
	struct dkim_outcome o = {.result = RES_PERMERROR};
	char dup[64];

	if (!dkim_tags_dup(value, dup, sizeof(dup), o.domain, sizeof(o.domain),
			   o.selector, sizeof(o.selector)))
		return false;
	if (dup[0] == '(')
		snprintf(o.reason, sizeof(o.reason), "invalid tag-list %s", dup);
	else
		snprintf(o.reason, sizeof(o.reason), "tag %s= named twice",
			 dup);
	if (msg->nrefused < msg->ver->max_sigs &&
	    sb_array_room(&msg->refused, msg->nrefused,
			  sizeof(*msg->refused)) == 0)
		msg->refused[msg->nrefused++] = o;
	return true;
}

/* dkim_msg_header - feed one header field as received */
void
dkim_msg_header(struct dkim_msg *msg, const char *name, const char *value)
{
	size_t nlen, vlen, o;
	DKIM_STAT st;

	if (msg == NULL || name == NULL || value == NULL || msg->eoh_done)
		return;
	if (strcasecmp(name, DKIM_HDR_NAME) == 0) {
		msg->nsighdrs++;
		if (dkim_refuse_dup_tags(msg, value))
			return;
	}
	if (!msg->active)
		return;
	nlen = strlen(name);
	vlen = strlen(value);
	/* the field ends without its line break; the library adds it */
	while (vlen > 0 && (value[vlen - 1] == '\n' || value[vlen - 1] == '\r'))
		vlen--;
	sb_truncate(&msg->hbuf, 0);
	sb_putn(&msg->hbuf, name, nlen);
	sb_putc(&msg->hbuf, ':');
	/* folded lines must reach the library as CRLF */
	for (size_t i = 0; i < vlen; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			sb_putc(&msg->hbuf, '\r');
		sb_putc(&msg->hbuf, value[i]);
	}
	if (sb_failed(&msg->hbuf)) {
		msg->active = false;
		msg->broken = true;
		return;
	}
	o = msg->hbuf.len;
	st = dkim_header(msg->dkim, (unsigned char *)msg->hbuf.s, o);
	if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL) {
		msg->active = false;
		msg->broken = true;
	}
	/* other errors (a field name the library cannot use) drop only
	 * that field */
}

/* dkim_msg_eoh - end of headers: signatures are parsed, keys fetched */
void
dkim_msg_eoh(struct dkim_msg *msg)
{
	DKIM_STAT st;

	if (msg == NULL || msg->eoh_done)
		return;
	msg->eoh_done = true;
	if (!msg->active)
		return;
	dkim_tls_cache = msg->dns;
	st = dkim_eoh(msg->dkim);
	dkim_tls_cache = NULL;
	switch (st) {
	case DKIM_STAT_OK:
		break;
	case DKIM_STAT_NORESOURCE:
	case DKIM_STAT_INTERNAL:
		msg->broken = true;
		/* fall through */
	default:
		/* NOSIG (nothing to do) or a message the library will not
		 * verify; whatever siginfos exist are reported as they
		 * stand at dkim_msg_eom() */
		msg->active = false;
		break;
	}
}

/* dkim_feed - hand CRLF body data to the library; false if refused */
static bool
dkim_feed(struct dkim_msg *msg, unsigned char *data, size_t len)
{
	DKIM_STAT st = dkim_body(msg->dkim, data, len);

	if (st == DKIM_STAT_OK)
		return true;
	/* dkim_eom() still runs: what was hashed decides the result */
	msg->body_failed = true;
	if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL)
		msg->broken = true;
	return false;
}

/* dkim_msg_body - feed a body chunk (LF or CRLF line ends, any split) */
void
dkim_msg_body(struct dkim_msg *msg, const unsigned char *data, size_t len)
{
	unsigned char out[DKIM_BODY_PIECE + 2];
	size_t o = 0;

	if (msg == NULL || !msg->active || msg->body_failed || !msg->eoh_done ||
	    data == NULL)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = data[i];

		/* a bare LF becomes CRLF; a CR may end the previous chunk */
		if (c == '\n' && !msg->last_cr)
			out[o++] = '\r';
		out[o++] = c;
		msg->last_cr = c == '\r';
		if (o >= DKIM_BODY_PIECE) {
			if (!dkim_feed(msg, out, o))
				return;
			o = 0;
		}
	}
	if (o > 0)
		(void)dkim_feed(msg, out, o);
}

/* dkim_copy_clean - copy a tag value without white space; "" if too long */
static void
dkim_copy_clean(char *dst, size_t dstlen, const unsigned char *src)
{
	size_t o = 0;

	dst[0] = '\0';
	if (src == NULL)
		return;
	for (; *src != '\0'; src++) {
		if (*src <= ' ' || *src == 0x7f)
			continue;
		if (o + 1 >= dstlen) {
			dst[0] = '\0';
			return;
		}
		dst[o++] = (char)*src;
	}
	dst[o] = '\0';
}

/* dkim_b_prefix - the first 8 characters of b=, folding removed */
static void
dkim_b_prefix(char *dst, size_t dstlen, const unsigned char *b)
{
	size_t o = 0;

	for (; b != NULL && *b != '\0' && o + 1 < dstlen; b++)
		if (*b > ' ' && *b != 0x7f)
			dst[o++] = (char)*b;
	dst[o] = '\0';
}

/* dkim_reason_add - append "; text" to an outcome's reason */
static void
dkim_reason_add(struct dkim_outcome *out, const char *text)
{
	size_t len = strlen(out->reason);

	snprintf(out->reason + len, sizeof(out->reason) - len, "%s%s",
		 len > 0 ? "; " : "", text);
}

/* dkim_sig_identify - copy d=, i=, s=, a=, b= and the key size */
static void
dkim_sig_identify(DKIM *dkim, DKIM_SIGINFO *sig, struct dkim_outcome *out,
		  dkim_alg_t *alg)
{
	char ident[RES_ADDRESS_MAX + 1];
	unsigned bits = 0;

	dkim_copy_clean(out->domain, sizeof(out->domain),
			dkim_sig_getdomain(sig));
	dkim_copy_clean(out->selector, sizeof(out->selector),
			dkim_sig_getselector(sig));
	dkim_copy_clean(out->algorithm, sizeof(out->algorithm),
			dkim_sig_gettagvalue(sig, false, (unsigned char *)"a"));
	dkim_b_prefix(out->b, sizeof(out->b),
		      dkim_sig_gettagvalue(sig, false, (unsigned char *)"b"));
	/* the library gives i= or, without one, "@d" (RFC 6376 3.5) */
	if (out->domain[0] != '\0') {
		if (dkim_sig_getidentity(dkim, sig, (unsigned char *)ident,
					 sizeof(ident)) == DKIM_STAT_OK)
			dkim_copy_clean(out->identity, sizeof(out->identity),
					(unsigned char *)ident);
		else if (dkim_sig_gettagvalue(sig, false,
					      (unsigned char *)"i") == NULL)
			snprintf(out->identity, sizeof(out->identity), "@%s",
				 out->domain);
	}
	*alg = DKIM_SIGN_UNKNOWN;
	(void)dkim_sig_getsignalg(sig, alg);
	if (*alg != DKIM_SIGN_ED25519SHA256 &&
	    dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		out->keybits = bits;
}

/* dkim_sig_error_result - the result for a signature the library refused */
static void
dkim_sig_error_result(const struct dkim_verifier *ver, int err, int bh,
		      struct dkim_outcome *out)
{
	switch (err) {
	case DKIM_SIGERROR_KEYFAIL:
		out->result = RES_TEMPERROR;
		snprintf(out->reason, sizeof(out->reason), "key lookup failed");
		return;
	case DKIM_SIGERROR_NOKEY:
		out->result = RES_PERMERROR;
		snprintf(out->reason, sizeof(out->reason), "no key");
		return;
	case DKIM_SIGERROR_KEYREVOKED:
		/* RFC 6376 6.1.2: treat as a failed signature check */
		out->result = RES_FAIL;
		snprintf(out->reason, sizeof(out->reason), "key revoked");
		return;
	case DKIM_SIGERROR_KEYTOOSMALL:
		out->result = RES_POLICY;
		if (out->keybits > 0)
			snprintf(out->reason, sizeof(out->reason),
				 "%u-bit key under %u bits", out->keybits,
				 ver->min_key_bits);
		else
			snprintf(out->reason, sizeof(out->reason),
				 "key under %u bits", ver->min_key_bits);
		return;
	case DKIM_SIGERROR_EXPIRED:
		/* RFC 6376 3.5: honouring x= is the verifier's choice */
		out->result = RES_POLICY;
		snprintf(out->reason, sizeof(out->reason), "signature expired");
		return;
	case DKIM_SIGERROR_FUTURE:
		out->result = RES_POLICY;
		snprintf(out->reason, sizeof(out->reason),
			 "signature timestamp in the future");
		return;
	case DKIM_SIGERROR_BADSIG:
		/* the library says BADSIG for a body hash mismatch too,
		 * even when the header signature verified */
		out->result = RES_FAIL;
		snprintf(out->reason, sizeof(out->reason), "%s",
			 bh == DKIM_SIGBH_MISMATCH
			     ? "body hash mismatch"
			     : "signature did not verify");
		return;
	default: {
		const char *why = dkim_sig_geterrorstr(err);

		out->result = RES_PERMERROR;
		snprintf(out->reason, sizeof(out->reason), "%s",
			 why != NULL ? why : "unusable signature");
		return;
	}
	}
}

/*
 * dkim_keyfail_reason - say why a key lookup failed (and, for a reply
 * the library could not take, that the failure is permanent)
 *
 * The library reports every DNS failure as one error; the answer our
 * cache kept for the key name tells a timeout from SERVFAIL or REFUSED.
 * The name was asked during this message, so no query is sent.
 */
static void
dkim_keyfail_reason(struct dkim_msg *msg, struct dkim_outcome *out)
{
	const struct dns_answer *ans = NULL;
	char name[RES_SELECTOR_MAX + RES_DOMAIN_MAX + 16];

	if (out->selector[0] != '\0' && out->domain[0] != '\0' &&
	    (size_t)snprintf(name, sizeof(name), "%s._domainkey.%s",
			     out->selector, out->domain) < sizeof(name))
		ans = dns_lookup(msg->dns, name, DNS_T_TXT);
	if (ans != NULL && ans->status == DNS_OK) {
		/* DNS answered: the library could not take the reply (it
		 * reads at most a few KB, far more than any key needs).
		 * A record that size never becomes a usable key: permanent */
		out->result = RES_PERMERROR;
		snprintf(out->reason, sizeof(out->reason),
			 "key record too large (%d octets)", ans->packet_len);
		return;
	}
	if (ans == NULL || ans->status != DNS_TEMPFAIL)
		snprintf(out->reason, sizeof(out->reason), "key lookup failed");
	else if (ans->rcode == 0)
		snprintf(out->reason, sizeof(out->reason),
			 "key lookup timed out");
	else if (ans->rcode == 2)
		snprintf(out->reason, sizeof(out->reason),
			 "key lookup failed (SERVFAIL)");
	else if (ans->rcode == 5)
		snprintf(out->reason, sizeof(out->reason),
			 "key lookup failed (REFUSED)");
	else
		snprintf(out->reason, sizeof(out->reason),
			 "key lookup failed (rcode %d)", ans->rcode);
}

/* dkim_sig_outcome - RFC 8601 result of one signature after dkim_eom */
static void
dkim_sig_outcome(struct dkim_msg *msg, DKIM_SIGINFO *sig,
		 struct dkim_outcome *out)
{
	unsigned flags = dkim_sig_getflags(sig);
	int err = dkim_sig_geterror(sig);
	dkim_alg_t alg;

	memset(out, 0, sizeof(*out));
	dkim_sig_identify(msg->dkim, sig, out, &alg);
	if (err != DKIM_SIGERROR_OK && err != DKIM_SIGERROR_UNKNOWN) {
		dkim_sig_error_result(msg->ver, err, dkim_sig_getbh(sig), out);
		if (err == DKIM_SIGERROR_KEYFAIL)
			dkim_keyfail_reason(msg, out);
	} else if (flags & DKIM_SIGFLAG_IGNORE) {
		out->result = RES_NEUTRAL;
		snprintf(out->reason, sizeof(out->reason), "signature ignored");
	} else if (!(flags & DKIM_SIGFLAG_PROCESSED)) {
		/* the library stopped before this one: our failure, or a
		 * message it would not verify at all */
		out->result = msg->broken ? RES_TEMPERROR : RES_PERMERROR;
		snprintf(out->reason, sizeof(out->reason), "%s",
			 msg->broken ? "verifier error"
				     : "signature not processed");
	} else if (!(flags & DKIM_SIGFLAG_PASSED)) {
		out->result = RES_FAIL;
		snprintf(out->reason, sizeof(out->reason),
			 "signature did not verify");
	} else if (!DKIM_SIG_CHECK(sig)) {
		out->result = RES_FAIL;
		snprintf(out->reason, sizeof(out->reason),
			 "body hash mismatch");
	} else {
		ssize_t msglen = 0, canonlen = 0, signlen = -1;

		out->result = RES_PASS;
		if (dkim_sig_getcanonlen(msg->dkim, sig, &msglen, &canonlen,
					 &signlen) == DKIM_STAT_OK &&
		    signlen >= 0 && canonlen < msglen) {
			snprintf(out->reason, sizeof(out->reason),
				 "body length limit %zd leaves %zd bytes "
				 "unsigned",
				 signlen, msglen - canonlen);
		}
	}
	/* RFC 8301: rsa-sha1 is not acceptable whatever the check said */
	if (alg == DKIM_SIGN_RSASHA1 && !msg->ver->accept_rsa_sha1 &&
	    (out->result == RES_PASS || out->result == RES_FAIL)) {
		out->result = RES_POLICY;
		snprintf(out->reason, sizeof(out->reason),
			 "rsa-sha1 not accepted (RFC 8301)");
	}
	if ((flags & DKIM_SIGFLAG_TESTKEY) &&
	    (out->result == RES_PASS || out->result == RES_FAIL))
		dkim_reason_add(out, "testing key");
}

/* dkim_broken_outcomes - what we can say when the library gave up */
static void
dkim_broken_outcomes(struct dkim_msg *msg, struct dkim_outcome **sigs,
		     size_t *nsigs)
{
	size_t n = msg->nsighdrs;

	if (n > msg->ver->max_sigs)
		n = msg->ver->max_sigs;
	if (n == 0 || (*sigs = calloc(n, sizeof(**sigs))) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		(*sigs)[i].result = RES_TEMPERROR;
		snprintf((*sigs)[i].reason, sizeof((*sigs)[i].reason),
			 "verifier error");
	}
	*nsigs = n;
}

/* dkim_add_refused - append the refused signatures' outcomes (sigs has
 * room), within DKIMMaxSignatures */
static void
dkim_add_refused(const struct dkim_msg *msg, struct dkim_outcome *sigs,
		 size_t *nsigs)
{
	for (size_t i = 0; i < msg->nrefused && *nsigs < msg->ver->max_sigs;
	     i++)
		sigs[(*nsigs)++] = msg->refused[i];
}

/* dkim_msg_eom - finish; one outcome per signature */
void
dkim_msg_eom(struct dkim_msg *msg, struct dkim_outcome **sigs, size_t *nsigs)
{
	DKIM_SIGINFO **list = NULL;
	int nlist = 0;
	size_t n;

	*sigs = NULL;
	*nsigs = 0;
	if (msg == NULL)
		return;
	if (!msg->eoh_done)
		dkim_msg_eoh(msg);
	if (msg->active) {
		DKIM_STAT st;

		dkim_tls_cache = msg->dns;
		st = dkim_eom(msg->dkim, NULL);
		dkim_tls_cache = NULL;
		if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL)
			msg->broken = true;
		msg->active = false;
	}
	if (msg->dkim == NULL ||
	    dkim_getsiglist(msg->dkim, &list, &nlist) != DKIM_STAT_OK ||
	    list == NULL || nlist <= 0) {
		if (msg->broken)
			dkim_broken_outcomes(msg, sigs, nsigs);
		else if (msg->nrefused > 0 &&
			 (*sigs = calloc(msg->nrefused, sizeof(**sigs))) != NULL)
			dkim_add_refused(msg, *sigs, nsigs);
		return;
	}
	n = (size_t)nlist;
	if (n > msg->ver->max_sigs)
		n = msg->ver->max_sigs;
	if (n == 0 || (*sigs = calloc(n + msg->nrefused, sizeof(**sigs))) == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dkim_sig_outcome(msg, list[i], &(*sigs)[i]);
	*nsigs = n;
	dkim_add_refused(msg, *sigs, nsigs);
}

/* dkim_msg_free - free the per-message state */
void
dkim_msg_free(struct dkim_msg *msg)
{
	if (msg == NULL)
		return;
	if (msg->dkim != NULL)
		dkim_free(msg->dkim);
	sb_free(&msg->hbuf);
	free(msg->refused);
	free(msg);
}
