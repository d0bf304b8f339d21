/*
 * mimetext_int.h - what mimetext.c and mimetext_html.c share: a growing
 * byte buffer that remembers a failed allocation instead of failing each
 * call, and UTF-8 encoding of one code point. Not for other modules.
 */
#ifndef AUTHTAG_MIMETEXT_INT_H
#define AUTHTAG_MIMETEXT_INT_H

#include <stdbool.h>
#include <stddef.h>

struct mt_buf {
	char *p; /* NUL-terminated once anything was added */
	size_t len, cap;
	bool nomem; /* an allocation failed: the content is incomplete */
};

/* mt_buf_add - append n bytes */
void mt_buf_add(struct mt_buf *b, const char *s, size_t n);

/* mt_buf_str - append a string */
void mt_buf_str(struct mt_buf *b, const char *s);

/* mt_utf8 - append code point cp as UTF-8 (U+FFFD if not a scalar) */
void mt_utf8(struct mt_buf *b, unsigned long cp);

#endif
