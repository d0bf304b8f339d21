/*
 * mailaddr_idna.c - domains in the one form DMARC compares (see mailaddr.h)
 *
 * Owns mailaddr_domain_normalize(): lower case, no final dot, the
 * host-name label grammar, and U-labels (UTF-8) to A-labels by our own
 * RFC 3492 Punycode encoder (no IDNA mapping tables: a label that would
 * need them is refused). dmarc.c, the Public Suffix List code and the
 * From parser in mailaddr.c all normalise through it.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mailaddr.h"

/* ma_utf8_decode - one code point from s (len octets left); -1 if bad */
static int32_t
ma_utf8_decode(const unsigned char *s, size_t len, size_t *used)
{
	int32_t cp;
	size_t n;

	if (s[0] < 0x80) {
		*used = 1;
		return s[0];
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4, cp = s[0] & 0x07;
	else
		return -1;
	if (n > len)
		return -1;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	/* overlong forms, surrogates, beyond Unicode */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return -1;
	*used = n;
	return cp;
}

/*
 * ma_cp_refused - code points we never put in a domain label
 *
 * Without a full IDNA2008 table we refuse at least what can hide or
 * split a label: C1 controls, spaces and invisible formatting
 * characters, and the full stops that UTS #46 would map to ".".
 */
static bool
ma_cp_refused(int32_t cp)
{
	return (cp >= 0x80 && cp <= 0xA0) || cp == 0xAD || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200F) ||
	       (cp >= 0x2028 && cp <= 0x202F) ||
	       (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || cp == 0x3002 ||
	       cp == 0xFEFF || cp == 0xFF0E || cp == 0xFF61 ||
	       (cp >= 0xFFF0 && cp <= 0xFFFF);
}

/* ma_puny_adapt - the RFC 3492 bias adaptation */
static uint32_t
ma_puny_adapt(uint32_t delta, uint32_t npoints, bool first)
{
	uint32_t k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / npoints;
	while (delta > ((36 - 1) * 26) / 2) {
		delta /= 36 - 1;
		k += 36;
	}
	return k + (36 * delta) / (delta + 38);
}

/*
 * ma_punycode - RFC 3492 encoding of cps[0..n) into out
 *
 * Returns the length written, or -1 if it does not fit or overflows.
 */
static int
ma_punycode(const int32_t *cps, size_t n, char *out, size_t outlen)
{
	uint32_t cp_n = 128, delta = 0, bias = 72, h, b;
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		if (cps[i] < 0x80) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)cps[i];
		}
	h = b = (uint32_t)o;
	if (b > 0) {
		if (o + 1 >= outlen)
			return -1;
		out[o++] = '-';
	}
	while (h < n) {
		uint32_t m = UINT32_MAX;

		for (size_t i = 0; i < n; i++)
			if ((uint32_t)cps[i] >= cp_n && (uint32_t)cps[i] < m)
				m = (uint32_t)cps[i];
		if ((m - cp_n) > (UINT32_MAX - delta) / (h + 1))
			return -1;
		delta += (m - cp_n) * (h + 1);
		cp_n = m;
		for (size_t i = 0; i < n; i++) {
			uint32_t c = (uint32_t)cps[i], q;

			if (c < cp_n && ++delta == 0)
				return -1;
			if (c != cp_n)
				continue;
			q = delta;
			for (uint32_t k = 36;; k += 36) {
				uint32_t t = k <= bias        ? 1
					     : k >= bias + 26 ? 26
							      : k - bias;
				uint32_t d;

				if (q < t)
					break;
				d = t + (q - t) % (36 - t);
				if (o + 1 >= outlen)
					return -1;
				out[o++] =
				    (char)(d < 26 ? 'a' + d : '0' + d - 26);
				q = (q - t) / (36 - t);
			}
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)(q < 26 ? 'a' + q : '0' + q - 26);
			bias = ma_puny_adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
		delta++;
		cp_n++;
	}
	out[o] = '\0';
	return (int)o;
}

/* ma_ldh_ok - letters, digits, inner hyphens; 1..63 octets */
static bool
ma_ldh_ok(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

/*
 * ma_label - one label, lower-cased and as an A-label, appended at out
 *
 * Returns the length written, or -1.
 */
static int
ma_label(const unsigned char *s, size_t len, char *out, size_t outlen)
{
	int32_t cps[256];
	size_t n = 0, i = 0;
	bool ascii = true;
	char enc[64];
	int elen;

	if (len == 0)
		return -1;
	while (i < len) {
		size_t used;
		int32_t cp = ma_utf8_decode(s + i, len - i, &used);

		if (cp < 0 || n >= sizeof(cps) / sizeof(cps[0]))
			return -1;
		if (cp >= 'A' && cp <= 'Z')
			cp += 'a' - 'A';
		if (cp >= 0x80) {
			if (ma_cp_refused(cp))
				return -1;
			ascii = false;
		} else if (!((cp >= 'a' && cp <= 'z') ||
			     (cp >= '0' && cp <= '9') || cp == '-'))
			return -1;
		cps[n++] = cp;
		i += used;
	}
	if (ascii) {
		if (n + 1 > outlen)
			return -1;
		for (i = 0; i < n; i++)
			out[i] = (char)cps[i];
		return ma_ldh_ok(out, n) ? (int)n : -1;
	}
	if (cps[0] == '-' || cps[n - 1] == '-')
		return -1;
	elen = ma_punycode(cps, n, enc, sizeof(enc));
	if (elen < 0 || (size_t)elen + 4 > 63 || (size_t)elen + 5 > outlen)
		return -1;
	memcpy(out, "xn--", 4);
	memcpy(out + 4, enc, (size_t)elen);
	return elen + 4;
}

/* mailaddr_domain_normalize - a domain in the form DMARC compares */
int
mailaddr_domain_normalize(const char *in, size_t len, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, start = 0, last = 0;
	bool digits_only = true;

	if (in == NULL || outlen == 0)
		return -1;
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		int n;

		if (i < len && s[i] != '.')
			continue;
		if (o > 0) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = '.';
		}
		last = o;
		n = ma_label(s + start, i - start, out + o, outlen - o);
		if (n < 0)
			return -1;
		o += (size_t)n;
		start = i + 1;
	}
	if (o > 253)
		return -1;
	out[o] = '\0';
	for (size_t i = last; i < o; i++)
		if (out[i] < '0' || out[i] > '9')
			digits_only = false;
	return digits_only ? -1 : 0;
}
