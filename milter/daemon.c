/*
 * daemon.c - process plumbing: detaching, the PID file, the unix socket
 * file and giving up root
 *
 * Owns the ready pipe between a detaching parent and its child: the
 * parent exits only once the child has opened its socket and built its
 * engine (or failed, and then with the child's reason and status), so
 * an init script or systemd's Type=forking sees a daemon that really
 * listens. Also owns the checks around a unix socket path: a file left
 * by a dead instance is removed, one that still answers is not touched.
 */
#include "build.h" /* first: feature macros */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "milter.h"

/* daemon_detach - fork; the parent waits for the child's verdict */
int
daemon_detach(struct daemon_ready *ready, char *err, size_t errlen)
{
	int fds[2];
	pid_t pid;

	ready->fd = -1;
	if (pipe(fds) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid > 0) {
		/* parent: one status byte, then an optional reason */
		char buf[1024];
		ssize_t n;
		size_t got = 0;
		int status;

		close(fds[1]);
		while (got < sizeof(buf) - 1 &&
		       (n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) !=
			   0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			got += (size_t)n;
		}
		buf[got] = '\0';
		if (got == 0) {
			/* the child died before saying anything */
			if (waitpid(pid, &status, 0) == pid &&
			    WIFEXITED(status))
				_exit(WEXITSTATUS(status) ? WEXITSTATUS(status)
							  : 1);
			fprintf(stderr, "authtag: the daemon exited during "
					"start-up (see the log)\n");
			_exit(1);
		}
		if (got > 1)
			fprintf(stderr, "authtag: %s\n", buf + 1);
		_exit((unsigned char)buf[0]);
	}
	close(fds[0]);
	if (setsid() < 0) {
		snprintf(err, errlen, "setsid: %s", strerror(errno));
		close(fds[1]);
		return -1;
	}
	ready->fd = fds[1];
	return 0;
}

/* daemon_ready_ok - tell the waiting parent that start-up worked */
void
daemon_ready_ok(struct daemon_ready *ready)
{
	if (ready->fd < 0)
		return;
	(void)!write(ready->fd, "", 1);
	close(ready->fd);
	ready->fd = -1;
}

/* daemon_ready_fail - tell the waiting parent why start-up failed */
void
daemon_ready_fail(struct daemon_ready *ready, int status, const char *why)
{
	char buf[1024];
	int n;

	if (ready->fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%c%s", (char)status, why);
	if (n > 0)
		(void)!write(ready->fd, buf,
			     (size_t)n < sizeof(buf) ? (size_t)n
						     : sizeof(buf) - 1);
	close(ready->fd);
	ready->fd = -1;
}

/* daemon_socket_path - the file of a unix:/local: socket spec, or NULL */
const char *
daemon_socket_path(const char *spec)
{
	if (spec == NULL)
		return NULL;
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (spec[0] == '/')
		return spec;
	return NULL;
}

/* daemon_socket_prepare - remove a stale unix socket; -1 if one is live */
int
daemon_socket_prepare(const char *spec, char *err, size_t errlen)
{
	const char *path = daemon_socket_path(spec);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, rc;

	if (path == NULL || lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s: another process is listening on it",
			 path);
		return -1;
	}
	/* nobody answers: a dead instance left it */
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot remove stale socket: %s",
			 path, strerror(errno));
		return -1;
	}
	return 0;
}

/* daemon_drop_privileges - become uid/gid (chowning the socket first) */
int
daemon_drop_privileges(const char *spec, const char *socket_spec, char *err,
		       size_t errlen)
{
	const char *path = daemon_socket_path(socket_spec);
	char user[256];
	uid_t uid;
	gid_t gid;

	if (spec == NULL || *spec == '\0')
		return 0;
	if (config_user_lookup(spec, &uid, &gid, err, errlen) != 0)
		return -1;
	if (getuid() != 0 && geteuid() != 0) {
		if (geteuid() == uid)
			return 0;
		snprintf(err, errlen, "UserID %s: only root can switch users",
			 spec);
		return -1;
	}
	/* the MTA connects as its own user: the socket must belong to the
	 * user we become, and UMask decides who else may connect */
	if (path != NULL && chown(path, uid, gid) != 0) {
		snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(user, sizeof(user), "%.*s", (int)strcspn(spec, ":"), spec);
	if (initgroups(user, gid) != 0 || setgid(gid) != 0 ||
	    setuid(uid) != 0) {
		snprintf(err, errlen, "cannot become %s: %s", spec,
			 strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errlen, "could regain root after becoming %s",
			 spec);
		return -1;
	}
	return 0;
}

/* daemon_pidfile_write - write our PID to path; 0 or -1 */
int
daemon_pidfile_write(const char *path, char *err, size_t errlen)
{
	char buf[32];
	int fd, n;

	if (path == NULL || *path == '\0')
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "PidFile %s: %s", path, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		snprintf(err, errlen, "PidFile %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* daemon_stdio_null - point stdin, stdout and (unless keep_stderr)
 * stderr at /dev/null */
void
daemon_stdio_null(bool keep_stderr)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	if (!keep_stderr)
		dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}
