/*
 * trace.c - explain mode's lines (see trace.h)
 *
 * Owns the text of one message's trace: a strbuf of "section: text"
 * lines, values from mail and DNS cleaned of control characters so that
 * a line stays one line. Bounded: past TRACE_MAX bytes it says so once
 * and keeps no more (a record with 10,000 includes must not grow it
 * without end).
 */
#include "build.h" /* first: feature macros */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "trace.h"

#define TRACE_MAX (256 * 1024)

struct trace {
	struct strbuf text;
	char section[16];
	int full;
};

/* trace_new - an empty trace */
struct trace *
trace_new(void)
{
	struct trace *t = calloc(1, sizeof(*t));

	if (t != NULL)
		memcpy(t->section, "engine", 7);
	return t;
}

/* trace_free - free it */
void
trace_free(struct trace *t)
{
	if (t == NULL)
		return;
	sb_free(&t->text);
	free(t);
}

/* trace_section - the section of the next lines */
void
trace_section(struct trace *t, const char *section)
{
	size_t n;

	if (t == NULL)
		return;
	n = strlen(section);
	if (n >= sizeof(t->section))
		n = sizeof(t->section) - 1;
	memcpy(t->section, section, n);
	t->section[n] = '\0';
}

/* trace_line - one line */
void
trace_line(struct trace *t, unsigned depth, const char *fmt, ...)
{
	struct strbuf line = STRBUF_INIT;
	va_list ap;

	if (t == NULL || t->full)
		return;
	if (t->text.len > TRACE_MAX) {
		sb_puts(&t->text, "trace: (longer than 256 KiB: the rest is "
				  "left out)\n");
		t->full = 1;
		return;
	}
	va_start(ap, fmt);
	sb_vprintf(&line, fmt, ap);
	va_end(ap);
	sb_printf(&t->text, "%s: %*s", t->section, (int)(depth * 2), "");
	for (const unsigned char *p = (const unsigned char *)sb_str(&line); *p;
	     p++)
		sb_putc(&t->text, *p < 0x20 || *p == 0x7f ? ' ' : (char)*p);
	sb_putc(&t->text, '\n');
	sb_free(&line);
}

/* trace_text - the lines so far */
const char *
trace_text(const struct trace *t)
{
	return t != NULL ? sb_str(&t->text) : "";
}
