/*
 * fuzz_common.h - what the libFuzzer harnesses share: cutting the fuzzer's
 * bytes into the pieces an entry point wants
 *
 * A struct fz_in walks the input once. fz_byte() takes one byte (0 once
 * the input is used up), fz_str() takes the bytes up to the next NUL (or
 * the end) as a malloc'd C string, fz_field() copies them into a fixed
 * array, NUL-terminated only when they fit so that a full field tests the
 * reader's bounds. Header-only so that each harness stays one file; every
 * string fz_str() returns belongs to the caller.
 */
#ifndef AUTHTAG_FUZZ_COMMON_H
#define AUTHTAG_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fz_in {
	const uint8_t *p;
	size_t n;
};

/* fz_byte - the next byte, or 0 at the end */
static inline unsigned
fz_byte(struct fz_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

/* fz_piece - the bytes up to the next NUL, which is consumed */
static inline const uint8_t *
fz_piece(struct fz_in *in, size_t *len)
{
	const uint8_t *s = in->p;
	const uint8_t *nul = memchr(s, '\0', in->n);
	size_t n = nul ? (size_t)(nul - s) : in->n;

	in->p += n + (nul ? 1 : 0);
	in->n -= n + (nul ? 1 : 0);
	*len = n;
	return s;
}

/* fz_str - the next piece as a malloc'd C string (abort on no memory) */
static inline char *
fz_str(struct fz_in *in)
{
	size_t n;
	const uint8_t *s = fz_piece(in, &n);
	char *out = malloc(n + 1);

	if (out == NULL)
		abort();
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

/* fz_field - the next piece into dst[size]; no NUL when it fills dst */
static inline void
fz_field(struct fz_in *in, char *dst, size_t size)
{
	size_t n;
	const uint8_t *s = fz_piece(in, &n);

	memset(dst, 0, size);
	memcpy(dst, s, n < size ? n : size);
}

/* fz_cstr - a copy of data[0, size) with a NUL after it (abort on ENOMEM) */
static inline char *
fz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
