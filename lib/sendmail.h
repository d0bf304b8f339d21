/*
 * sendmail.h - hand a finished message to the MTA's sendmail(1)
 *
 * The reports of authtag-report and the quota alerts leave through the
 * local MTA like any other local mail, so that its queue retries them.
 */
#ifndef AUTHTAG_SENDMAIL_H
#define AUTHTAG_SENDMAIL_H

#include <stddef.h>

/*
 * sendmail_pipe - run "PATH -i -f FROM -- RCPT", write the message to its
 * standard input and wait up to wait_s seconds for it (then kill it);
 * 0 when it exited 0 having taken all of it (the mail is queued), -1
 * with why. An empty from leaves -f out (the MTA picks the sender).
 * The caller ignores SIGPIPE (a sendmail that dies early).
 */
int sendmail_pipe(const char *path, const char *from, const char *rcpt,
		  const char *mail, size_t len, unsigned wait_s, char *why,
		  size_t whylen);

#endif
