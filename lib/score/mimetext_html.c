/*
 * mimetext_html.c - render an HTML part to the text a reader sees
 *
 * Owns the small HTML tokenizer behind mimetext_html_text(): tags and
 * comments are dropped, the content of <script>, <style> and <head> is
 * dropped, block-level tags become line breaks (<p> a
 * paragraph break, so body rules see separate paragraphs as SpamAssassin
 * does), and character references become UTF-8. It is a renderer for
 * rule matching, not a validator: any byte sequence gives some text.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mimetext.h"
#include "strbuf.h"

/* the named references common in mail; others are left as written */
static const struct {
	const char *name;
	unsigned long cp;
} mh_entities[] = {
    {"amp", '&'},       {"lt", '<'},       {"gt", '>'},       {"quot", '"'},
    {"apos", '\''},     {"nbsp", 0xa0},    {"copy", 0xa9},    {"reg", 0xae},
    {"trade", 0x2122},  {"euro", 0x20ac},  {"pound", 0xa3},   {"yen", 0xa5},
    {"cent", 0xa2},     {"sect", 0xa7},    {"deg", 0xb0},     {"middot", 0xb7},
    {"hellip", 0x2026}, {"ndash", 0x2013}, {"mdash", 0x2014}, {"lsquo", 0x2018},
    {"rsquo", 0x2019},  {"ldquo", 0x201c}, {"rdquo", 0x201d}, {"bull", 0x2022},
    {"zwnj", 0x200c},   {"zwj", 0x200d},   {"shy", 0xad},     {"eacute", 0xe9},
    {"egrave", 0xe8},   {"agrave", 0xe0},  {"auml", 0xe4},    {"ouml", 0xf6},
    {"uuml", 0xfc},     {"Auml", 0xc4},    {"Ouml", 0xd6},    {"Uuml", 0xdc},
    {"szlig", 0xdf},    {"ccedil", 0xe7},  {"ntilde", 0xf1},
};

/* tags that end a line, and those that end a paragraph */
static const char *const mh_line_tags[] = {
    "br", "div", "li",    "tr", "td",    "th",     "dt", "dd",
    "ul", "ol",  "table", "hr", "title", "option", NULL};
static const char *const mh_para_tags[] = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", NULL};

/* mh_in - is the lower-case name one of list? */
static bool
mh_in(const char *name, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

/* mh_entity - decode a reference at s ('&'); returns bytes used, or 0 */
static size_t
mh_entity(struct strbuf *b, const char *s, size_t len)
{
	size_t i = 1;

	if (i < len && s[i] == '#') {
		unsigned long cp = 0;
		bool hex = i + 1 < len && (s[i + 1] == 'x' || s[i + 1] == 'X');
		size_t start;

		i += hex ? 2 : 1;
		start = i;
		while (i < len && i - start < 8 &&
		       (hex ? isxdigit((unsigned char)s[i])
			    : isdigit((unsigned char)s[i]))) {
			int c = (unsigned char)s[i];

			cp =
			    cp * (hex ? 16 : 10) +
			    (unsigned long)(isdigit(c) ? c - '0'
						       : tolower(c) - 'a' + 10);
			i++;
		}
		if (i == start)
			return 0;
		if (i < len && s[i] == ';')
			i++;
		mimetext_utf8_put(b, cp);
		return i;
	}
	for (size_t e = 0; e < sizeof(mh_entities) / sizeof(*mh_entities);
	     e++) {
		size_t n = strlen(mh_entities[e].name);

		if (n + 1 <= len - 1 &&
		    memcmp(s + 1, mh_entities[e].name, n) == 0 &&
		    (n + 1 == len || !isalnum((unsigned char)s[n + 1]))) {
			mimetext_utf8_put(b, mh_entities[e].cp);
			return n + 1 + (n + 1 < len && s[n + 1] == ';' ? 1 : 0);
		}
	}
	return 0;
}

/* mh_tag_name - the lower-case name of the tag at s ('<'), and closing? */
static void
mh_tag_name(const char *s, size_t len, char *name, size_t nlen, bool *close)
{
	size_t i = 1, o = 0;

	*close = i < len && s[i] == '/';
	if (*close)
		i++;
	while (i < len && o + 1 < nlen && isalnum((unsigned char)s[i]))
		name[o++] = (char)tolower((unsigned char)s[i++]);
	name[o] = '\0';
}

/* mh_skip_to_close - past "</name ...>" from i, or len */
static size_t
mh_skip_to_close(const char *s, size_t len, size_t i, const char *name)
{
	size_t n = strlen(name);

	for (; i + n + 2 < len; i++)
		if (s[i] == '<' && s[i + 1] == '/' &&
		    strncasecmp(s + i + 2, name, n) == 0 &&
		    !isalnum((unsigned char)s[i + 2 + n])) {
			const char *gt = memchr(s + i, '>', len - i);

			return gt ? (size_t)(gt - s) + 1 : len;
		}
	return len;
}

/* mimetext_html_text - the text an HTML document shows */
char *
mimetext_html_text(const char *s, size_t len, size_t *outlen)
{
	struct strbuf b = {0};
	bool in_head = false;

	sb_putn(&b, "", 0);
	for (size_t i = 0; i < len && !b.nomem;) {
		if (s[i] == '<' && i + 3 < len &&
		    memcmp(s + i, "<!--", 4) == 0) {
			const char *end =
			    memmem(s + i + 4, len - i - 4, "-->", 3);

			i = end ? (size_t)(end - s) + 3 : len;
			continue;
		}
		if (s[i] == '<' && i + 1 < len &&
		    (isalpha((unsigned char)s[i + 1]) || s[i + 1] == '/' ||
		     s[i + 1] == '!' || s[i + 1] == '?')) {
			const char *gt = memchr(s + i, '>', len - i);
			size_t end = gt ? (size_t)(gt - s) + 1 : len;
			char name[16];
			bool close;

			mh_tag_name(s + i, len - i, name, sizeof(name), &close);
			i = end;
			if (!close && (strcmp(name, "script") == 0 ||
				       strcmp(name, "style") == 0)) {
				i = mh_skip_to_close(s, len, i, name);
				continue;
			}
			if (strcmp(name, "head") == 0)
				in_head = !close;
			if (strcmp(name, "body") == 0)
				in_head = false;
			if (mh_in(name, mh_para_tags))
				sb_putn(&b, "\n\n", 2);
			else if (mh_in(name, mh_line_tags))
				sb_putn(&b, "\n", 1);
			else if (name[0] != '\0')
				sb_putn(&b, "", 0); /* inline: no break */
			continue;
		}
		if (in_head) {
			/* nothing in a <head> shows, not even its <title> */
			i++;
			continue;
		}
		if (s[i] == '&') {
			size_t used = mh_entity(&b, s + i, len - i);

			if (used > 0) {
				i += used;
				continue;
			}
		}
		sb_putn(&b, s + i, 1);
		i++;
	}
	if (b.nomem) {
		free(b.s);
		return NULL;
	}
	*outlen = b.len;
	return b.s;
}
