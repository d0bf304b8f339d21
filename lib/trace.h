/*
 * trace.h - explain mode: how each result was reached, line by line
 *
 * trace.c owns the trace of one message: the checks append a line where
 * they decide something (each DNS query, each SPF mechanism tried, each
 * DKIM signature's key and hashes, the DMARC tree walk and alignment,
 * each rule that hit), so the explanation is what ran, not a second
 * evaluation. Every call takes a NULL trace and then does nothing: the
 * daemon's message path pays one comparison.
 */
#ifndef AUTHTAG_TRACE_H
#define AUTHTAG_TRACE_H

struct trace;

/* trace_new - an empty trace; NULL when memory ran out */
struct trace *trace_new(void);

/* trace_free - free it (NULL is a no-op) */
void trace_free(struct trace *t);

/* trace_section - the section ("spf", "dkim", ...) of the next lines */
void trace_section(struct trace *t, const char *section);

/* trace_line - one line at indentation depth (printf format) */
void trace_line(struct trace *t, unsigned depth, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* trace_text - every line so far, "section: text\n" each; "" when none */
const char *trace_text(const struct trace *t);

#endif
