/*
 * mimetext.h - the text of a message as SpamAssassin's body rules see it
 *
 * mimetext.c owns MIME structure (multipart, message/rfc822), transfer
 * decoding (quoted-printable, base64), charset conversion to UTF-8 through
 * iconv, HTML rendering to text, RFC 2047 encoded words in headers, and
 * cutting the result into the lines that `body` rules match (Subject
 * first, one whitespace-normalised line per paragraph, at most 2 KiB) and
 * the chunks that `rawbody` rules match (decoded, HTML kept). Bad input
 * (broken boundaries, bad base64, unknown charsets) degrades to the bytes
 * as they are, never to an error; sizes and nesting are bounded.
 */
#ifndef AUTHTAG_MIMETEXT_H
#define AUTHTAG_MIMETEXT_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf;

/* the two views of a body; each string is NUL-terminated, malloc'd */
struct mimetext {
	char **body; /* `body` lines: Subject, then paragraphs */
	size_t nbody;
	char **raw; /* `rawbody` chunks of each text part */
	size_t nraw;
};

/*
 * mimetext_build - both views of a message: names/values are its header
 * fields (values as received), body its raw body. 0, or -1 on no memory
 * (out is then empty).
 */
int mimetext_build(const char *const *names, const char *const *values,
		   size_t nheaders, const unsigned char *body, size_t len,
		   struct mimetext *out);

/* mimetext_free - free what mimetext_build filled in */
void mimetext_free(struct mimetext *mt);

/*
 * mimetext_header - a header value as SpamAssassin's rules see it:
 * unfolded (each fold becomes one space), trimmed, RFC 2047 encoded words
 * decoded to UTF-8. malloc'd; NULL on no memory.
 */
char *mimetext_header(const char *value);

/*
 * mimetext_qp_decode - quoted-printable (RFC 2045 6.7): soft line breaks
 * removed, =XX decoded, a broken escape kept as it is. out must hold len
 * bytes; returns the decoded length.
 */
size_t mimetext_qp_decode(const char *in, size_t len, char *out);

/*
 * mimetext_b64_decode - base64, skipping anything outside the alphabet
 * and stopping at the padding. out must hold len bytes; returns the length.
 */
size_t mimetext_b64_decode(const char *in, size_t len, char *out);

/*
 * mimetext_to_utf8 - in (len bytes in charset) as UTF-8, malloc'd and
 * NUL-terminated, its length in *outlen. An unknown or empty charset
 * gives the bytes unchanged; an invalid sequence becomes U+FFFD. NULL on
 * no memory.
 */
char *mimetext_to_utf8(const char *charset, const char *in, size_t len,
		       size_t *outlen);

/*
 * mimetext_html_text - the text an HTML document shows: tags, comments,
 * <script> and <style> removed, block tags as line breaks, character
 * references decoded to UTF-8. malloc'd; NULL on no memory.
 */
char *mimetext_html_text(const char *html, size_t len, size_t *outlen);

/* mimetext_utf8_put - append code point cp as UTF-8 (U+FFFD if not a
 * Unicode scalar value) */
void mimetext_utf8_put(struct strbuf *b, unsigned long cp);

#endif
