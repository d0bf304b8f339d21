/*
 * strbuf.h - the one growable string buffer of authtag (see strbuf.c)
 *
 * In the spirit of Postfix's VSTRING: the text is always NUL-terminated,
 * its length is explicit (it may hold NUL bytes), growth is amortised
 * (the capacity doubles), and a failed allocation is sticky: the buffer
 * stops growing, every later append is a no-op, and sb_failed() says so
 * once, where the caller decides. A zeroed struct is an empty buffer.
 */
#ifndef AUTHTAG_STRBUF_H
#define AUTHTAG_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct strbuf {
	char *s;    /* the text, NUL-terminated; NULL until the first append */
	size_t len; /* bytes in s, not counting the NUL */
	size_t cap; /* bytes allocated */
	bool nomem; /* an allocation failed: the contents are incomplete */
};

#define STRBUF_INIT {NULL, 0, 0, false}

/* sb_reserve - make room for n more bytes; false once allocation failed */
bool sb_reserve(struct strbuf *b, size_t n);
/* sb_putn_grow - sb_putn when the buffer must grow (or has failed) */
void sb_putn_grow(struct strbuf *b, const void *s, size_t n);

/* sb_putn - append n bytes; inline while the room is there, because the
 * parsers append a byte at a time on every message */
static inline void
sb_putn(struct strbuf *b, const void *s, size_t n)
{
	if (!b->nomem && n < b->cap - b->len) {
		if (n)
			memcpy(b->s + b->len, s, n);
		b->len += n;
		b->s[b->len] = '\0';
		return;
	}
	sb_putn_grow(b, s, n);
}

/* sb_putc - append one byte */
static inline void
sb_putc(struct strbuf *b, char c)
{
	if (!b->nomem && 1 < b->cap - b->len) {
		b->s[b->len++] = c;
		b->s[b->len] = '\0';
		return;
	}
	sb_putn_grow(b, &c, 1);
}

/* sb_puts - append a C string */
void sb_puts(struct strbuf *b, const char *s);
/* sb_printf - append printf-formatted text */
void sb_printf(struct strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* sb_vprintf - sb_printf with a va_list */
void sb_vprintf(struct strbuf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* sb_truncate - cut the text to len bytes (no-op when already shorter) */
void sb_truncate(struct strbuf *b, size_t len);
/* sb_str - the text; "" for a buffer never appended to */
const char *sb_str(const struct strbuf *b);
/* sb_failed - did an allocation fail since the buffer was made? */
bool sb_failed(const struct strbuf *b);
/* sb_steal - hand the text to the caller (free() it); NULL after a failure.
 * The buffer is empty again afterwards. */
char *sb_steal(struct strbuf *b);
/* sb_free - release the text; the buffer is empty again */
void sb_free(struct strbuf *b);

/*
 * sb_array_room - make room for element n of the array *arr (elements of
 * sz bytes) that grows one element at a time: the allocation doubles
 * when n reaches 8, 16, 32, ... so appending costs amortised O(1) with
 * no capacity field. The array must be grown only through this call.
 * 0, or -1 when memory ran out (*arr is unchanged then).
 */
int sb_array_room(void *arr, size_t n, size_t sz);

#endif
