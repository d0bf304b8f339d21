/*
 * sendmail.c - hand a finished message to the MTA's sendmail(1)
 *
 * Owns one child process per call: started, fed and waited for here
 * (bounded), never left behind.
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sendmail.h"

/* sendmail_pipe - run sendmail(1) for one recipient (see sendmail.h) */
int
sendmail_pipe(const char *path, const char *from, const char *rcpt,
	      const char *mail, size_t len, unsigned wait_s, char *why,
	      size_t whylen)
{
	const char *argv[] = {path, "-i", "-f", from, "--", rcpt, NULL};
	const char *argv_nof[] = {path, "-i", "--", rcpt, NULL};
	const char *const *av = from != NULL && from[0] != '\0' ? argv
								: argv_nof;
	int fds[2], status = 0;
	pid_t pid;
	size_t off = 0;
	time_t until;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[0], 0);
		execv(av[0], (char *const *)av);
		_exit(127);
	}
	close(fds[0]);
	while (off < len) {
		ssize_t w = write(fds[1], mail + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* sendmail went away: its status says why */
		off += (size_t)w;
	}
	close(fds[1]);
	until = time(NULL) + (time_t)wait_s;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		struct timespec nap = {0, 50 * 1000000L};

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			snprintf(why, whylen, "waitpid: %s", strerror(errno));
			return -1;
		}
		if (time(NULL) > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(why, whylen, "%s took more than %u s: killed",
				 path, wait_s);
			return -1;
		}
		nanosleep(&nap, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && off == len)
		return 0;
	if (WIFEXITED(status))
		snprintf(why, whylen, "%s exited %d%s", path,
			 WEXITSTATUS(status),
			 WEXITSTATUS(status) == 127 ? " (cannot run it)" : "");
	else if (WIFSIGNALED(status))
		snprintf(why, whylen, "%s killed by signal %d", path,
			 WTERMSIG(status));
	else
		snprintf(why, whylen, "%s did not take the whole mail", path);
	return -1;
}
