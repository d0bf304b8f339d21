/*
 * command.c - run the MTA's commands: sendmail(1), postsuper, postqueue
 *
 * Owns one child process per call: started, fed, read and waited for
 * here with one poll loop (a child that writes while we write to it
 * cannot block us), bounded in time, never left behind.
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "strbuf.h"

/* cm_child - in the child: wire the pipes, take the real ids, exec */
static void
cm_child(const char *const *argv, int in_fd, int out_fd)
{
	int null = open("/dev/null", O_RDWR);

	dup2(in_fd >= 0 ? in_fd : null, 0);
	dup2(out_fd >= 0 ? out_fd : null, 1);
	if (geteuid() != getuid() &&
	    (seteuid(getuid()) != 0 || setegid(getgid()) != 0))
		_exit(126);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

/* cm_status - the exit status as a result; 0 or -1 with why */
static int
cm_status(const char *cmd, int status, bool all_in, char *why, size_t whylen)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && all_in)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		snprintf(why, whylen, "%s did not take the whole input", cmd);
	else if (WIFEXITED(status))
		snprintf(why, whylen, "%s exited %d%s", cmd,
			 WEXITSTATUS(status),
			 WEXITSTATUS(status) == 127 ? " (cannot run it)" : "");
	else
		snprintf(why, whylen, "%s killed by signal %d", cmd,
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -1;
}

/* command_run - run one command, bounded (see command.h) */
int
command_run(const char *const *argv, const char *in, size_t inlen,
	    struct strbuf *out, unsigned wait_s, char *why, size_t whylen)
{
	int ip[2] = {-1, -1}, op[2] = {-1, -1}, status = 0;
	size_t off = 0;
	time_t until = time(NULL) + (time_t)wait_s;
	pid_t pid;

	if ((in != NULL && pipe2(ip, O_CLOEXEC) != 0) ||
	    pipe2(op, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if ((pid = fork()) < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		cm_child(argv, ip[0], out != NULL ? op[1] : -1);
	if (ip[0] >= 0)
		close(ip[0]);
	close(op[1]);
	ip[0] = op[1] = -1;
	if (ip[1] >= 0)
		fcntl(ip[1], F_SETFL, O_NONBLOCK);
	if (ip[1] >= 0 && inlen == 0) {
		close(ip[1]);
		ip[1] = -1;
	}
	/* feed its input and read its output until both are done */
	while (ip[1] >= 0 || op[0] >= 0) {
		struct pollfd p[2] = {{ip[1], POLLOUT, 0}, {op[0], POLLIN, 0}};
		char buf[4096];
		int n = poll(p, 2, 200);

		if (n < 0 && errno != EINTR)
			break;
		if (time(NULL) > until)
			break;
		if (ip[1] >= 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(ip[1], in + off, inlen - off);

			if (w > 0)
				off += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
			    off == inlen) {
				close(ip[1]); /* done, or it went away */
				ip[1] = -1;
			}
		}
		if (op[0] >= 0 && (p[1].revents & (POLLIN | POLLERR | POLLHUP))) {
			ssize_t r = read(op[0], buf, sizeof(buf));

			if (r > 0 && out != NULL)
				sb_putn(out, buf, (size_t)r);
			if (r == 0 || (r < 0 && errno != EINTR)) {
				close(op[0]);
				op[0] = -1;
			}
		}
	}
	/* wait for it, up to the same deadline; then kill it */
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		struct timespec nap = {0, 20 * 1000000L};

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			snprintf(why, whylen, "waitpid: %s", strerror(errno));
			goto fail;
		}
		if (time(NULL) > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(why, whylen, "%s took more than %u s: killed",
				 argv[0], wait_s);
			goto fail;
		}
		nanosleep(&nap, NULL);
	}
	if (ip[1] >= 0)
		close(ip[1]);
	if (op[0] >= 0)
		close(op[0]);
	return cm_status(argv[0], status, off == inlen, why, whylen);
fail:
	for (int i = 0; i < 2; i++) {
		if (ip[i] >= 0)
			close(ip[i]);
		if (op[i] >= 0)
			close(op[i]);
	}
	return -1;
}

/* sendmail_pipe - hand one message to sendmail(1) for one recipient */
int
sendmail_pipe(const char *path, const char *from, const char *rcpt,
	      const char *mail, size_t len, unsigned wait_s, char *why,
	      size_t whylen)
{
	const char *argv[] = {path, "-i", "-f", from, "--", rcpt, NULL};
	const char *argv_nof[] = {path, "-i", "--", rcpt, NULL};

	return command_run(from != NULL && from[0] != '\0' ? argv : argv_nof,
			   mail, len, NULL, wait_s, why, whylen);
}
