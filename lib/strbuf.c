/*
 * strbuf.c - the one growable string buffer (see strbuf.h)
 *
 * Every module that builds text of unknown length (header values, decoded
 * message text, rule lines) appends to a struct strbuf instead of keeping
 * its own pointer/length/capacity triple. Owns nothing but the memory of
 * the buffers it is handed. An allocation failure never aborts: it marks
 * the buffer, and the module that owns the buffer decides what to do.
 */
#include "build.h" /* first: feature macros */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

#define SB_MIN_CAP 64

/* sb_reserve - make room for n more bytes and the NUL */
bool
sb_reserve(struct strbuf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->nomem)
		return false;
	if (n > SIZE_MAX - b->len - 1) {
		b->nomem = true;
		return false;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : SB_MIN_CAP;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = realloc(b->s, cap)) == NULL) {
		b->nomem = true;
		return false;
	}
	b->s = p;
	b->cap = cap;
	return true;
}

/* sb_putn_grow - append n bytes, growing the buffer first */
void
sb_putn_grow(struct strbuf *b, const void *s, size_t n)
{
	if (!sb_reserve(b, n))
		return;
	if (n)
		memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* sb_puts - append a C string */
void
sb_puts(struct strbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

/* sb_vprintf - append formatted text: format once into the free room,
 * again after growing when it did not fit */
void
sb_vprintf(struct strbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (!sb_reserve(b, 0))
		return;
	va_copy(ap2, ap);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->s[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (!sb_reserve(b, (size_t)n)) {
			b->s[b->len] = '\0';
			return;
		}
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

/* sb_printf - append printf-formatted text */
void
sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(b, fmt, ap);
	va_end(ap);
}

/* sb_truncate - cut the text to len bytes */
void
sb_truncate(struct strbuf *b, size_t len)
{
	if (b->s != NULL && len < b->len) {
		b->len = len;
		b->s[len] = '\0';
	}
}

/* sb_str - the text; "" before the first append */
const char *
sb_str(const struct strbuf *b)
{
	return b->s != NULL ? b->s : "";
}

/* sb_failed - did an allocation fail? */
bool
sb_failed(const struct strbuf *b)
{
	return b->nomem;
}

/* sb_steal - hand the text over; NULL after a failed allocation */
char *
sb_steal(struct strbuf *b)
{
	char *s = NULL;

	if (!b->nomem) {
		s = b->s;
		if (s == NULL)
			s = calloc(1, 1);
		b->s = NULL;
	}
	sb_free(b);
	return s;
}

/* sb_array_room - room for element n; the allocation doubles at 8, 16, ... */
int
sb_array_room(void *arr, size_t n, size_t sz)
{
	void **p = arr;
	size_t want;
	void *grown;

	if (n != 0 && (n < 8 || (n & (n - 1)) != 0))
		return 0; /* the last doubling left room */
	want = n == 0 ? 8 : n * 2;
	if (sz != 0 && want > SIZE_MAX / sz)
		return -1;
	if ((grown = realloc(*p, want * sz)) == NULL)
		return -1;
	*p = grown;
	return 0;
}

/* sb_free - release the text */
void
sb_free(struct strbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
	b->nomem = false;
}
