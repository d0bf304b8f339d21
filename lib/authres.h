/*
 * authres.h - format and recognise Authentication-Results headers (RFC 8601)
 *
 * authres.c owns the text of our one A-R header and the test "does this
 * existing A-R header claim our authserv-id?". Every value copied from a
 * message or from DNS passes the RFC 8601 / RFC 5322 grammar check before
 * it is written, quoted or dropped: the header never carries a result we
 * did not compute.
 */
#ifndef AUTHTAG_AUTHRES_H
#define AUTHTAG_AUTHRES_H

#include <stdbool.h>

#include "result.h"

/*
 * ar_format - our A-R header value (without the field name and colon)
 *
 * Results in the order auth, spf (mailfrom, helo), dkim (one per
 * signature, or dkim=none), dmarc; "authserv-id; none" when nothing was
 * checked. Each result starts a line ("\n\t"); a result longer than 78
 * characters is folded at the spaces between its parts; no line is ever
 * over 998. Values from data are written bare, quoted or dropped as
 * RFC 8601's grammar allows. malloc'd, the caller frees; NULL with errno
 * ENOMEM, or EINVAL when authserv_id is empty, over 320 characters or not
 * printable US-ASCII.
 */
char *ar_format(const char *authserv_id, const struct auth_results *res);

/*
 * ar_is_ours - does this A-R header value claim authserv_id?
 *
 * Case-insensitive; tolerant of CFWS (comments, folding) before the id
 * and of an optional version after it.
 */
bool ar_is_ours(const char *value, const char *authserv_id);

/*
 * ar_arc_is_ours - the same for an ARC-Authentication-Results value:
 * after the "i=N;" instance tag, is the authserv-id ours? authtag does
 * not verify ARC chains yet, so every such header is removed; when it
 * does, one whose instance we sealed in a chain that validates is kept.
 */
bool ar_arc_is_ours(const char *value, const char *authserv_id);

/* ar_strip_comments - an A-R value without its comments (for an
 * ARC-Authentication-Results: some receivers mis-parse them); malloc'd,
 * NULL on no memory */
char *ar_strip_comments(const char *value);

#endif
