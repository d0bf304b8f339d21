/*
 * command.h - run the MTA's commands: sendmail(1), postsuper, postqueue
 *
 * The reports of authtag-report and the quota alerts leave through the
 * local MTA like any other local mail, so that its queue retries them;
 * authtag-quota releases held mail with postsuper and asks postqueue
 * what is held. One child per call, bounded in time, never left behind.
 */
#ifndef AUTHTAG_COMMAND_H
#define AUTHTAG_COMMAND_H

#include <stddef.h>

struct strbuf;

/*
 * command_run - run argv (argv[0] an absolute path) with in (inlen
 * bytes; NULL: /dev/null) as its standard input, its standard output
 * appended to out (NULL: discarded), for at most wait_s seconds (then it
 * is killed); 0 when it exited 0 having taken all of in, -1 with why.
 * A caller running with an effective user other than its real one (see
 * outbound_tool_as_user) runs the command with the real ids. The caller
 * ignores SIGPIPE.
 */
int command_run(const char *const *argv, const char *in, size_t inlen,
		struct strbuf *out, unsigned wait_s, char *why, size_t whylen);

/*
 * sendmail_pipe - "PATH -i -f FROM -- RCPT" with the message as input;
 * an empty from leaves -f out (the MTA gives the caller's login)
 */
int sendmail_pipe(const char *path, const char *from, const char *rcpt,
		  const char *mail, size_t len, unsigned wait_s, char *why,
		  size_t whylen);

#endif
